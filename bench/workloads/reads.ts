/** Point reads (async, getSync, skewed, cold, 4 KiB) and ordered scans over prebuilt fixtures. */
import { performance } from 'node:perf_hooks'
import { readOrder, seqKey, shuffledKeys } from '../lib/data.js'
import { concurrent, cpuPerOp, serial, syncLoop, timedSection } from '../lib/measure.js'
import { evictPageCache, residentFraction } from '../lib/disk.js'
import { levelContender, type Store } from '../contenders/level.js'
import { fixtureSpec } from '../fixtures.js'
import { LEVEL_ALL, LEVEL_PERSISTENT, WARMUP_MS, openFixture } from './common.js'
import type { Ctx, FixtureId, Result, Workload } from './types.js'

const READ_OPS = 1_000_000

/** Keys to read, in order: uniform, or 90 % on a hot tenth scattered over the key space. */
function readKeys(n: number, count: number, seed: number, skewed: boolean): string[] {
  const perm = shuffledKeys(n, 99)
  const order = readOrder(n, count, seed, skewed)
  const out = new Array<string>(count)
  for (let i = 0; i < count; i++) out[i] = perm[order[i]!]!
  return out
}

interface GetShape {
  fixture: FixtureId
  depth: number
  skewed: boolean
  sync: boolean
}

async function getLoop(ctx: Ctx, shape: GetShape): Promise<Result> {
  const { store, spec } = await openFixture(ctx, shape.fixture)
  try {
    const count = Math.min(READ_OPS, Math.max(spec.keys * 2, 200_000))
    const keys = readKeys(spec.keys, count, 1000 + ctx.round, shape.skewed)
    const warm = readKeys(spec.keys, 5000, 7, shape.skewed)
    let misses = 0
    if (shape.sync) {
      const get = store.getSync
      syncLoop(warm.length, WARMUP_MS, (i) => get(warm[i]!))
      const t = syncLoop(count, ctx.scale.capMs, (i) => {
        if (get(keys[i]!) === undefined) misses++
      })
      return { value: t.opsPerSec, unit: 'ops/s', higherIsBetter: true, capped: t.capped, ops: t.ops, ms: t.ms, extra: { misses, cpuUsPerOp: cpuPerOp(t) } }
    }
    const get = store.get
    await serial(warm.length, WARMUP_MS, (i) => get(warm[i]!))
    const op = async (i: number): Promise<void> => {
      if ((await get(keys[i]!)) === undefined) misses++
    }
    const t = shape.depth === 1 ? await serial(count, ctx.scale.capMs, op) : await concurrent(count, shape.depth, ctx.scale.capMs, op)
    return { value: t.opsPerSec, unit: 'ops/s', higherIsBetter: true, capped: t.capped, ops: t.ops, ms: t.ms, extra: { misses, cpuUsPerOp: cpuPerOp(t) } }
  } finally {
    await store.close()
  }
}

function getWorkload(id: string, title: string, shape: GetShape, quick = false): Workload {
  return {
    id,
    title,
    layer: 'level',
    unit: 'ops/s',
    higherIsBetter: true,
    mode: 'n/a',
    contenders: LEVEL_ALL,
    fixture: shape.fixture,
    quick,
    run: (ctx) => getLoop(ctx, shape),
  }
}

/**
 * Cold reads: the fixture's files are evicted from the page cache before the
 * store opens, and the first reads are timed without a warm-up.
 */
async function coldLoop(ctx: Ctx): Promise<Result> {
  const contender = levelContender(ctx.contender)
  const spec = fixtureSpec('million', ctx.scale)
  if (ctx.fixtureDir === undefined) throw new Error('no fixture')
  const method = evictPageCache(ctx.fixtureDir)
  const residentBefore = residentFraction(ctx.fixtureDir)
  const store: Store = await contender.open(ctx.fixtureDir, ctx.engineOptions)
  try {
    const count = 5000
    const keys = readKeys(spec.keys, count, 2000 + ctx.round, false)
    let misses = 0
    const get = store.get
    const t = await serial(count, ctx.scale.capMs * 2, async (i) => {
      if ((await get(keys[i]!)) === undefined) misses++
    })
    return {
      value: t.opsPerSec,
      unit: 'ops/s',
      higherIsBetter: true,
      capped: t.capped,
      ops: t.ops,
      ms: t.ms,
      extra: { misses, eviction: method, residentBeforeOpen: residentBefore, residentAfter: residentFraction(ctx.fixtureDir) },
    }
  } finally {
    await store.close()
  }
}

async function iterateLoop(ctx: Ctx): Promise<Result> {
  const { store, spec } = await openFixture(ctx, 'small')
  try {
    await store.scan(seqKey(0), 1000)
    timedSection()
    const start = performance.now()
    let entries = 0
    let passes = 0
    do {
      const n = await store.iterateAll()
      if (n !== spec.keys) throw new Error(`iteration saw ${n} of ${spec.keys} entries`)
      entries += n
      passes++
    } while (performance.now() - start < ctx.scale.capMs)
    const ms = performance.now() - start
    return { value: (entries / ms) * 1000, unit: 'entries/s', higherIsBetter: true, ops: entries, ms, extra: { passes } }
  } finally {
    await store.close()
  }
}

async function rangeLoop(ctx: Ctx): Promise<Result> {
  const { store, spec } = await openFixture(ctx, 'small')
  try {
    const width = 1000
    const startKeys = Array.from(readOrder(spec.keys - width, 20_000, 3000 + ctx.round), (i) => seqKey(i))
    let short = 0
    const scan = async (i: number): Promise<void> => {
      if ((await store.scan(startKeys[i]!, width)) !== width) short++
    }
    await serial(20, WARMUP_MS, scan)
    const t = await serial(startKeys.length, ctx.scale.capMs, scan)
    return { value: t.opsPerSec, unit: 'scans/s', higherIsBetter: true, capped: t.capped, ops: t.ops, ms: t.ms, extra: { short } }
  } finally {
    await store.close()
  }
}

export const readWorkloads: Workload[] = [
  getWorkload('get1', 'get random, 1 in flight', { fixture: 'small', depth: 1, skewed: false, sync: false }, true),
  getWorkload('get64', 'get random, 64 in flight', { fixture: 'small', depth: 64, skewed: false, sync: false }),
  getWorkload('get_skew', 'get 90/10 skewed, 1 in flight', { fixture: 'small', depth: 1, skewed: true, sync: false }),
  getWorkload('get_sync', 'getSync random', { fixture: 'small', depth: 1, skewed: false, sync: true }, true),
  getWorkload('get1_4k', 'get random, 4 KiB values, 1 in flight', { fixture: 'value4k', depth: 1, skewed: false, sync: false }),
  {
    id: 'get_cold',
    title: 'get random, cold page cache (first 5,000 reads after open)',
    layer: 'level',
    unit: 'ops/s',
    higherIsBetter: true,
    mode: 'n/a',
    contenders: LEVEL_PERSISTENT,
    fixture: 'million',
    run: coldLoop,
  },
  {
    id: 'iterate',
    title: 'full iteration',
    layer: 'level',
    unit: 'entries/s',
    higherIsBetter: true,
    mode: 'n/a',
    contenders: LEVEL_ALL,
    fixture: 'small',
    quick: true,
    run: iterateLoop,
  },
  {
    id: 'range',
    title: '1000-key range scans',
    layer: 'level',
    unit: 'scans/s',
    higherIsBetter: true,
    mode: 'n/a',
    contenders: LEVEL_ALL,
    fixture: 'small',
    run: rangeLoop,
  },
]
