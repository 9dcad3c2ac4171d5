/** Puts (1 and 64 in flight, 100 B and 4 KiB values, default and sync: true) and batches. */
import { seqKey, seqKeys, shuffledKeys, valuePool } from '../lib/data.js'
import { concurrent, cpuPerOp, serial } from '../lib/measure.js'
import type { PutOp } from '../contenders/level.js'
import { LEVEL_ALL, LEVEL_PERSISTENT, WARMUP_MS, openEmpty } from './common.js'
import type { Ctx, Result, Workload } from './types.js'

interface PutShape {
  depth: number
  valueSize: number
  randomKeys: boolean
  durable: boolean
}

/** Warm-up keys sort after every measured key, so they never collide. */
const WARM_BASE = 900_000_000_000_000

async function putLoop(ctx: Ctx, shape: PutShape): Promise<Result> {
  const store = await openEmpty(ctx)
  try {
    const big = shape.valueSize > 1000
    const n = big ? Math.floor(ctx.scale.putOps / 4) : ctx.scale.putOps
    const keys = shape.randomKeys ? shuffledKeys(n, 11 + ctx.round) : seqKeys(n)
    const pool = valuePool(shape.valueSize, big ? 64 : 1024, 1)
    const mask = pool.length - 1
    const put = shape.durable ? store.putDurable : store.put
    const warmKeys = seqKeys(2000, WARM_BASE)
    await serial(warmKeys.length, WARMUP_MS, (i) => put(warmKeys[i]!, pool[i & mask]!))
    const op = (i: number): Promise<unknown> => put(keys[i]!, pool[i & mask]!)
    const t = shape.depth === 1 ? await serial(n, ctx.scale.capMs, op) : await concurrent(n, shape.depth, ctx.scale.capMs, op)
    return { value: t.opsPerSec, unit: 'ops/s', higherIsBetter: true, capped: t.capped, ops: t.ops, ms: t.ms, extra: { cpuUsPerOp: cpuPerOp(t) } }
  } finally {
    await store.close()
  }
}

function putWorkload(id: string, title: string, shape: PutShape, contenders: string[], quick = false): Workload {
  return {
    id,
    title,
    layer: 'level',
    unit: 'ops/s',
    higherIsBetter: true,
    mode: shape.durable ? 'sync' : 'default',
    contenders,
    quick,
    run: (ctx) => putLoop(ctx, shape),
  }
}

async function batchLoop(ctx: Ctx): Promise<Result> {
  const store = await openEmpty(ctx)
  try {
    const size = 1000
    const batches = Math.floor(ctx.scale.putOps / size)
    const keys = shuffledKeys(batches * size, 13 + ctx.round)
    const pool = valuePool(100, 1024, 1)
    const build = (from: number, keyOf: (i: number) => string): PutOp[] => {
      const ops: PutOp[] = []
      for (let i = from; i < from + size; i++) ops.push({ type: 'put', key: keyOf(i), value: pool[i & 1023]! })
      return ops
    }
    const plan: PutOp[][] = []
    for (let b = 0; b < batches; b++) plan.push(build(b * size, (i) => keys[i]!))
    const warm: PutOp[][] = []
    for (let b = 0; b < 5; b++) warm.push(build(b * size, (i) => seqKey(WARM_BASE + i)))
    await serial(warm.length, WARMUP_MS, (i) => store.batch(warm[i]!))
    const t = await serial(plan.length, ctx.scale.capMs, (i) => store.batch(plan[i]!))
    return {
      value: t.opsPerSec * size,
      unit: 'entries/s',
      higherIsBetter: true,
      capped: t.capped,
      ops: t.ops * size,
      ms: t.ms,
      extra: { cpuUsPerOp: cpuPerOp(t, size) },
    }
  } finally {
    await store.close()
  }
}

export const writeWorkloads: Workload[] = [
  putWorkload('put1', 'put, sequential keys, 1 in flight', { depth: 1, valueSize: 100, randomKeys: false, durable: false }, LEVEL_ALL, true),
  putWorkload('put64', 'put, random keys, 64 in flight', { depth: 64, valueSize: 100, randomKeys: true, durable: false }, LEVEL_ALL, true),
  {
    id: 'batch1000',
    title: 'batch of 1000 puts (random keys)',
    layer: 'level',
    unit: 'entries/s',
    higherIsBetter: true,
    mode: 'default',
    contenders: LEVEL_ALL,
    quick: true,
    run: batchLoop,
  },
  putWorkload('put1_4k', 'put, 4 KiB values, 1 in flight', { depth: 1, valueSize: 4096, randomKeys: false, durable: false }, LEVEL_ALL),
  putWorkload('sync_put1', 'put with sync: true, 1 in flight', { depth: 1, valueSize: 100, randomKeys: true, durable: true }, LEVEL_PERSISTENT),
  putWorkload('sync_put64', 'put with sync: true, 64 in flight', { depth: 64, valueSize: 100, randomKeys: true, durable: true }, LEVEL_PERSISTENT, true),
]
