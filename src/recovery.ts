/**
 * Opening a database: clean up what a crash left half-done, then rebuild the
 * index from hint files and by scanning what no hint covers.
 *
 * Every record carries a sequence number and the newest one wins, so the
 * order in which files are read does not matter. What no hint covers is
 * scanned first, into hints built in memory: sealed segments whose hint is
 * missing or damaged, segments a crash left unsealed, and the tail of the
 * active segment past what its close-time hint covers (nothing, after a
 * clean close). Hints are sorted by key, so all of them are merged into one
 * ascending stream that the index bulk-loads (a random insert per key took
 * 5-8 s at a million keys; after a crash, applying the active segment's
 * records one by one took most of the open). Compaction output files list
 * the segments they replace; if a crash left those behind, they are deleted
 * here.
 */
import { join } from 'node:path'
import type { HeapGuard } from './heap-guard.js'
import { CaskError, ErrorCodes, corruption, ioError } from './errors.js'
import { HintCursor, HintEntries, checkHint, encodeHintEntries, encodeHintEntriesSliced, readHintHeader, visitHint, type HintHeader } from './format/hint.js'
import { DATA_MAGIC, FILE_HEADER_SIZE, HINT_FORMAT_VERSION, checkFileHeader, encodeFileHeader } from './format/file-header.js'
import { RecordType } from './format/record.js'
import type { BulkLoader } from './index/ordered-index.js'
import { intactRecordAfter, scanSegment } from './log/scan.js'
import { DATA_SUFFIX, HINT_SUFFIX, Segment, parseSegmentFileName, segmentFileName } from './log/segment.js'
import { ACTIVE_HINT_SUFFIX, parseActiveHintFileName, readTailCrc, rememberScan, withActiveHint } from './log/seal.js'
import type { StoreCore } from './core.js'
import { TimeSlicer } from './time-slice.js'

export interface RecoveryReport {
  /** Bytes cut from the end of segments that were being written when the process stopped. */
  truncatedBytes: number
  /** Hint files that were damaged and replaced by a scan of their segment. */
  rebuiltHints: number
  /**
   * Bytes of data files read record by record because no hint covered them:
   * 0 after a clean close; after a crash, the segment that was being written
   * (what makes such an open slower).
   */
  scannedBytes: number
  /** Leftovers of interrupted compactions that were removed. */
  removedFiles: string[]
  /** Segments without a hint (they need sealing), oldest first; the last one may stay active. */
  unsealed: Segment[]
  /** Sealed segments whose hint was damaged and must be written again. */
  needHint: Segment[]
  /** Segment id -> bytes covered by the active-segment hint that was loaded (the rest was scanned). */
  activeHints: Map<number, number>
}

interface Listing {
  data: Set<number>
  hints: Set<number>
  /** Ids with an `<id>.active.hint` (written by a clean close). */
  activeHints: Set<number>
  temporary: string[]
}

async function list(core: StoreCore): Promise<Listing> {
  const names = await core.fs.readdir(core.dir).catch((err) => {
    throw ioError(`listing ${core.dir}`, err)
  })
  const listing: Listing = { data: new Set(), hints: new Set(), activeHints: new Set(), temporary: [] }
  for (const name of names) {
    const active = parseActiveHintFileName(name)
    if (active?.temporary === true) listing.temporary.push(name)
    else if (active !== undefined) listing.activeHints.add(active.id)
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

export async function recover(core: StoreCore, memory?: HeapGuard, slicer = new TimeSlicer(OPEN_SLICE_MS, 0)): Promise<RecoveryReport> {
  const report: RecoveryReport = { truncatedBytes: 0, rebuiltHints: 0, scannedBytes: 0, removedFiles: [], unsealed: [], needHint: [], activeHints: new Map() }
  const listing = await list(core)
  for (const name of listing.temporary) await removeFile(core, name, report)
  for (const id of listing.hints) {
    if (!listing.data.has(id)) await removeFile(core, segmentFileName(id, HINT_SUFFIX), report)
  }
  for (const id of listing.activeHints) {
    // Orphaned, or superseded by the hint its segment got when it was sealed.
    if (!listing.data.has(id) || listing.hints.has(id)) {
      listing.activeHints.delete(id)
      await removeFile(core, segmentFileName(id, ACTIVE_HINT_SUFFIX), report)
    }
  }

  // Check every hint's checksum first: a compaction output names the
  // segments it replaced, and those must go before loading.
  const hints = new Map<number, LoadedHint | undefined>()
  const legacy = new Set<number>()
  for (const id of [...listing.data].sort((a, b) => a - b)) {
    if (!listing.hints.has(id)) continue
    const path = join(core.dir, segmentFileName(id, HINT_SUFFIX))
    const buf = await readHint(core, path)
    try {
      const header = readHintHeader(buf, path)
      if (header.partial) throw corruption('a sealed segment has a partial hint', path, FILE_HEADER_SIZE)
      if (header.version === HINT_FORMAT_VERSION) hints.set(id, { id, buf, path, header, partial: false })
      else {
        // Version 1 (entries in file order): sorted in memory for the merge, rewritten as version 2 after the open.
        const entries = new HintEntries()
        visitHint(buf, path, (b, keyStart, keyEnd, type, seq, expires, offset, size) => entries.add(type, seq, expires, offset, size, b, keyStart, keyEnd))
        const converted = encodeHintEntries(header.replaces, entries)
        hints.set(id, { id, buf: converted, path, header: readHintHeader(converted, path), partial: false })
        legacy.add(id)
      }
      for (const replaced of header.replaces) {
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
  // Hints of active segments, written by a clean close: trusted for the bytes they cover.
  const actives = new Map<number, LoadedHint>()
  for (const id of listing.activeHints) {
    const path = join(core.dir, segmentFileName(id, ACTIVE_HINT_SUFFIX))
    const buf = await readHint(core, path)
    try {
      const header = readHintHeader(buf, path)
      if (!header.partial || header.version !== HINT_FORMAT_VERSION || header.replaces.length > 0) throw corruption('not an active segment hint', path, FILE_HEADER_SIZE)
      if (listing.data.has(id)) actives.set(id, { id, buf, path, header, partial: true })
    } catch (err) {
      if (!(err instanceof CaskError)) throw err
      await dropActiveHint(core, id, report)
      report.rebuiltHints++
    }
  }

  const ids = [...listing.data].sort((a, b) => a - b)
  for (const id of ids) {
    const segment = await openSegment(core, id, hints.has(id))
    core.segments.set(id, segment)
    core.nextSegmentId = Math.max(core.nextSegmentId, id + 1)
    const hint = hints.get(id)
    if (hint !== undefined && segment.size < hint.header.dataLength) {
      // Records the hint lists are gone (the open fails, so its caller closes the segments).
      throw corruption(`sealed segment is ${hint.header.dataLength - segment.size} bytes shorter than its hint lists; run repair`, segment.dataPath, segment.size)
    }
    const active = actives.get(id)
    if (active !== undefined && (segment.size < active.header.dataLength || (await readTailCrc(core, segment, active.header.dataLength)) !== active.header.tailCrc)) {
      // The bytes it covers changed since the close that wrote it (cut, or rewritten): scan them all.
      actives.delete(id)
      await dropActiveHint(core, id, report)
    }
  }

  // What no hint covers (a segment without a usable hint, the tail of one
  // past its close-time hint) is scanned into a hint built in memory, so that
  // every record reaches the index through the one sorted merge.
  const scans = new Map<number, LoadedHint>()
  for (const id of ids) {
    if (hints.get(id) !== undefined) continue
    await scanIntoHint(core, core.segments.get(id)!, hints.has(id), actives.get(id), report, scans, slicer)
  }

  await loadHints(core, hints, actives, scans, report, memory, slicer)

  for (const id of ids) {
    const segment = core.segments.get(id)!
    const hint = hints.get(id)
    if (hint !== undefined) {
      if (segment.size > hint.header.dataLength) {
        // A sealed segment is never appended to after its hint is written: these bytes are not caskdb's.
        report.truncatedBytes += segment.size - hint.header.dataLength
        try {
          core.fs.ftruncateSync(segment.fd, hint.header.dataLength)
        } catch (err) {
          throw ioError(`cutting bytes appended to ${segment.dataPath}`, err)
        }
        segment.size = hint.header.dataLength
      }
      if (legacy.has(id)) report.needHint.push(segment)
      else segment.hinted = true
      continue
    }
    const active = actives.get(id)
    if (active !== undefined) {
      report.activeHints.set(id, active.header.dataLength)
      withActiveHint.add(segment)
    }
    if (hints.has(id)) report.needHint.push(segment)
    else report.unsealed.push(segment)
  }
  return report
}

/**
 * Scans the records of `segment` that no hint covers (all of them, or those
 * past its active hint) into a hint built in memory (`scans`), cutting a torn
 * tail. `hadHint`: the segment was sealed (its hint was damaged), so damage
 * cannot be a torn tail.
 */
async function scanIntoHint(
  core: StoreCore,
  segment: Segment,
  hadHint: boolean,
  active: LoadedHint | undefined,
  report: RecoveryReport,
  scans: Map<number, LoadedHint>,
  slicer: TimeSlicer,
): Promise<void> {
  const from = active?.header.dataLength ?? FILE_HEADER_SIZE
  scans.delete(segment.id)
  if (from >= segment.size) return // after a clean close: its close-time hint covers it all
  const entries = new HintEntries()
  const result = await scanSegment(
    core.fs,
    segment.fd,
    segment.size,
    segment.dataPath,
    (buf, at, size, header, offset) => {
      const keyStart = at + header.headerSize
      entries.add(header.type, header.seq, header.expires, offset, size, buf, keyStart, keyStart + header.keyLength)
    },
    from,
    slicer,
  )
  if (result.end < segment.size) {
    // A torn tail is cut; damage with intact records after it is not a torn tail.
    const intactAfter = await intactRecordAfter(core.fs, segment.fd, segment.size, result.failedAt ?? result.end, segment.dataPath)
    if (hadHint || intactAfter !== undefined) {
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
  report.scannedBytes += segment.size - from
  if (entries.count === 0) return
  const buf = await encodeHintEntriesSliced([], entries, { dataLength: segment.size, partial: true }, slicer)
  // Sealing the segment, or the hint close() writes for it, takes its entries from here instead of scanning again.
  rememberScan(segment, buf, from, segment.size)
  scans.set(segment.id, { id: segment.id, buf, path: segment.dataPath, header: readHintHeader(buf, segment.dataPath), partial: true, scanned: true })
}

async function readHint(core: StoreCore, path: string): Promise<Buffer> {
  try {
    return await core.fs.readFile(path)
  } catch (err) {
    throw ioError(`reading ${path}`, err)
  }
}

/**
 * Removes an active segment's hint that cannot be used, durably: once the
 * segment is scanned (and perhaps cut) and appended to again, the hint would
 * describe bytes that are no longer there.
 */
async function dropActiveHint(core: StoreCore, id: number, report: RecoveryReport): Promise<void> {
  await removeFile(core, segmentFileName(id, ACTIVE_HINT_SUFFIX), report)
  try {
    await core.fs.fsyncDir(core.dir)
  } catch (err) {
    throw ioError(`syncing ${core.dir}`, err)
  }
}

interface LoadedHint {
  id: number
  buf: Buffer
  path: string
  header: HintHeader
  partial: boolean
  /** Built in memory from a scan of the segment (never damaged: its checks already ran). */
  scanned?: boolean
}

/** What the merge's heap orders by: a cursor at its current entry, and the head of its key (see keyHead). */
export interface MergeSource {
  cursor: HintCursor
  head: number
}

/** One hint being merged, and the segment it describes. */
interface Source extends MergeSource {
  hint: LoadedHint
  segment: Segment
}

class HintDamaged extends Error {
  constructor(readonly hint: LoadedHint) {
    super('hint damaged')
  }
}

/**
 * Builds the index from every hint at once (those read from files and those
 * built from scans): their entries are sorted by key, so a k-way merge
 * yields each key once, in ascending order, with the winning (highest seq)
 * record, which the index bulk-loads in O(n). A hint file found damaged
 * halfway (its checksum held, an entry did not) undoes the load; its segment
 * is then scanned instead and the merge runs again.
 */
async function loadHints(
  core: StoreCore,
  hints: Map<number, LoadedHint | undefined>,
  actives: Map<number, LoadedHint>,
  scans: Map<number, LoadedHint>,
  report: RecoveryReport,
  memory: HeapGuard | undefined,
  slicer: TimeSlicer,
): Promise<void> {
  for (;;) {
    try {
      await mergeHints(core, hints, actives, scans, memory, slicer)
      return
    } catch (err) {
      if (!(err instanceof HintDamaged) || err.hint.scanned === true) throw err
      const { id, partial } = err.hint
      if (partial) {
        actives.delete(id)
        await dropActiveHint(core, id, report)
      } else {
        hints.set(id, undefined)
      }
      report.rebuiltHints++
      core.index.clear()
      core.seq = 0
      for (const segment of core.segments.values()) {
        segment.dead = 0
        segment.minSeq = Number.POSITIVE_INFINITY
        segment.maxSeq = 0
      }
      await scanIntoHint(core, core.segments.get(id)!, !partial, undefined, report, scans, slicer)
    }
  }
}

/** Keys loaded between two calls of HeapGuard.admitLoad (which samples every LOAD_CHECK_EVERY keys). */
const ADMIT_BATCH = 1024

/**
 * An open (its scans and the merge of the hints) gives way to the event loop
 * after every OPEN_SLICE_MS of work: an open of ten million keys takes
 * seconds, and the rest of the application (a health check, a timer, an HTTP
 * request that does not need the store) must not freeze for all of them.
 * Long enough that the pauses cost little: a pause is ~0.1 ms, but V8 also
 * runs deferred GC work in some of them (measured at 10 ms slices: ~20 ms of
 * pauses in a 1M-key open, bench/NOTES.md section 13).
 */
export const OPEN_SLICE_MS = 25

async function mergeHints(
  core: StoreCore,
  hints: Map<number, LoadedHint | undefined>,
  actives: Map<number, LoadedHint>,
  scans: Map<number, LoadedHint>,
  memory: HeapGuard | undefined,
  slicer: TimeSlicer,
): Promise<void> {
  const merge = new HintMerge(core, hints, actives, scans, memory)
  while (!merge.run(slicer)) await slicer.pause()
}

/**
 * The k-way merge of mergeHints, run a slice at a time: run() works until the
 * slicer's slice is used up and keeps its place in fields. The loop itself
 * works on locals (a loop in an async function would keep them in a context
 * object, slower at a million iterations).
 */
class HintMerge {
  readonly #core: StoreCore
  readonly #heap: Source[] = []
  readonly #loader: BulkLoader
  readonly #memory: HeapGuard | undefined
  /** The current key's bytes (a cursor's own buffer changes as it moves on). */
  #key = Buffer.allocUnsafe(256)
  #untilAdmit = ADMIT_BATCH
  #maxSeq: number

  constructor(
    core: StoreCore,
    hints: Map<number, LoadedHint | undefined>,
    actives: Map<number, LoadedHint>,
    scans: Map<number, LoadedHint>,
    memory: HeapGuard | undefined,
  ) {
    this.#core = core
    this.#memory = memory
    const heap = this.#heap
    for (const [id, segment] of core.segments) {
      // A sealed segment's hint, or the close-time hint of an active one and the scan of what follows it, or a scan.
      for (const hint of [hints.get(id) ?? actives.get(id), scans.get(id)]) {
        if (hint === undefined) continue
        const source: Source = { hint, segment, cursor: new HintCursor(hint.buf, hint.path, hint.header), head: 0 }
        if (advance(source)) heap.push(source)
      }
    }
    for (let i = (heap.length >>> 1) - 1; i >= 0; i--) siftDown(heap, i)
    this.#loader = core.index.bulkLoad()
    this.#maxSeq = core.seq
  }

  /** Merges until the end (finishes the load, returns true) or until `slicer`'s slice is used up (false). */
  run(slicer: TimeSlicer): boolean {
    const heap = this.#heap
    const loader = this.#loader
    let key = this.#key
    let untilAdmit = this.#untilAdmit
    let maxSeq = this.#maxSeq
    // Per key: the heap's top is the smallest current key; its entries, and
    // those of every other source at the same key, are combined, then the
    // winner is added (a delete: nothing). Keys are compared as bytes in the
    // hints (a number per key first, see keyHead) and stay bytes: the index
    // keeps them packed (no string per key).
    while (heap.length > 0) {
      let top = heap[0]!
      let c = top.cursor
      const head = top.head
      const keyLength = c.keyLength
      if (keyLength > key.length) key = Buffer.allocUnsafe(Math.max(keyLength, 2 * key.length))
      const from = c.keyBuf
      for (let j = 0; j < keyLength; j++) key[j] = from[j]!
      let seg = top.segment
      let type = c.type
      let seq = c.seq
      let offset = c.offset
      let size = c.size
      let expires = c.expires
      for (;;) {
        // Take top's entry, then move top on; equal keys come out of the heap one after another.
        const cseq = c.seq
        if (cseq > seq) {
          seg.dead += size // the previous winner
          seg = top.segment
          type = c.type
          seq = cseq
          offset = c.offset
          size = c.size
          expires = c.expires
        } else if (cseq < seq || top.segment !== seg || c.offset !== offset) {
          top.segment.dead += c.size
        }
        top.segment.noteSeq(cseq)
        if (cseq > maxSeq) maxSeq = cseq
        if (!advance(top)) {
          const last = heap.pop()!
          if (heap.length === 0) break
          heap[0] = last
          siftDown(heap, 0)
        } else if (heap.length > 1) {
          siftDown(heap, 0)
        }
        const next = heap[0]!
        // Still at top (one source, or ranges that do not interleave here): the cursor knows.
        if (next === top ? !c.sameKey : next.head !== head || !sameBytes(next.cursor, key, keyLength)) break
        top = next
        c = top.cursor
      }
      if (type === RecordType.DELETE) {
        seg.dead += size
      } else {
        loader.addBytes(key, 0, keyLength, seg.id, offset, size, expires, seq)
      }
      // Told in batches: a call per key was ~5 % of an open.
      if (--untilAdmit === 0) {
        untilAdmit = ADMIT_BATCH
        this.#memory?.admitLoad(ADMIT_BATCH)
      }
      if (slicer.tick() && heap.length > 0) {
        this.#key = key
        this.#untilAdmit = untilAdmit
        this.#maxSeq = maxSeq
        return false
      }
    }
    loader.finish()
    this.#core.seq = maxSeq
    return true
  }
}

/** Moves a source to its next entry; false at its end. */
function advance(source: Source): boolean {
  const cursor = source.cursor
  try {
    if (!cursor.next()) return false
  } catch (err) {
    if (err instanceof CaskError) throw new HintDamaged(source.hint)
    throw err
  }
  source.head = keyHead(cursor.keyBuf, cursor.keyLength)
  return true
}

/**
 * The first 6 bytes of a key (zero-padded) as a number, times 8, plus the
 * key length if at most 6 (7 if longer): head(x) < head(y) implies x < y in
 * byte order, so the merge compares numbers and reads key bytes only on ties.
 * (OrderedIndex's key heads, for a prefix of length 0, computed from bytes.)
 */
export function keyHead(b: Uint8Array, n: number): number {
  if (n >= 6) return ((b[0]! << 16) | (b[1]! << 8) | b[2]!) * 0x8000000 + ((((b[3]! << 16) | (b[4]! << 8) | b[5]!) << 3) | (n > 6 ? 7 : 6))
  let a = 0
  for (let j = 0; j < 6; j++) a = a * 256 + (j < n ? b[j]! : 0)
  return a * 8 + n
}

/** Whether source a's current key sorts before source b's. */
function before(a: MergeSource, b: MergeSource): boolean {
  if (a.head !== b.head) return a.head < b.head
  const x = a.cursor
  const y = b.cursor
  const xb = x.keyBuf
  const yb = y.keyBuf
  const xl = x.keyLength
  const yl = y.keyLength
  const n = xl < yl ? xl : yl
  for (let j = 6; j < n; j++) if (xb[j] !== yb[j]) return xb[j]! < yb[j]!
  return xl < yl
}

/** Whether a cursor's current key is key[0 .. keyLength). */
function sameBytes(cursor: HintCursor, key: Buffer, keyLength: number): boolean {
  const n = cursor.keyLength
  if (n !== keyLength) return false
  const b = cursor.keyBuf
  for (let j = 0; j < n; j++) if (b[j] !== key[j]) return false
  return true
}

/** Restores heap order below position i (smallest current key on top). */
export function siftDown(heap: MergeSource[], i: number): void {
  const n = heap.length
  const item = heap[i]!
  for (;;) {
    let child = 2 * i + 1
    if (child >= n) break
    if (child + 1 < n && before(heap[child + 1]!, heap[child]!)) child++
    if (!before(heap[child]!, item)) break
    heap[i] = heap[child]!
    i = child
  }
  heap[i] = item
}

/**
 * Checks a hint and where its records end: every entry must lie inside a
 * data segment (after the file header, at least a record header long), so a
 * hint can never make a read allocate what a length field claims.
 */
export function hintExtent(buf: Buffer, path: string): { replaces: number[]; end: number } {
  const header = checkHint(buf, path)
  return { replaces: header.replaces, end: header.dataLength }
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
      core.fs.writevSync(fd, [encodeFileHeader(DATA_MAGIC)], 0)
      segment.size = FILE_HEADER_SIZE
      return segment
    }
    segment.formatVersion = checkFileHeader(header.subarray(0, n), DATA_MAGIC, path)
  } catch (err) {
    core.fs.closeSync(fd)
    throw err instanceof CaskError ? err : ioError(`reading ${path}`, err)
  }
  return segment
}

