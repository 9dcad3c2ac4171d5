/**
 * Bad input across every public method of the engine, CaskLevel and the two
 * Keyv adapters: wrong types, empty and oversized keys and values, invalid
 * option values, use before open and after close. Each must be a coded error
 * whose message names the argument and says what is expected (or what to do),
 * and must write nothing: stats().bytesWritten and the files stay as they were.
 *
 * Already covered elsewhere and not repeated: the basic key/value type and
 * size checks (test/engine/basic.test.ts), Level's own argument checks (its
 * compliance suite), CaskLevel's location/getProperty/approximateSize
 * TypeErrors and input limits (test/level), Keyv adapter constructor options
 * (test/keyv).
 */
import test from 'tape'
import { readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { CaskDB, CaskError, type ErrorCode } from '../../src/index.js'
import { CaskLevel } from '../../adapters/level/index.js'
import { KeyvCask, KeyvCaskV6 } from '../../adapters/keyv/index.js'
import { tempDir, tempPath } from '../helpers/tmp.js'
import { describeError } from './support.js'
import { MIN_RECORD_SIZE } from '../../src/format/record.js'

type Call = () => unknown

/** Runs `call` (sync or async) and returns its error, or undefined. */
async function errorOf(call: Call): Promise<unknown> {
  try {
    await call()
    return undefined
  } catch (err) {
    return err
  }
}

/** Size and mtime of every file in `dir`, to prove nothing was written. */
function fingerprint(dir: string): string {
  return readdirSync(dir)
    .filter((n) => n !== 'LOCK')
    .sort()
    .map((n) => `${n}:${statSync(join(dir, n)).size}`)
    .join(',')
}

interface Case {
  name: string
  call: Call
  code: ErrorCode
  /** The message must name the argument / say what is expected or what to do. */
  says: RegExp
}

async function check(t: test.Test, cases: Case[]): Promise<void> {
  const wrong: string[] = []
  for (const c of cases) {
    const err = await errorOf(c.call)
    if (!(err instanceof CaskError)) wrong.push(`${c.name}: ${err === undefined ? 'accepted' : `uncoded ${describeError(err)}`}`)
    else if (err.code !== c.code) wrong.push(`${c.name}: ${err.code} instead of ${c.code} (${err.message})`)
    else if (!c.says.test(err.message)) wrong.push(`${c.name}: message "${err.message}" does not match ${c.says}`)
  }
  t.same(wrong, [], `${cases.length} bad calls, each a coded error that says what to fix`)
}

const junk: [string, unknown][] = [
  ['null', null],
  ['a number', 42],
  ['a boolean', true],
  ['an object', { a: 1 }],
  ['an array', ['k']],
  ['a function', () => 1],
  ['a symbol', Symbol('k')],
  ['a bigint', 10n],
]

test('bad input: engine writes and reads refuse wrong types, oversized keys and values, bad options, and write nothing', async (t) => {
  const location = tempPath()
  const db = await CaskDB.open(location, { maxKeySize: 16, maxValueSize: 64 })
  await db.put('existing', 'value')
  await db.flush()
  const written = db.stats().bytesWritten
  const files = fingerprint(location)
  const snapshot = db.snapshot()
  const cases: Case[] = []
  for (const [what, bad] of junk) {
    cases.push({ name: `put key ${what}`, call: () => db.put(bad as string, 'v'), code: 'INVALID_KEY', says: /key must be a string, Buffer or Uint8Array/ })
    cases.push({ name: `put value ${what}`, call: () => db.put('k', bad as string), code: 'INVALID_VALUE', says: /value must be a string, Buffer or Uint8Array/ })
    cases.push({ name: `del key ${what}`, call: () => db.del(bad as string), code: 'INVALID_KEY', says: /key must be/ })
    cases.push({ name: `get key ${what}`, call: () => db.get(bad as string), code: 'INVALID_KEY', says: /key must be/ })
    cases.push({ name: `getSync key ${what}`, call: () => db.getSync(bad as string), code: 'INVALID_KEY', says: /key must be/ })
    cases.push({ name: `has key ${what}`, call: () => db.has(bad as string), code: 'INVALID_KEY', says: /key must be/ })
    cases.push({ name: `expiresAt key ${what}`, call: () => db.expiresAt(bad as string), code: 'INVALID_KEY', says: /key must be/ })
    cases.push({ name: `getMany element ${what}`, call: () => db.getMany(['ok', bad as string]), code: 'INVALID_KEY', says: /key must be/ })
    cases.push({ name: `hasMany element ${what}`, call: () => db.hasMany([bad as string]), code: 'INVALID_KEY', says: /key must be/ })
    cases.push({ name: `batch put key ${what}`, call: () => db.batch([{ type: 'put', key: 'fine', value: 'v' }, { type: 'put', key: bad as string, value: 'v' }]), code: 'INVALID_KEY', says: /key must be/ })
    cases.push({ name: `batch put value ${what}`, call: () => db.batch([{ type: 'put', key: 'k', value: bad as string }]), code: 'INVALID_VALUE', says: /value must be/ })
    if (bad !== null && typeof bad !== 'object') {
      cases.push({ name: `put options ${what}`, call: () => db.put('k', 'v', bad as object), code: 'INVALID_ARGUMENT', says: /options must be an object/ })
      cases.push({ name: `get options ${what}`, call: () => db.get('existing', bad as object), code: 'INVALID_ARGUMENT', says: /options must be an object/ })
    }
    if (typeof bad !== 'boolean') {
      cases.push({ name: `put sync ${what}`, call: () => db.put('k', 'v', { sync: bad as boolean }), code: 'INVALID_ARGUMENT', says: /sync must be true or false/ })
      cases.push({ name: `del sync ${what}`, call: () => db.del('existing', { sync: bad as boolean }), code: 'INVALID_ARGUMENT', says: /sync must be true or false/ })
      cases.push({ name: `batch sync ${what}`, call: () => db.batch([{ type: 'put', key: 'k', value: 'v' }], { sync: bad as boolean }), code: 'INVALID_ARGUMENT', says: /sync must be true or false/ })
      cases.push({ name: `get fillCache ${what}`, call: () => db.get('existing', { fillCache: bad as boolean }), code: 'INVALID_ARGUMENT', says: /fillCache must be true or false/ })
      cases.push({ name: `iterator reverse ${what}`, call: () => db.iterator({ reverse: bad as boolean }), code: 'INVALID_ARGUMENT', says: /reverse must be true or false/ })
      cases.push({ name: `iterator values ${what}`, call: () => db.iterator({ values: bad as boolean }), code: 'INVALID_ARGUMENT', says: /values must be true or false/ })
      cases.push({ name: `compact full ${what}`, call: () => db.compact({ full: bad as boolean }), code: 'INVALID_ARGUMENT', says: /full must be true or false/ })
      cases.push({ name: `clear sync ${what}`, call: () => db.clear({ sync: bad as boolean }), code: 'INVALID_ARGUMENT', says: /sync must be true or false/ })
    }
    // null bounds mean "no bound" (as in abstract-level).
    if (bad !== null && typeof bad !== 'string' && !(bad instanceof Uint8Array)) {
      cases.push({ name: `iterator gte ${what}`, call: () => db.iterator({ gte: bad as string }), code: 'INVALID_ARGUMENT', says: /gte must be a string or bytes/ })
      cases.push({ name: `clear lt ${what}`, call: () => db.clear({ lt: bad as string }), code: 'INVALID_ARGUMENT', says: /lt must be a string or bytes/ })
    }
    cases.push({ name: `get snapshot ${what}`, call: () => db.get('existing', { snapshot: bad as never }), code: 'INVALID_ARGUMENT', says: /snapshot must come from db.snapshot\(\)/ })
    cases.push({ name: `backup dir ${what}`, call: () => db.backup(bad as string), code: 'INVALID_ARGUMENT', says: /backup dir must be a non-empty string/ })
  }
  cases.push(
    { name: 'oversized key', call: () => db.put('k'.repeat(17), 'v'), code: 'INVALID_KEY', says: /17 bytes; the limit is 16 \(option maxKeySize\)/ },
    { name: 'oversized key as bytes', call: () => db.put(new Uint8Array(17), 'v'), code: 'INVALID_KEY', says: /option maxKeySize/ },
    { name: 'oversized value', call: () => db.put('k', 'v'.repeat(65)), code: 'INVALID_VALUE', says: /65 bytes; the limit is 64 \(option maxValueSize\)/ },
    { name: 'oversized multibyte value', call: () => db.put('k', 'é'.repeat(33)), code: 'INVALID_VALUE', says: /66 bytes/ },
    { name: 'oversized value in a batch', call: () => db.batch([{ type: 'put', key: 'a', value: 'x' }, { type: 'put', key: 'b', value: 'v'.repeat(65) }]), code: 'INVALID_VALUE', says: /option maxValueSize/ },
    { name: 'batch not an array', call: () => db.batch({ type: 'put' } as never), code: 'INVALID_ARGUMENT', says: /must be an array/ },
    { name: 'batch op null', call: () => db.batch([null as never]), code: 'INVALID_ARGUMENT', says: /batch operation 0 must be/ },
    { name: 'batch op bad type', call: () => db.batch([{ type: 'merge', key: 'k' } as never]), code: 'INVALID_ARGUMENT', says: /type: 'put' \| 'del'/ },
    { name: 'batch put without value', call: () => db.batch([{ type: 'put', key: 'k' } as never]), code: 'INVALID_VALUE', says: /value must be/ },
    { name: 'getMany not an array', call: () => db.getMany('k' as never), code: 'INVALID_ARGUMENT', says: /keys must be an array/ },
    { name: 'hasMany not an array', call: () => db.hasMany(undefined as never), code: 'INVALID_ARGUMENT', says: /keys must be an array/ },
    { name: 'ttl negative', call: () => db.put('k', 'v', { ttl: -5 }), code: 'INVALID_ARGUMENT', says: /ttl must be a non-negative number/ },
    { name: 'ttl NaN', call: () => db.put('k', 'v', { ttl: Number.NaN }), code: 'INVALID_ARGUMENT', says: /ttl must be/ },
    { name: 'ttl string', call: () => db.put('k', 'v', { ttl: '5' as never }), code: 'INVALID_ARGUMENT', says: /ttl must be/ },
    { name: 'expires negative', call: () => db.put('k', 'v', { expires: -1 }), code: 'INVALID_ARGUMENT', says: /expires must be a time in ms/ },
    { name: 'expires Infinity', call: () => db.put('k', 'v', { expires: Infinity }), code: 'INVALID_ARGUMENT', says: /expires must be/ },
    { name: 'batch op expires bad', call: () => db.batch([{ type: 'put', key: 'k', value: 'v', expires: 'soon' as never }]), code: 'INVALID_ARGUMENT', says: /expires must be/ },
    { name: 'iterator options not an object', call: () => db.iterator('all' as never), code: 'INVALID_ARGUMENT', says: /options must be an object/ },
    { name: 'iterator limit string', call: () => db.iterator({ limit: '10' as never }), code: 'INVALID_ARGUMENT', says: /limit must be a number/ },
    { name: 'iterator snapshot wrong', call: () => db.iterator({ snapshot: {} as never }), code: 'INVALID_ARGUMENT', says: /snapshot must come from db.snapshot\(\)/ },
    { name: 'clear limit NaN', call: () => db.clear({ limit: Number.NaN }), code: 'INVALID_ARGUMENT', says: /limit must be a number/ },
    { name: 'backup into the database', call: () => db.backup(join(location, 'b')), code: 'INVALID_ARGUMENT', says: /cannot be written inside the database directory/ },
    { name: 'backup over an existing directory', call: () => db.backup(tempDir()), code: 'EXISTS', says: /never overwrites a directory, pick a new one/ },
    { name: 'flush sync not boolean', call: () => db.flush({ sync: 1 as never }), code: 'INVALID_ARGUMENT', says: /sync must be true or false/ },
  )
  await check(t, cases)

  // Iterators and snapshots.
  const it = db.iterator()
  const itCases: Case[] = [
    { name: 'seek to a number', call: () => it.seek(5 as never), code: 'INVALID_ARGUMENT', says: /target must be a string or bytes/ },
    { name: 'seek to undefined', call: () => it.seek(undefined as never), code: 'INVALID_ARGUMENT', says: /seek target must be a string or bytes/ },
    { name: 'nextv size string', call: () => it.nextv('10' as never), code: 'INVALID_ARGUMENT', says: /size must be a non-negative number/ },
    { name: 'nextv size negative', call: () => it.nextv(-1), code: 'INVALID_ARGUMENT', says: /size must be a non-negative number/ },
    { name: 'nextv size NaN', call: () => it.nextv(Number.NaN), code: 'INVALID_ARGUMENT', says: /size must be/ },
  ]
  await check(t, itCases)
  t.same((await it.nextv(10)).map(([k]) => k?.toString()), ['existing'], 'the iterator still works after refusing bad calls')
  it.close()
  const other = await CaskDB.open(tempPath())
  const foreign = other.snapshot()
  await check(t, [
    { name: 'snapshot of another database', call: () => db.get('existing', { snapshot: foreign }), code: 'INVALID_ARGUMENT', says: /snapshot belongs to another database/ },
    { name: 'iterator on a snapshot of another database', call: () => db.iterator({ snapshot: foreign }), code: 'INVALID_ARGUMENT', says: /belongs to another database/ },
  ])
  foreign.close()
  await other.close()
  snapshot.close()
  await check(t, [
    { name: 'closed snapshot', call: () => db.get('existing', { snapshot }), code: 'CLOSED', says: /snapshot is closed.*db.snapshot\(\)/ },
    { name: 'closed iterator', call: () => it.next(), code: 'CLOSED', says: /iterator is closed.*db.iterator\(\)/ },
  ])

  // Empty keys and values are valid: stored and returned as such.
  await db.put('', '')
  t.same(await db.get(''), Buffer.alloc(0), 'the empty key with an empty value round-trips')
  t.same(await db.get(new Uint8Array(0)), Buffer.alloc(0), 'and reads back by an empty Uint8Array')
  await db.del('')

  await db.flush()
  const s = db.stats()
  t.equal(s.bytesWritten - written, 2 * MIN_RECORD_SIZE, 'the refused calls wrote nothing (only the valid empty-key put and del did, 8 bytes each)')
  t.equal(s.keys, 1)
  t.equal((await db.get('existing'))?.toString(), 'value')
  await db.close()
  t.ok(fingerprint(location).length >= files.length, 'files only grew by the valid writes')
})

test('bad input: invalid engine options are refused with INVALID_OPTION naming the option and its range', async (t) => {
  const loc = tempPath()
  const mk = (options: unknown) => () => new CaskDB(loc, options as never)
  const cases: Case[] = [
    { name: 'options a string', call: mk('fast'), code: 'INVALID_OPTION', says: /options must be an object/ },
    { name: 'options null', call: mk(null), code: 'INVALID_OPTION', says: /options must be an object/ },
    { name: 'sync a string', call: mk({ sync: 'true' }), code: 'INVALID_OPTION', says: /option sync must be a boolean, got string/ },
    { name: 'maxSegmentSize too small', call: mk({ maxSegmentSize: 100 }), code: 'INVALID_OPTION', says: /option maxSegmentSize must be between 4096 and/ },
    { name: 'maxSegmentSize NaN', call: mk({ maxSegmentSize: Number.NaN }), code: 'INVALID_OPTION', says: /maxSegmentSize must be between/ },
    { name: 'maxKeySize 0', call: mk({ maxKeySize: 0 }), code: 'INVALID_OPTION', says: /maxKeySize must be between 1 and/ },
    { name: 'maxValueSize above 1 GiB', call: mk({ maxValueSize: 2 ** 31 }), code: 'INVALID_OPTION', says: /maxValueSize must be between/ },
    { name: 'cacheSize negative', call: mk({ cacheSize: -1 }), code: 'INVALID_OPTION', says: /cacheSize must be between 0/ },
    { name: 'fileMode too large', call: mk({ fileMode: 0o7777 }), code: 'INVALID_OPTION', says: /fileMode must be between 0 and 511/ },
    { name: 'fileMode a string', call: mk({ fileMode: '600' }), code: 'INVALID_OPTION', says: /fileMode must be a number/ },
    { name: 'compactionMinDeadRatio above 1', call: mk({ compactionMinDeadRatio: 2 }), code: 'INVALID_OPTION', says: /compactionMinDeadRatio must be between 0 and 1/ },
    { name: 'flushInterval 0', call: mk({ flushInterval: 0 }), code: 'INVALID_OPTION', says: /flushInterval must be between 1/ },
    { name: 'backup not an object', call: mk({ backup: 'daily' }), code: 'INVALID_OPTION', says: /backup must be \{ dir, every, keep\? \}/ },
    { name: 'backup every too short', call: mk({ backup: { dir: tempPath(), every: 10 } }), code: 'INVALID_OPTION', says: /backup.every must be at least 1000 ms/ },
    { name: 'backup keep 0', call: mk({ backup: { dir: tempPath(), every: 1000, keep: 0 } }), code: 'INVALID_OPTION', says: /backup.keep must be a whole number/ },
    { name: 'location empty', call: () => new CaskDB(''), code: 'INVALID_ARGUMENT', says: /location must be a non-empty string/ },
    { name: 'location a number', call: () => new CaskDB(5 as never), code: 'INVALID_ARGUMENT', says: /location must be a non-empty string/ },
    { name: 'static open bad option', call: () => CaskDB.open(loc, { autoCompact: 'no' as never }), code: 'INVALID_OPTION', says: /autoCompact must be a boolean/ },
    { name: 'static verify bad location', call: () => CaskDB.verify(undefined as never), code: 'INVALID_ARGUMENT', says: /location must be a non-empty string/ },
    { name: 'static repair bad location', call: () => CaskDB.repair({} as never), code: 'INVALID_ARGUMENT', says: /location must be a non-empty string/ },
    { name: 'static repair bad fileMode', call: () => CaskDB.repair(loc, { fileMode: 0o10000 }), code: 'INVALID_OPTION', says: /fileMode must be between 0 and 511/ },
    { name: 'static destroy bad location', call: () => CaskDB.destroy(null as never), code: 'INVALID_ARGUMENT', says: /location must be a non-empty string/ },
    { name: 'static restore bad arguments', call: () => CaskDB.restore(1 as never, loc), code: 'INVALID_ARGUMENT', says: /restore\(backupDir, location\) takes two directory paths/ },
    { name: 'restore from an empty directory', call: () => CaskDB.restore(tempDir(), join(tempDir(), 'r')), code: 'NOT_FOUND', says: /holds no caskdb data files/ },
    { name: 'open overrides createIfMissing a string', call: () => new CaskDB(loc).open({ createIfMissing: 'no' as never }), code: 'INVALID_OPTION', says: /createIfMissing must be a boolean/ },
    { name: 'verify a missing database', call: () => CaskDB.verify(tempPath()), code: 'NOT_FOUND', says: /does not exist/ },
  ]
  await check(t, cases)
  t.same(readdirSync(join(loc, '..')), [], 'nothing was created')
})

test('bad input: every method before open and after close rejects with NOT_OPEN / CLOSED and says what to do', async (t) => {
  const location = tempPath()
  const db = new CaskDB(location)
  const calls: [string, (d: CaskDB) => unknown][] = [
    ['put', (d) => d.put('k', 'v')],
    ['del', (d) => d.del('k')],
    ['batch', (d) => d.batch([{ type: 'del', key: 'k' }])],
    ['get', (d) => d.get('k')],
    ['getSync', (d) => d.getSync('k')],
    ['getMany', (d) => d.getMany(['k'])],
    ['has', (d) => d.has('k')],
    ['hasSync', (d) => d.hasSync('k')],
    ['hasMany', (d) => d.hasMany(['k'])],
    ['expiresAt', (d) => d.expiresAt('k')],
    ['iterator', (d) => d.iterator()],
    ['snapshot', (d) => d.snapshot()],
    ['clear', (d) => d.clear()],
    ['purgeExpired', (d) => d.purgeExpired()],
    ['compact', (d) => d.compact()],
    ['backup', (d) => d.backup(join(tempDir(), 'b'))],
    ['verify', (d) => d.verify()],
    ['stats', (d) => d.stats()],
  ]
  await check(
    t,
    calls.map(([name, call]) => ({ name: `${name} before open`, call: () => call(db), code: 'NOT_OPEN' as const, says: /not open yet.*open\(\)/ })),
  )
  await db.open()
  const it = db.iterator()
  const snap = db.snapshot()
  await db.put('k', 'v')
  await db.close()
  await check(t, [
    ...calls.map(([name, call]) => ({ name: `${name} after close`, call: () => call(db), code: 'CLOSED' as const, says: /closed.*open\(\)/ })),
    { name: 'iterator of a closed database', call: () => it.next(), code: 'CLOSED', says: /iterator is closed/ },
    { name: 'snapshot of a closed database', call: () => db.get('k', { snapshot: snap }), code: 'CLOSED', says: /closed/ },
  ])
  t.equal(await db.flush(), undefined, 'flush() after close is a harmless no-op')
  t.equal(await db.close(), undefined, 'close() twice is fine')
})

test('bad input: CaskLevel passes engine option checks through as LEVEL_* errors and writes nothing', async (t) => {
  const location = tempPath()
  const db = new CaskLevel(location, { maxKeySize: 16, maxValueSize: 64 })
  await db.put('existing', 'value')
  const before = (await db.stats()).bytesWritten
  const levelCode = async (call: Call) => {
    const err = (await errorOf(call)) as { code?: string; message?: string } | undefined
    return err === undefined ? 'accepted' : `${err.code}: ${err.message}`
  }
  const cases: [string, Call, RegExp][] = [
    ['put sync not boolean', () => db.put('k', 'v', { sync: 'yes' } as never), /^LEVEL_INVALID_ARGUMENT: option sync must be true or false/],
    ['put ttl negative', () => db.put('k', 'v', { ttl: -1 } as never), /^LEVEL_INVALID_ARGUMENT: ttl must be/],
    ['batch expires bad', () => db.batch([{ type: 'put', key: 'k', value: 'v', expires: 'later' } as never]), /^LEVEL_INVALID_ARGUMENT: expires must be/],
    ['get fillCache not boolean', () => db.get('existing', { fillCache: 1 } as never), /^LEVEL_INVALID_ARGUMENT: option fillCache must be true or false/],
    ['oversized key', () => db.put('k'.repeat(17), 'v'), /^LEVEL_INVALID_KEY: .*maxKeySize/],
    ['oversized value', () => db.put('k', 'v'.repeat(65)), /^LEVEL_INVALID_VALUE: .*maxValueSize/],
    ['chained batch oversized value', () => db.batch().put('a', 'x').put('b', 'v'.repeat(65)).write(), /^LEVEL_INVALID_VALUE/],
    ['backup to a number', () => db.backup(7 as never), /^LEVEL_INVALID_ARGUMENT: backup dir must be a non-empty string/],
    ['backup over an existing directory', () => db.backup(tempDir()), /^LEVEL_DATABASE_EXISTS: .*pick a new one/],
    ['null key', () => db.put(null as never, 'v'), /^LEVEL_INVALID_KEY/],
    ['undefined value', () => db.put('k', undefined as never), /^LEVEL_INVALID_VALUE/],
  ]
  const wrong: string[] = []
  for (const [name, call, want] of cases) {
    const got = await levelCode(call)
    if (!want.test(got)) wrong.push(`${name}: ${got}`)
  }
  t.same(wrong, [], `${cases.length} bad calls refused with LEVEL_* codes`)
  t.equal((await db.stats()).bytesWritten, before, 'nothing written')
  t.same(await db.keys().all(), ['existing'])
  await db.close()
  const after: [string, Call][] = [
    ['put', () => db.put('k', 'v')],
    ['get', () => db.get('existing')],
    ['compact', () => db.compact()],
    ['backup', () => db.backup(join(tempDir(), 'b'))],
    ['stats', () => db.stats()],
    ['verify', () => db.verify()],
    ['approximateSize', () => db.approximateSize('a', 'z')],
    ['compactRange', () => db.compactRange('a', 'z')],
  ]
  const notOpen: string[] = []
  for (const [name, call] of after) {
    const got = await levelCode(call)
    if (!got.startsWith('LEVEL_DATABASE_NOT_OPEN')) notOpen.push(`${name}: ${got}`)
  }
  t.same(notOpen, [], 'every method after close rejects with LEVEL_DATABASE_NOT_OPEN')
})

test('bad input: the Keyv adapters refuse keys and values they cannot store with coded errors, and write nothing', async (t) => {
  const location = tempPath()
  for (const [name, store] of [
    ['KeyvCask', new KeyvCask({ location, maxKeySize: 40, maxValueSize: 64 })],
    ['KeyvCaskV6', new KeyvCaskV6({ location, maxKeySize: 40, maxValueSize: 64 })],
  ] as const) {
    await store.set('existing', 'value')
    const engine = await store.getEngine()
    const before = engine.stats().bytesWritten
    const cases: Case[] = [
      { name: 'set undefined key', call: () => store.set(undefined as never, 'v'), code: 'INVALID_KEY', says: /Keyv key must be a string/ },
      { name: 'set null key', call: () => store.set(null as never, 'v'), code: 'INVALID_KEY', says: /Keyv key must be a string/ },
      { name: 'get undefined key', call: () => store.get(undefined as never), code: 'INVALID_KEY', says: /Keyv key must be a string/ },
      { name: 'oversized key', call: () => store.set('k'.repeat(60), 'v'), code: 'INVALID_KEY', says: /option maxKeySize/ },
      { name: 'oversized value', call: () => store.set('k', 'v'.repeat(100)), code: 'INVALID_VALUE', says: /option maxValueSize/ },
      { name: 'function value', call: () => store.set('k', () => 1), code: 'INVALID_VALUE', says: /cannot be stored/ },
      { name: 'symbol value', call: () => store.set('k', Symbol('s')), code: 'INVALID_VALUE', says: /cannot be stored/ },
      { name: 'setMany not an array', call: () => store.setMany('k' as never), code: 'INVALID_ARGUMENT', says: /entries must be an array/ },
      { name: 'setMany with a bad value', call: () => store.setMany([{ key: 'a', value: 'ok' }, { key: 'b', value: (() => 1) as never }]), code: 'INVALID_VALUE', says: /cannot be stored/ },
      { name: 'getMany not an array', call: () => store.getMany('k' as never), code: 'INVALID_ARGUMENT', says: /keys must be an array/ },
      { name: 'hasMany not an array', call: () => store.hasMany(5 as never), code: 'INVALID_ARGUMENT', says: /keys must be an array/ },
      { name: 'deleteMany not an array', call: () => store.deleteMany(null as never), code: 'INVALID_ARGUMENT', says: /keys must be an array/ },
    ]
    t.comment(name)
    await check(t, cases)
    t.equal(engine.stats().bytesWritten, before, `${name}: nothing written`)
    t.equal(await store.get('a'), undefined, `${name}: the atomic setMany with a bad value wrote none of it`)
    await store.disconnect()
    await check(t, [{ name: 'set after disconnect', call: () => store.set('k', 'v'), code: 'CLOSED', says: /disconnected/ }])
  }
})
