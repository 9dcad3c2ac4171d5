/**
 * Read-around (src/read-around.ts): once reads that miss the value cache go
 * to the disk, a miss reads the aligned window around its record. The disk
 * is played by a file system whose reads spend time on a manual clock, so
 * "slow" and "fast" are decided by the test, not by the machine.
 */
import test from 'tape'
import { openSync, closeSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { CaskDB, type CaskOptions } from '../../src/index.js'
import { nodeFileSystem, type FileSystem } from '../../src/io/file-system.js'
import { ReadAround, FAST_TO_STOP, SLOW_READ_MS } from '../../src/read-around.js'
import { DEFAULTS } from '../../src/options.js'
import { Segment } from '../../src/log/segment.js'
import { ManualClock } from '../helpers/clock.js'
import { tempPath } from '../helpers/tmp.js'
import { recordsIn } from '../helpers/records.js'
import { coded, dataFiles, prng } from '../reliability/support.js'

/** The default window: the first test runs with the defaults. */
const WINDOW = DEFAULTS.readAround
const key = (i: number) => `key${String(i).padStart(5, '0')}`
const value = (i: number) => `value ${i} `.repeat(5 + (i % 11))

/** `n` keys in shuffled order (key order and file order differ), in one segment; closed. */
async function build(location: string, n: number): Promise<void> {
  const order = Array.from({ length: n }, (_, i) => i)
  const random = prng(7)
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    ;[order[i], order[j]] = [order[j]!, order[i]!]
  }
  const db = await CaskDB.open(location)
  for (let i = 0; i < n; i += 500) {
    await db.batch(order.slice(i, i + 500).map((k) => ({ type: 'put' as const, key: key(k), value: value(k) })))
  }
  await db.close()
}

interface Read {
  position: number
  length: number
}

/** A file system whose data-file reads take `disk.ms` each on `clock` (0: the page cache answers). */
function slowDisk(clock: ManualClock) {
  const disk = { ms: 0, reads: [] as Read[] }
  const fs: FileSystem = {
    ...nodeFileSystem,
    readSync(fd, buffer, offset, length, position) {
      disk.reads.push({ position, length })
      clock.elapse(disk.ms)
      return nodeFileSystem.readSync(fd, buffer, offset, length, position)
    },
  }
  return { disk, fs }
}

async function open(location: string, options: CaskOptions = {}) {
  const clock = new ManualClock()
  const { disk, fs } = slowDisk(clock)
  // No value cache: every get is a miss, so every get reads.
  const db = await CaskDB.open(location, { cacheSize: 0, warmCache: false, autoCompact: false, ...options, fs, clock })
  disk.reads.length = 0
  return { db, disk }
}

test('read-around: exact reads while the page cache answers; windows once a read goes to the disk; exact again once it answers', async (t) => {
  const location = tempPath()
  const n = 8000
  await build(location, n)
  const { db, disk } = await open(location)
  const file = readFileSync(join(location, dataFiles(location)[0]!))
  t.ok(file.length > 4 * WINDOW, `the segment spans several windows (${file.length} bytes)`)

  for (let i = 0; i < 50; i++) t.equal((await db.get(key(i)))?.toString(), value(i))
  t.ok(
    disk.reads.every((r) => r.length < 1024),
    `fast reads read exactly their record (largest ${Math.max(...disk.reads.map((r) => r.length))} bytes)`,
  )
  t.equal(db.stats().readArounds, 0, 'no window read')

  disk.ms = 1
  disk.reads.length = 0
  t.equal((await db.get(key(100)))?.toString(), value(100), 'a slow read returns its value')
  t.ok(disk.reads[0]!.length < 1024, 'the read that found the disk slow was an exact one')
  disk.reads.length = 0
  const random = prng(3)
  const asked = Array.from({ length: 1500 }, () => Math.floor(random() * n))
  let wrong = 0
  for (const i of asked) if ((await db.get(key(i)))?.toString() !== value(i)) wrong++
  t.equal(wrong, 0, 'every value read through a window is right')
  t.ok(disk.reads.every((r) => r.position % WINDOW === 0), 'every window starts at a multiple of the window size')
  t.ok(
    disk.reads.every((r) => r.length >= WINDOW || r.position + r.length === file.length),
    'windows are whole (or end where the records end)',
  )
  t.ok(
    disk.reads.some((r) => r.length > WINDOW),
    'a record that crosses the end of its window is read with the window, not cut',
  )
  t.equal(db.stats().readArounds, asked.length, 'stats count the window reads')
  t.ok(db.getSync(key(5))?.equals(Buffer.from(value(5))), 'getSync reads through windows too')
  t.equal((await db.get(key(6), { fillCache: false }))?.toString(), value(6), 'so does a read with fillCache: false')
  t.equal(disk.reads.at(-1)!.length >= WINDOW, true, 'fillCache: false read a window')

  disk.ms = 0
  let before = db.stats().readArounds
  for (let i = 0; i < FAST_TO_STOP; i++) await db.get(key(i))
  t.equal(db.stats().readArounds - before, FAST_TO_STOP, `${FAST_TO_STOP} fast window reads…`)
  before = db.stats().readArounds
  disk.reads.length = 0
  for (let i = 0; i < 20; i++) await db.get(key(i))
  t.equal(db.stats().readArounds, before, '…then no more windows')
  t.ok(disk.reads.every((r) => r.length < 1024), '…but exact reads')
  await db.close()
})

test('read-around: one slow window among fast ones restarts the count; readAround: 0 keeps reads exact', async (t) => {
  const location = tempPath()
  await build(location, 3000)
  {
    const { db, disk } = await open(location)
    disk.ms = 1
    await db.get(key(1))
    disk.ms = 0
    for (let i = 0; i < FAST_TO_STOP - 1; i++) await db.get(key(i))
    disk.ms = 1
    await db.get(key(2))
    disk.ms = 0
    const before = db.stats().readArounds
    for (let i = 0; i < FAST_TO_STOP - 1; i++) await db.get(key(i))
    t.equal(db.stats().readArounds - before, FAST_TO_STOP - 1, 'still windows: the slow read reset the run of fast ones')
    await db.get(key(3))
    t.equal(db.stats().readArounds - before, FAST_TO_STOP, 'the run completes…')
    await db.get(key(4))
    t.equal(db.stats().readArounds - before, FAST_TO_STOP, '…and the next read is exact')
    await db.close()
  }
  {
    const { db, disk } = await open(location, { readAround: 0 })
    disk.ms = 5
    for (let i = 0; i < 100; i++) t.equal((await db.get(key(i)))?.toString(), value(i), `key ${i}`)
    t.ok(disk.reads.every((r) => r.length < 1024), 'readAround: 0: every read exact, however slow')
    t.equal(db.stats().readArounds, 0)
    await db.close()
  }
})

test('read-around: a damaged record read through a window is CORRUPTION; its intact neighbours in the window read fine', async (t) => {
  const location = tempPath()
  await build(location, 3000)
  const path = join(location, dataFiles(location)[0]!)
  const bytes = readFileSync(path)
  const records = recordsIn(bytes)
  const victim = records[200]!
  const last = victim.at + victim.size - 1 // the last value byte: the checksum no longer holds
  bytes[last] = bytes[last]! ^ 0xff
  writeFileSync(path, bytes)
  const { db, disk } = await open(location)
  disk.ms = 1
  const neighbour = records[201]!
  await db.get(neighbour.key.toString())
  t.equal(db.stats().readArounds, 0, 'the first slow read was exact')
  try {
    await db.get(victim.key.toString())
    t.fail('a damaged record must not be returned')
  } catch (err) {
    t.ok(coded(err, ['CORRUPTION']), `CORRUPTION (${(err as Error).message})`)
  }
  t.equal(db.stats().readArounds, 1, 'it was read through a window')
  t.equal((await db.get(neighbour.key.toString()))?.toString(), neighbour.value.toString(), 'the neighbour in the same window reads fine')
  t.equal((await db.get(records[199]!.key.toString()))?.toString(), records[199]!.value.toString())
  await db.close()
})

test('read-around: stays off for a store larger than half the RAM, and for records as large as the window', async (t) => {
  const location = tempPath()
  await build(location, 3000)
  const path = join(location, dataFiles(location)[0]!)
  const size = readFileSync(path).length
  const records = recordsIn(readFileSync(path))
  const fd = openSync(path, 'r')
  try {
    const segment = new Segment(location, 1, fd, size, true, true)
    let now = 0
    let reads: number[] = []
    const fs: FileSystem = {
      ...nodeFileSystem,
      readSync(f, buffer, offset, length, position) {
        reads.push(length)
        now += 1
        return nodeFileSystem.readSync(f, buffer, offset, length, position)
      },
    }
    const r = records[500]!
    const big = new ReadAround({ window: WINDOW, now: () => now, storeBytes: () => size, ramBytes: 2 * size - 1 })
    for (let i = 0; i < 3; i++) t.ok(big.value(fs, segment, r.at, r.size).equals(r.value))
    t.deepEqual(reads, [r.size, r.size, r.size], 'store > RAM / 2: exact reads, however slow')
    t.equal(big.active, false)

    reads = []
    const fits = new ReadAround({ window: WINDOW, now: () => now, storeBytes: () => size, ramBytes: 2 * size })
    fits.value(fs, segment, r.at, r.size)
    t.equal(fits.active, true, `store = RAM / 2: a read slower than ${SLOW_READ_MS} ms switches read-around on`)
    t.ok(fits.value(fs, segment, r.at, r.size).equals(r.value))
    t.equal(reads[1], WINDOW, 'and the next read is a window')

    reads = []
    const tiny = new ReadAround({ window: r.size, now: () => now, storeBytes: () => size, ramBytes: 2 * size })
    tiny.value(fs, segment, r.at, r.size)
    t.ok(tiny.value(fs, segment, r.at, r.size).equals(r.value))
    t.deepEqual(reads, [r.size, r.size], 'a record no smaller than the window is read exactly')
  } finally {
    closeSync(fd)
  }
})

test('read-around: a Clock without monotonic() (written before it existed) still works: reads are timed with performance.now()', async (t) => {
  const location = tempPath()
  await build(location, 500)
  let now = 1_700_000_000_000
  const clock = { now: () => now, setInterval: () => ({ clear() {} }), setTimeout: () => ({ clear() {} }) }
  const db = await CaskDB.open(location, { cacheSize: 0, warmCache: false, clock })
  let wrong = 0
  for (let i = 0; i < 500; i++) if ((await db.get(key(i)))?.toString() !== value(i)) wrong++
  t.equal(wrong, 0, 'every read served')
  now += 1
  await db.close()
})
