import test from 'tape'
import { existsSync, mkdirSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { CaskDB, CaskError, ErrorCodes } from '../../src/index.js'
import { tempDir, tempPath } from '../helpers/tmp.js'

async function dump(db: CaskDB): Promise<string[]> {
  return (await db.iterator().all()).map(([k, v]) => `${k}=${v}`)
}

test('a backup is a consistent, openable copy as of the moment it was taken', async (t) => {
  const location = tempPath()
  const db = await CaskDB.open(location, { maxSegmentSize: 4096, autoCompact: false })
  for (let i = 0; i < 300; i++) await db.put(`k${i}`, `v${i}`)
  const expected = await dump(db)
  const dest = join(tempDir(), 'backup')
  const backingUp = db.backup(dest)
  // Writes racing the backup must not leak into it.
  const racing = Array.from({ length: 50 }, (_, i) => db.put(`late${i}`, 'x'))
  await Promise.all([backingUp, ...racing])
  await db.put('k0', 'changed after')
  const copy = await CaskDB.open(dest)
  const got = await dump(copy)
  t.ok(got.length >= expected.length, 'backup holds everything written before it began')
  t.ok(expected.every((e) => got.includes(e)), 'with the values of that moment')
  t.equal((await copy.get('k0'))?.toString(), 'v0', 'later writes are not in it')
  await copy.put('written to backup', 'does not touch the original')
  await copy.close()
  t.equal(await db.get('written to backup'), undefined)
  await db.close()
  t.ok(readdirSync(dest).some((n) => n.endsWith('.hint')), 'sealed segments came with their hints')
})

test('backup never overwrites an existing directory; restore makes a new database', async (t) => {
  const db = await CaskDB.open(tempPath())
  await db.put('a', '1')
  const existing = tempDir()
  mkdirSync(join(existing, 'x'))
  const err = await db.backup(existing).catch((e: CaskError) => e)
  t.equal((err as CaskError).code, ErrorCodes.EXISTS)
  t.ok(existsSync(join(existing, 'x')), 'nothing touched')
  const insideErr = await db.backup(join(db.location, 'inside')).catch((e: CaskError) => e)
  t.equal((insideErr as CaskError).code, ErrorCodes.INVALID_ARGUMENT, 'not inside the database directory')
  const dest = join(tempDir(), 'b')
  await db.backup(dest)
  await db.close()
  const restored = join(tempDir(), 'restored')
  await CaskDB.restore(dest, restored)
  const r = await CaskDB.open(restored)
  t.equal((await r.get('a'))?.toString(), '1')
  await r.close()
  const again = await CaskDB.restore(dest, restored).catch((e: CaskError) => e)
  t.equal((again as CaskError).code, ErrorCodes.EXISTS, 'restore refuses an existing location')
  const empty = await CaskDB.restore(tempDir(), join(tempDir(), 'z')).catch((e: CaskError) => e)
  t.equal((empty as CaskError).code, ErrorCodes.NOT_FOUND, 'restore from a directory without data')
})

test('a backup taken during compaction is complete', async (t) => {
  const db = await CaskDB.open(tempPath(), { maxSegmentSize: 4096, autoCompact: false })
  for (let i = 0; i < 500; i++) await db.put(`k${i % 100}`, `v${i}`)
  const expected = await dump(db)
  const dest = join(tempDir(), 'during')
  await Promise.all([db.compact(), db.backup(dest)])
  const copy = await CaskDB.open(dest)
  t.same(await dump(copy), expected)
  await copy.close()
  await db.close()
})
