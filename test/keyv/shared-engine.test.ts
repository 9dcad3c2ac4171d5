/**
 * Namespaces never mix, and adapter objects on one location share one
 * engine: opened once, closed by the last disconnect.
 */
import test from 'tape'
import { existsSync, mkdirSync, symlinkSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join, relative } from 'node:path'
import Keyv from 'keyv'
import { KeyvCask, KeyvCaskV6 } from '../../adapters/keyv/index.js'
import { sharedEngineCount } from '../../adapters/keyv/shared-engine.js'
import { CaskDB, isCaskError } from '../../src/index.js'
import { tempDir, tempPath } from '../helpers/tmp.js'

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = []
  for await (const x of it) out.push(x)
  return out
}

test('shared engine: adapters on one location share one engine; the last disconnect closes it', async (t) => {
  const location = tempPath()
  const baseline = sharedEngineCount()
  const a = new KeyvCask(location)
  const b = new KeyvCask(location)
  const c = new KeyvCaskV6(location)
  t.equal(sharedEngineCount(), baseline + 1, 'one engine for three adapters')
  const engine = await a.getEngine()
  t.equal(await b.getEngine(), engine)
  t.equal(await c.getEngine(), engine)
  t.equal(engine.status, 'open')
  await a.disconnect()
  t.equal(engine.status, 'open', 'still open while others use it')
  t.equal(await (b.set('k', 'v')), true, 'the others keep working')
  await b.disconnect()
  t.equal(await c.get('k'), 'v')
  await c.disconnect()
  t.equal(engine.status, 'closed', 'the last disconnect closed it')
  t.equal(sharedEngineCount(), baseline)

  // The directory lock is free again: the engine itself can open it, then adapters again.
  const direct = await CaskDB.open(location)
  await direct.close()
  const d = new KeyvCask(location)
  t.equal(await d.get('k'), 'v', 'a new adapter reopens the data')
  t.notEqual(await d.getEngine(), engine, 'with a fresh engine')
  await d.disconnect()
})

test('shared engine: a new adapter while the last one is closing waits for the close, then reopens', async (t) => {
  const location = tempPath()
  const a = new KeyvCask(location)
  await a.set('k', 'v')
  const closing = a.disconnect()
  const b = new KeyvCask(location)
  t.equal(await b.get('k'), 'v', 'no LOCKED error, data intact')
  await closing
  await b.disconnect()
})

test('shared engine: different spellings of one directory share it (relative path, symlink)', async (t) => {
  const dir = tempDir()
  const real = join(dir, 'real')
  mkdirSync(real)
  symlinkSync(real, join(dir, 'link'))
  const a = new KeyvCask(real)
  const b = new KeyvCask(relative(process.cwd(), real))
  const c = new KeyvCask(join(dir, 'link'))
  t.equal(await b.getEngine(), await a.getEngine(), 'relative path')
  t.equal(await c.getEngine(), await a.getEngine(), 'through a symlink')
  await Promise.all([a.disconnect(), b.disconnect(), c.disconnect()])
})

test('shared engine: contradicting engine options are refused, omitted ones are fine, sync may differ', async (t) => {
  const location = tempPath()
  const a = new KeyvCask({ location, cacheSize: 1024 * 1024 })
  try {
    new KeyvCask({ location, cacheSize: 2 * 1024 * 1024 })
    t.fail('should throw')
  } catch (err) {
    t.ok(isCaskError(err, 'INVALID_OPTION'), 'INVALID_OPTION')
    t.match((err as Error).message, /cacheSize/, 'names the option')
  }
  const b = new KeyvCask({ location })
  const c = new KeyvCask({ location, cacheSize: 1024 * 1024, sync: true })
  const engine = await a.getEngine()
  t.equal(await c.getEngine(), engine)
  const before = engine.stats().fsyncs
  await b.set('nosync', '1')
  t.equal(engine.stats().fsyncs, before, 'adapter without sync: no fsync')
  await c.set('sync', '1')
  t.equal(engine.stats().fsyncs, before + 1, 'adapter with sync: fsync, same engine')
  await Promise.all([a.disconnect(), b.disconnect(), c.disconnect()])
})

test('namespaces: two Keyv instances on two adapters of one location never mix', async (t) => {
  const location = tempPath()
  const users = new Keyv({ store: new KeyvCask(location), namespace: 'users' })
  const sessions = new Keyv({ store: new KeyvCask(location), namespace: 'sessions' })
  const plain = new Keyv({ store: new KeyvCask(location), namespace: undefined })
  // Interleaved writes from all three.
  await Promise.all(
    Array.from({ length: 50 }, (_, i) => [
      users.set(`k${i}`, `user${i}`),
      sessions.set(`k${i}`, `session${i}`),
      plain.set(`k${i}`, `plain${i}`),
    ]).flat(),
  )
  t.equal(await users.get('k7'), 'user7')
  t.equal(await sessions.get('k7'), 'session7')
  t.equal(await plain.get('k7'), 'plain7')
  t.equal((await collect(users.iterator!(undefined))).length, 50)
  t.ok((await collect(sessions.iterator!(undefined))).every(([, v]) => String(v).startsWith('session')), 'iterator stays in its namespace')
  t.ok((await collect(plain.iterator!(undefined))).every(([, v]) => String(v).startsWith('plain')), 'no namespace is its own partition')

  await users.clear()
  t.equal(await users.get('k7'), undefined, 'clear() emptied its namespace')
  t.same(await collect(users.iterator!(undefined)), [])
  t.equal(await sessions.get('k7'), 'session7', 'other namespaces are intact')
  t.equal(await plain.get('k7'), 'plain7', 'and so is the undefined partition')
  await plain.clear()
  t.equal(await plain.get('k7'), undefined, 'clearing "no namespace" clears only that')
  t.equal(await sessions.get('k7'), 'session7')
  t.equal(await sessions.delete('k8'), true)
  t.equal(await sessions.delete('k8'), false)

  // Keyv 5 writes store.namespace: changing it later re-scopes that adapter only.
  sessions.namespace = 'users'
  t.equal(await sessions.get('k7'), undefined, 'sessions now looks at users (cleared)')
  sessions.namespace = 'sessions'
  t.equal(await sessions.get('k7'), 'session7')
  await Promise.all([users.disconnect(), sessions.disconnect(), plain.disconnect()])
})

test('namespaces: tricky names stay separate (prefixes of each other, colons, NUL, unicode, long)', async (t) => {
  const location = tempPath()
  const names = ['a', 'a:', 'a:b', 'ab', 'a\u0000b', 'ключ', 'x'.repeat(300), ':', 'keyv']
  const stores = names.map((namespace) => {
    const s = new KeyvCaskV6(location)
    s.namespace = namespace
    return s
  })
  for (const [i, s] of stores.entries()) {
    await s.set('k', `value of ${i}`)
    await s.set('b:k', `colon value of ${i}`)
  }
  for (const [i, s] of stores.entries()) {
    t.equal(await s.get('k'), `value of ${i}`, `namespace ${JSON.stringify(names[i]!.slice(0, 10))} reads its own`)
    t.same((await collect(s.iterator())).map(([k]) => k), ['b:k', 'k'])
  }
  await stores[0]!.clear()
  t.equal(await stores[0]!.get('k'), undefined, '`a` cleared')
  for (const s of stores.slice(1)) t.equal(await s.has('k'), true, `namespace ${JSON.stringify(s.namespace!.slice(0, 10))} untouched`)
  await Promise.all(stores.map((s) => s.disconnect()))
})

test('namespaces: data written through the Keyv 5 adapter reads through the Keyv 6 adapter and back', async (t) => {
  const location = tempPath()
  const v5 = new KeyvCask(location)
  v5.namespace = 'shared'
  await v5.set('shared:k', 'from v5')
  const v6 = new KeyvCaskV6({ location, namespace: 'shared' })
  t.equal(await v6.get('k'), 'from v5')
  await v6.set('k2', 'from v6')
  t.equal(await v5.get('shared:k2'), 'from v6')
  t.same(await collect(v5.iterator('shared')), [['shared:k', 'from v5'], ['shared:k2', 'from v6']])
  t.same(await collect(v6.iterator()), [['k', 'from v5'], ['k2', 'from v6']])
  await Promise.all([v5.disconnect(), v6.disconnect()])
})

test('shared engine: the CommonJS build and this (ESM) code share one engine per directory', { skip: !existsSync(join(import.meta.dirname, '../../dist/cjs/adapters/keyv/index.js')) }, async (t) => {
  const require = createRequire(import.meta.url)
  const cjs = require('../../dist/cjs/adapters/keyv/index.js') as { KeyvCask: typeof KeyvCask }
  t.notEqual(cjs.KeyvCask, KeyvCask, 'two copies of the class')
  const location = tempPath()
  const a = new KeyvCask(location)
  const b = new cjs.KeyvCask(location)
  await a.set('k', 'from esm')
  t.equal(await b.get('k'), 'from esm', 'no LOCKED error: one engine')
  t.equal(await b.getEngine(), await a.getEngine())
  await Promise.all([a.disconnect(), b.disconnect()])
})
