/**
 * Random operations against an in-memory model: put, del, batch, get,
 * iterate, snapshot, compact, close/reopen. Seeded; CASKDB_MODEL_SEED
 * reproduces a failure, CASKDB_MODEL_OPS makes runs longer.
 */
import test from 'tape'
import { CaskDB, type Snapshot } from '../../src/index.js'
import { tempPath } from '../helpers/tmp.js'

function mulberry32(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const seeds = process.env['CASKDB_MODEL_SEED'] ? [Number(process.env['CASKDB_MODEL_SEED'])] : [1, 2, 3, 4]
const opsPerRun = Number(process.env['CASKDB_MODEL_OPS'] ?? 1500)

for (const seed of seeds) {
  test(`model test, seed ${seed}`, async (t) => {
    const random = mulberry32(seed)
    const pick = (n: number) => Math.floor(random() * n)
    const keyOf = () => `key-${pick(60)}`
    const valueOf = () => 'v'.repeat(pick(40)) + pick(1e6)
    const location = tempPath()
    const options = { maxSegmentSize: 4096, compactionMinDeadBytes: 512, writeBuffer: seed % 2 === 0, flushInterval: 1 }
    let db = await CaskDB.open(location, options)
    const model = new Map<string, string>()
    const snapshots: { snap: Snapshot; copy: Map<string, string> }[] = []
    const sortedModel = (m: Map<string, string>) => [...m.entries()].sort(([a], [b]) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
    const log: string[] = []
    let failed = false
    const fail = (msg: string) => {
      if (!failed) t.fail(`seed ${seed}: ${msg}\nlast ops: ${log.slice(-15).join('; ')}`)
      failed = true
    }
    for (let i = 0; i < opsPerRun && !failed; i++) {
      const r = random()
      if (r < 0.35) {
        const k = keyOf()
        const v = valueOf()
        log.push(`put ${k}`)
        await db.put(k, v)
        model.set(k, v)
      } else if (r < 0.45) {
        const k = keyOf()
        log.push(`del ${k}`)
        await db.del(k)
        model.delete(k)
      } else if (r < 0.55) {
        const ops = Array.from({ length: 1 + pick(6) }, () =>
          random() < 0.7 ? { type: 'put' as const, key: keyOf(), value: valueOf() } : { type: 'del' as const, key: keyOf() },
        )
        log.push(`batch ${ops.length}`)
        await db.batch(ops)
        for (const o of ops) o.type === 'put' ? model.set(o.key, o.value) : model.delete(o.key)
      } else if (r < 0.75) {
        const k = keyOf()
        const got = (await db.get(k))?.toString()
        if (got !== model.get(k)) fail(`get ${k}: ${got} ≠ ${model.get(k)}`)
      } else if (r < 0.8) {
        const gte = keyOf()
        const reverse = random() < 0.5
        const got = (await db.iterator({ gte, reverse, limit: 10 }).all()).map(([k, v]) => `${k}=${v}`)
        let want = sortedModel(model).filter(([k]) => Buffer.compare(Buffer.from(k), Buffer.from(gte)) >= 0)
        if (reverse) want = want.reverse()
        const wantStr = want.slice(0, 10).map(([k, v]) => `${k}=${v}`)
        if (JSON.stringify(got) !== JSON.stringify(wantStr)) fail(`iterator gte ${gte} reverse ${reverse}`)
      } else if (r < 0.84) {
        log.push('snapshot')
        if (snapshots.length < 3) snapshots.push({ snap: db.snapshot(), copy: new Map(model) })
      } else if (r < 0.88 && snapshots.length > 0) {
        const { snap, copy } = snapshots.shift()!
        const got = (await db.iterator({ snapshot: snap }).all()).map(([k, v]) => `${k}=${v}`).join()
        const want = sortedModel(copy).map(([k, v]) => `${k}=${v}`).join()
        if (got !== want) fail('snapshot view changed')
        snap.close()
      } else if (r < 0.92) {
        log.push('compact')
        await db.compact()
      } else if (r < 0.95) {
        log.push('reopen')
        for (const s of snapshots) s.snap.close()
        snapshots.length = 0
        await db.close()
        db = await CaskDB.open(location, options)
      } else {
        const got = (await db.iterator().all()).map(([k, v]) => `${k}=${v}`).join()
        const want = sortedModel(model).map(([k, v]) => `${k}=${v}`).join()
        if (got !== want) fail('full scan differs')
      }
    }
    for (const s of snapshots) s.snap.close()
    await db.close()
    db = await CaskDB.open(location, options)
    const got = (await db.iterator().all()).map(([k, v]) => `${k}=${v}`).join()
    if (got !== sortedModel(model).map(([k, v]) => `${k}=${v}`).join()) fail('final state after reopen differs')
    t.equal(db.stats().keys, model.size, 'key count matches')
    await db.close()
    if (!failed) t.pass(`${opsPerRun} random operations agree with the model`)
  })
}
