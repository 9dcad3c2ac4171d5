/**
 * Which sealed segments are worth rewriting. A segment qualifies when enough
 * of it is dead, both as a share and in bytes (so a tiny segment with one
 * dead record is left alone). The worst segments go first, and a step takes
 * only as many as fit their live bytes into one new segment.
 */
import { FILE_HEADER_SIZE } from '../format/file-header.js'
import type { Segment } from '../log/segment.js'

export interface PolicyOptions {
  minDeadRatio: number
  minDeadBytes: number
  maxSegmentSize: number
}

function payload(segment: Segment): number {
  return Math.max(1, segment.size - FILE_HEADER_SIZE)
}

export function pickSegments(segments: Iterable<Segment>, active: Segment, options: PolicyOptions): Segment[] {
  const candidates: Segment[] = []
  for (const segment of segments) {
    if (segment === active || !segment.sealed || !segment.hinted) continue
    if (segment.dead < options.minDeadBytes || segment.dead === 0) continue
    if (segment.dead / payload(segment) < options.minDeadRatio) continue
    candidates.push(segment)
  }
  candidates.sort((a, b) => b.dead / payload(b) - a.dead / payload(a))
  const picked: Segment[] = []
  let live = 0
  for (const segment of candidates) {
    const segmentLive = payload(segment) - segment.dead
    if (picked.length > 0 && live + segmentLive > options.maxSegmentSize) continue
    picked.push(segment)
    live += segmentLive
  }
  return picked
}
