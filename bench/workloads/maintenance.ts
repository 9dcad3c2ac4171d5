/**
 * Overwrite-heavy load then compaction, puts while compaction runs, reopen
 * of a 1M-key database, memory per key, and the machine's fsync floor.
 */
import { closeSync, cpSync, fdatasyncSync, openSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { seqKey, seqKeys, shuffledKeys, valuePool } from '../lib/data.js'
import { median, serial, sleep, timedSection } from '../lib/measure.js'
import { dirBytes, warmPageCache } from '../lib/disk.js'
import { levelContender, type PutOp } from '../contenders/level.js'
import { fixtureSpec, loadFixture } from '../fixtures.js'
import { LEVEL_ALL, LEVEL_PERSISTENT, openEmpty } from './common.js'
import type { Ctx, Result, Workload } from './types.js'

const MiB = 1024 * 1024

/** 10k keys overwritten 20 times in batches of 1000; then disk use before and after a full compaction. */
async function overwriteLoop(ctx: Ctx): Promise<Result> {
  const contender = levelContender(ctx.contender)
  const store = await openEmpty(ctx)
  const keys = shuffledKeys(10_000, 5)
  const rounds = 20
  const valueSize = 100
  const pool = valuePool(valueSize, 1024, 3)
  const plan: PutOp[][] = []
  for (let r = 0; r < rounds; r++) {
    for (let b = 0; b < keys.length; b += 1000) {
      const ops: PutOp[] = []
      for (let i = b; i < b + 1000; i++) ops.push({ type: 'put', key: keys[i]!, value: pool[(i + r * 7) & 1023]! })
      plan.push(ops)
    }
  }
  let closed = false
  try {
    const t = await serial(plan.length, 60_000, (i) => store.batch(plan[i]!))
    const liveBytes = keys.length * (16 + valueSize)
    const extra: Result['extra'] = { liveMiB: liveBytes / MiB }
    if (contender.persistent) {
      const before = dirBytes(ctx.dir)
      extra.diskBeforeMiB = before.apparent / MiB
      let compactMs: number | undefined
      if (store.compact) {
        const c0 = performance.now()
        await store.compact()
        compactMs = performance.now() - c0
      }
      await store.close()
      closed = true
      const after = dirBytes(ctx.dir)
      extra.diskAfterMiB = after.apparent / MiB
      extra.diskAfterAllocatedMiB = after.allocated / MiB
      extra.afterOverLive = after.apparent / liveBytes
      extra.compactMs = compactMs
      extra.compaction = store.compact ? 'full' : 'none available'
    }
    return { value: (t.ops * 1000 * 1000) / t.ms, unit: 'ops/s', higherIsBetter: true, ops: t.ops * 1000, ms: t.ms, extra }
  } finally {
    if (!closed) await store.close()
  }
}

/**
 * Puts (1 in flight, default mode) for capMs as a baseline, then again while
 * a full compaction of an overwrite-heavy database runs. caskdb runs with
 * autoCompact: false so that the measured compaction is the only one.
 */
async function compactionPutsLoop(ctx: Ctx): Promise<Result> {
  const cask = ctx.contender.startsWith('caskdb')
  const contender = levelContender(ctx.contender)
  // No cache warming for caskdb: it runs after every open and would slow whichever phase it overlaps.
  const options = cask ? { ...ctx.engineOptions, autoCompact: false, warmCache: false } : ctx.engineOptions
  let store = await contender.open(ctx.dir, options)
  try {
    const keys = Math.floor(ctx.scale.smallKeys / 2)
    const versions = 6
    const pool = valuePool(100, 1024, 4)
    for (let v = 0; v < versions; v++) {
      const order = shuffledKeys(keys, 20 + v)
      for (let b = 0; b < keys; b += 10_000) {
        const ops: PutOp[] = []
        for (let i = b; i < Math.min(b + 10_000, keys); i++) ops.push({ type: 'put', key: order[i]!, value: pool[(i + v) & 1023]! })
        await store.batch(ops)
      }
    }
    // Close and reopen, so background work left by the load (sealing segments,
    // LevelDB's own compactions) is finished before the baseline is measured.
    await store.close()
    store = await contender.open(ctx.dir, options)
    const before = dirBytes(ctx.dir).apparent
    const n = 2_000_000
    const fresh = seqKeys(400_000, 500_000_000)
    let k = 0
    // Like a server taking requests from the network, the loop returns to the
    // event loop every 64 puts: caskdb acknowledges a put in a microtask, so a
    // bare `await put()` loop would never let compaction's I/O callbacks run.
    const put = async (): Promise<unknown> => {
      const i = k++
      if ((i & 63) === 63) await new Promise<void>((r) => setImmediate(r))
      return store.put(fresh[i % fresh.length]!, pool[i & 1023]!)
    }
    await serial(2000, 300, put)
    const base = await serial(n, ctx.scale.capMs, put)
    // The same loop, while compaction runs.
    let running = true
    const c0 = performance.now()
    let compactMs = 0
    const compaction = store.compact!().then(() => {
      compactMs = performance.now() - c0
      running = false
    })
    const t0 = performance.now()
    const limit = Math.max(10_000, ctx.scale.capMs * 5)
    let ops = 0
    while (running && performance.now() - t0 < limit) {
      await put()
      ops++
    }
    const duringMs = performance.now() - t0
    const finishedInLoop = !running
    await compaction
    const diskAfter = dirBytes(ctx.dir).apparent
    const during = (ops / duringMs) * 1000
    // The same loop once more after compaction: the reference is the mean of before and after,
    // so drift over the run (page cache writeback, a neighbour's load) moves both sides alike.
    const after = await serial(n, ctx.scale.capMs, put)
    const baseline = (base.opsPerSec + after.opsPerSec) / 2
    return {
      value: (during / baseline) * 100,
      unit: '% of puts without compaction',
      higherIsBetter: true,
      ops,
      ms: duringMs,
      extra: {
        baselineOpsPerSec: baseline,
        baselineBeforeOpsPerSec: base.opsPerSec,
        baselineAfterOpsPerSec: after.opsPerSec,
        duringOpsPerSec: during,
        compactMs,
        compactionFinishedWhilePutting: finishedInLoop,
        diskBeforeMiB: before / MiB,
        diskAfterMiB: diskAfter / MiB,
      },
    }
  } finally {
    await store.close()
  }
}

/** Reopen of the 1M-key fixture (page cache warm) until the first get returns. */
async function reopenLoop(ctx: Ctx): Promise<Result> {
  if (ctx.fixtureDir === undefined) throw new Error('no fixture')
  const spec = fixtureSpec('million', ctx.scale)
  warmPageCache(ctx.fixtureDir)
  const contender = levelContender(ctx.contender)
  const key = seqKey(Math.floor(spec.keys * 0.61803))
  timedSection()
  const t0 = performance.now()
  const store = await contender.open(ctx.fixtureDir, ctx.engineOptions)
  const value = await store.get(key)
  const ms = performance.now() - t0
  await store.close()
  if (value === undefined) throw new Error('reopen: key not found')
  return { value: ms, unit: 'ms', higherIsBetter: false, ops: 1, ms }
}

/**
 * Reopen as after a kill -9 (caskdb only): a copy of the fixture without the
 * hint a clean close writes for the active segment, so the open scans that
 * segment (the 1M-key fixture ends with ~59 MB in it) and merges it with the
 * sealed hints. The copy sits in the page cache, like the fixture of
 * `reopen`.
 */
async function reopenCrashLoop(ctx: Ctx): Promise<Result> {
  if (ctx.fixtureDir === undefined) throw new Error('no fixture')
  const spec = fixtureSpec('million', ctx.scale)
  const dir = join(ctx.dir, 'crashed')
  cpSync(ctx.fixtureDir, dir, { recursive: true, filter: (src) => !src.endsWith('.active.hint') && !src.endsWith('LOCK') })
  const contender = levelContender(ctx.contender)
  const key = seqKey(Math.floor(spec.keys * 0.61803))
  timedSection()
  const t0 = performance.now()
  const store = await contender.open(dir, ctx.engineOptions)
  const value = await store.get(key)
  const ms = performance.now() - t0
  const stats = await store.stats?.()
  await store.close()
  if (value === undefined) throw new Error('reopen after a crash: key not found')
  const scanned = (stats as { recovery?: { scannedBytes?: number } } | undefined)?.recovery?.scannedBytes
  return { value: ms, unit: 'ms', higherIsBetter: false, ops: 1, ms, extra: { scannedBytes: scanned, dataBytes: dirBytes(dir).apparent } }
}

function gc(): void {
  const g = (globalThis as { gc?: () => void }).gc
  if (g) {
    g()
    g()
  }
}

function memoryNow(): { heap: number; external: number; rss: number } {
  const m = process.memoryUsage()
  return { heap: m.heapUsed, external: m.external, rss: m.rss }
}

/** Heap (+ external, where typed-array backing stores live) and RSS per key after loading N keys. */
async function memoryLoop(ctx: Ctx, keys: number): Promise<Result> {
  const store = await openEmpty(ctx)
  try {
    gc()
    const m0 = memoryNow()
    timedSection()
    const t0 = performance.now()
    await loadFixture(store, { keys, valueSize: 100 })
    const loadMs = performance.now() - t0
    // Measure the settled store, not a seal still running in the background (it holds its hint's buffers).
    const settle = performance.now()
    if (store.stats) while (((await store.stats()).backgroundTasks ?? 0) > 0 && performance.now() - settle < 60_000) await sleep(20)
    const settleMs = performance.now() - settle
    gc()
    await sleep(100)
    gc()
    const m1 = memoryNow()
    const heapPerKey = (m1.heap - m0.heap) / keys
    const externalPerKey = (m1.external - m0.external) / keys
    const cacheBytes = store.stats ? (await store.stats()).cacheBytes : 0
    return {
      value: heapPerKey + externalPerKey,
      unit: 'bytes/key (heap + external)',
      higherIsBetter: false,
      ops: keys,
      ms: loadMs,
      extra: {
        keys,
        heapPerKey,
        externalPerKey,
        rssPerKey: (m1.rss - m0.rss) / keys,
        beyondKeyBytes: heapPerKey + externalPerKey - 16,
        cacheBytesPerKey: cacheBytes / keys,
        settleMs,
        heapLimitMiB: (await import('node:v8')).getHeapStatistics().heap_size_limit / MiB,
      },
    }
  } finally {
    await store.close()
  }
}

/** One 128-byte append + fdatasync at a time: the floor group commit has to beat. */
async function fsyncFloor(ctx: Ctx): Promise<Result> {
  const fd = openSync(join(ctx.dir, 'floor.bin'), 'w')
  const buf = Buffer.alloc(128, 7)
  const lat: number[] = []
  const start = performance.now()
  let pos = 0
  try {
    while (performance.now() - start < ctx.scale.capMs) {
      const t = performance.now()
      writeSync(fd, buf, 0, buf.length, pos)
      fdatasyncSync(fd)
      lat.push(performance.now() - t)
      pos += buf.length
    }
  } finally {
    closeSync(fd)
  }
  const ms = performance.now() - start
  lat.sort((a, b) => a - b)
  return {
    value: (lat.length / ms) * 1000,
    unit: 'ops/s',
    higherIsBetter: true,
    ops: lat.length,
    ms,
    extra: { medianMs: median(lat), p99Ms: lat[Math.floor(lat.length * 0.99)] },
  }
}

/**
 * The least a put acknowledged "handed to the OS" costs: one write system call
 * of a record-sized buffer, each awaited like a put (a resolved promise), no
 * fsync. Nothing that makes that system call per acknowledged write can go
 * faster than this, whatever its own code costs.
 */
async function writeFloor(ctx: Ctx): Promise<Result> {
  const fd = openSync(join(ctx.dir, 'floor.bin'), 'w')
  const buf = Buffer.alloc(145, 7)
  const start = performance.now()
  const cpu = process.cpuUsage()
  let pos = 0
  let ops = 0
  try {
    while (performance.now() - start < ctx.scale.capMs) {
      for (let i = 0; i < 64; i++) {
        writeSync(fd, buf, 0, buf.length, pos)
        await Promise.resolve()
        pos += buf.length
      }
      ops += 64
    }
  } finally {
    closeSync(fd)
  }
  const ms = performance.now() - start
  const used = process.cpuUsage(cpu)
  const meanUs = (ms * 1000) / ops
  return {
    value: (ops / ms) * 1000,
    unit: 'ops/s',
    higherIsBetter: true,
    ops,
    ms,
    extra: { meanUs, cpuUsPerOp: (used.user + used.system) / ops },
  }
}

export const maintenanceWorkloads: Workload[] = [
  {
    id: 'overwrite',
    title: 'overwrite 10k keys × 20, batches of 1000 (then full compaction)',
    layer: 'level',
    unit: 'ops/s',
    higherIsBetter: true,
    mode: 'default',
    contenders: LEVEL_ALL,
    run: overwriteLoop,
  },
  {
    id: 'compaction_puts',
    title: 'puts (1 in flight) while a full compaction runs, % of puts without it',
    layer: 'level',
    unit: '%',
    higherIsBetter: true,
    mode: 'default',
    contenders: ['classic-level', 'caskdb'],
    run: compactionPutsLoop,
  },
  {
    id: 'reopen',
    title: 'reopen a 1M-key database → first get',
    layer: 'level',
    unit: 'ms',
    higherIsBetter: false,
    mode: 'n/a',
    contenders: LEVEL_PERSISTENT,
    fixture: 'million',
    run: reopenLoop,
  },
  {
    id: 'reopen_crash',
    title: 'reopen after a crash (no close-time hint: the active segment is scanned) → first get',
    layer: 'level',
    unit: 'ms',
    higherIsBetter: false,
    mode: 'n/a',
    contenders: ['caskdb', 'caskdb-level'],
    fixture: 'million',
    run: reopenCrashLoop,
  },
  {
    id: 'memory',
    title: 'memory per key at 1M keys (heap + external)',
    layer: 'level',
    unit: 'B/key',
    higherIsBetter: false,
    mode: 'n/a',
    contenders: LEVEL_ALL,
    once: true,
    run: (ctx) => memoryLoop(ctx, ctx.scale.memoryKeys),
  },
  {
    id: 'memory_index',
    title: 'index memory per key at 1M keys (caskdb with cacheSize: 0)',
    layer: 'level',
    unit: 'B/key',
    higherIsBetter: false,
    mode: 'n/a',
    contenders: ['caskdb'],
    once: true,
    run: (ctx) => memoryLoop({ ...ctx, engineOptions: { ...ctx.engineOptions, cacheSize: 0 } }, ctx.scale.memoryKeys),
  },
  {
    id: 'memory10m',
    title: 'index memory per key at 10M keys (caskdb with cacheSize: 0)',
    layer: 'level',
    unit: 'B/key',
    higherIsBetter: false,
    mode: 'n/a',
    contenders: ['caskdb'],
    once: true,
    big: true,
    run: (ctx) => memoryLoop({ ...ctx, engineOptions: { ...ctx.engineOptions, cacheSize: 0 } }, ctx.scale.memoryKeys * 10),
  },
  {
    id: 'fsync_floor',
    title: 'machine: one 128-byte append + fdatasync at a time',
    layer: 'machine',
    unit: 'ops/s',
    higherIsBetter: true,
    mode: 'sync',
    contenders: ['machine'],
    quick: true,
    run: fsyncFloor,
  },
  {
    id: 'write_floor',
    title: 'machine: one 145-byte append (write system call, no fsync) at a time, each awaited',
    layer: 'machine',
    unit: 'ops/s',
    higherIsBetter: true,
    mode: 'default',
    contenders: ['machine'],
    quick: true,
    run: writeFloor,
  },
]
