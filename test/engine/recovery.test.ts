import test from 'tape'
import { readdirSync, readFileSync, statSync, truncateSync, writeFileSync, appendFileSync, unlinkSync } from 'node:fs'
import { join } from 'node:path'
import { CaskDB, CaskError, ErrorCodes } from '../../src/index.js'
import { tempPath } from '../helpers/tmp.js'
import { encodeV1Hint } from '../helpers/hints.js'
import { recordsIn } from '../helpers/records.js'

const dataFiles = (dir: string) => readdirSync(dir).filter((n) => n.endsWith('.data')).sort()
const hintFiles = (dir: string) => readdirSync(dir).filter((n) => /^\d{8,}\.hint$/.test(n)).sort()
const activeHintFiles = (dir: string) => readdirSync(dir).filter((n) => n.endsWith('.active.hint')).sort()
const str = (b: Buffer | undefined) => b?.toString()

test('a torn last record is cut at every byte offset; everything before it survives', async (t) => {
  const location = tempPath()
  const db = await CaskDB.open(location)
  await db.put('first', 'one')
  await db.batch([
    { type: 'put', key: 'b1', value: 'x' },
    { type: 'put', key: 'b2', value: 'y' },
  ])
  await db.put('last', 'the final record')
  await db.close()
  const file = join(location, dataFiles(location)[0]!)
  const full = readFileSync(file)
  const lastRecordSize = recordsIn(readFileSync(join(location, dataFiles(location)[0]!))).at(-1)!.size
  t.equal(lastRecordSize, 8 + 'last'.length + 'the final record'.length, 'an 8-byte header (seq below 128)')
  const lastStart = full.length - lastRecordSize
  let ok = 0
  for (let cut = lastStart; cut < full.length; cut++) {
    writeFileSync(file, full.subarray(0, cut))
    const reopened = await CaskDB.open(location)
    const good =
      str(await reopened.get('first')) === 'one' &&
      str(await reopened.get('b1')) === 'x' &&
      str(await reopened.get('b2')) === 'y' &&
      (await reopened.get('last')) === undefined &&
      reopened.stats().recovery.truncatedBytes === cut - lastStart
    await reopened.put('after', 'recovery')
    const accepted = str(await reopened.get('after')) === 'recovery'
    await reopened.close()
    if (good && accepted) ok++
    else t.fail(`cut at ${cut}`)
  }
  t.equal(ok, lastRecordSize, `all ${lastRecordSize} cut points recover the earlier records and accept writes`)
})

test('a torn batch is absent as a whole', async (t) => {
  const location = tempPath()
  const db = await CaskDB.open(location)
  await db.put('before', '1')
  await db.batch(Array.from({ length: 10 }, (_, i) => ({ type: 'put' as const, key: `k${i}`, value: `v${i}` })))
  await db.close()
  const file = join(location, dataFiles(location)[0]!)
  const full = readFileSync(file)
  const batchStart = recordsIn(readFileSync(join(location, dataFiles(location)[0]!)))[1]!.at
  t.equal(batchStart, 8 + 8 + 'before'.length + 1)
  let wholeOrNothing = true
  for (let cut = batchStart + 1; cut < full.length; cut += 7) {
    writeFileSync(file, full.subarray(0, cut))
    const reopened = await CaskDB.open(location)
    const present = (await reopened.hasMany(Array.from({ length: 10 }, (_, i) => `k${i}`))).filter(Boolean).length
    if (present !== 0 || str(await reopened.get('before')) !== '1') wholeOrNothing = false
    await reopened.close()
  }
  writeFileSync(file, full)
  const whole = await CaskDB.open(location)
  t.equal((await whole.hasMany(Array.from({ length: 10 }, (_, i) => `k${i}`))).filter(Boolean).length, 10, 'intact batch is all there')
  await whole.close()
  t.ok(wholeOrNothing, 'every cut inside the batch leaves none of it')
})

test('rotation seals segments with hints; reopen reads hints and scans only the tail', async (t) => {
  const location = tempPath()
  const db = await CaskDB.open(location, { maxSegmentSize: 4096, autoCompact: false })
  for (let i = 0; i < 300; i++) await db.put(`key${i}`, `value${i}`.repeat(3))
  for (let i = 0; i < 300; i += 3) await db.del(`key${i}`)
  await db.close()
  const data = dataFiles(location)
  t.ok(data.length > 3, `rotated into ${data.length} segments`)
  t.equal(hintFiles(location).length, data.length - 1, 'every sealed segment has a hint')
  t.same(activeHintFiles(location), [data[data.length - 1]!.replace('.data', '.active.hint')], 'the active one got its close-time hint')
  const reopened = await CaskDB.open(location, { maxSegmentSize: 4096 })
  let right = 0
  for (let i = 0; i < 300; i++) {
    const v = str(await reopened.get(`key${i}`))
    if (v === (i % 3 === 0 ? undefined : `value${i}`.repeat(3))) right++
  }
  t.equal(right, 300, 'every key has its latest state after reopen')
  t.equal(reopened.stats().keys, 200)
  await reopened.close()
})

test('a damaged hint file is ignored and its segment scanned instead', async (t) => {
  const location = tempPath()
  const db = await CaskDB.open(location, { maxSegmentSize: 4096, autoCompact: false })
  for (let i = 0; i < 200; i++) await db.put(`key${i}`, `value${i}`)
  await db.close()
  const hint = join(location, hintFiles(location)[0]!)
  const bytes = readFileSync(hint)
  bytes[20] = bytes[20]! ^ 0xff
  writeFileSync(hint, bytes)
  const reopened = await CaskDB.open(location)
  t.equal(reopened.stats().recovery.rebuiltHints, 1, 'reported')
  t.equal(str(await reopened.get('key0')), 'value0')
  t.equal(reopened.stats().keys, 200)
  await reopened.close()
  unlinkSync(join(location, hintFiles(location)[0]!))
  const again = await CaskDB.open(location)
  t.equal(again.stats().keys, 200, 'a missing hint is rebuilt from the data file too')
  await again.close()
})

test('damage inside a sealed segment: reads fail with CORRUPTION, never wrong bytes', async (t) => {
  const location = tempPath()
  const db = await CaskDB.open(location, { maxSegmentSize: 4096, autoCompact: false, cacheSize: 0 })
  for (let i = 0; i < 200; i++) await db.put(`key${i}`, `value-${i}-`.repeat(4))
  await db.close()
  const first = join(location, dataFiles(location)[0]!)
  const bytes = readFileSync(first)
  const at = bytes.indexOf('value-0-')
  bytes[at + 3] = bytes[at + 3]! ^ 0x01
  writeFileSync(first, bytes)
  const reopened = await CaskDB.open(location, { cacheSize: 0 })
  const err = await reopened.get('key0').catch((e: CaskError) => e)
  t.equal((err as CaskError).code, ErrorCodes.CORRUPTION, 'coded error')
  t.equal((err as CaskError).file, first, 'names the file')
  t.equal(str(await reopened.get('key1')), 'value-1-'.repeat(4), 'other records still read')
  const damage = await reopened.verify()
  t.equal(damage.length, 1, 'verify reports the damaged segment')
  await reopened.close()
  // With the hint gone, open has to scan the sealed segment and meets the damage.
  unlinkSync(join(location, hintFiles(location)[0]!))
  const sizeBefore = statSync(first).size
  const open2 = await CaskDB.open(location).catch((e: CaskError) => e)
  t.equal((open2 as CaskError).code, ErrorCodes.CORRUPTION, 'damage with intact records after it is reported, not cut off')
  t.equal(statSync(first).size, sizeBefore, 'nothing was truncated')
})

test('garbage appended to the active segment is cut off', async (t) => {
  const location = tempPath()
  const db = await CaskDB.open(location)
  await db.put('k', 'v')
  await db.close()
  const file = join(location, dataFiles(location)[0]!)
  const size = statSync(file).size
  appendFileSync(file, Buffer.from('this is not a record at all, just noise'))
  const reopened = await CaskDB.open(location)
  t.equal(str(await reopened.get('k')), 'v')
  t.equal(statSync(file).size, size, 'file cut back to the last good record')
  await reopened.close()
})

test('unknown format versions and foreign files are refused with a clear error', async (t) => {
  const location = tempPath()
  const db = await CaskDB.open(location)
  await db.put('k', 'v')
  await db.close()
  const file = join(location, dataFiles(location)[0]!)
  const bytes = readFileSync(file)
  bytes.writeUInt16BE(99, 4)
  writeFileSync(file, bytes)
  const err = await CaskDB.open(location).catch((e: CaskError) => e)
  t.equal((err as CaskError).code, ErrorCodes.UNSUPPORTED_FORMAT)
  t.match((err as CaskError).message, /version 99/)
  bytes.write('NOPE', 0, 'latin1')
  writeFileSync(file, bytes)
  const err2 = await CaskDB.open(location).catch((e: CaskError) => e)
  t.equal((err2 as CaskError).code, ErrorCodes.CORRUPTION, 'bad magic')
  // The lock was released after the failed open: a fixed file opens again.
  bytes.write('CSKD', 0, 'latin1')
  bytes.writeUInt16BE(1, 4)
  writeFileSync(file, bytes)
  const fixed = await CaskDB.open(location)
  t.equal(str(await fixed.get('k')), 'v', 'failed opens released the lock')
  await fixed.close()
})

test('an empty active segment file (header never written) is recovered', async (t) => {
  const location = tempPath()
  const db = await CaskDB.open(location, { maxSegmentSize: 4096 })
  for (let i = 0; i < 100; i++) await db.put(`k${i}`, 'x'.repeat(50))
  await db.close()
  const files = dataFiles(location)
  truncateSync(join(location, files[files.length - 1]!), 0)
  const reopened = await CaskDB.open(location)
  await reopened.put('new', 'write')
  t.equal(str(await reopened.get('new')), 'write')
  t.equal(str(await reopened.get('k0')), 'x'.repeat(50))
  await reopened.close()
})

test('hints of the previous format (version 1, file order) are read, and rewritten as version 2', async (t) => {
  const { decodeHint } = await import('../../src/format/hint.js')
  const location = tempPath()
  const db = await CaskDB.open(location, { maxSegmentSize: 4096, autoCompact: false })
  for (let i = 0; i < 300; i++) await db.put(`key${i}`, `value${i}`.repeat(3))
  for (let i = 0; i < 300; i += 3) await db.del(`key${i}`)
  await db.close()
  // Rewrite every sealed hint as the previous release wrote it.
  for (const name of hintFiles(location)) {
    const path = join(location, name)
    const { entries } = decodeHint(readFileSync(path), path)
    entries.reverse() // any order: version 1 listed records in file order
    const v1 = encodeV1Hint(entries)
    writeFileSync(path, v1)
  }
  const reopened = await CaskDB.open(location, { maxSegmentSize: 4096, autoCompact: false })
  let right = 0
  for (let i = 0; i < 300; i++) if (str(await reopened.get(`key${i}`)) === (i % 3 === 0 ? undefined : `value${i}`.repeat(3))) right++
  t.equal(right, 300, 'every key has its latest state')
  t.equal(reopened.stats().keys, 200)
  t.equal(reopened.stats().recovery.rebuiltHints, 0, 'not reported as damage')
  await reopened.close()
  const versions = hintFiles(location).map((n) => readFileSync(join(location, n)).readUInt16BE(4))
  t.ok(versions.every((v) => v === 2), `rewritten as version 2: ${versions.join(',')}`)
})
