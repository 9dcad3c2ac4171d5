/**
 * The read path: what a cache hit, a miss, an iterator and the cache fill
 * promise. Reads are counted through a FaultyFs (no faults injected), so
 * "served from RAM" is checked, not assumed.
 */
import test from 'tape'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { CaskDB, type CaskOptions } from '../../src/index.js'
import { ValueCache } from '../../src/value-cache.js'
import { FaultyFs } from '../helpers/faulty-fs.js'
import { tempPath } from '../helpers/tmp.js'
import { recordsIn } from '../helpers/records.js'
import { coded, dataFiles, prng } from '../reliability/support.js'

const key = (i: number) => `key${String(i).padStart(5, '0')}`
const value = (i: number) => `value ${i} `.repeat(1 + (i % 7))

/** `n` keys written in a shuffled order (so key order and file order differ), then closed. */
async function build(location: string, n: number, options: CaskOptions = {}): Promise<void> {
  const order = Array.from({ length: n }, (_, i) => i)
  const random = prng(5)
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    ;[order[i], order[j]] = [order[j]!, order[i]!]
  }
  const db = await CaskDB.open(location, options)
  for (let i = 0; i < n; i += 100) {
    await db.batch(order.slice(i, i + 100).map((k) => ({ type: 'put' as const, key: key(k), value: value(k) })))
  }
  await db.close()
}

/** Opens with a read-counting file system; `reads()` counts reads since open. */
async function openCounting(location: string, options: CaskOptions = {}) {
  const faulty = new FaultyFs()
  const db = await CaskDB.open(location, { ...options, fs: faulty.fs })
  const base = faulty.counts.read
  return { db, reads: () => faulty.counts.read - base }
}

test('read path: a returned Buffer is the caller’s own, from every source (hit, miss, no fill, iterator, write buffer)', async (t) => {
  const location = tempPath()
  await build(location, 300)
  const check = async (db: CaskDB, label: string, read: () => Promise<Buffer | undefined> | Buffer | undefined) => {
    const first = (await read())!
    first.fill(0x21)
    t.equal((await read())?.toString(), value(7), `${label}: a second read is unchanged`)
    t.equal(db.getSync(key(7))?.toString(), value(7), `${label}: getSync after it is unchanged`)
    t.equal((await db.iterator({ gte: key(7), limit: 1 }).all())[0]?.[1]?.toString(), value(7), `${label}: iterator after it is unchanged`)
  }
  let db = await CaskDB.open(location)
  await check(db, 'miss that fills the cache, then hits', () => db.get(key(7)))
  await db.close()
  db = await CaskDB.open(location)
  await check(db, 'fillCache: false', () => db.get(key(7), { fillCache: false }))
  await check(db, 'getMany', async () => (await db.getMany([key(7)]))[0])
  await db.close()
  db = await CaskDB.open(location)
  await check(db, 'iterator (cold)', async () => (await db.iterator({ gte: key(7), limit: 1 }).all())[0]?.[1])
  await check(db, 'iterator (cached)', async () => (await db.iterator({ gte: key(7), limit: 1 }).all())[0]?.[1])
  await db.close()
  db = await CaskDB.open(location, { cacheSize: 0 })
  await check(db, 'no cache', () => db.get(key(7)))
  await db.close()
  db = await CaskDB.open(location, { writeBuffer: true, flushInterval: 60_000 })
  await db.put(key(7), value(7))
  await check(db, 'write buffer', () => db.get(key(7)))
  await db.close()
})

test('read path: while the cache has room, one read caches its neighbours; a second iteration and later gets do no reads', async (t) => {
  const location = tempPath()
  const n = 3000
  await build(location, n)
  const { db, reads } = await openCounting(location)
  let i = 0
  for (const [k, v] of await db.iterator().all()) {
    if (k?.toString() !== key(i) || v?.toString() !== value(i)) t.fail(`entry ${i}: ${k?.toString()}`)
    i++
  }
  t.equal(i, n, 'every entry, in key order')
  const firstPass = reads()
  t.ok(firstPass > 0 && firstPass < n / 20, `first pass: ${firstPass} reads for ${n} records in random file order`)
  t.equal((await db.iterator().all()).length, n)
  t.equal(reads(), firstPass, 'second pass: no reads')
  for (let j = 0; j < n; j += 7) if (db.getSync(key(j))?.toString() !== value(j)) t.fail(`get ${j}`)
  t.equal(reads(), firstPass, 'gets after it: no reads')
  const stats = db.stats()
  t.ok(stats.cacheBytes > 0 && stats.cacheBytes <= 64 * 1024 * 1024, `cache holds ${stats.cacheBytes} bytes`)
  await db.close()

  // Point reads fill the same way.
  const again = await openCounting(location)
  const random = prng(9)
  for (let j = 0; j < 2000; j++) {
    const k = Math.floor(random() * n)
    if (again.db.getSync(key(k))?.toString() !== value(k)) t.fail(`get ${k}`)
  }
  t.ok(again.reads() < 200, `2000 random gets: ${again.reads()} reads`)
  await again.db.close()
})

test('read path: the fill steps over records larger than its span, and values of every size read back', async (t) => {
  const location = tempPath()
  const big = (i: number) => Buffer.alloc(100_000 + i, i % 251)
  const db = await CaskDB.open(location)
  for (let i = 0; i < 60; i++) await db.put(key(i), i % 5 === 0 ? big(i) : value(i))
  await db.close()
  const { db: again, reads } = await openCounting(location)
  const wrong: string[] = []
  for (let round = 0; round < 2; round++) {
    for (let i = 59; i >= 0; i--) {
      const got = again.getSync(key(i))
      if (!got?.equals(i % 5 === 0 ? big(i) : Buffer.from(value(i)))) wrong.push(key(i))
    }
  }
  t.same(wrong, [], 'every value, twice')
  t.ok(reads() < 60, `${reads()} reads for 120 gets`)
  await again.close()
})

test('read path: the cache never holds more than cacheSize bytes, and a full cache is not churned by scans', async (t) => {
  const location = tempPath()
  const n = 3000
  await build(location, n)
  const cacheSize = 32 * 1024
  const { db, reads } = await openCounting(location, { cacheSize })
  for (let j = 0; j < 50; j++) db.getSync(key(j))
  t.ok(db.stats().cacheBytes <= cacheSize, `after gets: ${db.stats().cacheBytes} ≤ ${cacheSize}`)
  const hot = db.stats().cacheBytes
  const before = reads()
  t.equal((await db.iterator().all()).length, n)
  t.ok(db.stats().cacheBytes <= cacheSize, `after a full iteration: ${db.stats().cacheBytes} ≤ ${cacheSize}`)
  t.ok(reads() > before, 'the scan read from disk')
  const afterScan = reads()
  for (let j = 0; j < 50; j++) if (db.getSync(key(j))?.toString() !== value(j)) t.fail(`get ${j}`)
  t.ok(hot > 0, 'the first gets cached something')
  t.equal(reads(), afterScan, 'values cached before the scan are still cached after it')
  await db.close()
})

/** Sealed 4 KiB segments with hints (so open reads no data), the record of `victim` damaged at `at` bytes into it. */
async function damaged(victim: number, at: (record: number, valueStart: number) => number) {
  const location = tempPath()
  const db = await CaskDB.open(location, { maxSegmentSize: 4096, autoCompact: false })
  for (let i = 0; i < 200; i++) await db.put(key(i), value(i))
  await db.close()
  const needle = Buffer.from(key(victim) + value(victim))
  for (const name of dataFiles(location)) {
    const bytes = readFileSync(join(location, name))
    const found = bytes.indexOf(needle)
    if (found < 0) continue
    const record = recordsIn(bytes).find((r) => r.at + r.headerSize === found)!.at
    const where = at(record, found + key(victim).length)
    bytes[where] = bytes[where]! ^ 0x40
    writeFileSync(join(location, name), bytes)
    return location
  }
  throw new Error('record not found')
}

test('read path: a checksum mismatch is CORRUPTION on every read path; neighbours of the damage read fine', async (t) => {
  const victim = 10
  for (const [label, at] of [
    ['a value byte', (_: number, v: number) => v + 2],
    ['a length field', (r: number) => r + 27],
  ] as const) {
    const location = await damaged(victim, at)
    const readAll = async (db: CaskDB) => {
      const problems: string[] = []
      for (let i = 0; i < 200; i++) {
        try {
          const got = db.getSync(key(i))?.toString()
          if (i === victim) problems.push(`victim returned ${got}`)
          else if (got !== value(i)) problems.push(`${i}: ${got}`)
        } catch (err) {
          if (i !== victim || !coded(err, ['CORRUPTION'])) problems.push(`${i}: ${String(err)}`)
        }
      }
      return problems
    }
    for (const first of [victim - 1, victim, victim + 1]) {
      const db = await CaskDB.open(location, { autoCompact: false })
      try {
        db.getSync(key(first))
        t.notEqual(first, victim, `${label}: ${first} read first`)
      } catch (err) {
        t.ok(first === victim && coded(err, ['CORRUPTION']), `${label}: the damaged record read first is CORRUPTION`)
      }
      t.same(await readAll(db), [], `${label}, ${first} read first: only the damaged key fails, with CORRUPTION`)
      t.same(await readAll(db), [], `${label}: the same once cached`)
      await db.close()
    }
    for (const cacheSize of [0, 64 * 1024 * 1024]) {
      const db = await CaskDB.open(location, { autoCompact: false, cacheSize })
      const err = await db.iterator().all().catch((e: unknown) => e)
      t.ok(coded(err, ['CORRUPTION']), `${label}, cacheSize ${cacheSize}: iteration fails with CORRUPTION`)
      t.equal(await db.get(key(victim), { fillCache: false }).catch((e: unknown) => (coded(e, ['CORRUPTION']) ? 'CORRUPTION' : e)), 'CORRUPTION', 'fillCache: false too')
      await db.close()
    }
  }
})

test('value cache: byte bound, positions never alias across segments, released ordinals reused safely', (t) => {
  const v = (s: string) => Buffer.from(s)
  // A 2 GiB stride leaves two ordinals: segments past them use fallback keys.
  const cache = new ValueCache(1024 * 1024, 2 * 1024 * 1024 * 1024)
  for (let seg = 1; seg <= 5; seg++) for (const offset of [8, 100, 2 ** 31 - 1]) cache.set(seg, offset, v(`${seg}@${offset}`))
  const wrong: string[] = []
  for (let seg = 1; seg <= 5; seg++) {
    for (const offset of [8, 100, 2 ** 31 - 1]) if (cache.get(seg, offset)?.toString() !== `${seg}@${offset}`) wrong.push(`${seg}@${offset}`)
  }
  t.same(wrong, [], 'every position reads its own value')
  const bytes = cache.bytes
  cache.releaseSegments([1])
  t.equal(cache.bytes, bytes, 'releasing purges nothing by itself')
  t.equal(cache.get(1, 8), undefined, 'a released segment is forgotten')
  cache.set(6, 8, v('6@8'))
  t.equal(cache.get(6, 8)?.toString(), '6@8', 'a new segment on the freed ordinal')
  t.equal(cache.get(2, 8)?.toString(), '2@8', 'others untouched')
  t.equal(cache.get(5, 100)?.toString(), '5@100', 'fallback keys untouched')
  t.equal(cache.get(6, 100), undefined, 'nothing of the released segment shows through')
  t.ok(cache.bytes < bytes, 'its entries were purged before the ordinal was reused')

  // Many segments through few ordinals: compaction after compaction.
  const churn = new ValueCache(1024 * 1024, 2 ** 30)
  const wrongChurn: string[] = []
  for (let seg = 1; seg <= 50; seg++) {
    churn.set(seg, 8 + (seg % 5) * 100, v(`${seg}`))
    for (let o = 0; o < 5; o++) {
      const got = churn.get(seg, 8 + o * 100)?.toString()
      if (got !== (o === seg % 5 ? `${seg}` : undefined)) wrongChurn.push(`${seg}@${8 + o * 100}: ${got}`)
    }
    if (seg % 3 === 0) churn.releaseSegments([seg - 2, seg - 1])
  }
  t.same(wrongChurn, [], '50 segments through 4 ordinals: every read is its own value')

  const small = new ValueCache(4096, 4096)
  small.set(1, 70_000, v('past the stride'))
  t.equal(small.get(1, 70_000)?.toString(), 'past the stride', 'an offset past the stride uses a fallback key')
  for (let i = 0; i < 200; i++) small.set(1 + (i % 3), i * 100, Buffer.alloc(100, i))
  t.ok(small.bytes <= 4096, `byte bound: ${small.bytes} ≤ 4096`)
  t.ok(small.room >= 0 && small.room === 4096 - small.bytes, 'room is what is left')
  t.same(small.get(1, 0), undefined, 'old entries evicted')
  t.same(small.get(2, 199 * 100), Buffer.alloc(100, 199), 'the newest entry stays')
  const off = new ValueCache(0)
  off.set(1, 8, v('x'))
  t.equal(off.get(1, 8), undefined, 'cacheSize 0 caches nothing')
  t.equal(off.room, 0)
  t.end()
})

test('read path: after compaction, cache keys of replaced segments go to new ones without showing old values', async (t) => {
  const location = tempPath()
  const options: CaskOptions = { maxSegmentSize: 4096, autoCompact: false }
  const db = await CaskDB.open(location, options)
  for (let i = 0; i < 200; i++) await db.put(key(i), value(i))
  await db.close()
  const again = await CaskDB.open(location, options)
  const expect = new Map<string, string>()
  for (let i = 0; i < 200; i++) expect.set(key(i), value(i))
  const check = async (label: string) => {
    const wrong: string[] = []
    for (const [k, v] of expect) if (again.getSync(k)?.toString() !== v) wrong.push(k)
    for (const [k, v] of await again.iterator().all()) if (expect.get(k!.toString()) !== v?.toString()) wrong.push(`iterator ${k}`)
    t.same(wrong.slice(0, 5), [], label)
  }
  await check('cold reads fill the cache') // every old segment now has cached values
  const snapshot = again.snapshot()
  for (let round = 0; round < 3; round++) {
    for (let i = round; i < 200; i += 3) {
      await again.put(key(i), `round ${round} ${i}`)
      expect.set(key(i), `round ${round} ${i}`)
    }
    await again.compact()
    await check(`round ${round}: after compaction`)
    if (round === 0) {
      const old = await again.iterator({ snapshot }).all()
      t.ok(old.every(([k, v], i) => k?.toString() === key(i) && v?.toString() === value(i)), 'a snapshot still reads the replaced files')
      snapshot.close()
      await check('after the snapshot released the replaced files')
    }
  }
  await again.close()
})

test('read path: a store larger than the cache is not filled on misses (one read per miss, only what was read is cached)', async (t) => {
  const location = tempPath()
  const n = 3000
  await build(location, n)
  const random = prng(11)
  const picks = Array.from({ length: 300 }, () => Math.floor(random() * n))
  const distinct = new Set(picks).size

  // Live data (~300 KB) is more than the cache (128 KiB): a fill would cache arbitrary neighbours.
  const small = await openCounting(location, { cacheSize: 128 * 1024, warmCache: false })
  t.ok(small.db.stats().liveBytes > 128 * 1024, `live data ${small.db.stats().liveBytes} B exceeds the cache`)
  for (const k of picks) if (small.db.getSync(key(k))?.toString() !== value(k)) t.fail(`get ${k}`)
  t.equal(small.reads(), distinct, `${distinct} distinct keys: one read each, repeats are hits`)
  t.ok(small.db.stats().cacheBytes <= distinct * (7 * 14 + 64), `the cache holds only the values read (${small.db.stats().cacheBytes} B)`)
  await small.db.close()

  // The same gets with a cache the store fits in: misses fill, far fewer reads.
  const large = await openCounting(location, { warmCache: false })
  for (const k of picks) if (large.db.getSync(key(k))?.toString() !== value(k)) t.fail(`get ${k}`)
  t.ok(large.reads() < distinct / 3, `fits: ${large.reads()} reads for ${distinct} distinct keys`)
  await large.db.close()
})

test('read path: a batch caches the values of keys it overwrites, so an unchanged rewrite compares from RAM', async (t) => {
  const location = tempPath()
  const { db, reads } = await openCounting(location, { warmCache: false, autoCompact: false })
  const keys = Array.from({ length: 50 }, (_, i) => key(i))
  const round = (r: number) => keys.map((k) => ({ type: 'put' as const, key: k, value: Buffer.alloc(1000, r) }))
  await db.batch(round(1))
  t.equal(db.stats().cacheBytes, 0, 'new keys of a batch are not cached (bulk loads)')
  for (let r = 2; r <= 4; r++) await db.batch(round(r))
  t.ok(db.stats().cacheBytes <= keys.length * (1000 + 64), `superseded values leave the cache (${db.stats().cacheBytes} B)`)
  const before = reads()
  const skipped = db.stats().skippedWrites
  await db.batch(round(4))
  t.equal(db.stats().skippedWrites - skipped, keys.length, 'the unchanged rewrite is skipped')
  t.equal(reads() - before, 0, 'and compared without reading the disk')
  for (const k of keys) if (!db.getSync(k)?.equals(Buffer.alloc(1000, 4))) t.fail(`get ${k}`)
  t.equal(reads() - before, 0, 'gets of the overwritten keys are cache hits')
  await db.close()
})
