/**
 * One compaction step: copy the live records of some sealed segments into a
 * new segment, publish it, then drop the old files.
 *
 * Crash safety comes from the order of durable steps:
 *   1. the new data file is written under a temporary name and fsynced;
 *   2. its hint, which lists the replaced segment ids, is published (rename);
 *   3. the data file is renamed into place: from here on it is the truth, and
 *      the next open deletes any replaced segment still lying around;
 *   4. the index is switched record by record (compare-and-swap: a key written
 *      meanwhile keeps its newer value), then the old files are unlinked.
 * A crash before 3 leaves only temporary files, removed at the next open.
 *
 * Records are copied byte for byte, so their checksums stay valid. Tombstones
 * and expired records are dropped only when no segment outside this step can
 * hold an older record of the same key, which they would otherwise revive.
 *
 * Cheap and non-blocking: only live records are read (found through the index,
 * tombstones through the hints), the output is written in key order so a later
 * iteration reads it sequentially, and every loop (the copy and the index
 * switch) gives way to the event loop after a fraction of a millisecond
 * (time-slice.ts), so puts keep flowing while a step runs.
 */
import { TMP_SUFFIX, type Segment } from '../log/segment.js'
import { publishHint } from '../log/seal.js'
import { RecordType } from '../format/record.js'
import { HintEntries } from '../format/hint.js'
import { newEntry } from '../index/ordered-index.js'
import { ioError } from '../errors.js'
import type { StoreCore } from '../core.js'
import { TimeSlicer, byteUnits, sortSliced } from '../time-slice.js'
import { RecordCopier } from './copier.js'
import { keptTombstones, type Tombstone } from './tombstones.js'

export interface CompactionStep {
  inputs: number[]
  output: number | undefined
  copiedBytes: number
  reclaimedBytes: number
}

export class CompactionAborted extends Error {}

interface Moved {
  key: string
  from: number
  fromOffset: number
  /** The record's entry in Copied.hintEntries (its place in the output). */
  entry: number
}

interface Dropped {
  key: string
  from: number
  fromOffset: number
}

/** What the copy phase produced: the unpublished output and what the index switch needs. */
interface Copied {
  output: Segment | undefined
  /** The output's hint entries, in key order (no object or Buffer per record). */
  hintEntries: HintEntries
  moved: Moved[]
  dropped: Dropped[]
}

/** Work units (time-slice.ts) of copying one record: a pread and a checksum cost ~10 index steps. */
const COPY_UNITS = 16

const byKeyThenSeq = (a: Tombstone, b: Tombstone): number => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.seq - b.seq)

export async function compactSegments(
  core: StoreCore,
  inputs: Segment[],
  /** Makes every write so far durable: records that supersede the dropped ones must not be lost to a power cut. */
  syncLog: () => Promise<void>,
  shouldStop: () => boolean,
  /** Paces every loop of the step (time-slice.ts); injectable for tests. */
  slicer = new TimeSlicer(),
): Promise<CompactionStep> {
  const inputIds = new Set(inputs.map((s) => s.id))
  let minSeqOutside = Number.POSITIVE_INFINITY
  for (const segment of core.segments.values()) {
    if (!inputIds.has(segment.id) && segment.minSeq < minSeqOutside) minSeqOutside = segment.minSeq
  }
  if (core.active.minSeq === Number.POSITIVE_INFINITY) minSeqOutside = Math.min(minSeqOutside, core.seq + 1)
  const inputBytes = inputs.reduce((n, s) => n + s.size, 0)

  const copied: Copied = { output: undefined, hintEntries: new HintEntries(), moved: [], dropped: [] }
  try {
    await copyLive(core, inputs, minSeqOutside, slicer, shouldStop, copied)
    if (shouldStop()) throw new CompactionAborted()
    await syncLog()
    const out = copied.output
    if (out !== undefined) {
      try {
        await core.fs.fdatasync(out.fd)
      } catch (err) {
        throw ioError(`syncing ${out.dataPath}${TMP_SUFFIX}`, err)
      }
      await publishHint(core, out, [...inputIds], copied.hintEntries, slicer)
      try {
        await core.fs.rename(out.dataPath + TMP_SUFFIX, out.dataPath)
        await core.fs.fsyncDir(core.dir)
      } catch (err) {
        throw ioError(`publishing ${out.dataPath}`, err)
      }
    }
  } catch (err) {
    if (copied.output !== undefined) await discard(core, copied.output)
    throw err
  }

  // Point of no return: switch the index over, record by record. Readers may see some keys
  // switched and others not; both copies hold the same bytes and stay open until retired.
  const out = copied.output
  if (out !== undefined) {
    out.sealed = true
    core.segments.set(out.id, out)
    const nums = copied.hintEntries.nums
    for (const m of copied.moved) {
      const b = 5 * m.entry
      const size = nums[b + 4]!
      if (!core.index.replaceIf(m.key, m.from, m.fromOffset, out.id, nums[b + 3]!, size, nums[b + 2]!, nums[b + 1]!)) {
        out.dead += size // overwritten while we copied
      }
      if (slicer.tick()) await slicer.pause()
    }
  }
  for (const d of copied.dropped) {
    if (core.index.deleteIf(d.key, d.from, d.fromOffset)) core.stats.expiredPurged++
    if (slicer.tick()) await slicer.pause()
  }
  for (const input of inputs) {
    for (const path of [input.dataPath, input.hintPath]) {
      // A file left behind here is removed at the next open: the new hint names it as replaced.
      await core.fs.unlink(path).catch(() => undefined)
    }
  }
  await core.fs.fsyncDir(core.dir).catch(() => undefined)
  core.retire(inputs)
  const outputBytes = out?.size ?? 0
  core.stats.compactions++
  core.stats.compactedBytes += outputBytes
  core.stats.reclaimedBytes += Math.max(0, inputBytes - outputBytes)
  return {
    inputs: [...inputIds],
    output: out?.id,
    copiedBytes: outputBytes,
    reclaimedBytes: Math.max(0, inputBytes - outputBytes),
  }
}

/**
 * Writes the records worth keeping into a new temporary segment, in key
 * order: the live ones, found by walking the index (an entry pointing into an
 * input is the key's live record, so dead records are never read), merged
 * with the tombstones that must be kept. Fills `into` as it goes, so the
 * caller can discard a half-written output.
 */
async function copyLive(
  core: StoreCore,
  inputs: Segment[],
  minSeqOutside: number,
  slicer: TimeSlicer,
  shouldStop: () => boolean,
  into: Copied,
): Promise<void> {
  const pause = async (): Promise<void> => {
    await slicer.pause()
    if (shouldStop()) throw new CompactionAborted()
  }
  const byId = new Map(inputs.map((s) => [s.id, s]))
  const tombstones: Tombstone[] = []
  for (const input of inputs) {
    if (shouldStop()) throw new CompactionAborted()
    for (const t of await keptTombstones(core, input, minSeqOutside)) tombstones.push(t)
  }
  await sortSliced(tombstones, byKeyThenSeq, slicer)

  let copier: RecordCopier | undefined
  const copy = (key: string, input: Segment, offset: number, size: number, type: number, seq: number, expires: number): void => {
    if (copier === undefined) {
      into.output = core.createSegment(true)
      copier = new RecordCopier(core, into.output)
    }
    const entry = into.hintEntries.count
    into.hintEntries.addLatin1(type, seq, expires, copier.add(input, offset, size, type, seq), size, key)
    copier.out.noteSeq(seq)
    if (type === RecordType.PUT) into.moved.push({ key, from: input.id, fromOffset: offset, entry })
  }

  // The cursor reads a snapshot of the index, so it stays valid across pauses while writes go on.
  const cursor = core.index.cursor()
  const e = newEntry()
  let t = 0
  for (;;) {
    const more = cursor.advance(e)
    const input = more ? byId.get(e.seg) : undefined
    // Keys are made only where needed: for entries in the inputs, and to place pending tombstones.
    const key = more && (input !== undefined || t < tombstones.length) ? cursor.key() : undefined
    while (t < tombstones.length && (!more || tombstones[t]!.key <= key!)) {
      const ts = tombstones[t++]!
      copy(ts.key, ts.input, ts.offset, ts.size, RecordType.DELETE, ts.seq, ts.expires)
      if (slicer.tick(COPY_UNITS + byteUnits(ts.size))) await pause()
    }
    if (!more) break
    if (input === undefined) {
      if (slicer.tick()) await pause()
      continue
    }
    if (core.isExpired(e.expires) && e.seq < minSeqOutside) {
      into.dropped.push({ key: key!, from: input.id, fromOffset: e.offset })
      if (slicer.tick()) await pause()
    } else {
      copy(key!, input, e.offset, e.size, RecordType.PUT, e.seq, e.expires)
      if (slicer.tick(COPY_UNITS + byteUnits(e.size))) await pause()
    }
  }
  ;(copier as RecordCopier | undefined)?.finish()
}

async function discard(core: StoreCore, output: Segment): Promise<void> {
  try {
    core.fs.closeSync(output.fd)
  } catch {
    // already closed
  }
  for (const path of [output.dataPath + TMP_SUFFIX, output.hintPath, output.hintPath + TMP_SUFFIX]) {
    await core.fs.unlink(path).catch(() => undefined)
  }
}
