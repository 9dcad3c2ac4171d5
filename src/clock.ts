/**
 * The one source of time. Expiry uses wall-clock milliseconds (Date.now) so
 * that an absolute `expires` survives restarts; timers go through here too so
 * tests can move time by hand instead of sleeping.
 */
export interface Clock {
  /** Wall-clock ms (Date.now): expiry times. */
  now(): number
  /**
   * Monotonic ms with sub-ms resolution: timing reads (read-around). Optional,
   * so that clocks written before it existed still work: performance.now()
   * is used without it.
   */
  monotonic?(): number
  setInterval(fn: () => void, ms: number): Timer
  setTimeout(fn: () => void, ms: number): Timer
}

export interface Timer {
  clear(): void
}

export const systemClock: Clock = {
  now: () => Date.now(),
  monotonic: () => performance.now(),
  setInterval(fn, ms) {
    // unref: a background flush or sweep must never keep the process alive.
    const t = setInterval(fn, ms)
    t.unref()
    return { clear: () => clearInterval(t) }
  },
  setTimeout(fn, ms) {
    const t = setTimeout(fn, ms)
    t.unref()
    return { clear: () => clearTimeout(t) }
  },
}
