/**
 * Where close() right after a large load spends its time (bench/NOTES.md
 * section 9). Loads N keys the way bench/scale.ts does (16-character hex keys,
 * 100-byte values, db.batch of 10,000, default options; optionally a close +
 * reopen after the first `--reopen-at` keys, as scale.ts does after its 1M
 * step), then times close() phase by phase through a FileSystem wrapper that
 * logs every fdatasync / hint write / rename / close with its wall time:
 *
 *   - seals: a sealed segment's fdatasync, its `<id>.hint` write (writeFileDurable
 *     + rename + fsyncDir); how many were still queued or running when close() began
 *   - the final fdatasync of the active segment (syncNow)
 *   - the close-time `<id>.active.hint`
 *   - closing the fds and the lock
 *
 * plus process CPU (process.cpuUsage) against wall time per phase, and
 * /proc/meminfo Dirty/Writeback sampled every 250 ms from before close() to
 * its end (is the time CPU, or waiting for the kernel to write back dirty
 * pages?).
 *
 *   node --import tsx bench/close-profile.ts [--keys 3000000] [--reopen-at 0] [--dir /tmp]
 *
 * Engine code is not changed for this: everything is seen from the FileSystem
 * option and the files the engine names.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { CaskDB } from '../src/index.js'
import { arg } from './lib/script.js'
import { nodeFileSystem, type FileSystem } from '../src/io/file-system.js'

const keys = Number(arg('keys', '3000000'))
const reopenAt = Number(arg('reopen-at', '0'))
const root = mkdtempSync(join(arg('dir', tmpdir()), 'close-profile-'))
const dir = join(root, 'db')

function keyOf(i: number): string {
  const hi = Math.imul(i, 0x9e3779b1) >>> 0
  const lo = Math.imul(i ^ 0x5bd1e995, 0x85ebca6b) >>> 0
  return hi.toString(16).padStart(8, '0') + lo.toString(16).padStart(8, '0')
}

function meminfo(): { dirtyMiB: number; writebackMiB: number } {
  const text = readFileSync('/proc/meminfo', 'utf8')
  const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(text)?.[1] ?? 0)
  return { dirtyMiB: kb('Dirty') / 1024, writebackMiB: kb('Writeback') / 1024 }
}

const cpuNow = () => {
  const c = process.cpuUsage()
  return (c.user + c.system) / 1000
}

// ---- an instrumented FileSystem -------------------------------------------------

interface Ev {
  op: string
  path: string
  start: number
  end: number
  cpu0: number
  cpu1: number
  bytes?: number
}
const events: Ev[] = []
const fdPath = new Map<number, string>()

function wrapAsync<A extends unknown[], R>(op: string, fn: (...a: A) => Promise<R>, pathOf: (...a: A) => string, bytesOf?: (...a: A) => number) {
  return async (...a: A): Promise<R> => {
    const ev: Ev = { op, path: pathOf(...a), start: performance.now(), end: 0, cpu0: cpuNow(), cpu1: 0, bytes: bytesOf?.(...a) }
    try {
      return await fn(...a)
    } finally {
      ev.end = performance.now()
      ev.cpu1 = cpuNow()
      events.push(ev)
    }
  }
}

const base = nodeFileSystem
const fs: FileSystem = {
  ...base,
  openSync(path, flags, mode) {
    const fd = base.openSync(path, flags, mode)
    fdPath.set(fd, path)
    events.push({ op: 'open', path, start: performance.now(), end: performance.now(), cpu0: 0, cpu1: 0 })
    return fd
  },
  closeSync(fd) {
    const t = performance.now()
    base.closeSync(fd)
    events.push({ op: 'close', path: fdPath.get(fd) ?? String(fd), start: t, end: performance.now(), cpu0: 0, cpu1: 0 })
  },
  fdatasync: wrapAsync('fdatasync', base.fdatasync, (fd) => fdPath.get(fd) ?? String(fd)),
  fsyncDir: wrapAsync('fsyncDir', base.fsyncDir, (p) => p),
  rename: wrapAsync('rename', base.rename, (_f, to) => to),
  unlink: wrapAsync('unlink', base.unlink, (p) => p),
  readFile: wrapAsync('readFile', base.readFile, (p) => p),
  writeFileDurable: wrapAsync('writeFileDurable', base.writeFileDurable, (p) => p, (_p, d) => d.length),
}

// ---- load -----------------------------------------------------------------------

const value = Buffer.alloc(100, 'v')
let db = await CaskDB.open(dir, { fs })
const loadStart = performance.now()
const loadCpu0 = cpuNow()
const dirtySamples: { t: number; dirtyMiB: number; writebackMiB: number }[] = []
const sampler = setInterval(() => dirtySamples.push({ t: performance.now(), ...meminfo() }), 250)
let loaded = 0
while (loaded < keys) {
  const n = Math.min(10_000, keys - loaded)
  const ops = new Array(n)
  for (let j = 0; j < n; j++) ops[j] = { type: 'put', key: keyOf(loaded + j), value }
  await db.batch(ops)
  loaded += n
  if (loaded === reopenAt) {
    const t = performance.now()
    await db.close()
    db = await CaskDB.open(dir, { fs })
    console.log(`reopened at ${loaded} keys (${(performance.now() - t).toFixed(0)} ms)`)
  }
  if (loaded % 1_000_000 === 0) {
    const m = meminfo()
    console.log(
      `${loaded / 1e6}M keys, ${((performance.now() - loadStart) / 1000).toFixed(0)} s, dirty ${m.dirtyMiB.toFixed(0)} MiB, writeback ${m.writebackMiB.toFixed(0)} MiB, rss ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB`,
    )
  }
}
const loadSec = (performance.now() - loadStart) / 1000
const loadCpuSec = (cpuNow() - loadCpu0) / 1000

// ---- close ----------------------------------------------------------------------

const isSegData = (p: string) => /^\d{8,}\.data$/.test(basename(p))
const segId = (p: string) => Number(/^(\d{8,})/.exec(basename(p))?.[1])
// Seals: a sealed segment's fdatasync, then its .hint published by rename.
const hintRenamesOf = () => events.filter((e) => e.op === 'rename' && /^\d{8,}\.hint$/.test(basename(e.path)))
const closeStart = performance.now()
const closeCpu0 = cpuNow()
const sealedIdsAtClose = new Set(hintRenamesOf().map((e) => segId(e.path)))
const dataIds = [...new Set(events.filter((e) => e.op === 'open' && isSegData(e.path)).map((e) => segId(e.path)))].sort((a, b) => a - b)
const dirtyBefore = meminfo()
dirtySamples.push({ t: closeStart, ...dirtyBefore })
const pendingAtClose = dataIds.slice(0, -1).filter((id) => !sealedIdsAtClose.has(id))
await db.close()
const closeEnd = performance.now()
const closeCpu = cpuNow() - closeCpu0
clearInterval(sampler)
dirtySamples.push({ t: closeEnd, ...meminfo() })

// ---- report ---------------------------------------------------------------------

const hintRenames = hintRenamesOf()
const sealedIds = new Set(hintRenames.map((e) => segId(e.path)))

const ms = (x: number) => `${x.toFixed(0)} ms`
const rel = (t: number) => ((t - closeStart) / 1000).toFixed(2).padStart(7) + ' s'
const diskBytes = readdirSync(dir).reduce((s, n) => s + statSync(join(dir, n)).size, 0)
console.log(`\nloaded ${keys} keys in ${loadSec.toFixed(0)} s wall, ${loadCpuSec.toFixed(0)} s CPU; ${dataIds.length} data segments, ${(diskBytes / 2 ** 30).toFixed(2)} GiB on disk`)
console.log(`seals still queued or running when close() began: ${pendingAtClose.length} (segments ${pendingAtClose.join(', ') || 'none'})`)
console.log(`dirty before close: ${dirtyBefore.dirtyMiB.toFixed(0)} MiB, writeback ${dirtyBefore.writebackMiB.toFixed(0)} MiB`)
console.log(`close(): ${ms(closeEnd - closeStart)} wall, ${ms(closeCpu)} CPU`)

// Per seal during the load (and at close): fdatasync of the segment and its hint.
console.log('\nseals (t relative to close() start; negative = during the load):')
console.log('   seg | fdatasync start |   fdatasync |  hint write | rename+dirsync |   seal total | seal CPU')
for (const id of dataIds) {
  const sync = events.find((e) => e.op === 'fdatasync' && isSegData(e.path) && segId(e.path) === id && sealedIds.has(id))
  const write = events.find((e) => e.op === 'writeFileDurable' && basename(e.path) === `${String(id).padStart(8, '0')}.hint.tmp`)
  const ren = hintRenames.find((e) => segId(e.path) === id)
  if (sync === undefined || ren === undefined) continue
  const dirsync = events.find((e) => e.op === 'fsyncDir' && e.start >= ren.end)
  const end = dirsync?.end ?? ren.end
  const flag = pendingAtClose.includes(id) ? ' *' : ''
  console.log(
    `${String(id).padStart(6)} | ${rel(sync.start).padStart(15)} | ${ms(sync.end - sync.start).padStart(11)} | ${write ? ms(write.end - write.start).padStart(11) : '-'.padStart(11)} | ${ms(end - ren.start).padStart(14)} | ${ms(end - sync.start).padStart(12)} | ${ms(end === undefined ? 0 : (dirsync?.cpu1 ?? ren.cpu1) - sync.cpu0).padStart(8)}${flag}`,
  )
}
console.log('(* = queued or running when close() began; seal CPU during the load includes the load itself)')

console.log('\nclose() timeline (fs calls after close() began):')
for (const e of events.filter((e) => e.start >= closeStart)) {
  if (e.op === 'close' || e.op === 'open') continue
  console.log(`${rel(e.start)} → ${rel(e.end)}  ${e.op.padEnd(16)} ${basename(e.path)}${e.bytes ? ` (${(e.bytes / 2 ** 20).toFixed(1)} MiB)` : ''}  wall ${ms(e.end - e.start)}, process CPU meanwhile ${ms(e.cpu1 - e.cpu0)}`)
}
const closes = events.filter((e) => e.op === 'close' && e.start >= closeStart)
if (closes.length > 0) console.log(`${rel(closes[0]!.start)} → ${rel(closes.at(-1)!.end)}  closeSync × ${closes.length}`)
console.log(`${rel(closeEnd)}  close() resolved`)

console.log('\n/proc/meminfo during close (MiB):')
for (const s of dirtySamples.filter((s) => s.t >= closeStart - 1000)) console.log(`${rel(s.t)}  dirty ${s.dirtyMiB.toFixed(0).padStart(6)}  writeback ${s.writebackMiB.toFixed(0).padStart(6)}`)
const loadDirtyMax = Math.max(...dirtySamples.filter((s) => s.t < closeStart).map((s) => s.dirtyMiB))
console.log(`max dirty during the load: ${loadDirtyMax.toFixed(0)} MiB`)
rmSync(root, { recursive: true, force: true })
