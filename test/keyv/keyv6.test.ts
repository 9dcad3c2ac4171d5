/**
 * KeyvCaskV6 against keyv@6.1.0 (installed as the `keyv6` alias).
 *
 * Part 1 mirrors the cases of the unpublished v6 storage suite
 * (storage-basic, -batch, -iterator, -ttl, -namespace, -disconnect) on the
 * adapter directly. Part 2 drives it through a Keyv 6 instance.
 * keyv 6.1.0 declares Node >= 22.19; on Node 20 it warns at install and runs.
 */
import test from 'tape'
import { randomUUID } from 'node:crypto'
import Keyv6, { type KeyvStorageAdapter } from 'keyv6'
import { KeyvCask, KeyvCaskV6 } from '../../adapters/keyv/index.js'
import { ManualClock } from '../helpers/clock.js'
import { tempPath } from '../helpers/tmp.js'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const rand = () => randomUUID().slice(0, 10)

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = []
  for await (const x of it) out.push(x)
  return out
}

// One location for part 1, like the suite with a shared file: random keys keep tests apart.
const location = tempPath()
const opened: KeyvCaskV6[] = []
const store = () => {
  const s = new KeyvCaskV6(location)
  opened.push(s)
  return s
}

// ---- part 1: storage cases ------------------------------------------------

test('v6 storage basic: set/get round-trip, missing, delete, has, clear', async (t) => {
  const s = store()
  const key = rand()
  t.equal(await s.set(key, 'value one'), true, 'set resolves true')
  t.equal(await s.get(key), 'value one')
  t.equal(await s.get(rand()), undefined, 'missing key is undefined')
  t.equal(await s.delete(key), true, 'delete of an existing key is true')
  t.equal(await s.get(key), undefined)
  t.equal(await s.delete(rand()), false, 'delete of a missing key is false')
  const k2 = rand()
  await s.set(k2, 'v')
  t.equal(await s.has(k2), true)
  t.equal(await s.has(rand()), false)
  await s.delete(k2)
  t.equal(await s.has(k2), false, 'has is false after delete')
  const [a, b] = [rand(), rand()]
  await s.set(a, '1')
  await s.set(b, '2')
  t.equal(await s.clear(), undefined, 'clear resolves undefined')
  t.same(await s.getMany([a, b]), [undefined, undefined], 'clear removed all pairs')
})

test('v6 storage batch: setMany, getMany, hasMany, deleteMany return arrays', async (t) => {
  const s = store()
  const keys = [rand(), rand(), rand()]
  t.same(await s.setMany(keys.map((key, i) => ({ key, value: `v${i}` }))), [true, true, true])
  t.same(await s.getMany(keys), ['v0', 'v1', 'v2'])
  t.same(await s.setMany([]), [], 'setMany([])')
  t.same(await s.getMany([rand(), rand()]), [undefined, undefined], 'missing values are undefined')
  t.same(await s.getMany([]), [])
  t.same(await s.hasMany([keys[0]!, keys[1]!, rand()]), [true, true, false])
  t.same(await s.hasMany([]), [])
  t.same(await s.deleteMany([keys[0]!, keys[1]!]), [true, true])
  t.same(await s.getMany([keys[0]!, keys[1]!]), [undefined, undefined])
  t.same(await s.deleteMany([rand(), rand()]), [false, false], 'deleteMany of missing keys')
  t.same(await s.deleteMany([]), [])
  t.same(await s.deleteMany([keys[2]!, keys[2]!]), [true, false], 'a repeated key is deleted once')
})

test('v6 storage iterator: async iterator, all pairs, namespace only, empty', async (t) => {
  const s = store()
  t.equal(typeof s.iterator()[Symbol.asyncIterator], 'function')
  const ns = rand()
  s.namespace = ns
  const entries = new Map([rand(), rand(), rand()].map((k, i) => [k, `w${i}`]))
  for (const [k, v] of entries) await s.set(k, v)
  const collected = new Map(await collect(s.iterator(ns)))
  t.same(collected, entries, 'iterator(namespace) yields every pair of the namespace')
  t.same(new Map(await collect(s.iterator())), entries, 'iterator() without arguments: current namespace')

  const t2 = store()
  const noNsKey = rand()
  await t2.set(noNsKey, 'outside')
  const ns2 = rand()
  t2.namespace = ns2
  await t2.set(rand(), 'a')
  await t2.set(rand(), 'b')
  t.equal((await collect(t2.iterator(ns2))).length, 2, 'only namespaced keys')
  t2.namespace = undefined
  t.ok((await collect(t2.iterator())).some(([k]) => k === noNsKey), 'the undefined namespace iterates its own keys')

  const empty = store()
  empty.namespace = rand()
  t.same(await collect(empty.iterator(empty.namespace)), [], 'empty namespace yields nothing')
})

test('v6 storage ttl (real time): absolute expires, elapsed deadline, has, setMany per-entry', async (t) => {
  const s = store()
  await s.get(rand()) // warm up: the engine is open before deadlines are taken
  const ttl = 150
  const wait = 400
  const k1 = rand()
  await s.set(k1, 'soon', Date.now() + ttl)
  t.equal(await s.get(k1), 'soon')
  const k2 = rand()
  await s.set(k2, 'never', Date.now() - ttl)
  const k3 = rand()
  await s.set(k3, 'x', Date.now() + ttl)
  const [m1, m2] = [rand(), rand()]
  await s.setMany([
    { key: m1, value: 'm1', expires: Date.now() + ttl },
    { key: m2, value: 'm2' },
  ])
  t.same(await s.getMany([m1, m2]), ['m1', 'm2'])
  await sleep(wait)
  t.equal(await s.get(k1), undefined, 'expired after the deadline')
  t.equal(await s.get(k2), undefined, 'an already-elapsed deadline does not persist')
  t.equal(await s.has(k3), false, 'has is false for an expired key')
  t.same(await s.getMany([m1, m2]), [undefined, 'm2'], 'setMany expires entries individually')
})

test('v6 storage ttl (manual clock): expiry is exact to the millisecond, and elapsed deadlines delete', async (t) => {
  const clock = new ManualClock()
  const s = new KeyvCaskV6({ location: tempPath(), clock })
  await s.set('k', 'v', clock.now() + 1000)
  await s.set('old', 'v')
  const db = await s.getEngine()
  t.equal(db.expiresAt(Buffer.from([0, ...Buffer.from('k')])), clock.now() + 1000, 'absolute expires stored as is')
  clock.advance(999)
  t.equal(await s.get('k'), 'v', 'alive 1 ms before')
  clock.advance(1)
  t.equal(await s.get('k'), undefined, 'gone at its deadline')
  t.equal(await s.has('k'), false)
  await s.set('old', 'new', clock.now())
  t.equal(await s.get('old'), undefined, 'expires == now: the write deletes the old value')
  t.same(await s.setMany([{ key: 'old', value: 'again', expires: clock.now() - 1 }, { key: 'n', value: 'kept' }]), [true, true])
  t.same(await s.getMany(['old', 'n']), [undefined, 'kept'])
  await s.disconnect()
})

test('v6 storage namespace: a fresh store has no namespace; the property is settable', (t) => {
  const s = store()
  t.equal(s.namespace, undefined)
  s.namespace = 'test-ns'
  t.equal(s.namespace, 'test-ns')
  s.namespace = undefined
  t.equal(s.namespace, undefined)
  t.end()
})

test('v6 storage disconnect: resolves, is idempotent, later calls reject', async (t) => {
  const s = new KeyvCaskV6(tempPath())
  await s.set('k', 'v')
  t.equal(await s.disconnect(), undefined)
  t.equal(await s.disconnect(), undefined, 'twice is fine')
  try {
    await s.get('k')
    t.fail('should reject')
  } catch (err) {
    t.match((err as Error).message, /disconnected/)
  }
})

test('v6 capabilities: expires true, every storage method async', (t) => {
  // Type-level: the class is a keyv 6 KeyvStorageAdapter.
  const s: KeyvStorageAdapter & KeyvCaskV6 = store()
  const cap = s.capabilities
  t.equal(cap.expires, true)
  t.equal(cap.compatible, true)
  t.equal(cap.store, 'keyvStorage')
  for (const name of ['get', 'getMany', 'has', 'hasMany', 'set', 'setMany', 'delete', 'deleteMany', 'clear', 'disconnect', 'iterator'] as const) {
    t.ok(cap.methods[name].exists, `${name} exists`)
    t.equal(cap.methods[name].methodType, 'async', `${name} is async`)
  }
  t.end()
})

test('v6 storage: close the shared test location', async (t) => {
  await Promise.all(opened.map((s) => s.disconnect()))
  t.pass('all disconnected')
})

// ---- part 2: through Keyv 6 -------------------------------------------------

test('keyv6: Keyv 6 uses KeyvCaskV6 directly and passes absolute expiry', async (t) => {
  const adapter = new KeyvCaskV6(tempPath())
  const keyv = new Keyv6({ store: adapter, namespace: 'users' })
  t.equal(keyv.store, adapter, 'not wrapped in a bridge')
  t.equal(adapter.namespace, 'users', 'Keyv 6 sets the adapter namespace')
  const before = Date.now()
  await keyv.set('alice', { age: 30 }, 60_000)
  const db = await adapter.getEngine()
  const expires = db.expiresAt(Buffer.from([1, 5, ...Buffer.from('usersalice')]))!
  t.ok(expires >= before + 60_000 && expires <= Date.now() + 60_000, 'engine expiry = Keyv expires')
  t.same(await keyv.get('alice'), { age: 30 })
  t.equal(await keyv.get('nobody'), undefined)
  t.same(await keyv.getMany(['alice', 'nobody']), [{ age: 30 }, undefined])
  t.same(await keyv.hasMany(['alice', 'nobody']), [true, false])
  t.same(await keyv.setMany([{ key: 'bob', value: 1 }, { key: 'carol', value: 2, ttl: 50 }]), [true, true])
  t.same((await collect(keyv.iterator())).map(([k]) => k), ['alice', 'bob', 'carol'], 'iterator yields bare keys')
  await sleep(120)
  t.equal(await keyv.get('carol'), undefined, 'ttl through Keyv 6')
  t.equal(await adapter.get('carol'), undefined, 'and in the store itself')
  t.same(await keyv.deleteMany(['bob', 'nobody']), [true, false])
  await keyv.disconnect()
})

test('keyv6: namespaces through Keyv 6 (default namespace undefined, clear scoped)', async (t) => {
  const loc = tempPath()
  const plain = new Keyv6({ store: new KeyvCaskV6(loc) })
  const a = new Keyv6({ store: new KeyvCaskV6(loc), namespace: 'a' })
  const b = new Keyv6({ store: new KeyvCaskV6(loc), namespace: 'b' })
  t.equal(plain.namespace, undefined, 'Keyv 6 default namespace is undefined')
  await plain.set('k', 'plain')
  await a.set('k', 'a')
  await b.set('k', 'b')
  t.same([await plain.get('k'), await a.get('k'), await b.get('k')], ['plain', 'a', 'b'])
  await a.clear()
  t.same([await plain.get('k'), await a.get('k'), await b.get('k')], ['plain', undefined, 'b'], 'clear of `a` only')
  await plain.clear()
  t.same([await plain.get('k'), await b.get('k')], [undefined, 'b'], 'clear without namespace only clears that partition')
  b.namespace = 'a'
  t.equal(await b.get('k'), undefined, 'changing the Keyv namespace re-scopes its adapter')
  await Promise.all([plain.disconnect(), a.disconnect(), b.disconnect()])
})

test('keyv6: values with serialization off stay intact', async (t) => {
  const keyv = new Keyv6({ store: new KeyvCaskV6(tempPath()), serialization: false })
  const value = { when: new Date(0), bytes: Buffer.from('hi'), big: 10n }
  await keyv.set('k', value)
  const back = (await keyv.get('k')) as typeof value
  t.ok(back.when instanceof Date && back.when.getTime() === 0)
  t.equal(back.big, 10n)
  t.same([...back.bytes], [...Buffer.from('hi')])
  await keyv.disconnect()
})

test('keyv6: the Keyv 5 class under Keyv 6 is bridged — works, but iterator keys keep `ns:` (use KeyvCaskV6)', async (t) => {
  const v5 = new KeyvCask(tempPath())
  const keyv = new Keyv6({ store: v5, namespace: 'ns' })
  t.notEqual(keyv.store, v5, 'Keyv 6 wraps it in its bridge adapter')
  await keyv.set('k', 'v', 60_000)
  t.equal(await keyv.get('k'), 'v')
  t.equal(await keyv.has('k'), true)
  t.same((await collect(keyv.iterator())).map(([k]) => k), ['ns:k'], 'documented limitation')
  await keyv.clear()
  t.equal(await keyv.get('k'), undefined)
  await keyv.disconnect()
})
