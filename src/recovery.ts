/**
 * Opening a database: clean up what a crash left half-done, then rebuild the
 * index from hint files (sealed segments) and by scanning the segments that
 * were still being written.
 *
 * Every record carries a sequence number and the newest one wins, so the
 * order in which files are read does not matter. Compaction output files
 * list the segments they replace; if a crash left those behind, they are
 * deleted here.
 */
import { join } from 'node:path'
import { CaskError, ErrorCodes, corruption, ioError } from './errors.js'
import { visitHint } from './format/hint.js'
import { DATA_MAGIC, FILE_HEADER_SIZE, checkFileHeader } from './format/file-header.js'
import { RECORD_HEADER_SIZE, RecordType } from './format/record.js'
import { newEntry } from './index/ordered-index.js'
import { intactRecordAfter, scanSegment } from './log/scan.js'
import { DATA_SUFFIX, HINT_SUFFIX, Segment, parseSegmentFileName, segmentFileName } from './log/segment.js'
import type { StoreCore } from './core.js'

/** Marks a key deleted during recovery, so that an older record read later cannot revive it. */
const TOMBSTONE = -1

export interface RecoveryReport {
  /** Bytes cut from the end of segments that were being written when the process stopped. */
  truncatedBytes: number
  /** Hint files that were damaged and replaced by a scan of their segment. */
  rebuiltHints: number
  /** Leftovers of interrupted compactions that were removed. */
  removedFiles: string[]
  /** Segments without a hint (they need sealing), oldest first; the last one may stay active. */
  unsealed: Segment[]
  /** Sealed segments whose hint was damaged and must be written again. */
  needHint: Segment[]
}

interface Listing {
  data: Set<number>
  hints: Set<number>
  temporary: string[]
}

async function list(core: StoreCore): Promise<Listing> {
  const names = await core.fs.readdir(core.dir).catch((err) => {
    throw ioError(`listing ${core.dir}`, err)
  })
  const listing: Listing = { data: new Set(), hints: new Set(), temporary: [] }
  for (const name of names) {
    const parsed = parseSegmentFileName(name)
    if (!parsed) continue
    if (parsed.suffix.endsWith('.tmp')) listing.temporary.push(name)
    else if (parsed.suffix === DATA_SUFFIX) listing.data.add(parsed.id)
    else if (parsed.suffix === HINT_SUFFIX) listing.hints.add(parsed.id)
  }
  return listing
}

export async function hasDatabase(core: StoreCore): Promise<boolean> {
  if (!(await core.fs.exists(core.dir))) return false
  return (await list(core)).data.size > 0
}

async function removeFile(core: StoreCore, name: string, report: RecoveryReport): Promise<void> {
  try {
    await core.fs.unlink(join(core.dir, name))
    report.removedFiles.push(name)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw ioError(`removing ${name}`, err)
  }
}

export async function recover(core: StoreCore): Promise<RecoveryReport> {
  const report: RecoveryReport = { truncatedBytes: 0, rebuiltHints: 0, removedFiles: [], unsealed: [], needHint: [] }
  const listing = await list(core)
  for (const name of listing.temporary) await removeFile(core, name, report)
  for (const id of listing.hints) {
    if (!listing.data.has(id)) await removeFile(core, segmentFileName(id, HINT_SUFFIX), report)
  }

  // Check every hint first (its checksum covers the whole file): a compaction
  // output names the segments it replaced, and those must go before loading.
  const hints = new Map<number, { buf: Buffer; path: string; end: number } | undefined>()
  for (const id of [...listing.data].sort((a, b) => a - b)) {
    if (!listing.hints.has(id)) continue
    const path = join(core.dir, segmentFileName(id, HINT_SUFFIX))
    let buf: Buffer
    try {
      buf = await core.fs.readFile(path)
    } catch (err) {
      throw ioError(`reading ${path}`, err)
    }
    try {
      const { replaces, end } = hintExtent(buf, path)
      hints.set(id, { buf, path, end })
      for (const replaced of replaces) {
        if (!listing.data.has(replaced)) continue
        listing.data.delete(replaced)
        hints.delete(replaced)
        await removeFile(core, segmentFileName(replaced, DATA_SUFFIX), report)
        await removeFile(core, segmentFileName(replaced, HINT_SUFFIX), report)
      }
    } catch (err) {
      if (err instanceof CaskError && err.code === ErrorCodes.UNSUPPORTED_FORMAT) throw err
      if (!(err instanceof CaskError)) throw err
      hints.set(id, undefined) // damaged: scan the data file instead
      report.rebuiltHints++
    }
  }

  const tombstones: string[] = []
  const ids = [...listing.data].sort((a, b) => a - b)
  for (const id of ids) {
    const segment = await openSegment(core, id, hints.has(id))
    core.segments.set(id, segment)
    core.nextSegmentId = Math.max(core.nextSegmentId, id + 1)
    const hint = hints.get(id)
    if (hint !== undefined) {
      if (segment.size < hint.end) {
        // Records the hint lists are gone (the open fails, so its caller closes the segments).
        throw corruption(`sealed segment is ${hint.end - segment.size} bytes shorter than its hint lists; run repair`, segment.dataPath, segment.size)
      }
      if (segment.size > hint.end) {
        // A sealed segment is never appended to after its hint is written: these bytes are not caskdb's.
        report.truncatedBytes += segment.size - hint.end
        try {
          core.fs.ftruncateSync(segment.fd, hint.end)
        } catch (err) {
          throw ioError(`cutting bytes appended to ${segment.dataPath}`, err)
        }
        segment.size = hint.end
      }
      visitHint(hint.buf, hint.path, (buf, keyStart, keyEnd, type, seq, expires, offset, size) => {
        apply(core, segment, buf.latin1Slice(keyStart, keyEnd), type, seq, expires, offset, size, tombstones)
      })
      segment.hinted = true
      continue
    }
    const result = await scanSegment(core.fs, segment.fd, segment.size, segment.dataPath, (buf, at, size, header, offset) => {
      const keyStart = at + RECORD_HEADER_SIZE
      const key = buf.latin1Slice(keyStart, keyStart + header.keyLength)
      apply(core, segment, key, header.type, header.seq, header.expires, offset, size, tombstones)
    })
    if (result.end < segment.size) {
      // A torn tail is cut; damage with intact records after it is not a torn tail.
      const intactAfter = await intactRecordAfter(core.fs, segment.fd, segment.size, result.failedAt ?? result.end, segment.dataPath)
      if (hints.has(id) || intactAfter !== undefined) {
        throw corruption(`segment is damaged (${result.damage}); run repair`, segment.dataPath, result.end)
      }
      report.truncatedBytes += segment.size - result.end
      try {
        core.fs.ftruncateSync(segment.fd, result.end)
      } catch (err) {
        throw ioError(`truncating the torn tail of ${segment.dataPath}`, err)
      }
      segment.size = result.end
    }
    if (hints.has(id)) report.needHint.push(segment)
    else report.unsealed.push(segment)
  }

  const scratch = newEntry()
  for (const key of tombstones) {
    if (core.index.get(key, scratch) && scratch.size === TOMBSTONE) core.index.delete(key)
  }
  return report
}

async function openSegment(core: StoreCore, id: number, sealed: boolean): Promise<Segment> {
  const path = join(core.dir, segmentFileName(id, DATA_SUFFIX))
  let fd: number
  try {
    fd = core.fs.openSync(path, 'r+')
  } catch (err) {
    throw ioError(`opening ${path}`, err)
  }
  const segment = new Segment(core.dir, id, fd, 0, sealed, false)
  try {
    segment.size = core.fs.fstatSize(fd)
    const header = Buffer.alloc(FILE_HEADER_SIZE)
    const n = core.fs.readSync(fd, header, 0, FILE_HEADER_SIZE, 0)
    if (n < FILE_HEADER_SIZE && !sealed) {
      // Created but its header never reached the disk: an empty active segment.
      core.fs.ftruncateSync(fd, 0)
      core.fs.writevSync(fd, [Buffer.from(headerBytes())], 0)
      segment.size = FILE_HEADER_SIZE
      return segment
    }
    checkFileHeader(header.subarray(0, n), DATA_MAGIC, path)
  } catch (err) {
    core.fs.closeSync(fd)
    throw err instanceof CaskError ? err : ioError(`reading ${path}`, err)
  }
  return segment
}

function headerBytes(): Buffer {
  const b = Buffer.alloc(FILE_HEADER_SIZE)
  b.write(DATA_MAGIC, 0, 'latin1')
  b.writeUInt16BE(1, 4)
  return b
}

const previous = newEntry()

/**
 * Checks a hint and where its records end: every entry must lie inside a
 * data segment (after the file header, at least a record header long), so a
 * hint can never make a read allocate what a length field claims.
 */
export function hintExtent(buf: Buffer, path: string): { replaces: number[]; end: number } {
  let end = FILE_HEADER_SIZE
  let bad = -1
  const replaces = visitHint(buf, path, (_b, _ks, _ke, _type, _seq, _expires, offset, size) => {
    if (offset < FILE_HEADER_SIZE || size < RECORD_HEADER_SIZE) bad = offset
    if (offset + size > end) end = offset + size
  })
  if (bad >= 0) throw corruption(`hint entry at segment offset ${bad} is not a record`, path, 0)
  return { replaces, end }
}

/** Applies one record to the index: the highest sequence number per key wins. */
function apply(
  core: StoreCore,
  segment: Segment,
  key: string,
  type: number,
  seq: number,
  expires: number,
  offset: number,
  size: number,
  tombstones: string[],
): void {
  segment.noteSeq(seq)
  if (seq > core.seq) core.seq = seq
  const index = core.index
  if (index.get(key, previous) && previous.seq > seq) {
    // An older record than the one already known: dead on arrival.
    segment.dead += size
    return
  }
  if (type === RecordType.DELETE) {
    segment.dead += size
    if (index.set(key, 0, 0, TOMBSTONE, 0, seq, previous) && previous.size !== TOMBSTONE) deadAt(core, previous.seg, previous.size)
    tombstones.push(key)
    return
  }
  if (index.set(key, segment.id, offset, size, expires, seq, previous) && previous.size !== TOMBSTONE) {
    deadAt(core, previous.seg, previous.size)
  }
}

function deadAt(core: StoreCore, segmentId: number, size: number): void {
  const segment = core.segments.get(segmentId)
  if (segment !== undefined) segment.dead += size
}
