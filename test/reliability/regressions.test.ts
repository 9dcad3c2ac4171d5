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
