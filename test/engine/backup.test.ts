import test from 'tape'
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { CaskDB, CaskError, ErrorCodes } from '../../src/index.js'
import { tempDir, tempPath } from '../helpers/tmp.js'
import { countingFs } from '../helpers/hints.js'

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

test('a backup carries a hint of its copy of the active segment: opening the backup, or a restore of it, reads no values', async (t) => {
  const location = tempPath()
  const db = await CaskDB.open(location, { maxSegmentSize: 4 * 1024 * 1024, autoCompact: false })
  const value = (i: number) => `value ${i} `.repeat(10)
  for (let i = 0; i < 3000; i += 100) await db.batch(Array.from({ length: 100 }, (_, j) => ({ type: 'put' as const, key: `k${i + j}`, value: value(i + j) })))
  const dest = join(tempDir(), 'backup')
  const backingUp = db.backup(dest)
  // Written while the backup runs: the active segment grows past the length the backup captured.
  const racing = db.batch(Array.from({ length: 200 }, (_, j) => ({ type: 'put' as const, key: `late${j}`, value: 'x'.repeat(100) })))
  await Promise.all([backingUp, racing])
  await db.close()
  const names = readdirSync(dest)
  const activeHint = names.find((n) => n.endsWith('.active.hint'))
  t.ok(activeHint !== undefined, `the backup holds ${activeHint}`)
  const dataName = activeHint!.replace('.active.hint', '.data')

  const check = async (dir: string, what: string) => {
    const counting = countingFs()
    const copy = await CaskDB.open(dir, { fs: counting.fs, warmCache: false })
    const read = counting.bytesRead.get(join(dir, dataName)) ?? 0
    t.ok(read <= 8 + 4096, `${what}: open read ${read} bytes of the active copy (its tail check), not its ${statSync(join(dir, dataName)).size}`)
    let right = 0
    for (let i = 0; i < 3000; i++) if ((await copy.get(`k${i}`))?.toString() === value(i)) right++
    t.equal(right, 3000, `${what}: every value of the backup's instant`)
    const late = (await copy.hasMany(Array.from({ length: 200 }, (_, j) => `late${j}`))).filter(Boolean).length
    t.ok(late === 0 || late === 200, `${what}: the racing batch is in it whole or not at all (${late})`)
    t.same(await copy.verify(), [], `${what}: verify is clean`)
    await copy.close()
  }
  const restored = join(tempDir(), 'restored')
  await CaskDB.restore(dest, restored)
  t.ok(readdirSync(restored).includes(activeHint!), 'a restore copies the hint too')
  await check(dest, 'the backup')
  await check(restored, 'the restore')
})
