/**
 * CRC-32 with zlib's polynomial (the values `zlib.crc32` gives), for the
 * checksum every record carries (src/format/record.ts).
 *
 * Why not always `zlib.crc32`: a record of a 16-byte key and a 100-byte value
 * is checked over ~120 bytes, and a call into zlib costs ~250 ns of binding
 * overhead plus a `subarray` before it reads a byte; this table-driven loop
 * (slice-by-8: eight table lookups per 8 bytes) finishes such a record in
 * about half the time. Past JS_MAX bytes zlib's own (vectorised) loop wins,
 * so longer ranges go there. Measured in bench/NOTES.md section 13.
 */
import { crc32 as zlibCrc32 } from 'node:zlib'

/** Ranges up to this many bytes are checksummed here; longer ones by zlib. */
export const JS_MAX = 192

/** Eight 256-entry tables back to back: TABLES[t * 256 + b]. */
const TABLES = new Int32Array(8 * 256)
for (let b = 0; b < 256; b++) {
  let c = b
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
  TABLES[b] = c
}
for (let t = 1; t < 8; t++) {
  for (let b = 0; b < 256; b++) {
    const prev = TABLES[(t - 1) * 256 + b]!
    TABLES[t * 256 + b] = (prev >>> 8) ^ TABLES[prev & 0xff]!
  }
}

/** The CRC-32 of buf[start, end), as an unsigned 32-bit number. */
export function crc32Of(buf: Uint8Array, start: number, end: number): number {
  if (end - start > JS_MAX) return zlibCrc32(buf.subarray(start, end))
  const T = TABLES
  let c = -1
  let i = start
  for (const stop = end - 7; i < stop; i += 8) {
    const a = c ^ (buf[i]! | (buf[i + 1]! << 8) | (buf[i + 2]! << 16) | (buf[i + 3]! << 24))
    c =
      T[1792 + (a & 0xff)]! ^
      T[1536 + ((a >>> 8) & 0xff)]! ^
      T[1280 + ((a >>> 16) & 0xff)]! ^
      T[1024 + (a >>> 24)]! ^
      T[768 + buf[i + 4]!]! ^
      T[512 + buf[i + 5]!]! ^
      T[256 + buf[i + 6]!]! ^
      T[buf[i + 7]!]!
  }
  for (; i < end; i++) c = T[(c ^ buf[i]!) & 0xff]! ^ (c >>> 8)
  return (c ^ -1) >>> 0
}
