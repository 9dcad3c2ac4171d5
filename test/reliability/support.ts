/** Shared helpers of the reliability tests (not a test file itself). */
import { readdirSync } from 'node:fs'
import { CaskDB, CaskError, type ErrorCode } from '../../src/index.js'

/**
 * Settles `promise`, or reports a hang after `ms`. This is a liveness guard,
 * not a timing assertion: the bound is generous and only catches promises
 * that never settle.
 */
export async function settle<T>(
  promise: Promise<T>,
  what: string,
  ms = 20_000,
): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
  let timer: NodeJS.Timeout | undefined
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new HangError(`${what} did not settle within ${ms} ms`)), ms)
  })
  try {
    return { ok: true, value: await Promise.race([promise, hang]) }
  } catch (error) {
    if (error instanceof HangError) throw error
    return { ok: false, error }
  } finally {
    clearTimeout(timer)
  }
}

export class HangError extends Error {}

/** True when `err` is a CaskError with one of `codes`. */
export function coded(err: unknown, codes: readonly ErrorCode[]): err is CaskError {
  return err instanceof CaskError && codes.includes(err.code)
}

export function describeError(err: unknown): string {
  if (err instanceof CaskError) {
    const cause = (err.cause as NodeJS.ErrnoException | undefined)?.code
    return `${err.code}${cause ? `/${cause}` : ''}: ${err.message}`
  }
  if (err instanceof Error) return `${err.constructor.name}: ${err.message}\n${err.stack ?? ''}`
  return String(err)
}

/** Every live entry as `key=value` strings, in iteration order. */
export async function dump(db: CaskDB, options: Parameters<CaskDB['iterator']>[0] = {}): Promise<string[]> {
  return (await db.iterator(options).all()).map(([k, v]) => `${k!.toString()}=${v!.toString()}`)
}

/** A model's entries in the engine's order (bytewise on UTF-8 keys). */
export function sortedEntries(model: ReadonlyMap<string, string>): string[] {
  return [...model.entries()]
    .sort(([a], [b]) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
    .map(([k, v]) => `${k}=${v}`)
}

export const dataFiles = (dir: string): string[] => readdirSync(dir).filter((n) => /^\d{8,}\.data$/.test(n)).sort()
export const hintFiles = (dir: string): string[] => readdirSync(dir).filter((n) => /^\d{8,}\.hint$/.test(n)).sort()

/** A small seeded PRNG (mulberry32), so sampled runs are reproducible. */
export function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/**
 * Collects unhandled promise rejections while `fn` runs: the engine must
 * never leave one behind (Node would crash the process on it).
 */
export async function noUnhandledRejections<T>(fn: () => Promise<T>): Promise<{ value: T; unhandled: unknown[] }> {
  const unhandled: unknown[] = []
  const listener = (reason: unknown) => unhandled.push(reason)
  process.on('unhandledRejection', listener)
  try {
    const value = await fn()
    // Let rejections of promises created at the very end surface.
    await new Promise((r) => setImmediate(r))
    await new Promise((r) => setImmediate(r))
    return { value, unhandled }
  } finally {
    process.off('unhandledRejection', listener)
  }
}
