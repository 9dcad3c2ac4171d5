import test from 'tape'
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { CaskDB } from '../../src/index.js'
import { tempDir, tempPath } from '../helpers/tmp.js'
import { cli, runInProcess, sequence } from './helpers.js'

async function damagedDb(): Promise<{ dir: string; file: string }> {
  const dir = tempPath()
  const db = await CaskDB.open(dir, { maxSegmentSize: 4096, autoCompact: false })
  for (let i = 0; i < 200; i++) await db.put(`key${String(i).padStart(3, '0')}`, `value-${i}-`.repeat(4))
  await db.close()
  const file = join(dir, readdirSync(dir).filter((n) => n.endsWith('.data')).sort()[0]!)
  const bytes = readFileSync(file)
  const at = bytes.indexOf('value-5-')
  bytes.fill(0xee, at, at + 20)
  writeFileSync(file, bytes)
  return { dir, file }
}

test('cli: verify finds damage (exit 2, file and offset), repair fixes it, verify is clean again', async (t) => {
  const { dir, file } = await damagedDb()
  const damaged = await cli(['verify', dir])
  const damagedJson = await runInProcess(['verify', dir, '--json'])
  const read = await runInProcess(['get', dir, 'key005'])
  const [repaired, clean] = await sequence([
    ['repair', dir],
    ['verify', dir],
  ])
  const again = await runInProcess(['repair', dir, '--json'])
  t.equal(damaged.code, 2, 'verify exits 2 on damage')
  t.match(damaged.stdout, new RegExp(`^${file}:\\d+: record checksum mismatch`), 'lists file:offset: problem')
  t.match(damaged.stdout, /damage: 1 problem in 1 file; run `caskdb repair .*` to keep every intact record/)
  t.equal(damaged.stderr, '', 'no progress bar when stderr is not a terminal')
  const report = JSON.parse(damagedJson.stdout) as { ok: boolean; damage: { file: string; offset: number; message: string }[] }
  t.equal(damagedJson.code, 2)
  t.equal(report.ok, false)
  t.equal(report.damage.length, 1)
  t.equal(report.damage[0]!.file, file)
  t.ok(report.damage[0]!.offset > 0)
  t.equal(read.code, 2, 'reading a damaged record: CORRUPTION, exit 2')
  t.match(read.stderr, /^caskdb get: CORRUPTION: .*\n {2}run `caskdb verify .*` to list the damage, then `caskdb repair .*`/)
  t.equal(repaired.code, 0)
  t.match(repaired.stdout, /^repaired 1 data file \(\d+\.data\): kept \d+ intact records, lost \d+ B\nmoved to .*\/lost\/: /)
  t.ok(existsSync(join(dir, 'lost')), 'originals kept in lost/')
  t.equal(clean.code, 0, 'verify exits 0 after repair')
  t.match(clean.stdout, /^ok: no damage in \S+ \(\d+ files, [\d.]+ KiB checked\)\n$/)
  t.equal(again.code, 0)
  t.same(JSON.parse(again.stdout).repairedFiles, [], 'repairing a healthy database changes nothing')
  const db = await CaskDB.open(dir)
  t.equal((await db.iterator().all()).length, 199, 'every intact record kept')
  await db.close()
})

test('cli: compact reclaims dead bytes', async (t) => {
  const dir = tempPath()
  const db = await CaskDB.open(dir, { maxSegmentSize: 4096, autoCompact: false })
  for (let round = 0; round < 3; round++) for (let i = 0; i < 100; i++) await db.put(`k${i}`, `round ${round} `.repeat(5))
  await db.close()
  const text = await cli(['compact', dir])
  const json = await runInProcess(['compact', dir, '--json'])
  t.equal(text.code, 0)
  t.match(text.stdout, /^compacted \d+ segments: [\d.]+ KiB → [\d.]+ KiB on disk \([\d.]+ KiB reclaimed\)\n$/)
  t.equal(text.stderr, '')
  const second = JSON.parse(json.stdout) as { segmentsCompacted: number; reclaimedBytes: number; bytesAfter: number }
  t.equal(second.segmentsCompacted, 0, 'a second compaction finds nothing')
  t.equal(second.reclaimedBytes, 0)
  const after = await CaskDB.open(dir)
  t.equal(after.stats().deadBytes, 0)
  t.equal((await after.get('k7'))?.toString(), 'round 2 '.repeat(5))
  await after.close()
})

test('cli: backup and restore; both refuse to overwrite', async (t) => {
  const dir = tempPath()
  const db = await CaskDB.open(dir, { maxSegmentSize: 4096 })
  for (let i = 0; i < 300; i++) await db.put(`k${i}`, `v${i}`)
  await db.close()
  const dest = join(tempDir(), 'backup')
  const restored = join(tempDir(), 'restored')
  const [backedUp, restoredRun] = await sequence([
    ['backup', dir, dest, '--json'],
    ['restore', dest, restored],
  ])
  const again = await runInProcess(['backup', dir, dest])
  const restoreOver = await runInProcess(['restore', dest, restored, '--json'])
  const missing = await runInProcess(['restore', tempPath(), tempPath()])
  t.equal(backedUp.code, 0)
  const info = JSON.parse(backedUp.stdout) as { backup: string; files: number; bytes: number }
  t.equal(info.backup, dest)
  t.ok(info.files >= 2 && info.bytes > 0)
  t.equal(backedUp.stderr, '')
  t.equal(restoredRun.stderr, '')
  t.equal(again.code, 1, 'backup into an existing directory fails')
  t.match(again.stderr, /^caskdb backup: EXISTS: .* exists; .*\n {2}choose a path that does not exist yet/)
  t.equal(restoredRun.code, 0)
  t.match(restoredRun.stdout, /^restored \S+ into \S+ \(\d+ files, [\d.]+ KiB\)\n$/)
  t.equal(restoreOver.code, 1)
  t.equal(JSON.parse(restoreOver.stderr).error.code, 'EXISTS')
  t.equal(missing.code, 1)
  t.match(missing.stderr, /^caskdb restore: NOT_FOUND: no caskdb backup at /)
  const copy = await CaskDB.open(restored)
  t.equal((await copy.iterator().all()).length, 300)
  t.equal((await copy.get('k299'))?.toString(), 'v299')
  await copy.close()
})

test('cli: a database open in another process is LOCKED (exit 1) for every command', async (t) => {
  const dir = tempPath()
  const db = await CaskDB.open(dir)
  await db.put('k', 'v')
  const [get, putJson, verify] = await Promise.all([cli(['get', dir, 'k']), cli(['put', dir, 'k', 'w', '--json']), cli(['verify', dir])])
  t.equal(get.code, 1)
  t.equal(get.stderr, `caskdb get: LOCKED: ${dir} is open in another process (pid ${process.pid})\n  close it or wait for it to finish, then retry (one process at a time per directory)\n`)
  t.equal(get.stdout, '')
  t.same(JSON.parse(putJson.stderr), {
    error: {
      code: 'LOCKED',
      message: `${dir} is open in another process (pid ${process.pid})`,
      hint: 'close it or wait for it to finish, then retry (one process at a time per directory)',
    },
  })
  t.match(verify.stderr, /^caskdb verify: LOCKED: .*\n {2}verify reads a closed database: close it first/)
  for (const r of [putJson, verify]) t.equal(r.code, 1)
  for (const argv of [['repair', dir], ['load', dir], ['compact', dir], ['backup', dir, tempPath()]]) {
    const r = await runInProcess(argv, { input: '{"key":"a","value":"b"}\n' })
    t.equal(r.code, 1, `${argv[0]}: exit 1`)
    t.match(r.stderr, new RegExp(`^caskdb ${argv[0]}: LOCKED: `))
  }
  t.equal((await db.get('k'))?.toString(), 'v', 'nothing was written')
  await db.close()
})
