/**
 * Filling the value cache in file order. A `pread` costs about as much as
 * checking and caching a few dozen records already in RAM, so while the
 * cache has room and the store's live data fits in it, a miss also reads the next FILL_SPAN bytes of its segment
 * after the segment's fill mark and caches every intact value in them. Each
 * byte is read and checked once, whatever order the keys are asked for in: a
 * store that fits in the cache is in RAM after (data size / FILL_SPAN)
 * misses, instead of one miss per key. Once the cache is full this stops, so
 * filling never evicts anything (no scan pollution).
 */
import type { FileSystem } from './io/file-system.js'
import { ENTRY_OVERHEAD, type ValueCache } from './value-cache.js'
import { HEADER_SHORT, RecordType, checksumOk, newHeader, readHeader } from './format/record.js'
import { scratchBuffer, type Segment } from './log/segment.js'

/** Bytes read per fill: enough to amortise the system call, small enough to stay a short pause (~0.1–0.5 ms). */
export const FILL_SPAN = 64 * 1024

const header = newHeader()

/** cacheRecords' result when it met a record that fails its checksum. */
export const DAMAGED = -1

/**
 * Whether a fill from this segment is likely to cache values someone will
 * read. Records are not checked against the index (that would cost a lookup
 * per record); in a mostly dead segment most of them are superseded values
 * nobody asks for, which would only take up room.
 */
export function worthFilling(cache: ValueCache, segment: Segment): boolean {
  return segment.fillMark < segment.size && cache.room >= FILL_SPAN / 4 && segment.dead * 2 <= segment.size
}

/**
 * Reads FILL_SPAN bytes at the segment's fill mark, caches the values in
 * them and moves the mark past what it handled. Best effort: an I/O error
 * leaves the mark where it was (the read that wanted a value reports its own
 * errors), and damage stops filling from this segment for good.
 */
export function fillSegment(fs: FileSystem, cache: ValueCache, segment: Segment): void {
  const start = segment.fillMark
  const length = Math.min(FILL_SPAN, segment.size - start)
  const buf = scratchBuffer(length)
  let n: number
  try {
    n = fs.readSync(segment.fd, buf, 0, length, start)
  } catch {
    return
  }
  const stop = cacheRecords(cache, segment.id, buf, 0, n, start)
  if (stop === DAMAGED) segment.fillMark = segment.size
  else if (stop > 0) segment.fillMark = start + stop
  else if (cache.room >= FILL_SPAN / 4) {
    // One record longer than FILL_SPAN: step over it (its value is cached when
    // it is read). A wrong length only makes the next fill meet damage.
    const headerSize = readHeader(buf, 0, n, header)
    if (headerSize > 0) segment.fillMark = start + headerSize + header.keyLength + header.valueLength
  }
}

/**
 * Caches the value of every PUT record in `buf[from, end)` (record `i` bytes
 * into `buf` sits at `base + i` in segment `segmentId`) until the cache is
 * out of room. Returns where it stopped (the start of the first record it did
 * not handle: cut off at `end`, or no room for it), or DAMAGED at the first
 * record that fails its checksum: nobody asked for these records, so damage
 * is reported by whoever reads them, not here. Nothing is cached unchecked.
 */
export function cacheRecords(cache: ValueCache, segmentId: number, buf: Buffer, from: number, end: number, base: number): number {
  let at = from
  const h = header
  while (at < end) {
    const headerSize = readHeader(buf, at, end, h)
    if (headerSize === HEADER_SHORT) return at
    // A damaged length would send the walk into the middle of later records.
    if (headerSize < 0) return DAMAGED
    const valueLength = h.valueLength
    const size = headerSize + h.keyLength + valueLength
    if (at + size > end) return at
    if (h.type === RecordType.PUT) {
      if (cache.room < valueLength + ENTRY_OVERHEAD) return at
      // Values written through on put are cached already (and the same bytes).
      if (!cache.has(segmentId, base + at)) {
        if (!checksumOk(buf, at, size)) return DAMAGED
        cache.set(segmentId, base + at, buf.subarray(at + size - valueLength, at + size))
      }
    } else if (!checksumOk(buf, at, size)) {
      return DAMAGED
    }
    at += size
  }
  return at
}
