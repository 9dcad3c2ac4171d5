import test from 'tape'
import { CaskDB, CaskError, ErrorCodes } from '../../src/index.js'
import { tempDir, tempPath } from '../helpers/tmp.js'

const str = (b: Buffer | undefined) => b?.toString()

test('put, get, has, del, getMany, hasMany round-trip bytes and strings', async (t) => {
  const db = await CaskDB.open(tempPath())
  await db.put('a', 'apple')
  await db.put(Buffer.from([0, 255, 1]), new Uint8Array([9, 8, 7]))
  t.equal(str(await db.get('a')), 'apple')
  t.same(await db.get(Buffer.from([0, 255, 1])), Buffer.from([9, 8, 7]))
  t.equal(db.getSync('a')?.toString(), 'apple', 'getSync')
  t.equal(await db.get('missing'), undefined, 'missing key is undefined')
  t.equal(await db.has('a'), true)
  t.equal(await db.has('b'), false)
  t.same((await db.getMany(['a', 'b'])).map(str), ['apple', undefined])
  t.same(await db.hasMany(['b', 'a']), [false, true])
  await db.del('a')
  t.equal(await db.get('a'), undefined, 'deleted')
  await db.put('', 'empty key works')
  t.equal(str(await db.get('')), 'empty key works')
  await db.put('empty value', '')
  t.same(await db.get('empty value'), Buffer.alloc(0), 'empty value is an empty buffer, not undefined')
  await db.close()
})

test('returned buffers are the caller’s own: mutating them changes nothing stored', async (t) => {
  const db = await CaskDB.open(tempPath())
  const value = Buffer.from('original')
  await db.put('k', value)
  value.fill(0)
  const first = (await db.get('k'))!
  t.equal(first.toString(), 'original', 'put copied nothing it should not have kept')
  first.fill(0)
  t.equal(str(await db.get('k')), 'original', 'cache not damaged by caller mutation')
  await db.close()
})

test('batch applies every operation in order, and invalid input writes nothing', async (t) => {
  const db = await CaskDB.open(tempPath())
  await db.put('x', '1')
  await db.batch([
    { type: 'put', key: 'a', value: '1' },
    { type: 'put', key: 'a', value: '2' },
    { type: 'del', key: 'x' },
    { type: 'put', key: 'b', value: '3' },
  ])
  t.equal(str(await db.get('a')), '2', 'last write in a batch wins')
  t.equal(await db.get('x'), undefined)
  t.equal(str(await db.get('b')), '3')
  const before = db.stats().bytesWritten
  await db
    .batch([
      { type: 'put', key: 'c', value: '1' },
      { type: 'put', key: 'd', value: 42 as unknown as string },
    ])
    .then(
      () => t.fail('should reject'),
      (err: CaskError) => t.equal(err.code, ErrorCodes.INVALID_VALUE),
    )
  t.equal(await db.get('c'), undefined, 'nothing from the rejected batch')
  t.equal(db.stats().bytesWritten, before, 'no bytes written')
  await db.close()
})

test('bad input gets coded errors', async (t) => {
  const db = await CaskDB.open(tempPath(), { maxKeySize: 8, maxValueSize: 16 })
  const code = async (p: Promise<unknown> | (() => unknown)) => {
    try {
      await (typeof p === 'function' ? p() : p)
      return 'no error'
    } catch (err) {
      return (err as CaskError).code
    }
  }
  t.equal(await code(db.put(null as unknown as string, 'v')), ErrorCodes.INVALID_KEY)
  t.equal(await code(db.put(123 as unknown as string, 'v')), ErrorCodes.INVALID_KEY)
  t.equal(await code(db.put('k', { a: 1 } as unknown as string)), ErrorCodes.INVALID_VALUE)
  t.equal(await code(db.put('123456789', 'v')), ErrorCodes.INVALID_KEY, 'oversized key')
  t.equal(await code(db.put('k', 'x'.repeat(17))), ErrorCodes.INVALID_VALUE, 'oversized value')
  t.equal(await code(db.get(undefined as unknown as string)), ErrorCodes.INVALID_KEY)
  t.equal(await code(db.put('k', 'v', { ttl: -1 })), ErrorCodes.INVALID_ARGUMENT)
  t.equal(await code(db.batch('nope' as unknown as [])), ErrorCodes.INVALID_ARGUMENT)
  t.equal(await code(db.batch([{ type: 'nope' } as unknown as { type: 'del'; key: string }])), ErrorCodes.INVALID_ARGUMENT)
  t.equal(await code(() => new CaskDB('')), ErrorCodes.INVALID_ARGUMENT, 'empty location')
  t.equal(await code(() => new CaskDB(tempPath(), { cacheSize: -1 })), ErrorCodes.INVALID_OPTION)
  t.equal(await code(() => new CaskDB(tempPath(), { sync: 'yes' as unknown as boolean })), ErrorCodes.INVALID_OPTION)
  t.equal(await code(() => new CaskDB(tempPath(), { maxSegmentSize: 10 })), ErrorCodes.INVALID_OPTION)
  t.equal(await code(() => new CaskDB(tempPath(), { cachesize: 1e9 } as never)), ErrorCodes.INVALID_OPTION, 'a misspelt option is refused')
  try {
    new CaskDB(tempPath(), { cachesize: 1e9 } as never)
  } catch (err) {
    t.match((err as Error).message, /unknown option cachesize \(did you mean cacheSize\?\)/, 'the error names the option it resembles')
  }
  t.equal(await code(() => new CaskDB(tempPath(), { location: 'x' } as never)), ErrorCodes.INVALID_OPTION, 'an option of another API is refused')
  t.doesNotThrow(() => new CaskDB(tempPath(), { nothing: undefined } as never), 'an unknown name with an undefined value is as if absent')
  t.equal(db.stats().keys, 0, 'nothing was written')
  await db.close()
  t.equal(await code(db.get('k')), ErrorCodes.CLOSED, 'get after close')
  t.equal(await code(db.put('k', 'v')), ErrorCodes.CLOSED, 'put after close')
  t.equal(await code(() => db.iterator()), ErrorCodes.CLOSED, 'iterator after close')
})

test('createIfMissing and errorIfExists', async (t) => {
  const location = tempPath()
  const err1 = await CaskDB.open(location, { createIfMissing: false }).catch((e: CaskError) => e)
  t.equal((err1 as CaskError).code, ErrorCodes.NOT_FOUND)
  t.match((err1 as CaskError).message, /does not exist/)
  const db = await CaskDB.open(location)
  await db.close()
  const err2 = await CaskDB.open(location, { errorIfExists: true }).catch((e: CaskError) => e)
  t.equal((err2 as CaskError).code, ErrorCodes.EXISTS)
  t.match((err2 as CaskError).message, /exists/)
  const nested = tempDir() + '/a/b/c'
  const db2 = await CaskDB.open(nested)
  t.pass('recursive mkdir')
  await db2.close()
})

test('open and close are idempotent; reopen of the same instance works', async (t) => {
  const db = new CaskDB(tempPath())
  await Promise.all([db.open(), db.open()])
  t.equal(db.status, 'open')
  await db.put('k', 'v')
  await Promise.all([db.close(), db.close()])
  t.equal(db.status, 'closed')
  await db.open()
  t.equal(str(await db.get('k')), 'v', 'data survives reopen of the same instance')
  await db.close()
})

test('iterators: ranges, reverse, limit, keys/values only, seek, nextv', async (t) => {
  const db = await CaskDB.open(tempPath())
  for (const k of ['a', 'b', 'c', 'd', 'e']) await db.put(k, k.toUpperCase())
  const keys = async (opts: object) => (await db.iterator(opts).all()).map(([k]) => k?.toString()).join('')
  t.equal(await keys({}), 'abcde')
  t.equal(await keys({ gt: 'a', lt: 'e' }), 'bcd')
  t.equal(await keys({ gte: 'b', lte: 'd', reverse: true }), 'dcb')
  t.equal(await keys({ limit: 2, reverse: true }), 'ed')
  t.equal(await keys({ gte: 'b', gt: 'c' }), 'bcde', 'gte wins over gt')
  const valuesOnly = await db.iterator({ keys: false }).all()
  t.same(valuesOnly.map(([k, v]) => [k, v?.toString()]), [[undefined, 'A'], [undefined, 'B'], [undefined, 'C'], [undefined, 'D'], [undefined, 'E']])
  const neither = await db.iterator({ keys: false, values: false }).all()
  t.equal(neither.length, 5, '{ keys: false, values: false } still yields one entry per key')
  const it = db.iterator({ gte: 'b' })
  t.equal((await it.next())?.[0]?.toString(), 'b')
  it.seek('d')
  t.same((await it.nextv(10)).map(([k]) => k?.toString()), ['d', 'e'])
  it.seek('a')
  t.equal(await it.next(), undefined, 'a target outside the range ends the iterator')
  it.seek('c')
  t.equal((await it.next())?.[0]?.toString(), 'c', 'a later seek inside the range revives it')
  it.close()
  const collected: string[] = []
  for await (const [k] of db.iterator({ lt: 'c' })) collected.push(k!.toString())
  t.same(collected, ['a', 'b'], 'for await')
  await db.close()
})

test('iterators read their creation-time view', async (t) => {
  const db = await CaskDB.open(tempPath())
  await db.put('a', '1')
  await db.put('b', '1')
  const it = db.iterator()
  await db.put('a', '2')
  await db.del('b')
  await db.put('c', '2')
  const entries = await it.all()
  t.same(entries.map(([k, v]) => `${k}=${v}`), ['a=1', 'b=1'], 'later writes do not show')
  await db.close()
})

test('clear: everything, a range, with a limit, in reverse', async (t) => {
  const db = await CaskDB.open(tempPath())
  const fill = async () => {
    for (let i = 0; i < 2500; i++) await db.put(String(i).padStart(4, '0'), 'v')
  }
  await fill()
  await db.clear({ gte: '1000', lt: '2000' })
  t.equal((await db.iterator().all()).length, 1500)
  await db.clear({ limit: 10, reverse: true })
  const all = await db.iterator().all()
  t.equal(all.length, 1490)
  t.equal(all[all.length - 1]![0]!.toString(), '2489')
  await db.put('', 'empty key')
  await db.clear()
  t.equal((await db.iterator().all()).length, 0, 'clear() removes every key, the empty key too')
  await db.close()
})

test('stats report keys, bytes, writes', async (t) => {
  const db = await CaskDB.open(tempPath())
  await db.put('a', 'x'.repeat(100))
  await db.put('a', 'y'.repeat(100))
  const s = db.stats()
  t.equal(s.keys, 1)
  t.equal(s.liveBytes, 8 + 1 + 100, 'live bytes are exactly the one live record (8-byte header: crc, flags, one-byte key length, value length and seq; key; value)')
  t.ok(s.deadBytes >= 100, 'the overwritten record is dead')
  t.equal(s.segments, 1)
  t.ok(s.bytesWritten > 200)
  await db.close()
})

test('destroy removes the database files and leaves foreign files alone', async (t) => {
  const { existsSync, writeFileSync, readdirSync } = await import('node:fs')
  const location = tempPath()
  const db = await CaskDB.open(location)
  await db.put('k', 'v')
  const locked = await CaskDB.destroy(location).catch((e: CaskError) => e)
  t.equal((locked as CaskError).code, ErrorCodes.LOCKED, 'refuses an open database')
  await db.close()
  writeFileSync(`${location}/notes.txt`, 'mine')
  await CaskDB.destroy(location)
  t.same(readdirSync(location), ['notes.txt'], 'only caskdb files removed')
  const other = tempPath()
  await (await CaskDB.open(other)).close()
  await CaskDB.destroy(other)
  t.notOk(existsSync(other), 'an emptied directory is removed')
  await CaskDB.destroy(other)
  t.pass('destroying a missing location is a no-op')
})

test('a write becomes visible when appended: not in the same synchronous turn, at once in writeBuffer mode', async (t) => {
  const db = await CaskDB.open(tempPath())
  await db.put('k', 'old')
  const pending = db.put('k', 'new')
  t.equal(db.getSync('k')?.toString(), 'old', 'same turn as the un-awaited put: the old value')
  await Promise.resolve()
  t.equal(db.getSync('k')?.toString(), 'new', 'after the microtask that appends it: the new value, before the put resolves')
  await pending
  await db.close()

  const buffered = await CaskDB.open(tempPath(), { writeBuffer: true, flushInterval: 60_000 })
  const write = buffered.put('k', 'now')
  t.equal(buffered.getSync('k')?.toString(), 'now', 'writeBuffer: visible at once')
  await write
  await buffered.close()
})

test('stats().backgroundTasks counts seals in progress, and returns to 0', async (t) => {
  const db = await CaskDB.open(tempPath(), { maxSegmentSize: 4096, autoCompact: false })
  t.equal(db.stats().backgroundTasks, 0, 'nothing in progress after open')
  let seen = 0
  for (let i = 0; i < 100; i++) {
    await db.put(`k${i}`, 'x'.repeat(100))
    seen = Math.max(seen, db.stats().backgroundTasks)
  }
  t.ok(seen > 0, `a seal was seen in progress (up to ${seen} at once)`)
  for (let i = 0; i < 1000 && db.stats().backgroundTasks > 0; i++) await new Promise((r) => setTimeout(r, 5))
  t.equal(db.stats().backgroundTasks, 0, 'and all of them finished')
  t.ok(db.stats().segments > 2, 'segments rotated')
  await db.close()
})
