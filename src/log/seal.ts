/**
 * Sealing a segment: make its bytes durable, then write the hint file that
 * lets the next open skip reading its values. Also the hint a clean close
 * writes for the active segment, so that the next open reads no data at all.
 *
 * File names: a sealed segment's hint is `<id>.hint`; the active segment's
 * hint, written by close(), is `<id>.active.hint` and carries the PARTIAL
 * flag and the length it covers. It has its own name because a `.hint` means
 * "sealed, never appended to again" to recovery, compaction, backups and
 * repair, while the active segment keeps growing after the next open. Sealing
 * the segment later replaces it with the full `<id>.hint`.
 */
import { join } from 'node:path'
import { TMP_SUFFIX, segmentFileName, type Segment } from './segment.js'
import { scanSegment } from './scan.js'
import { crc32 } from 'node:zlib'
import { HintEntries, encodeHintEntriesSliced, readHintHeader, tailRange, visitHintSliced } from '../format/hint.js'
import { FILE_HEADER_SIZE } from '../format/file-header.js'
import { corruption, ioError } from '../errors.js'
import type { StoreCore } from '../core.js'
import { completeEntries, forgetAppended } from './appended.js'
import { TimeSlicer } from '../time-slice.js'

export const ACTIVE_HINT_SUFFIX = '.active.hint'

export function activeHintPath(dir: string, id: number): string {
  return join(dir, segmentFileName(id, ACTIVE_HINT_SUFFIX))
}

/** Parses `<id>.active.hint` and its temporary `<id>.active.hint.tmp`. */
export function parseActiveHintFileName(name: string): { id: number; temporary: boolean } | undefined {
  const match = /^(\d{8,})\.active\.hint(\.tmp)?$/.exec(name)
  return match === null ? undefined : { id: Number(match[1]), temporary: match[2] !== undefined }
}

/** Segments whose `<id>.active.hint` exists on disk (so sealing them removes it). */
export const withActiveHint = new WeakSet<Segment>()

/**
 * What recovery scanned of a segment no hint covered (after a crash, the
 * whole segment that was being written), encoded as a hint in memory
 * (src/recovery.ts), kept until the segment is sealed: sealing it, or the
 * hint close() writes for it, decodes these entries instead of reading and
 * checking the data file again (~1.5 s for 64 MiB of small records).
 */
const scannedAtOpen = new WeakMap<Segment, { buf: Buffer; from: number; end: number }>()

/** Called by recovery: `buf` (a hint) lists the records of `segment` in [from, end), checked by its scan. */
export function rememberScan(segment: Segment, buf: Buffer, from: number, end: number): void {
  scannedAtOpen.set(segment, { buf, from, end })
}

/** Scans records in [from, end) of a segment into `entries`; `damage` set if the scan stopped before `end`. */
async function scanEntries(
  core: StoreCore,
  segment: Segment,
  end: number,
  entries = new HintEntries(),
  from = FILE_HEADER_SIZE,
): Promise<{ entries: HintEntries; damage?: string; at: number }> {
  const result = await scanSegment(
    core.fs,
    segment.fd,
    end,
    segment.dataPath,
    (buf, at, size, h, offset) => {
      const keyStart = at + h.headerSize
      entries.add(h.type, h.seq, h.expires, offset, size, buf, keyStart, keyStart + h.keyLength)
    },
    from,
  )
  return result.damage === undefined && result.end === end ? { entries, at: end } : { entries, damage: result.damage ?? 'damaged', at: result.end }
}

/**
 * The hint entries of every record of `segment`: from what the write path
 * collected as it appended, when that covers the segment up to its size; the
 * records a recovered segment held before this process opened it come from
 * the active hint it was opened with, and a scan of whatever that hint does
 * not cover. Else (a collection known to be incomplete) from a scan of the
 * whole file.
 */
async function segmentEntries(core: StoreCore, segment: Segment, slicer: TimeSlicer): Promise<{ entries: HintEntries; damage?: string; at: number }> {
  const appended = completeEntries(segment)
  if (appended === undefined) return scanEntries(core, segment, segment.size)
  let entries = new HintEntries()
  let from = FILE_HEADER_SIZE
  if (appended.from > FILE_HEADER_SIZE && withActiveHint.has(segment)) {
    const prefix = await activeHintEntries(core, segment, appended.from, slicer)
    if (prefix !== undefined) ({ entries, end: from } = prefix)
  }
  const scanned = scannedAtOpen.get(segment)
  if (scanned !== undefined && scanned.from === from && scanned.end === appended.from) {
    await visitHintSliced(scanned.buf, segment.dataPath, (b, keyStart, keyEnd, type, seq, expires, offset, size) => entries.add(type, seq, expires, offset, size, b, keyStart, keyEnd), slicer)
    from = scanned.end
  }
  if (from < appended.from) {
    const before = await scanEntries(core, segment, appended.from, entries, from)
    if (before.damage !== undefined) return before
  }
  // One synchronous pass (~0.1 µs per entry): AppendedEntries cannot pause.
  appended.decodeInto(entries)
  return { entries, at: segment.size }
}

/**
 * The entries of the `<id>.active.hint` a recovered active segment was
 * opened with (checked against the segment at open, and nothing has written
 * the segment's first `limit` bytes since), and the length it covers; so a
 * recovered segment is sealed from two hints and, at most, a scan of the
 * records a crash left after that hint. Undefined if it cannot be used.
 */
async function activeHintEntries(
  core: StoreCore,
  segment: Segment,
  limit: number,
  slicer: TimeSlicer,
): Promise<{ entries: HintEntries; end: number } | undefined> {
  const path = activeHintPath(core.dir, segment.id)
  try {
    const buf = await core.fs.readFile(path)
    const header = readHintHeader(buf, path)
    if (!header.partial || header.dataLength > limit) return undefined
    const entries = new HintEntries()
    await visitHintSliced(buf, path, (b, keyStart, keyEnd, type, seq, expires, offset, size) => entries.add(type, seq, expires, offset, size, b, keyStart, keyEnd), slicer)
    return { entries, end: header.dataLength }
  } catch {
    return undefined // damaged or gone: scan instead
  }
}

export async function collectHintEntries(core: StoreCore, segment: Segment, slicer = new TimeSlicer()): Promise<HintEntries> {
  const { entries, damage, at } = await segmentEntries(core, segment, slicer)
  if (damage !== undefined) throw corruption(`cannot seal: ${damage}`, segment.dataPath, at)
  return entries
}

/**
 * Writes `data` to `path` atomically: temporary name, fdatasync, rename, fsync
 * of the directory.
 *
 * The bytes go to the page cache in one synchronous write (a hint is ~11 MB
 * for a 64 MiB segment: a few ms of copying, like the write path's own
 * `writevSync`), not through `writeFileDurable`, whose `fs.promises`
 * writeFile issues one asynchronous 512 KiB write after another: ~22 trips
 * through the event loop per hint. A process that keeps the loop busy (a
 * bulk load of `db.batch` calls gets one turn per batch) gave each trip one
 * batch's time, so a seal took longer than filling the next segment, seals
 * piled up behind one another and close() paid for all of them
 * (bench/NOTES.md section 9).
 */
async function publishFile(core: StoreCore, path: string, data: Buffer): Promise<void> {
  const tmp = path + TMP_SUFFIX
  const fs = core.fs
  try {
    const fd = fs.openSync(tmp, 'w', core.options.fileMode)
    try {
      let written = 0
      while (written < data.length) {
        const n = fs.writevSync(fd, [written === 0 ? data : data.subarray(written)], written)
        if (n <= 0) throw new Error(`short write (${n} bytes)`)
        written += n
      }
      await fs.fdatasync(fd)
    } finally {
      fs.closeSync(fd)
    }
    await fs.rename(tmp, path)
    await fs.fsyncDir(core.dir)
  } catch (err) {
    throw ioError(`writing ${path}`, err)
  }
}

/**
 * Writes `<id>.hint` for a sealed segment (or a compaction output, which lists
 * the segments it replaces). Entries may come in any order: they are written
 * sorted by key. Sorting and encoding give way to the event loop a slice at a
 * time (`slicer`); the file is published only once it is complete and synced.
 */
export async function publishHint(core: StoreCore, segment: Segment, replaces: number[], entries: HintEntries, slicer = new TimeSlicer()): Promise<void> {
  const bytes = await encodeHintEntriesSliced(replaces, entries, { dataLength: segment.size }, slicer)
  await publishFile(core, segment.hintPath, bytes)
  segment.hinted = true
}

/**
 * Seals `segment`: fdatasync, then its hint. The CPU part (collecting,
 * sorting and encoding up to ~460k entries) runs in slices (`slicer`, a new
 * one by default), so puts and timers keep running while a segment is sealed.
 * A failed fdatasync is reported to `onSyncFailure` before the returned
 * promise rejects: the kernel may have dropped the segment's dirty pages, as
 * after a failed fdatasync of the log, so the caller stops taking writes.
 */
export async function sealSegment(
  core: StoreCore,
  segment: Segment,
  slicer = new TimeSlicer(),
  onSyncFailure?: (err: unknown) => void,
): Promise<void> {
  segment.sealed = true
  try {
    await core.fs.fdatasync(segment.fd)
  } catch (err) {
    onSyncFailure?.(err)
    throw ioError(`syncing ${segment.dataPath}`, err)
  }
  const entries = await collectHintEntries(core, segment, slicer)
  forgetAppended(segment) // nothing appends to a sealed segment: its collection is done with
  scannedAtOpen.delete(segment)
  await publishHint(core, segment, [], entries, slicer)
  if (withActiveHint.has(segment)) {
    // Superseded by the full hint; if this unlink is lost, the next open removes it.
    withActiveHint.delete(segment)
    await core.fs.unlink(activeHintPath(core.dir, segment.id)).catch(() => undefined)
  }
}

/**
 * A partial hint of the first `length` bytes of `segment` (a record
 * boundary), with the tail crc32 that lets an open check it against the data
 * file: what close() writes as `<id>.active.hint` for the active segment, and
 * what a backup writes for its copy of the active segment as of the backup's
 * instant (the segment may have grown since: later records are left out).
 * Undefined when the records cannot all be accounted for (damage): the
 * reader then scans, as without a hint.
 */
export async function partialHint(core: StoreCore, segment: Segment, length: number, slicer = new TimeSlicer()): Promise<Buffer | undefined> {
  const { entries, damage } = await segmentEntries(core, segment, slicer)
  if (damage !== undefined) return undefined
  const covered = entriesBefore(entries, length)
  const tailCrc = await readTailCrc(core, segment, length)
  return encodeHintEntriesSliced([], covered, { dataLength: length, partial: true, tailCrc }, slicer)
}

/** The entries of records that end at or before `length` (all of them, usually: then `entries` itself). */
function entriesBefore(entries: HintEntries, length: number): HintEntries {
  const { nums, keyAt, keys, count } = entries
  let all = true
  for (let i = 0; i < count && all; i++) all = nums[5 * i + 3]! + nums[5 * i + 4]! <= length
  if (all) return entries
  const out = new HintEntries()
  for (let i = 0; i < count; i++) {
    const b = 5 * i
    if (nums[b + 3]! + nums[b + 4]! > length) continue
    const keyStart = keyAt[2 * i]!
    out.add(nums[b]!, nums[b + 1]!, nums[b + 2]!, nums[b + 3]!, nums[b + 4]!, keys, keyStart, keyStart + keyAt[2 * i + 1]!)
  }
  return out
}

/**
 * On a clean close, after the final fdatasync: writes `<id>.active.hint`
 * covering the active segment's current length, so the next open loads it
 * instead of scanning. Best effort: on failure the next open scans, as it
 * would without it. `known` is the length an existing active hint already
 * covers (nothing to do if the segment has not grown since).
 */
export async function writeActiveHint(core: StoreCore, segment: Segment, known: number | undefined): Promise<boolean> {
  const path = activeHintPath(core.dir, segment.id)
  // An empty segment is scanned in no time; a hint of it would be one more file.
  if (known === segment.size || segment.size <= FILE_HEADER_SIZE) return true
  try {
    const bytes = await partialHint(core, segment, segment.size)
    if (bytes === undefined) return false
    await publishFile(core, path, bytes)
    return true
  } catch {
    await core.fs.unlink(path + TMP_SUFFIX).catch(() => undefined)
    return false
  }
}

/** crc32 of the bytes of `segment` that a partial hint covering `dataLength` bytes checks (see tailRange). */
export async function readTailCrc(core: StoreCore, segment: Segment, dataLength: number): Promise<number> {
  const { start, length } = tailRange(dataLength)
  const buf = Buffer.allocUnsafe(length)
  let got = 0
  try {
    while (got < length) {
      const n = await core.fs.read(segment.fd, buf, got, length - got, start + got)
      if (n === 0) break
      got += n
    }
  } catch (err) {
    throw ioError(`reading ${segment.dataPath}`, err)
  }
  return crc32(buf.subarray(0, got))
}
