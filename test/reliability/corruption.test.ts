/**
 * Corruption matrix: damage files between runs, then open. Each case must
 * either recover everything undamaged (reporting what it did in
 * stats().recovery) or fail with a coded CORRUPTION / IO_ERROR; a get never
 * returns bytes that were not written; nothing hangs or crashes. Cases the
 * engine tests already cover (torn last record at every offset, one flipped
 * byte in a data file, a damaged or missing hint, garbage after the active
 * segment, foreign files) are not repeated here.
 */
import test from 'tape'
import { appendFileSync, chmodSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { CaskDB, CaskError, type CaskOptions } from '../../src/index.js'
import { FaultyFs, readOnlyDir } from '../helpers/faulty-fs.js'
import { tempDir, tempPath } from '../helpers/tmp.js'
import { coded, dataFiles, describeError, dump, hintFiles, prng, settle } from './support.js'
import { recordsIn } from '../helpers/records.js'

const small: CaskOptions = { maxSegmentSize: 4096, autoCompact: false, cacheSize: 0 }
const valueOf = (i: number) => `value-${i}-`.repeat(2 + 2 * (i % 5))

/** 300 keys over ~9 sealed segments with hints, some overwritten and deleted; returns the expected contents. */
async function build(location: string, options: CaskOptions = small): Promise<Map<string, string>> {
  const db = await CaskDB.open(location, options)
  const model = new Map<string, string>()
  for (let i = 0; i < 300; i++) {
    await db.put(`key${String(i).padStart(3, '0')}`, valueOf(i))
    model.set(`key${String(i).padStart(3, '0')}`, valueOf(i))
  }
  for (let i = 0; i < 300; i += 7) {
    await db.put(`key${String(i).padStart(3, '0')}`, valueOf(i + 1000))
    model.set(`key${String(i).padStart(3, '0')}`, valueOf(i + 1000))
  }
  for (let i = 3; i < 300; i += 11) {
    await db.del(`key${String(i).padStart(3, '0')}`)
    model.delete(`key${String(i).padStart(3, '0')}`)
  }
  await db.close()
  return model
}

/**
 * Opens `location` and reads every key of `model`: each read returns the
 * model's value, or fails with CORRUPTION (damaged record), never other bytes.
 * Returns what happened, for the caller to assert on.
 */
async function inspect(location: string, model: Map<string, string>, options: CaskOptions = small) {
  const opened = await settle(CaskDB.open(location, options), 'open')
  if (!opened.ok) return { opened: false as const, error: opened.error }
  const db = opened.value
  let right = 0
  let corrupt = 0
  const wrong: string[] = []
  for (const [key, want] of model) {
    try {
      const got = (await db.get(key))?.toString()
      if (got === want) right++
      else wrong.push(`${key}=${got?.slice(0, 20)}`)
    } catch (err) {
      if (coded(err, ['CORRUPTION'])) corrupt++
      else wrong.push(`${key}: ${describeError(err)}`)
    }
  }
  // A full iteration either fails with CORRUPTION at a damaged record or yields only written values.
  try {
    for (const [k, v] of await db.iterator().all()) {
      const key = k!.toString()
      if (model.get(key) !== v!.toString()) wrong.push(`iterator: ${key}=${v!.toString().slice(0, 20)}`)
    }
  } catch (err) {
    if (!coded(err, ['CORRUPTION'])) wrong.push(`iterator: ${describeError(err)}`)
  }
  const recovery = db.stats().recovery
  const keys = db.stats().keys
  await db.close()
  return { opened: true as const, right, corrupt, wrong, recovery, keys }
}

test('corruption: an empty (0-byte) hint file is ignored, its segment scanned, the hint rewritten', async (t) => {
  const location = tempPath()
  const model = await build(location)
  const hint = join(location, hintFiles(location)[2]!)
  writeFileSync(hint, Buffer.alloc(0))
  const r = await inspect(location, model)
  t.ok(r.opened, 'opens')
  if (!r.opened) return
  t.equal(r.right, model.size, 'every key has its value')
  t.same(r.wrong, [])
  t.equal(r.recovery.rebuiltHints, 1, 'reported in stats().recovery.rebuiltHints')
  t.ok(statSync(hint).size > 0, 'the hint was written again')
  t.same(await CaskDB.verify(location), [], 'verify is clean afterwards')
})

test('corruption: a flipped byte at any offset of a hint file never loses or changes a key', async (t) => {
  const location = tempPath()
  const model = await build(location)
  // The hint of a compaction output (it lists the segments it replaced) and a plain one.
  const db = await CaskDB.open(location, small)
  for (let i = 0; i < 300; i += 2) await db.put(`key${String(i).padStart(3, '0')}`, model.get(`key${String(i).padStart(3, '0')}`) ?? 'x')
  await db.compact()
  await db.close()
  const names = hintFiles(location)
  const random = prng(5)
  const failures: string[] = []
  let cases = 0
  let refusedVersion = 0
  const originals = new Map(readdirSync(location).map((n) => [n, readFileSync(join(location, n))]))
  const restore = () => {
    for (const n of readdirSync(location)) if (!originals.has(n)) rmSync(join(location, n), { recursive: true })
    for (const [n, bytes] of originals) if (n.endsWith('.hint')) writeFileSync(join(location, n), bytes)
  }
  // fsync is a no-op here: these opens test decoding, not durability, and run hundreds of times.
  const fast: CaskOptions = { ...small, fs: new FaultyFs(undefined, { skipSync: true }).fs }
  const expected = new Map([...model].map(([k, v]) => [k, v]))
  for (const [k] of expected) {
    const i = Number(k.slice(3))
    if (i % 2 === 0) expected.set(k, model.get(k) ?? 'x')
  }
  for (const name of [names[0]!, names[names.length - 1]!]) {
    const size = originals.get(name)!.length
    // Every byte of the headers, the replaces list and the first entry, the trailer, and a sample of the rest.
    const offsets = new Set<number>()
    for (let i = 0; i < Math.min(size, 40); i++) offsets.add(i)
    for (let i = size - 8; i < size; i++) offsets.add(i)
    while (offsets.size < Math.min(size, 64)) offsets.add(Math.floor(random() * size))
    for (const offset of offsets) {
      restore()
      const bytes = Buffer.from(originals.get(name)!)
      bytes[offset] = bytes[offset]! ^ (1 << Math.floor(random() * 8))
      writeFileSync(join(location, name), bytes)
      cases++
      const r = await inspect(location, expected, fast)
      if (!r.opened) {
        // The version field (bytes 4-5): indistinguishable from a newer format, refused as such; repair fixes it.
        if (coded(r.error, ['UNSUPPORTED_FORMAT']) && (offset === 4 || offset === 5)) {
          refusedVersion++
          continue
        }
        failures.push(`${name}@${offset}: open failed: ${describeError(r.error)}`)
      } else if (r.right !== expected.size || r.recovery.rebuiltHints !== 1) {
        failures.push(`${name}@${offset}: ${r.right}/${expected.size} right, ${r.corrupt} corrupt, rebuiltHints ${r.recovery.rebuiltHints}, ${r.wrong.slice(0, 3)}`)
      }
    }
  }
  t.same(failures.slice(0, 5), [], `${cases} flipped bytes: every key intact, the damaged hint reported and rebuilt`)
  t.ok(refusedVersion <= 16, `flips in the version field are refused as UNSUPPORTED_FORMAT (${refusedVersion})`)
  // …and repair gets such a database open again.
  restore()
  const bytes = Buffer.from(originals.get(names[0]!)!)
  bytes[5] = bytes[5]! ^ 0x40
  writeFileSync(join(location, names[0]!), bytes)
  t.equal(((await CaskDB.open(location).catch((e: unknown) => e)) as CaskError).code, 'UNSUPPORTED_FORMAT')
  const report = await CaskDB.repair(location)
  t.same(report.movedAside, [names[0]], 'repair moves the hint aside')
  const r = await inspect(location, expected)
  t.ok(r.opened && r.right === expected.size, 'and everything is there')
})

test('corruption: garbage appended to a sealed segment is noticed, never read, and reported', async (t) => {
  const location = tempPath()
  const model = await build(location)
  const files = dataFiles(location)
  const sealed = join(location, files[3]!)
  const size = statSync(sealed).size
  const garbage = Buffer.from('\x00\x01 not a record, just noise appended by something else'.repeat(3))
  appendFileSync(sealed, garbage)
  const r = await inspect(location, model)
  t.ok(r.opened, 'opens')
  if (!r.opened) return
  t.equal(r.right, model.size, 'every key has its value')
  t.same(r.wrong, [])
  t.equal(r.recovery.truncatedBytes, garbage.length, 'the garbage is reported in stats().recovery.truncatedBytes')
  t.equal(statSync(sealed).size, size, 'and cut: the segment ends at its last record again')
  t.same(await CaskDB.verify(location), [], 'verify is clean')
  // Garbage that looks like the start of a record with an absurd length, in either record layout.
  const v1Header = Buffer.alloc(29, 0)
  v1Header[4] = 1
  v1Header.writeUInt32BE(0xffffffff, 21)
  v1Header.writeUInt32BE(0xffffffff, 25)
  const v2Header = Buffer.from([0, 0, 0, 0, 0x81, 0xff, 0xff, 0xff, 0xff, 0x0f, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01])
  for (const header of [v1Header, v2Header]) {
    appendFileSync(sealed, header)
    const r2 = await inspect(location, model)
    t.ok(r2.opened && r2.right === model.size && r2.recovery.truncatedBytes === header.length, `an absurd length field is cut the same way (${header.length}-byte header)`)
    t.equal(statSync(sealed).size, size)
  }
  // Without its hint the segment is scanned, and the garbage cut as a torn tail.
  appendFileSync(sealed, garbage)
  unlinkSync(join(location, hintFiles(location).find((n) => n.startsWith(files[3]!.slice(0, 8)))!))
  const r3 = await inspect(location, model)
  t.ok(r3.opened && r3.right === model.size, 'without the hint: every key intact')
  t.ok(r3.opened && r3.recovery.truncatedBytes === garbage.length, 'and the garbage reported')
})

test('corruption: a sealed segment cut short at a record boundary: open fails with CORRUPTION naming it, verify reports it, repair keeps the rest', async (t) => {
  const location = tempPath()
  const model = await build(location)
  const name = dataFiles(location)[4]!
  const file = join(location, name)
  const bytes = readFileSync(file)
  const last = recordsIn(bytes).at(-1)!
  t.equal(last.at + last.size, bytes.length, 'the records parsed end where the file ends')
  const lastStart = last.at
  const lostKey = last.key.toString()
  writeFileSync(file, bytes.subarray(0, lastStart))
  const opened = await settle(CaskDB.open(location, small), 'open')
  t.ok(!opened.ok && coded(opened.error, ['CORRUPTION']), `open fails with CORRUPTION (${opened.ok ? 'opened' : describeError(opened.error)})`)
  t.equal((opened as { error?: CaskError }).error?.file, file, 'naming the segment')
  const damage = await CaskDB.verify(location)
  t.same(damage.map((d) => d.file), [file], 'verify reports it')
  await CaskDB.repair(location)
  const r = await inspect(location, model)
  t.ok(r.opened, 'opens after repair')
  if (!r.opened) return
  // The cut record's key may show its previous value again: bytes written for it, just older.
  t.same(r.wrong.filter((w) => !w.replace('iterator: ', '').startsWith(`${lostKey}=`)), [], 'no wrong bytes')
  t.ok(r.right >= model.size - 1, `${r.right}/${model.size} keys intact; only ${lostKey} (the cut record) may be gone or older`)
  t.same(await CaskDB.verify(location), [], 'verify is clean after repair')
})

test('corruption: a flipped byte in a sealed segment gives CORRUPTION on the damaged key only, never wrong bytes; repair keeps the rest', async (t) => {
  const location = tempPath()
  const model = await build(location)
  const files = dataFiles(location)
  const name = files[2]!
  const original = readFileSync(join(location, name))
  const random = prng(11)
  const failures: string[] = []
  let cases = 0
  let corruptReads = 0
  for (let n = 0; n < 40; n++) {
    const offset = 8 + Math.floor(random() * (original.length - 8))
    const bytes = Buffer.from(original)
    bytes[offset] = bytes[offset]! ^ (1 << Math.floor(random() * 8))
    writeFileSync(join(location, name), bytes)
    cases++
    const r = await inspect(location, model)
    if (!r.opened) failures.push(`@${offset}: open failed: ${describeError(r.error)}`)
    else {
      corruptReads += r.corrupt
      if (r.wrong.length > 0) failures.push(`@${offset}: wrong bytes ${r.wrong.slice(0, 2)}`)
      if (r.corrupt > 1) failures.push(`@${offset}: ${r.corrupt} keys unreadable for one flipped byte`)
      if (r.right + r.corrupt !== model.size) failures.push(`@${offset}: ${model.size - r.right - r.corrupt} keys missing`)
    }
    writeFileSync(join(location, name), original)
  }
  t.same(failures.slice(0, 5), [], `${cases} flipped bytes: no wrong bytes, at most the one damaged key unreadable`)
  t.ok(corruptReads > 0, `${corruptReads} reads of damaged records failed with CORRUPTION`)

  // Damage, then repair: every record but the damaged one survives.
  const bytes = Buffer.from(original)
  const middle = Math.floor(original.length / 2)
  bytes[middle] = bytes[middle]! ^ 0x55
  const lostKey = recordsIn(original).find((r) => r.at <= middle && middle < r.at + r.size)!.key.toString()
  writeFileSync(join(location, name), bytes)
  const damage = await CaskDB.verify(location)
  t.equal(damage.length, 1, 'verify names the damaged file')
  t.equal(damage[0]?.file, join(location, name))
  const report = await CaskDB.repair(location)
  t.same(report.repairedFiles, [name])
  const r = await inspect(location, model)
  t.ok(r.opened, 'opens after repair')
  if (r.opened) {
    // The damaged record's key may be gone or show an older value: bytes written for it, just older.
    t.same(r.wrong.filter((w) => !w.replace('iterator: ', '').startsWith(`${lostKey}=`)), [], `no wrong bytes after repair (${lostKey} held the damaged byte)`)
    t.ok(r.right >= model.size - 1, `${r.right}/${model.size} keys intact (a lost record may expose nothing newer than itself)`)
  }
  t.ok(readdirSync(join(location, 'lost')).length > 0, 'the damaged original is kept in lost/')
})

test('corruption: random bytes as a segment file: open recovers or fails with a coded error, and never allocates what a length field claims', async (t) => {
  const random = prng(2024)
  const untyped: string[] = []
  let recovered = 0
  let refused = 0
  let biggest = 0
  const realAlloc = Buffer.allocUnsafe
  const realAllocSlow = Buffer.allocUnsafeSlow
  const realAllocZ = Buffer.alloc
  const track = (size: number) => {
    if (size > biggest) biggest = size
  }
  for (let n = 0; n < 120; n++) {
    const location = tempPath()
    mkdirSync(location)
    const size = 8 + Math.floor(random() * 600)
    const bytes = Buffer.alloc(size)
    for (let i = 0; i < size; i++) bytes[i] = Math.floor(random() * 256)
    // Mostly a valid file header, so the record decoder is what gets fuzzed.
    if (random() < 0.85) Buffer.from(random() < 0.5 ? 'CSKD\x00\x01\x00\x00' : 'CSKD\x00\x02\x00\x00', 'latin1').copy(bytes)
    // Often a plausible record type and huge lengths right after the header, in either record layout.
    if (random() < 0.25 && size > 37) {
      bytes[12] = 1 + Math.floor(random() * 3)
      bytes.writeUInt32BE(0x7fffffff + Math.floor(random() * 0x7fffffff), 29)
    } else if (random() < 0.33 && size > 20) {
      bytes[12] = 0x81 + Math.floor(random() * 7)
      for (let i = 13; i < 17; i++) bytes[i] = 0x80 | Math.floor(random() * 128)
    }
    writeFileSync(join(location, `${String(1 + (n % 3)).padStart(8, '0')}.data`), bytes)
    Buffer.allocUnsafe = ((s: number) => (track(s), realAlloc(s))) as typeof Buffer.allocUnsafe
    Buffer.allocUnsafeSlow = ((s: number) => (track(s), realAllocSlow(s))) as typeof Buffer.allocUnsafeSlow
    Buffer.alloc = ((s: number, ...rest: unknown[]) => (track(s), (realAllocZ as (...a: unknown[]) => Buffer)(s, ...rest))) as typeof Buffer.alloc
    let result
    try {
      result = await settle(CaskDB.open(location, { cacheSize: 0 }), 'open fuzzed')
    } finally {
      Buffer.allocUnsafe = realAlloc
      Buffer.allocUnsafeSlow = realAllocSlow
      Buffer.alloc = realAllocZ
    }
    if (result.ok) {
      recovered++
      const db = result.value
      const entries = await db.iterator().all().catch((e: unknown) => e)
      if (!Array.isArray(entries) && !coded(entries, ['CORRUPTION', 'IO_ERROR'])) untyped.push(`iterate: ${describeError(entries)}`)
      await db.put('k', 'v')
      await db.close()
    } else if (coded(result.error, ['CORRUPTION', 'IO_ERROR', 'UNSUPPORTED_FORMAT'])) refused++
    else untyped.push(describeError(result.error))
  }
  t.same(untyped.slice(0, 3), [], `120 fuzzed files: ${recovered} recovered (torn tail cut), ${refused} refused with a coded error, none untyped`)
  t.ok(biggest <= 8 * 1024 * 1024, `largest buffer allocated while opening: ${biggest} bytes (length fields claim up to 4 GiB)`)
})

/** Is this process able to write into a directory with mode 0o500? (root is.) */
function chmodStopsWrites(): boolean {
  const dir = tempDir()
  chmodSync(dir, 0o500)
  try {
    writeFileSync(join(dir, 'probe'), 'x')
    return false
  } catch {
    return true
  } finally {
    chmodSync(dir, 0o700)
  }
}

const realChmod = chmodStopsWrites()
const readOnlyHow = realChmod ? 'chmod 0o500' : 'simulated with FaultyFs EACCES: running as root, where chmod 0o500 does not stop writes'

test(`corruption: a read-only data directory (${readOnlyHow}): open fails with IO_ERROR; an open database keeps serving reads, refuses what it cannot do with coded errors, and loses nothing`, async (t) => {
  const location = tempPath()
  const model = await build(location)
  const faulty = new FaultyFs()
  const makeReadOnly = () => (realChmod ? chmodSync(location, 0o500) : (faulty.deny = readOnlyDir(location)))
  const makeWritable = () => (realChmod ? chmodSync(location, 0o700) : (faulty.deny = undefined))
  const options: CaskOptions = { ...small, fs: faulty.fs }

  makeReadOnly()
  const refused = await settle(CaskDB.open(location, options), 'open read-only')
  t.ok(!refused.ok && coded(refused.error, ['IO_ERROR']), `open fails with IO_ERROR (${refused.ok ? 'opened' : describeError(refused.error)})`)
  t.equal(((refused as { error?: CaskError }).error?.cause as NodeJS.ErrnoException | undefined)?.code, 'EACCES', 'cause EACCES')
  makeWritable()

  const db = await CaskDB.open(location, options)
  const background: unknown[] = []
  db.on('error', (err) => background.push(err))
  makeReadOnly()
  const acked = new Map<string, string>()
  const errors: string[] = []
  for (let i = 0; i < 200; i++) {
    const key = `ro${i}`
    const r = await settle(db.put(key, 'y'.repeat(60)), `put ${key}`)
    if (r.ok) acked.set(key, 'y'.repeat(60))
    else if (!coded(r.error, ['IO_ERROR', 'READ_ONLY'])) errors.push(describeError(r.error))
  }
  t.same(errors, [], 'failed writes reject with IO_ERROR')
  t.ok(acked.size > 0 && acked.size < 200, `appends to the open segment still work (${acked.size}); starting a new segment does not`)
  t.equal((await db.get('key001'))?.toString(), model.get('key001'), 'reads work')
  const compacted = await settle(db.compact(), 'compact')
  t.ok(compacted.ok || coded(compacted.error, ['IO_ERROR']), `compact: ${compacted.ok ? 'nothing to do' : describeError(compacted.error)}`)
  const backup = await settle(db.backup(join(location, '..', 'ro-backup')), 'backup')
  t.ok(backup.ok, 'a backup to a writable place still works')
  await settle(db.close(), 'close')
  t.ok(background.every((e) => coded(e, ['IO_ERROR'])), `${background.length} background errors, all IO_ERROR`)
  makeWritable()

  const reopened = await CaskDB.open(location)
  const missing = [...model, ...acked].filter(([k, v]) => reopened.getSync(k)?.toString() !== v).map(([k]) => k)
  t.same(missing, [], 'every acknowledged write is there after the directory is writable again')
  await reopened.close()
})

test('corruption: a lost or odd LOCK file never blocks, never hangs, never loses data', async (t) => {
  const location = tempPath()
  const model = await build(location)
  const lock = join(location, 'LOCK')

  const db = await CaskDB.open(location, small)
  t.ok(readdirSync(location).includes('LOCK'), 'the open database holds LOCK')
  unlinkSync(lock)
  await db.put('while-lock-gone', 'x')
  const second = await settle(CaskDB.open(location, small), 'second open')
  t.ok(!second.ok && coded(second.error, ['LOCKED']), 'a second instance in this process is still refused (LOCKED)')
  await db.close()
  t.pass('close with the LOCK file gone')

  const cases: [string, () => void][] = [
    ['LOCK deleted after a crash (absent)', () => rmSync(lock, { force: true })],
    ['an empty LOCK', () => writeFileSync(lock, '')],
    ['a LOCK holding garbage', () => writeFileSync(lock, Buffer.from([0xff, 0x00, 0x13, 0x37]))],
    ['a LOCK of a process that no longer runs', () => writeFileSync(lock, '2147483646')],
    ['a LOCK naming this very process (pid reuse after a crash)', () => writeFileSync(lock, String(process.pid))],
  ]
  for (const [name, damage] of cases) {
    damage()
    const r = await inspect(location, new Map([...model, ['while-lock-gone', 'x']]))
    t.ok(r.opened && r.right === model.size + 1, `${name}: taken over, every key intact`)
  }
  rmSync(lock, { force: true })
  mkdirSync(lock)
  const dirLock = await settle(CaskDB.open(location, small), 'open with a directory named LOCK')
  t.ok(!dirLock.ok && coded(dirLock.error, ['IO_ERROR']), `a directory named LOCK: IO_ERROR, no hang (${dirLock.ok ? 'opened' : describeError(dirLock.error)})`)
  rmSync(lock, { recursive: true })
  const r = await inspect(location, model)
  t.ok(r.opened, 'opens once it is gone')
})

test('corruption: everything damaged at once still never returns wrong bytes', async (t) => {
  const location = tempPath()
  const model = await build(location)
  const files = dataFiles(location)
  const hints = hintFiles(location)
  writeFileSync(join(location, hints[0]!), Buffer.alloc(0))
  unlinkSync(join(location, hints[1]!))
  const h = readFileSync(join(location, hints[2]!))
  h[h.length - 3] = h[h.length - 3]! ^ 1
  writeFileSync(join(location, hints[2]!), h)
  appendFileSync(join(location, files[5]!), Buffer.from('garbage'))
  const last = join(location, files[files.length - 1]!)
  const tornKey = recordsIn(readFileSync(last)).at(-1)!.key.toString()
  writeFileSync(last, readFileSync(last).subarray(0, statSync(last).size - 5))
  const r = await inspect(location, model)
  t.ok(r.opened, 'opens')
  if (!r.opened) return
  // The torn record's key may show its state before that write (here: the last delete, so its value is back).
  t.same(r.wrong.filter((w) => !w.replace('iterator: ', '').startsWith(`${tornKey}=`)), [], `no wrong bytes (${tornKey} was torn)`)
  t.equal(r.corrupt, 0, 'no damaged record was left in place')
  t.ok(r.right >= model.size - 1, `${r.right}/${model.size}: at most the torn last record is gone`)
  t.ok(r.recovery.rebuiltHints >= 2 && r.recovery.truncatedBytes > 0, `reported: ${JSON.stringify(r.recovery)}`)
  const db = await CaskDB.open(location)
  t.same((await dump(db)).length, r.keys, 'iteration agrees with the key count')
  await db.close()
  t.same(await CaskDB.verify(location), [], 'verify is clean after recovery')
})

test('corruption: the active segment damaged under its close-time hint: open fails or reads report CORRUPTION, never wrong bytes; repair drops the hint with the file', async (t) => {
  const location = tempPath()
  const model = await build(location, { ...small, maxSegmentSize: 1024 * 1024 })
  const active = dataFiles(location).at(-1)!
  const activeHint = active.replace('.data', '.active.hint')
  t.ok(readdirSync(location).includes(activeHint), 'close wrote the active segment hint')
  const file = join(location, active)
  const bytes = readFileSync(file)
  const at = bytes.indexOf('value-150-')
  bytes[at + 2] = bytes[at + 2]! ^ 0x04
  writeFileSync(file, bytes)
  const r = await inspect(location, model, { ...small, maxSegmentSize: 1024 * 1024 })
  t.ok(r.opened, 'opens: the hint covers the damaged record, which is not read at open')
  if (r.opened) {
    t.same(r.wrong, [], 'no wrong bytes')
    t.equal(r.right + r.corrupt, model.size, `every key has its value or reports CORRUPTION (${r.corrupt})`)
  }
  t.equal((await CaskDB.verify(location)).length, 1, 'verify finds the damage')
  const report = await CaskDB.repair(location)
  t.same(report.repairedFiles, [active], 'repair rewrites the segment')
  t.notOk(readdirSync(location).includes(activeHint), 'and deletes its active hint: the records moved to another file')
  const after = await inspect(location, model)
  t.ok(after.opened && after.wrong.every((w) => w === 'key150=undefined') && after.right >= model.size - 1, `after repair: ${after.opened ? `${after.right}/${model.size} intact, ${JSON.stringify(after.wrong)}` : 'not opened'}`)
  t.same(await CaskDB.verify(location), [], 'verify is clean')
})
