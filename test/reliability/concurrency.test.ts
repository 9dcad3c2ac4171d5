/**
 * Concurrency: compaction while writes, iterators, explicit snapshots and a
 * backup run; many writers on the same keys (the last issued write wins:
 * writes are applied in the order they are issued); close() while operations
 * are in flight (each finishes or rejects with a coded error, never hangs).
 * Every await on the engine goes through a liveness guard (settle), so a hang
 * fails the test instead of stalling the run.
 */
import test from 'tape'
import { join } from 'node:path'
import { CaskDB, type CaskOptions, type Snapshot } from '../../src/index.js'
import { tempDir, tempPath } from '../helpers/tmp.js'
import { coded, describeError, dump, noUnhandledRejections, prng, settle, sortedEntries } from './support.js'

const tick = () => new Promise<void>((r) => setImmediate(r))

async function must<T>(p: Promise<T>, what: string): Promise<T> {
  const r = await settle(p, what)
  if (!r.ok) throw new Error(`${what} failed: ${describeError(r.error)}`)
  return r.value
}

test('compaction runs concurrently with writes, an open iterator, explicit snapshots and a backup; each sees exactly its own view', async (t) => {
  const location = tempPath()
  const db = await CaskDB.open(location, { maxSegmentSize: 4096, autoCompact: false, cacheSize: 0 })
  const random = prng(99)
  const model = new Map<string, string>()
  for (let round = 0; round < 6; round++) {
    for (let i = 0; i < 50; i++) {
      const v = `r${round}-${i}-`.repeat(8 + ((i + round) % 5))
      await db.put(`key${String(i).padStart(2, '0')}`, v)
      model.set(`key${String(i).padStart(2, '0')}`, v)
    }
  }
  t.ok(db.stats().segments > 5, `${db.stats().segments} segments, mostly dead`)

  const early = { snap: db.snapshot(), want: sortedEntries(model) }
  const iterator = db.iterator()
  const iteratorWant = sortedEntries(model)
  // Every state the database passes through, in order; the backup must equal one of them.
  const history: string[] = [sortedEntries(model).join('|')]
  let mid: { snap: Snapshot; want: string[] } | undefined

  const writer = (async () => {
    for (let n = 0; n < 300; n++) {
      const key = `key${String(Math.floor(random() * 60)).padStart(2, '0')}`
      const r = random()
      if (r < 0.6) {
        const v = `w${n}-`.repeat(1 + (n % 7))
        await must(db.put(key, v, { sync: n % 10 === 0 }), `put ${key}`)
        model.set(key, v)
      } else if (r < 0.8) {
        await must(db.del(key), `del ${key}`)
        model.delete(key)
      } else {
        const other = `key${String(Math.floor(random() * 60)).padStart(2, '0')}`
        const v = `b${n}`
        await must(db.batch([{ type: 'put', key, value: v }, { type: 'del', key: other }]), 'batch')
        model.set(key, v)
        if (other !== key) model.delete(other)
        else model.delete(other)
      }
      history.push(sortedEntries(model).join('|'))
      if (n === 120) mid = { snap: db.snapshot(), want: sortedEntries(model) }
      if (n % 5 === 0) await tick()
    }
  })()
  const compactor = (async () => {
    let steps = 0
    for (let i = 0; i < 4; i++) {
      steps += (await must(db.compact(), 'compact')).steps
      await tick()
    }
    return steps
  })()
  const iterated = (async () => {
    const seen: string[] = []
    for (;;) {
      const entry = await must(iterator.next(), 'iterator.next')
      if (entry === undefined) break
      seen.push(`${entry[0]}=${entry[1]}`)
      if (seen.length % 3 === 0) await tick()
    }
    iterator.close()
    return seen
  })()
  const backupDir = join(tempDir(), 'backup')
  const backedUp = (async () => {
    for (let i = 0; i < 10; i++) await tick()
    const from = history.length - 1
    await must(db.backup(backupDir), 'backup')
    return { from, to: history.length - 1 }
  })()
  const snapshotReads = (async () => {
    let reads = 0
    for (let i = 0; i < 40; i++) {
      for (const entry of early.want.slice(0, 10)) {
        const [key, value] = entry.split('=') as [string, string]
        const got = (await must(db.get(key, { snapshot: early.snap }), 'get from snapshot'))?.toString()
        if (got !== value) throw new Error(`snapshot read of ${key}: ${got} ≠ ${value}`)
        reads++
      }
      await tick()
    }
    return reads
  })()

  const [, steps, seen, window, reads] = await must(Promise.all([writer, compactor, iterated, backedUp, snapshotReads]), 'concurrent work')
  t.ok(steps > 0, `compaction ran ${steps} steps meanwhile`)
  t.same(seen, iteratorWant, 'the iterator saw the database as of its creation, through every compaction')
  t.ok(reads > 0, `${reads} snapshot reads during compaction returned the snapshot's values`)
  t.same(await dump(db, { snapshot: early.snap }), early.want, 'the early snapshot is unchanged after compaction and 300 writes')
  t.ok(mid !== undefined, 'a snapshot was taken midway')
  t.same(await dump(db, { snapshot: mid!.snap }), mid!.want, 'the snapshot taken during compaction is exact too')
  early.snap.close()
  mid!.snap.close()
  t.same(await dump(db), sortedEntries(model), 'the live database matches the model')

  const copy = await CaskDB.open(backupDir)
  const backupState = (await dump(copy)).join('|')
  await copy.close()
  const match = history.findIndex((state, i) => i >= window.from && i <= window.to && state === backupState)
  t.ok(match >= 0, `the backup equals the database at one instant between its start and end (states ${window.from}..${window.to})`)

  await db.close()
  const reopened = await CaskDB.open(location)
  t.same(await dump(reopened), sortedEntries(model), 'after reopen')
  await reopened.close()
})

const modes: [string, CaskOptions][] = [
  ['default', {}],
  ['sync: true', { sync: true }],
  ['write buffer', { writeBuffer: true, writeBufferSize: 4096, flushInterval: 2 ** 31 - 1 }],
]

for (const [name, options] of modes) {
  test(`many concurrent writers on the same keys (${name}): the last issued write wins, live and after reopen`, async (t) => {
    const location = tempPath()
    const db = await CaskDB.open(location, { ...options, maxSegmentSize: 8192, compactionMinDeadBytes: 2048 })
    const random = prng(name.length)
    const last = new Map<string, string | undefined>()
    const hot = (i: number) => `hot${i % 6}`
    const pending: Promise<unknown>[] = []
    const issue = (n: number) => {
      const r = random()
      const key = hot(Math.floor(random() * 6))
      if (r < 0.55) {
        const v = `v${n}-`.repeat(1 + (n % 9))
        last.set(key, v)
        return db.put(key, v, { sync: n % 7 === 0 })
      }
      if (r < 0.75) {
        last.set(key, undefined)
        return db.del(key)
      }
      if (r < 0.9) {
        // Same value again: may be skipped as unchanged, which must not reorder anything.
        const v = last.get(key) ?? 'again'
        last.set(key, v)
        return db.put(key, v)
      }
      const other = hot(Math.floor(random() * 6))
      const v = `batch${n}`
      const ops = [
        { type: 'put' as const, key, value: v },
        { type: 'del' as const, key: other },
        { type: 'put' as const, key: other, value: `${v}-other` },
      ]
      last.set(key, v)
      last.set(other, `${v}-other`)
      if (other === key) last.set(key, `${v}-other`)
      return db.batch(ops)
    }
    // Eight workers, each awaiting its own writes, so groups of every size interleave.
    let n = 0
    const workers = Array.from({ length: 8 }, async () => {
      for (let i = 0; i < 150; i++) {
        const p = issue(n++)
        pending.push(p)
        if (random() < 0.5) await p
        if (random() < 0.1) await tick()
      }
    })
    await must(Promise.all(workers), 'workers')
    await must(Promise.all(pending), 'all writes')
    const live = await Promise.all([...last.keys()].map(async (k) => [k, (await db.get(k))?.toString()] as const))
    t.same(live, [...last.entries()], `${n} writes: every key holds its last issued value`)
    await db.close()
    const reopened = await CaskDB.open(location)
    const after = await Promise.all([...last.keys()].map(async (k) => [k, (await reopened.get(k))?.toString()] as const))
    t.same(after, [...last.entries()], 'and after reopen')
    await reopened.close()
  })
}

type Outcome = 'resolved' | string

const closeCases: { when: string; writeBuffer: boolean; maintenance: boolean }[] = []
for (const when of ['in the same turn', 'after a microtask', 'after a macrotask', 'after some writes landed']) {
  for (const writeBuffer of [false, true]) closeCases.push({ when, writeBuffer, maintenance: true })
  // Without compaction or verify to wait for, close() is quick and races the backup and the iterator.
  closeCases.push({ when, writeBuffer: false, maintenance: false })
}

for (const { when, writeBuffer, maintenance } of closeCases) {
  {
    const what = maintenance ? 'puts, batches, reads, iterators, compact, backup, verify, flush and clear' : 'puts, reads, an iterator and a backup'
    test(`close() ${when} while ${what} are in flight${writeBuffer ? ' (write buffer)' : ''}: each finishes or rejects with a coded error`, async (t) => {
      const location = tempPath()
      const options: CaskOptions = { maxSegmentSize: 4096, compactionMinDeadBytes: 512, autoCompact: maintenance, writeBuffer, flushInterval: 2 ** 31 - 1 }
      const { value: outcomes, unhandled } = await noUnhandledRejections(async () => {
        const db = await CaskDB.open(location, options)
        // ~100 segments, most of them dead: compaction and backup take many turns of the event loop.
        for (let i = 0; i < 2000; i++) await db.put(`pre${i % 40}`, `round${Math.floor(i / 40)}-`.repeat(20))
        await db.verify() // queued behind the background sealing of the prefill: close() has nothing left to wait for
        const snap = db.snapshot()
        const ops: { name: string; key?: string; value?: string; promise: Promise<unknown> }[] = []
        const start = (name: string, f: () => Promise<unknown>, key?: string, value?: string) => {
          let promise: Promise<unknown>
          try {
            promise = f()
          } catch (err) {
            promise = Promise.reject(err)
          }
          promise.catch(() => undefined) // observed below, maybe later than Node's unhandled-rejection check
          ops.push({ name, promise, ...(key !== undefined ? { key, value } : {}) })
        }
        for (let i = 0; i < 30; i++) start(`put ${i}`, () => db.put(`new${i}`, `value${i}`, { sync: i % 3 === 0 }), `new${i}`, `value${i}`)
        start('batch', () => db.batch([{ type: 'put', key: 'batch-a', value: '1' }, { type: 'put', key: 'batch-b', value: '1' }]), 'batch-a', '1')
        start('get', () => db.get('pre1'))
        start('getMany', () => db.getMany(['pre1', 'pre2']))
        start('snapshot get', () => db.get('pre3', { snapshot: snap }))
        start('iterator', async () => {
          const it = db.iterator()
          let count = 0
          while ((await it.next()) !== undefined) {
            count++
            await tick()
          }
          return count
        })
        start('backup', () => db.backup(join(tempDir(), 'backup')))
        if (maintenance) {
          start('compact', () => db.compact())
          start('verify', () => db.verify())
          start('flush', () => db.flush({ sync: true }))
          start('clear', () => db.clear({ gte: 'pre30', lt: 'pre35' }))
          start('purgeExpired', () => db.purgeExpired())
        }
        if (when === 'after a microtask') await Promise.resolve()
        if (when === 'after a macrotask') await tick()
        if (when === 'after some writes landed') await Promise.race(ops.slice(0, 5).map((o) => o.promise.catch(() => undefined)))
        const closing = settle(db.close(), 'close')
        for (let i = 0; i < 5; i++) start(`put after close ${i}`, () => db.put(`late${i}`, 'x'), `late${i}`, 'x')
        const results: { name: string; key?: string; value?: string; outcome: Outcome }[] = []
        for (const op of ops) {
          const r = await settle(op.promise, op.name)
          const entry: { name: string; key?: string; value?: string; outcome: Outcome } = { name: op.name, outcome: 'resolved' }
          if (op.key !== undefined) {
            entry.key = op.key
            entry.value = op.value!
          }
          if (!r.ok) entry.outcome = coded(r.error, ['CLOSED', 'NOT_OPEN']) ? `coded ${r.error.code}` : `UNCODED ${describeError(r.error)}`
          results.push(entry)
        }
        const closed = await closing
        if (!closed.ok) results.push({ name: 'close', outcome: `UNCODED close rejected: ${describeError(closed.error)}` })
        return results
      })
      t.comment(outcomes.filter((o) => !o.name.startsWith('put ')).map((o) => `${o.name}: ${o.outcome}`).join(', '))
      const bad = outcomes.filter((o) => o.outcome.startsWith('UNCODED')).map((o) => `${o.name}: ${o.outcome}`)
      t.same(bad, [], `${outcomes.filter((o) => o.outcome === 'resolved').length} resolved, the rest rejected with CLOSED / NOT_OPEN`)
      t.same(unhandled.map(describeError), [], 'no unhandled rejections')
      const late = outcomes.filter((o) => o.name.startsWith('put after close'))
      t.ok(late.every((o) => o.outcome !== 'resolved'), 'writes issued after close() are refused')
      const db = await CaskDB.open(location)
      const lost: string[] = []
      for (const o of outcomes) {
        if (o.key === undefined || o.outcome !== 'resolved') continue
        const got = (await db.get(o.key))?.toString()
        if (got !== o.value) lost.push(`${o.name}: ${o.key} = ${got}`)
      }
      t.same(lost, [], 'every write that resolved before close() finished is on disk')
      t.same(await db.verify(), [], 'no damage')
      await db.close()
    })
  }
}
