/**
 * classic-level's own disk tests, in our words: location checks, the lock
 * (same process, child processes, a killed holder), recursive mkdir,
 * createIfMissing: false creating nothing, reopening one instance,
 * permanence across processes, destroy and repair.
 */
import test from 'tape'
import { appendFileSync, existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { CaskLevel } from '../../adapters/level/index.js'
import { tempDir, tempPath } from '../helpers/tmp.js'
import { exited, forkChild, nextMessage, runChild } from './child.js'

interface LevelErr {
  code?: string
  cause?: { code?: string; message?: string }
}

async function rejection(promise: Promise<unknown>): Promise<LevelErr & Error> {
  try {
    await promise
  } catch (err) {
    return err as LevelErr & Error
  }
  throw new Error('expected a rejection')
}

test('location must be a non-empty string', async (t) => {
  for (const bad of [undefined, null, '', 42, {}, []]) {
    t.throws(() => new CaskLevel(bad as unknown as string), TypeError, `rejects ${JSON.stringify(bad)}`)
  }
  const location = tempPath()
  const db = new CaskLevel(location)
  t.is(db.location, location, 'db.location is the location as given')
  await db.close()
  t.notOk(existsSync(location), 'closing before the deferred open creates nothing')
})

test('a second instance in the same process fails with LEVEL_LOCKED', async (t) => {
  const location = tempPath()
  const db1 = new CaskLevel(location)
  await db1.open()
  await db1.put('a', '1')

  const db2 = new CaskLevel(location)
  const err = await rejection(db2.open())
  t.is(err.code, 'LEVEL_DATABASE_NOT_OPEN')
  t.is(err.cause?.code, 'LEVEL_LOCKED', 'cause is LEVEL_LOCKED')
  t.is(db2.status, 'closed')

  const db3 = new CaskLevel(location)
  const err3 = await rejection(db3.get('a'))
  t.is(err3.code, 'LEVEL_DATABASE_NOT_OPEN', 'a deferred operation fails too (constructor open)')

  await db1.close()
  await db2.open()
  t.is(await db2.get('a'), '1', 'opens once the holder closed')
  await db2.close()
})

test('a child process cannot open a database this process holds; can after close', async (t) => {
  const location = tempPath()
  const db = new CaskLevel(location)
  await db.open()
  await db.put('held', 'parent')

  const locked = await runChild('try', location)
  t.is(locked.state, 'error')
  t.is(locked.code, 'LEVEL_DATABASE_NOT_OPEN')
  t.is(locked.causeCode, 'LEVEL_LOCKED', 'child sees LEVEL_LOCKED')

  await db.close()
  const opened = await runChild('try', location)
  t.is(opened.state, 'open', 'child opens after the parent closed')
  t.is(opened.held, 'parent', 'and reads the data')
})

test('this process cannot open a database a child holds; the lock clears when the holder is killed', async (t) => {
  const location = tempPath()
  const holder = forkChild('hold', location)
  t.is((await nextMessage(holder)).state, 'open', 'child holds the database')

  const db = new CaskLevel(location)
  const err = await rejection(db.open())
  t.is(err.code, 'LEVEL_DATABASE_NOT_OPEN')
  t.is(err.cause?.code, 'LEVEL_LOCKED', 'cause is LEVEL_LOCKED')

  holder.kill('SIGKILL')
  await exited(holder)
  await db.open()
  t.is(await db.get('held'), String(holder.pid), 'opens after SIGKILL and sees what the child wrote')
  await db.close()
})

test('a child that closes cleanly releases the lock', async (t) => {
  const location = tempPath()
  const holder = forkChild('hold', location)
  t.is((await nextMessage(holder)).state, 'open')
  holder.send('close')
  t.is((await nextMessage(holder)).state, 'closed')
  await exited(holder)
  const db = new CaskLevel(location)
  await db.open()
  t.pass('opened')
  await db.close()
})

test('creates the location recursively', async (t) => {
  const location = join(tempDir(), 'a', 'b', 'c')
  const db = new CaskLevel(location)
  await db.put('k', 'v')
  t.ok(existsSync(location), 'created a/b/c')
  t.is(await db.get('k'), 'v')
  await db.close()
})

test('createIfMissing: false creates nothing', async (t) => {
  const parent = tempDir()
  const location = join(parent, 'x', 'y')

  const db = new CaskLevel(location)
  const err = await rejection(db.open({ createIfMissing: false }))
  t.is(err.code, 'LEVEL_DATABASE_NOT_OPEN')
  t.match(err.cause?.message ?? '', /does not exist/, 'cause says "does not exist"')
  t.same(readdirSync(parent), [], 'nothing created')

  const db2 = new CaskLevel(location, { createIfMissing: false })
  const err2 = await rejection(db2.get('k'))
  t.is(err2.code, 'LEVEL_DATABASE_NOT_OPEN', 'also as a constructor option')
  t.same(readdirSync(parent), [], 'still nothing created')
  t.is(db2.status, 'closed')
})

test('errorIfExists: true on an existing database', async (t) => {
  const location = tempPath()
  const db = new CaskLevel(location)
  await db.put('k', 'v')
  await db.close()
  const err = await rejection(db.open({ errorIfExists: true }))
  t.is(err.code, 'LEVEL_DATABASE_NOT_OPEN')
  t.match(err.cause?.message ?? '', /exists/)
  await db.open()
  t.is(await db.get('k'), 'v', 'the data is untouched')
  await db.close()
})

test('reopening the same instance', async (t) => {
  const location = tempPath()
  const db = new CaskLevel<string, { n: number }>(location, { valueEncoding: 'json' })
  for (let round = 0; round < 3; round++) {
    await db.open()
    t.is(db.status, 'open')
    t.same(await db.get('round'), round === 0 ? undefined : { n: round - 1 }, `round ${round} sees the previous round`)
    await db.put('round', { n: round })
    await db.close()
    t.is(db.status, 'closed')
  }
  // Close and open without waiting in between.
  await db.open()
  const closing = db.close()
  const opening = db.open()
  await Promise.all([closing, opening])
  t.is(db.status, 'open')
  t.same(await db.get('round'), { n: 2 })
  await db.close()
})

test('data written by one process is read by another', async (t) => {
  const location = tempPath()
  t.is((await runChild('write', location, '250')).state, 'written')
  const db = new CaskLevel(location)
  const entries = await db.iterator().all()
  t.is(entries.length, 250, 'every key')
  t.same(entries[0], ['key0000', 'value0'])
  t.same(entries[249], ['key0249', 'value249'])
  t.same(await db.keys({ gte: 'key0100', lt: 'key0103' }).all(), ['key0100', 'key0101', 'key0102'])
  await db.close()
})

test('destroy', async (t) => {
  const location = tempPath()
  const db = new CaskLevel(location)
  await db.put('k', 'v')

  const locked = await rejection(CaskLevel.destroy(location))
  t.is(locked.code, 'LEVEL_LOCKED', 'refuses while open')
  t.ok(existsSync(location))

  await db.close()
  await CaskLevel.destroy(location)
  t.notOk(existsSync(location), 'removed')
  await CaskLevel.destroy(location)
  t.pass('destroying a missing location is fine')
  t.ok((await rejection(CaskLevel.destroy(''))) instanceof TypeError, 'empty location is a TypeError')

  await db.open()
  t.is(await db.get('k'), undefined, 'a new, empty database')
  await db.close()
})

test('repair', async (t) => {
  const location = tempPath()
  const db = new CaskLevel(location, { maxSegmentSize: 4096 })
  const value = 'x'.repeat(300)
  for (let i = 0; i < 50; i++) await db.put(`k${String(i).padStart(2, '0')}`, `${value}${i}`)
  await db.close()

  t.same((await CaskLevel.repair(location)).repairedFiles, [], 'a healthy database: nothing to repair')

  // A torn write at the end of the newest data file, as a crash would leave it.
  const dataFiles = readdirSync(location).filter((f) => f.endsWith('.data')).sort()
  t.ok(dataFiles.length > 1, `several data files (${dataFiles.length})`)
  appendFileSync(join(location, dataFiles[dataFiles.length - 1]!), Buffer.from('torn record bytes'))
  const report = await CaskLevel.repair(location)
  t.same(report.repairedFiles, [dataFiles[dataFiles.length - 1]], 'the file with the torn tail was rewritten')
  t.ok(existsSync(join(location, 'lost')), 'its original kept in lost/')

  await db.open()
  const entries = await db.iterator().all()
  t.is(entries.length, 50, 'every key survives')
  t.same(entries[49], ['k49', `${value}49`])
  await db.close()

  const missing = join(tempDir(), 'missing')
  const err = await rejection(CaskLevel.repair(missing))
  t.is(err.code, 'LEVEL_DATABASE_NOT_FOUND', 'repairing a missing database fails')
  t.notOk(existsSync(missing), 'and creates nothing')
  t.ok((await rejection(CaskLevel.repair(42 as unknown as string))) instanceof TypeError, 'bad location is a TypeError')
})
