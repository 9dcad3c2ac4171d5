/**
 * caskdb in one file: open, write, read, iterate, snapshot, compact, back up.
 * Run with `npm start`. Data goes to ./data/quickstart, the backup to ./data/quickstart-backup.
 */
import { rmSync } from 'node:fs'
import { CaskDB } from 'caskdb'

const location = './data/quickstart'
const backupDir = './data/quickstart-backup'

const db = await CaskDB.open(location)

// Writes: strings are stored as UTF-8, Buffers as they are.
await db.put('user:1', JSON.stringify({ name: 'Ada' }))
await db.put('user:2', JSON.stringify({ name: 'Grace' }))
await db.put('session:abc', 'token', { ttl: 60_000 }) // expires in a minute
await db.batch([
  { type: 'put', key: 'user:3', value: JSON.stringify({ name: 'Edsger' }) },
  { type: 'del', key: 'user:2' },
]) // all or nothing, also across a crash

// Reads.
console.log('user:1 =', (await db.get('user:1'))?.toString())
console.log('user:2 =', await db.get('user:2'), '(deleted)')

// Ordered iteration over a range.
for await (const [key, value] of db.iterator({ gte: 'user:', lt: 'user;' })) {
  console.log('  ', key!.toString(), '→', value!.toString())
}

// A snapshot sees the database as it was.
const snapshot = db.snapshot()
await db.put('user:1', JSON.stringify({ name: 'Ada Lovelace' }))
console.log('now:', (await db.get('user:1'))?.toString(), '| in snapshot:', (await db.get('user:1', { snapshot }))?.toString())
snapshot.close()

// Overwrites leave dead bytes behind; compaction reclaims them.
for (let i = 0; i < 1000; i++) await db.put('counter', String(i))
console.log('before compaction:', db.stats().deadBytes, 'dead bytes')
await db.compact()
console.log('after compaction: ', db.stats().deadBytes, 'dead bytes')

// A consistent copy of the database, openable like any other.
rmSync(backupDir, { recursive: true, force: true })
await db.backup(backupDir)
console.log('backup written to', backupDir)

console.log(db.stats())
await db.close()
