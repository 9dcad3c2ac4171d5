/**
 * A hint file lists, for one sealed data segment, where each record lives,
 * so that opening a database reads keys and positions, never values
 * (Bitcask's hint files).
 *
 *   file header (8 B, magic "CSKH", see file-header.ts)
 *   +-------------------+---------------------------+
 *   | replaces count u32| replaced segment ids u32… |   ids of segments this one was
 *   +-------------------+---------------------------+   compacted from (0 for normal)
 *   entries, in file order:
 *   0      1             9              17           21          25        29
 *   +------+-------------+--------------+------------+-----------+---------+------+
 *   | type | seq u64     | expires u64  | offset u32 | size u32  | klen u32| key  |
 *   +------+-------------+--------------+------------+-----------+---------+------+
 *   trailer:
 *   +-------------+-----------+
 *   | count u32   | crc32 u32 |   crc32 over every byte before it
 *   +-------------+-----------+
 *
 * The hint is written to a temporary name, fsynced and renamed, and only
 * after its data segment was fsynced: a hint never names bytes that a power
 * loss could take back. A hint that fails its checksum is ignored and the
 * data segment is scanned instead.
 */
import { crc32 } from 'node:zlib'
import { FILE_HEADER_SIZE, HINT_MAGIC, checkFileHeader, encodeFileHeader } from './file-header.js'
import { corruption } from '../errors.js'

const ENTRY_HEADER_SIZE = 29
const TRAILER_SIZE = 8
const TWO_32 = 0x1_0000_0000

export interface HintEntry {
  type: number
  seq: number
  expires: number
  offset: number
  size: number
  key: Buffer
}

export interface Hint {
  replaces: number[]
  entries: HintEntry[]
}

export function encodeHint(replaces: readonly number[], entries: readonly HintEntry[]): Buffer {
  let length = FILE_HEADER_SIZE + 4 + 4 * replaces.length + TRAILER_SIZE
  for (const e of entries) length += ENTRY_HEADER_SIZE + e.key.length
  const buf = Buffer.allocUnsafe(length)
  encodeFileHeader(HINT_MAGIC).copy(buf, 0)
  let at = FILE_HEADER_SIZE
  buf.writeUInt32BE(replaces.length, at)
  at += 4
  for (const id of replaces) {
    buf.writeUInt32BE(id, at)
    at += 4
  }
  for (const e of entries) {
    buf[at] = e.type
    buf.writeUInt32BE(Math.floor(e.seq / TWO_32), at + 1)
    buf.writeUInt32BE(e.seq >>> 0, at + 5)
    buf.writeUInt32BE(Math.floor(e.expires / TWO_32), at + 9)
    buf.writeUInt32BE(e.expires >>> 0, at + 13)
    buf.writeUInt32BE(e.offset, at + 17)
    buf.writeUInt32BE(e.size, at + 21)
    buf.writeUInt32BE(e.key.length, at + 25)
    e.key.copy(buf, at + ENTRY_HEADER_SIZE)
    at += ENTRY_HEADER_SIZE + e.key.length
  }
  buf.writeUInt32BE(entries.length, at)
  buf.writeUInt32BE(crc32(buf.subarray(0, at + 4)), at + 4)
  return buf
}

/** Called per entry by visitHint; `buf[keyStart..keyEnd)` is the key. */
export type HintVisitor = (
  buf: Buffer,
  keyStart: number,
  keyEnd: number,
  type: number,
  seq: number,
  expires: number,
  offset: number,
  size: number,
) => void

/**
 * Verifies a hint file, then walks its entries without allocating per entry
 * (opening a large database visits millions). Returns the replaced segment ids.
 * Throws CORRUPTION before visiting anything if the file is damaged.
 */
export function visitHint(buf: Buffer, file: string, visit: HintVisitor): number[] {
  const { replaces, entriesStart, end } = checkHint(buf, file)
  let at = entriesStart
  while (at < end) {
    const keyLength = buf.readUInt32BE(at + 25)
    const keyStart = at + ENTRY_HEADER_SIZE
    visit(
      buf,
      keyStart,
      keyStart + keyLength,
      buf[at]!,
      buf.readUInt32BE(at + 1) * TWO_32 + buf.readUInt32BE(at + 5),
      buf.readUInt32BE(at + 9) * TWO_32 + buf.readUInt32BE(at + 13),
      buf.readUInt32BE(at + 17),
      buf.readUInt32BE(at + 21),
    )
    at = keyStart + keyLength
  }
  return replaces
}

/** Checks checksum and structure; returns where the entries are. */
function checkHint(buf: Buffer, file: string): { replaces: number[]; entriesStart: number; end: number } {
  checkFileHeader(buf, HINT_MAGIC, file)
  if (buf.length < FILE_HEADER_SIZE + 4 + TRAILER_SIZE) throw corruption('hint file is truncated', file, buf.length)
  const crcAt = buf.length - 4
  if (buf.readUInt32BE(crcAt) !== crc32(buf.subarray(0, crcAt))) throw corruption('hint checksum mismatch', file, crcAt)
  const count = buf.readUInt32BE(crcAt - 4)
  const end = crcAt - 4
  let at = FILE_HEADER_SIZE
  const replaceCount = buf.readUInt32BE(at)
  at += 4
  if (at + replaceCount * 4 > end) throw corruption('hint replaces list overruns the file', file, at)
  const replaces: number[] = []
  for (let i = 0; i < replaceCount; i++, at += 4) replaces.push(buf.readUInt32BE(at))
  const entriesStart = at
  let n = 0
  while (at < end) {
    if (at + ENTRY_HEADER_SIZE > end) throw corruption('hint entry is truncated', file, at)
    const keyLength = buf.readUInt32BE(at + 25)
    if (at + ENTRY_HEADER_SIZE + keyLength > end) throw corruption('hint key overruns the file', file, at)
    at += ENTRY_HEADER_SIZE + keyLength
    n++
  }
  if (n !== count) throw corruption(`hint lists ${n} entries, trailer says ${count}`, file, end)
  return { replaces, entriesStart, end }
}

/** Decodes and verifies a hint file; throws CORRUPTION on any damage. */
export function decodeHint(buf: Buffer, file: string): Hint {
  const entries: HintEntry[] = []
  const replaces = visitHint(buf, file, (b, keyStart, keyEnd, type, seq, expires, offset, size) => {
    entries.push({ type, seq, expires, offset, size, key: b.subarray(keyStart, keyEnd) })
  })
  return { replaces, entries }
}
