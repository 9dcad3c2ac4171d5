import test from 'tape'
import { readdirSync, writeFileSync, copyFileSync } from 'node:fs'
import { join } from 'node:path'
import { CaskDB, type CaskOptions } from '../../src/index.js'
import { FaultyFs } from '../helpers/faulty-fs.js'
import { tempPath } from '../helpers/tmp.js'

const small: CaskOptions = { maxSegmentSize: 4096, autoCompact: false }
const files = (dir: string) => readdirSync(dir).filter((n) => /\.(data|hint|tmp)$/.test(n)).sort()
const str = (b: Buffer | undefined) => b?.toString()

async function contents(db: CaskDB): Promise<Record<string, string>> {
  const out: Record<string, string> = {}
  for (const [k, v] of await db.iterator().all()) out[k!.toString()] = v!.toString()
  return out
}

test('compaction 1: empty database', async (t) => {
  const db = await CaskDB.open(tempPath(), small)
  const result = await db.compact()
  t.equal(result.segmentsCompacted, 0)
  t.same(await contents(db), {})
  await db.close()
})

test('compaction 2: everything dead leaves no data behind', async (t) => {
  const location = tempPath()
  const db = await CaskDB.open(location, small)
  for (let i = 0; i < 200; i++) await db.put(`k${i}`, 'x'.repeat(40))
  for (let i = 0; i < 200; i++) await db.del(`k${i}`)
  const before = db.stats().diskBytes
  const result = await db.compact()
  t.ok(result.segmentsCompacted > 0)
  const after = db.stats()
  t.ok(after.diskBytes < before / 10, `disk ${before} → ${after.diskBytes}`)
  t.equal(after.keys, 0)
  await db.close()
  const reopened = await CaskDB.open(location, small)
  t.same(await contents(reopened), {}, 'tombstones dropped without reviving anything')
  await reopened.close()
})

test('compaction 3: everything live is rewritten byte for byte', async (t) => {
  const location = tempPath()
  const db = await CaskDB.open(location, small)
  const expected: Record<string, string> = {}
  for (let i = 0; i < 300; i++) {
    expected[`k${i}`] = `v${i}`.repeat(5)
    await db.put(`k${i}`, expected[`k${i}`]!)
  }
  const before = db.stats()
  await db.compact()
  t.same(await contents(db), expected)
  t.equal(db.stats().liveBytes, before.liveBytes, 'no live byte lost or added')
  await db.close()
  const reopened = await CaskDB.open(location, small)
  t.same(await contents(reopened), expected, 'same after reopen')
  await reopened.close()
})

test('compaction 4: overwrite-heavy load comes down to about the live size', async (t) => {
  const location = tempPath()
  const db = await CaskDB.open(location, { maxSegmentSize: 16 * 1024, autoCompact: false })
  for (let round = 0; round < 20; round++) {
    await db.batch(Array.from({ length: 100 }, (_, i) => ({ type: 'put' as const, key: `key${i}`, value: `r${round}-`.repeat(10) })))
  }
  const before = db.stats()
  await db.compact()
  const after = db.stats()
  t.ok(before.diskBytes > 10 * before.liveBytes, `before: disk ${before.diskBytes}, live ${before.liveBytes}`)
  t.ok(after.diskBytes <= 1.2 * after.liveBytes + 64, `after: disk ${after.diskBytes} ≤ 1.2 × live ${after.liveBytes}`)
  t.equal(str(await db.get('key5')), 'r19-'.repeat(10))
  t.ok(after.compactions > 0 && after.reclaimedBytes > 0, 'stats count compactions and reclaimed bytes')
  await db.close()
})

test('automatic compaction runs in the background once segments are mostly dead', async (t) => {
  const db = await CaskDB.open(tempPath(), { maxSegmentSize: 4096, compactionMinDeadBytes: 1024, compactionMinDeadRatio: 0.5 })
  const compacted = new Promise((resolve) => db.once('compaction', resolve))
  for (let round = 0; round < 10; round++) {
    for (let i = 0; i < 50; i++) await db.put(`k${i}`, `round${round}`.repeat(4))
  }
  await compacted
  t.pass('a compaction event fired without calling compact()')
  t.equal(str(await db.get('k7')), 'round9'.repeat(4))
  await db.close()
})

test('writes during compaction keep their newer values', async (t) => {
  const location = tempPath()
  const db = await CaskDB.open(location, small)
  for (let i = 0; i < 400; i++) await db.put(`k${i}`, 'old')
  for (let i = 0; i < 400; i += 2) await db.del(`k${i}`)
  const compacting = db.compact()
  const writes: Promise<void>[] = []
  for (let i = 1; i < 400; i += 4) writes.push(db.put(`k${i}`, 'new'))
  for (let i = 3; i < 400; i += 8) writes.push(db.del(`k${i}`))
  await Promise.all([compacting, ...writes])
  const check = async (d: CaskDB) => {
    for (let i = 0; i < 400; i++) {
      const want = i % 2 === 0 ? undefined : i % 4 === 1 ? 'new' : i % 8 === 3 ? undefined : 'old'
      if (str(await d.get(`k${i}`)) !== want) return `k${i}: ${str(await d.get(`k${i}`))} ≠ ${want}`
    }
    return 'ok'
  }
  t.equal(await check(db), 'ok')
  await db.close()
  const reopened = await CaskDB.open(location, small)
  t.equal(await check(reopened), 'ok', 'and after reopen')
  await reopened.close()
})

test('compaction crash before publishing leaves the old files and no garbage', async (t) => {
  const location = tempPath()
  const db = await CaskDB.open(location, small)
  for (let i = 0; i < 300; i++) await db.put(`k${i % 50}`, `v${i}`)
  await db.close()
  const expectedFiles = files(location)
  for (const failAt of [1, 2, 3]) {
    // Fail the nth rename: 1 = hint publish, 2 = data publish.
    const faulty = new FaultyFs()
    const fdb = await CaskDB.open(location, { ...small, fs: faulty.fs })
    await fdb.verify() // waits for background sealing queued by open
    faulty.fault = { kind: 'rename', nth: faulty.counts.rename + failAt }
    const err = await fdb.compact().catch((e) => e)
    const failed = faulty.injected > 0
    await fdb.close()
    const reopened = await CaskDB.open(location, small)
    const got = await contents(reopened)
    t.equal(Object.keys(got).length, 50, `rename ${failAt} failed=${failed}: all keys present`)
    t.equal(got['k49'], 'v299')
    t.notOk(readdirSync(location).some((n) => n.endsWith('.tmp')), 'no temporary files left')
    await reopened.close()
    if (failed) t.ok(err instanceof Error, 'compact() rejected')
    else t.notOk(err instanceof Error, 'compact() succeeded')
  }
  t.ok(expectedFiles.length > 0)
})

test('a crash after publishing but before deleting old segments: next open removes them', async (t) => {
  const location = tempPath()
  const db = await CaskDB.open(location, small)
  for (let i = 0; i < 300; i++) await db.put(`k${i % 50}`, `v${i}`)
  await db.close()
  // Keep copies of the segments the compaction will replace.
  const saved = files(location).map((n) => [n, join(location + '-saved-' + n)] as const)
  for (const [n, copy] of saved) copyFileSync(join(location, n), copy)
  const db2 = await CaskDB.open(location, small)
  await db2.compact()
  await db2.close()
  // Simulate the crash: the replaced files reappear next to the new one.
  for (const [n, copy] of saved) {
    try {
      copyFileSync(copy, join(location, n), 1)
    } catch {
      // still there (the active segment)
    }
  }
  const reopened = await CaskDB.open(location, small)
  t.ok(reopened.stats().recovery.removedFiles.length > 0, 'leftovers removed')
  const got = await contents(reopened)
  t.equal(Object.keys(got).length, 50)
  t.equal(got['k0'], 'v250')
  t.equal(reopened.stats().deadBytes, 0, 'no duplicate bytes counted')
  await reopened.close()
  writeFileSync(join(location, 'unrelated.txt'), 'left alone')
  t.ok(readdirSync(location).includes('unrelated.txt'))
})

test('expired records and tombstones are dropped by compaction without reviving older values', async (t) => {
  const location = tempPath()
  let now = 1_000_000
  const clock = { now: () => now, setInterval: () => ({ clear() {} }), setTimeout: () => ({ clear() {} }) }
  const db = await CaskDB.open(location, { ...small, clock })
  for (let i = 0; i < 100; i++) await db.put(`k${i}`, 'old-value'.repeat(4))
  for (let i = 0; i < 100; i++) await db.put(`k${i}`, 'short-lived'.repeat(4), { ttl: 1000 })
  now += 2000
  t.equal(await db.get('k1'), undefined, 'expired')
  t.equal(await db.purgeExpired(), 100, 'purged')
  await db.compact()
  const s = db.stats()
  t.equal(s.keys, 0)
  t.ok(s.diskBytes < 200, `disk ${s.diskBytes} bytes`)
  await db.close()
  const reopened = await CaskDB.open(location, { ...small, clock })
  t.equal(await reopened.get('k1'), undefined, 'the old value did not come back')
  await reopened.close()
})
