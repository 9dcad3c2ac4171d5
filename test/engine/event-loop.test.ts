/**
 * A writer that never waits for I/O must not starve the event loop: puts are
 * acknowledged in a microtask, so without the pacing in src/log/ack-pacer.ts a
 * bare `for (...) await db.put()` loop would keep timers, I/O callbacks and
 * background work (sealing, compaction, syncInterval) from running at all.
 */
import test from 'tape'
import { performance } from 'node:perf_hooks'
import { CaskDB } from '../../src/index.js'
import { AckPacer } from '../../src/log/ack-pacer.js'
import { tempPath } from '../helpers/tmp.js'

test('a tight put loop lets setImmediate and timer callbacks run', async (t) => {
  const db = await CaskDB.open(tempPath(), { autoCompact: false })
  const n = 20_000
  let i = 0
  let immediateAt = -1
  let timerAt = -1
  setImmediate(() => (immediateAt = i))
  setTimeout(() => (timerAt = i), 0)
  const t0 = performance.now()
  for (; i < n; i++) await db.put(`k${i}`, 'v')
  const ms = performance.now() - t0
  t.ok(immediateAt >= 0 && immediateAt < n, `setImmediate ran after ${immediateAt} of ${n} puts`)
  t.ok(timerAt >= 0 && timerAt < n, `setTimeout(0) ran after ${timerAt} of ${n} puts (loop took ${ms.toFixed(0)} ms)`)
  t.equal(db.stats().keys, n)
  await db.close()
})

test('a tight put loop lets background compaction make progress', async (t) => {
  const db = await CaskDB.open(tempPath(), { maxSegmentSize: 8192, compactionMinDeadBytes: 1024 })
  let compactions = 0
  db.on('compaction', () => compactions++)
  const deadline = performance.now() + 5000
  let i = 0
  // Overwrites of 50 keys: segments fill with dead records and qualify for compaction at once.
  while (compactions === 0 && performance.now() < deadline) {
    await db.put(`k${i % 50}`, `value ${i}`.padEnd(60, '.'))
    i++
  }
  t.ok(compactions > 0, `a compaction finished while the loop ran (after ${i} puts)`)
  t.equal(db.stats().keys, 50)
  await db.close()
})

test('paced acknowledgements keep their order and all arrive', async (t) => {
  const db = await CaskDB.open(tempPath(), { autoCompact: false })
  const order: number[] = []
  const puts: Promise<void>[] = []
  // Enough synchronous work per turn that the pacer holds some acknowledgements back.
  for (let round = 0; round < 200; round++) {
    for (let j = 0; j < 64; j++) {
      const id = round * 64 + j
      puts.push(db.put(`k${id}`, 'x'.repeat(100)).then(() => void order.push(id)))
    }
    await Promise.resolve()
  }
  await Promise.all(puts)
  t.equal(order.length, puts.length, 'every put resolved')
  t.ok(order.every((id, i) => i === 0 || order[i - 1]! < id), 'in the order they were issued')
  await db.close()
})

test('AckPacer: delivers at once within a turn, defers after the turn budget, in order', async (t) => {
  const pacer = new AckPacer(0)
  const got: number[] = []
  const ack = (id: number) => ({ resolve: () => void got.push(id) })
  pacer.deliver([ack(1), ack(2)])
  t.same(got, [1, 2], 'first acknowledgements of a turn are immediate')
  pacer.deliver([ack(3)])
  pacer.deliver([ack(4)])
  t.same(got, [1, 2], 'past the budget, later ones wait for the event loop')
  t.equal(pacer.deferrals, 1)
  await new Promise<void>((r) => setImmediate(r))
  t.same(got, [1, 2, 3, 4], 'delivered in order once the loop turned')
  pacer.deliver([ack(5)])
  t.same(got, [1, 2, 3, 4, 5], 'a new turn starts undeferred')
})
