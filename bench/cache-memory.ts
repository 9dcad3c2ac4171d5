/**
 * What the value cache keeps alive under a skewed read load (bench/NOTES.md
 * section 14): 200k keys with 100-byte values, a 4 MiB cache, then 2M
 * `getSync`s, 90 % of them on a tenth of the keys. Prints ArrayBuffer memory
 * and RSS (after a full GC) every 500k reads next to the cache's own byte
 * count, then the heap each cached value costs (its Buffer object and the
 * LRU's entry: README, "Limits"). `--engine <dir>` loads the engine from
 * another source tree (a worktree of an older commit) for a before/after
 * comparison.
 *
 *   node --expose-gc --import tsx bench/cache-memory.ts [--engine /tmp/old-tree] [--reads 2000000]
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { arg } from './lib/script.js'

const engine = resolve(arg('engine', '.'))
const reads = Number(arg('reads', '2000000'))
const keys = 200_000
const { CaskDB } = (await import(join(engine, 'src/index.ts'))) as typeof import('../src/index.js')
const { ENTRY_OVERHEAD, ValueCache } = (await import(join(engine, 'src/value-cache.ts'))) as typeof import('../src/value-cache.js')
const maybeGc = (globalThis as { gc?: () => void }).gc
if (maybeGc === undefined) throw new Error('run with node --expose-gc')
const gc = maybeGc

function memory(): string {
  gc()
  gc()
  const m = process.memoryUsage()
  return `ArrayBuffers ${(m.arrayBuffers / 2 ** 20).toFixed(1)} MiB, rss ${(m.rss / 2 ** 20).toFixed(0)} MiB`
}

const dir = mkdtempSync(join(tmpdir(), 'cache-memory-'))
try {
  let db = await CaskDB.open(dir, { cacheSize: 0 })
  const value = Buffer.alloc(100, 1)
  for (let i = 0; i < keys; i += 10_000) {
    await db.batch(Array.from({ length: 10_000 }, (_, j) => ({ type: 'put' as const, key: `k${i + j}`, value })))
  }
  await db.close()
  db = await CaskDB.open(dir, { cacheSize: 4 * 2 ** 20, warmCache: false })
  console.log(`engine ${engine}\nbefore reads: ${memory()}`)
  let seed = 42
  const random = (): number => {
    seed = (seed * 48271) % 2147483647
    return seed / 2147483647
  }
  for (let r = 1; r <= reads; r++) {
    const i = Math.floor(random() * (random() < 0.9 ? keys / 10 : keys))
    db.getSync(`k${i}`)
    if (r % 500_000 === 0) console.log(`${r} reads: ${memory()}; cache ${(db.stats().cacheBytes / 2 ** 20).toFixed(1)} MiB charged`)
  }
  await db.close()
  // The cache alone, filled with 100k values of 100 bytes: the heap per entry beyond what the budget charges.
  const cache = new ValueCache(256 * 2 ** 20)
  gc()
  const heapBefore = process.memoryUsage().heapUsed
  for (let i = 0; i < 100_000; i++) cache.set(1, i * 128, value)
  gc()
  console.log(`heap per cached value: ${((process.memoryUsage().heapUsed - heapBefore) / cache.size).toFixed(0)} B (the budget charges ${ENTRY_OVERHEAD} B beyond the value)`)
} finally {
  rmSync(dir, { recursive: true, force: true })
}
