/**
 * Snapshots (an O(1) frozen view) and backups (a consistent copy on disk),
 * including scheduled backups with retention.
 * Run: node --import tsx examples/snapshots-and-backups.ts
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CaskDB } from '../src/index.js'

const dir = mkdtempSync(join(tmpdir(), 'caskdb-snapshots-'))
try {
  const db = await CaskDB.open(join(dir, 'db'))
  await db.batch([
    { type: 'put', key: 'balance:alice', value: '100' },
    { type: 'put', key: 'balance:bob', value: '50' },
  ])

  // A report reads a snapshot while transfers keep going: its totals stay consistent.
  const snapshot = db.snapshot()
  await db.batch([
    { type: 'put', key: 'balance:alice', value: '70' },
    { type: 'put', key: 'balance:bob', value: '80' },
  ])
  let total = 0
  for await (const [, value] of db.iterator({ snapshot })) total += Number(value)
  console.log('total in the snapshot:', total, '| alice now:', (await db.get('balance:alice'))?.toString())
  snapshot.close() // snapshots pin old files against compaction: close them

  // A backup is a normal database directory, openable on its own.
  const backupDir = join(dir, 'backup-1')
  await db.backup(backupDir)
  await db.put('balance:alice', '0')
  const copy = await CaskDB.open(backupDir)
  console.log('alice in the backup:', (await copy.get('balance:alice'))?.toString())
  await copy.close()

  // Restoring copies a backup into a new location.
  await CaskDB.restore(backupDir, join(dir, 'restored'))
  console.log('restored:', readdirSync(join(dir, 'restored')).filter((n) => n.endsWith('.data')).length, 'data file(s)')
  await db.close()

  // Scheduled backups: one every `every` ms, keeping the newest `keep`. (Daily: every: 86_400_000.)
  const scheduled = await CaskDB.open(join(dir, 'db'), { backup: { dir: join(dir, 'nightly'), every: 1000, keep: 2 } })
  // caskdb's timers never keep a process alive on their own; a real app's server does. Here, a timer of ours.
  const keepAlive = setTimeout(() => undefined, 10_000)
  await new Promise<void>((resolve) => scheduled.once('backup', () => resolve()))
  clearTimeout(keepAlive)
  console.log('scheduled backups:', readdirSync(join(dir, 'nightly')))
  await scheduled.close()
} finally {
  rmSync(dir, { recursive: true, force: true })
}
