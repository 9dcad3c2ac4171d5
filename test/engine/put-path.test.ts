/**
 * The put path after its per-operation overhead was cut: what it must still
 * guarantee.
 */
import test from 'tape'
import { CaskDB } from '../../src/index.js'
import { nodeFileSystem, type FileSystem } from '../../src/io/file-system.js'
import { tempPath } from '../helpers/tmp.js'
import { ValueCache } from '../../src/value-cache.js'
import { GroupCommit } from '../../src/log/group-commit.js'
import type { Segment } from '../../src/log/segment.js'

test('the value cache holds the bytes written, even if the caller reuses its buffer after put()', async (t) => {
  const db = await CaskDB.open(tempPath())
  const value = Buffer.from('first value')
  const pending = db.put('k', value)
  value.write('XXXXX') // before the group reached the file
  await pending
  t.equal(db.getSync('k')?.toString(), 'first value', 'read back as written')
  t.ok(db.stats().cacheBytes > 0, 'served from the write-through cache')
  await db.close()
})

test('write-through caches a copy of a caller\'s Buffer and of small values, and takes over a large Buffer the engine made from a string', async (t) => {
  const db = await CaskDB.open(tempPath())
  const given: Uint8Array[] = []
  const kept: Array<Buffer | undefined> = []
  const made: Buffer[] = []
  const set = ValueCache.prototype.set
  const from = Buffer.from
  ValueCache.prototype.set = function (this: ValueCache, segment: number, offset: number, value: Uint8Array, handedOver?: boolean): Buffer | undefined {
    given.push(value)
    const result = set.call(this, segment, offset, value, handedOver)
    kept.push(result)
    return result
  }
  const small = 'a string value, turned into bytes by the engine'
  const large = 'L'.repeat(4096) // the largest value write-through caches; above Node's pool size
  Buffer.from = function (this: unknown, ...args: unknown[]): Buffer {
    const b = (from as (...a: unknown[]) => Buffer).apply(this, args)
    if (args[0] === small || args[0] === large) made.push(b)
    return b
  } as typeof Buffer.from
  try {
    await db.put('s', small)
    await db.put('l', large)
    const callers = Buffer.from('a Buffer value, which its caller keeps')
    await db.put('b', callers)
    t.equal(made.length, 2, 'each string was turned into bytes once')
    t.equal(kept.length, 3, 'all three values went to the cache')
    t.notEqual(kept[0]!.buffer, made[0]!.buffer, "the small string's bytes are copied (a slice of Node's pool would keep 8 KiB alive)")
    t.equal(kept[0]!.toString(), small)
    if (made[1]!.buffer.byteLength === made[1]!.length) {
      t.equal(kept[1], made[1], "the large string's Buffer, an allocation of the engine's own, is cached as it is (no copy)")
    } else {
      // Node 24's Buffer pool is 64 KiB: a 4 KiB string's bytes are a slice of it, which must not be kept.
      t.notEqual(kept[1]!.buffer, made[1]!.buffer, "the large string's Buffer, a slice of Node's pool, is copied")
      t.equal(kept[1]!.buffer.byteLength, made[1]!.length, '(into an allocation of its size)')
    }
    t.notEqual(kept[2]!.buffer, callers.buffer, "the caller's Buffer is not cached")
    t.ok(kept[2]!.equals(callers), '(a copy of it is)')
    callers.write('XXXXX')
    t.equal(db.getSync('s')?.toString(), small)
    t.equal(db.getSync('l')?.toString(), large)
    t.equal(db.getSync('b')?.toString(), 'a Buffer value, which its caller keeps')
  } finally {
    ValueCache.prototype.set = set
    Buffer.from = from
  }
  await db.close()
  const again = await CaskDB.open(db.location)
  t.equal(again.getSync('s')?.toString(), small, 'the record on disk holds the same bytes')
  t.equal(again.getSync('l')?.toString(), large)
  await again.close()
})

test('puts issued in one turn share one write, scheduled without a queueMicrotask per put', async (t) => {
  const db = await CaskDB.open(tempPath())
  await db.put('warm', 'up')
  const queue = globalThis.queueMicrotask
  let queued = 0
  globalThis.queueMicrotask = (callback: () => void): void => {
    queued++
    queue(callback)
  }
  try {
    const writes = db.stats().writeCalls
    await Promise.all([db.put('a', '1'), db.put('b', '2'), db.del('warm'), db.batch([{ type: 'put', key: 'c', value: '3' }])])
    t.equal(db.stats().writeCalls, writes + 1, 'one write for the turn')
    for (let i = 0; i < 100; i++) await db.put(`k${i}`, 'v')
    t.equal(db.stats().writeCalls, writes + 101, 'then one per awaited put')
    t.equal(queued, 0, 'no queueMicrotask (an AsyncResource and a bound function each in Node)')
  } finally {
    globalThis.queueMicrotask = queue
  }
  t.deepEqual([db.getSync('a')?.toString(), db.getSync('b')?.toString(), db.getSync('c')?.toString(), db.getSync('warm')], ['1', '2', '3', undefined])
  await db.close()
})

test('a throw inside the group-commit flush (a bug) surfaces as an uncaught exception, as with queueMicrotask', async (t) => {
  const segment = { fd: 1, size: 0, dataPath: 'fake' } as unknown as Segment
  const fs = { writevSync: (_fd: number, buffers: Uint8Array[]) => buffers.reduce((n, b) => n + b.length, 0) } as unknown as FileSystem
  const log = new GroupCommit(fs, { activeSegment: () => segment, rotate: () => segment, maxSegmentSize: 1 << 20 })
  const listeners = process.listeners('uncaughtException')
  process.removeAllListeners('uncaughtException')
  let rejection: unknown
  const onRejection = (reason: unknown): void => {
    rejection = reason
  }
  process.on('unhandledRejection', onRejection)
  try {
    const caught = new Promise<unknown>((resolve) => process.once('uncaughtException', resolve))
    const group = {
      bytes: Buffer.alloc(10),
      sync: false,
      applied(): void {
        throw new Error('a bug in publish')
      },
      resolve(): void {},
      reject(): void {},
    }
    log.submit(group)
    const err = await Promise.race([caught, new Promise((resolve) => setTimeout(resolve, 1000))])
    await new Promise((resolve) => setImmediate(resolve))
    t.equal((err as Error | undefined)?.message, 'a bug in publish', 'raised as an uncaught exception')
    t.equal(rejection, undefined, 'not as an unhandled rejection')
  } finally {
    process.off('unhandledRejection', onRejection)
    for (const l of listeners) process.on('uncaughtException', l)
  }
})

test('a write the OS takes in several short pieces lands whole', async (t) => {
  // At most 7 bytes per writev: every group takes several calls, each going on where the last stopped.
  const fs: FileSystem = {
    ...nodeFileSystem,
    writevSync: (fd, buffers, position) => {
      const all = Buffer.concat(buffers)
      return nodeFileSystem.writevSync(fd, [all.subarray(0, Math.min(7, all.length))], position)
    },
  }
  const dir = tempPath()
  const db = await CaskDB.open(dir, { fs })
  await Promise.all([db.put('a', 'one'.repeat(10)), db.put('b', 'two'.repeat(10))])
  await db.batch([
    { type: 'put', key: 'c', value: 'three' },
    { type: 'put', key: 'd', value: 'four'.repeat(20) },
  ])
  await db.close()
  const reopened = await CaskDB.open(dir)
  t.equal(reopened.stats().recovery.truncatedBytes, 0, 'no torn bytes')
  t.deepEqual(
    (await reopened.getMany(['a', 'b', 'c', 'd'])).map((v) => v?.toString()),
    ['one'.repeat(10), 'two'.repeat(10), 'three', 'four'.repeat(20)],
    'every record intact',
  )
  await reopened.close()
})

test('a batch that changes nothing is skipped; one with a repeated key is written as given', async (t) => {
  const db = await CaskDB.open(tempPath())
  await db.batch([
    { type: 'put', key: 'a', value: '1' },
    { type: 'put', key: 'b', value: '2' },
  ])
  const written = db.stats().bytesWritten
  await db.batch([
    { type: 'put', key: 'a', value: '1' },
    { type: 'del', key: 'absent' },
  ])
  t.equal(db.stats().bytesWritten, written, 'unchanged put and delete of an absent key: nothing written')
  t.equal(db.stats().skippedWrites, 2, 'both counted as skipped')
  await db.batch([
    { type: 'put', key: 'a', value: '1' },
    { type: 'del', key: 'a' },
    { type: 'put', key: 'a', value: '1' },
  ])
  t.ok(db.stats().bytesWritten > written, 'a repeated key: the batch is written whole')
  t.equal((await db.get('a'))?.toString(), '1', 'last operation wins')
  await db.close()
})

test('put, del and batch reject (never throw) on bad input and when closed', async (t) => {
  const db = await CaskDB.open(tempPath())
  const rejected = async (p: () => Promise<unknown>) => {
    let result: Promise<unknown>
    try {
      result = p()
    } catch {
      return 'threw'
    }
    return result.then(
      () => 'resolved',
      (err: { code?: string }) => err.code,
    )
  }
  t.equal(await rejected(() => db.put(42 as unknown as string, 'v')), 'INVALID_KEY')
  t.equal(await rejected(() => db.batch('x' as unknown as [])), 'INVALID_ARGUMENT')
  t.equal(await rejected(() => db.batch([{ type: 'nope' } as unknown as { type: 'del'; key: string }])), 'INVALID_ARGUMENT')
  await db.close()
  t.equal(await rejected(() => db.put('k', 'v')), 'CLOSED')
  t.equal(await rejected(() => db.del('k')), 'CLOSED')
  t.equal(await rejected(() => db.batch([])), 'CLOSED')
})
