/**
 * The hint a clean close writes for the active segment (`<id>.active.hint`):
 * the next open loads it and reads no record of that segment; records
 * appended after that open are scanned after a crash; a damaged, stale or
 * mismatched one is dropped and the segment scanned.
 */
import test from 'tape'
import { appendFileSync, copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { CaskDB, type CaskOptions } from '../../src/index.js'
import { nodeFileSystem } from '../../src/io/file-system.js'
import { tempDir, tempPath } from '../helpers/tmp.js'
import { countingFs } from '../helpers/hints.js'
import { recordsIn } from '../helpers/records.js'
import { readHintHeader } from '../../src/format/hint.js'

const dataFiles = (dir: string) => readdirSync(dir).filter((n) => n.endsWith('.data')).sort()
const activeHints = (dir: string) => readdirSync(dir).filter((n) => n.endsWith('.active.hint')).sort()
const str = (b: Buffer | undefined) => b?.toString()

/** Copies a database's files as a kill -9 would leave them (the page cache is what a crash keeps). */
function crashCopy(from: string): string {
  const to = join(tempDir(), 'crashed')
  mkdirSync(to)
  for (const name of readdirSync(from)) if (name !== 'LOCK') copyFileSync(join(from, name), join(to, name))
  return to
}

const options: CaskOptions = { maxSegmentSize: 64 * 1024, autoCompact: false, cacheSize: 0 }

async function fill(location: string, n: number, version = 0, opts = options): Promise<void> {
  const db = await CaskDB.open(location, opts)
  for (let i = 0; i < n; i += 50) {
    await db.batch(Array.from({ length: Math.min(50, n - i) }, (_, j) => ({ type: 'put' as const, key: `key${i + j}`, value: `value-${i + j}-${version}` })))
  }
  for (let i = 0; i < n; i += 7) await db.del(`key${i}`)
  await db.close()
}

async function expectKeys(t: test.Test, db: CaskDB, n: number, version: number, what: string): Promise<void> {
  let wrong = 0
  for (let i = 0; i < n; i++) {
    const want = i % 7 === 0 ? undefined : `value-${i}-${version}`
    if (str(await db.get(`key${i}`)) !== want) wrong++
  }
  t.equal(wrong, 0, `${what}: every key has its value`)
  t.equal(db.stats().keys, n - Math.ceil(n / 7), `${what}: key count`)
}

test('active hint: a reopen after a clean close reads none of the active segment\'s records', async (t) => {
  const location = tempPath()
  await fill(location, 2000)
  const active = dataFiles(location).at(-1)!
  t.same(activeHints(location), [active.replace('.data', '.active.hint')], 'close wrote the active segment\'s hint')
  const size = statSync(join(location, active)).size
  const counting = countingFs()
  const db = await CaskDB.open(location, { ...options, fs: counting.fs })
  const read = counting.bytesRead.get(join(location, active)) ?? 0
  t.ok(read <= 8 + 4096, `${read} bytes of the ${size}-byte active segment read at open (its header and the tail check)`)
  t.equal(db.stats().recovery.truncatedBytes, 0)
  await expectKeys(t, db, 2000, 0, 'after the reopen')
  await db.close()

  // Without the hint the same open reads the whole segment: the count above is meaningful.
  writeFileSync(join(location, activeHints(location)[0]!), '')
  const scanning = countingFs()
  const again = await CaskDB.open(location, { ...options, fs: scanning.fs })
  t.ok((scanning.bytesRead.get(join(location, active)) ?? 0) >= size - 8, 'a damaged active hint: the segment is scanned')
  t.equal(again.stats().recovery.rebuiltHints, 1, 'and reported as a rebuilt hint')
  await expectKeys(t, again, 2000, 0, 'after the fallback scan')
  await again.close()
  t.equal(activeHints(location).length, 1, 'the next close writes it again')
})

test('active hint: records appended after the reopen survive a crash, a torn tail after the hint is cut', async (t) => {
  const location = tempPath()
  const big = { ...options, maxSegmentSize: 1024 * 1024 } // one segment throughout
  await fill(location, 1000, 0, big)
  const active = dataFiles(location).at(-1)!
  const covered = statSync(join(location, active)).size
  const db = await CaskDB.open(location, big)
  for (let i = 0; i < 1000; i += 3) await db.put(`key${i}`, `value-${i}-1`)
  await db.put('last', 'the final record')
  // Crash: no close, so no new hint; the old one still covers the first `covered` bytes.
  const crashed = crashCopy(location)
  await db.close()
  t.same(activeHints(crashed), [active.replace('.data', '.active.hint')], 'the crash copy has the hint of the previous close')
  const file = join(crashed, active)
  const full = readFileSync(file)
  t.ok(full.length > covered, 'and its segment grew after it')
  truncateSync(file, full.length - 5) // tear the last record
  const counting = countingFs()
  const reopened = await CaskDB.open(crashed, { ...big, fs: counting.fs })
  t.same(dataFiles(crashed), [active], 'one segment')
  const read = counting.bytesRead.get(file) ?? 0
  t.ok(read < full.length - covered + 8 + 4096 + 1024, `only the bytes after the hint were scanned (${read} of ${full.length})`)
  t.equal(reopened.stats().recovery.truncatedBytes, recordsIn(full).at(-1)!.size - 5, 'the torn record is cut')
  t.equal(reopened.stats().recovery.scannedBytes, full.length - 5 - reopened.stats().recovery.truncatedBytes - covered, 'scannedBytes: the intact records after the hint')
  t.equal(await reopened.get('last'), undefined, 'and absent')
  let wrong = 0
  for (let i = 0; i < 1000; i++) {
    const want = i % 3 === 0 ? `value-${i}-1` : i % 7 === 0 ? undefined : `value-${i}-0`
    if (str(await reopened.get(`key${i}`)) !== want) wrong++
  }
  t.equal(wrong, 0, 'hinted records and records scanned after the hint both count, newest wins')
  await reopened.close()
  t.same(await CaskDB.verify(crashed), [], 'verify is clean')
})

test('active hint: a data file changed under the hint (cut, then rewritten) is noticed and scanned', async (t) => {
  const location = tempPath()
  await fill(location, 500)
  const active = join(location, dataFiles(location).at(-1)!)
  const before = readFileSync(active)
  // A session appends a record and closes: the hint now covers it.
  const db = await CaskDB.open(location, options)
  await db.put('extra', 'x'.repeat(40))
  await db.close()
  const grown = statSync(active).size
  // Put the old bytes back and append a different record of the same length after them.
  writeFileSync(active, before)
  const other = await CaskDB.open(location, { ...options, fs: { ...nodeFileSystem } })
  await other.close()
  writeFileSync(active, before)
  appendFileSync(active, Buffer.alloc(grown - before.length, 0x41))
  const reopened = await CaskDB.open(location, options)
  t.equal(await reopened.get('extra'), undefined, 'the record the hint names is not there: not served')
  t.equal(reopened.stats().recovery.truncatedBytes, grown - before.length, 'the bytes that are not records are cut')
  await expectKeys(t, reopened, 500, 0, 'the rest')
  await reopened.close()
})

test('active hint: sealing the segment replaces it; backups carry their own; destroy removes it', async (t) => {
  const location = tempPath()
  await fill(location, 300)
  const first = activeHints(location)[0]!
  const db = await CaskDB.open(location, options)
  for (let i = 0; i < 2000; i++) await db.put(`more${i}`, 'y'.repeat(60))
  await db.flush()
  const backup = join(tempDir(), 'backup')
  await db.backup(backup)
  await db.close()
  t.notOk(existsSync(join(location, first)), 'the segment it covered was sealed: its active hint is gone')
  t.ok(existsSync(join(location, first.replace('.active.hint', '.hint'))), 'replaced by the full hint')
  // The source's active hint covers the source's segment as of its last close: never copied. The backup
  // gets its own, of exactly the bytes it copied of the active segment.
  const backupHints = activeHints(backup)
  t.equal(backupHints.length, 1, 'the backup has one active hint, its own')
  const copied = join(backup, backupHints[0]!.replace('.active.hint', '.data'))
  t.equal(readHintHeader(readFileSync(join(backup, backupHints[0]!)), 'x').dataLength, statSync(copied).size, 'covering exactly its copy of the active segment')
  const copy = await CaskDB.open(backup, options)
  t.equal(str(await copy.get('more1999')), 'y'.repeat(60), 'the backup opens with every write')
  await copy.close()
  t.equal(activeHints(location).length, 1)
  await CaskDB.destroy(location)
  t.notOk(existsSync(location), 'destroy removed every file, the active hint too')
})

test('active hint: after a crash, the close that follows the recovering open writes its hint from what the open scanned, reading no record again', async (t) => {
  const location = tempPath()
  const big = { ...options, maxSegmentSize: 1024 * 1024 } // one segment throughout
  await fill(location, 1500, 0, big)
  const active = dataFiles(location).at(-1)!
  const file = join(location, active)
  // As a kill -9 leaves it: the records, no close-time hint.
  for (const name of activeHints(location)) writeFileSync(join(location, name), '')
  const size = statSync(file).size
  const counting = countingFs()
  const db = await CaskDB.open(location, { ...big, fs: counting.fs })
  t.ok((counting.bytesRead.get(file) ?? 0) >= size - 8, 'the open scanned the segment')
  t.equal(db.stats().recovery.scannedBytes, size - 8, 'stats say how much it scanned (all records, after the file header)')
  await db.put('after', 'the crash')
  const before = counting.bytesRead.get(file) ?? 0
  await db.close()
  const closeRead = (counting.bytesRead.get(file) ?? 0) - before
  t.ok(closeRead <= 4096, `the close read ${closeRead} bytes of the ${size}-byte segment (the tail its hint's check covers), not the segment again`)
  t.equal(activeHints(location).length, 1, 'and wrote the hint')
  const fresh = countingFs()
  const reopened = await CaskDB.open(location, { ...big, fs: fresh.fs })
  t.ok((fresh.bytesRead.get(file) ?? 0) <= 8 + 4096, 'the next open loads that hint and reads no record')
  t.equal(reopened.stats().recovery.scannedBytes, 0, 'and says it scanned nothing')
  t.equal(str(await reopened.get('after')), 'the crash', 'the record appended after the recovering open is there')
  await reopened.del('after')
  await expectKeys(t, reopened, 1500, 0, 'after the hint written from the scan')
  await reopened.close()
  t.same(await CaskDB.verify(location), [], 'verify is clean')
})

test('active hint: segments left unsealed by a crash are sealed from what the open scanned, without reading them again', async (t) => {
  const location = tempPath()
  await fill(location, 8000) // 64 KiB segments: several sealed ones
  const sealedHints = readdirSync(location).filter((n) => /^\d{8}\.hint$/.test(n))
  t.ok(sealedHints.length >= 2, `${sealedHints.length} sealed hints`)
  // A crash before their seals finished: the hints never made it.
  for (const name of [...sealedHints, ...activeHints(location)]) unlinkSync(join(location, name))
  const counting = countingFs()
  const db = await CaskDB.open(location, { ...options, fs: counting.fs })
  const afterOpen = new Map(counting.bytesRead)
  await db.flush()
  while (db.stats().backgroundTasks > 0) await new Promise((resolve) => setTimeout(resolve, 5))
  let reread = 0
  for (const name of dataFiles(location)) {
    const path = join(location, name)
    reread += (counting.bytesRead.get(path) ?? 0) - (afterOpen.get(path) ?? 0)
  }
  t.equal(reread, 0, 'the seals after the open read no data file')
  t.same(
    readdirSync(location).filter((n) => /^\d{8}\.hint$/.test(n)).sort(),
    sealedHints.sort(),
    'every segment but the active one has its hint again',
  )
  await expectKeys(t, db, 8000, 0, 'after the recovering open')
  await db.close()
  t.same(await CaskDB.verify(location), [], 'verify is clean (the hints match their segments)')
})
