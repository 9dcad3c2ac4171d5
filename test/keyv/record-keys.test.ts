/**
 * The hot paths hand the engine string record keys (namespace head + key)
 * where the namespace prefix is ASCII, and Buffers otherwise. Either way the
 * bytes on disk must be exactly `encodeKey(namespacePrefix(ns), key)`, the
 * format every earlier version wrote, and reads must find them.
 */
import test from 'tape'
import Keyv from 'keyv'
import { KeyvCask, KeyvCaskV6 } from '../../adapters/keyv/index.js'
import { encodeKey, namespacePrefix, prefixHead } from '../../adapters/keyv/codec.js'
import { tempPath } from '../helpers/tmp.js'

const NAMESPACES = [undefined, 'keyv', 'ключи', 'n'.repeat(127), 'n'.repeat(200), 'ns\u0080']
const KEYS = ['plain', 'ключ ✓ 🎉', 'a:b:c', '', 'lone \ud800 surrogate', 'x'.repeat(300), '\u00e9\u00ff']

test('record keys: string heads only for ASCII prefixes', (t) => {
  t.equal(prefixHead(namespacePrefix(undefined)), '\x00')
  t.equal(prefixHead(namespacePrefix('keyv')), '\x01\x04keyv')
  t.equal(prefixHead(namespacePrefix('n'.repeat(127))), '\x01\x7f' + 'n'.repeat(127))
  t.equal(prefixHead(namespacePrefix('n'.repeat(128))), undefined, 'a two-byte varint has a byte >= 0x80')
  t.equal(prefixHead(namespacePrefix('ключи')), undefined)
  t.end()
})

test('record keys: what KeyvCask and KeyvCaskV6 write is encodeKey(prefix, key), and reads find it', async (t) => {
  const location = tempPath()
  const v5 = new KeyvCask(location)
  const v6 = new KeyvCaskV6(location)
  const expected = new Set<string>()
  let i = 0
  for (const ns of NAMESPACES) {
    v5.namespace = ns
    v6.namespace = ns
    for (const key of KEYS) {
      // Keyv 5 hands over `${namespace}:key`; Keyv 6 the bare key. Alternate which one writes.
      const value = `v${i++}`
      if (i % 2 === 0) t.equal(await v5.set(ns === undefined ? key : `${ns}:${key}`, value), true)
      else t.equal(await v6.set(key, value), true)
      expected.add(encodeKey(namespacePrefix(ns), key).toString('hex'))
      t.equal(await v5.get(ns === undefined ? key : `${ns}:${key}`), value, `v5 reads ${ns?.slice(0, 8)}/${key.slice(0, 8)}`)
      t.equal(await v6.get(key), value, `v6 reads ${ns?.slice(0, 8)}/${key.slice(0, 8)}`)
      t.equal(await v6.has(key), true)
    }
  }
  const engine = await v5.getEngine()
  const stored = new Set<string>()
  for await (const [key] of engine.iterator()) stored.add(key!.toString('hex'))
  t.same([...stored].sort(), [...expected].sort(), 'the engine holds exactly the encodeKey bytes')
  await v6.disconnect()
  await v5.disconnect()

  // Reopened (index rebuilt from disk): still found.
  const again = new KeyvCask(location)
  again.namespace = 'ключи'
  t.equal(await again.get('ключи:ключ ✓ 🎉'), 'v' + (NAMESPACES.indexOf('ключи') * KEYS.length + 1), 'a non-ASCII namespace key is found after reopen')
  again.namespace = 'keyv'
  t.equal(await again.get('keyv:lone \ud800 surrogate'), 'v' + (NAMESPACES.indexOf('keyv') * KEYS.length + 4), 'a lone surrogate key is found after reopen')
  // Through Keyv 5 as well (its namespace scopes the keys).
  const keyv = new Keyv({ store: again, namespace: 'ключи', serialize: undefined, deserialize: undefined })
  t.equal(await keyv.store.get('ключи:plain'), 'v' + NAMESPACES.indexOf('ключи') * KEYS.length)
  await keyv.disconnect()
})

test('record keys: get and set never throw synchronously; bad keys and values reject', async (t) => {
  const v5 = new KeyvCask(tempPath())
  const v6 = new KeyvCaskV6(tempPath())
  await v5.ready()
  await v6.ready()
  for (const [name, call] of [
    ['v5 get(undefined)', () => v5.get(undefined as unknown as string)],
    ['v5 set(undefined)', () => v5.set(undefined as unknown as string, 'x')],
    ['v5 set(fn value)', () => v5.set('k', () => 1)],
    ['v5 set(too long key)', () => v5.set('k'.repeat(70_000), 'x')],
    ['v5 get(too long key)', () => v5.get('k'.repeat(70_000))],
    ['v5 has(undefined)', () => v5.has(undefined as unknown as string)],
    ['v6 get(null)', () => v6.get(null as unknown as string)],
    ['v6 has(null)', () => v6.has(null as unknown as string)],
    ['v6 set(null)', () => v6.set(null as unknown as string, 'x')],
    ['v6 set(symbol value)', () => v6.set('k', Symbol('s'))],
  ] as const) {
    let promise: Promise<unknown> | undefined
    try {
      promise = call()
    } catch (err) {
      t.fail(`${name} threw synchronously: ${String(err)}`)
      continue
    }
    t.ok(promise instanceof Promise, `${name} returns a promise`)
    await promise.then(
      () => t.fail(`${name} resolved`),
      (err: unknown) => t.ok(err instanceof Error, `${name} rejects`),
    )
  }
  await v5.disconnect()
  await v6.disconnect()
  // After disconnect: rejected, not thrown.
  await v5.get('k').then(
    () => t.fail('get after disconnect resolved'),
    (err: { code?: string }) => t.equal(err.code, 'CLOSED', 'get after disconnect rejects CLOSED'),
  )
  await v5.has('k').then(
    () => t.fail('has after disconnect resolved'),
    (err: { code?: string }) => t.equal(err.code, 'CLOSED', 'has after disconnect rejects CLOSED'),
  )
  await v6.set('k', 'v').then(
    () => t.fail('set after disconnect resolved'),
    (err: { code?: string }) => t.equal(err.code, 'CLOSED', 'set after disconnect rejects CLOSED'),
  )
})

test('record keys: get and set issued before the engine is open wait for it', async (t) => {
  const location = tempPath()
  const store = new KeyvCask(location)
  const set = store.set('early', 'bird')
  const got = store.get('missing')
  const has = store.has('missing')
  t.equal(await set, true, 'set resolves true once open and written')
  t.equal(await has, false, 'has resolves once open')
  t.equal(await got, undefined, 'get resolves once open')
  t.equal(await store.get('early'), 'bird')
  await store.disconnect()
})

test('stored values: a string is tag 0x00 then its UTF-8 bytes, whichever way it reaches the engine', async (t) => {
  const store = new KeyvCask(tempPath())
  const strings = ['', 'plain', 'ключ ✓ 🎉', 'lone \ud800 and \udc00', '\u0000nul inside', '{"value":"x"}', 'y'.repeat(10_000)]
  for (const [i, s] of strings.entries()) await store.set(`s${i}`, s)
  await store.setMany(strings.map((s, i) => ({ key: `m${i}`, value: s })))
  await store.set('exp', 'with expiry', 60_000)
  const engine = await store.getEngine()
  for (const [i, s] of strings.entries()) {
    const expected = Buffer.concat([Buffer.from([0]), Buffer.from(s, 'utf8')])
    t.ok(engine.getSync(`\x00s${i}`)?.equals(expected), `set: bytes of string ${i}`)
    t.ok(engine.getSync(`\x00m${i}`)?.equals(expected), `setMany: bytes of string ${i}`)
    t.equal(await store.get(`s${i}`), Buffer.from(s, 'utf8').toString('utf8'), `string ${i} reads back`)
  }
  t.ok(engine.getSync('\x00exp')?.equals(Buffer.from('\x00with expiry')), 'set with ttl: same bytes')
  await store.disconnect()
})
