/**
 * Turns "the JS heap ran out" into a refused write instead of a dead process.
 *
 * Every key lives in RAM (the index), so a store that keeps growing ends at
 * V8's heap limit, and V8 then aborts the whole process ("JavaScript heap out
 * of memory", SIGABRT): no error to catch, no chance to close cleanly. The
 * guard samples the heap every CHECK_EVERY puts and, once the used heap is
 * above `maxHeapRatio` of V8's limit (or closer to it than HEAP_RESERVE),
 * refuses puts with OUT_OF_MEMORY (deletes
 * still pass: they are how an app frees room). Past the ratio it samples on
 * every put, so writes resume as soon as the garbage collector or the app
 * frees enough.
 *
 * Sampling costs well under a microsecond (`v8.getHeapStatistics`), hence
 * every CHECK_EVERY puts rather than on each one: between two samples the
 * index grows by at most CHECK_EVERY keys, a few tens of KiB.
 */
import { getHeapSpaceStatistics, getHeapStatistics } from 'node:v8'
import { CaskError, ErrorCodes } from './errors.js'

export interface HeapSample {
  /** Bytes in use in V8's old generation (live objects and not yet collected garbage). */
  used: number
  /** The old generation's limit (`--max-old-space-size`): V8 aborts when it is reached. */
  limit: number
}

export type HeapProbe = () => HeapSample

export const CHECK_EVERY = 256
/** Keys loaded at open between two samples (a sample costs ~6 µs; an open loads ~2M keys/s). */
export const LOAD_CHECK_EVERY = 16_384
/**
 * Old-generation bytes always kept free, whatever the ratio: sealing a
 * segment, compaction and close() need transient heap, and on a small heap
 * 10 % is only a few MiB (measured: with --max-old-space-size=64, a 90 %
 * threshold let the process die while sealing).
 */
export const HEAP_RESERVE = 32 * 1024 * 1024

const MiB = 1024 * 1024

const YOUNG_SPACES = new Set(['new_space', 'new_large_object_space'])
let oldLimit = 0

/**
 * Samples the old generation, the part the index lives in. Why not simply
 * `used_heap_size / heap_size_limit`: the limit includes a fixed reserve for
 * the young generation (48 MiB on Node 20 and 22, 192 MiB on Node 24) that
 * long-lived data can never use, so with `--max-old-space-size=256` V8
 * aborts at 256 MiB of old objects while the ratio would read 84 %.
 */
export function v8Heap(): HeapSample {
  const stats = getHeapStatistics()
  let young = 0
  for (const space of getHeapSpaceStatistics()) if (YOUNG_SPACES.has(space.space_name)) young += space.space_used_size
  if (oldLimit === 0) oldLimit = oldGenerationLimit(stats.heap_size_limit)
  return { used: stats.used_heap_size - young, limit: oldLimit }
}

/**
 * V8 does not report the old generation's limit, only the total. It is the
 * `--max-old-space-size` flag when one was given (on the command line or in
 * NODE_OPTIONS; the last one wins, as in Node); otherwise the total less the
 * young generation's reserve, which depends on the V8 version.
 */
export function oldGenerationLimit(heapSizeLimit: number, execArgv = process.execArgv, nodeOptions = process.env['NODE_OPTIONS'] ?? '', v8Version = process.versions.v8): number {
  let flag: number | undefined
  for (const arg of [...nodeOptions.split(/\s+/), ...execArgv]) {
    const m = /^--max[-_]old[-_]space[-_]size=(\d+(?:\.\d+)?)$/.exec(arg)
    if (m) flag = Number(m[1]) * MiB
  }
  if (flag !== undefined && flag > 0 && flag < heapSizeLimit) return flag
  const youngReserve = Number.parseInt(v8Version, 10) >= 13 ? 192 * MiB : 48 * MiB
  return Math.max(heapSizeLimit - youngReserve, heapSizeLimit / 2)
}

export class HeapGuard {
  readonly #ratio: number
  readonly #probe: HeapProbe
  readonly #reserve: number
  #countdown = 0
  #loadCountdown = LOAD_CHECK_EVERY
  #over = false

  /**
   * `ratio` 1 turns the guard off. `reserve`: old-generation bytes always kept
   * free; CaskDB passes HEAP_RESERVE plus maxSegmentSize, because sealing a
   * segment builds its hint on the heap in the background, between the puts
   * that sample it (measured: with --max-old-space-size=256 and 64 MiB
   * segments, a 32 MiB reserve let a seal push the heap over the limit).
   */
  constructor(ratio: number, probe: HeapProbe = v8Heap, reserve = HEAP_RESERVE) {
    this.#ratio = ratio
    this.#probe = probe
    this.#reserve = reserve
  }

  /** Throws OUT_OF_MEMORY if `puts` more puts would grow a heap that is already past the ratio. */
  admit(puts: number): void {
    if (puts === 0 || this.#ratio >= 1) return
    this.#countdown -= puts
    if (this.#countdown > 0 && !this.#over) return
    this.#countdown = CHECK_EVERY
    const { used, limit } = this.#probe()
    this.#over = this.#isOver(used, limit)
    if (!this.#over) return
    throw new CaskError(
      ErrorCodes.OUT_OF_MEMORY,
      `write refused: ${this.#describe(used, limit)}. Every key is held in RAM: delete keys, start node with a ` +
        'larger --max-old-space-size, or move to a two-tier or Redis setup (README: Limits and scaling)',
    )
  }

  /**
   * Called while an open loads keys into the index: a database written by a
   * process with a larger heap fails to open with OUT_OF_MEMORY, not an abort.
   * Samples every LOAD_CHECK_EVERY keys (opening loads millions per second).
   */
  admitLoad(keys: number): void {
    if (this.#ratio >= 1) return
    this.#loadCountdown -= keys
    if (this.#loadCountdown > 0) return
    this.#loadCountdown = LOAD_CHECK_EVERY
    const { used, limit } = this.#probe()
    if (!this.#isOver(used, limit)) return
    throw new CaskError(
      ErrorCodes.OUT_OF_MEMORY,
      `open refused: loading the index filled the JS heap: ${this.#describe(used, limit)}. Every key is held in ` +
        'RAM: start node with a larger --max-old-space-size (README: Limits and scaling)',
    )
  }

  #isOver(used: number, limit: number): boolean {
    return used > Math.min(limit * this.#ratio, limit - this.#reserve)
  }

  #describe(used: number, limit: number): string {
    return (
      `the JS heap (old generation) is at ${Math.round((used / limit) * 100)} % of its limit ` +
      `(${Math.round(used / MiB)} of ${Math.round(limit / MiB)} MiB; maxHeapRatio is ${this.#ratio})`
    )
  }
}
