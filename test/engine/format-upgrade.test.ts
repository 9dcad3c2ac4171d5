/**
 * Databases written by data format version 1 (29-byte record headers) keep
 * working: test/fixtures/format-v1 was written by caskdb 0e0f273, the last
 * release before record layout 2, with this script:
 *
 *   const db = await CaskDB.open(dir, { maxSegmentSize: 4096, autoCompact: false })
 *   for (let i = 0; i < 120; i++) await db.put(key(i), `value-${i}-`.repeat(1 + (i % 4)))
 *   for (let i = 0; i < 120; i += 5) await db.put(key(i), `second-${i}`)
 *   for (let i = 1; i < 120; i += 9) await db.del(key(i))
 *   await db.batch([put batch-a=A, put batch-b=B, del key002])
 *   await db.put('ttl-far', 'stays', { ttl: 50 years })
 *   await db.put('ttl-past', 'gone', { ttl: 1 })
 *   await db.put('last', 'the last record')
 *   await db.close()
 *
 * Two sealed segments with version 2 hints and an active segment with the
 * hint a clean close writes: every path an upgrade meets.
 */
import test from 'tape'
import { cpSync, readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { CaskDB, type CaskOptions } from '../../src/index.js'
import { V1_HEADER_SIZE } from '../../src/format/record.js'
import { tempPath } from '../helpers/tmp.js'
import { recordsIn } from '../helpers/records.js'

const fixture = fileURLToPath(new URL('../fixtures/format-v1', import.meta.url))
const key = (i: number) => `key${String(i).padStart(3, '0')}`

function expected(): Map<string, string> {
  const model = new Map<string, string>()
  for (let i = 0; i < 120; i++) model.set(key(i), `value-${i}-`.repeat(1 + (i % 4)))
  for (let i = 0; i < 120; i += 5) model.set(key(i), `second-${i}`)
  for (let i = 1; i < 120; i += 9) model.delete(key(i))
  model.set('batch-a', 'A')
  model.set('batch-b', 'B')
  model.delete('key002')
  model.set('ttl-far', 'stays')
  model.set('last', 'the last record')
  return model
}

function copyFixture(): string {
  const location = tempPath()
  cpSync(fixture, location, { recursive: true })
  return location
}

const dataFiles = (location: string) => readdirSync(location).filter((n) => n.endsWith('.data')).sort()
const version = (path: string) => readFileSync(path).readUInt16BE(4)

async function contents(db: CaskDB): Promise<Map<string, string>> {
  const out = new Map<string, string>()
  for (const [k, v] of await db.iterator().all()) out.set(k!.toString(), v!.toString())
  return out
}

for (const options of [{}, { cacheSize: 0 }, { warmCache: false }] as CaskOptions[]) {
  test(`format upgrade: a version 1 database opens and reads back exactly (${JSON.stringify(options)})`, async (t) => {
    const location = copyFixture()
    t.same(
      dataFiles(location).map((n) => version(join(location, n))),
      [1, 1, 1],
      'the fixture is three version 1 segments',
    )
    t.ok(
      recordsIn(readFileSync(join(location, '00000001.data'))).every((r) => r.headerSize === V1_HEADER_SIZE),
      'of 29-byte record headers',
    )
    const db = await CaskDB.open(location, options)
    const model = expected()
    let right = 0
    for (const [k, v] of model) if ((await db.get(k))?.toString() === v) right++
    t.equal(right, model.size, `get: all ${model.size} keys`)
    t.equal(await db.get('ttl-past'), undefined, 'an expired record stays expired')
    t.equal(await db.get('key001'), undefined, 'a deleted key stays deleted')
    t.same([...(await contents(db))], [...model].sort(([a], [b]) => (a < b ? -1 : 1)), 'iteration: every live entry, in order')
    t.same(await db.verify(), [], 'verify is clean')
    await db.close()
  })
}

test('format upgrade: new records go to a new version 2 segment; version 1 files are never appended to', async (t) => {
  const location = copyFixture()
  const before = new Map(dataFiles(location).map((n) => [n, readFileSync(join(location, n))]))
  const db = await CaskDB.open(location)
  await db.put('new', 'after the upgrade')
  const written = db.stats().bytesWritten
  await db.put('key003', 'value-3-value-3-value-3-value-3-')
  t.equal(db.stats().bytesWritten, written, 'rewriting the value a version 1 record holds is skipped as unchanged')
  await db.close()
  for (const [name, bytes] of before) t.same(readFileSync(join(location, name)), bytes, `${name} is byte for byte as it was`)
  const added = dataFiles(location).filter((n) => !before.has(n))
  t.equal(added.length, 1, 'one new segment')
  t.equal(version(join(location, added[0]!)), 2, 'of version 2')
  const records = recordsIn(readFileSync(join(location, added[0]!)))
  t.same(
    records.map((r) => [r.key.toString(), r.headerSize]),
    [['new', 8 + 1]],
    'holding the new record with a 9-byte header (seq above 127)',
  )
  const reopened = await CaskDB.open(location)
  t.equal((await reopened.get('new'))?.toString(), 'after the upgrade')
  t.equal((await reopened.get('last'))?.toString(), 'the last record', 'the old active segment, now sealed, still reads')
  t.same(await reopened.verify(), [], 'verify is clean')
  await reopened.close()
})

test('format upgrade: compaction copies version 1 records into a version 2 segment, which reads back after reopen', async (t) => {
  const location = copyFixture()
  const db = await CaskDB.open(location)
  await db.put('new', 'after the upgrade')
  await db.compact()
  await db.close()
  const files = dataFiles(location)
  t.ok(
    files.every((n) => version(join(location, n)) === 2),
    'every segment is version 2 after a full compaction',
  )
  const layouts = new Set(files.flatMap((n) => recordsIn(readFileSync(join(location, n))).map((r) => r.headerSize === V1_HEADER_SIZE)))
  t.same([...layouts].sort(), [false, true], 'records of both layouts, side by side (compaction copies records verbatim)')
  const reopened = await CaskDB.open(location, { cacheSize: 0 })
  const model = expected()
  model.set('new', 'after the upgrade')
  t.same([...(await contents(reopened))], [...model].sort(([a], [b]) => (a < b ? -1 : 1)), 'every live entry, nothing else')
  t.same(await reopened.verify(), [], 'verify is clean')
  await reopened.close()
})
