/**
 * The on-disk record, the unit of the append-only log.
 *
 *   0       4      5              13             21        25        29       29+k
 *   +-------+------+--------------+--------------+---------+---------+--------+---------+
 *   | crc32 | type | seq          | expires      | key len | val len | key    | value   |
 *   +-------+------+--------------+--------------+---------+---------+--------+---------+
 *     u32 BE  u8     u64 BE         u64 BE (ms)    u32 BE    u32 BE    k bytes  v bytes
 *
 * crc32 (zlib) covers every byte after itself. `expires` is an absolute
 * wall-clock time in ms, 0 for never. Types:
 *
 *   PUT    key + value.
 *   DELETE key, empty value (a tombstone).
 *   BATCH  empty key; value = [u32 count][u32 body length]. The `count`
 *          records that follow (body length bytes in all) form one atomic
 *          batch: recovery applies all of them or none.
 *
 * Records are copied verbatim by compaction, so the checksum written once
 * guards the bytes for their whole life.
 */
import { crc32 } from 'node:zlib'

export const RECORD_HEADER_SIZE = 29
export const BATCH_VALUE_SIZE = 8

export const RecordType = { PUT: 1, DELETE: 2, BATCH: 3 } as const
export type RecordType = (typeof RecordType)[keyof typeof RecordType]

const TWO_32 = 0x1_0000_0000

export function recordSize(keyLength: number, valueLength: number): number {
  return RECORD_HEADER_SIZE + keyLength + valueLength
}

function writeU64(buf: Buffer, value: number, at: number): void {
  buf.writeUInt32BE(Math.floor(value / TWO_32), at)
  buf.writeUInt32BE(value >>> 0, at + 4)
}

function readU64(buf: Buffer, at: number): number {
  return buf.readUInt32BE(at) * TWO_32 + buf.readUInt32BE(at + 4)
}

/** Writes one record into `target` at `at`; returns its size. */
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
  target[at + 4] = type
  writeU64(target, seq, at + 5)
  writeU64(target, expires, at + 13)
  target.writeUInt32BE(key.length, at + 21)
  target.writeUInt32BE(valueLength, at + 25)
  target.set(key, at + RECORD_HEADER_SIZE)
  if (value !== undefined) target.set(value, at + RECORD_HEADER_SIZE + key.length)
  const end = at + RECORD_HEADER_SIZE + key.length + valueLength
  target.writeUInt32BE(crc32(target.subarray(at + 4, end)), at)
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
}

/** Reads the fixed header; does not check the CRC. */
export function readHeader(buf: Buffer, at: number, out: RecordHeader): void {
  out.type = buf[at + 4]!
  out.seq = readU64(buf, at + 5)
  out.expires = readU64(buf, at + 13)
  out.keyLength = buf.readUInt32BE(at + 21)
  out.valueLength = buf.readUInt32BE(at + 25)
}

export function newHeader(): RecordHeader {
  return { type: 0, seq: 0, expires: 0, keyLength: 0, valueLength: 0 }
}

/** True when the record of `size` bytes at `at` matches its checksum. */
export function checksumOk(buf: Buffer, at: number, size: number): boolean {
  return buf.readUInt32BE(at) === crc32(buf.subarray(at + 4, at + size))
}

export function isKnownType(type: number): boolean {
  return type === RecordType.PUT || type === RecordType.DELETE || type === RecordType.BATCH
}
