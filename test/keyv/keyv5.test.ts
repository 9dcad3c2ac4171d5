/**
 * KeyvCask under Keyv 5, beyond the official suite: opaque values, native
 * expiry, Keyv 5's key and result conventions, options, errors, disconnect.
 */
import test from 'tape'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import Keyv, { type KeyvStoreAdapter } from 'keyv'
import KeyvCaskDefault, { KeyvCask, createKeyv } from '../../adapters/keyv/index.js'
import { isCaskError } from '../../src/index.js'
import { ManualClock } from '../helpers/clock.js'
import { FaultyFs } from '../helpers/faulty-fs.js'
import { tempDir, tempPath } from '../helpers/tmp.js'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = []
  for await (const x of it) out.push(x)
  return out
}

test('keyv5: default and named export are the same class; opts carries the sqlite dialect', async (t) => {
  t.equal(KeyvCaskDefault, KeyvCask)
  // Type-level: the class is a keyv 5 KeyvStoreAdapter (so cacheable, got... accept it without casts).
  const store: KeyvStoreAdapter & KeyvCask = new KeyvCask(tempPath())
  t.equal(store.opts.dialect, 'sqlite')
  t.equal(typeof store.opts.location, 'string')
  const keyv = new Keyv({ store })
  t.equal(typeof keyv.iterator, 'function', 'Keyv 5 wires its iterator')
  t.equal(store.namespace, 'keyv', 'Keyv assigns its namespace')
  await keyv.disconnect()
})

test('keyv5: values come back equal — serialized, Buffers, and raw objects with serialization off', async (t) => {
  const location = tempPath()
  const keyv = new Keyv({ store: new KeyvCask(location) })
  const buf = Buffer.from([0, 1, 2, 255])
  await keyv.set('buf', buf)
  await keyv.set('obj', { a: [1, 'two', null], b: { c: true } })
  await keyv.set('str', ':starts with a colon')
  await keyv.set('empty', '')
  await keyv.set('unicode', 'ключ ✓ 🎉')
  t.ok(Buffer.isBuffer(await keyv.get('buf')), 'a Buffer comes back as a Buffer')
  t.same(await keyv.get('buf'), buf)
  t.same(await keyv.get('obj'), { a: [1, 'two', null], b: { c: true } })
  t.equal(await keyv.get('str'), ':starts with a colon')
  t.equal(await keyv.get('empty'), '')
  t.equal(await keyv.get('unicode'), 'ключ ✓ 🎉')

  // Serialization off: the store receives the raw { value, expires } envelope and must keep it intact.
  const raw = new Keyv({ store: new KeyvCask(location), namespace: 'raw', serialize: undefined, deserialize: undefined })
  const date = new Date('2026-01-02T03:04:05Z')
  const value = {
    date,
    map: new Map<string, number>([['x', 1]]),
    set: new Set([1, 2]),
    big: 2n ** 70n,
    bytes: new Uint8Array([9, 8, 7]),
    nested: { list: [undefined, null, -0, NaN] },
  }
  await raw.set('complex', value)
  const back = (await raw.get('complex')) as typeof value
  t.ok(back.date instanceof Date && back.date.getTime() === date.getTime(), 'Date')
  t.ok(back.map instanceof Map && back.map.get('x') === 1, 'Map')
  t.ok(back.set instanceof Set && back.set.has(2), 'Set')
  t.equal(back.big, 2n ** 70n, 'BigInt')
  t.same([...back.bytes], [9, 8, 7], 'Uint8Array')
  t.ok(Number.isNaN(back.nested.list[3]), 'NaN')
  await raw.set('rawbuf', buf)
  t.ok(Buffer.isBuffer(await raw.get('rawbuf')), 'raw Buffer value stays a Buffer')
  await raw.set('n', 42)
  t.equal(await raw.get('n'), 42)
  const failures: unknown[] = []
  raw.on('error', (err: unknown) => failures.push(err))
  t.equal(await raw.set('fn', () => 1), false, 'a function cannot be stored: set resolves false')
  t.equal(failures.length, 1, 'and Keyv emits the error')
  await raw.disconnect()
  await keyv.disconnect()

  // And after a reopen, from disk.
  const again = new Keyv({ store: new KeyvCask(location) })
  t.same(await again.get('buf'), buf, 'Buffer survives reopen')
  t.same(await again.get('obj'), { a: [1, 'two', null], b: { c: true } })
  await again.disconnect()
})

test('keyv5: ttl becomes the engine record expiry; expired keys are absent for get, has, hasMany, getMany, iterator', async (t) => {
  const clock = new ManualClock()
  const store = new KeyvCask({ location: tempPath(), clock })
  store.namespace = 'ns'
  await store.set('ns:short', 'a', 1000)
  await store.set('ns:long', 'b', 5000)
  await store.set('ns:forever', 'c')
  await store.set('ns:zero', 'd', 0)
  const db = await store.getEngine()
  const start = clock.now()
  t.equal(db.expiresAt(Buffer.concat([Buffer.from([1, 2]), Buffer.from('nsshort')])), start + 1000, 'engine holds the expiry')
  t.equal(await store.has('ns:short'), true)
  clock.advance(1000)
  t.equal(await store.get('ns:short'), undefined, 'get')
  t.equal(await store.has('ns:short'), false, 'has (Keyv 5 trusts it blindly)')
  t.same(await store.hasMany(['ns:short', 'ns:long', 'ns:forever', 'ns:zero']), [false, true, true, true], 'hasMany; ttl 0 means none')
  t.same(await store.getMany(['ns:short', 'ns:long']), [undefined, 'b'], 'getMany')
  t.same(
    (await collect(store.iterator('ns'))).map(([k]) => k),
    ['ns:forever', 'ns:long', 'ns:zero'],
    'iterator',
  )
  t.equal(await store.delete('ns:short'), false, 'deleting an expired key reports it was not there')
  await store.set('ns:neg', 'x', -1)
  t.equal(await store.has('ns:neg'), false, 'a negative ttl is already expired')
  await store.set('ns:long', 'b2', -5)
  t.equal(await store.get('ns:long'), undefined, 'and overwriting with a negative ttl removes the old value')
  await store.disconnect()
})

test('keyv5: real time — a Keyv ttl expires in the store itself', async (t) => {
  const keyv = new Keyv({ store: new KeyvCask(tempPath()) })
  await keyv.set('k', 'v', 40)
  t.equal(await keyv.get('k'), 'v')
  await sleep(80)
  t.equal(await keyv.has('k'), false, 'keyv.has (answered by the store)')
  t.equal(await keyv.store.get('keyv:k'), undefined, 'the store itself returns nothing')
  await keyv.disconnect()
})

test('keyv5: keys — the namespace prefix is stripped, colons elsewhere are kept, bare keys file under the namespace', async (t) => {
  const store = new KeyvCask(tempPath())
  store.namespace = 'a'
  await store.set('a:x:y', '1')
  await store.set('a:', 'empty key')
  await store.set('bare', '2')
  t.equal(await store.get('x:y'), '1', '`a:x:y` is key `x:y` of namespace `a`, same as the bare key')
  t.equal(await store.get('a:bare'), '2')
  t.same(
    (await collect(store.iterator('a'))).map(([k]) => k),
    ['a:', 'a:bare', 'a:x:y'],
    'iterator yields ns-prefixed keys in key order',
  )
  store.namespace = 'a:x'
  t.equal(await store.get('a:x:y'), undefined, 'namespace `a:x` is not a part of namespace `a`')
  await store.set('a:x:y', 'in a:x')
  store.namespace = 'a'
  t.equal(await store.get('a:x:y'), '1', 'and writes to it do not touch `a`')
  store.namespace = undefined
  t.equal(await store.get('a:x:y'), undefined, 'no namespace is a partition of its own')
  await store.set('a:x:y', 'no namespace')
  t.same(await collect(store.iterator()), [['a:x:y', 'no namespace']], 'keys are kept whole without a namespace')
  store.namespace = ''
  t.equal(await store.get('a:x:y'), 'no namespace', 'the empty namespace is "no namespace"')
  await store.disconnect()
})

test('keyv5: bulk methods return what Keyv 5 expects; setMany and deleteMany are atomic', async (t) => {
  const store = new KeyvCask(tempPath())
  const keyv = new Keyv({ store })
  t.same(await keyv.setMany([{ key: 'a', value: 1 }, { key: 'b', value: 2, ttl: 10_000 }, { key: 'c', value: 3 }]), [true, true, true])
  t.same(await keyv.getMany(['a', 'b', 'missing', 'c']), [1, 2, undefined, 3])
  t.same(await keyv.hasMany(['a', 'missing']), [true, false])
  t.equal(await store.deleteMany(['keyv:missing', 'keyv:other']), false, 'deleteMany of absent keys is false')
  t.equal(await keyv.deleteMany(['a', 'missing']), true, 'one boolean: true when something was deleted')
  t.same(await keyv.getMany(['a', 'b', 'c']), [undefined, 2, 3])
  t.same(await store.setMany([]), [], 'empty setMany')
  t.same(await store.getMany([]), [])
  const db = await store.getEngine()
  const before = db.stats().writeCalls
  await keyv.setMany(Array.from({ length: 100 }, (_, i) => ({ key: `bulk${i}`, value: i })))
  t.equal(db.stats().writeCalls - before, 1, 'setMany is one engine batch (one write)')
  await keyv.disconnect()
})

test('keyv5: iterator pages through large namespaces without holding engine iterators', async (t) => {
  const store = new KeyvCask({ location: tempPath(), iterationLimit: 7 })
  const keyv = new Keyv({ store, namespace: 'big' })
  const other = new Keyv({ store: new KeyvCask(store.location), namespace: 'bigger' })
  const n = 100
  await keyv.setMany(Array.from({ length: n }, (_, i) => ({ key: `k${String(i).padStart(3, '0')}`, value: i })))
  await other.set('k000', 'other namespace')
  const seen: [string, unknown][] = []
  for await (const entry of keyv.iterator!(undefined)) seen.push(entry as [string, unknown])
  t.equal(seen.length, n, 'every entry, across 15 pages')
  t.same(seen[0], ['k000', 0])
  t.same(seen[n - 1], ['k099', n - 1])
  // Leave a loop early: nothing stays open, writes continue.
  for await (const entry of keyv.iterator!(undefined)) {
    t.ok(entry, 'first entry')
    break
  }
  await keyv.set('after', 'break')
  t.equal(await keyv.get('after'), 'break')
  // Deleting while iterating is safe (Keyv 5 deletes expired entries mid-iteration).
  let count = 0
  for await (const [key] of store.iterator('big')) {
    await store.delete(key as string)
    count++
  }
  t.equal(count, n + 1, 'every entry visited while deleting')
  t.same(await collect(store.iterator('big')), [], 'and all are gone')
  t.equal(await other.get('k000'), 'other namespace', 'the other namespace is untouched')
  await keyv.disconnect()
  await other.disconnect()
})

test('keyv5: createKeyv returns a working Keyv on a KeyvCask store', async (t) => {
  const location = tempPath()
  const keyv = createKeyv(location, { namespace: 'users', ttl: 60_000 })
  t.ok(keyv instanceof Keyv)
  t.ok(keyv.store instanceof KeyvCask)
  await (keyv.store as KeyvCask).ready()
  await keyv.set('alice', { age: 30 })
  t.same(await keyv.get('alice'), { age: 30 })
  t.equal(keyv.namespace, 'users')
  const db = await (keyv.store as KeyvCask).getEngine()
  t.ok(db.expiresAt(Buffer.from([1, 5, ...Buffer.from('usersalice')]))! > Date.now(), 'Keyv default ttl reaches the engine')
  const withOptions = createKeyv({ location, namespace: 'fromStore', sync: true })
  t.equal(withOptions.namespace, 'fromStore', 'the adapter namespace becomes the Keyv namespace if none given')
  await withOptions.set('x', 1)
  t.equal(await withOptions.get('x'), 1)
  await keyv.disconnect()
  await withOptions.disconnect()
})

test('keyv5: durability options pass through (default / sync / writeBuffer)', async (t) => {
  const plain = new KeyvCask(tempPath())
  await plain.set('k', 'v')
  let db = await plain.getEngine()
  t.equal(db.stats().fsyncs, 0, 'default: handed to the OS, no fsync per write')
  t.equal(db.stats().bufferedBytes, 0, 'default: nothing waits in RAM')
  await plain.disconnect()

  const synced = new KeyvCask({ location: tempPath(), sync: true })
  db = await synced.getEngine()
  await synced.set('k', 'v')
  await synced.setMany([{ key: 'a', value: 'b' }])
  await synced.delete('k')
  t.equal(db.stats().fsyncs, 3, 'sync: every acknowledged write was fsynced')
  await synced.disconnect()

  const location = tempPath()
  const buffered = new KeyvCask({ location, writeBuffer: true, flushInterval: 60_000 })
  db = await buffered.getEngine()
  t.equal(db.options.writeBuffer, true)
  await buffered.set('k', 'v')
  t.ok(db.stats().bufferedBytes > 0, 'writeBuffer: acknowledged from RAM')
  t.equal(await buffered.get('k'), 'v', 'and readable at once')
  await buffered.disconnect()
  const reopened = new KeyvCask(location)
  t.equal(await reopened.get('k'), 'v', 'disconnect flushed the buffer')
  await reopened.disconnect()
})

test('keyv5: errors — bad arguments throw, a failed open rejects operations and emits error, disconnect is final', async (t) => {
  t.throws(() => new KeyvCask(undefined as unknown as string), /location/, 'no location')
  t.throws(() => new KeyvCask({ location: '' }), /location/)
  t.throws(() => new KeyvCask({ location: tempPath(), cacheSize: -1 }), /cacheSize/, 'engine options are validated at once')
  t.throws(() => new KeyvCask({ location: tempPath(), maxHeapRatio: 5 }), /maxHeapRatio/, 'maxHeapRatio reaches the engine')
  t.throws(() => new KeyvCask({ location: tempPath(), warmCache: 'no' as unknown as boolean }), /warmCache/, 'warmCache reaches the engine')
  t.throws(() => new KeyvCask({ location: tempPath(), clearExpiredInterval: -5 }), /clearExpiredInterval/)

  // A file where the directory should be.
  const file = join(tempDir(), 'not-a-dir')
  writeFileSync(file, 'x')
  const store = new KeyvCask(file)
  const errors: unknown[] = []
  const keyv = new Keyv({ store })
  keyv.on('error', (err: unknown) => errors.push(err))
  try {
    await store.ready()
    t.fail('ready() should reject')
  } catch (err) {
    t.ok(isCaskError(err, 'IO_ERROR'), 'ready() rejects with the reason')
  }
  t.equal(await keyv.get('k'), undefined, 'Keyv swallows the failed get')
  t.equal(await keyv.set('k', 'v'), false, 'and reports the failed set')
  t.ok(errors.length >= 1, 'the open failure reached Keyv error listeners')
  await store.disconnect()

  const ok = new KeyvCask(tempPath())
  await ok.set('k', 'v')
  await ok.disconnect()
  await ok.disconnect()
  try {
    await ok.get('k')
    t.fail('get after disconnect should reject')
  } catch (err) {
    t.ok(isCaskError(err, 'CLOSED'), 'operations after disconnect reject with CLOSED')
  }
})

test('keyv5: the store refuses keys the engine cannot hold, and Keyv reports it', async (t) => {
  const store = new KeyvCask({ location: tempPath(), maxKeySize: 16 })
  const keyv = new Keyv({ store })
  const errors: unknown[] = []
  keyv.on('error', (e: unknown) => errors.push(e))
  t.equal(await keyv.set('x'.repeat(40), 'v'), false)
  t.ok(isCaskError(errors[0], 'INVALID_KEY'), 'INVALID_KEY reaches the error event')
  await keyv.disconnect()
})

test('keyv5: background engine errors reach the error listeners of every adapter sharing the engine', async (t) => {
  const faulty = new FaultyFs({ kind: 'fsync', nth: 1, sticky: true })
  const clock = new ManualClock()
  const location = tempPath()
  const a = new Keyv({ store: new KeyvCask({ location, fs: faulty.fs, clock, syncInterval: 1000 }), namespace: 'a' })
  const b = new Keyv({ store: new KeyvCask({ location, fs: faulty.fs, clock }), namespace: 'b' })
  const heard: string[] = []
  a.on('error', () => heard.push('a'))
  b.on('error', () => heard.push('b'))
  await a.set('k', 'v')
  clock.advance(1000)
  for (let i = 0; i < 50 && heard.length < 2; i++) await sleep(5)
  t.same(heard.sort(), ['a', 'b'], 'the failed background fsync was reported to both')
  t.ok(faulty.injected >= 1)
  faulty.fault = undefined
  await Promise.allSettled([a.disconnect(), b.disconnect()])
})
