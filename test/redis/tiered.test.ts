/**
 * Two app processes, each with its own caskdb directory (the local tier), and
 * one real redis-server (the shared tier), wired as in examples/tiered-cache.ts.
 * Keys in Redis are `namespace::key` (@keyv/redis prefixing).
 */
import test, { type Test } from 'tape'
import Keyv from 'keyv'
import KeyvRedis from '@keyv/redis'
import { KeyvCask } from '../../adapters/keyv/index.js'
import { tempPath } from '../helpers/tmp.js'
import { AppInstance, RedisServer, redisCommand, requireRedisServer, sleep } from './helpers.js'

interface Raw {
  value: unknown
  expires?: number | null
}

let redis: RedisServer | undefined
let a: AppInstance | undefined
let b: AppInstance | undefined

function setUp(t: Test): { redis: RedisServer; a: AppInstance; b: AppInstance } | undefined {
  if (redis && a && b) return { redis, a, b }
  t.skip('no Redis (see the first test)')
  return undefined
}

test('redis: start redis-server and two app processes', async (t) => {
  if (!requireRedisServer(t)) return
  redis = await RedisServer.start()
  a = new AppInstance('app-a', redis.url)
  b = new AppInstance('app-b', redis.url)
  await Promise.all([a.ready(), b.ready()])
  t.equal(await redisCommand(redis.port, ['PING']), 'PONG', `redis-server answers on 127.0.0.1:${redis.port}`)
  t.equal(await a.call('redisReady', 'app'), true, 'app A reaches Redis')
  t.equal(await b.call('redisReady', 'app'), true, 'app B reaches Redis')
})

test('redis: a value set through one app process is read through the other', async (t) => {
  const env = setUp(t)
  if (!env) return
  const { redis, a, b } = env
  t.equal(await a.call('set', 'app', 'user:1', { name: 'Ada' }), true, 'A sets user:1')
  t.ok(await redisCommand(redis.port, ['GET', 'app::user:1']), 'Redis holds app::user:1')
  t.equal(await b.call('localGet', 'app', 'user:1'), undefined, "B's own caskdb does not have it yet")
  t.same(await b.call('get', 'app', 'user:1'), { name: 'Ada' }, 'B reads it (from Redis)')
  t.same(await b.call('localGet', 'app', 'user:1'), { name: 'Ada' }, "…and now keeps it in its own caskdb")

  t.equal(await b.call('set', 'app', 'counter', 2), true, 'B sets counter')
  t.equal(await a.call('get', 'app', 'counter'), 2, 'A reads it')

  const burst = await a.call<boolean[]>('burst', 'fresh', 20)
  t.ok(burst.every(Boolean), '20 concurrent writes through a cache created just now')
  t.equal(((await redisCommand(redis.port, ['KEYS', 'fresh::*'])) as string[]).length, 20, 'all 20 reached Redis')
  t.equal(await b.call('get', 'fresh', 'b19'), 19, 'B reads them')
})

test('redis: ttl agrees across tiers and processes', async (t) => {
  const env = setUp(t)
  if (!env) return
  const { redis, a, b } = env
  const ttl = 1500
  t.equal(await a.call('set', 'app', 'session', 'token', ttl), true, `A sets session with a ${ttl} ms ttl`)
  const now = Date.now()
  const pttl = (await redisCommand(redis.port, ['PTTL', 'app::session'])) as number
  t.ok(pttl > 0 && pttl <= ttl, `Redis expires the key itself: PTTL ${pttl} ms`)
  const stored = JSON.parse((await redisCommand(redis.port, ['GET', 'app::session'])) as string) as Raw
  const expires = stored.expires!
  t.ok(Math.abs(now + pttl - expires) < 200, 'Redis PTTL and the stored expiry name the same moment')
  const localA = await a.call<Raw>('localRaw', 'app', 'session')
  t.ok(Math.abs(localA.expires! - expires) < 200, `A's caskdb copy expires with Redis's (Δ ${localA.expires! - expires} ms)`)

  await sleep(300)
  t.equal(await b.call('get', 'app', 'session'), 'token', 'B reads the session from Redis 300 ms later')
  const localB = await b.call<Raw>('localRaw', 'app', 'session')
  t.ok(
    Math.abs(localB.expires! - expires) < 200,
    `B's caskdb copy keeps the remaining ttl, not a fresh one (Δ ${localB.expires! - expires} ms)`,
  )

  await sleep(Math.max(0, expires + 100 - Date.now()))
  t.equal(await a.call('get', 'app', 'session'), undefined, 'expired for A')
  t.equal(await b.call('get', 'app', 'session'), undefined, 'expired for B')
  t.equal(await a.call('localGet', 'app', 'session'), undefined, "gone from A's caskdb")
  t.equal(await b.call('localGet', 'app', 'session'), undefined, "gone from B's caskdb")
  t.equal(await redisCommand(redis.port, ['EXISTS', 'app::session']), 0, 'gone from Redis itself')
})

test('redis: delete and clearing a namespace reach both tiers', async (t) => {
  const env = setUp(t)
  if (!env) return
  const { redis, a, b } = env
  await a.call('set', 'cart', 'k1', 'v1')
  await a.call('set', 'cart', 'k2', 'v2')
  await a.call('set', 'cart', 'k3', 'v3')
  await a.call('set', 'other', 'k1', 'o1')
  t.equal(await b.call('get', 'cart', 'k1'), 'v1', 'B has read cart/k1 (now also in its caskdb)')

  t.equal(await a.call('delete', 'cart', 'k2'), true, 'A deletes cart/k2')
  t.equal(await a.call('localGet', 'cart', 'k2'), undefined, "gone from A's caskdb")
  t.equal(await redisCommand(redis.port, ['EXISTS', 'cart::k2']), 0, 'gone from Redis')
  t.equal(await b.call('get', 'cart', 'k2'), undefined, 'B does not find it either')

  await a.call('clear', 'cart')
  t.equal(await a.call('localGet', 'cart', 'k3'), undefined, "clear: cart emptied in A's caskdb")
  t.same(await redisCommand(redis.port, ['KEYS', 'cart::*']), [], 'clear: no cart:: keys left in Redis')
  t.equal(await b.call('get', 'cart', 'k3'), undefined, 'B does not find cart/k3')
  t.equal(await a.call('localGet', 'other', 'k1'), 'o1', "clear left the other namespace in A's caskdb")
  t.equal(await redisCommand(redis.port, ['EXISTS', 'other::k1']), 1, '…and in Redis')

  // What the README states as a limit: a delete or clear does not reach the *other* processes'
  // local tiers; their copies live until their ttl (or until they delete them too).
  t.equal(await b.call('get', 'cart', 'k1'), 'v1', "known limit: B still serves its local copy of cart/k1")
  await b.call('clear', 'cart')
  t.equal(await b.call('get', 'cart', 'k1'), undefined, 'until B clears (or the ttl passes)')

  // localTtl bounds that staleness: B asks Redis again once its copy is that old.
  await a.call('open', 'feed', {})
  await b.call('open', 'feed', { localTtl: 400 })
  await a.call('set', 'feed', 'item', 'v1') // no ttl: kept in Redis until changed
  t.equal(await b.call('get', 'feed', 'item'), 'v1', 'B reads feed/item (copy kept at most 400 ms)')
  const copied = Date.now()
  await a.call('set', 'feed', 'item', 'v2')
  const early = await b.call('get', 'feed', 'item')
  if (Date.now() - copied < 350) t.equal(early, 'v1', 'right after A changed it, B still serves its copy')
  await sleep(Math.max(0, copied + 450 - Date.now()))
  t.equal(await b.call('get', 'feed', 'item'), 'v2', 'after localTtl, B reads the new value from Redis')
  t.equal(await redisCommand(redis.port, ['PTTL', 'feed::item']), -1, 'Redis keeps the key without expiry')
})

test('redis: the Redis-only swap runs the same Keyv code', async (t) => {
  const env = setUp(t)
  if (!env) return
  const exercise = async (keyv: Keyv): Promise<unknown[]> => {
    const out: unknown[] = []
    await keyv.set('a', { n: 1 })
    await keyv.set('short', 'x', 100)
    await keyv.setMany([
      { key: 'b', value: [1, 2] },
      { key: 'c', value: 'three' },
    ])
    out.push(await keyv.get('a'), await keyv.getMany(['b', 'c', 'none']), await keyv.has('c'))
    out.push(await keyv.delete('c'), await keyv.get('c'))
    await sleep(150)
    out.push(await keyv.get('short'))
    await keyv.clear()
    out.push(await keyv.get('a'), await keyv.get('b'))
    return out
  }
  const before = new Keyv({ store: new KeyvCask(tempPath()), namespace: 'swap' })
  const after = new Keyv({ store: new KeyvRedis(env.redis.url), namespace: 'swap' })
  const results = [await exercise(before), await exercise(after)]
  t.same(results[1], results[0], 'KeyvRedis gives what KeyvCask gave')
  t.same(results[0], [{ n: 1 }, [[1, 2], 'three', undefined], true, true, undefined, undefined, undefined, undefined])
  await before.disconnect()
  await after.disconnect()
})

test('redis: app processes disconnect and exit on their own; stop redis-server', async (t) => {
  if (!redis) return
  for (const app of [a, b]) {
    if (!app) continue
    t.same(await app.close(), { code: 0, exitedByItself: true }, `${app.name} exits with 0 once told to stop`)
  }
  t.same([...(a?.errors ?? []), ...(b?.errors ?? [])], [], 'no error events while Redis was up')
  await redis.destroy()
  redis = a = b = undefined
})
