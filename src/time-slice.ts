/**
 * Long loops on the main thread (compaction, segment scans, the index switch)
 * give way to puts, timers and I/O callbacks: after a slice of work they wait
 * for one turn of the event loop, so nothing waits behind more than a slice.
 *
 * performance.now() rather than the injected clock: slices are fractions of a
 * millisecond, and tests that stop the clock must not make a loop run forever.
 */
import { performance } from 'node:perf_hooks'

/** The first slice, in ms, before anything is known about the event loop's turns. */
export const SLICE_MS = 0.25

/** Work units between clock reads: a read costs ~30 ns, a unit (one record, an index lookup) ~300 ns. */
const CHECK_EVERY = 64

/**
 * How long the next slice is depends on how long the rest of the process took
 * in the turn it just had. Background work gets TURN_SHARE of that: a quarter
 * of the foreground's time, so 1/5 of the thread while the foreground is busy
 * (puts keep ~80 % of their rate), whether its turns are short (a put loop
 * yielding every half millisecond) or long (a bulk load: one turn per
 * `db.batch`, 100 ms and more, where a fixed short slice would stretch a
 * seal over minutes and seals would queue up). Never less than MIN_SLICE_MS,
 * so the work always moves. A turn shorter than IDLE_TURN_MS means nothing
 * else was waiting: then slices are IDLE_SLICE_MS, so idle-time work is not
 * slowed by turns it does not need.
 */
export const TURN_SHARE = 0.25
const MIN_SLICE_MS = 0.05
export const IDLE_TURN_MS = 0.05
export const IDLE_SLICE_MS = 1

export class TimeSlicer {
  readonly sliceMs: number
  readonly turnShare: number
  #deadline: number
  #units = 0
  /** Turns of the event loop waited for so far (for tests and stats). */
  pauses = 0
  /** Length of the current slice, in ms (for tests). */
  currentSliceMs: number

  /** `new TimeSlicer(0, 0)` pauses at every clock check (every 64 units): deterministic, for tests. */
  constructor(sliceMs = SLICE_MS, turnShare = TURN_SHARE) {
    this.sliceMs = sliceMs
    this.turnShare = turnShare
    this.currentSliceMs = sliceMs
    this.#deadline = performance.now() + sliceMs
  }

  /**
   * Counts `units` of work (1 per record; bulk byte work as 1 per 4 KiB);
   * true when the slice is used up, in which case the caller awaits pause().
   */
  tick(units = 1): boolean {
    this.#units += units
    if (this.#units < CHECK_EVERY) return false
    this.#units = 0
    return performance.now() >= this.#deadline
  }

  /** Waits for one turn of the event loop (after pending I/O callbacks and timers) and starts a new slice. */
  async pause(): Promise<void> {
    const start = performance.now()
    await new Promise<void>((resolve) => setImmediate(resolve))
    this.pauses++
    this.#units = 0
    const now = performance.now()
    this.currentSliceMs = this.#nextSlice(now - start)
    this.#deadline = now + this.currentSliceMs
  }

  #nextSlice(turn: number): number {
    if (this.turnShare === 0) return this.sliceMs // fixed slices (tests)
    if (turn < IDLE_TURN_MS) return Math.max(this.sliceMs, IDLE_SLICE_MS)
    return Math.max(MIN_SLICE_MS, turn * this.turnShare)
  }
}

/**
 * The same share of the thread for background work that comes in pieces it
 * cannot cut (a 64 KiB cache fill, ~0.1-0.5 ms): each turn the rest of the
 * process takes earns TURN_SHARE of its length as credit, work spends it, and
 * a piece that overshoots is paid back by the following turns before the next
 * piece runs. While the process is idle (turns shorter than IDLE_TURN_MS)
 * every turn allows IDLE_SLICE_MS and an earlier overshoot is forgiven: nobody
 * was waiting.
 */
export class TurnCredit {
  readonly #now: () => number
  #credit = 0
  #lastEnd: number
  #start = 0

  constructor(now: () => number = () => performance.now()) {
    this.#now = now
    this.#lastEnd = now()
  }

  /** At the start of a slice: the ms of work allowed now; at most 0 means skip this turn (still call end()). */
  begin(): number {
    const start = this.#now()
    const turn = start - this.#lastEnd
    this.#credit = turn < IDLE_TURN_MS ? IDLE_SLICE_MS : Math.min(this.#credit + turn * TURN_SHARE, 4 * IDLE_SLICE_MS)
    this.#start = start
    return this.#credit
  }

  /** At the end of a slice (also one that did nothing): charges the work done since begin(). */
  end(): void {
    const now = this.#now()
    this.#credit -= now - this.#start
    this.#lastEnd = now
  }
}

/**
 * Work written as a generator that yields, every few hundred items, the work
 * units (see tick) it did since its last yield. runSliced runs it a slice at a
 * time; runToEnd runs it in one go (for callers that cannot wait).
 */
export type SlicedWork<T> = Generator<number, T, void>

export async function runSliced<T>(work: SlicedWork<T>, slicer: TimeSlicer): Promise<T> {
  for (;;) {
    const step = work.next()
    if (step.done === true) return step.value
    if (slicer.tick(step.value)) await slicer.pause()
  }
}

export function runToEnd<T>(work: SlicedWork<T>): T {
  for (;;) {
    const step = work.next()
    if (step.done === true) return step.value
  }
}

/** Work units for `bytes` of copying or checksumming. */
export function byteUnits(bytes: number): number {
  return bytes >>> 12
}

/** Items of a cheap loop step (a comparison, a copy) between yields, and the work units they count as. */
const SORT_STEP = 256
const SORT_STEP_UNITS = 32
/** Items sorted with the built-in sort in one go (~0.1 ms) before runs are merged. */
const SORT_RUN = 512

/**
 * A stable sort of `items` in place, as sliced work: runs of SORT_RUN items
 * with the built-in sort, then bottom-up merges that yield every SORT_STEP
 * items. A sort of a million keys would otherwise hold the thread for a second.
 */
export function* sortWork<T>(items: T[], compare: (a: T, b: T) => number): SlicedWork<void> {
  const n = items.length
  if (n <= SORT_RUN) {
    items.sort(compare)
    yield n >>> 3
    return
  }
  for (let lo = 0; lo < n; lo += SORT_RUN) {
    const run = items.slice(lo, lo + SORT_RUN).sort(compare)
    for (let i = 0; i < run.length; i++) items[lo + i] = run[i]!
    yield SORT_RUN / 2
  }
  let from = items
  let to: T[] = new Array<T>(n)
  for (let width = SORT_RUN; width < n; width *= 2) {
    for (let lo = 0; lo < n; lo += 2 * width) {
      const mid = Math.min(lo + width, n)
      const hi = Math.min(lo + 2 * width, n)
      let i = lo
      let j = mid
      let k = lo
      while (i < mid && j < hi) {
        // `<=` keeps equal items in their order: the merge is stable, like Array.prototype.sort.
        to[k++] = compare(from[i]!, from[j]!) <= 0 ? from[i++]! : from[j++]!
        if ((k & (SORT_STEP - 1)) === 0) yield SORT_STEP_UNITS
      }
      while (i < mid) to[k++] = from[i++]!
      while (j < hi) to[k++] = from[j++]!
    }
    ;[from, to] = [to, from]
  }
  if (from !== items) for (let i = 0; i < n; i++) items[i] = from[i]!
}

/** Sorts in place, stably, a slice at a time (sortWork run by `slicer`). */
export function sortSliced<T>(items: T[], compare: (a: T, b: T) => number, slicer: TimeSlicer): Promise<void> {
  return runSliced(sortWork(items, compare), slicer)
}
