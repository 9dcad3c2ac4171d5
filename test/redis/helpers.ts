/**
 * Helpers for the tests against a real Redis:
 *
 * - `RedisServer`: a `redis-server` child process on 127.0.0.1, a random free
 *   port, persistence off (`--save '' --appendonly no`), that can be stopped and
 *   started again on the same port; killed when the test process exits.
 * - `redisCommand`: one command over a fresh socket (RESP), to look at what
 *   Redis holds without a client library that reconnects or queues.
 * - `AppInstance`: an app process built like examples/tiered-cache.ts (its own
 *   caskdb directory, the shared Redis), driven over stdin/stdout.
 *
 * Run as a script (`node --import tsx test/redis/helpers.ts app <dir> <redisUrl>`),
 * this file is that app process.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { connect, createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import type { Test } from 'tape'

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

// ---- is redis-server installed? ------------------------------------------------

let installed: boolean | undefined

export function redisServerInstalled(): boolean {
  installed ??= spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0
  return installed
}

/**
 * True if the Redis tests can run. Without redis-server they fail under CI
 * (CI=true installs it, so a missing binary is a broken setup) and are skipped,
 * loudly, elsewhere.
 */
export function requireRedisServer(t: Test): boolean {
  if (redisServerInstalled()) return true
  const message = 'redis-server is not installed: `apt-get install -y redis-server` (.ci/run does this)'
  const ci = process.env['CI']
  if (ci !== undefined && ci !== '' && ci !== 'false' && ci !== '0') {
    t.fail(`${message}; CI is set, so this is a failure, not a skip`)
  } else {
    process.stderr.write(`\n!!! SKIPPING the Redis tests: ${message} !!!\n\n`)
    t.skip(`SKIPPED: ${message}`)
  }
  return false
}

// ---- redis-server child process --------------------------------------------------

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().unref()
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

const running = new Set<ChildProcess>()
let exitHooked = false

function killAllOnExit(): void {
  if (exitHooked) return
  exitHooked = true
  process.on('exit', () => {
    for (const proc of running) proc.kill('SIGKILL')
  })
}

export class RedisServer {
  readonly port: number
  readonly url: string
  #dir = mkdtempSync(join(tmpdir(), 'caskdb-redis-'))
  #proc: ChildProcess | undefined
  #log = ''

  private constructor(port: number) {
    this.port = port
    this.url = `redis://127.0.0.1:${port}`
  }

  /** Starts a server on a free port; retries with another port if that one was taken meanwhile. */
  static async start(): Promise<RedisServer> {
    let lastError: unknown
    for (let attempt = 0; attempt < 3; attempt++) {
      const server = new RedisServer(await freePort())
      try {
        await server.start()
        return server
      } catch (err) {
        lastError = err
        await server.stop()
      }
    }
    throw lastError
  }

  get running(): boolean {
    return this.#proc !== undefined
  }

  /** (Re)starts the server on this port and waits until it answers PING (at most 5 s). */
  async start(): Promise<void> {
    if (this.#proc) return
    killAllOnExit()
    const args = ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', this.#dir]
    const proc = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] })
    this.#proc = proc
    running.add(proc)
    const collect = (chunk: Buffer) => {
      this.#log = (this.#log + chunk.toString()).slice(-4000)
    }
    proc.stdout?.on('data', collect)
    proc.stderr?.on('data', collect)
    let failure: Error | undefined
    proc.once('error', (err) => (failure = err))
    proc.once('exit', (code, signal) => {
      running.delete(proc)
      failure ??= new Error(`redis-server exited (${signal ?? code}) during startup: ${this.#log.trim().split('\n').slice(-3).join(' | ')}`)
    })
    const deadline = Date.now() + 5000
    while (Date.now() < deadline) {
      if (failure) break
      if ((await redisCommand(this.port, ['PING']).catch(() => undefined)) === 'PONG') return
      await sleep(25)
    }
    const err = failure ?? new Error(`redis-server on port ${this.port} did not answer PING within 5 s`)
    await this.stop()
    throw err
  }

  /** Stops the server (SIGTERM, SIGKILL after 3 s) and waits for the process to end. */
  async stop(): Promise<void> {
    const proc = this.#proc
    this.#proc = undefined
    if (proc && proc.exitCode === null && proc.signalCode === null) {
      const exited = new Promise((resolve) => proc.once('exit', resolve))
      proc.kill('SIGTERM')
      const timer = setTimeout(() => proc.kill('SIGKILL'), 3000)
      await exited
      clearTimeout(timer)
    }
    if (proc) running.delete(proc)
  }

  /** Stops the server for good and removes its directory. */
  async destroy(): Promise<void> {
    await this.stop()
    rmSync(this.#dir, { recursive: true, force: true })
  }
}

// ---- one Redis command over a fresh socket ------------------------------------------

export type Reply = string | number | null | Reply[]

/** Sends one command and resolves with its reply (errors reject). Times out after `timeoutMs`. */
export function redisCommand(port: number, args: string[], timeoutMs = 2000): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    let buffer = Buffer.alloc(0)
    const done = (err: Error | undefined, reply?: Reply) => {
      socket.destroy()
      if (err) reject(err)
      else resolve(reply ?? null)
    }
    socket.setTimeout(timeoutMs, () => done(new Error(`redis ${args[0]} timed out after ${timeoutMs} ms`)))
    socket.on('error', (err) => done(err))
    socket.on('connect', () => {
      socket.write(`*${args.length}\r\n` + args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join(''))
    })
    socket.on('data', (chunk) => {
      buffer = Buffer.concat([buffer, chunk])
      try {
        const parsed = parseReply(buffer, 0)
        if (parsed) done(undefined, parsed.reply)
      } catch (err) {
        done(err as Error)
      }
    })
  })
}

/** Parses one RESP2 reply at `at`; undefined if the buffer does not hold all of it yet. */
function parseReply(buf: Buffer, at: number): { reply: Reply; end: number } | undefined {
  const eol = buf.indexOf('\r\n', at)
  if (eol < 0) return undefined
  const type = String.fromCharCode(buf[at]!)
  const line = buf.toString('utf8', at + 1, eol)
  if (type === '+') return { reply: line, end: eol + 2 }
  if (type === '-') throw new Error(`redis error: ${line}`)
  if (type === ':') return { reply: Number(line), end: eol + 2 }
  if (type === '$') {
    const length = Number(line)
    if (length < 0) return { reply: null, end: eol + 2 }
    if (buf.length < eol + 2 + length + 2) return undefined
    return { reply: buf.toString('utf8', eol + 2, eol + 2 + length), end: eol + 2 + length + 2 }
  }
  if (type === '*') {
    const count = Number(line)
    if (count < 0) return { reply: null, end: eol + 2 }
    const items: Reply[] = []
    let end = eol + 2
    for (let i = 0; i < count; i++) {
      const item = parseReply(buf, end)
      if (!item) return undefined
      items.push(item.reply)
      end = item.end
    }
    return { reply: items, end }
  }
  throw new Error(`unexpected RESP reply type ${JSON.stringify(type)}`)
}

// ---- app instances in their own processes -----------------------------------------

const TAG = '@@app '
const tsx = import.meta.resolve('tsx')

interface Request {
  id: number
  op: string
  args: unknown[]
}

type Line = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: string } | { event: 'error'; message: string } | { ready: true }

/** An app process with its own caskdb directory and the shared Redis, built by examples/tiered-cache.ts. */
export class AppInstance {
  readonly name: string
  readonly location: string
  /** Messages of the 'error' events the app's caches emitted. */
  readonly errors: string[] = []
  #proc: ChildProcess
  #stderr = ''
  #next = 1
  #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>()
  #ready: Promise<void>
  #exited: Promise<number | null>

  constructor(name: string, redisUrl: string) {
    this.name = name
    this.location = mkdtempSync(join(tmpdir(), `caskdb-${name}-`))
    killAllOnExit()
    this.#proc = spawn(process.execPath, ['--import', tsx, fileURLToPath(import.meta.url), 'app', this.location, redisUrl], {
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    running.add(this.#proc)
    this.#proc.stderr?.on('data', (chunk: Buffer) => {
      this.#stderr = (this.#stderr + chunk.toString()).slice(-4000)
    })
    let ready: () => void = () => {}
    this.#ready = new Promise((resolve) => (ready = resolve))
    createInterface({ input: this.#proc.stdout! }).on('line', (text) => {
      if (!text.startsWith(TAG)) return
      const line = JSON.parse(text.slice(TAG.length)) as Line
      if ('ready' in line) ready()
      else if ('event' in line) this.errors.push(line.message)
      else {
        const waiter = this.#pending.get(line.id)
        this.#pending.delete(line.id)
        if (line.ok) waiter?.resolve(line.result)
        else waiter?.reject(new Error(`${this.name}: ${line.error}`))
      }
    })
    this.#exited = new Promise((resolve) => {
      this.#proc.once('exit', (code, signal) => {
        running.delete(this.#proc)
        const why = new Error(`${this.name} exited (${signal ?? code}); stderr: ${this.#stderr.trim() || '(empty)'}`)
        for (const waiter of this.#pending.values()) waiter.reject(why)
        this.#pending.clear()
        resolve(code)
      })
    })
  }

  get alive(): boolean {
    return this.#proc.exitCode === null && this.#proc.signalCode === null
  }

  /** Resolves once the app has opened its caskdb directory (at most `timeoutMs`). */
  ready(timeoutMs = 20_000): Promise<void> {
    return withTimeout(Promise.race([this.#ready, this.#exited.then(() => this.call('ready'))]) as Promise<void>, timeoutMs, `${this.name} start`)
  }

  /** Runs one operation in the app (see `ops` below); rejects after `timeoutMs`. */
  call<T = unknown>(op: string, ...args: unknown[]): Promise<T> {
    if (!this.alive) return Promise.reject(new Error(`${this.name} is not running; stderr: ${this.#stderr.trim()}`))
    const id = this.#next++
    const request: Request = { id, op, args }
    const reply = new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject })
    })
    this.#proc.stdin!.write(JSON.stringify(request) + '\n')
    return withTimeout(reply, 5000, `${this.name} ${op}`)
  }

  /** Asks the app to disconnect everything and waits for it to exit on its own (SIGKILL after `timeoutMs`). */
  async close(timeoutMs = 8000): Promise<{ code: number | null; exitedByItself: boolean }> {
    if (this.alive) this.#proc.stdin!.end()
    const timer = setTimeout(() => this.#proc.kill('SIGKILL'), timeoutMs)
    const code = await this.#exited
    clearTimeout(timer)
    rmSync(this.location, { recursive: true, force: true })
    return { code, exitedByItself: code !== null }
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took more than ${ms} ms`)), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

// ---- the app process itself ------------------------------------------------------

async function runApp(location: string, redisUrl: string): Promise<void> {
  const { createTieredCache } = await import('../../examples/tiered-cache.js')
  type Cache = Awaited<ReturnType<typeof createTieredCache>>
  const send = (line: Line) => process.stdout.write(TAG + JSON.stringify(line) + '\n')
  const caches = new Map<string, Promise<Cache>>()
  // One Cacheable per namespace; their KeyvCask adapters share one engine on `location`.
  const cache = (namespace: string, options: { localTtl?: number } = {}): Promise<Cache> => {
    let c = caches.get(namespace)
    if (!c) {
      c = createTieredCache({ location, redisUrl, namespace, ...options })
      caches.set(namespace, c)
      void c.then((created) =>
        created.on('error', (err: unknown) => send({ event: 'error', message: err instanceof Error ? err.message : String(err) })),
      )
    }
    return c
  }
  const ops: Record<string, (...args: any[]) => Promise<unknown> | unknown> = {
    ready: () => true,
    /** Creates the namespace's cache with these options (before any other call on it). */
    open: async (ns: string, options: { localTtl?: number }) => {
      if (caches.has(ns)) throw new Error(`${ns} is already open`)
      await cache(ns, options)
      return true
    },
    set: async (ns: string, key: string, value: unknown, ttl?: number) => (await cache(ns)).set(key, value, ttl),
    get: async (ns: string, key: string) => (await cache(ns)).get(key),
    delete: async (ns: string, key: string) => (await cache(ns)).delete(key),
    clear: async (ns: string) => (await cache(ns)).clear(),
    /** The local tier (this process's caskdb) alone. */
    localGet: async (ns: string, key: string) => (await cache(ns)).primary.get(key),
    localRaw: async (ns: string, key: string) => (await cache(ns)).primary.getRaw(key),
    /** Connected to Redis right now? */
    redisReady: async (ns: string) => {
      const c = await cache(ns)
      await c.secondary!.has('--connect--') // connects if it is not connected yet
      return (c.secondary!.store as { client: { isReady: boolean } }).client.isReady
    },
    /** `n` concurrent sets on a cache created just now (a fresh Redis connection). */
    burst: async (ns: string, n: number) => {
      const c = await cache(ns)
      return Promise.all(Array.from({ length: n }, (_, i) => c.set(`b${i}`, i)))
    },
  }
  const lines = createInterface({ input: process.stdin })
  lines.on('line', (text) => {
    const { id, op, args } = JSON.parse(text) as Request
    Promise.resolve()
      .then(() => {
        const fn = ops[op]
        if (!fn) throw new Error(`unknown op ${op}`)
        return fn(...args)
      })
      .then(
        (result) => send({ id, ok: true, result }),
        (err: unknown) => send({ id, ok: false, error: err instanceof Error ? err.message : String(err) }),
      )
  })
  // stdin closed: disconnect everything and let the process end by itself.
  lines.on('close', () => {
    void Promise.all([...caches.values()].map(async (c) => (await c).disconnect()))
  })
  await (await cache('app')).primary.get('--open--')
  send({ ready: true })
}

if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv[2] === 'app') {
  await runApp(process.argv[3]!, process.argv[4]!)
}
