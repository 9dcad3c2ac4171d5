/**
 * Sealing builds a segment's hint from the entries the write path collected
 * as it appended (src/log/appended.ts), not by re-reading the data file: no
 * data byte is read, and the hint is the one a scan of the file gives, byte
 * for byte. Records of a failed, rolled-back write are in neither.
 */
import test from 'tape'
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { CaskDB, type CaskOptions } from '../../src/index.js'
import { decodeHint } from '../../src/format/hint.js'
import { FaultyFs } from '../helpers/faulty-fs.js'
import { tempPath } from '../helpers/tmp.js'
import { countingFs, scannedHint } from '../helpers/hints.js'

// skipUnchangedWrites off wherever reads are counted: its compare of a rewritten key reads the old value.
// warmCache off: these tests count the data bytes the engine reads, and warming the cache reads them all.
const NO_COMPARE = { skipUnchangedWrites: false, warmCache: false }

const sealedHints = (dir: string) => readdirSync(dir).filter((n) => /^\d+\.hint$/.test(n)).sort()
const dataOf = (dir: string, hint: string) => join(dir, hint.replace('.hint', '.data'))

/** Puts, deletes, batches, expiring keys and overwrites, over several segments. */
async function workload(db: CaskDB, rounds: number, tag = ''): Promise<void> {
  for (let i = 0; i < rounds; i++) {
    await db.put(`key-${i % 37}${tag}`, `value ${i} `.repeat(1 + (i % 5)))
    if (i % 7 === 0) await db.del(`key-${(i * 3) % 37}${tag}`)
    if (i % 11 === 0) await db.put(`ttl-${i}${tag}`, 'x', { ttl: 3_600_000 })
    if (i % 13 === 0) {
      await db.batch([
        { type: 'put', key: `b-${i}${tag}`, value: 'batched' },
        { type: 'del', key: `key-${i % 37}${tag}` },
        { type: 'put', key: Buffer.from([0, 255, i & 255]), value: Buffer.alloc(50, i) },
      ])
    }
  }
}

async function checkHints(t: test.Test, dir: string, bytesRead: Map<string, number>, what: string): Promise<void> {
  const hints = sealedHints(dir)
  t.ok(hints.length >= 2, `${what}: several segments were sealed (${hints.length})`)
  for (const hint of hints) {
    const data = dataOf(dir, hint)
    t.equal(bytesRead.get(data) ?? 0, 0, `${what}: sealing ${hint} read no byte of its data file`)
    t.ok(readFileSync(join(dir, hint)).equals(await scannedHint(data)), `${what}: ${hint} is byte-identical to the scan-built hint`)
  }
}

test('sealing encodes the collected entries: no data byte read, same hint as a scan', async (t) => {
  const { fs, bytesRead } = countingFs()
  const dir = tempPath()
  const db = await CaskDB.open(dir, { ...NO_COMPARE, fs, maxSegmentSize: 4096 })
  await workload(db, 300)
  await db.close()
  await checkHints(t, dir, bytesRead, 'default mode')
  const active = readdirSync(dir).filter((n) => n.endsWith('.active.hint'))
  t.equal(active.length, 1, 'close wrote the active hint')
  const activeData = join(dir, active[0]!.replace('.active.hint', '.data'))
  t.ok((bytesRead.get(activeData) ?? 0) <= 4096, 'the active hint read only the tail its crc32 covers')
  const expected = decodeHint(await scannedHint(activeData), 'scan').entries
  t.deepEqual(decodeHint(readFileSync(join(dir, active[0]!)), 'active').entries, expected, 'active hint: the entries a scan gives')
})

test('sealing in write-buffer mode encodes the collected entries too', async (t) => {
  const { fs, bytesRead } = countingFs()
  const dir = tempPath()
  const db = await CaskDB.open(dir, { ...NO_COMPARE, fs, maxSegmentSize: 4096, writeBuffer: true, writeBufferSize: 1024 })
  await workload(db, 300)
  await db.close()
  await checkHints(t, dir, bytesRead, 'write buffer')
})

for (const activeHint of [true, false]) {
  const how = activeHint ? 'from the active hint it was opened with' : 'scanned (no active hint)'
  test(`a recovered active segment: records from before the open ${how}, the rest collected`, async (t) => {
    const dir = tempPath()
    const options: CaskOptions = { ...NO_COMPARE, maxSegmentSize: 16 * 1024 }
    let db = await CaskDB.open(dir, options)
    await workload(db, 40, 'a')
    await db.close()
    t.equal(sealedHints(dir).length, 0, 'one unsealed segment so far')
    const dataName = readdirSync(dir).find((n) => n.endsWith('.data'))!
    const dataPath = join(dir, dataName)
    const activeHintPath = dataPath.replace('.data', '.active.hint')
    t.ok(existsSync(activeHintPath), 'close wrote an active hint')
    if (!activeHint) rmSync(activeHintPath)
    const { fs, bytesRead } = countingFs()
    db = await CaskDB.open(dir, { ...options, fs })
    const before = readFileSync(dataPath).length
    bytesRead.clear()
    await workload(db, 300, 'b') // rotates the recovered segment out and seals it
    await db.close()
    const hint = dataPath.replace('.data', '.hint')
    t.ok(existsSync(hint), 'the recovered segment was sealed')
    t.ok(readFileSync(hint).equals(await scannedHint(dataPath)), 'its hint is byte-identical to the scan-built one')
    const read = bytesRead.get(dataPath) ?? 0
    // Without an active hint the open scanned those records, and kept what it found for this seal.
    t.equal(read, 0, `sealing read no data byte (of the ${before} written before the open)`)
    db = await CaskDB.open(dir, options)
    t.equal((await db.get('b-0b'))?.toString(), 'batched', 'reopened from the hints')
    t.equal((await db.get('b-0a'))?.toString(), 'batched', 'records from before the first reopen too')
    await db.close()
  })
}

test('a write that fails and is rolled back leaves no hint entry; later records are collected', async (t) => {
  const faulty = new FaultyFs()
  const { fs, bytesRead } = countingFs(faulty.fs)
  const dir = tempPath()
  const db = await CaskDB.open(dir, { ...NO_COMPARE, fs, maxSegmentSize: 4096 })
  await workload(db, 20)
  // A torn write mid-segment: 10 bytes land, then EIO; the engine cuts them.
  faulty.fault = { kind: 'write', nth: faulty.counts.write + 1, tornBytes: 10 }
  const failed = await db.put('failed-put', 'never acknowledged').then(
    () => undefined,
    (err: unknown) => err,
  )
  t.equal((failed as { code?: string } | undefined)?.code, 'IO_ERROR', 'the put failed')
  faulty.fault = { kind: 'write', nth: faulty.counts.write + 1 }
  const failedBatch = await db.batch([
    { type: 'put', key: 'failed-batch', value: 'x' },
    { type: 'del', key: 'key-1' },
  ]).then(
    () => undefined,
    (err: unknown) => err,
  )
  t.ok(failedBatch !== undefined, 'the batch failed')
  faulty.fault = undefined
  await workload(db, 300, 'after')
  await db.close()
  await checkHints(t, dir, bytesRead, 'after a rolled-back write')
  const keys = sealedHints(dir).flatMap((h) => decodeHint(readFileSync(join(dir, h)), h).entries.map((e) => e.key.toString()))
  t.notOk(keys.includes('failed-put') || keys.includes('failed-batch'), 'no hint lists a failed record')
})

test('a failed rollback: the log refuses writes and close writes no active hint', async (t) => {
  const faulty = new FaultyFs()
  const dir = tempPath()
  const db = await CaskDB.open(dir, { fs: faulty.fs })
  await db.put('kept', 'yes')
  faulty.fault = [
    { kind: 'write', nth: faulty.counts.write + 1, tornBytes: 10 },
    { kind: 'truncate', nth: faulty.counts.truncate + 1 },
  ]
  await db.put('lost', 'no').catch(() => undefined)
  faulty.fault = undefined
  const refused = await db.put('after', 'no').catch((err: { code?: string }) => err.code)
  t.equal(refused, 'READ_ONLY', 'writes refused')
  await db.close()
  t.equal(readdirSync(dir).filter((n) => n.endsWith('.active.hint')).length, 0, 'no active hint')
  const reopened = await CaskDB.open(dir)
  t.equal((await reopened.get('kept'))?.toString(), 'yes', 'the acknowledged write survives')
  t.equal(await reopened.get('lost'), undefined, 'the torn bytes were cut')
  await reopened.close()
})

test('the hint lists the key as written, even if the caller reuses its key buffer', async (t) => {
  const dir = tempPath()
  const db = await CaskDB.open(dir, { maxSegmentSize: 4096 })
  const key = Buffer.from('original')
  const pending = db.put(key, 'v')
  key.write('modified') // after put() returned, before the group reached the file
  await pending
  await workload(db, 100)
  await db.close()
  const hint = sealedHints(dir)[0]!
  t.ok(readFileSync(join(dir, hint)).equals(await scannedHint(dataOf(dir, hint))), 'hint matches the file')
  const reopened = await CaskDB.open(dir)
  t.equal((await reopened.get('original'))?.toString(), 'v', 'found under the key it was written with')
  await reopened.close()
})
