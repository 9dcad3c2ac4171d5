/**
 * Times closing and reopening a large database (bench/NOTES.md section 1):
 * builds N keys (16 random bytes each, 100-byte values, via db.batch in
 * batches of 10,000), then measures close(), and CaskDB.open() + the first
 * get, several times, in wall and CPU milliseconds.
 *
 *   node --import tsx bench/open-profile.ts [--keys 1000000] [--reopens 3] [--dir /tmp/x] [--keep]
 *
 * With --dir naming an existing database, the build is skipped (so the same
 * files can be reopened by two versions of the engine). Run it under
 * `node --cpu-prof` to profile the reopen.
 */
import { randomBytes } from 'node:crypto'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CaskDB } from '../src/index.js'

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1]! : fallback
}

const keys = Number(arg('keys', '1000000'))
const reopens = Number(arg('reopens', '3'))
const keep = process.argv.includes('--keep')
const dir = arg('dir', join(mkdtempSync(join(tmpdir(), 'open-profile-')), 'db'))

/** Runs `fn`, returning its result with the wall and CPU (user + system) ms it took. */
async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; wallMs: number; cpuMs: number }> {
  const cpu = process.cpuUsage()
  const start = performance.now()
  const value = await fn()
  const wallMs = performance.now() - start
  const used = process.cpuUsage(cpu)
  return { value, wallMs, cpuMs: (used.user + used.system) / 1000 }
}

const fmt = (ms: number) => `${ms.toFixed(0).padStart(6)} ms`

let probe: Buffer | undefined
if (!existsSync(dir)) {
  const build = await timed(async () => {
    const db = await CaskDB.open(dir)
    const value = Buffer.alloc(100, 0x61)
    for (let done = 0; done < keys; done += 10_000) {
      const ops = []
      for (let i = 0; i < Math.min(10_000, keys - done); i++) {
        const key = randomBytes(16)
        probe ??= key
        ops.push({ type: 'put' as const, key, value })
      }
      await db.batch(ops)
    }
    return db
  })
  console.log(`build   ${keys} keys: wall ${fmt(build.wallMs)}, cpu ${fmt(build.cpuMs)}`)
  const close = await timed(() => build.value.close())
  console.log(`close   after build: wall ${fmt(close.wallMs)}, cpu ${fmt(close.cpuMs)}`)
}

for (let i = 0; i < reopens; i++) {
  const open = await timed(async () => {
    const db = await CaskDB.open(dir)
    await db.get(probe ?? 'absent')
    return db
  })
  const stats = open.value.stats()
  console.log(`open+get #${i + 1}: wall ${fmt(open.wallMs)}, cpu ${fmt(open.cpuMs)} (${stats.keys} keys, ${stats.segments} segments)`)
  const close = await timed(() => open.value.close())
  console.log(`close   #${i + 1}:   wall ${fmt(close.wallMs)}, cpu ${fmt(close.cpuMs)}`)
}
if (!keep && !process.argv.includes('--dir')) rmSync(join(dir, '..'), { recursive: true, force: true })
