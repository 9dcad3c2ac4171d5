/**
 * The cache warmer (src/cache-warmer.ts), driven on a StoreCore directly, and
 * as CaskDB starts it after open (option warmCache).
 */
import test from 'tape'
import { CaskDB } from '../../src/index.js'
import { StoreCore } from '../../src/core.js'
import { recover } from '../../src/recovery.js'
import { resolveOptions, type CaskOptions } from '../../src/options.js'
import { systemClock } from '../../src/clock.js'
import { warmCache } from '../../src/cache-warmer.js'
import { FaultyFs } from '../helpers/faulty-fs.js'
import { tempPath } from '../helpers/tmp.js'

const key = (i: number) => `key${String(i).padStart(5, '0')}`
const value = (i: number) => `value ${i} `.repeat(1 + (i % 7))

async function build(location: string, n: number): Promise<void> {
  const db = await CaskDB.open(location, { maxSegmentSize: 64 * 1024 })
  for (let i = 0; i < n; i += 50) {
    await db.batch(Array.from({ length: 50 }, (_, j) => ({ type: 'put' as const, key: key((i + j) * 7919 % n), value: value((i + j) * 7919 % n) })))
  }
  await db.close()
}

async function openCore(location: string, options: CaskOptions = {}) {
  const faulty = new FaultyFs()
  const core = new StoreCore(location, faulty.fs, systemClock, resolveOptions({ maxSegmentSize: 64 * 1024, ...options }))
  await recover(core)
  const base = faulty.counts.read
  const close = () => {
    for (const segment of core.segments.values()) faulty.fs.closeSync(segment.fd)
  }
  return { core, reads: () => faulty.counts.read - base, close }
}

test('cache warmer: a store that fits is read once in file order, then every get is served from RAM', async (t) => {
  const location = tempPath()
  const n = 3000
  await build(location, n)
  const { core, reads, close } = await openCore(location)
  const slices: (() => void)[] = []
  const warmer = warmCache(core, { schedule: (next) => slices.push(next), maxSliceMs: 0 })
  let ran = 0
  while (slices.length > 0) {
    slices.shift()!()
    ran++
  }
  await warmer.done
  t.ok(ran > 1, `ran in ${ran} slices`)
  t.equal(core.cache.size, n, 'every value cached')
  const warmReads = reads()
  t.ok(warmReads > 0 && warmReads < 40, `${warmReads} reads of 64 KiB`)
  const wrong: number[] = []
  for (let i = 0; i < n; i++) if (core.get(core.liveView(), key(i))?.toString() !== value(i)) wrong.push(i)
  t.same(wrong, [], 'every value right')
  t.equal(reads(), warmReads, 'no reads after warming')
  close()
})

test('cache warmer: nothing to do when the live data does not fit; stop() ends it between slices', async (t) => {
  const location = tempPath()
  await build(location, 3000)
  const small = await openCore(location, { cacheSize: 64 * 1024 })
  await warmCache(small.core).done
  t.equal(small.reads(), 0, 'a store larger than the cache is not warmed')
  small.close()

  const { core, reads, close } = await openCore(location)
  const slices: (() => void)[] = []
  const warmer = warmCache(core, { schedule: (next) => slices.push(next), maxSliceMs: 0 })
  slices.shift()!()
  const after = reads()
  warmer.stop()
  while (slices.length > 0) slices.shift()!()
  await warmer.done
  t.ok(after > 0, 'the first slice read')
  t.equal(reads(), after, 'no reads after stop()')
  close()
})

test('cache warmer: while the application is busy it takes about a quarter of its time, even with fills longer than its turns', async (t) => {
  const location = tempPath()
  await build(location, 20_000)
  const faulty = new FaultyFs()
  const core = new StoreCore(location, faulty.fs, systemClock, resolveOptions({ maxSegmentSize: 64 * 1024 }))
  await recover(core)
  let clock = 0
  // Every 64 KiB fill takes 2 ms of (simulated) time; each turn the application takes 1 ms.
  faulty.deny = (call) => {
    if (call.kind === 'read') clock += 2
    return undefined
  }
  const slices: (() => void)[] = []
  const warmer = warmCache(core, { schedule: (next) => slices.push(next), now: () => clock })
  let turns = 0
  let warming = 0
  while (slices.length > 0) {
    clock += 1
    turns++
    const before = clock
    slices.shift()!()
    warming += clock - before
  }
  await warmer.done
  t.ok(core.cache.size === 20_000, 'everything cached in the end')
  const share = warming / turns
  t.ok(share > 0.15 && share < 0.3, `warming took ${(100 * share).toFixed(0)} % of the application's time (${turns} turns)`)
  for (const segment of core.segments.values()) faulty.fs.closeSync(segment.fd)
})

test('CaskDB warms its cache after open (warmCache, default on): later gets read nothing from disk', async (t) => {
  const location = tempPath()
  await build(location, 2000)
  for (const warm of [true, false]) {
    const faulty = new FaultyFs()
    const db = await CaskDB.open(location, { fs: faulty.fs, maxSegmentSize: 64 * 1024, warmCache: warm })
    t.equal(db.stats().cacheBytes, 0, `warmCache ${warm}: open returns before any warming`)
    for (let i = 0; i < 200 && db.stats().cacheBytes === 0; i++) await new Promise((r) => setTimeout(r, 5))
    await new Promise((r) => setTimeout(r, 100))
    const reads = faulty.counts.read
    for (let i = 0; i < 2000; i += 97) t.equal(db.getSync(key(i))?.toString(), value(i))
    if (warm) {
      t.ok(db.stats().cacheBytes > 0, 'the cache filled in the background')
      t.equal(faulty.counts.read, reads, 'gets after warming read no bytes from disk')
    } else {
      t.ok(faulty.counts.read > reads, 'without warming, the first gets read from disk')
    }
    await db.close()
  }
})
