/**
 * Times closing and reopening a large database (bench/NOTES.md section 1):
 * builds N keys (16 random bytes each, 100-byte values, via db.batch in
 * batches of 10,000), then measures close(), and CaskDB.open() + the first
 * get, several times, in wall and CPU milliseconds.
 *
 *   node --import tsx bench/open-profile.ts [--keys 1000000] [--reopens 3] [--dir /tmp/x] [--keep] [--profile out.cpuprofile]
 *
 * With --dir naming an existing database, the build is skipped (so the same
 * files can be reopened by two versions of the engine); the key the first get
 * asks for is kept in a `probe` file beside the database, so that get reads a
 * record. --profile writes a CPU profile of the first open + get only (not of
 * the build or of module loading, which `node --cpu-prof` would include);
 * open it in Chrome DevTools or summarise it with bench/profile-summary.ts.
 */
import { randomBytes } from 'node:crypto'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { Session } from 'node:inspector/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { CaskDB } from '../src/index.js'
import { arg, timed, fmt } from './lib/script.js'

const keys = Number(arg('keys', '1000000'))
const reopens = Number(arg('reopens', '3'))
const keep = process.argv.includes('--keep')
const dir = arg('dir', join(mkdtempSync(join(tmpdir(), 'open-profile-')), 'db'))
const profile = arg('profile', '')
const probeFile = join(dirname(dir), 'probe')

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
  if (probe !== undefined) writeFileSync(probeFile, probe.toString('hex'))
} else if (existsSync(probeFile)) {
  probe = Buffer.from(readFileSync(probeFile, 'latin1'), 'hex')
}

for (let i = 0; i < reopens; i++) {
  const session = profile !== '' && i === 0 ? new Session() : undefined
  if (session !== undefined) {
    session.connect()
    await session.post('Profiler.enable')
    await session.post('Profiler.setSamplingInterval', { interval: 100 })
    await session.post('Profiler.start')
  }
  let found = false
  let getMs = 0
  const open = await timed(async () => {
    const db = await CaskDB.open(dir)
    const start = performance.now()
    found = (await db.get(probe ?? 'absent')) !== undefined
    getMs = performance.now() - start
    return db
  })
  if (session !== undefined) {
    const { profile: result } = await session.post('Profiler.stop')
    writeFileSync(profile, JSON.stringify(result))
    session.disconnect()
  }
  const stats = open.value.stats()
  console.log(`open+get #${i + 1}: wall ${fmt(open.wallMs)}, cpu ${fmt(open.cpuMs)} (${stats.keys} keys, ${stats.segments} segments; first get ${getMs.toFixed(1)} ms wall, probe ${found ? 'found' : 'absent'})`)
  const close = await timed(() => open.value.close())
  console.log(`close   #${i + 1}:   wall ${fmt(close.wallMs)}, cpu ${fmt(close.cpuMs)}`)
}
if (!keep && !process.argv.includes('--dir')) rmSync(join(dir, '..'), { recursive: true, force: true })
