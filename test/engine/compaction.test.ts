import test from 'tape'
import { readdirSync, writeFileSync, copyFileSync, openSync, closeSync, fstatSync, unlinkSync } from 'node:fs'
import { join } from 'node:path'
import { CaskDB, type CaskOptions, type FileSystem } from '../../src/index.js'
import type { CompactionStep } from '../../src/compaction/compactor.js'
import { nodeFileSystem } from '../../src/io/file-system.js'
import { scanSegment } from '../../src/log/scan.js'
import { segmentFileName } from '../../src/log/segment.js'
import { RecordType } from '../../src/format/record.js'
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

/** A file system that counts the bytes read through preads (hints are read whole, with readFile). */
function readCounter(): { fs: FileSystem; reads: number; bytes: number } {
  const counter = {
    reads: 0,
    bytes: 0,
    fs: {
      ...nodeFileSystem,
      readSync: (fd, buffer, offset, length, position) => {
        const n = nodeFileSystem.readSync(fd, buffer, offset, length, position)
        counter.reads++
        counter.bytes += n
        return n
      },
      read: async (fd, buffer, offset, length, position) => {
        const n = await nodeFileSystem.read(fd, buffer, offset, length, position)
        counter.reads++
        counter.bytes += n
        return n
      },
    } satisfies FileSystem,
  }
  return counter
}

/** Deterministic shuffle, so every run writes the same file layout. */
function shuffled(n: number, seed: number): number[] {
  const order = Array.from({ length: n }, (_, i) => i)
  let x = seed
  for (let i = n - 1; i > 0; i--) {
    x = (x * 1103515245 + 12345) & 0x7fffffff
    const j = x % (i + 1)
    ;[order[i], order[j]] = [order[j]!, order[i]!]
  }
  return order
}

/** Keys and types of the records in one data file, in file order. */
async function recordsOf(path: string): Promise<{ key: string; type: number }[]> {
  const fd = openSync(path, 'r')
  const out: { key: string; type: number }[] = []
  try {
    await scanSegment(nodeFileSystem, fd, fstatSync(fd).size, path, (buf, at, _size, h) => {
      out.push({ key: buf.latin1Slice(at + h.headerSize, at + h.headerSize + h.keyLength), type: h.type })
    })
  } finally {
    closeSync(fd)
  }
  return out
}

test('compaction reads only the live records of its inputs, in few preads', async (t) => {
  const counter = readCounter()
  const location = tempPath()
  const db = await CaskDB.open(location, { maxSegmentSize: 64 * 1024, autoCompact: false, cacheSize: 0, fs: counter.fs })
  const value = (round: number, i: number) => `${round}:${i}:`.padEnd(1000, 'v')
  for (let round = 0; round < 5; round++) {
    for (const i of shuffled(60, round + 1)) await db.put(`key${String(i).padStart(3, '0')}`, value(round, i))
  }
  // Unique keys until the active segment holds nothing dead, so compact() need not seal (and scan) it.
  for (let i = 0; i < 80; i++) await db.put(`fresh${i}`, value(9, i))
  await db.verify() // waits for background sealing; its reads are not counted below
  const steps: CompactionStep[] = []
  db.on('compaction', (step: CompactionStep) => steps.push(step))
  counter.reads = 0
  counter.bytes = 0
  const result = await db.compact()
  const copied = steps.reduce((n, s) => n + s.copiedBytes, 0)
  const records = 60 + 80
  t.ok(result.segmentsCompacted >= 4, `${result.segmentsCompacted} segments compacted`)
  t.ok(counter.bytes <= copied, `read ${counter.bytes} bytes, copied ${copied} (of ${result.bytesBefore} on disk)`)
  t.ok(counter.bytes < result.bytesBefore / 3, 'dead records were not read')
  t.ok(counter.reads <= records, `${counter.reads} preads for at most ${records} live records`)
  for (let i = 0; i < 60; i++) {
    const key = `key${String(i).padStart(3, '0')}`
    if (str(await db.get(key)) !== value(4, i)) t.fail(`${key} lost its value`)
  }
  await db.close()
  const reopened = await CaskDB.open(location, small)
  t.equal(str(await reopened.get('key017')), value(4, 17), 'intact after reopen')
  t.equal(reopened.stats().keys, 140)
  await reopened.close()
})

test('compaction writes its output in key order, tombstones included', async (t) => {
  const location = tempPath()
  const db = await CaskDB.open(location, { maxSegmentSize: 8 * 1024, autoCompact: false })
  for (let round = 0; round < 3; round++) {
    for (const i of shuffled(300, round + 7)) await db.put(`k${String(i).padStart(4, '0')}`, `r${round}`.repeat(8))
  }
  const steps: CompactionStep[] = []
  db.on('compaction', (step: CompactionStep) => steps.push(step))
  await db.compact()
  t.ok(steps.some((s) => s.output !== undefined), 'there is an output')
  for (const step of steps) {
    if (step.output === undefined) continue
    const keys = (await recordsOf(join(location, segmentFileName(step.output, '.data')))).map((r) => r.key)
    t.ok(keys.every((k, i) => i === 0 || keys[i - 1]! <= k), `output ${step.output}: ${keys.length} records in key order`)
  }
  await db.close()
})

/**
 * Tombstones kept because an older value of their key lies outside the step:
 * `dead` holds tombstones (and overwritten filler), `old` the values they hide
 * plus enough live data that a threshold compaction leaves it alone.
 */
async function tombstoneSetup(location: string, gone: number): Promise<CaskDB> {
  const options: CaskOptions = { maxSegmentSize: 13 * 1024, autoCompact: false, compactionMinDeadRatio: 0.5, compactionMinDeadBytes: 1 }
  const db = await CaskDB.open(location, options)
  for (let i = 0; i < gone; i++) await db.put(`gone${i}`, 'hidden'.repeat(10))
  for (let i = 0; i < 150; i++) await db.put(`keep${i}`, 'live'.repeat(20))
  for (let i = 0; i < gone; i++) await db.del(`gone${i}`)
  for (let round = 0; round < 8; round++) for (let i = 0; i < 20; i++) await db.put(`churn${i}`, `c${round}`.repeat(30))
  await db.verify()
  return db
}

for (const [hint, gone] of [['with its hint', 40], ['without a hint (scanned instead)', 40], ['with its hint, more than one sort run of them', 1500]] as const) {
  test(`compaction keeps tombstones that hide older values, ${hint}`, async (t) => {
    const location = tempPath()
    const db = await tombstoneSetup(location, gone)
    if (hint.startsWith('without')) {
      for (const name of readdirSync(location)) if (name.endsWith('.hint')) unlinkSync(join(location, name))
    }
    const steps: CompactionStep[] = []
    db.on('compaction', (step: CompactionStep) => steps.push(step))
    await db.compact({ full: false })
    t.ok(steps.length > 0, `${steps.length} steps`)
    let tombstones = 0
    for (const step of steps) {
      if (step.output === undefined) continue
      const records = await recordsOf(join(location, segmentFileName(step.output, '.data')))
      tombstones += records.filter((r) => r.type === RecordType.DELETE).length
      const keys = records.map((r) => r.key)
      t.ok(keys.every((k, i) => i === 0 || keys[i - 1]! <= k), 'tombstones merged in key order')
    }
    t.ok(tombstones > 0, `${tombstones} tombstones carried over`)
    t.equal(await db.get('gone3'), undefined)
    await db.close()
    const reopened = await CaskDB.open(location, small)
    const revived = []
    for (let i = 0; i < gone; i++) if ((await reopened.get(`gone${i}`)) !== undefined) revived.push(i)
    t.same(revived, [], 'no deleted key came back after reopen')
    t.equal(str(await reopened.get('keep149')), 'live'.repeat(20))
    t.equal(str(await reopened.get('churn19')), 'c7'.repeat(30))
    await reopened.close()
  })
}

test('a damaged live record fails the step with CORRUPTION and keeps the old files', async (t) => {
  const location = tempPath()
  const db = await CaskDB.open(location, { maxSegmentSize: 6 * 1024, autoCompact: false })
  for (let round = 0; round < 4; round++) for (let i = 0; i < 60; i++) await db.put(`k${i}`, `r${round}-${i}`.padEnd(80, '.'))
  await db.verify()
  // Flip a byte inside the value of k59's live record (written last, so it sits near the end of a sealed file).
  const { readFileSync } = await import('node:fs')
  const sealed = readdirSync(location).filter((n) => n.endsWith('.data')).sort()
  const victim = join(location, sealed[sealed.length - 2]!)
  const bytes = readFileSync(victim)
  const at = bytes.lastIndexOf(Buffer.from('r3-'))
  t.ok(at > 0, 'found a live value to damage')
  bytes[at + 10] = bytes[at + 10]! ^ 0xff
  writeFileSync(victim, bytes)
  const err = await db.compact().catch((e: unknown) => e)
  t.equal((err as { code?: string }).code, 'CORRUPTION', `compact() rejected: ${String(err)}`)
  t.notOk(readdirSync(location).some((n) => n.endsWith('.tmp')), 'no temporary files left')
  await db.close()
  const reopened = await CaskDB.open(location, small)
  t.equal(str(await reopened.get('k0')), 'r3-0'.padEnd(80, '.'), 'undamaged records still there')
  await reopened.close()
})

test('compaction runs alongside a put loop: puts and immediates keep going, nothing is lost', async (t) => {
  const location = tempPath()
  const records = 120_000
  const db = await CaskDB.open(location, { maxSegmentSize: 4 * 1024 * 1024, autoCompact: false, cacheSize: 0 })
  const value = Buffer.alloc(100, 7)
  for (let round = 0; round < 3; round++) {
    const order = shuffled(records / 3, round + 3)
    for (let b = 0; b < order.length; b += 1000) {
      await db.batch(order.slice(b, b + 1000).map((i) => ({ type: 'put' as const, key: `key${i}`, value: Buffer.from(`${round}`.padEnd(100, 'x')) })))
    }
  }
  await db.verify()
  // The put loop of a server: it returns to the event loop every 64 puts.
  let putCount = 0
  const put = async (): Promise<void> => {
    await db.put(`during${putCount++}`, value)
    if (putCount % 64 === 0) await new Promise<void>((r) => setImmediate(r))
  }
  let done = false
  let turns = 0
  const ticker = (): void => {
    turns++
    if (!done) setImmediate(ticker)
  }
  const compacting = db.compact().then(() => (done = true))
  setImmediate(ticker)
  const before = putCount
  while (!done) await put()
  await compacting
  // Liveness only: puts, immediates and the compaction all progress together. How much of
  // their rate puts keep is a speed figure, measured by the benchmark (compaction_puts,
  // bench/NOTES.md section 2), not asserted here; the slicing itself is tested in time-slice.test.ts.
  t.ok(turns >= 100, `the event loop turned ${turns} times while compaction ran`)
  t.ok(putCount - before >= 64 * 50, `${putCount - before} puts completed while compaction ran`)
  t.equal(db.stats().keys, records / 3 + putCount)
  t.equal(str(await db.get('key123')), '2'.padEnd(100, 'x'))
  await db.close()
})

test('puts to keys being moved keep their newer values, also while the index is switched', async (t) => {
  const location = tempPath()
  const db = await CaskDB.open(location, { maxSegmentSize: 1024 * 1024, autoCompact: false })
  const n = 20_000
  for (let round = 0; round < 2; round++) {
    for (let b = 0; b < n; b += 1000) {
      await db.batch(Array.from({ length: 1000 }, (_, i) => ({ type: 'put' as const, key: `k${b + i}`, value: `old${round}` })))
    }
  }
  const want = new Map<string, string | undefined>()
  for (let i = 0; i < n; i++) want.set(`k${i}`, 'old1')
  let done = false
  const compacting = db.compact().then(() => (done = true))
  let i = 0
  while (!done) {
    const key = `k${(i * 7919) % n}`
    if (i % 5 === 4) {
      await db.del(key)
      want.set(key, undefined)
    } else {
      await db.put(key, `new${i}`)
      want.set(key, `new${i}`)
    }
    i++
    if (i % 8 === 0) await new Promise<void>((r) => setImmediate(r))
  }
  await compacting
  t.ok(i > 50, `${i} writes while compaction ran`)
  const check = async (d: CaskDB): Promise<string> => {
    for (const [key, value] of want) {
      const got = str(await d.get(key))
      if (got !== value) return `${key}: ${got} ≠ ${value}`
    }
    return 'ok'
  }
  t.equal(await check(db), 'ok')
  await db.close()
  const reopened = await CaskDB.open(location, small)
  t.equal(await check(reopened), 'ok', 'and after reopen')
  await reopened.close()
})

for (const moment of ['while copying (the output was just created)', 'once the output is published (index switch, cleanup)']) {
  test(`close() ${moment}: compact() resolves, nothing is lost`, async (t) => {
    const location = tempPath()
    const faulty = new FaultyFs()
    const db = await CaskDB.open(location, { fs: faulty.fs, maxSegmentSize: 4096, autoCompact: false })
    for (let i = 0; i < 3000; i++) await db.put(`k${i % 200}`, `value-${i}-`.repeat(5))
    await db.verify()
    let closing: Promise<void> | undefined
    if (moment.startsWith('while copying')) {
      faulty.deny = (call) => {
        if (call.kind === 'open' && call.path?.endsWith('.data.tmp') && closing === undefined) closing = db.close()
        return undefined
      }
    } else {
      // The rename that publishes the data file is the last durable step before the switch.
      faulty.deny = (call) => {
        if (call.kind === 'rename' && call.path?.endsWith('.data') && closing === undefined) {
          setImmediate(() => (closing = db.close()))
        }
        return undefined
      }
    }
    const outcome = await db.compact().then(
      (r) => `resolved after ${r.steps} steps`,
      (e: unknown) => `rejected: ${String(e)}`,
    )
    t.ok(closing !== undefined, 'close() was called during the compaction')
    await closing
    t.match(outcome, /^resolved/, `compact() ${outcome}`)
    t.notOk(readdirSync(location).some((n) => n.endsWith('.tmp')), 'no temporary files left')
    const reopened = await CaskDB.open(location)
    t.equal(reopened.stats().keys, 200, 'no key lost')
    t.equal(str(await reopened.get('k199')), 'value-2999-'.repeat(5))
    t.same(await reopened.verify(), [], 'verify is clean')
    await reopened.close()
  })
}
