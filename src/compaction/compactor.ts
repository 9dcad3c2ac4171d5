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
 */
import { TMP_SUFFIX, type Segment } from '../log/segment.js'
import { scanSegment } from '../log/scan.js'
import { publishHint } from '../log/seal.js'
import { RECORD_HEADER_SIZE, RecordType } from '../format/record.js'
import type { HintEntry } from '../format/hint.js'
import { newEntry } from '../index/ordered-index.js'
import { ioError } from '../errors.js'
import type { StoreCore } from '../core.js'

const WRITE_CHUNK = 1024 * 1024

export interface CompactionStep {
  inputs: number[]
  output: number | undefined
  copiedBytes: number
  reclaimedBytes: number
}

export class CompactionAborted extends Error {}

export async function compactSegments(
  core: StoreCore,
  inputs: Segment[],
  /** Makes every write so far durable: records that supersede the dropped ones must not be lost to a power cut. */
  syncLog: () => Promise<void>,
  shouldStop: () => boolean,
): Promise<CompactionStep> {
  const inputIds = new Set(inputs.map((s) => s.id))
  let minSeqOutside = Number.POSITIVE_INFINITY
  for (const segment of core.segments.values()) {
    if (!inputIds.has(segment.id) && segment.minSeq < minSeqOutside) minSeqOutside = segment.minSeq
  }
  if (core.active.minSeq === Number.POSITIVE_INFINITY) minSeqOutside = Math.min(minSeqOutside, core.seq + 1)

  let output: Segment | undefined
  const hintEntries: HintEntry[] = []
  const moved: { key: string; from: number; fromOffset: number; entry: HintEntry }[] = []
  const dropped: { key: string; from: number; fromOffset: number }[] = []
  let chunks: Buffer[] = []
  let chunkBytes = 0
  const scratch = newEntry()
  const inputBytes = inputs.reduce((n, s) => n + s.size, 0)

  const flush = (): void => {
    if (chunkBytes === 0 || output === undefined) return
    const out = output
    try {
      let written = 0
      const data = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, chunkBytes)
      while (written < chunkBytes) written += core.fs.writevSync(out.fd, [data.subarray(written)], out.size + written)
    } catch (err) {
      throw ioError(`writing ${out.dataPath}${TMP_SUFFIX}`, err)
    }
    out.size += chunkBytes
    chunks = []
    chunkBytes = 0
  }

  try {
    for (const input of inputs) {
      if (shouldStop()) throw new CompactionAborted()
      await scanSegment(core.fs, input.fd, input.size, input.dataPath, (buf, at, size, h, offset) => {
        const keyStart = at + RECORD_HEADER_SIZE
        const key = buf.latin1Slice(keyStart, keyStart + h.keyLength)
        if (h.type === RecordType.PUT) {
          const live = core.index.get(key, scratch) && scratch.seg === input.id && scratch.offset === offset
          if (!live) return
          if (core.isExpired(h.expires) && h.seq < minSeqOutside) {
            dropped.push({ key, from: input.id, fromOffset: offset })
            return
          }
        } else if (h.seq < minSeqOutside) {
          return // a tombstone with nothing older left to hide
        }
        output ??= core.createSegment(true)
        const entry: HintEntry = {
          type: h.type,
          seq: h.seq,
          expires: h.expires,
          offset: output.size + chunkBytes,
          size,
          key: Buffer.from(buf.subarray(keyStart, keyStart + h.keyLength)),
        }
        hintEntries.push(entry)
        if (h.type === RecordType.PUT) moved.push({ key, from: input.id, fromOffset: offset, entry })
        output.noteSeq(h.seq)
        chunks.push(Buffer.from(buf.subarray(at, at + size)))
        chunkBytes += size
        if (chunkBytes >= WRITE_CHUNK) flush()
      })
      await new Promise((resolve) => setImmediate(resolve))
    }
    flush()
    if (shouldStop()) throw new CompactionAborted()
    await syncLog()
    if (output !== undefined) {
      const out = output
      try {
        await core.fs.fdatasync(out.fd)
      } catch (err) {
        throw ioError(`syncing ${out.dataPath}${TMP_SUFFIX}`, err)
      }
      await publishHint(core, out, [...inputIds], hintEntries)
      try {
        await core.fs.rename(out.dataPath + TMP_SUFFIX, out.dataPath)
        await core.fs.fsyncDir(core.dir)
      } catch (err) {
        throw ioError(`publishing ${out.dataPath}`, err)
      }
    }
  } catch (err) {
    if (output !== undefined) await discard(core, output)
    throw err
  }

  // Point of no return: switch the index over. Kept synchronous so no reader sees half of it.
  const out = output
  if (out !== undefined) {
    out.sealed = true
    core.segments.set(out.id, out)
    for (const m of moved) {
      const e = m.entry
      if (!core.index.replaceIf(m.key, m.from, m.fromOffset, out.id, e.offset, e.size, e.expires, e.seq)) {
        out.dead += e.size // overwritten while we copied
      }
    }
  }
  for (const d of dropped) {
    if (core.index.deleteIf(d.key, d.from, d.fromOffset)) core.stats.expiredPurged++
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
