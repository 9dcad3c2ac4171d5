/**
 * CaskLevel beyond the compliance suite: classic-level's extras
 * (compactRange, approximateSize, getProperty), caskdb's own (compact,
 * backup, stats, verify) deferred while opening, option pass-through, the
 * native formats handed back, and implicit snapshots taken at call time.
 */
import test from 'tape'
import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { ManualClock } from '../helpers/clock.js'
import { CaskDB } from '../../src/index.js'
import { CaskLevel } from '../../adapters/level/index.js'
import { tempDir, tempPath } from '../helpers/tmp.js'

async function rejection(promise: Promise<unknown>): Promise<{ code?: string; cause?: { code?: string } } & Error> {
  try {
    await promise
  } catch (err) {
    return err as { code?: string; cause?: { code?: string } } & Error
  }
  throw new Error('expected a rejection')
}

test('manifest', async (t) => {
  const db = new CaskLevel(tempPath())
  const s = db.supports as typeof db.supports & { getSync?: boolean }
  for (const flag of ['implicitSnapshots', 'explicitSnapshots', 'has', 'permanence', 'seek', 'createIfMissing', 'errorIfExists'] as const) {
    t.is(s[flag], true, flag)
  }
  t.is(s.getSync, true, 'getSync')
  t.ok(s.encodings.buffer && s.encodings.view && s.encodings.utf8, 'native encodings')
  for (const method of ['approximateSize', 'compactRange', 'getProperty', 'compact', 'backup', 'stats', 'verify']) {
    t.is(s.additionalMethods[method], true, `additionalMethods.${method}`)
    t.is(typeof (db as unknown as Record<string, unknown>)[method], 'function')
  }
  await db.close()
})

test('compact(), backup(), stats() and verify() wait for the open', async (t) => {
  const location = tempPath()
  const db = new CaskLevel(location)
  t.is(db.status, 'opening')
  const [stats, compaction, damage] = await Promise.all([db.stats(), db.compact(), db.verify()])
  t.is(stats.keys, 0, 'stats() while opening')
  t.is(typeof compaction.steps, 'number', 'compact() while opening')
  t.same(damage, [], 'verify() while opening')
  await db.put('k', 'v')
  await db.close()

  const reopened = new CaskLevel(location)
  const backupDir = join(tempDir(), 'backup')
  await reopened.backup(backupDir)
  await reopened.close()
  const restored = join(tempDir(), 'restored')
  await CaskDB.restore(backupDir, restored)
  const copy = new CaskLevel(restored)
  t.is(await copy.get('k'), 'v', 'backup() while opening, restored with CaskDB.restore')
  await copy.close()

  const closed = new CaskLevel(tempPath())
  await closed.close()
  for (const call of [() => closed.stats(), () => closed.compact(), () => closed.backup(join(tempDir(), 'b')), () => closed.compactRange('a', 'b')]) {
    t.is((await rejection(call())).code, 'LEVEL_DATABASE_NOT_OPEN', 'rejects when closed')
  }
})

test('compactRange() compacts; approximateSize() estimates a range', async (t) => {
  const db = new CaskLevel(tempPath(), { maxSegmentSize: 8192, autoCompact: false })
  const value = 'v'.repeat(100)
  for (let round = 0; round < 5; round++) {
    for (let i = 0; i < 100; i++) await db.put(`key${String(i).padStart(3, '0')}`, `${round}${value}`)
  }
  const before = await db.stats()
  t.ok(before.deadBytes > 0, `dead bytes before (${before.deadBytes})`)
  await db.compactRange('key000', 'key999')
  const after = await db.stats()
  t.ok(after.diskBytes < before.diskBytes, `disk ${before.diskBytes} → ${after.diskBytes}`)
  t.ok(after.compactions > before.compactions, 'compaction ran')
  t.is(await db.get('key050'), `4${value}`, 'data intact')

  const all = await db.approximateSize('key000', 'key999')
  const half = await db.approximateSize('key000', 'key050')
  t.ok(all > 100 * 100, `whole range ${all} bytes`)
  t.ok(half > all * 0.4 && half < all * 0.6, `half the keys, about half the size (${half})`)
  t.is(await db.approximateSize('x', 'z'), 0, 'empty range')
  t.is(
    await db.approximateSize(Buffer.from('key000'), Buffer.from('key050'), { keyEncoding: 'buffer' }),
    half,
    'keyEncoding option',
  )
  await t.ok(
    (await rejection((db.approximateSize as (...a: unknown[]) => Promise<number>)('a'))) instanceof TypeError,
    'start and end are required',
  )
  await db.close()
})

test('getProperty()', async (t) => {
  const db = new CaskLevel(tempPath())
  t.throws(() => db.getProperty('caskdb.stats'), /not open/, 'throws while opening (synchronous, like classic-level)')
  await db.open()
  await db.put('a', '1')
  await db.put('b', '2')
  const stats = JSON.parse(db.getProperty('caskdb.stats'))
  t.is(stats.keys, 2, 'caskdb.stats is JSON')
  t.is(db.getProperty('caskdb.keys'), '2', 'caskdb.keys')
  t.ok(Number(db.getProperty('caskdb.disk-bytes')) > 0, 'caskdb.disk-bytes')
  t.is(db.getProperty('caskdb.segments'), '1', 'caskdb.segments')
  t.is(db.getProperty('leveldb.stats'), '', 'unknown property: empty string')
  t.throws(() => db.getProperty(42 as unknown as string), TypeError, 'non-string property')
  await db.close()
  t.throws(() => db.getProperty('caskdb.keys'), /not open/, 'throws when closed')
})

test('engine options pass through; classic-level tuning options are accepted', async (t) => {
  const db = new CaskLevel(tempPath(), {
    cacheSize: 0,
    maxSegmentSize: 4096,
    autoCompact: false,
    compression: false,
    blockSize: 4096,
    maxOpenFiles: 100,
    writeBufferSize: 1024 * 1024,
  })
  for (let i = 0; i < 40; i++) await db.put(`k${i}`, 'x'.repeat(200))
  await db.get('k1')
  let stats = await db.stats()
  t.is(stats.cacheBytes, 0, 'cacheSize: 0')
  t.ok(stats.segments > 1, `maxSegmentSize: ${stats.segments} segments`)
  const fsyncs = stats.fsyncs
  await db.put('synced', 'yes', { sync: true })
  stats = await db.stats()
  t.ok(stats.fsyncs > fsyncs, 'put({ sync: true }) fsyncs')
  await db.batch([{ type: 'put', key: 's2', value: 'y' }], { sync: true })
  t.ok((await db.stats()).fsyncs > stats.fsyncs, 'batch({ sync: true }) fsyncs')
  stats = await db.stats()
  await db.batch().put('s3', 'z').write({ sync: true })
  t.ok((await db.stats()).fsyncs > stats.fsyncs, 'chained batch write({ sync: true }) fsyncs')
  await db.close()

  const durable = new CaskLevel(tempPath(), { sync: true })
  await durable.put('a', 'b')
  t.ok((await durable.stats()).fsyncs > 0, 'sync: true as a database option')
  await durable.close()

  const bad = new CaskLevel(tempPath(), { cacheSize: -1 })
  const err = await rejection(bad.open())
  t.is(err.code, 'LEVEL_DATABASE_NOT_OPEN')
  t.is(err.cause?.code, 'LEVEL_INVALID_OPTION', 'an invalid engine option fails the open')

  const viaOpen = new CaskLevel(tempPath())
  await viaOpen.open({ cacheSize: 0 } as never)
  await viaOpen.put('k', 'v')
  await viaOpen.get('k')
  t.is((await viaOpen.stats()).cacheBytes, 0, 'engine options given to open()')
  await viaOpen.close()
})

test('scheduled backups (option backup) pass through to the engine', async (t) => {
  const clock = new ManualClock()
  const dir = join(tempDir(), 'backups')
  const db = new CaskLevel(tempPath(), { clock, backup: { dir, every: 60_000 } })
  await db.put('k', 'v')
  clock.advance(60_000)
  // The backup runs on the engine's clock timer; wait for its directory to appear.
  for (let i = 0; i < 500 && !(existsSync(dir) && readdirSync(dir).length > 0); i++) await new Promise((r) => setTimeout(r, 10))
  t.is(readdirSync(dir).length, 1, 'one backup taken after one period')
  await db.close()
  t.is(clock.activeTimers, 0, 'its timer stops on close')
  const invalid = new CaskLevel(tempPath(), { backup: { dir: '', every: 5 } } as never)
  t.is((await rejection(invalid.open())).cause?.code, 'LEVEL_INVALID_OPTION', 'an invalid backup option fails the open')
})

test('ttl / expires on put and batch', async (t) => {
  const db = new CaskLevel(tempPath())
  await db.put('short', 'lived', { ttl: 1 } as never)
  await db.batch([{ type: 'put', key: 'also', value: 'short', expires: Date.now() - 1 } as never, { type: 'put', key: 'stays', value: 'here' }])
  await new Promise((resolve) => setTimeout(resolve, 10))
  t.is(await db.get('short'), undefined, 'ttl expired')
  t.is(await db.get('also'), undefined, 'expires in the past')
  t.same(await db.keys().all(), ['stays'])
  await db.close()
})

test('values come back in the requested native format', async (t) => {
  const db = new CaskLevel(tempPath())
  await db.put('k', 'value')
  const view: unknown = await db.get('k', { valueEncoding: 'view' })
  t.ok(view instanceof Uint8Array && !Buffer.isBuffer(view), 'view: a plain Uint8Array')
  t.ok(Buffer.isBuffer(await db.get('k', { valueEncoding: 'buffer' })), 'buffer: a Buffer')
  t.is(typeof db.getSync('k'), 'string', 'utf8: a string')
  const [[key, value]] = (await db.iterator({ keyEncoding: 'view', valueEncoding: 'buffer' }).all()) as unknown as [[Uint8Array, Buffer]]
  t.ok(key instanceof Uint8Array && !Buffer.isBuffer(key), 'iterator key: view')
  t.ok(Buffer.isBuffer(value), 'iterator value: buffer')
  t.same(await db.keys({ keyEncoding: 'hex' }).all(), ['6b'], 'transcoded encodings work too')
  await db.close()
})

test('implicit snapshots are taken when a read is called', async (t) => {
  const db = new CaskLevel(tempPath())
  await db.put('a', 'old')
  const [got, many, has] = await Promise.all([
    db.get('a'),
    db.getMany(['a', 'b']),
    db.has('b'),
    db.batch([
      { type: 'put', key: 'a', value: 'new' },
      { type: 'put', key: 'b', value: 'new' },
    ]),
  ])
  t.is(got, 'old', 'get() called before the write sees the old value')
  t.same(many, ['old', undefined], 'getMany() too')
  t.is(has, false, 'has() too')
  t.is(await db.get('a'), 'new', 'a get() after the write completed sees it')
  const it = db.iterator()
  await db.del('a')
  t.same(await it.all(), [['a', 'new'], ['b', 'new']], 'an iterator reads the view of its creation')
  await db.close()
})

test('a snapshot of another database is refused, not read', async (t) => {
  const a = new CaskLevel(tempPath())
  const b = new CaskLevel(tempPath())
  await a.put('key', 'AAAA')
  await b.put('key', 'BBBB')
  const snapshot = a.snapshot()
  const err = await rejection(b.get('key', { snapshot }))
  t.is(err.code, 'LEVEL_INVALID_SNAPSHOT', 'get()')
  t.throws(() => b.iterator({ snapshot }), /snapshot of this database/, 'iterator()')
  t.is((await rejection(b.clear({ snapshot }))).code, 'LEVEL_INVALID_SNAPSHOT', 'clear()')
  t.same(await b.keys().all(), ['key'], 'nothing cleared')
  const sub = a.sublevel('s')
  await sub.put('x', 'in sub')
  const subSnapshot = sub.snapshot()
  await sub.put('x', 'changed')
  t.is(await sub.get('x', { snapshot: subSnapshot }), 'in sub', "a sublevel's snapshot works on the sublevel")
  t.is(await a.get('key', { snapshot: subSnapshot }), 'AAAA', 'and on its root')
  await Promise.all([a.close(), b.close()])
})

test('engine input limits surface as LEVEL_INVALID_KEY / LEVEL_INVALID_VALUE', async (t) => {
  const db = new CaskLevel(tempPath(), { maxKeySize: 8, maxValueSize: 16 })
  t.is((await rejection(db.put('a-key-that-is-too-long', 'v'))).code, 'LEVEL_INVALID_KEY', 'put key')
  t.is((await rejection(db.put('k', 'a value that is too long'))).code, 'LEVEL_INVALID_VALUE', 'put value')
  t.is((await rejection(db.batch([{ type: 'put', key: 'ok', value: 'x'.repeat(17) }]))).code, 'LEVEL_INVALID_VALUE', 'batch')
  t.is((await rejection(db.get('a-key-that-is-too-long'))).code, 'LEVEL_INVALID_KEY', 'get')
  t.same(await db.keys().all(), [], 'nothing written')
  await db.close()
})
