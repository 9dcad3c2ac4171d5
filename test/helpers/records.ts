/** Reading and writing data-file records in tests, through the format module rather than fixed offsets. */
import { crc32 } from 'node:zlib'
import { FILE_HEADER_SIZE } from '../../src/format/file-header.js'
import { V1_HEADER_SIZE, newHeader, readHeader } from '../../src/format/record.js'

export interface RecordAt {
  /** Offset in the file. */
  at: number
  size: number
  headerSize: number
  type: number
  seq: number
  expires: number
  key: Buffer
  value: Buffer
}

/** The records of a data file's bytes (batch headers included), in file order; stops where a header does not parse. */
export function recordsIn(bytes: Buffer, from = FILE_HEADER_SIZE): RecordAt[] {
  const out: RecordAt[] = []
  const h = newHeader()
  let at = from
  while (at < bytes.length) {
    const headerSize = readHeader(bytes, at, bytes.length, h)
    if (headerSize <= 0) break
    const size = headerSize + h.keyLength + h.valueLength
    if (at + size > bytes.length) break
    const keyStart = at + headerSize
    out.push({
      at,
      size,
      headerSize,
      type: h.type,
      seq: h.seq,
      expires: h.expires,
      key: bytes.subarray(keyStart, keyStart + h.keyLength),
      value: bytes.subarray(keyStart + h.keyLength, at + size),
    })
    at += size
  }
  return out
}

/** A record in layout 1 (29-byte fixed header), as data format version 1 wrote it. */
export function encodeV1Record(type: number, seq: number, expires: number, key: Uint8Array, value: Uint8Array = new Uint8Array(0)): Buffer {
  const buf = Buffer.alloc(V1_HEADER_SIZE + key.length + value.length)
  buf[4] = type
  buf.writeUInt32BE(Math.floor(seq / 2 ** 32), 5)
  buf.writeUInt32BE(seq >>> 0, 9)
  buf.writeUInt32BE(Math.floor(expires / 2 ** 32), 13)
  buf.writeUInt32BE(expires >>> 0, 17)
  buf.writeUInt32BE(key.length, 21)
  buf.writeUInt32BE(value.length, 25)
  buf.set(key, V1_HEADER_SIZE)
  buf.set(value, V1_HEADER_SIZE + key.length)
  buf.writeUInt32BE(crc32(buf.subarray(4)), 0)
  return buf
}
