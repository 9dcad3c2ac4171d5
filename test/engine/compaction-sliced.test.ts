/**
 * A compaction step's output hint is encoded a slice at a time (the copy and
 * the index switch already were): between the output's fdatasync and the
 * write of its hint, the event loop keeps turning. The output hint is still
 * written whole and synced before the data file is renamed into place, and it
 * is the hint a scan of the output gives.
 *
 * `new TimeSlicer(0, 0)` pauses at every clock check, so turn counts are
 * deterministic lower bounds, not timings.
 */
import test from 'tape'
import { readFileSync, readdirSync } from 'node:fs'
import { CaskDB } from '../../src/index.js'
import { StoreCore } from '../../src/core.js'
import { recover } from '../../src/recovery.js'
import { resolveOptions } from '../../src/options.js'
import { systemClock } from '../../src/clock.js'
import { nodeFileSystem, type FileSystem } from '../../src/io/file-system.js'
import { decodeHint } from '../../src/format/hint.js'
import { compactSegments } from '../../src/compaction/compactor.js'
import { pickSegments } from '../../src/compaction/policy.js'
import { TimeSlicer } from '../../src/time-slice.js'
import { tempPath } from '../helpers/tmp.js'
import { scannedHint } from '../helpers/hints.js'

const MAX_SEGMENT = 256 * 1024

test('compactSegments: the output hint is encoded in slices, written after the output is synced, and matches a scan', async (t) => {
  const location = tempPath()
  const n = 12_000
  const value = (i: number, v: number) => `v${v}-${i}`.padEnd(20, '.')
  const db = await CaskDB.open(location, { autoCompact: false, maxSegmentSize: MAX_SEGMENT })
  for (let v = 0; v < 3; v++) {
    for (let i = 0; i < n; i += 500) {
      await db.batch(Array.from({ length: 500 }, (_, j) => ({ type: 'put' as const, key: `key-${((i + j) * 7919) % n}`, value: value(((i + j) * 7919) % n, v) })))
    }
  }
  await db.close()

  const counter = { turns: 0, on: true }
  const spin = () => {
    counter.turns++
    if (counter.on) setImmediate(spin)
  }
  setImmediate(spin)
  const marks: { what: string; fd?: number; path?: string; turns: number }[] = []
  const fs: FileSystem = {
    ...nodeFileSystem,
    fdatasync: async (fd) => {
      await nodeFileSystem.fdatasync(fd)
      marks.push({ what: 'sync', fd, turns: counter.turns })
    },
    openSync: (path, flags, mode) => {
      const fd = nodeFileSystem.openSync(path, flags, mode)
      if (path.endsWith('.hint.tmp')) marks.push({ what: 'hint', path, turns: counter.turns })
      if (path.endsWith('.data.tmp')) marks.push({ what: 'output', fd, path, turns: counter.turns })
      return fd
    },
  }
  const core = new StoreCore(location, fs, systemClock, resolveOptions({ autoCompact: false, maxSegmentSize: MAX_SEGMENT }))
  const report = await recover(core)
  for (const s of report.unsealed) s.sealed = true // not compacted below: the unsealed last segment has no hint
  core.active = core.createSegment()
  core.segments.set(core.active.id, core.active)
  const inputs = pickSegments(core.segments.values(), core.active, { minDeadRatio: 0, minDeadBytes: 1, maxSegmentSize: 64 * MAX_SEGMENT })
  t.ok(inputs.length >= 2, `${inputs.length} segments to compact`)
  marks.length = 0
  const slicer = new TimeSlicer(0, 0)
  const step = await compactSegments(core, inputs, async () => {}, () => false, slicer)
  counter.on = false

  const output = marks.find((m) => m.what === 'output')!
  const synced = marks.find((m) => m.what === 'sync' && m.fd === output.fd)
  const hint = marks.find((m) => m.what === 'hint')
  t.ok(synced !== undefined && hint !== undefined && synced.turns <= hint.turns, 'output synced before its hint was opened')
  const out = core.segments.get(step.output!)!
  const entries = decodeHint(readFileSync(out.hintPath), out.hintPath).entries.length
  const between = hint!.turns - synced!.turns
  // Checking the entries' order and encoding them each yield every 256 entries.
  t.ok(between >= Math.floor(entries / 256), `${between} event-loop turns while ${entries} output hint entries were sorted and encoded`)
  t.ok(readFileSync(out.hintPath).equals(await scannedHint(out.dataPath, step.inputs)), 'output hint identical to the one a scan gives')
  for (const s of core.segments.values()) nodeFileSystem.closeSync(s.fd)
  for (const r of core.retired) nodeFileSystem.closeSync(r.segment.fd)
  t.notOk(readdirSync(location).some((f) => f.endsWith('.tmp')), 'no temporary file left')

  const reopened = await CaskDB.open(location, { autoCompact: false })
  t.equal(reopened.stats().keys, n)
  const wrong: number[] = []
  for (let i = 0; i < n; i++) if ((await reopened.get(`key-${i}`))?.toString() !== value(i, 2)) wrong.push(i)
  t.same(wrong, [], 'every key has its last value after the compaction and a reopen')
  await reopened.close()
})
