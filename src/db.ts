/**
 * CaskDB: the public engine. Public methods check their arguments and the
 * database's state; the work happens in StoreCore, WritePath, recovery,
 * compaction and backup.
 */
import { EventEmitter } from 'node:events'
import { resolve as resolvePath } from 'node:path'
import { systemClock, type Clock, type Timer } from './clock.js'
import { CaskError, ErrorCodes, ioError, type ErrorCode } from './errors.js'
import { nodeFileSystem, type FileSystem } from './io/file-system.js'
import { resolveOptions, type CaskOptions, type ResolvedOptions } from './options.js'
import { StoreCore, type ReadView } from './core.js'
import { DirectoryLock } from './lock.js'
import { hasDatabase, recover, type RecoveryReport } from './recovery.js'
import { GroupCommit } from './log/group-commit.js'
import { parseActiveHintFileName, sealSegment, writeActiveHint } from './log/seal.js'
import { parseSegmentFileName, type Segment } from './log/segment.js'
import { WritePath, type Op } from './write-path.js'
import { RecordType } from './format/record.js'
import { FORMAT_VERSION } from './format/file-header.js'
import { indexKey, keyBytes, lookupKey, valueBytes } from './bytes.js'
import { CaskIterator, normalizeLimit, type AnyIterator, type Format, type Formatted, type IteratorOptions, type RangeOptions } from './iterator.js'
import { Snapshot } from './snapshot.js'
import { TaskQueue } from './task-queue.js'
import { pickSegments } from './compaction/policy.js'
import { CompactionAborted, compactSegments } from './compaction/compactor.js'
import { backupTo, restoreFrom } from './backup.js'
import { newEntry } from './index/ordered-index.js'
import { HEAP_RESERVE, HeapGuard } from './heap-guard.js'
import { warmCache, type CacheWarmer } from './cache-warmer.js'
import { repairDirectory, verifyDirectory, type Damage, type RepairReport } from './repair.js'
import { join } from 'node:path'

export type Status = 'opening' | 'open' | 'closing' | 'closed'

export interface ReadOptions {
  /** Read from this snapshot instead of the live database. */
  snapshot?: Snapshot
  /** Keep the value in the LRU cache. @defaultValue true */
  fillCache?: boolean
}

export interface WriteOptions {
  /** Acknowledge only after fdatasync (overrides the database's `sync`). */
  sync?: boolean
}

export interface PutOptions extends WriteOptions {
  /** Absolute expiry time in ms since the epoch; the key is absent from then on. */
  expires?: number
  /** Relative expiry in ms from now (ignored if `expires` is given). */
  ttl?: number
}

export type BatchOperation =
  | { type: 'put'; key: Uint8Array | string; value: Uint8Array | string; expires?: number; ttl?: number }
  | { type: 'del'; key: Uint8Array | string }

export interface ClearOptions extends RangeOptions {
  reverse?: boolean
  limit?: number
  /** Delete only the keys this snapshot sees. */
  snapshot?: Snapshot
  sync?: boolean
}

export interface CompactOptions {
  /** Rewrite every sealed segment with any dead bytes, ignoring the thresholds. @defaultValue true for `compact()` */
  full?: boolean
}

export interface CompactionResult {
  steps: number
  segmentsCompacted: number
  bytesBefore: number
  bytesAfter: number
}

export interface Stats {
  /** Keys in the index (expired keys not yet purged included). */
  keys: number
  /** Bytes of records the index points at. */
  liveBytes: number
  /** Bytes on disk no longer reachable: reclaimed by compaction. */
  deadBytes: number
  /** Bytes of all data segments. */
  diskBytes: number
  segments: number
  cacheHits: number
  cacheMisses: number
  /**
   * Cache misses that read the window around their record (option
   * readAround) because reads were going to the disk.
   */
  readArounds: number
  cacheBytes: number
  /** Puts skipped because the value was unchanged, and deletes of absent keys. */
  skippedWrites: number
  bytesWritten: number
  /** write(2) calls: several operations share one under load (group commit). */
  writeCalls: number
  fsyncs: number
  compactions: number
  reclaimedBytes: number
  expiredPurged: number
  bufferedBytes: number
  /**
   * Background jobs queued or running: seals of full segments, compactions,
   * backups, verifies. Seals run in slices between other work, so after a
   * bulk load this stays above 0 for a while; 0 means nothing is in progress.
   */
  backgroundTasks: number
  /** What the last open found and repaired. */
  recovery: Omit<RecoveryReport, 'unsealed' | 'needHint' | 'activeHints'>
}

const CHUNK = 1000

function notOpen(status: Status, everOpened: boolean, cause?: unknown): CaskError {
  if (status === 'opening' || !everOpened) {
    return new CaskError(ErrorCodes.NOT_OPEN, 'database is not open yet; await db.open() (or use CaskDB.open()) first', { cause })
  }
  return new CaskError(ErrorCodes.CLOSED, `database is ${status}; open it again with db.open() to use it`, { cause })
}

/** Refuses an options argument that is not an object (undefined means none). */
function checkOptions(options: unknown, what: string): void {
  if (options !== undefined && (options === null || typeof options !== 'object')) {
    throw new CaskError(ErrorCodes.INVALID_ARGUMENT, `${what} options must be an object (or left out), got ${describe(options)}`)
  }
}

/** Refuses a flag that is neither a boolean nor undefined. */
function checkFlag(value: unknown, name: string, code: ErrorCode = ErrorCodes.INVALID_ARGUMENT): void {
  if (value !== undefined && typeof value !== 'boolean') {
    throw new CaskError(code, code === ErrorCodes.INVALID_OPTION ? `option ${name} must be a boolean, got ${describe(value)}` : `option ${name} must be true or false, got ${describe(value)}`)
  }
}

function describe(x: unknown): string {
  if (x === null) return 'null'
  if (Array.isArray(x)) return 'an array'
  return typeof x
}

function expiryOf(options: PutOptions | undefined, now: number): number {
  if (options === undefined) return 0
  if (options.expires !== undefined) {
    if (typeof options.expires !== 'number' || !Number.isFinite(options.expires) || options.expires < 0) {
      throw new CaskError(ErrorCodes.INVALID_ARGUMENT, 'expires must be a time in ms since the epoch')
    }
    return Math.max(1, Math.floor(options.expires))
  }
  if (options.ttl !== undefined) {
    if (typeof options.ttl !== 'number' || Number.isNaN(options.ttl) || options.ttl < 0) {
      throw new CaskError(ErrorCodes.INVALID_ARGUMENT, 'ttl must be a non-negative number of ms')
    }
    return options.ttl === Infinity ? 0 : Math.max(1, Math.floor(now + options.ttl))
  }
  return 0
}

export class CaskDB extends EventEmitter {
  readonly location: string
  readonly options: Readonly<ResolvedOptions>
  readonly #fs: FileSystem
  readonly #clock: Clock
  #status: Status = 'closed'
  /** Distinguishes "not opened yet" (NOT_OPEN) from "closed" (CLOSED). */
  #everOpened = false
  #core: StoreCore | undefined
  #writer: WritePath | undefined
  #lock: DirectoryLock | undefined
  #tasks = new TaskQueue()
  #timers: Timer[] = []
  #iterators = new Set<AnyIterator>()
  #snapshots = new Set<Snapshot>()
  #recovery: RecoveryReport | undefined
  #opening: Promise<void> | undefined
  readonly #heapGuard: HeapGuard
  /** Reads the store into the value cache after open, in background slices, when it fits. */
  #warmer: CacheWarmer | undefined
  #closing: Promise<void> | undefined
  #compactionQueued = false
  #purging: Promise<number> | undefined
  /** compact(), backup() and verify() calls in flight: close() lets them finish before closing their files. */
  readonly #maintenance = new Set<Promise<unknown>>()
  readonly #entry = newEntry()

  /** Opens (creating if allowed) the database at `location`. */
  static async open(location: string, options?: CaskOptions): Promise<CaskDB> {
    const db = new CaskDB(location, options)
    await db.open()
    return db
  }

  /** Copies a backup directory into a new database location (which must not exist). */
  static async restore(backupDir: string, location: string, options: { fs?: FileSystem } = {}): Promise<void> {
    await restoreFrom(options.fs ?? nodeFileSystem, backupDir, location)
  }

  /** Checks every data file and hint of a closed database; returns the damage found (empty: healthy). */
  static async verify(location: string, options: { fs?: FileSystem } = {}): Promise<Damage[]> {
    if (typeof location !== 'string' || location === '') {
      throw new CaskError(ErrorCodes.INVALID_ARGUMENT, 'location must be a non-empty string')
    }
    return verifyDirectory(options.fs ?? nodeFileSystem, resolvePath(location))
  }

  /**
   * Rebuilds a damaged database, keeping every intact record. Damaged files are
   * moved into `<location>/lost/`, never deleted. The database must be closed.
   */
  static async repair(location: string, options: { fs?: FileSystem; fileMode?: number } = {}): Promise<RepairReport> {
    if (typeof location !== 'string' || location === '') {
      throw new CaskError(ErrorCodes.INVALID_ARGUMENT, 'location must be a non-empty string')
    }
    const { fileMode } = resolveOptions(options.fileMode === undefined ? {} : { fileMode: options.fileMode })
    return repairDirectory(options.fs ?? nodeFileSystem, resolvePath(location), fileMode)
  }

  /**
   * Deletes a database: its data, hint and lock files, `lost/`, then the
   * directory if nothing else is left in it. Files caskdb did not create are
   * left alone. Refuses while the database is open (LOCKED).
   */
  static async destroy(location: string, options: { fs?: FileSystem } = {}): Promise<void> {
    if (typeof location !== 'string' || location === '') {
      throw new CaskError(ErrorCodes.INVALID_ARGUMENT, 'location must be a non-empty string')
    }
    const fs = options.fs ?? nodeFileSystem
    const dir = resolvePath(location)
    if (!(await fs.exists(dir))) return
    const lock = new DirectoryLock(fs, dir)
    await lock.acquire()
    try {
      for (const name of await fs.readdir(dir)) {
        if (name === 'lost' || parseSegmentFileName(name) !== undefined || parseActiveHintFileName(name) !== undefined) {
          await fs.rmrf(join(dir, name))
        }
      }
    } finally {
      await lock.release()
    }
    if ((await fs.readdir(dir)).length === 0) await fs.rmrf(dir)
  }

  constructor(location: string, options: CaskOptions = {}) {
    super()
    if (typeof location !== 'string' || location === '') {
      throw new CaskError(ErrorCodes.INVALID_ARGUMENT, 'location must be a non-empty string (a directory path)')
    }
    this.location = location
    this.options = Object.freeze(resolveOptions(options))
    this.#fs = options.fs ?? nodeFileSystem
    this.#clock = options.clock ?? systemClock
    this.#heapGuard = new HeapGuard(this.options.maxHeapRatio, options.heapProbe, HEAP_RESERVE + this.options.maxSegmentSize)
  }

  get status(): Status {
    return this.#status
  }

  // ---- lifecycle ------------------------------------------------------------

  /** Opens the database; idempotent while open. Overrides of createIfMissing/errorIfExists apply to this open. */
  open(overrides: Pick<CaskOptions, 'createIfMissing' | 'errorIfExists'> = {}): Promise<void> {
    try {
      if (overrides === null || typeof overrides !== 'object') throw new CaskError(ErrorCodes.INVALID_OPTION, 'open() options must be an object')
      checkFlag(overrides.createIfMissing, 'createIfMissing', ErrorCodes.INVALID_OPTION)
      checkFlag(overrides.errorIfExists, 'errorIfExists', ErrorCodes.INVALID_OPTION)
    } catch (err) {
      return Promise.reject(err)
    }
    if (this.#status === 'open') return Promise.resolve()
    if (this.#opening) return this.#opening
    if (this.#closing) return this.#closing.then(() => this.open(overrides))
    this.#status = 'opening'
    this.#opening = this.#open(overrides).then(
      () => {
        this.#status = 'open'
        this.#everOpened = true
        this.#opening = undefined
      },
      (err) => {
        this.#status = 'closed'
        this.#opening = undefined
        throw err
      },
    )
    return this.#opening
  }

  async #open(overrides: Pick<CaskOptions, 'createIfMissing' | 'errorIfExists'>): Promise<void> {
    const createIfMissing = overrides.createIfMissing ?? this.options.createIfMissing
    const errorIfExists = overrides.errorIfExists ?? this.options.errorIfExists
    const dir = resolvePath(this.location)
    const core = new StoreCore(dir, this.#fs, this.#clock, this.options)
    const exists = await hasDatabase(core).catch((err) => {
      throw ioError(`checking ${dir}`, err)
    })
    if (!exists && !createIfMissing) {
      throw new CaskError(ErrorCodes.NOT_FOUND, `${dir} does not exist (createIfMissing is false)`)
    }
    if (exists && errorIfExists) {
      throw new CaskError(ErrorCodes.EXISTS, `${dir} exists (errorIfExists is true)`)
    }
    if (!exists) await this.#fs.mkdir(dir).catch((err) => Promise.reject(ioError(`creating ${dir}`, err)))
    const lock = new DirectoryLock(this.#fs, dir, this.options.fileMode)
    await lock.acquire()
    this.#tasks = new TaskQueue()
    try {
      const report = await recover(core, this.#heapGuard)
      this.#adoptSegments(core, report)
      this.#recovery = report
    } catch (err) {
      for (const segment of core.segments.values()) closeQuietly(this.#fs, segment.fd)
      await lock.release()
      throw err
    }
    this.#core = core
    this.#lock = lock
    const log = new GroupCommit(this.#fs, {
      activeSegment: () => core.active,
      rotate: () => this.#rotate(),
      maxSegmentSize: this.options.maxSegmentSize,
    })
    this.#writer = new WritePath(core, log)
    this.#startTimers()
    this.#scheduleCompaction()
    if (this.options.warmCache) this.#warmer = warmCache(core)
  }

  /**
   * After recovery: the newest unsealed segment stays active (unless it is full
   * or of an older data format version), older ones get sealed.
   */
  #adoptSegments(core: StoreCore, report: RecoveryReport): void {
    const unsealed = report.unsealed
    const last = unsealed[unsealed.length - 1]
    if (last !== undefined && last.size < this.options.maxSegmentSize && last.formatVersion === FORMAT_VERSION) {
      core.active = last
      unsealed.pop()
    } else {
      core.active = core.createSegment()
      core.segments.set(core.active.id, core.active)
    }
    for (const segment of [...unsealed, ...report.needHint]) {
      segment.sealed = true
      void this.#seal(core, segment).catch((err) => this.#backgroundError(err))
    }
  }

  #startTimers(): void {
    const { syncInterval, writeBuffer, flushInterval, backup } = this.options
    if (backup !== undefined) {
      this.#timers.push(
        this.#clock.setInterval(() => {
          this.#scheduledBackup(backup.dir, backup.keep).catch((err) => this.#backgroundError(err))
        }, backup.every),
      )
    }
    if (syncInterval > 0) {
      this.#timers.push(
        this.#clock.setInterval(() => {
          this.#writer?.log.syncNow().catch((err) => this.#backgroundError(err))
        }, syncInterval),
      )
    }
    if (writeBuffer) {
      this.#timers.push(this.#clock.setInterval(() => void this.flush().catch((err) => this.#backgroundError(err)), flushInterval))
    }
  }

  #backgroundError(err: unknown): void {
    if (err instanceof CompactionAborted) return
    if (this.listenerCount('error') > 0) this.emit('error', err)
    else process.emitWarning(err instanceof Error ? err : String(err), { code: 'CASKDB_BACKGROUND_ERROR' })
  }

  /** Flushes, syncs, closes every handle and releases the lock. Idempotent. */
  close(): Promise<void> {
    if (this.#closing) return this.#closing
    if (this.#status === 'closed') return Promise.resolve()
    // Refuse new operations from now on, not only once the close starts its work.
    if (this.#status === 'open') this.#status = 'closing'
    const opening = this.#opening ?? Promise.resolve()
    this.#closing = opening
      .catch(() => undefined)
      .then(() => this.#close())
      .finally(() => {
        this.#status = 'closed'
        this.#closing = undefined
      })
    return this.#closing
  }

  async #close(): Promise<void> {
    if (this.#core === undefined) return
    this.#status = 'closing'
    const core = this.#core
    const writer = this.#writer!
    this.#warmer?.stop()
    this.#warmer = undefined
    for (const timer of this.#timers) timer.clear()
    this.#timers = []
    // A backup still copying must not have its file handles closed (EBADF, or a reused fd read as data).
    while (this.#maintenance.size > 0) await Promise.allSettled([...this.#maintenance])
    let failure: unknown
    try {
      await writer.flushBuffer(false)
    } catch (err) {
      failure = err
    }
    await writer.log.drain()
    await this.#tasks.idle()
    await writer.log.syncNow().catch((err) => {
      failure ??= err
    })
    // Only once everything is durable: the hint must never name bytes a power cut could take back
    // (after an earlier failed fdatasync or rollback, the log cannot tell which those are).
    if (failure === undefined && writer.log.failure === undefined) await writeActiveHint(core, core.active, this.#recovery?.activeHints.get(core.active.id))
    for (const it of this.#iterators) it.close()
    for (const snapshot of this.#snapshots) snapshot.close()
    core.closeUnreadRetired()
    for (const segment of core.segments.values()) closeQuietly(this.#fs, segment.fd)
    for (const { segment } of core.retired) closeQuietly(this.#fs, segment.fd)
    core.cache.clear()
    await this.#lock?.release()
    this.#core = undefined
    this.#writer = undefined
    this.#lock = undefined
    if (failure !== undefined) throw failure
  }

  #live(): StoreCore {
    if (this.#status !== 'open' || this.#core === undefined) throw notOpen(this.#status, this.#everOpened)
    return this.#core
  }

  #writable(): WritePath {
    this.#live()
    const writer = this.#writer!
    writer.assertNoFailure()
    return writer
  }

  // ---- reads ----------------------------------------------------------------

  #view(core: StoreCore, options: ReadOptions | undefined): ReadView {
    if (options === undefined) return core.liveView()
    checkOptions(options, 'read')
    checkFlag(options.fillCache, 'fillCache')
    const snapshot = options.snapshot
    if (snapshot === undefined) return core.liveView()
    if (!(snapshot instanceof Snapshot)) throw new CaskError(ErrorCodes.INVALID_ARGUMENT, 'snapshot must come from db.snapshot()')
    snapshot.assertUsableBy(core)
    return snapshot.view
  }

  /** Synchronous get: from RAM, the cache, or one positional read of the page cache. */
  getSync(key: Uint8Array | string, options?: ReadOptions): Buffer | undefined {
    const core = this.#live()
    const k = lookupKey(key, this.options.maxKeySize)
    const view = this.#view(core, options)
    const entry = this.#entry
    if (!view.index.get(k, entry) || core.isExpired(entry.expires)) return undefined
    return core.readValue(entry, view.buffers, options?.fillCache !== false)
  }

  async get(key: Uint8Array | string, options?: ReadOptions): Promise<Buffer | undefined> {
    return this.getSync(key, options)
  }

  async getMany(keys: (Uint8Array | string)[], options?: ReadOptions): Promise<(Buffer | undefined)[]> {
    if (!Array.isArray(keys)) throw new CaskError(ErrorCodes.INVALID_ARGUMENT, 'keys must be an array')
    const core = this.#live()
    const view = this.#view(core, options)
    const ks = keys.map((key) => lookupKey(key, this.options.maxKeySize))
    const entry = this.#entry
    return ks.map((k) =>
      !view.index.get(k, entry) || core.isExpired(entry.expires) ? undefined : core.readValue(entry, view.buffers),
    )
  }

  hasSync(key: Uint8Array | string, options?: ReadOptions): boolean {
    const core = this.#live()
    return core.has(this.#view(core, options), lookupKey(key, this.options.maxKeySize))
  }

  async has(key: Uint8Array | string, options?: ReadOptions): Promise<boolean> {
    return this.hasSync(key, options)
  }

  async hasMany(keys: (Uint8Array | string)[], options?: ReadOptions): Promise<boolean[]> {
    if (!Array.isArray(keys)) throw new CaskError(ErrorCodes.INVALID_ARGUMENT, 'keys must be an array')
    const core = this.#live()
    const view = this.#view(core, options)
    const ks = keys.map((key) => lookupKey(key, this.options.maxKeySize))
    return ks.map((k) => core.has(view, k))
  }

  /** The expiry time (ms since the epoch) of a live key, 0 if it never expires, undefined if absent. */
  expiresAt(key: Uint8Array | string, options?: ReadOptions): number | undefined {
    const core = this.#live()
    const view = this.#view(core, options)
    const entry = this.#entry
    if (!view.index.get(lookupKey(key, this.options.maxKeySize), entry) || core.isExpired(entry.expires)) {
      return undefined
    }
    return entry.expires
  }

  iterator<KF extends Format = 'buffer', VF extends Format = 'buffer'>(
    options: IteratorOptions<KF, VF> = {},
  ): CaskIterator<Formatted<KF>, Formatted<VF>> {
    const core = this.#live()
    if (options === null || typeof options !== 'object') throw new CaskError(ErrorCodes.INVALID_ARGUMENT, 'iterator options must be an object')
    checkFlag(options.reverse, 'reverse')
    checkFlag(options.keys, 'keys')
    checkFlag(options.values, 'values')
    if (options.snapshot !== undefined && !(options.snapshot instanceof Snapshot)) {
      throw new CaskError(ErrorCodes.INVALID_ARGUMENT, 'snapshot must come from db.snapshot()')
    }
    const it = new CaskIterator<Formatted<KF>, Formatted<VF>>(core, options, (closed) => this.#iterators.delete(closed))
    this.#iterators.add(it)
    return it
  }

  /** O(1) point-in-time view for get/iterator `{ snapshot }`. Close it when done: it pins old files. */
  snapshot(): Snapshot {
    const core = this.#live()
    const snapshot = new Snapshot(core)
    this.#snapshots.add(snapshot)
    const close = snapshot.close.bind(snapshot)
    snapshot.close = () => {
      this.#snapshots.delete(snapshot)
      close()
    }
    return snapshot
  }

  // ---- writes ---------------------------------------------------------------

  #op(type: 'put' | 'del', key: unknown, value: unknown, options: PutOptions | undefined, now: number): Op {
    const kb = keyBytes(key, this.options.maxKeySize)
    if (type === 'put') {
      return {
        type: RecordType.PUT,
        key: indexKey(kb),
        keyBytes: kb,
        value: valueBytes(value, this.options.maxValueSize),
        expires: expiryOf(options, now),
        // A string's bytes are a Buffer made here, which no caller can change.
        owned: typeof value === 'string',
      }
    }
    return { type: RecordType.DELETE, key: indexKey(kb), keyBytes: kb, value: undefined, expires: 0, owned: false }
  }

  #sync(options: WriteOptions | undefined): boolean {
    if (options === undefined) return this.options.sync
    checkOptions(options, 'write')
    checkFlag(options.sync, 'sync')
    return options.sync ?? this.options.sync
  }

  // put, del and batch are not `async`: an async function that returns the write's promise costs
  // two more promise resolutions per call, a measurable share of a put. Errors still reject.
  put(key: Uint8Array | string, value: Uint8Array | string, options?: PutOptions): Promise<void> {
    try {
      const writer = this.#writable()
      const op = this.#op('put', key, value, options, options === undefined ? 0 : this.#clock.now())
      return this.#commit(writer, [op], this.#sync(options))
    } catch (err) {
      return Promise.reject(err)
    }
  }

  del(key: Uint8Array | string, options?: WriteOptions): Promise<void> {
    try {
      const writer = this.#writable()
      return this.#commit(writer, [this.#op('del', key, undefined, undefined, 0)], this.#sync(options))
    } catch (err) {
      return Promise.reject(err)
    }
  }

  /** Applies every operation or none, also across a crash. */
  batch(operations: BatchOperation[], options?: WriteOptions): Promise<void> {
    try {
      const writer = this.#writable()
      if (!Array.isArray(operations)) throw new CaskError(ErrorCodes.INVALID_ARGUMENT, 'batch operations must be an array')
      const now = this.#clock.now()
      const ops: Op[] = new Array(operations.length)
      for (let i = 0; i < operations.length; i++) {
        const o = operations[i]
        if (o === null || typeof o !== 'object' || (o.type !== 'put' && o.type !== 'del')) {
          throw new CaskError(ErrorCodes.INVALID_ARGUMENT, `batch operation ${i} must be { type: 'put' | 'del', key, value? }`)
        }
        ops[i] = o.type === 'put' ? this.#op('put', o.key, o.value, o, now) : this.#op('del', o.key, undefined, undefined, 0)
      }
      return this.#commit(writer, ops, this.#sync(options))
    } catch (err) {
      return Promise.reject(err)
    }
  }

  #commit(writer: WritePath, ops: Op[], sync: boolean): Promise<void> {
    const kept = this.#changing(writer, ops)
    if (kept.length === 0) return Promise.resolve()
    let puts = 0
    for (const op of kept) if (op.type === RecordType.PUT) puts++
    this.#heapGuard.admit(puts)
    if (!this.options.writeBuffer) return writer.write(kept, sync)
    writer.buffer(kept)
    if (writer.bufferedBytes >= this.options.writeBufferSize || sync) return this.flush({ sync })
    return Promise.resolve()
  }

  /** `ops` without those that change nothing, unless a key repeats (order inside the batch matters then). */
  #changing(writer: WritePath, ops: Op[]): Op[] {
    if (ops.length === 1) {
      if (!writer.isNoop(ops[0]!)) return ops
      this.#core!.stats.skippedWrites++
      return []
    }
    // Most batches change every key they name: only then is it worth knowing whether a key repeats.
    let noops: boolean[] | undefined
    for (let i = 0; i < ops.length; i++) {
      if (!writer.isNoop(ops[i]!)) continue
      noops ??= new Array<boolean>(ops.length).fill(false)
      noops[i] = true
    }
    if (noops === undefined) return ops
    const keys = new Set<string>()
    for (const op of ops) keys.add(op.key)
    if (keys.size !== ops.length) return ops
    const kept = ops.filter((_, i) => !noops[i])
    this.#core!.stats.skippedWrites += ops.length - kept.length
    return kept
  }

  /** Writes the RAM write buffer to the log (writeBuffer mode); a no-op otherwise. */
  async flush(options: WriteOptions = {}): Promise<void> {
    const writer = this.#writer
    if (writer === undefined) return
    await writer.flushBuffer(this.#sync(options))
  }

  /** Deletes the keys in a range (all keys without options), in atomic chunks of 1,000. */
  async clear(options: ClearOptions = {}): Promise<void> {
    const core = this.#live()
    this.#writable()
    checkOptions(options, 'clear')
    checkFlag(options.reverse, 'reverse')
    const sync = this.#sync(options)
    const limit = normalizeLimit(options.limit)
    if (limit === 0) return
    const it = this.iterator({ ...toRangeOnly(options), reverse: options.reverse === true, values: false, ...(options.snapshot ? { snapshot: options.snapshot } : {}) })
    let deleted = 0
    try {
      for (;;) {
        const want = limit < 0 ? CHUNK : Math.min(CHUNK, limit - deleted)
        if (want <= 0) break
        const entries = it.nextvSync(want)
        if (entries.length === 0) break
        const ops = entries.map(([key]) => ({ type: 'del', key: key! }) as const)
        await this.batch(ops, { sync })
        deleted += entries.length
        if (this.#core !== core) break
      }
    } finally {
      it.close()
    }
  }

  /**
   * Deletes expired keys now (writing tombstones), so compaction can drop them
   * from disk. Resolves to how many were purged. Calls made while one runs
   * share it, so overlapping sweeps never purge (or count) a key twice.
   */
  purgeExpired(): Promise<number> {
    this.#purging ??= this.#purgeExpired().finally(() => {
      this.#purging = undefined
    })
    return this.#purging
  }

  async #purgeExpired(): Promise<number> {
    const core = this.#live()
    const expired: Op[] = []
    const now = this.#clock.now()
    // Iterators skip expired entries, so walk an index snapshot directly.
    const cursor = core.index.snapshot().cursor({}, false)
    const entry = newEntry()
    while (cursor.advance(entry)) {
      if (entry.expires !== 0 && entry.expires <= now) expired.push({ type: RecordType.DELETE, key: cursor.key(), keyBytes: cursor.keyBuffer(), value: undefined, expires: 0, owned: false })
    }
    let purged = 0
    for (let i = 0; i < expired.length; i += CHUNK) {
      const writer = this.#writable()
      // Recheck: a key may have been rewritten since the walk.
      const chunk = expired.slice(i, i + CHUNK).filter((op) => core.index.get(op.key, entry) && core.isExpired(entry.expires))
      if (chunk.length === 0) continue
      await this.#commit(writer, chunk, false)
      purged += chunk.length
    }
    core.stats.expiredPurged += purged
    return purged
  }

  // ---- maintenance ----------------------------------------------------------

  #rotate(): Segment {
    void this.#sealActive().catch((err) => this.#backgroundError(err))
    return this.#core!.active
  }

  /** Starts a new active segment and seals the old one in the background; resolves when sealed. */
  #sealActive(): Promise<void> {
    const core = this.#core!
    const sealed = core.active
    const next = core.createSegment()
    core.segments.set(next.id, next)
    core.active = next
    sealed.sealed = true
    return this.#seal(core, sealed).then(() => this.#scheduleCompaction())
  }

  #seal(core: StoreCore, segment: Segment): Promise<void> {
    return this.#tasks.run(() => sealSegment(core, segment, undefined, (err) => this.#writer?.log.failWith(err)))
  }

  #scheduleCompaction(): void {
    if (!this.options.autoCompact || this.#compactionQueued || this.#status === 'closing') return
    const core = this.#core
    if (core === undefined) return
    this.#compactionQueued = true
    void this.#tasks
      .run(async () => {
        this.#compactionQueued = false
        await this.#compactLoop(core, false)
      })
      .catch((err) => this.#backgroundError(err))
  }

  async #compactLoop(core: StoreCore, full: boolean): Promise<{ steps: number; segments: number }> {
    let steps = 0
    let segments = 0
    const done = new Set<number>()
    for (;;) {
      if (this.#core !== core || this.#status === 'closing') break
      const picked = pickSegments(core.segments.values(), core.active, {
        minDeadRatio: full ? 0 : this.options.compactionMinDeadRatio,
        minDeadBytes: full ? 1 : this.options.compactionMinDeadBytes,
        maxSegmentSize: this.options.maxSegmentSize,
      }).filter((s) => !done.has(s.id))
      if (picked.length === 0) break
      let step
      try {
        step = await compactSegments(
          core,
          picked,
          () => this.#writer!.log.syncNow(),
          () => this.#core !== core || this.#status === 'closing',
        )
      } catch (err) {
        // Stopped by close(): the step left the old files in place, nothing is lost.
        if (err instanceof CompactionAborted) break
        throw err
      }
      if (step.output !== undefined) done.add(step.output)
      steps++
      segments += picked.length
      this.emit('compaction', step)
    }
    return { steps, segments }
  }

  /**
   * Compacts now: seals the active segment if it holds dead bytes, then rewrites
   * every sealed segment that has any, so disk use comes down to the live data.
   */
  compact(options: CompactOptions = {}): Promise<CompactionResult> {
    let core: StoreCore
    try {
      core = this.#live()
      checkOptions(options, 'compact')
      checkFlag(options.full, 'full')
    } catch (err) {
      return Promise.reject(err)
    }
    return this.#track(this.#compact(core, options))
  }

  /** Runs maintenance that close() must wait for. */
  #track<T>(work: Promise<T>): Promise<T> {
    this.#maintenance.add(work)
    const done = () => this.#maintenance.delete(work)
    work.then(done, done)
    return work
  }

  async #compact(core: StoreCore, options: CompactOptions): Promise<CompactionResult> {
    const full = options.full !== false
    const before = core.totals().diskBytes
    await this.flush()
    await this.#writer!.log.drain()
    if (full && core.active.dead > 0 && this.#core === core) await this.#sealActive()
    const { steps, segments } = await this.#tasks.run(() => this.#compactLoop(core, full))
    return { steps, segmentsCompacted: segments, bytesBefore: before, bytesAfter: core.totals().diskBytes }
  }

  /**
   * Writes a consistent copy of the database as of now into `dir` (which must
   * not exist). Sealed segments are hard-linked where possible; the active one
   * is copied up to its current length. Writers are not blocked.
   */
  backup(dir: string): Promise<void> {
    let core: StoreCore
    try {
      core = this.#live()
      if (typeof dir !== 'string' || dir === '') throw new CaskError(ErrorCodes.INVALID_ARGUMENT, 'backup dir must be a non-empty string')
    } catch (err) {
      return Promise.reject(err)
    }
    const writer = this.#writer!
    return this.#track(
      (async () => {
        await writer.flushBuffer(this.options.sync)
        await writer.log.drain()
        await backupTo(core, resolvePath(dir))
      })(),
    )
  }

  /** One scheduled backup: a new timestamped directory, then prune to the newest `keep`. */
  async #scheduledBackup(dir: string, keep: number): Promise<void> {
    const stamp = new Date(this.#clock.now()).toISOString().replace(/[:.]/g, '-')
    const target = join(resolvePath(dir), `caskdb-backup-${stamp}`)
    await this.backup(target)
    try {
      const existing = (await this.#fs.readdir(resolvePath(dir))).filter((n) => n.startsWith('caskdb-backup-')).sort()
      for (const old of existing.slice(0, Math.max(0, existing.length - keep))) {
        await this.#fs.rmrf(join(resolvePath(dir), old))
      }
    } catch (err) {
      throw ioError(`pruning old backups in ${dir}`, err)
    }
    this.emit('backup', target)
  }

  /** Scans every record and hint, returning the damage found with file and offset (empty: healthy). */
  verify(): Promise<Damage[]> {
    let core: StoreCore
    try {
      core = this.#live()
    } catch (err) {
      return Promise.reject(err)
    }
    const writer = this.#writer!
    return this.#track(
      (async () => {
        await writer.flushBuffer(this.options.sync)
        await writer.log.drain()
        return this.#tasks.run(() => verifyDirectory(this.#fs, core.dir))
      })(),
    )
  }

  stats(): Stats {
    const core = this.#live()
    const totals = core.totals()
    const log = this.#writer!.log
    const r = this.#recovery!
    return {
      keys: core.index.size,
      liveBytes: totals.liveBytes,
      deadBytes: totals.deadBytes,
      diskBytes: totals.diskBytes,
      segments: core.segments.size,
      cacheHits: core.cache.hits,
      cacheMisses: core.cache.misses,
      readArounds: core.readAround.count,
      cacheBytes: core.cache.bytes,
      skippedWrites: core.stats.skippedWrites,
      bytesWritten: log.bytesWritten,
      writeCalls: log.writes,
      fsyncs: log.fsyncs,
      compactions: core.stats.compactions,
      reclaimedBytes: core.stats.reclaimedBytes,
      expiredPurged: core.stats.expiredPurged,
      bufferedBytes: this.#writer!.bufferedBytes,
      backgroundTasks: this.#tasks.pending,
      recovery: { truncatedBytes: r.truncatedBytes, rebuiltHints: r.rebuiltHints, scannedBytes: r.scannedBytes, removedFiles: [...r.removedFiles] },
    }
  }
}

function toRangeOnly(options: RangeOptions): RangeOptions {
  const range: RangeOptions = {}
  if (options.gt !== undefined) range.gt = options.gt
  if (options.gte !== undefined) range.gte = options.gte
  if (options.lt !== undefined) range.lt = options.lt
  if (options.lte !== undefined) range.lte = options.lte
  return range
}

function closeQuietly(fs: FileSystem, fd: number): void {
  try {
    fs.closeSync(fd)
  } catch {
    // already closed
  }
}
