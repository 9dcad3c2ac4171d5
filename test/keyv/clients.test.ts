/**
 * Real Keyv 5 clients, used unchanged with a KeyvCask store:
 * cacheable 2 (as secondary), cache-manager 7, got 14 (HTTP cache, 127.0.0.1 only).
 */
import test from 'tape'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import Keyv from 'keyv'
import { Cacheable } from 'cacheable'
import { createCache } from 'cache-manager'
import got from 'got'
import { KeyvCask } from '../../adapters/keyv/index.js'
import { tempPath } from '../helpers/tmp.js'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

test('cacheable: KeyvCask as the secondary (persistent) layer', async (t) => {
  const location = tempPath()
  const store = new KeyvCask(location)
  const cache = new Cacheable({ secondary: store })
  await cache.set('user:1', { name: 'Ada' })
  await cache.set('short', 'lived', 50)
  t.same(await cache.get('user:1'), { name: 'Ada' })
  t.same(await cache.getMany(['user:1', 'none']), [{ name: 'Ada' }, undefined])
  await cache.setMany([
    { key: 'a', value: 1 },
    { key: 'b', value: 2 },
  ])
  t.same(await cache.hasMany(['a', 'b', 'c']), [true, true, false])
  t.equal(await cache.delete('a'), true)
  await cache.deleteMany(['b'])

  // A second Cacheable with an empty primary finds the values in the secondary: they are on disk.
  const second = new Cacheable({ secondary: new KeyvCask(location) })
  t.same(await second.get('user:1'), { name: 'Ada' }, 'read through from the secondary')
  t.equal(await second.has('a'), false, 'deleted keys stay deleted')
  t.equal(await second.has('b'), false)
  await sleep(100)
  t.equal(await second.get('short'), undefined, 'ttl honoured by the secondary')
  await second.clear()
  t.equal(await cache.secondary!.get('user:1'), undefined, 'clear reached the store')
  await cache.disconnect()
  await second.disconnect()
})

test('cache-manager 7: createCache with a Keyv on KeyvCask', async (t) => {
  const location = tempPath()
  const cache = createCache({ stores: [new Keyv({ store: new KeyvCask(location) })] })
  await cache.set('k', { v: 1 })
  t.same(await cache.get('k'), { v: 1 })
  t.equal(await cache.get('missing'), undefined, 'v7: undefined for missing')
  await cache.set('ttl', 'x', 60_000)
  const expires = await cache.ttl('ttl')
  t.ok(typeof expires === 'number' && expires > Date.now(), 'ttl() reports the expiry')
  await cache.mset([
    { key: 'm1', value: 1 },
    { key: 'm2', value: 2 },
  ])
  t.same(await cache.mget(['m1', 'm2', 'm3']), [1, 2, undefined])
  t.equal(await cache.wrap('w', async () => 'computed'), 'computed')
  t.equal(await cache.wrap('w', async () => 'again'), 'computed', 'wrap served from the store')
  await cache.del('k')
  t.equal(await cache.get('k'), undefined)
  await cache.set('short', 's', 40)
  await sleep(90)
  t.equal(await cache.get('short'), undefined, 'expired')
  await cache.disconnect()

  const reopened = createCache({ stores: [new Keyv({ store: new KeyvCask(location) })] })
  t.equal(await reopened.get('m1'), 1, 'data on disk after disconnect')
  await reopened.clear()
  t.equal(await reopened.get('m1'), undefined)
  await reopened.disconnect()
})

test('got 14: cache: store serves the second request from the cache (127.0.0.1)', async (t) => {
  let hits = 0
  const server: Server = createServer((req, res) => {
    hits++
    res.setHeader('cache-control', 'public, max-age=60')
    res.setHeader('content-type', 'text/plain')
    res.end(`hello ${req.url} #${hits}`)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  const url = `http://127.0.0.1:${port}/thing`
  const store = new KeyvCask(tempPath())
  try {
    const first = await got(url, { cache: store, retry: { limit: 0 } })
    t.equal(first.isFromCache, false)
    t.equal(first.body, 'hello /thing #1')
    const second = await got(url, { cache: store, retry: { limit: 0 } })
    t.equal(second.isFromCache, true, 'second response came from the cache')
    t.equal(second.body, 'hello /thing #1', 'with the cached body')
    t.equal(hits, 1, 'the server was asked once')
    // cacheable-request keeps its entries in its own namespace.
    const keys = []
    for await (const [key] of store.iterator('cacheable-request')) keys.push(key)
    t.ok(keys.length >= 1 && keys.every((k) => k.startsWith('cacheable-request:')), 'stored under the cacheable-request namespace')
  } finally {
    await store.disconnect()
    await new Promise((resolve) => server.close(resolve))
  }
})
