/**
 * Security basics: `fileMode` applies to every file caskdb creates (data,
 * hints, LOCK, compaction outputs, repaired files, backups and restores); a
 * backup or restore never writes over an existing path; nothing outside the
 * database directory is written (apart from the backup target asked for); and
 * file handles stay bounded across many opens, compactions, iterators,
 * snapshots, backups and failed opens.
 */
import test from 'tape'
import { lstatSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { CaskDB, CaskError } from '../../src/index.js'
import { FaultyFs } from '../helpers/faulty-fs.js'
import { tempDir, tempPath } from '../helpers/tmp.js'
import { dataFiles, describeError } from './support.js'

/** Every file under `dir`, with its permission bits. */
function modes(dir: string): Map<string, number> {
  const out = new Map<string, number>()
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const path = join(d, name)
      const st = statSync(path)
      if (st.isDirectory()) walk(path)
      else out.set(relative(dir, path), st.mode & 0o777)
    }
  }
  walk(dir)
  return out
}

/** Every path under `dir` with size and content hash, to detect any write. */
function listing(dir: string, skip: (path: string) => boolean = () => false): string[] {
  const out: string[] = []
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const path = join(d, name)
      if (skip(path)) continue
      const st = lstatSync(path)
      if (st.isDirectory()) {
        out.push(`${relative(dir, path)}/`)
        walk(path)
      } else if (st.isSymbolicLink()) out.push(`${relative(dir, path)} -> link`)
      else out.push(`${relative(dir, path)} ${st.size} ${readFileSync(path).toString('base64').slice(0, 40)}`)
    }
  }
  walk(dir)
  return out
}

async function workload(db: CaskDB, n = 400): Promise<void> {
  for (let i = 0; i < n; i++) await db.put(`k${i % 60}`, `value-${i}-`.repeat(4))
  await db.batch([{ type: 'put', key: 'b1', value: '1' }, { type: 'del', key: 'k1' }])
}

for (const fileMode of [0o600, 0o640]) {
  test(`security: fileMode ${fileMode.toString(8)} applies to every file created: data, hints, LOCK, compaction output, repair output, backups, restores`, async (t) => {
    const location = tempPath()
    const db = await CaskDB.open(location, { fileMode, maxSegmentSize: 4096, compactionMinDeadBytes: 512 })
    await workload(db)
    await db.compact()
    const whileOpen = modes(location)
    t.ok(whileOpen.has('LOCK'), 'LOCK is there while open')
    const backup = join(tempDir(), 'backup')
    await db.backup(backup)
    await db.close()
    // Damage one segment so repair writes a new one.
    const victim = join(location, dataFiles(location).sort((a, b) => statSync(join(location, b)).size - statSync(join(location, a)).size)[0]!)
    const bytes = readFileSync(victim)
    bytes[bytes.length - 10] = bytes[bytes.length - 10]! ^ 0xff
    writeFileSync(victim, bytes)
    const beforeRepair = new Set(modes(location).keys())
    await CaskDB.repair(location, { fileMode })
    const repaired = [...modes(location).keys()].filter((n) => !beforeRepair.has(n) && !n.startsWith('lost/'))
    t.ok(repaired.length > 0, `repair wrote ${repaired.join(', ')}`)
    const restored = join(tempDir(), 'restored')
    await CaskDB.restore(backup, restored)
    const all = new Map<string, number>()
    for (const [n, m] of whileOpen) all.set(`db/${n}`, m)
    for (const [n, m] of modes(location)) if (!n.startsWith('lost/')) all.set(`db/${n}`, m)
    for (const [n, m] of modes(backup)) all.set(`backup/${n}`, m)
    for (const [n, m] of modes(restored)) all.set(`restored/${n}`, m)
    const wrong = [...all].filter(([, m]) => m !== fileMode).map(([n, m]) => `${n}: ${m.toString(8)}`)
    t.same(wrong, [], `all ${all.size} files are ${fileMode.toString(8)}`)
    t.ok([...all.keys()].some((n) => n.endsWith('.hint')) && [...all.keys()].some((n) => n.startsWith('backup/')), 'hints and backups were among them')
  })
}

test('security: a backup or restore never writes over anything at its target: a file, a directory, a symlink (even a dangling one)', async (t) => {
  const db = await CaskDB.open(tempPath())
  await db.put('k', 'v')
  const root = tempDir()
  writeFileSync(join(root, 'a-file'), 'mine')
  mkdirSync(join(root, 'a-dir'))
  writeFileSync(join(root, 'a-dir', 'x'), 'mine too')
  mkdirSync(join(root, 'empty-dir'))
  symlinkSync(join(root, 'a-dir'), join(root, 'link-to-dir'))
  symlinkSync(join(root, 'nowhere'), join(root, 'dangling-link'))
  const before = listing(root)
  const outcomes: string[] = []
  for (const target of ['a-file', 'a-dir', 'empty-dir', 'link-to-dir', 'dangling-link']) {
    const err = await db.backup(join(root, target)).catch((e: unknown) => e)
    outcomes.push(`backup ${target}: ${err instanceof CaskError ? err.code : describeError(err)}`)
    const err2 = await CaskDB.restore(join(root, 'a-dir'), join(root, target)).catch((e: unknown) => e)
    outcomes.push(`restore ${target}: ${err2 instanceof CaskError ? err2.code : describeError(err2)}`)
  }
  await db.backup(join(root, 'real-backup'))
  const err3 = await CaskDB.restore(join(root, 'real-backup'), join(root, 'a-dir')).catch((e: unknown) => e)
  outcomes.push(`restore a real backup over a-dir: ${err3 instanceof CaskError ? err3.code : describeError(err3)}`)
  t.same(
    outcomes.filter((o) => !/: (EXISTS|NOT_FOUND)$/.test(o)),
    [],
    'every attempt refused with EXISTS (or NOT_FOUND for a source without data)',
  )
  t.same(listing(root, (p) => p.endsWith('real-backup')), before, 'nothing at the targets changed, nothing was left behind')
  t.notOk(readdirSync(root).includes('nowhere'), 'nothing was written through the dangling link')
  await db.close()
})

test('security: nothing outside the database directory is written, through compaction, repair, a failed backup and a backup', async (t) => {
  const parent = tempDir()
  writeFileSync(join(parent, 'neighbour.txt'), 'do not touch')
  mkdirSync(join(parent, 'neighbour-dir'))
  const location = join(parent, 'db')
  const backupTarget = join(parent, 'backup')
  const faulty = new FaultyFs()
  // Observe every path the engine names in a call that can change something (reads and stats are fine anywhere).
  const touched = new Set<string>()
  faulty.deny = (call) => {
    if (call.path !== undefined && !['stat', 'readdir', 'readFile', 'fsyncDir'].includes(call.kind)) touched.add(`${call.kind} ${call.path}`)
    return undefined
  }
  const allowed = (entry: string) => {
    const [kind, p] = entry.split(' ') as [string, string]
    if (p === location || p.startsWith(location + '/')) return true
    // The backup target asked for, its hidden partial sibling, and creating its parent (mkdir -p).
    if (p === backupTarget || p.startsWith(backupTarget + '/') || p.startsWith(join(parent, '.backup.partial'))) return true
    return kind === 'mkdir' && p === parent
  }
  const snapshot = () => listing(parent, (p) => p === location || p.startsWith(backupTarget))
  const before = snapshot()

  const db = await CaskDB.open(location, { fs: faulty.fs, maxSegmentSize: 4096, compactionMinDeadBytes: 512 })
  await workload(db, 600)
  await db.compact()
  const it = db.iterator()
  await it.nextv(10)
  it.close()
  // A backup that fails midway (disk full while copying) and one that is refused.
  const deny = faulty.deny
  faulty.deny = (call) => deny(call) ?? (call.kind === 'open' && call.path?.includes('.partial-') ? 'ENOSPC' : undefined)
  t.equal(((await db.backup(backupTarget).catch((e: unknown) => e)) as CaskError).code, 'IO_ERROR', 'the failing backup rejects')
  faulty.deny = deny
  t.equal(((await db.backup(join(parent, 'neighbour-dir')).catch((e: unknown) => e)) as CaskError).code, 'EXISTS')
  t.same(snapshot(), before, 'after the failed backups, the parent directory is exactly as it was')
  await db.backup(backupTarget)
  await db.close()
  await CaskDB.verify(location, { fs: faulty.fs })
  await CaskDB.repair(location, { fs: faulty.fs })
  t.same(snapshot(), before, 'after the workload, compaction, repair and a backup: only the database directory and the backup changed')
  t.same([...touched].filter((e) => !allowed(e)), [], `none of the ${touched.size} changing calls named a path outside them`)
})

test('security: file handles stay bounded across 40 open/close cycles, compactions, iterators, snapshots, backups and failed opens', async (t) => {
  const fds = () => readdirSync('/proc/self/fd').length
  const location = tempPath()
  await (await CaskDB.open(location)).close()
  const baseline = fds()
  let peak = 0
  for (let cycle = 0; cycle < 40; cycle++) {
    const db = await CaskDB.open(location, { maxSegmentSize: 4096, compactionMinDeadBytes: 512 })
    await workload(db, 60)
    const its = [db.iterator(), db.iterator({ reverse: true }), db.iterator({ gte: 'k3' })]
    await its[0]!.nextv(5)
    const snap = db.snapshot()
    if (cycle % 4 === 0) await db.compact()
    if (cycle % 10 === 0) await db.backup(join(tempDir(), 'b'))
    if (cycle % 3 === 0) its[1]!.close() // the others are left open: close() must release them
    if (cycle % 2 === 0) snap.close()
    const open = fds() - baseline
    if (open > peak) peak = open
    t.ok(open <= db.stats().segments + 4, `cycle ${cycle}: ${open} handles open for ${db.stats().segments} segments`) // one per segment, plus LOCK checks and the like
    await db.close()
    // A failed open (locked, corrupt) must release everything it opened.
    const holder = await CaskDB.open(location)
    await CaskDB.open(location).catch(() => undefined)
    await holder.close()
  }
  const damaged = tempPath()
  const d = await CaskDB.open(damaged, { maxSegmentSize: 4096 })
  await workload(d, 300)
  await d.close()
  const victim = join(damaged, dataFiles(damaged)[1]!)
  const bytes = readFileSync(victim)
  bytes[100] = bytes[100]! ^ 0xff
  writeFileSync(victim, bytes)
  for (const hint of readdirSync(damaged).filter((n) => n.endsWith('.hint'))) writeFileSync(join(damaged, hint), '')
  for (let i = 0; i < 10; i++) {
    const err = await CaskDB.open(damaged).catch((e: unknown) => e)
    if (!(err instanceof CaskError && err.code === 'CORRUPTION')) t.fail(`expected CORRUPTION, got ${describeError(err)}`)
  }
  t.equal(fds(), baseline, `after 40 cycles (peak ${peak} extra while open) and 10 failed opens of a damaged database: back to the baseline`)
})
