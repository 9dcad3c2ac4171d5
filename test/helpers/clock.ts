/** A clock that moves only when told to, with timers that fire on advance(). */
import type { Clock, Timer } from '../../src/clock.js'

interface Pending {
  at: number
  every: number
  fn: () => void
  active: boolean
}

export class ManualClock implements Clock {
  #now: number
  readonly #start: number
  /** Time spent inside calls (elapse()), on top of advance(). */
  #elapsed = 0
  #timers: Pending[] = []

  constructor(start = 1_700_000_000_000) {
    this.#now = start
    this.#start = start
  }

  now(): number {
    return this.#now
  }

  /** Moves with advance() and elapse(). */
  monotonic(): number {
    return this.#now - this.#start + this.#elapsed
  }

  /** Moves only the monotonic clock (time spent inside a call, e.g. a slow read); fires no timers. */
  elapse(ms: number): void {
    this.#elapsed += ms
  }

  setInterval(fn: () => void, ms: number): Timer {
    return this.#add(fn, ms, ms)
  }

  setTimeout(fn: () => void, ms: number): Timer {
    return this.#add(fn, ms, 0)
  }

  #add(fn: () => void, ms: number, every: number): Timer {
    const timer: Pending = { at: this.#now + ms, every, fn, active: true }
    this.#timers.push(timer)
    return { clear: () => void (timer.active = false) }
  }

  get activeTimers(): number {
    return this.#timers.filter((t) => t.active).length
  }

  /** Moves time forward, firing due timers in order. */
  advance(ms: number): void {
    const target = this.#now + ms
    for (;;) {
      const due = this.#timers.filter((t) => t.active && t.at <= target).sort((a, b) => a.at - b.at)[0]
      if (!due) break
      this.#now = due.at
      if (due.every > 0) due.at += due.every
      else due.active = false
      due.fn()
    }
    this.#now = target
  }
}
