/** Keyv 5 set / get through each storage adapter (small JSON values). */
import type { Keyv } from 'keyv'
import { jsonValue, readOrder, seqKey, seqKeys } from '../lib/data.js'
import { concurrent, cpuPerOp, serial } from '../lib/measure.js'
import { keyvContender } from '../contenders/keyv.js'
import type { Ctx, Result, Workload } from './types.js'

export const KEYV_ALL = ['keyv-map', 'keyv-file', 'keyv-sqlite', 'keyv-caskdb']

export async function loadKeyv(keyv: Keyv, id: string, n: number): Promise<void> {
  const keys = seqKeys(n)
  if (id === 'keyv-sqlite') {
    // One transaction: SQLite would otherwise fsync every row (~2.7 ms each).
    const store = keyv.store as { query(sql: string): Promise<unknown> }
    await store.query('BEGIN')
    for (let i = 0; i < n; i++) await keyv.set(keys[i]!, jsonValue(i))
    await store.query('COMMIT')
    return
  }
  // keyv-file resolves every set on its next delayed rewrite: issue many at once.
  const depth = id === 'keyv-file' ? n : 64
  await concurrent(n, depth, 600_000, (i) => keyv.set(keys[i]!, jsonValue(i)))
}

async function openKeyv(ctx: Ctx, dir: string): Promise<Keyv> {
  const keyv = await keyvContender(ctx.contender).open(dir)
  keyv.on('error', (err: unknown) => {
    throw err
  })
  return keyv
}

async function setLoop(ctx: Ctx, depth: number): Promise<Result> {
  const keyv = await openKeyv(ctx, ctx.dir)
  try {
    const n = Math.floor(ctx.scale.putOps / 4)
    const keys = seqKeys(n)
    const values = Array.from({ length: 1024 }, (_, i) => jsonValue(i))
    const warm = seqKeys(500, 900_000_000_000_000)
    await serial(warm.length, 300, (i) => keyv.set(warm[i]!, values[i & 1023]))
    const op = (i: number): Promise<unknown> => keyv.set(keys[i]!, values[i & 1023])
    const t = depth === 1 ? await serial(n, ctx.scale.capMs, op) : await concurrent(n, depth, ctx.scale.capMs, op)
    return { value: t.opsPerSec, unit: 'ops/s', higherIsBetter: true, capped: t.capped, ops: t.ops, ms: t.ms, extra: { cpuUsPerOp: cpuPerOp(t) } }
  } finally {
    await keyv.disconnect()
  }
}

async function getLoop(ctx: Ctx): Promise<Result> {
  const contender = keyvContender(ctx.contender)
  const n = ctx.scale.keyvKeys
  let keyv: Keyv
  if (contender.persistent) {
    if (ctx.fixtureDir === undefined) throw new Error('no keyv fixture')
    keyv = await openKeyv(ctx, ctx.fixtureDir)
  } else {
    keyv = await openKeyv(ctx, ctx.dir)
    await loadKeyv(keyv, ctx.contender, n)
  }
  try {
    const check = (await keyv.get(seqKey(n - 1))) as { id?: number } | undefined
    if (check?.id !== n - 1) throw new Error('Keyv fixture check failed')
    const order = readOrder(n, 500_000, 4000 + ctx.round)
    const keys = Array.from(order, (i) => seqKey(i))
    let misses = 0
    await serial(2000, 300, (i) => keyv.get(keys[keys.length - 1 - i]!))
    const t = await serial(keys.length, ctx.scale.capMs, async (i) => {
      if ((await keyv.get(keys[i]!)) === undefined) misses++
    })
    return { value: t.opsPerSec, unit: 'ops/s', higherIsBetter: true, capped: t.capped, ops: t.ops, ms: t.ms, extra: { misses, cpuUsPerOp: cpuPerOp(t) } }
  } finally {
    await keyv.disconnect()
  }
}

export const keyvWorkloads: Workload[] = [
  {
    id: 'keyv_set1',
    title: 'Keyv set, 1 in flight',
    layer: 'keyv',
    unit: 'ops/s',
    higherIsBetter: true,
    mode: 'default',
    contenders: KEYV_ALL,
    quick: true,
    run: (ctx) => setLoop(ctx, 1),
  },
  {
    id: 'keyv_set64',
    title: 'Keyv set, 64 in flight',
    layer: 'keyv',
    unit: 'ops/s',
    higherIsBetter: true,
    mode: 'default',
    contenders: KEYV_ALL,
    run: (ctx) => setLoop(ctx, 64),
  },
  {
    id: 'keyv_get1',
    title: 'Keyv get random, 1 in flight',
    layer: 'keyv',
    unit: 'ops/s',
    higherIsBetter: true,
    mode: 'n/a',
    contenders: KEYV_ALL,
    fixture: 'keyv',
    quick: true,
    run: getLoop,
  },
]
