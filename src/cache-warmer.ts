/**
 * Warming the value cache after open. When the live data fits in the cache,
 * reading every segment once in file order (FILL_SPAN at a time, through the
 * same fill marks a miss uses) puts the whole store in RAM for a few ms of
 * sequential reads per 10 MB, instead of one `pread` per key on first use.
 * It runs on `setImmediate`, a 64 KiB fill at a time, taking about a fifth
 * of the thread while the application is busy (a quarter of the time the
 * rest of the process had in between: TurnCredit in time-slice.ts) and about
 * a millisecond per turn when it is idle, so an open returns at once and
 * reads and writes keep most of their rate while the cache warms; reads that
 * come first fill the same marks, so no byte is read twice.
 */
import type { StoreCore } from './core.js'
import { worthFilling, fillSegment } from './cache-fill.js'
import type { Segment } from './log/segment.js'
import { TurnCredit } from './time-slice.js'

export interface CacheWarmer {
  /** Stops at the next slice boundary; call before closing the segments' files. Idempotent. */
  stop(): void
  /** Resolves when warming finished, was not needed, or was stopped. Never rejects. */
  readonly done: Promise<void>
}

export interface WarmOptions {
  /** Upper bound of a slice in ms, whatever the credit allows (0: one fill per slice, for tests). */
  maxSliceMs?: number
  /** How the next slice is scheduled. @defaultValue setImmediate, unref'd */
  schedule?: (next: () => void) => void
  /** The clock slices are timed with, in ms. @defaultValue performance.now */
  now?: () => number
}

function defaultSchedule(next: () => void): void {
  // Warming is optional work: it must not keep a process alive.
  setImmediate(next).unref()
}

/**
 * Starts warming `core`'s cache if its live data fits in the cache's room
 * (otherwise warming would only pick an arbitrary part of the store; misses
 * still fill the cache while it has room).
 */
export function warmCache(core: StoreCore, options: WarmOptions = {}): CacheWarmer {
  const maxSliceMs = options.maxSliceMs ?? Number.POSITIVE_INFINITY
  const schedule = options.schedule ?? defaultSchedule
  const now = options.now ?? (() => performance.now())
  let stopped = false
  let finish!: () => void
  const done = new Promise<void>((resolve) => {
    finish = resolve
  })
  const cache = core.cache
  const { liveBytes } = core.totals()
  if (cache.maxBytes === 0 || liveBytes === 0 || liveBytes > cache.room) {
    finish()
    return { stop() {}, done }
  }
  const queue: Segment[] = [...core.segments.values()].sort((a, b) => a.id - b.id)
  const credit = new TurnCredit(now)
  const slice = (): void => {
    if (stopped) return finish()
    const allowed = credit.begin()
    if (allowed <= 0) {
      // Still paying back a fill that ran over: let the application have this turn.
      credit.end()
      return schedule(slice)
    }
    const deadline = now() + Math.min(allowed, maxSliceMs)
    while (queue.length > 0) {
      const segment = queue[0]!
      // Replaced by compaction meanwhile: its records live on in the new segments.
      if (core.segments.get(segment.id) !== segment || !worthFilling(cache, segment)) {
        queue.shift()
        continue
      }
      const mark = segment.fillMark
      fillSegment(core.fs, cache, segment)
      // An I/O error leaves the mark in place: leave the segment to later misses.
      if (segment.fillMark === mark) queue.shift()
      if (now() >= deadline) {
        credit.end()
        return schedule(slice)
      }
    }
    finish()
  }
  schedule(slice)
  return {
    stop() {
      stopped = true
      finish()
    },
    done,
  }
}
