/**
 * CaskLevel: caskdb as an abstract-level v3 database, a drop-in for
 * classic-level (`new ClassicLevel(location, options)` →
 * `new CaskLevel(location, options)`).
 *
 * The public API (argument checks, encodings, sublevels, deferred open,
 * hooks, events) is abstract-level's; the private methods below hand the
 * already-encoded keys, values and ranges to the engine and convert its
 * Buffers to the requested format. Every read captures its read view
 * synchronously when it is called (implicit snapshots).
 */
import { AbstractChainedBatch, AbstractLevel, AbstractSnapshot } from 'abstract-level'
import type {
  AbstractBatchOperation,
  AbstractBatchOptions,
  AbstractChainedBatch as ChainedBatch,
  AbstractClearOptions,
  AbstractDatabaseOptions,
  AbstractDelOptions,
  AbstractGetOptions,
  AbstractOpenOptions,
  AbstractPutOptions,
} from 'abstract-level'
import { CaskDB, type BatchOperation, type CompactionResult, type ReadOptions, type Stats } from '../../src/db.js'
import type { AnyIterator, Format, IteratorOptions } from '../../src/iterator.js'
import type { Snapshot } from '../../src/snapshot.js'
import type { RepairReport } from '../../src/repair.js'
import { DEFAULTS, type CaskOptions } from '../../src/options.js'
import { ModuleError, mapErrors, notOpenError, snapshotNotOpenError, toLevelError } from './errors.js'
import { convert, fromBuffer, type Native } from './formats.js'
import {
  CaskLevelIterator,
  CaskLevelKeyIterator,
  CaskLevelValueIterator,
  type PrivateIteratorOptions,
} from './iterator.js'

/** Engine options CaskLevel passes through (constructor or `open()` options). */
export type CaskEngineOptions = Omit<CaskOptions, 'createIfMissing' | 'errorIfExists'>

/**
 * classic-level's LevelDB tuning options. CaskLevel accepts them so existing
 * code runs unchanged, and ignores them: caskdb has no blocks, no
 * compression and one file handle per data segment.
 */
export interface ClassicLevelCompatOptions {
  compression?: boolean
  blockSize?: number
  maxOpenFiles?: number
  blockRestartInterval?: number
  maxFileSize?: number
  multithreading?: boolean
}

export interface CaskLevelOpenOptions extends AbstractOpenOptions, CaskEngineOptions, ClassicLevelCompatOptions {}

export interface CaskLevelOptions<K, V>
  extends AbstractDatabaseOptions<K, V>,
    CaskEngineOptions,
    ClassicLevelCompatOptions {}

/** Write options: `sync` forces an fdatasync before the write is acknowledged (as in classic-level). */
export interface CaskWriteOptions {
  sync?: boolean
}

/** Put options; `ttl` (ms from now) and `expires` (ms since the epoch) are caskdb's key expiry. */
export interface CaskPutOptions<K, V> extends AbstractPutOptions<K, V>, CaskWriteOptions {
  ttl?: number
  expires?: number
}

export interface CaskDelOptions<K> extends AbstractDelOptions<K>, CaskWriteOptions {}

/** Batch options; `ttl` / `expires` apply to every put of the batch. */
export interface CaskBatchOptions<K, V> extends AbstractBatchOptions<K, V>, CaskWriteOptions {
  ttl?: number
  expires?: number
}

export interface CaskClearOptions<K> extends AbstractClearOptions<K>, CaskWriteOptions {}

/** Read options; `fillCache: false` keeps the value out of the LRU cache (as in classic-level). */
export interface CaskGetOptions<K, V> extends AbstractGetOptions<K, V> {
  fillCache?: boolean
}

/**
 * Names of the engine options taken from constructor and open() options:
 * every option the engine has a default for (so new engine options pass
 * through unchanged), plus scheduled backups and the injectable file layer
 * and clock.
 * createIfMissing / errorIfExists go to the engine's open() instead.
 */
const ENGINE_OPTIONS: readonly string[] = [
  ...Object.keys(DEFAULTS).filter((name) => name !== 'createIfMissing' && name !== 'errorIfExists'),
  'backup',
  'fs',
  'clock',
]

function engineOptions(options: Record<string, unknown>): CaskEngineOptions {
  const picked: Record<string, unknown> = {}
  for (const name of ENGINE_OPTIONS) if (options[name] !== undefined) picked[name] = options[name]
  return picked as CaskEngineOptions
}

function assertLocation(location: unknown): asserts location is string {
  if (typeof location !== 'string' || location === '') {
    throw new TypeError("The first argument 'location' must be a non-empty string")
  }
}

/** What `getProperty()` knows, besides the raw `caskdb.stats` JSON. */
const STAT_PROPERTIES: Record<string, keyof Stats> = {
  'caskdb.keys': 'keys',
  'caskdb.live-bytes': 'liveBytes',
  'caskdb.dead-bytes': 'deadBytes',
  'caskdb.disk-bytes': 'diskBytes',
  'caskdb.segments': 'segments',
  'caskdb.cache-bytes': 'cacheBytes',
  'caskdb.buffered-bytes': 'bufferedBytes',
}

/** An explicit snapshot: an engine Snapshot (O(1), copy-on-write index root). */
export class CaskLevelSnapshot extends (AbstractSnapshot as unknown as new (options: { owner: object }) => AbstractSnapshot) {
  readonly #snapshot: Snapshot
  /** @internal The root database whose engine made the snapshot (sublevels delegate to it). */
  readonly root: object

  /** @internal Use `db.snapshot()`. */
  constructor(options: { owner: object }, snapshot: Snapshot, root: object) {
    super(options)
    this.#snapshot = snapshot
    this.root = root
  }

  /** @internal The engine snapshot. */
  get engine(): Snapshot {
    if (this.#snapshot.closed) throw snapshotNotOpenError()
    return this.#snapshot
  }

  async _close(): Promise<void> {
    this.#snapshot.close()
  }
}

type PrivateOperation = BatchOperation & { keyEncoding?: string; valueEncoding?: string }

/** A chained batch: collects encoded operations and commits them as one atomic engine batch. */
class CaskLevelChainedBatch extends (AbstractChainedBatch as unknown as new (
  db: object,
  options: { add: boolean },
) => AbstractChainedBatch<object, unknown, unknown>) {
  readonly #write: (ops: PrivateOperation[], options: { sync?: boolean }) => Promise<void>
  #ops: PrivateOperation[] = []

  constructor(db: object, write: (ops: PrivateOperation[], options: { sync?: boolean }) => Promise<void>) {
    super(db, { add: true })
    this.#write = write
  }

  _add(op: PrivateOperation): void {
    this.#ops.push(op)
  }

  _clear(): void {
    this.#ops = []
  }

  async _write(options: { sync?: boolean }): Promise<void> {
    const ops = this.#ops
    this.#ops = []
    return this.#write(ops, options)
  }
}

interface PrivateReadOptions {
  keyEncoding: string
  valueEncoding?: string
  snapshot?: unknown
  fillCache?: boolean
}

/**
 * Typed overloads for the options CaskLevel adds to the public methods (as
 * classic-level's typings do for `sync` and `fillCache`).
 */
export interface CaskLevel<KDefault = string, VDefault = string> {
  get(key: KDefault): Promise<VDefault | undefined>
  get<K = KDefault, V = VDefault>(key: K, options: CaskGetOptions<K, V>): Promise<V | undefined>
  put(key: KDefault, value: VDefault): Promise<void>
  put<K = KDefault, V = VDefault>(key: K, value: V, options: CaskPutOptions<K, V>): Promise<void>
  del(key: KDefault): Promise<void>
  del<K = KDefault>(key: K, options: CaskDelOptions<K>): Promise<void>
  batch(operations: Array<AbstractBatchOperation<this, KDefault, VDefault>>): Promise<void>
  batch<K = KDefault, V = VDefault>(
    operations: Array<AbstractBatchOperation<this, K, V>>,
    options: CaskBatchOptions<K, V>,
  ): Promise<void>
  batch(): ChainedBatch<this, KDefault, VDefault>
  clear(): Promise<void>
  clear<K = KDefault>(options: CaskClearOptions<K>): Promise<void>
}

// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export class CaskLevel<KDefault = string, VDefault = string> extends AbstractLevel<Native, KDefault, VDefault> {
  readonly #location: string
  #db: CaskDB | undefined

  /** Deletes the database at `location` (it must not be open). */
  static async destroy(location: string): Promise<void> {
    assertLocation(location)
    try {
      await CaskDB.destroy(location)
    } catch (err) {
      throw toLevelError(err)
    }
  }

  /**
   * Repairs the database at `location` (like classic-level's `repair`): every
   * intact record is kept, damaged data files are rewritten without their
   * damaged stretches and the originals moved into `<location>/lost/`; then an
   * open runs crash recovery (torn tails cut, hint files rebuilt). Resolves with
   * what was repaired. The database must exist and must not be open.
   */
  static async repair(location: string): Promise<RepairReport> {
    assertLocation(location)
    try {
      const report = await CaskDB.repair(location)
      const db = new CaskDB(location, { autoCompact: false })
      await db.open({ createIfMissing: false })
      await db.close()
      return report
    } catch (err) {
      throw toLevelError(err)
    }
  }

  constructor(location: string, options?: CaskLevelOptions<KDefault, VDefault>) {
    assertLocation(location)
    const manifest = {
      implicitSnapshots: true,
      explicitSnapshots: true,
      has: true,
      getSync: true,
      permanence: true,
      seek: true,
      createIfMissing: true,
      errorIfExists: true,
      encodings: { buffer: true, view: true, utf8: true },
      additionalMethods: {
        approximateSize: true,
        compactRange: true,
        getProperty: true,
        compact: true,
        backup: true,
        stats: true,
        verify: true,
      },
    }
    super(manifest, options)
    this.#location = location
  }

  /** The location as given to the constructor. */
  get location(): string {
    return this.#location
  }

  #engine(): CaskDB {
    if (this.#db === undefined) throw notOpenError()
    return this.#db
  }

  #assertOpen(): CaskDB {
    if (this.status !== 'open') throw notOpenError()
    return this.#engine()
  }

  // ---- lifecycle -------------------------------------------------------------

  async _open(options: CaskLevelOpenOptions & Record<string, unknown>): Promise<void> {
    try {
      const db = new CaskDB(this.#location, engineOptions(options))
      await db.open({ createIfMissing: options.createIfMissing !== false, errorIfExists: options.errorIfExists === true })
      this.#db = db
    } catch (err) {
      throw toLevelError(err)
    }
  }

  async _close(): Promise<void> {
    const db = this.#db
    if (db === undefined) return
    try {
      await db.close()
    } catch (err) {
      throw toLevelError(err)
    } finally {
      // The engine releases its files and lock even when a final flush fails.
      this.#db = undefined
    }
  }

  // ---- reads -----------------------------------------------------------------

  #readOptions(options: PrivateReadOptions): ReadOptions | undefined {
    if (options.snapshot == null && options.fillCache === undefined) return undefined
    const read: ReadOptions = {}
    if (options.snapshot != null) read.snapshot = this.#snapshotOf(options.snapshot)
    if (options.fillCache !== undefined) read.fillCache = options.fillCache
    return read
  }

  #snapshotOf(snapshot: unknown): Snapshot {
    // A snapshot of another database would resolve its index entries against
    // this database's files, so it is refused rather than read.
    if (!(snapshot instanceof CaskLevelSnapshot) || snapshot.root !== this) {
      throw new ModuleError('The snapshot option must be a snapshot of this database or one of its sublevels', {
        code: 'LEVEL_INVALID_SNAPSHOT',
      })
    }
    return snapshot.engine
  }

  _getSync(key: Native, options: PrivateReadOptions): Native | undefined {
    const db = this.#engine()
    let value: Buffer | undefined
    try {
      value = db.getSync(key, this.#readOptions(options))
    } catch (err) {
      throw toLevelError(err)
    }
    return value === undefined ? undefined : convert(value, options.valueEncoding)
  }

  async _get(key: Native, options: PrivateReadOptions): Promise<Native | undefined> {
    return this._getSync(key, options)
  }

  async _getMany(keys: Native[], options: PrivateReadOptions): Promise<(Native | undefined)[]> {
    const db = this.#engine()
    const to = fromBuffer(options.valueEncoding)
    // The engine's getMany reads everything before its first await: the view is captured now.
    const values = await db.getMany(keys, this.#readOptions(options)).catch((err) => Promise.reject(toLevelError(err)))
    return values.map((value) => (value === undefined ? undefined : to(value)))
  }

  async _has(key: Native, options: PrivateReadOptions): Promise<boolean> {
    const db = this.#engine()
    return mapErrors(() => db.hasSync(key, this.#readOptions(options)))
  }

  async _hasMany(keys: Native[], options: PrivateReadOptions): Promise<boolean[]> {
    const db = this.#engine()
    return db.hasMany(keys, this.#readOptions(options)).catch((err) => Promise.reject(toLevelError(err)))
  }

  #iteratorOptions(options: PrivateIteratorOptions, keys: boolean, values: boolean): IteratorOptions<Format, Format> {
    const it: IteratorOptions<Format, Format> = {
      reverse: options.reverse === true,
      limit: options.limit,
      keys,
      values,
      // The engine decodes UTF-8 itself: no Buffer per key, no copy per value.
      keyFormat: options.keyEncoding === 'utf8' ? 'utf8' : 'buffer',
      valueFormat: options.valueEncoding === 'utf8' ? 'utf8' : 'buffer',
    }
    if (options.gt != null) it.gt = options.gt
    if (options.gte != null) it.gte = options.gte
    if (options.lt != null) it.lt = options.lt
    if (options.lte != null) it.lte = options.lte
    if (options.snapshot != null) it.snapshot = this.#snapshotOf(options.snapshot)
    return it
  }

  #engineIterator(options: PrivateIteratorOptions, keys: boolean, values: boolean): AnyIterator {
    const db = this.#engine()
    return mapErrors(() => db.iterator(this.#iteratorOptions(options, keys, values)))
  }

  _iterator(options: PrivateIteratorOptions): CaskLevelIterator {
    const it = this.#engineIterator(options, options.keys !== false, options.values !== false)
    return new CaskLevelIterator(this, options, it)
  }

  _keys(options: PrivateIteratorOptions): CaskLevelKeyIterator {
    return new CaskLevelKeyIterator(this, options, this.#engineIterator(options, true, false))
  }

  _values(options: PrivateIteratorOptions): CaskLevelValueIterator {
    return new CaskLevelValueIterator(this, options, this.#engineIterator(options, false, true))
  }

  _snapshot(options: { owner: object }): CaskLevelSnapshot {
    const db = this.#engine()
    return new CaskLevelSnapshot(options, mapErrors(() => db.snapshot()), this)
  }

  // ---- writes ----------------------------------------------------------------
  // Options go to the engine as they are: it reads `sync` (per write), and
  // `ttl` / `expires` on puts, and ignores the encodings abstract-level adds.

  async _put(key: Native, value: Native, options: { sync?: boolean; ttl?: number; expires?: number }): Promise<void> {
    const db = this.#engine()
    return db.put(key, value, options).catch((err) => Promise.reject(toLevelError(err)))
  }

  async _del(key: Native, options: { sync?: boolean }): Promise<void> {
    const db = this.#engine()
    return db.del(key, options).catch((err) => Promise.reject(toLevelError(err)))
  }

  async _batch(operations: PrivateOperation[], options: { sync?: boolean }): Promise<void> {
    const db = this.#engine()
    return db.batch(operations, options).catch((err) => Promise.reject(toLevelError(err)))
  }

  _chainedBatch(): CaskLevelChainedBatch {
    return new CaskLevelChainedBatch(this, (ops, options) => this._batch(ops, options))
  }

  async _clear(options: PrivateIteratorOptions & { sync?: boolean }): Promise<void> {
    const db = this.#engine()
    const clear = {
      ...this.#iteratorOptions(options, true, false),
      ...(options.sync !== undefined ? { sync: options.sync } : {}),
    }
    return db.clear(clear).catch((err) => Promise.reject(toLevelError(err)))
  }

  // ---- classic-level extras ----------------------------------------------------

  /**
   * Compacts the database. caskdb compacts whole data segments, not key
   * ranges, so `start` and `end` are checked and encoded like classic-level
   * does but the whole database is compacted.
   */
  compactRange(start: KDefault, end: KDefault): Promise<void>
  compactRange<K = KDefault>(start: K, end: K, options?: { keyEncoding?: string }): Promise<void>
  async compactRange(start: unknown, end: unknown, options?: { keyEncoding?: string }): Promise<void> {
    if (arguments.length < 2) throw new TypeError("The arguments 'start' and 'end' are required")
    if (this.status === 'opening') return this.deferAsync(() => this.compactRange(start, end, options))
    this.#assertOpen()
    const keyEncoding = this.keyEncoding(options?.keyEncoding as never)
    keyEncoding.encode(start as never)
    keyEncoding.encode(end as never)
    await this.compact()
  }

  /**
   * Approximate bytes on disk used by keys in `[start, end)`: the number of
   * keys in the range (counted in the in-memory index, no disk reads) times
   * the average live record size.
   */
  approximateSize(start: KDefault, end: KDefault): Promise<number>
  approximateSize<K = KDefault>(start: K, end: K, options?: { keyEncoding?: string }): Promise<number>
  async approximateSize(start: unknown, end: unknown, options?: { keyEncoding?: string }): Promise<number> {
    if (arguments.length < 2) throw new TypeError("The arguments 'start' and 'end' are required")
    if (this.status === 'opening') return this.deferAsync(() => this.approximateSize(start, end, options))
    const db = this.#assertOpen()
    const keyEncoding = this.keyEncoding(options?.keyEncoding as never)
    const gte = keyEncoding.encode(start as never) as Native
    const lt = keyEncoding.encode(end as never) as Native
    return mapErrors(() => {
      const stats = db.stats()
      if (stats.keys === 0) return 0
      const it = db.iterator({ gte, lt, keys: false, values: false })
      let count = 0
      try {
        for (let batch = it.nextvSync(1000); batch.length > 0; batch = it.nextvSync(1000)) count += batch.length
      } finally {
        it.close()
      }
      return Math.round((count * stats.liveBytes) / stats.keys)
    })
  }

  /**
   * A property of the open database, as a string (synchronous, like
   * classic-level). `caskdb.stats` is `stats()` as JSON; `caskdb.keys`,
   * `caskdb.live-bytes`, `caskdb.dead-bytes`, `caskdb.disk-bytes`,
   * `caskdb.segments`, `caskdb.cache-bytes` and `caskdb.buffered-bytes` are
   * single numbers. Unknown properties return `''`.
   */
  getProperty(property: string): string {
    if (typeof property !== 'string') throw new TypeError("The first argument 'property' must be a string")
    const db = this.#assertOpen()
    if (property === 'caskdb.stats') return JSON.stringify(mapErrors(() => db.stats()))
    const stat = STAT_PROPERTIES[property]
    if (stat !== undefined) return String(mapErrors(() => db.stats())[stat])
    return ''
  }

  // ---- caskdb extras -----------------------------------------------------------

  /** Rewrites data segments holding dead bytes, so disk use comes down to the live data. */
  async compact(): Promise<CompactionResult> {
    if (this.status === 'opening') return this.deferAsync(() => this.compact())
    const db = this.#assertOpen()
    return db.compact().catch((err) => Promise.reject(toLevelError(err)))
  }

  /** Writes a consistent copy of the database into `dir` (which must not exist); restore with `CaskDB.restore`. */
  async backup(dir: string): Promise<void> {
    if (this.status === 'opening') return this.deferAsync(() => this.backup(dir))
    const db = this.#assertOpen()
    return db.backup(dir).catch((err) => Promise.reject(toLevelError(err)))
  }

  /** Engine statistics: keys, live/dead/disk bytes, cache, writes, compactions, recovery. */
  async stats(): Promise<Stats> {
    if (this.status === 'opening') return this.deferAsync(() => this.stats())
    const db = this.#assertOpen()
    return mapErrors(() => db.stats())
  }

  /** Scans every data and hint file; returns the damage found (empty if none). */
  async verify(): Promise<{ file: string; offset: number; message: string }[]> {
    if (this.status === 'opening') return this.deferAsync(() => this.verify())
    const db = this.#assertOpen()
    return db.verify().catch((err) => Promise.reject(toLevelError(err)))
  }
}

export { ModuleError }
