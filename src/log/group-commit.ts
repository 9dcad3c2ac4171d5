/**
 * Group commit: every write issued in the same turn of the event loop leaves
 * in one positional write, and every write that asked for durability while an
 * fdatasync was in flight shares the next one. This is what lets `sync: true`
 * go far past the ~1,700 fsyncs/s one disk can do one at a time.
 *
 * Shape borrowed from steno (one pending promise shared by later callers),
 * but appending every pending record instead of keeping the last.
 */
import { CaskError, ErrorCodes, ioError } from '../errors.js'
import type { FileSystem } from '../io/file-system.js'
import { FILE_HEADER_SIZE } from '../format/file-header.js'
import type { Segment } from './segment.js'
import { AckPacer } from './ack-pacer.js'
import { breakAppended } from './appended.js'

/**
 * The flush runs as a reaction of this settled promise rather than through
 * queueMicrotask: same queue, same order, but Node's queueMicrotask makes an
 * AsyncResource and a bound function per call (~0.15 us, measured), once per
 * put when one put is in flight.
 */
const SETTLED = Promise.resolve()

/** Raises an error outside of any promise (as an exception in a queueMicrotask callback would be). */
function raise(err: unknown): void {
  queueMicrotask(() => {
    throw err
  })
}

export interface WriteGroup {
  /** Encoded records: one record, or a batch header and its body. */
  bytes: Buffer
  /** Wait for fdatasync before acknowledging. */
  sync: boolean
  /** Called synchronously once the bytes are in the file (publish to the index here). */
  applied(segment: Segment, offset: number): void
  resolve(): void
  reject(err: Error): void
}

export interface LogHost {
  activeSegment(): Segment
  /** Seals the active segment and returns a new, empty one. */
  rotate(): Segment
  maxSegmentSize: number
}

export class GroupCommit {
  readonly #fs: FileSystem
  readonly #host: LogHost
  #queue: WriteGroup[] = []
  #scheduled = false
  #syncWaiters: WriteGroup[] = []
  #dirty = new Set<Segment>()
  #syncing: Promise<void> | undefined
  readonly #single: Buffer[] = []
  /** Acknowledges unsynced writes, giving the event loop a turn now and then. */
  readonly acks = new AckPacer()
  /** Set after a failure that may have left the log in an unknown state. */
  failure: CaskError | undefined
  bytesWritten = 0
  writes = 0
  fsyncs = 0

  constructor(fs: FileSystem, host: LogHost) {
    this.#fs = fs
    this.#host = host
  }

  submit(group: WriteGroup): void {
    if (this.failure) {
      group.reject(this.failure)
      return
    }
    this.#queue.push(group)
    if (!this.#scheduled) {
      this.#scheduled = true
      void SETTLED.then(this.#flush)
    }
  }

  get idle(): boolean {
    return this.#queue.length === 0 && this.#syncWaiters.length === 0 && this.#syncing === undefined
  }

  readonly #flush = (): void => {
    // Only a bug can throw here (write errors reject their groups): let it surface as an
    // uncaught exception, not as a rejection of a promise nobody holds.
    try {
      this.#flushQueue()
    } catch (err) {
      raise(err)
    }
  }

  #flushQueue(): void {
    this.#scheduled = false
    const groups = this.#queue
    this.#queue = []
    let segment = this.#host.activeSegment()
    let total = 0
    for (let i = 0; i < groups.length; i++) total += groups[i]!.bytes.length
    // The common case: everything fits in the active segment, one run, no copying of the queue.
    if (segment.size + total <= this.#host.maxSegmentSize || (groups.length === 1 && segment.size <= FILE_HEADER_SIZE)) {
      this.#writeRun(segment, groups, total)
      return
    }
    let run: WriteGroup[] = []
    let runBytes = 0
    for (let i = 0; i < groups.length; i++) {
      const group = groups[i]!
      const end = segment.size + runBytes + group.bytes.length
      if (end > this.#host.maxSegmentSize && segment.size + runBytes > FILE_HEADER_SIZE) {
        if (run.length > 0 && !this.#writeRun(segment, run, runBytes)) return this.#rejectAll(groups.slice(i))
        run = []
        runBytes = 0
        try {
          segment = this.#host.rotate()
        } catch (err) {
          return this.#rejectAll(groups.slice(i), ioError('starting a new segment', err))
        }
      }
      run.push(group)
      runBytes += group.bytes.length
    }
    if (run.length > 0) this.#writeRun(segment, run, runBytes)
  }

  #writeRun(segment: Segment, run: WriteGroup[], runBytes: number): boolean {
    const start = segment.size
    try {
      this.#writeFully(segment, run, runBytes)
    } catch (err) {
      const error = ioError(`appending to ${segment.dataPath}`, err)
      try {
        // Cut any partial write, so the next record starts at a clean boundary.
        this.#fs.ftruncateSync(segment.fd, start)
      } catch (truncateErr) {
        // The file now holds bytes past segment.size that no collected hint entry describes.
        breakAppended(segment)
        this.failure = new CaskError(
          ErrorCodes.READ_ONLY,
          'a failed write could not be rolled back; reopen the database to recover',
          { cause: truncateErr },
        )
      }
      this.#rejectAll(run, error)
      return false
    }
    let offset = start
    let needSync = false
    for (const group of run) {
      group.applied(segment, offset)
      offset += group.bytes.length
      if (group.sync) needSync = true
    }
    segment.size = offset
    this.bytesWritten += runBytes
    this.writes++
    this.#dirty.add(segment)
    if (needSync) {
      const unsynced: WriteGroup[] = []
      for (const group of run) {
        if (group.sync) this.#syncWaiters.push(group)
        else unsynced.push(group)
      }
      this.acks.deliver(unsynced)
      if (this.#syncing === undefined) this.#syncing = this.#syncLoop()
    } else {
      this.acks.deliver(run)
    }
    return true
  }

  #writeFully(segment: Segment, run: WriteGroup[], runBytes: number): void {
    let buffers: Buffer[]
    if (run.length === 1) {
      // One put in flight: reuse a one-element array rather than allocate one per write.
      buffers = this.#single
      buffers[0] = run[0]!.bytes
    } else {
      buffers = run.map((g) => g.bytes)
      if (buffers.length > 64) buffers = [Buffer.concat(buffers, runBytes)]
    }
    let written = 0
    let all: Buffer | undefined
    try {
      while (written < runBytes) {
        const n = this.#fs.writevSync(segment.fd, buffers, segment.size + written)
        if (n <= 0) throw new Error(`short write (${n} bytes)`)
        written += n
        // A short write: go on from where it stopped (concatenating the whole run once).
        if (written < runBytes) buffers = [(all ??= Buffer.concat(buffers, runBytes)).subarray(written)]
      }
    } finally {
      this.#single.length = 0 // not to keep the last group's bytes alive
    }
  }

  #rejectAll(groups: WriteGroup[], err?: Error): void {
    const error = err ?? this.failure ?? new CaskError(ErrorCodes.IO_ERROR, 'write failed')
    for (const group of groups) group.reject(error)
  }

  async #syncLoop(): Promise<void> {
    try {
      while (this.#syncWaiters.length > 0) {
        const waiters = this.#syncWaiters
        this.#syncWaiters = []
        try {
          await this.#syncDirty()
        } catch (err) {
          // After a failed fsync the kernel may have dropped the dirty pages: nothing
          // written since the last good fsync can be trusted, so stop taking writes.
          this.failure = new CaskError(ErrorCodes.READ_ONLY, 'fdatasync failed; reopen the database to recover', {
            cause: err,
          })
          const error = ioError('fdatasync', err)
          for (const w of waiters) w.reject(error)
          for (const w of this.#syncWaiters) w.reject(error)
          this.#syncWaiters = []
          return
        }
        for (const w of waiters) w.resolve()
      }
    } finally {
      this.#syncing = undefined
    }
  }

  async #syncDirty(): Promise<void> {
    const segments = [...this.#dirty]
    this.#dirty.clear()
    this.fsyncs++
    try {
      await Promise.all(segments.map((s) => this.#fs.fdatasync(s.fd)))
    } catch (err) {
      // The kernel may have dropped pages of records collected for the hint: let sealing
      // look at what the file really holds.
      for (const s of segments) breakAppended(s)
      throw err
    }
  }

  /** fdatasync whatever was written since the last one (syncInterval, close). */
  async syncNow(): Promise<void> {
    if (this.#syncing) await this.#syncing
    if (this.#dirty.size === 0) return
    try {
      await this.#syncDirty()
    } catch (err) {
      this.failure = new CaskError(ErrorCodes.READ_ONLY, 'fdatasync failed; reopen the database to recover', {
        cause: err,
      })
      throw ioError('fdatasync', err)
    }
  }

  /**
   * Refuses every later write with READ_ONLY: an fdatasync of the log's files
   * failed elsewhere (sealing), with the same consequence as one here.
   */
  failWith(err: unknown): void {
    this.failure ??= new CaskError(ErrorCodes.READ_ONLY, 'fdatasync failed; reopen the database to recover', { cause: err })
  }

  /** Forget a segment that was closed (sealed and synced elsewhere). */
  forget(segment: Segment): void {
    this.#dirty.delete(segment)
  }

  /** Resolves once every submitted write is written and every requested sync done. */
  async drain(): Promise<void> {
    while (this.#scheduled || this.#syncing) {
      if (this.#scheduled) await new Promise<void>((r) => queueMicrotask(r))
      if (this.#syncing) await this.#syncing
    }
  }
}
