/**
 * Redis goes away while an app process (examples/tiered-cache.ts wiring) is
 * running, then comes back on the same port: the local caskdb tier keeps
 * serving, Redis errors arrive as 'error' events (the process does not crash,
 * and calls do not stall), and once Redis is back, writes reach it again.
 */
import test from 'tape'
import { AppInstance, RedisServer, redisCommand, requireRedisServer, sleep } from './helpers.js'

/** Runs `fn` and returns its result with the time it took. */
async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const start = Date.now()
  const result = await fn()
  return [result, Date.now() - start]
}

test('redis: outage and recovery of the shared tier', async (t) => {
  if (!requireRedisServer(t)) return
  const redis = await RedisServer.start()
  const app = new AppInstance('app-outage', redis.url)
  try {
    await app.ready()
    t.equal(await app.call('set', 'app', 'warm', 'w'), true, 'set while Redis is up')
    t.equal(await redisCommand(redis.port, ['EXISTS', 'app::warm']), 1, 'Redis has it')

    await redis.stop()
    t.pass('redis-server stopped')

    const [warm, warmMs] = await timed(() => app.call('get', 'app', 'warm'))
    t.equal(warm, 'w', `a key in the local tier is still served (${warmMs} ms)`)
    const [cold, coldMs] = await timed(() => app.call('get', 'app', 'cold'))
    t.equal(cold, undefined, `a key only Redis could have: a miss, not a hang (${coldMs} ms)`)
    t.ok(warmMs < 1000 && coldMs < 1000, 'neither call waits for Redis')
    const [setOk, setMs] = await timed(() => app.call('set', 'app', 'during', 'd'))
    t.equal(setOk, true, `a write during the outage is acknowledged by the local tier (${setMs} ms)`)
    t.equal(await app.call('localGet', 'app', 'during'), 'd', '…and is in the local caskdb')
    t.ok(app.errors.length > 0, `Redis failures arrived as ${app.errors.length} 'error' events`)
    t.ok(
      app.errors.some((m) => /offline|ECONNREFUSED|closed/i.test(m)),
      `they name the cause (e.g. ${JSON.stringify(app.errors[app.errors.length - 1])})`,
    )
    t.ok(app.alive, 'the app process is still running')

    await redis.start()
    t.pass(`redis-server restarted on the same port ${redis.port} (empty: persistence is off)`)
    // The client reconnects by itself (backoff 50 ms … 1 s); wait for it, bounded.
    const deadline = Date.now() + 10_000
    let ready = false
    while (!ready && Date.now() < deadline) {
      ready = await app.call<boolean>('redisReady', 'app')
      if (!ready) await sleep(100)
    }
    t.ok(ready, 'the app reconnected to Redis by itself')
    t.equal(await app.call('set', 'app', 'after', 'a'), true, 'write after the restart')
    t.ok(await redisCommand(redis.port, ['GET', 'app::after']), 'reached Redis')
    t.equal(await redisCommand(redis.port, ['EXISTS', 'app::during']), 0, 'a write made during the outage is not replayed into Redis')
    t.equal(await app.call('get', 'app', 'during'), 'd', 'but the local tier still serves it')

    const errorsBefore = app.errors.length
    t.equal(await app.call('get', 'app', 'after'), 'a', 'reads work')
    t.equal(app.errors.length, errorsBefore, 'no new error events once Redis is back')
  } finally {
    t.same(await app.close(), { code: 0, exitedByItself: true }, 'the app process exits with 0 once told to stop')
    await redis.destroy()
  }
})
