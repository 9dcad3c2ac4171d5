/**
 * Unsigned LEB128 varints, as records (record.ts), hints (hint.ts) and the
 * write path's appended entries use them: 7 bits per byte, least significant
 * group first, the high bit set on every byte but the last. Values are safe
 * integers (at most 2^53 - 1, so at most 8 bytes).
 */

const TWO_32 = 0x1_0000_0000

/** Writes `v` (a safe integer) as a varint at `at`; returns the end. */
export function putVarint(buf: Uint8Array, at: number, v: number): number {
  if (v < TWO_32) {
    while (v >= 0x80) {
      buf[at++] = (v & 0x7f) | 0x80
      v >>>= 7
    }
  } else {
    while (v >= 0x80) {
      buf[at++] = (v % 128) | 0x80
      v = Math.floor(v / 128)
    }
  }
  buf[at++] = v
  return at
}

/** Bytes putVarint writes for `v`. */
export function varintSize(v: number): number {
  if (v < 0x80) return 1
  if (v < 0x4000) return 2
  if (v < 0x20_0000) return 3
  if (v < 0x1000_0000) return 4
  if (v < 0x8_0000_0000) return 5
  if (v < 0x400_0000_0000) return 6
  if (v < 0x2_0000_0000_0000) return 7
  return 8
}
