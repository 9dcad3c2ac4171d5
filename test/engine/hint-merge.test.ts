/**
 * Loading the index from hints (src/recovery.ts mergeHints and its fast
 * paths) must give exactly what the records in the data files say: the same
 * index rows, the same highest seq, the same dead bytes and seq range per
 * segment. Each case recovers a database from its hint files, from a copy
 * without any hint (every segment scanned into a hint built in memory) and
 * with only the active segment scanned, and compares each with an oracle
 * computed here from the data files' records (highest seq wins).
 */
import test from 'tape'
import { cpSync, readFileSync, readdirSync, unlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { crc32 } from 'node:zlib'
import { CaskDB } from '../../src/index.js'
import { StoreCore } from '../../src/core.js'
import { recover } from '../../src/recovery.js'
import { resolveOptions } from '../../src/options.js'
import { systemClock } from '../../src/clock.js'
import { nodeFileSystem } from '../../src/io/file-system.js'
import { checkInvariants, newEntry } from '../../src/index/ordered-index.js'
import { decodeHint, encodeHint } from '../../src/format/hint.js'
import { TimeSlicer } from '../../src/time-slice.js'
import { tempPath } from '../helpers/tmp.js'
import { recordsIn } from '../helpers/records.js'
import { RecordType } from '../../src/format/record.js'

const SEGMENT = 8 * 1024

/** Recovers `location`; with `slicer`, the merge runs in its slices (TimeSlicer(0, 0): a pause every 64 keys). */
async function load(location: string, slicer?: TimeSlicer) {
  const core = new StoreCore(location, nodeFileSystem, systemClock, resolveOptions({ maxSegmentSize: SEGMENT }))
  const report = await recover(core, undefined, slicer)
  const rows: unknown[] = []
  const e = newEntry()
  const c = core.index.cursor()
  for (let k = c.next(e); k !== undefined; k = c.next(e)) rows.push([k, e.seg, e.offset, e.size, e.expires, e.seq])
  const segments = [...core.segments.values()].map((s) => [s.id, s.dead, s.minSeq, s.maxSeq, s.size])
  checkInvariants(core.index)
  for (const segment of core.segments.values()) nodeFileSystem.closeSync(segment.fd)
  return { rows, segments, seq: core.seq, rebuilt: report.rebuiltHints }
}

/** A copy of the database without the hints named by `drop` (default: all of them). */
function copyWithout(location: string, drop = (name: string) => name.endsWith('.hint')): string {
  const copy = tempPath()
  cpSync(location, copy, { recursive: true })
  for (const name of readdirSync(copy)) if (drop(name)) unlinkSync(join(copy, name))
  return copy
}

const hints = (location: string) => readdirSync(location).filter((n) => n.endsWith('.hint') && !n.endsWith('.active.hint')).sort()

/**
 * What loading must give, from the records alone: per key the record with the
 * highest seq (none if it is a delete); every other record of a key is dead,
 * and so is a winning delete; per segment the seq range of all its records.
 */
function oracle(location: string) {
  const winners = new Map<string, { seg: number; offset: number; size: number; expires: number; seq: number; type: number }>()
  const segments: [number, number, number, number, number][] = []
  const dead = new Map<number, number>()
  let seq = 0
  for (const name of readdirSync(location).filter((n) => /^\d{8}\.data$/.test(n)).sort()) {
    const id = Number(name.slice(0, 8))
    const bytes = readFileSync(join(location, name))
    let minSeq = Number.POSITIVE_INFINITY
    let maxSeq = 0
    dead.set(id, 0)
    for (const r of recordsIn(bytes)) {
      if (r.type === RecordType.BATCH) continue
      minSeq = Math.min(minSeq, r.seq)
      maxSeq = Math.max(maxSeq, r.seq)
      seq = Math.max(seq, r.seq)
      const key = r.key.toString('latin1')
      const record = { seg: id, offset: r.at, size: r.size, expires: r.expires, seq: r.seq, type: r.type }
      const known = winners.get(key)
      if (known === undefined || record.seq > known.seq) {
        if (known !== undefined) dead.set(known.seg, dead.get(known.seg)! + known.size)
        winners.set(key, record)
      } else {
        dead.set(id, dead.get(id)! + record.size)
      }
    }
    segments.push([id, 0, minSeq, maxSeq, bytes.length])
  }
  const rows: unknown[] = []
  for (const key of [...winners.keys()].sort()) {
    const w = winners.get(key)!
    if (w.type === RecordType.DELETE) dead.set(w.seg, dead.get(w.seg)! + w.size)
    else rows.push([key, w.seg, w.offset, w.size, w.expires, w.seq])
  }
  for (const row of segments) row[1] = dead.get(row[0])!
  return { rows, segments, seq }
}

async function sameAsScan(t: test.Test, location: string, label: string): Promise<void> {
  const expected = oracle(location)
  const fromHints = await load(location)
  t.same(fromHints.rows, expected.rows, `${label}: from hint files, the rows the records say (${expected.rows.length})`)
  t.same(fromHints.segments, expected.segments, `${label}: from hint files, the dead bytes and seq ranges the records say`)
  t.equal(fromHints.seq, expected.seq, `${label}: from hint files, the highest seq`)
  const scanned = await load(copyWithout(location))
  t.same(scanned.rows, expected.rows, `${label}: every segment scanned: the rows the records say`)
  t.same(scanned.segments, expected.segments, `${label}: every segment scanned: the segments the records say`)
  t.equal(fromHints.rebuilt, 0, `${label}: no hint rebuilt`)
  t.same(fromHints.rows, scanned.rows, `${label}: same index rows (${fromHints.rows.length})`)
  t.same(fromHints.segments, scanned.segments, `${label}: same dead bytes and seq ranges per segment`)
  t.equal(fromHints.seq, scanned.seq, `${label}: same highest seq`)
  // The same merge cut into slices of 64 keys, with a turn of the event loop between them.
  const slicer = new TimeSlicer(0, 0)
  const sliced = await load(location, slicer)
  t.ok(slicer.pauses > 0 || fromHints.rows.length < 64, `${label}, sliced: the merge paused ${slicer.pauses} times`)
  t.same(sliced.rows, scanned.rows, `${label}, sliced: same index rows`)
  t.same(sliced.segments, scanned.segments, `${label}, sliced: same segments`)
  t.equal(sliced.seq, scanned.seq, `${label}, sliced: same highest seq`)
  // Hints for the sealed segments, the active one scanned: tombstones go through the loader.
  const partly = await load(copyWithout(location, (n) => n.endsWith('.active.hint')))
  t.same(partly.rows, scanned.rows, `${label}, active segment scanned: same index rows`)
  t.same(partly.segments, scanned.segments, `${label}, active segment scanned: same segments`)
}

const key = (i: number) => `key${String(i).padStart(6, '0')}`

test('hint merge: overlapping hints (random order, overwrites, deletes, expiry) load as a scan would', async (t) => {
  const location = tempPath()
  const db = await CaskDB.open(location, { maxSegmentSize: SEGMENT, autoCompact: false })
  const n = 1500
  for (let i = 0; i < n; i++) {
    const k = key((i * 7919) % n)
    await db.put(k, `v${i}`, i % 5 === 0 ? { ttl: 3_600_000 } : undefined)
    if (i % 7 === 0) await db.put(key((i * 31) % n), `again${i}`) // a later version, often in another segment
    if (i % 11 === 0) await db.del(key((i * 13) % n))
    if (i % 97 === 0) await db.del(`never-written-${i}`)
  }
  await db.close()
  t.ok(hints(location).length >= 3, `${hints(location).length} sealed hints`)
  await sameAsScan(t, location, 'overlapping')
})

test('hint merge: hints with disjoint key ranges (keys written in order) load as a scan would', async (t) => {
  const location = tempPath()
  const db = await CaskDB.open(location, { maxSegmentSize: SEGMENT, autoCompact: false })
  for (let i = 0; i < 1200; i++) await db.put(key(i), `value ${i}`)
  for (let i = 0; i < 1200; i += 9) await db.del(key(i))
  await db.close()
  t.ok(hints(location).length >= 3, `${hints(location).length} sealed hints`)
  await sameAsScan(t, location, 'disjoint')
})

test('hint merge: a single hint (one sealed segment, the same key several times in it) loads as a scan would', async (t) => {
  const location = tempPath()
  const db = await CaskDB.open(location, { maxSegmentSize: 1 << 20, autoCompact: false })
  for (let round = 0; round < 4; round++) {
    for (let i = 0; i < 300; i++) await db.put(key((i * 37) % 300), `round ${round} value ${i}`)
    for (let i = round; i < 300; i += 17) await db.del(key(i))
  }
  await db.close()
  t.equal(hints(location).length, 0, 'one active segment, no sealed hint')
  await sameAsScan(t, location, 'single active hint')
  // Seal it: a lone sealed hint, no active one.
  const sealed = await CaskDB.open(location, { maxSegmentSize: 1 << 20, autoCompact: false })
  await sealed.compact()
  await sealed.close()
  const again = await load(location)
  const reference = await load(copyWithout(location))
  t.same(again.rows, reference.rows, 'after compaction: same rows as a scan')
})

/** Rewrites a hint with one entry changed (its checksum made valid again). */
function corruptEntry(path: string, change: (entries: ReturnType<typeof decodeHint>['entries']) => void): void {
  const hint = decodeHint(readFileSync(path), path)
  change(hint.entries)
  writeFileSync(path, encodeHint([], hint.entries, { dataLength: hint.dataLength }))
}

test('hint merge: a checksum-valid hint whose entry points past its data is dropped and its segment scanned (merge and single paths)', async (t) => {
  const location = tempPath()
  const db = await CaskDB.open(location, { maxSegmentSize: SEGMENT, autoCompact: false })
  for (let i = 0; i < 800; i++) await db.put(key((i * 7919) % 800), `v${i}`)
  await db.close()
  const names = hints(location)
  t.ok(names.length >= 2, `${names.length} sealed hints`)
  const reference = await load(copyWithout(location))
  for (const at of [0, 'middle', 'last'] as const) {
    const damaged = copyWithout(location, () => false)
    const path = join(damaged, names[1]!)
    corruptEntry(path, (entries) => {
      const i = at === 0 ? 0 : at === 'middle' ? entries.length >> 1 : entries.length - 1
      entries[i]!.offset = 1e9
    })
    t.equal(crc32(readFileSync(path).subarray(0, -4)), readFileSync(path).readUInt32BE(readFileSync(path).length - 4), 'checksum valid')
    const got = await load(damaged)
    t.equal(got.rebuilt, 1, `entry ${at} damaged: reported as rebuilt`)
    t.same(got.rows, reference.rows, `entry ${at} damaged: same rows as a scan`)
    t.same(got.segments, reference.segments, `entry ${at} damaged: same segments as a scan`)
    // Found after the merge has paused (and loaded keys) several times: the load is undone all the same.
    const slicer = new TimeSlicer(0, 0)
    const slicedGot = await load(damaged, slicer)
    t.equal(slicedGot.rebuilt, 1, `entry ${at} damaged, sliced merge (${slicer.pauses} pauses): reported`)
    t.same(slicedGot.rows, reference.rows, `entry ${at} damaged, sliced merge: same rows as a scan`)
    t.same(slicedGot.segments, reference.segments, `entry ${at} damaged, sliced merge: same segments as a scan`)
    // The same hint alone (the others removed): the single-source path.
    const alone = copyWithout(damaged, (n) => n.endsWith('.hint') && n !== names[1])
    const single = await load(alone)
    t.equal(single.rebuilt, 1, `entry ${at} damaged, only hint: reported`)
    t.same(single.rows, reference.rows, `entry ${at} damaged, only hint: same rows`)
  }
})

test('hint merge: the merge gives way to the event loop between slices, so the application keeps running during a long open', async (t) => {
  const location = tempPath()
  const db = await CaskDB.open(location, { maxSegmentSize: SEGMENT, autoCompact: false })
  const n = 3000
  for (let i = 0; i < n; i += 100) {
    await db.batch(Array.from({ length: 100 }, (_, j) => ({ type: 'put' as const, key: key(((i + j) * 7919) % n), value: `v${i + j}` })))
  }
  await db.close()
  // Something else the application does meanwhile: a chain of callbacks, one per event-loop turn.
  let turns = 0
  let running = true
  const spin = (): void => {
    turns++
    if (running) setImmediate(spin)
  }
  setImmediate(spin)
  const slicer = new TimeSlicer(0, 0)
  const before = turns
  const got = await load(location, slicer)
  running = false
  t.equal(got.rows.length, n, 'every key loaded')
  t.ok(slicer.pauses >= n / 64 - 1, `the merge paused ${slicer.pauses} times (every 64 keys)`)
  t.ok(turns - before >= slicer.pauses, `the application had ${turns - before} turns during the open, at least one per pause`)
})
