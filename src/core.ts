/**
 * The state one open database works on, shared by the write path, recovery,
 * sealing, compaction and backups: the index, the segments, the cache and the
 * bookkeeping of which old files readers still hold.
 */
import { totalmem } from 'node:os'
import { join } from 'node:path'
import type { Clock } from './clock.js'
import { ioError } from './errors.js'
import type { FileSystem } from './io/file-system.js'
import { OrderedIndex, newEntry, type IndexEntry, type IndexView } from './index/ordered-index.js'
import { DATA_MAGIC, FILE_HEADER_SIZE, encodeFileHeader } from './format/file-header.js'
import { DATA_SUFFIX, Segment, TMP_SUFFIX, segmentFileName } from './log/segment.js'
import { fillSegment, worthFilling } from './cache-fill.js'
import { ReadAround } from './read-around.js'
import type { ResolvedOptions } from './options.js'
import { ValueCache } from './value-cache.js'

/** A copy the caller owns: user code may modify what a read returns, never what the cache holds. */
export function copyOf(value: Buffer): Buffer {
  const copy = Buffer.allocUnsafe(value.length)
  copy.set(value)
  return copy
}

/** A value acknowledged from RAM (writeBuffer mode), not yet on disk. */
export interface BufferedWrite {
  key: string
  keyBytes: Buffer
  /** undefined: a delete. */
  value: Buffer | undefined
  expires: number
}

export interface BufferGeneration {
  id: number
  slots: BufferedWrite[]
  bytes: number
}

/** What a reader needs to resolve index entries: the tree plus buffered values. */
export interface ReadView {
  index: IndexView
  buffers: ReadonlyMap<number, BufferGeneration>
}

export class StoreCore {
  readonly dir: string
  readonly fs: FileSystem
  readonly clock: Clock
  readonly options: ResolvedOptions
  readonly index = new OrderedIndex()
  readonly segments = new Map<number, Segment>()
  readonly cache: ValueCache
  readonly readAround: ReadAround
  /** Buffer generations (writeBuffer mode) still referenced by the index or a snapshot. */
  buffers = new Map<number, BufferGeneration>()
  active!: Segment
  nextSegmentId = 1
  seq = 0
  /** Bumped whenever segments are retired; readers remember the epoch they started in. */
  epoch = 0
  readonly readers = new Map<object, number>()
  /** Segments replaced by compaction whose files are unlinked but may still be read by older readers. */
  retired: { segment: Segment; epoch: number }[] = []
  readonly stats = {
    skippedWrites: 0,
    compactions: 0,
    compactedBytes: 0,
    reclaimedBytes: 0,
    expiredPurged: 0,
  }
  readonly #scratch: IndexEntry = newEntry()

  constructor(dir: string, fs: FileSystem, clock: Clock, options: ResolvedOptions) {
    this.dir = dir
    this.fs = fs
    this.clock = clock
    this.options = options
    this.cache = new ValueCache(options.cacheSize, options.maxSegmentSize)
    this.readAround = new ReadAround({
      window: options.readAround,
      now: clock.monotonic !== undefined ? () => clock.monotonic!() : () => performance.now(),
      storeBytes: () => this.totals().diskBytes,
      ramBytes: totalmem(),
    })
  }

  /** Creates an empty data segment file with the next id. */
  createSegment(temporary = false): Segment {
    const id = this.nextSegmentId++
    const path = join(this.dir, segmentFileName(id, DATA_SUFFIX) + (temporary ? TMP_SUFFIX : ''))
    let fd: number
    try {
      fd = this.fs.openSync(path, 'wx+', this.options.fileMode)
    } catch (err) {
      throw ioError(`creating ${path}`, err)
    }
    try {
      this.fs.writevSync(fd, [encodeFileHeader(DATA_MAGIC)], 0)
    } catch (err) {
      // The file stays (recovery rewrites a missing header); its handle must not leak.
      this.fs.closeSync(fd)
      throw ioError(`creating ${path}`, err)
    }
    return new Segment(this.dir, id, fd, FILE_HEADER_SIZE, false, false)
  }

  isExpired(expires: number): boolean {
    return expires !== 0 && expires <= this.clock.now()
  }

  /**
   * The value an index entry points at; undefined if the entry is a buffered
   * delete. The result is always the caller's own: cached and buffered values
   * are copied, so user code mutating a returned Buffer cannot damage them.
   */
  readValue(entry: IndexEntry, buffers: ReadonlyMap<number, BufferGeneration>, fillCache = true): Buffer | undefined {
    if (entry.seg < 0) {
      const value = buffers.get(-entry.seg)?.slots[entry.offset]?.value
      return value === undefined ? undefined : copyOf(value)
    }
    const cached = this.cache.get(entry.seg, entry.offset)
    if (cached !== undefined) return copyOf(cached)
    const segment = this.segmentFor(entry.seg)
    if (!fillCache) return this.readAround.value(this.fs, segment, entry.offset, entry.size)
    return copyOf(this.readAndCache(segment, entry.offset, entry.size))
  }

  /**
   * Reads the value of the record at `offset` (CRC-checked) and caches it.
   * While the cache has room and the live data fits in it, a miss first fills
   * it from the segment in file order (src/cache-fill.ts), which usually
   * caches this value too. Returns the cached Buffer itself: the caller must
   * copy it before handing it to user code.
   */
  readAndCache(segment: Segment, offset: number, size: number): Buffer {
    const cache = this.cache
    if (worthFilling(cache, segment) && this.#fitsCache()) {
      fillSegment(this.fs, cache, segment)
      const filled = cache.peek(segment.id, offset)
      if (filled !== undefined) return filled
    }
    const value = this.readAround.value(this.fs, segment, offset, size)
    return cache.set(segment.id, offset, value, true) ?? value
  }

  /**
   * Whether the live data fits in the cache. Only then does filling on a miss
   * pay: the store is in RAM after (size / FILL_SPAN) misses. In a larger
   * store the neighbours a fill caches are as likely to be read as any other
   * value, and on a cold page cache each fill is a second read from disk on
   * the miss's path (measured: first 5,000 random gets after open of a
   * 1M-key, 145 MB store ran 2.5x slower with fills than with the cache off).
   */
  #fitsCache(): boolean {
    return this.totals().liveBytes <= this.cache.maxBytes
  }

  segmentFor(id: number): Segment {
    const segment = this.segments.get(id)
    if (segment !== undefined) return segment
    for (const r of this.retired) if (r.segment.id === id) return r.segment
    throw new Error(`internal: no segment ${id}`)
  }

  /** Reads `key` in `view`; expired entries are absent. */
  get(view: ReadView, key: string): Buffer | undefined {
    const entry = this.#scratch
    if (!view.index.get(key, entry) || this.isExpired(entry.expires)) return undefined
    return this.readValue(entry, view.buffers)
  }

  has(view: ReadView, key: string): boolean {
    const entry = this.#scratch
    return view.index.get(key, entry) && !this.isExpired(entry.expires)
  }

  liveView(): ReadView {
    return { index: this.index, buffers: this.buffers }
  }

  /** Marks the bytes an index entry pointed at as dead (it was replaced or deleted). */
  markDead(entry: IndexEntry): void {
    if (entry.seg < 0) return
    const segment = this.segments.get(entry.seg)
    if (segment !== undefined) segment.dead += entry.size
    this.cache.delete(entry.seg, entry.offset)
  }

  /** Registers a reader (snapshot or iterator) so that files it may read outlive compaction. */
  addReader(reader: object, epoch = this.epoch): void {
    this.readers.set(reader, epoch)
  }

  removeReader(reader: object): void {
    if (this.readers.delete(reader)) this.closeUnreadRetired()
  }

  /** Replaced segments: files are already unlinked; close their handles once no reader needs them. */
  retire(segments: Segment[]): void {
    this.epoch++
    for (const segment of segments) {
      this.segments.delete(segment.id)
      this.retired.push({ segment, epoch: this.epoch })
    }
    this.closeUnreadRetired()
  }

  closeUnreadRetired(): void {
    let oldestReader = Number.POSITIVE_INFINITY
    for (const epoch of this.readers.values()) if (epoch < oldestReader) oldestReader = epoch
    const closed: number[] = []
    this.retired = this.retired.filter(({ segment, epoch }) => {
      if (oldestReader < epoch) return true
      try {
        this.fs.closeSync(segment.fd)
      } catch {
        // Already closed or gone: nothing left to release.
      }
      closed.push(segment.id)
      return false
    })
    // Nothing reads these files again; their cache keys can go to new segments.
    if (closed.length > 0) this.cache.releaseSegments(closed)
  }

  totals(): { liveBytes: number; deadBytes: number; diskBytes: number } {
    let diskBytes = 0
    let deadBytes = 0
    for (const segment of this.segments.values()) {
      diskBytes += segment.size
      deadBytes += segment.dead
    }
    return { diskBytes, deadBytes, liveBytes: diskBytes - deadBytes - FILE_HEADER_SIZE * this.segments.size }
  }
}
