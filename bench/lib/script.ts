/** Helpers of the stand-alone profiling scripts (open-profile, seal-close, close-profile). */
import { performance } from 'node:perf_hooks'

/** The value after `--name` on the command line, or `fallback`. */
export function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1]! : fallback
}

/** Runs `fn`, returning its result with the wall and CPU (user + system) ms it took. */
export async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; wallMs: number; cpuMs: number }> {
  const cpu = process.cpuUsage()
  const start = performance.now()
  const value = await fn()
  const wallMs = performance.now() - start
  const used = process.cpuUsage(cpu)
  return { value, wallMs, cpuMs: (used.user + used.system) / 1000 }
}

/** A duration in ms, right-aligned for tables in a terminal. */
export const fmt = (ms: number): string => `${ms.toFixed(0).padStart(6)} ms`
