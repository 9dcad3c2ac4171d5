/**
 * Sorting and encoding a hint (up to ~460k entries for a 64 MiB segment) gives
 * way to the event loop a slice at a time (src/time-slice.ts), so puts and
 * timers keep running while a segment is sealed; the bytes written are the
 * ones the one-go encoder gives, and the hint is still published only once it
 * is complete and synced.
 *
 * `new TimeSlicer(0, 0)` pauses at every clock check, so the number of
 * event-loop turns during the work is a deterministic lower bound here, not a
 * timing.
 */
import test from 'tape'
import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { CaskDB } from '../../src/index.js'
import { StoreCore } from '../../src/core.js'
import { recover } from '../../src/recovery.js'
import { resolveOptions } from '../../src/options.js'
import { systemClock } from '../../src/clock.js'
import { nodeFileSystem, type FileSystem } from '../../src/io/file-system.js'
import { sealSegment, withActiveHint } from '../../src/log/seal.js'
import { HintEntries, decodeHint, encodeHintEntries, encodeHintEntriesSliced, visitHint, visitHintSliced } from '../../src/format/hint.js'
import { TimeSlicer } from '../../src/time-slice.js'
import { tempPath } from '../helpers/tmp.js'
import { scannedHint } from '../helpers/hints.js'

/** Counts event-loop turns (a setImmediate chain) until stopped. */
function turnCounter(): { turns: () => number; stop: () => void } {
  let turns = 0
  let on = true
  const spin = () => {
    turns++
    if (on) setImmediate(spin)
  }
  setImmediate(spin)
  return { turns: () => turns, stop: () => void (on = false) }
}

let seed = 7
const random = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff

function entriesOf(kind: 'shuffled' | 'sorted' | 'ties', n: number): HintEntries {
  const c = new HintEntries()
  for (let i = 0; i < n; i++) {
    const key =
      kind === 'sorted'
        ? `k${String(i).padStart(8, '0')}`
        : kind === 'ties'
          ? `same-prefix-${Math.floor(random() * 3)}-tail-${Math.floor(random() * 1e6)}` // long runs tie on the 8 bytes sorted natively
          : Math.floor(random() * 2 ** 48).toString(16)
    const expires = i % 10 === 0 ? 1e12 + i : 0
    // Half the keys through addLatin1 (as compaction adds them), half as bytes.
    if (i % 2 === 0) c.addLatin1(1 + (i % 7 === 0 ? 1 : 0), 1000 + i, expires, 8 + 40 * i, 40, key)
    else {
      const b = Buffer.from(key, 'latin1')
      c.add(1, 1000 + i, expires, 8 + 40 * i, 40, b, 0, b.length)
    }
  }
  return c
}

test('encodeHintEntriesSliced: the same bytes as encodeHintEntries, with event-loop turns in between', async (t) => {
  for (const kind of ['shuffled', 'sorted', 'ties'] as const) {
    for (const n of [0, 1, 300, 4097, 20_000]) {
      const c = entriesOf(kind, n)
      const expected = encodeHintEntries([5, 9], c, { dataLength: 8 + 40 * n })
      const counter = turnCounter()
      const slicer = new TimeSlicer(0, 0)
      const bytes = await encodeHintEntriesSliced([5, 9], c, { dataLength: 8 + 40 * n }, slicer)
      const turns = counter.turns()
      counter.stop()
      t.ok(bytes.equals(expected), `${kind}, ${n} entries: identical bytes`)
      // The encoding loop alone yields every 256 entries, each yield a clock check, each check a pause.
      if (n >= 4096) t.ok(turns >= Math.floor(n / 256), `${kind}, ${n} entries: ${turns} event-loop turns ran during the encoding (${slicer.pauses} pauses)`)
    }
  }
})

test('encodeHintEntriesSliced: a timer set when encoding starts fires before it ends', async (t) => {
  const c = entriesOf('shuffled', 50_000)
  let fired = false
  setTimeout(() => (fired = true), 0)
  const slicer = new TimeSlicer(0, 0)
  const bytes = await encodeHintEntriesSliced([], c, {}, slicer)
  t.ok(fired, `setTimeout(0) ran during the encoding (${slicer.pauses} pauses)`)
  t.equal(decodeHint(bytes, 'x.hint').entries.length, 50_000)
})

test('visitHintSliced visits what visitHint visits, pausing', async (t) => {
  const buf = encodeHintEntries([3], entriesOf('shuffled', 10_000), { dataLength: 8 + 40 * 10_000 })
  const seen = (into: string[]) => (b: Buffer, s: number, e: number, type: number, seq: number, expires: number, offset: number, size: number) =>
    void into.push(`${b.latin1Slice(s, e)} ${type} ${seq} ${expires} ${offset} ${size}`)
  const a: string[] = []
  const b: string[] = []
  t.same(visitHint(buf, 'x.hint', seen(a)), [3])
  const slicer = new TimeSlicer(0, 0)
  t.same(await visitHintSliced(buf, 'x.hint', seen(b), slicer), [3])
  t.same(b, a, 'same entries in the same order')
  t.ok(slicer.pauses >= Math.floor(10_000 / 256), `${slicer.pauses} pauses`)
})

test('TimeSlicer: after a long event-loop turn, the next slice is turnShare of it', async (t) => {
  const hold = (ms: number) => {
    const until = performance.now() + ms
    while (performance.now() < until) {
      // another callback holding the thread
    }
  }
  const long = new TimeSlicer(0, 1)
  setImmediate(() => hold(30))
  await long.pause()
  t.notOk(long.tick(64), 'a 30 ms turn buys a slice of about 30 ms (share 1)')
  const fixed = new TimeSlicer(0, 0)
  setImmediate(() => hold(30))
  await fixed.pause()
  t.ok(fixed.tick(64), 'with share 0 the slice stays sliceMs')
})

test('sealSegment: collecting (from the active hint) and encoding run in slices; the hint is the scanned one', async (t) => {
  const location = tempPath()
  const n = 30_000
  const db = await CaskDB.open(location, { autoCompact: false, warmCache: false })
  for (let i = 0; i < n; i += 1000) {
    await db.batch(Array.from({ length: 1000 }, (_, j) => ({ type: 'put' as const, key: `key-${((i + j) * 7919) % n}`, value: `value ${i + j}` })))
  }
  await db.del('key-17')
  await db.close() // writes <id>.active.hint: sealing below takes its entries from it
  const activeHint = readdirSync(location).find((f) => f.endsWith('.active.hint'))
  t.ok(activeHint !== undefined, 'close wrote an active hint')

  // Marks: the data segment's fdatasync done, then the hint's temporary file opened.
  const counter = turnCounter()
  const marks: { what: string; turns: number }[] = []
  const fs: FileSystem = {
    ...nodeFileSystem,
    fdatasync: async (fd) => {
      await nodeFileSystem.fdatasync(fd)
      marks.push({ what: `sync ${fd}`, turns: counter.turns() })
    },
    openSync: (path, flags, mode) => {
      if (path.endsWith('.hint.tmp')) marks.push({ what: 'hint', turns: counter.turns() })
      return nodeFileSystem.openSync(path, flags, mode)
    },
  }
  const core = new StoreCore(location, fs, systemClock, resolveOptions({ autoCompact: false }))
  const report = await recover(core)
  const segment = report.unsealed[report.unsealed.length - 1]!
  t.ok(withActiveHint.has(segment), 'recovered with its active hint')
  marks.length = 0
  const slicer = new TimeSlicer(0, 0)
  await sealSegment(core, segment, slicer)
  counter.stop()
  const sync = marks.find((m) => m.what === `sync ${segment.fd}`)
  const hint = marks.find((m) => m.what === 'hint')
  t.ok(sync !== undefined && hint !== undefined && sync.turns <= hint.turns, 'data synced before the hint file was opened')
  const between = hint!.turns - sync!.turns
  // Visiting the active hint yields every 256 entries, encoding every 256 more: well over n / 256 turns.
  t.ok(between >= Math.floor(n / 256), `${between} event-loop turns between the data fdatasync and the hint write (${slicer.pauses} pauses)`)
  const written = readFileSync(segment.hintPath)
  t.ok(written.equals(await scannedHint(segment.dataPath)), 'hint identical to the one a scan gives')
  t.notOk(readdirSync(location).some((f) => f.endsWith('.active.hint')), 'the active hint was removed')
  for (const s of core.segments.values()) nodeFileSystem.closeSync(s.fd)

  const reopened = await CaskDB.open(location, { autoCompact: false })
  t.equal(reopened.stats().keys, n - 1)
  t.equal((await reopened.get('key-29999'))?.toString(), `value ${(() => {
    for (let i = 0; i < n; i++) if ((i * 7919) % n === 29_999) return i
    return -1
  })()}`)
  t.equal(await reopened.get('key-17'), undefined)
  await reopened.close()
  t.ok(readdirSync(location).some((f) => f === join(segment.hintPath).split('/').pop()), 'the sealed hint is kept')
})
