/**
 * Time-capped loops. Each stops after `n` operations or `capMs`, whichever
 * comes first, and reports operations per second over the time it ran.
 * The loop bodies take an index so callers index pre-generated data and
 * allocate nothing per operation themselves.
 */
import { performance } from 'node:perf_hooks'

export interface Timing {
  ops: number
  ms: number
  opsPerSec: number
  /** The time cap ended the loop before n operations. */
  capped: boolean
  /**
   * CPU time of the whole process during the loop (user + system, every
   * thread: libuv's pool and native stores' own threads too), in µs. Less
   * sensitive to other processes than wall time, and it shows work a store
   * moves off the main thread (classic-level and lmdb do; caskdb does not).
   */
  cpuUs: number
}

/** CPU µs per operation (`per` operations per loop iteration, e.g. 1000 for batches of 1000). */
export function cpuPerOp(t: Timing, per = 1): number {
  return t.ops > 0 ? t.cpuUs / (t.ops * per) : NaN
}

let onTimed: (() => void) | undefined

/** Called once, when the first measured (or warm-up) loop starts: the worker starts its CPU profile there. */
export function setTimedHook(hook: (() => void) | undefined): void {
  onTimed = hook
}

/** Marks the start of timed work (the loops call it; workloads with their own timing call it themselves). */
export function timedSection(): void {
  const hook = onTimed
  onTimed = undefined
  hook?.()
}

function timing(ops: number, ms: number, n: number, cpu: NodeJS.CpuUsage): Timing {
  const used = process.cpuUsage(cpu)
  return { ops, ms, opsPerSec: ms > 0 ? (ops / ms) * 1000 : 0, capped: ops < n, cpuUs: used.user + used.system }
}

/** One operation in flight at a time. */
export async function serial(n: number, capMs: number, op: (i: number) => Promise<unknown>): Promise<Timing> {
  timedSection()
  const cpu = process.cpuUsage()
  const start = performance.now()
  const deadline = start + capMs
  let i = 0
  while (i < n) {
    await op(i)
    i++
    if ((i & 15) === 0 && performance.now() > deadline) break
  }
  return timing(i, performance.now() - start, n, cpu)
}

/** `depth` operations in flight: each finished one starts the next. */
export async function concurrent(n: number, depth: number, capMs: number, op: (i: number) => Promise<unknown>): Promise<Timing> {
  timedSection()
  const cpu = process.cpuUsage()
  const start = performance.now()
  const deadline = start + capMs
  let next = 0
  let done = 0
  let stop = false
  const lane = async (): Promise<void> => {
    while (!stop && next < n) {
      const i = next++
      await op(i)
      done++
      if ((done & 15) === 0 && performance.now() > deadline) stop = true
    }
  }
  const lanes: Promise<void>[] = []
  for (let j = 0; j < depth; j++) lanes.push(lane())
  await Promise.all(lanes)
  return timing(done, performance.now() - start, n, cpu)
}

/** Synchronous operations (getSync). */
export function syncLoop(n: number, capMs: number, op: (i: number) => unknown): Timing {
  timedSection()
  const cpu = process.cpuUsage()
  const start = performance.now()
  const deadline = start + capMs
  let i = 0
  while (i < n) {
    op(i)
    i++
    if ((i & 63) === 0 && performance.now() > deadline) break
  }
  return timing(i, performance.now() - start, n, cpu)
}

export function median(values: number[]): number {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b)
  if (v.length === 0) return NaN
  const mid = v.length >> 1
  return v.length % 2 === 1 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2
}

/** (max - min) / median, as a fraction: the spread shown as ± in the tables. */
export function spread(values: number[]): number {
  const v = values.filter((x) => Number.isFinite(x))
  if (v.length < 2) return 0
  const m = median(v)
  return m === 0 ? 0 : (Math.max(...v) - Math.min(...v)) / m
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
