/**
 * Engine bugs found by the reliability tests, each pinned by a test that
 * failed before its fix.
 */
import test from 'tape'
import { mkdirSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { CaskDB, CaskError } from '../../src/index.js'
import { FaultyFs } from '../helpers/faulty-fs.js'
import { tempDir, tempPath } from '../helpers/tmp.js'
import { describeError, noUnhandledRejections } from './support.js'

test('regression: a failed write-buffer flush rejects the flush, leaves no unhandled rejection, and the next flush retries', async (t) => {
  const faulty = new FaultyFs()
  const location = tempPath()
  const { unhandled } = await noUnhandledRejections(async () => {
    const db = await CaskDB.open(location, { fs: faulty.fs, writeBuffer: true, flushInterval: 2 ** 31 - 1 })
    await db.put('a', '1')
    faulty.fault = { kind: 'write', nth: faulty.counts.write + 1, code: 'ENOSPC' }
    const first = await db.flush().catch((e: unknown) => e)
    t.ok(first instanceof CaskError && first.code === 'IO_ERROR', `the failed flush rejects with IO_ERROR (${describeError(first)})`)
    // Two flushes queued behind each other while the first fails: the second must still try.
    await db.put('b', '2')
    faulty.fault = { kind: 'write', nth: faulty.counts.write + 1, code: 'ENOSPC' }
    const [second, third] = await Promise.allSettled([db.flush(), db.flush()])
    t.equal(second.status, 'rejected', 'the flush that hit the fault rejects')
    t.equal(third.status, 'fulfilled', 'the flush queued behind it retries the buffered writes instead of inheriting the failure')
    await db.close()
  })
  t.same(unhandled.map(describeError), [], 'no unhandled rejections (they would crash the process)')
  const db = await CaskDB.open(location)
  t.same([(await db.get('a'))?.toString(), (await db.get('b'))?.toString()], ['1', '2'], 'the retried writes reached the disk')
  await db.close()
})

async function filled(location: string): Promise<CaskDB> {
  const db = await CaskDB.open(location, { maxSegmentSize: 4096, autoCompact: false })
  for (let i = 0; i < 200; i++) await db.put(`k${i}`, `value-${i}-`.repeat(4))
  return db
}

test('regression: two concurrent backups to one directory: one completes whole, the other fails with EXISTS and deletes nothing of it', async (t) => {
  const db = await filled(tempPath())
  const expected = (await db.iterator().all()).length
  const dest = join(tempDir(), 'backup')
  const results = await Promise.allSettled([db.backup(dest), db.backup(dest)])
  const fulfilled = results.filter((r) => r.status === 'fulfilled').length
  const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected')
  t.equal(fulfilled, 1, 'one backup succeeds')
  t.equal(rejected.length, 1, 'the other fails')
  t.equal((rejected[0]?.reason as CaskError | undefined)?.code, 'EXISTS', 'with EXISTS')
  const copy = await CaskDB.open(dest)
  t.equal((await copy.iterator().all()).length, expected, 'the backup that succeeded is complete')
  await copy.close()
  t.same(readdirSync(join(dest, '..')), ['backup'], 'no partial directory left next to it')
  await db.close()
})

test('regression: a backup that fails midway leaves no directory that looks like a backup', async (t) => {
  const faulty = new FaultyFs()
  const db = await CaskDB.open(tempPath(), { fs: faulty.fs, maxSegmentSize: 4096, autoCompact: false })
  for (let i = 0; i < 200; i++) await db.put(`k${i}`, `value-${i}-`.repeat(4))
  const root = tempDir()
  // Fail the copy of the active segment, after the sealed ones were linked.
  faulty.deny = (call) => (call.kind === 'open' && call.flags === 'wx' ? 'ENOSPC' : undefined)
  const err = await db.backup(join(root, 'b')).catch((e: unknown) => e)
  t.ok(err instanceof CaskError && err.code === 'IO_ERROR', `IO_ERROR (${describeError(err)})`)
  t.same(readdirSync(root), [], 'nothing left behind')
  // As if the process died before cleaning up: the clean-up fails too. The
  // target must still not exist, so nobody restores an incomplete copy.
  faulty.fault = { kind: 'rmrf', nth: faulty.counts.rmrf + 2, code: 'EIO' }
  const crashed = await db.backup(join(root, 'crashed')).catch((e: unknown) => e)
  t.ok(crashed instanceof CaskError, 'rejects')
  t.notOk(readdirSync(root).includes('crashed'), 'the target directory does not exist (only a hidden partial directory)')
  faulty.fault = undefined
  faulty.deny = (call) => (call.kind === 'mkdir' ? 'EACCES' : undefined)
  const err2 = await db.backup(join(root, 'c')).catch((e: unknown) => e)
  t.ok(err2 instanceof CaskError && err2.code === 'IO_ERROR', `a directory that cannot be created is IO_ERROR too (${describeError(err2)})`)
  faulty.deny = undefined
  mkdirSync(join(root, 'existing'))
  const err3 = await db.backup(join(root, 'existing')).catch((e: unknown) => e)
  t.equal((err3 as CaskError).code, 'EXISTS', 'an existing directory is refused')
  await db.close()
})

test('regression: two concurrent restores to one location: one completes whole, the other fails with EXISTS', async (t) => {
  const db = await filled(tempPath())
  const backup = join(tempDir(), 'backup')
  await db.backup(backup)
  await db.close()
  const target = join(tempDir(), 'restored')
  const results = await Promise.allSettled([CaskDB.restore(backup, target), CaskDB.restore(backup, target)])
  t.equal(results.filter((r) => r.status === 'fulfilled').length, 1, 'one restore succeeds')
  const rejected = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')
  t.equal((rejected?.reason as CaskError | undefined)?.code, 'EXISTS', 'the other fails with EXISTS')
  const restored = await CaskDB.open(target)
  t.equal((await restored.iterator().all()).length, 200, 'the restored database is complete')
  await restored.close()
})

test('regression: close() waits for a backup in flight instead of closing the files it is copying (EBADF, or a reused fd)', async (t) => {
  const db = await filled(tempPath())
  await db.verify() // let background sealing finish, so close() has nothing else to wait for
  const dest = join(tempDir(), 'backup')
  const backup = db.backup(dest).then(
    () => 'resolved',
    (e: unknown) => describeError(e),
  )
  await db.close()
  t.equal(await backup, 'resolved', 'the backup finished')
  const copy = await CaskDB.open(dest)
  t.equal((await copy.iterator().all()).length, 200, 'and is complete')
  await copy.close()
})

test('regression: operations issued after close() was called are refused with CLOSED', async (t) => {
  const location = tempPath()
  const db = await CaskDB.open(location)
  await db.put('a', '1')
  const closing = db.close()
  const late = await db.put('late', 'x').then(
    () => 'resolved',
    (e: unknown) => (e as CaskError).code,
  )
  t.equal(late, 'CLOSED', 'a put issued after close() rejects with CLOSED')
  t.equal(db.status, 'closing', 'status is closing at once')
  await closing
  const again = await CaskDB.open(location)
  t.equal(await again.get('late'), undefined, 'and was not written')
  await again.close()
})

test('regression: compact() interrupted by close() resolves early instead of rejecting with an uncoded CompactionAborted', async (t) => {
  const location = tempPath()
  const faulty = new FaultyFs()
  const db = await CaskDB.open(location, { fs: faulty.fs, maxSegmentSize: 4096, autoCompact: false })
  for (let i = 0; i < 3000; i++) await db.put(`k${i % 20}`, `value-${i}-`.repeat(5))
  await db.verify()
  // Call close() from inside the compaction: when it creates its output file (after sealing the active segment).
  let closing: Promise<void> | undefined
  faulty.deny = (call) => {
    if (closing === undefined && call.kind === 'open' && call.path?.endsWith('.data.tmp') === true) closing = db.close()
    return undefined
  }
  const outcome = await db.compact().then(
    (r) => `resolved after ${r.steps} steps`,
    (e: unknown) => describeError(e),
  )
  t.ok(closing !== undefined, 'close() was called during the compaction')
  await closing
  t.match(outcome, /^resolved/, `compact() ${outcome.split('\n')[0]}`)
  const reopened = await CaskDB.open(location)
  t.equal(reopened.stats().keys, 20, 'no data lost')
  t.same(await reopened.verify(), [])
  await reopened.close()
})

test('regression: a hint whose entries point past the end of their segment is refused (CORRUPTION, no 4 GiB read); repair sets it aside', async (t) => {
  const { encodeHint, decodeHint } = await import('../../src/format/hint.js')
  const { readFileSync, writeFileSync } = await import('node:fs')
  const location = tempPath()
  const db = await filled(location)
  await db.close()
  const hintName = readdirSync(location).filter((n) => n.endsWith('.hint')).sort()[0]!
  const path = join(location, hintName)
  const hint = decodeHint(readFileSync(path), path)
  // A checksum-valid hint (as a bug or a crafted file could produce) with an absurd record size.
  const entries = hint.entries.map((e, i) => (i === 0 ? { ...e, size: 0xfffffff0 } : e))
  writeFileSync(path, encodeHint(hint.replaces, entries))
  const err = await CaskDB.open(location, { cacheSize: 0 }).catch((e: unknown) => e)
  t.equal((err as CaskError).code, 'CORRUPTION', `open refuses it: ${describeError(err)}`)
  t.equal((await CaskDB.verify(location)).length, 1, 'verify reports it')
  const report = await CaskDB.repair(location)
  t.same(report.movedAside, [hintName], 'repair moves the hint aside')
  const reopened = await CaskDB.open(location, { cacheSize: 0 })
  const key = entries[0]!.key.toString()
  t.equal((await reopened.get(key))?.toString(), `value-${key.slice(1)}-`.repeat(4), 'the key reads from the scanned segment')
  t.equal(reopened.stats().keys, 200)
  await reopened.close()
  // Entries that cannot be records at all (inside the file header, shorter than a record header): a damaged hint, rebuilt.
  const hint2 = decodeHint(readFileSync(join(location, hintName)), path)
  writeFileSync(join(location, hintName), encodeHint(hint2.replaces, hint2.entries.map((e, i) => (i === 1 ? { ...e, offset: 2 } : e))))
  const again = await CaskDB.open(location, { cacheSize: 0 })
  t.equal(again.stats().recovery.rebuiltHints, 1, 'reported as a rebuilt hint')
  t.equal(again.stats().keys, 200)
  await again.close()
})

test('regression: a segment whose header write fails does not leak its file handle', async (t) => {
  const fds = () => readdirSync('/proc/self/fd').length
  const faulty = new FaultyFs()
  const location = tempPath()
  const db = await CaskDB.open(location, { fs: faulty.fs, maxSegmentSize: 4096, autoCompact: false })
  await db.put('a', 'x'.repeat(3000))
  const before = fds()
  // The next put does not fit: the log rotates, and the new segment's header write fails (disk full), every time.
  let failures = 0
  for (let i = 0; i < 20; i++) {
    faulty.fault = { kind: 'write', nth: faulty.counts.write + 1, code: 'ENOSPC' }
    const err = await db.put(`b${i}`, 'y'.repeat(3000)).catch((e: unknown) => e)
    if (err instanceof CaskError && err.code === 'IO_ERROR') failures++
  }
  t.equal(failures, 20, 'every write that needed a new segment failed with IO_ERROR')
  t.equal(fds() - before, 0, 'no file handle leaked')
  faulty.fault = undefined
  await db.put('c', 'z')
  await db.close()
  const reopened = await CaskDB.open(location)
  t.equal((await reopened.get('a'))?.toString(), 'x'.repeat(3000), 'the data is intact after reopen')
  t.equal((await reopened.get('c'))?.toString(), 'z')
  await reopened.close()
})
