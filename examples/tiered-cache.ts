/**
 * Past one machine: caskdb as the durable local tier in front of a shared Redis.
 *
 * 1. Two tiers with `cacheable`: each app instance reads its own caskdb
 *    directory first (fast, survives restarts, holds more than RAM) and falls
 *    back to Redis, which every instance shares; writes go to both.
 * 2. Redis only: the same Keyv code with `KeyvRedis` where `KeyvCask` was.
 *
 * Run: node --import tsx examples/tiered-cache.ts
 * It uses REDIS_URL if set; otherwise it starts its own `redis-server` on a free
 * loopback port (persistence off) and stops it at the end.
 * (In an app that installed caskdb, the import is `from 'caskdb/keyv'`.)
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import Keyv from 'keyv'
import { Cacheable } from 'cacheable'
import KeyvRedis, { createKeyv as createRedisKeyv, type RedisClientOptions } from '@keyv/redis'
import { KeyvCask } from '../adapters/keyv/index.js'

/**
 * Redis client settings for a cache that must not stall when Redis is away:
 * commands fail at once while disconnected (no offline queue) instead of
 * waiting, and the client keeps reconnecting in the background.
 */
export function redisOptions(url: string): RedisClientOptions {
  return {
    url,
    disableOfflineQueue: true,
    socket: {
      connectTimeout: 1000,
      reconnectStrategy: (retries: number) => Math.min(50 * 2 ** retries, 1000),
    },
  }
}

export interface TieredCacheOptions {
  /** This instance's caskdb directory (one per process). */
  location: string
  /** The Redis every instance shares, e.g. redis://10.0.0.5:6379. */
  redisUrl: string
  namespace?: string
  /** Default ttl in ms (or '1h' etc.) for both tiers. */
  ttl?: number | string
  /**
   * At most this many ms does this instance serve a copy it took from Redis (or
   * a value it wrote without a ttl) from its own caskdb before asking Redis
   * again: how stale it can be after another instance changed or deleted the
   * key. Writes with their own ttl can split it per tier instead:
   * `cache.set(key, value, { ttl: { primary: '30s', secondary: '1h' } })`.
   * Default: no bound (the entry's ttl).
   */
  localTtl?: number
}

/**
 * cacheable with caskdb as the primary (local) store and Redis as the secondary
 * (shared) one. Resolves once Redis is connected, or after 1 s if it cannot be
 * reached (the cache then works from the local tier and keeps retrying).
 */
export async function createTieredCache({ location, redisUrl, namespace, ttl, localTtl }: TieredCacheOptions): Promise<Cacheable> {
  // Every key of the local tier is held in RAM until purged: sweep expired copies once a minute.
  const local = new Keyv({ store: new KeyvCask({ location, clearExpiredInterval: 60_000 }), ttl: localTtl })
  // @keyv/redis's own helper: it prefixes keys itself (`namespace::key`), so Keyv does not.
  const shared = createRedisKeyv(redisOptions(redisUrl), { throwOnConnectError: false, connectionTimeout: 1000 })
  const cache = new Cacheable({ primary: local, secondary: shared, namespace, ttl })
  // Connect before the first call: @keyv/redis 5.1.6 fails calls made while it is still
  // connecting (with the offline queue off), so a burst of writes at startup would miss Redis
  // (jaredwray/keyv#2068, fixed after 5.1.6).
  await (shared.store as KeyvRedis<unknown>).getClient()
  return cache
}

// ---- the demo ---------------------------------------------------------------

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().unref()
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1')
    socket.setTimeout(500, () => socket.destroy())
    socket.on('connect', () => socket.write('PING\r\n'))
    socket.on('data', (data) => {
      socket.destroy()
      resolve(data.toString().startsWith('+PONG'))
    })
    socket.on('close', () => resolve(false))
    socket.on('error', () => resolve(false))
  })
}

/** Starts a throwaway redis-server on 127.0.0.1 (no persistence); resolves once it answers PING. */
async function startRedis(): Promise<{ url: string; stop: () => Promise<void> }> {
  const port = await freePort()
  const dir = mkdtempSync(join(tmpdir(), 'tiered-cache-redis-'))
  let server: ChildProcess
  try {
    server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], {
      stdio: 'ignore',
    })
  } catch (err) {
    throw new Error(`could not start redis-server (install it, or set REDIS_URL): ${String(err)}`)
  }
  const exited = new Promise<void>((resolve) => server.once('exit', () => resolve()))
  const failed = new Promise<never>((_, reject) =>
    server.once('error', (err) => reject(new Error(`could not start redis-server (install it, or set REDIS_URL): ${err.message}`))),
  )
  const kill = () => server.kill('SIGKILL')
  process.once('exit', kill)
  const stop = async () => {
    process.off('exit', kill)
    if (server.exitCode === null && server.signalCode === null) server.kill('SIGTERM')
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 3000).unref())])
    kill()
    rmSync(dir, { recursive: true, force: true })
  }
  for (let i = 0; i < 100; i++) {
    if (await Promise.race([ping(port), failed])) return { url: `redis://127.0.0.1:${port}`, stop }
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  await stop()
  throw new Error('redis-server did not answer PING within 5 s')
}

async function main(): Promise<void> {
  const redis = process.env['REDIS_URL'] ? { url: process.env['REDIS_URL'], stop: async () => {} } : await startRedis()
  const dirs = [mkdtempSync(join(tmpdir(), 'web-1-')), mkdtempSync(join(tmpdir(), 'web-2-'))]
  // A namespace of its own, so the demo never touches other keys when REDIS_URL points at a real server.
  const namespace = `tiered-cache-example-${process.pid}`
  try {
    console.log(`Redis at ${redis.url}`)

    // Two app instances (normally two processes on two machines), each with its own caskdb directory.
    const [web1, web2] = (await Promise.all(
      dirs.map((location) => createTieredCache({ location, redisUrl: redis.url, namespace, ttl: '1h' })),
    )) as [Cacheable, Cacheable]
    for (const [name, cache] of [['web-1', web1], ['web-2', web2]] as const) {
      // Redis errors (down, unreachable) arrive here; the local tier keeps serving.
      cache.on('error', (err: unknown) => console.log(`  ${name} error event: ${err instanceof Error ? err.message : String(err)}`))
    }

    await web1.set('user:1', { name: 'Ada' })
    console.log('web-1 set user:1; web-2 reads it from Redis:', await web2.get('user:1'))
    console.log('…and now has it in its own caskdb too:', await web2.primary.get('user:1'))

    await web1.set('session:abc', 'token', 200) // both tiers expire it after 200 ms
    console.log('session:abc on web-2:', await web2.get('session:abc'))
    await new Promise((resolve) => setTimeout(resolve, 250))
    console.log('after 250 ms, on web-1 / web-2:', await web1.get('session:abc'), '/', await web2.get('session:abc'))

    await web1.delete('user:1') // this instance's caskdb and Redis; web-2 keeps its local copy until its ttl
    console.log('after web-1 deleted user:1, Redis has it:', await web1.secondary?.has('user:1'))

    await Promise.all([web1.disconnect(), web2.disconnect()])

    // The Redis-only swap: the same Keyv code, another store.
    const before = new Keyv({ store: new KeyvCask(dirs[0]!), namespace })
    const after = new Keyv({ store: new KeyvRedis(redis.url), namespace })
    for (const [name, keyv] of [['KeyvCask', before], ['KeyvRedis', after]] as const) {
      await keyv.set('greeting', 'hello', 60_000)
      console.log(`${name}: greeting =`, await keyv.get('greeting'))
      await keyv.clear() // this namespace only
      await keyv.disconnect()
    }
  } finally {
    await redis.stop()
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await main()
