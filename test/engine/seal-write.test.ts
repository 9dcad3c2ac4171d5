/**
 * A hint file goes to the page cache in one synchronous write, then one
 * fdatasync, rename and directory fsync: a fixed number of trips through the
 * event loop whatever its size. It used to go through `writeFileDurable`
 * (`fs.promises` writeFile: one asynchronous 512 KiB write after another), so
 * while a bulk load kept the loop busy (one turn per `db.batch`) each seal
 * took longer than filling the next segment, seals queued up and close() paid
 * for all of them (bench/NOTES.md section 9). No timing here: the benchmark
 * (bench/close-profile.ts) measures the effect; this checks the calls, the
 * hint, and what a failed hint write leaves behind.
 */
import test from 'tape'
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { basename, join } from 'node:path'
import { CaskDB } from '../../src/index.js'
import { nodeFileSystem, type FileSystem } from '../../src/io/file-system.js'
import { decodeHint } from '../../src/format/hint.js'
import { tempPath } from '../helpers/tmp.js'

const isHintTmp = (path: string) => /\.hint\.tmp$/.test(path)

/** Wraps the real file system: records the calls made for hint files; `failHintWrite` makes their writes fail. */
function recording(options: { failHintWrite?: boolean } = {}) {
  const paths = new Map<number, string>()
  const calls: string[] = []
  const fs: FileSystem = {
    ...nodeFileSystem,
    openSync: (path, flags, mode) => {
      const fd = nodeFileSystem.openSync(path, flags, mode)
      paths.set(fd, path)
      if (isHintTmp(path)) calls.push(`openSync ${basename(path)}`)
      return fd
    },
    writevSync: (fd, buffers, position) => {
      const path = paths.get(fd) ?? ''
      if (isHintTmp(path)) {
        calls.push(`writevSync ${basename(path)}`)
        if (options.failHintWrite === true) throw Object.assign(new Error('EIO: injected'), { code: 'EIO' })
      }
      return nodeFileSystem.writevSync(fd, buffers, position)
    },
    fdatasync: (fd) => {
      const path = paths.get(fd) ?? ''
      if (isHintTmp(path)) calls.push(`fdatasync ${basename(path)}`)
      return nodeFileSystem.fdatasync(fd)
    },
    writeFileDurable: (path, data, mode) => {
      calls.push(`writeFileDurable ${basename(path)}`)
      return nodeFileSystem.writeFileDurable(path, data, mode)
    },
  }
  return { fs, calls }
}

const value = Buffer.alloc(100, 'v')
/** 16 hex characters, evenly spread (as in bench/scale.ts): the hint's prefix compression saves little. */
function keyOf(i: number): string {
  const hi = Math.imul(i, 0x9e3779b1) >>> 0
  const lo = Math.imul(i ^ 0x5bd1e995, 0x85ebca6b) >>> 0
  return hi.toString(16).padStart(8, '0') + lo.toString(16).padStart(8, '0')
}

async function load(db: CaskDB, n: number, batch: number): Promise<void> {
  for (let done = 0; done < n; done += batch) {
    const ops = []
    for (let i = done; i < Math.min(n, done + batch); i++) ops.push({ type: 'put' as const, key: keyOf(i), value })
    await db.batch(ops)
  }
}

test('a sealed hint larger than one 512 KiB write chunk is written in one synchronous write, then synced once', async (t) => {
  const dir = tempPath()
  const { fs, calls } = recording()
  // 8 MiB segments of ~140-byte records: ~60k entries, a hint of well over 512 KiB.
  const db = await CaskDB.open(dir, { fs, maxSegmentSize: 8 * 1024 * 1024, warmCache: false })
  const keys = 140_000
  await load(db, keys, 5_000)
  await db.close()
  const hints = readdirSync(dir).filter((n) => /^\d+\.hint$/.test(n)).sort()
  t.ok(hints.length >= 2, `${hints.length} sealed segments`)
  const big = hints.map((h) => readFileSync(join(dir, h)).length).filter((size) => size > 512 * 1024)
  t.ok(big.length >= 1, `hints over 512 KiB: ${big.join(', ')} bytes`)
  t.equal(calls.filter((c) => c.startsWith('writeFileDurable')).length, 0, 'no hint goes through writeFileDurable (chunked async writes)')
  for (const hint of hints) {
    const tmp = `${hint}.tmp`
    t.deepEqual(
      calls.filter((c) => c.endsWith(` ${tmp}`)),
      [`openSync ${tmp}`, `writevSync ${tmp}`, `fdatasync ${tmp}`],
      `${hint}: open, one write, one fdatasync`,
    )
    const path = join(dir, hint)
    const decoded = decodeHint(readFileSync(path), path)
    t.ok(decoded.entries.length > 0, `${hint} decodes (${decoded.entries.length} entries)`)
  }
  t.notOk(readdirSync(dir).some((n) => n.endsWith('.tmp')), 'no temporary file left')
  const reopened = await CaskDB.open(dir, { warmCache: false })
  let missing = 0
  for (let i = 0; i < keys; i += 97) if ((await reopened.get(keyOf(i))) === undefined) missing++
  t.equal(missing, 0, 'every sampled key is there after reopen')
  await reopened.close()
  rmSync(dir, { recursive: true, force: true })
})

test('a failed hint write: the seal reports it, no hint is published, the next open seals from the data', async (t) => {
  const dir = tempPath()
  const { fs } = recording({ failHintWrite: true })
  const db = await CaskDB.open(dir, { fs, maxSegmentSize: 64 * 1024, warmCache: false, autoCompact: false })
  const errors: unknown[] = []
  db.on('error', (err) => errors.push(err))
  const keys = 2_000
  await load(db, keys, 100)
  await db.close()
  t.ok(errors.length >= 1, `seal failures reported (${errors.length})`)
  t.ok(
    errors.every((e) => /hint/.test(String((e as Error).message))),
    'the errors name the hint being written',
  )
  t.equal(readdirSync(dir).filter((n) => /^\d+\.hint$/.test(n)).length, 0, 'no sealed hint published')
  const reopened = await CaskDB.open(dir, { warmCache: false })
  let missing = 0
  for (let i = 0; i < keys; i++) if ((await reopened.get(keyOf(i))) === undefined) missing++
  t.equal(missing, 0, 'every key is there after reopen')
  await reopened.close()
  // The reopen sealed the old segments itself (no fault injected this time).
  const after = await CaskDB.open(dir, { warmCache: false })
  await after.close()
  t.ok(readdirSync(dir).filter((n) => /^\d+\.hint$/.test(n)).length >= 1, 'hints written by a later open')
  t.notOk(existsSync(join(dir, 'LOCK')), 'lock released')
  rmSync(dir, { recursive: true, force: true })
})
