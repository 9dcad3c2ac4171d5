import test from 'tape'
import { CaskDB } from '../../src/index.js'
import { ManualClock } from '../helpers/clock.js'
import { FaultyFs } from '../helpers/faulty-fs.js'
import { tempPath } from '../helpers/tmp.js'
import { MAX_HEADER_SIZE } from '../../src/format/record.js'

test('group commit: concurrent writes share one write call and one fsync', async (t) => {
  const db = await CaskDB.open(tempPath())
  const before = db.stats()
  await Promise.all(Array.from({ length: 100 }, (_, i) => db.put(`k${i}`, 'v', { sync: true })))
  const after = db.stats()
  t.equal(after.writeCalls - before.writeCalls, 1, 'one write for 100 puts issued in the same turn')
  t.equal(after.fsyncs - before.fsyncs, 1, 'one fdatasync for all of them')
  await db.close()
})

test('sync: true waits for fdatasync; default does not fsync', async (t) => {
  const faulty = new FaultyFs()
  const db = await CaskDB.open(tempPath(), { fs: faulty.fs })
  const fsyncs = faulty.counts.fsync
  await db.put('a', '1')
  t.equal(faulty.counts.fsync, fsyncs, 'default mode: no fsync per write')
  await db.put('b', '2', { sync: true })
  t.equal(faulty.counts.fsync, fsyncs + 1, 'sync write: one fsync before it resolved')
  await db.close()
  const syncDb = await CaskDB.open(tempPath(), { fs: faulty.fs, sync: true })
  const n = faulty.counts.fsync
  await syncDb.put('c', '3')
  t.equal(faulty.counts.fsync, n + 1, 'database-wide sync option')
  await syncDb.close()
})

test('syncInterval fsyncs in the background', async (t) => {
  const clock = new ManualClock()
  const faulty = new FaultyFs()
  const db = await CaskDB.open(tempPath(), { fs: faulty.fs, clock, syncInterval: 50 })
  await db.put('a', '1')
  const n = faulty.counts.fsync
  clock.advance(50)
  await new Promise((r) => setImmediate(r))
  t.equal(faulty.counts.fsync, n + 1, 'one fsync after the interval')
  clock.advance(50)
  await new Promise((r) => setImmediate(r))
  t.equal(faulty.counts.fsync, n + 1, 'nothing new written, no fsync')
  await db.close()
  t.equal(clock.activeTimers, 0, 'close stops the timer')
})

test('write buffer: acknowledged from RAM, read back, coalesced, flushed by size, time and close', async (t) => {
  const clock = new ManualClock()
  const location = tempPath()
  const db = await CaskDB.open(location, { clock, writeBuffer: true, writeBufferSize: 64 * 1024, flushInterval: 100 })
  for (let i = 0; i < 100; i++) await db.put('hot', `v${i}`)
  await db.put('gone', 'x')
  await db.del('gone')
  t.equal((await db.get('hot'))?.toString(), 'v99', 'reads see buffered writes')
  t.equal(await db.get('gone'), undefined)
  t.equal(db.stats().bytesWritten, 0, 'nothing on disk yet')
  const snap = db.snapshot()
  await db.put('hot', 'after snapshot')
  clock.advance(100)
  await db.flush()
  const written = db.stats().bytesWritten
  t.ok(written > 0 && written < 2 * (MAX_HEADER_SIZE + 3 + 14) + 2 * MAX_HEADER_SIZE + 8 + 4, `only final values reached the disk (${written} bytes)`)
  t.equal((await db.get('hot', { snapshot: snap }))?.toString(), 'v99', 'a snapshot keeps its buffered value after the flush')
  snap.close()
  await db.put('late', 'in buffer at close')
  await db.close()
  const reopened = await CaskDB.open(location)
  t.equal((await reopened.get('hot'))?.toString(), 'after snapshot')
  t.equal((await reopened.get('late'))?.toString(), 'in buffer at close', 'close flushes')
  t.equal(await reopened.get('gone'), undefined)
  await reopened.close()
})

test('write buffer flushes when it reaches writeBufferSize', async (t) => {
  const db = await CaskDB.open(tempPath(), { writeBuffer: true, writeBufferSize: 1024, flushInterval: 1_000_000 })
  for (let i = 0; i < 40; i++) await db.put(`k${i}`, 'x'.repeat(20))
  t.ok(db.stats().bytesWritten > 0, 'flushed without waiting for the interval')
  t.ok(db.stats().bufferedBytes < 1024)
  await db.close()
})

test('a failed write rejects, loses nothing acknowledged before, and the database keeps serving', async (t) => {
  const faulty = new FaultyFs()
  const location = tempPath()
  const db = await CaskDB.open(location, { fs: faulty.fs })
  await db.put('before', 'safe')
  faulty.fault = { kind: 'write', nth: faulty.counts.write + 1, code: 'ENOSPC', tornBytes: 10 }
  const err = await db.put('failing', 'x'.repeat(100)).catch((e) => e)
  t.equal(err.code, 'IO_ERROR', 'coded error')
  t.equal(err.cause.code, 'ENOSPC', 'cause kept')
  t.equal(await db.get('failing'), undefined, 'the failed write is not visible')
  await db.put('after', 'works')
  t.equal((await db.get('after'))?.toString(), 'works', 'later writes succeed once the disk has room')
  await db.close()
  const reopened = await CaskDB.open(location)
  t.same((await reopened.iterator().all()).map(([k]) => k!.toString()), ['after', 'before'], 'torn bytes were cut')
  await reopened.close()
})

test('a failed fsync turns the database read-only with a coded error', async (t) => {
  const faulty = new FaultyFs()
  const location = tempPath()
  const db = await CaskDB.open(location, { fs: faulty.fs })
  await db.put('before', 'safe', { sync: true })
  faulty.fault = { kind: 'fsync', nth: faulty.counts.fsync + 1, code: 'EIO' }
  const err = await db.put('k', 'v', { sync: true }).catch((e) => e)
  t.equal(err.code, 'IO_ERROR')
  const next = await db.put('k2', 'v').catch((e) => e)
  t.equal(next.code, 'READ_ONLY', 'refuses writes until reopened')
  t.equal((await db.get('before'))?.toString(), 'safe', 'reads still work')
  faulty.fault = undefined
  await db.close()
  const reopened = await CaskDB.open(location)
  t.equal((await reopened.get('before'))?.toString(), 'safe')
  await reopened.put('k3', 'v')
  await reopened.close()
})

test('a failed fsync while sealing a segment turns the database read-only too, and loses nothing acknowledged', async (t) => {
  const faulty = new FaultyFs()
  const location = tempPath()
  const db = await CaskDB.open(location, { fs: faulty.fs, maxSegmentSize: 4096, autoCompact: false })
  const errors: { code?: string }[] = []
  db.on('error', (err: { code?: string }) => errors.push(err))
  // No sync writes: the first fdatasync is the seal of the first full segment.
  faulty.fault = { kind: 'fsync', nth: faulty.counts.fsync + 1, code: 'EIO' }
  let i = 0
  while (db.stats().segments < 2) await db.put(`key${i++}`, 'v'.repeat(100))
  for (let tries = 0; tries < 100 && errors.length === 0; tries++) await new Promise((r) => setTimeout(r, 5))
  t.same(
    errors.map((e) => e.code),
    ['IO_ERROR'],
    "the seal's failure arrives on 'error'",
  )
  const next = await db.put('after', 'v').catch((e) => e)
  t.equal(next.code, 'READ_ONLY', 'and later writes are refused until reopened (the kernel may have dropped its pages)')
  t.equal((await db.get('key0'))?.toString(), 'v'.repeat(100), 'reads still work')
  faulty.fault = undefined
  await db.close()
  const reopened = await CaskDB.open(location)
  let right = 0
  for (let j = 0; j < i; j++) if ((await reopened.get(`key${j}`))?.toString() === 'v'.repeat(100)) right++
  t.equal(right, i, `all ${i} acknowledged writes are there after reopen`)
  await reopened.put('after', 'works')
  await reopened.close()
})
