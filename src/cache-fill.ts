/**
 * Filling the value cache from one sequential read. A `pread` costs about as
 * much as parsing and caching a few dozen records already in RAM, so while
 * the cache has room a miss reads the next FILL_SPAN bytes of the segment and
 * caches every intact value in them: a store that fits in the cache is
 * served from RAM after a few hundred misses instead of one miss per key,
 * whatever order it is read in. Once the cache is full this stops, so it
 * never evicts anything (no scan pollution).
 */
import { ENTRY_OVERHEAD, type ValueCache } from './value-cache.js'
import { RECORD_HEADER_SIZE, RecordType, checksumOk, isKnownType } from './format/record.js'
import type { Segment } from './log/segment.js'

/** Bytes read per fill: enough to amortise the system call, small enough to stay a short pause. */
export const FILL_SPAN = 64 * 1024

/**
 * Whether reading a segment's neighbours is likely to cache values someone
 * will read. Records are not checked against the index (that would cost a
 * lookup per record); in a mostly dead segment most neighbours are
 * superseded values nobody asks for, which would only take up room.
 */
export function worthFilling(cache: ValueCache, segment: Segment, size: number): boolean {
  return cache.room >= size + ENTRY_OVERHEAD + FILL_SPAN / 4 && segment.dead * 2 <= segment.size
}

/**
 * Caches the value of every PUT record in `buf[from, end)` (record `i` bytes
 * into `buf` sits at `base + i` in segment `segmentId`) until the cache is
 * out of room. Stops quietly at the first record that is cut off or fails its
 * checksum: nobody asked for these records, so damage is reported by whoever
 * reads them, not here. Nothing is cached unchecked.
 */
export function cacheRecords(cache: ValueCache, segmentId: number, buf: Buffer, from: number, end: number, base: number): void {
  let at = from
  while (at + RECORD_HEADER_SIZE <= end) {
    const keyLength = buf.readUInt32BE(at + 21)
    const valueLength = buf.readUInt32BE(at + 25)
    const size = RECORD_HEADER_SIZE + keyLength + valueLength
    if (at + size > end) return
    const type = buf[at + 4]!
    if (type === RecordType.PUT) {
      if (cache.room < valueLength + ENTRY_OVERHEAD) return
      if (!cache.has(segmentId, base + at)) {
        if (!checksumOk(buf, at, size)) return
        const value = Buffer.allocUnsafe(valueLength)
        value.set(buf.subarray(at + RECORD_HEADER_SIZE + keyLength, at + size))
        cache.set(segmentId, base + at, value)
      }
    } else if (!isKnownType(type) || !checksumOk(buf, at, size)) {
      // A damaged length would send the walk into the middle of later records.
      return
    }
    at += size
  }
}
