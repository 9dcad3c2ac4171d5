/**
 * The on-disk record, the unit of the append-only log.
 *
 * Layout 2, written by data format version 2 (a header of 8 to 31 bytes;
 * 10 for a 16-byte key, a 100-byte value and a seq below 2^21):
 *
 *   0       4       5
 *   +-------+-------+---------+---------+--------+-----------+-------+---------+
 *   | crc32 | flags | key len | val len | seq    | [expires] | key   | value   |
 *   +-------+-------+---------+---------+--------+-----------+-------+---------+
 *     u32 BE  u8      varint    varint    varint   varint      k B     v B
 *
 *   flags: bit 7 set (layout 2), bits 0-1 the type, bit 2 an expires field
 *   follows (most records never expire, so most skip it), bits 3-6 zero.
 *   varint: unsigned LEB128 (varint.ts); lengths take at most 5 bytes, seq
 *   and expires at most 8.
 *
 * Layout 1, written by data format version 1, still read (a fixed 29 bytes):
 *
 *   0       4      5              13             21        25        29
 *   +-------+------+--------------+--------------+---------+---------+-----+-------+
 *   | crc32 | type | seq          | expires      | key len | val len | key | value |
 *   +-------+------+--------------+--------------+---------+---------+-----+-------+
 *     u32 BE  u8     u64 BE         u64 BE (ms)    u32 BE    u32 BE
 *
 * A layout 1 type byte (1-3) has bit 7 clear, so every record says which
 * layout it has: compaction copies records verbatim, and a segment written by
 * version 2 may hold layout 1 records copied from an older one.
 *
 * crc32 (zlib) covers every byte after itself. `expires` is an absolute
 * wall-clock time in ms, 0 for never. Types:
 *
 *   PUT    key + value.
 *   DELETE key, empty value (a tombstone).
 *   BATCH  empty key; value = [u32 BE count][u32 BE body length]. The
 *          `count` records that follow (body length bytes in all) form one
 *          atomic batch: recovery applies all of them or none.
 *
 * Records are copied verbatim by compaction, so the checksum written once
 * guards the bytes for their whole life. Layout 2 exists for disk use: with
 * 116 bytes of key and value, a 29-byte header alone made a record 1.25x its
 * payload; a 10-byte header makes it 1.09x.
 */
import { crc32Of } from './crc32.js'
import { putVarint, varintSize } from './varint.js'

/** Size of a layout 1 header. */
export const V1_HEADER_SIZE = 29
/** The longest header: layout 2 with 5-byte lengths and 8-byte seq and expires. */
export const MAX_HEADER_SIZE = 5 + 2 * 5 + 2 * 8
/** The shortest record: layout 2, empty key and value, a one-byte seq. */
export const MIN_RECORD_SIZE = 8
export const BATCH_VALUE_SIZE = 8

export const RecordType = { PUT: 1, DELETE: 2, BATCH: 3 } as const
export type RecordType = (typeof RecordType)[keyof typeof RecordType]

const LAYOUT_2 = 0x80
const FLAG_EXPIRES = 4
const TYPE_MASK = 3
/** Flag bits that must be zero in layout 2. */
const RESERVED = 0x78
const TWO_32 = 0x1_0000_0000

/** readHeader: the header runs past the bytes given. */
export const HEADER_SHORT = 0
/** readHeader: not a record header (unknown type or flags, malformed number). */
export const HEADER_BAD = -1

/** Header bytes of the layout 2 record writeRecord writes for these fields. */
export function headerSize(keyLength: number, valueLength: number, seq: number, expires: number): number {
  return 5 + varintSize(keyLength) + varintSize(valueLength) + varintSize(seq) + (expires === 0 ? 0 : varintSize(expires))
}

/** Size of the record writeRecord writes for these fields. */
export function recordSize(keyLength: number, valueLength: number, seq: number, expires: number): number {
  return headerSize(keyLength, valueLength, seq, expires) + keyLength + valueLength
}

/**
 * Whether a record of `size` bytes written with this key length, seq and
 * expires (in either layout) holds a value of `valueLength` bytes.
 */
export function holdsValueOf(size: number, keyLength: number, valueLength: number, seq: number, expires: number): boolean {
  return size === recordSize(keyLength, valueLength, seq, expires) || size === V1_HEADER_SIZE + keyLength + valueLength
}

/** Writes one layout 2 record into `target` at `at`; returns its size. */
export function writeRecord(
  target: Buffer,
  at: number,
  type: RecordType,
  seq: number,
  expires: number,
  key: Uint8Array,
  value: Uint8Array | undefined,
): number {
  const valueLength = value === undefined ? 0 : value.length
  target[at + 4] = LAYOUT_2 | type | (expires === 0 ? 0 : FLAG_EXPIRES)
  let p = putVarint(target, at + 5, key.length)
  p = putVarint(target, p, valueLength)
  p = putVarint(target, p, seq)
  if (expires !== 0) p = putVarint(target, p, expires)
  target.set(key, p)
  p += key.length
  if (value !== undefined) target.set(value, p)
  const end = p + valueLength
  target.writeUInt32BE(crc32Of(target, at + 4, end), at)
  return end - at
}

export function writeBatchHeader(target: Buffer, at: number, seq: number, count: number, bodyLength: number): number {
  const value = Buffer.allocUnsafe(BATCH_VALUE_SIZE)
  value.writeUInt32BE(count, 0)
  value.writeUInt32BE(bodyLength, 4)
  return writeRecord(target, at, RecordType.BATCH, seq, 0, EMPTY, value)
}

const EMPTY = new Uint8Array(0)

export interface RecordHeader {
  type: number
  seq: number
  expires: number
  keyLength: number
  valueLength: number
  /** Bytes before the key. */
  headerSize: number
}

export function newHeader(): RecordHeader {
  return { type: 0, seq: 0, expires: 0, keyLength: 0, valueLength: 0, headerSize: 0 }
}

/** Where the last getVarint stopped. */
let varintEnd = 0
/** getVarint ran out of bytes. */
const RAN_OUT = -2

/** readHeader's answer for a getVarint failure. */
function failed(code: number): number {
  return code === RAN_OUT ? HEADER_SHORT : HEADER_BAD
}

/** A varint of at most `maxBytes` in buf[at, end); RAN_OUT or HEADER_BAD if there is none. */
function getVarint(buf: Uint8Array, at: number, end: number, maxBytes: number): number {
  const first = at
  let v = 0
  let scale = 1
  while (at < end) {
    const b = buf[at++]!
    if (b < 0x80) {
      v += b * scale
      varintEnd = at
      return v <= Number.MAX_SAFE_INTEGER ? v : HEADER_BAD
    }
    if (at - first === maxBytes) return HEADER_BAD
    v += (b & 0x7f) * scale
    scale *= 128
  }
  return RAN_OUT
}

/**
 * Reads the header of the record at `at` from `buf[at, end)` into `out`;
 * returns its size, HEADER_SHORT if it runs past `end`, or HEADER_BAD if
 * these bytes cannot start a record. Does not check the CRC.
 */
export function readHeader(buf: Buffer, at: number, end: number, out: RecordHeader): number {
  if (at + 5 > end) return HEADER_SHORT
  const flags = buf[at + 4]!
  if (flags < LAYOUT_2) {
    if (flags < RecordType.PUT || flags > RecordType.BATCH) return HEADER_BAD
    if (at + V1_HEADER_SIZE > end) return HEADER_SHORT
    out.type = flags
    out.seq = buf.readUInt32BE(at + 5) * TWO_32 + buf.readUInt32BE(at + 9)
    out.expires = buf.readUInt32BE(at + 13) * TWO_32 + buf.readUInt32BE(at + 17)
    out.keyLength = buf.readUInt32BE(at + 21)
    out.valueLength = buf.readUInt32BE(at + 25)
    out.headerSize = V1_HEADER_SIZE
    return V1_HEADER_SIZE
  }
  if ((flags & RESERVED) !== 0 || (flags & TYPE_MASK) === 0) return HEADER_BAD
  const keyLength = getVarint(buf, at + 5, end, 5)
  if (keyLength < 0) return failed(keyLength)
  const valueLength = getVarint(buf, varintEnd, end, 5)
  if (valueLength < 0) return failed(valueLength)
  const seq = getVarint(buf, varintEnd, end, 8)
  if (seq < 0) return failed(seq)
  let expires = 0
  if ((flags & FLAG_EXPIRES) !== 0) {
    expires = getVarint(buf, varintEnd, end, 8)
    if (expires < 0) return failed(expires)
  }
  const p = varintEnd
  out.type = flags & TYPE_MASK
  out.seq = seq
  out.expires = expires
  out.keyLength = keyLength
  out.valueLength = valueLength
  out.headerSize = p - at
  return p - at
}

const scratchHeader = newHeader()

/**
 * Where the value of the record of `size` bytes at `at` starts, or -1 if its
 * header does not describe exactly `size` bytes.
 */
export function valueStartOf(buf: Buffer, at: number, size: number): number {
  const h = scratchHeader
  const hs = readHeader(buf, at, at + size, h)
  if (hs <= 0 || hs + h.keyLength + h.valueLength !== size) return -1
  return at + hs + h.keyLength
}

/** True when the record of `size` bytes at `at` matches its checksum. */
export function checksumOk(buf: Buffer, at: number, size: number): boolean {
  return buf.readUInt32BE(at) === crc32Of(buf, at + 4, at + size)
}

export function isKnownType(type: number): boolean {
  return type === RecordType.PUT || type === RecordType.DELETE || type === RecordType.BATCH
}
