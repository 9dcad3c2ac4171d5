import test from 'tape'
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { CaskDB, CaskError, ErrorCodes } from '../../src/index.js'
import { tempPath } from '../helpers/tmp.js'

const dataFiles = (dir: string) => readdirSync(dir).filter((n) => n.endsWith('.data')).sort()

async function damagedDb(): Promise<{ location: string; file: string }> {
  const location = tempPath()
  const db = await CaskDB.open(location, { maxSegmentSize: 4096, autoCompact: false })
  for (let i = 0; i < 200; i++) await db.put(`key${String(i).padStart(3, '0')}`, `value-${i}-`.repeat(4))
  await db.close()
  const file = join(location, dataFiles(location)[0]!)
  const bytes = readFileSync(file)
  const at = bytes.indexOf('value-5-')
  bytes.fill(0xee, at, at + 20)
  writeFileSync(file, bytes)
  return { location, file }
}

test('verify finds damage with file and offset; a healthy database verifies clean', async (t) => {
  const { location, file } = await damagedDb()
  const damage = await CaskDB.verify(location)
  t.equal(damage.length, 1)
  t.equal(damage[0]!.file, file)
  t.ok(damage[0]!.offset > 0)
  const db = await CaskDB.open(location)
  t.equal((await db.verify()).length, 1, 'instance verify agrees')
  await db.close()
  const healthy = tempPath()
  const h = await CaskDB.open(healthy)
  await h.put('a', 'b')
  t.same(await h.verify(), [])
  await h.close()
  const err = await CaskDB.verify(tempPath()).catch((e: CaskError) => e)
  t.equal((err as CaskError).code, ErrorCodes.NOT_FOUND)
})

test('repair keeps every intact record and moves damaged files aside', async (t) => {
  const { location, file } = await damagedDb()
  const report = await CaskDB.repair(location)
  t.same(report.repairedFiles, [file.split('/').pop()])
  t.ok(existsSync(join(location, 'lost')), 'originals kept in lost/')
  t.ok(readdirSync(join(location, 'lost')).length >= 1)
  t.same(await CaskDB.verify(location), [], 'clean after repair')
  const db = await CaskDB.open(location)
  const keys = (await db.iterator().all()).map(([k]) => k!.toString())
  t.equal(keys.length, 199, 'only the damaged record is gone')
  t.notOk(keys.includes('key005'))
  t.equal((await db.get('key006'))?.toString(), 'value-6-'.repeat(4))
  await db.close()
})

test('repair refuses an open database', async (t) => {
  const location = tempPath()
  const db = await CaskDB.open(location)
  const err = await CaskDB.repair(location).catch((e: CaskError) => e)
  t.equal((err as CaskError).code, ErrorCodes.LOCKED)
  await db.close()
})
