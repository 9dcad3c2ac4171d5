/**
 * Keeps a writer that never waits from starving the event loop. A put is
 * acknowledged in a microtask right after its synchronous write, so a bare
 * `for (...) await db.put()` loop would never let timers, I/O callbacks or
 * background work (sealing, compaction, syncInterval) run. Once
 * acknowledgements have gone on for ACK_TURN_MS without the event loop
 * reaching its check phase, the next ones are delivered through setImmediate:
 * one extra turn of the event loop per ACK_TURN_MS, nothing otherwise.
 */
import { performance } from 'node:perf_hooks'

/** Longest stretch of acknowledgements delivered without a turn of the event loop. */
export const ACK_TURN_MS = 1

export interface Acknowledgeable {
  resolve(): void
}

export class AckPacer {
  readonly #turnMs: number
  /** When acknowledging began in this turn of the event loop; -1 once the loop has turned. */
  #since = -1
  /** Acknowledgements held back until the loop turns, in order. */
  #deferred: Acknowledgeable[] | undefined
  /** Acknowledgements that were held back (for stats and tests). */
  deferrals = 0

  constructor(turnMs = ACK_TURN_MS) {
    this.#turnMs = turnMs
  }

  /** Resolves `groups` now, or in order once the event loop has had a turn. */
  deliver(groups: readonly Acknowledgeable[]): void {
    if (groups.length === 0) return
    const deferred = this.#deferred
    if (deferred !== undefined) {
      for (const g of groups) deferred.push(g)
      return
    }
    const now = performance.now()
    if (this.#since < 0) {
      this.#since = now
      setImmediate(this.#turned)
    } else if (now - this.#since >= this.#turnMs) {
      this.#deferred = groups.slice()
      this.deferrals++
      return
    }
    for (const g of groups) g.resolve()
  }

  /** Runs in the check phase: the event loop has turned. */
  readonly #turned = (): void => {
    this.#since = -1
    const deferred = this.#deferred
    this.#deferred = undefined
    if (deferred !== undefined) for (const g of deferred) g.resolve()
  }
}
