/**
 * The part both Keyv facades share: a leased engine, namespace partitions,
 * opaque values, native expiry, the optional expiry sweep and disconnect.
 * The facades only map their major's calling conventions onto it.
 */
import type { CaskDB, BatchOperation, PutOptions, WriteOptions } from '../../src/db.js'
import { CaskError, ErrorCodes } from '../../src/errors.js'
import type { CaskOptions } from '../../src/options.js'
import type { Timer } from '../../src/clock.js'
import {
  decodeKey,
  decodeValue,
  encodeKey,
  encodeValue,
  keyString,
  namespacePrefix,
  normalizeNamespace,
  prefixHead,
  prefixRange,
  type RecordKey,
} from './codec.js'
import { acquireEngine, pickEngineOptions, type EngineLease } from './shared-engine.js'

/** Options of both adapters: where the database lives, engine options, and adapter options. */
export interface KeyvCaskOptions extends CaskOptions {
  /** Database directory. Adapters naming the same directory share one engine. */
  location: string
  /** Initial namespace (Keyv overwrites it with its own). */
  namespace?: string
  /**
   * Sweep expired entries every N ms (engine `purgeExpired()`, all namespaces),
   * so they leave the disk at the next compaction even if never read again.
   * The timer is unref()ed and stopped by `disconnect()`. 0 or undefined: no sweep.
   * Expired entries are never returned either way.
   */
  clearExpiredInterval?: number
  /** Entries read per step of `iterator()`. @defaultValue 256 */
  iterationLimit?: number
  /**
   * `true`: a write resolves only after fdatasync (survives power loss).
   * Default: it resolves once handed to the OS (survives a process crash).
   * Applies to this adapter's writes, so adapters sharing an engine may differ.
   */
  sync?: boolean
}

export type LocationOrOptions = string | KeyvCaskOptions

/** Absolute expiry for a write: a time in ms, none, or "already elapsed" (the write deletes). */
export type Expiry = number | undefined

/** One namespace's key space: its record-key prefix, as bytes and (when ASCII) as a string. */
export interface Partition {
  /** The normalized namespace (undefined: no namespace). */
  readonly namespace: string | undefined
  readonly prefix: Buffer
  /** The prefix as a string with the same UTF-8 bytes, or undefined if the prefix has non-ASCII bytes. */
  readonly head: string | undefined
}

function makePartition(namespace: string | undefined): Partition {
  const prefix = namespacePrefix(namespace)
  return { namespace, prefix, head: prefixHead(prefix) }
}

/** Record key of `key` (a string) in `partition`: a string when the prefix allows it, else bytes. */
export function recordKey(partition: Partition, key: string): RecordKey {
  const head = partition.head
  return head !== undefined ? head + key : encodeKey(partition.prefix, key)
}

export interface PutEntry {
  key: unknown
  value: unknown
  expires: Expiry
}

/** Bulk methods take arrays; anything else is refused before it is touched. */
export function assertArray(value: unknown, name: string): void {
  if (!Array.isArray(value)) {
    throw new CaskError(ErrorCodes.INVALID_ARGUMENT, `caskdb/keyv: ${name} must be an array, got ${value === null ? 'null' : typeof value}`)
  }
}

export function resolveOptions(input: LocationOrOptions | undefined): KeyvCaskOptions {
  if (typeof input === 'string') return { location: input }
  if (input === null || typeof input !== 'object' || typeof input.location !== 'string' || input.location === '') {
    throw new CaskError(
      ErrorCodes.INVALID_ARGUMENT,
      'caskdb/keyv: pass a database directory, or an options object with a `location` directory',
    )
  }
  return input
}

function checkInterval(name: string, value: unknown, min: number): number | undefined {
  if (value === undefined || value === 0) return undefined
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > 2 ** 31 - 1) {
    throw new CaskError(ErrorCodes.INVALID_OPTION, `caskdb/keyv: ${name} must be a number of ms between ${min} and ${2 ** 31 - 1}`)
  }
  return Math.floor(value)
}

export class PartitionedStore {
  readonly location: string
  readonly #lease: EngineLease
  readonly #sync: boolean | undefined
  readonly #pageSize: number
  readonly #emitError: (err: unknown) => boolean
  #sweep: Timer | undefined
  #sweeping = false
  #disconnected: Promise<void> | undefined
  /** Same time source as the engine's expiry checks. */
  readonly now: () => number
  /** The last partition asked for, by the namespace value it was asked for (Keyv rarely changes it). */
  #lastNamespace: unknown = undefined
  #lastPartition: Partition = makePartition(undefined)
  /** Options for writes without expiry: undefined unless `sync` was given (an options object costs the engine checks). */
  readonly #plainWrite: WriteOptions | undefined

  constructor(options: KeyvCaskOptions, emitError: (err: unknown) => boolean) {
    const interval = checkInterval('clearExpiredInterval', options.clearExpiredInterval, 1)
    this.#pageSize = checkInterval('iterationLimit', options.iterationLimit, 1) ?? 256
    if (options.sync !== undefined && typeof options.sync !== 'boolean') {
      throw new CaskError(ErrorCodes.INVALID_OPTION, 'caskdb/keyv: sync must be a boolean')
    }
    this.#sync = options.sync
    this.#plainWrite = options.sync === undefined ? undefined : { sync: options.sync }
    this.#emitError = emitError
    this.#lease = acquireEngine(options.location, pickEngineOptions(options as unknown as Record<string, unknown>), emitError)
    this.location = this.#lease.location
    const clock = this.#lease.clock
    // Looked up per call: test tools such as timekeeper replace Date.
    this.now = clock === undefined ? () => Date.now() : () => clock.now()
    // An open failure rejects every operation; 'error' listeners hear it too (Keyv re-emits it).
    this.#lease.ready.catch((err: unknown) => {
      if (this.#disconnected === undefined) this.#emitError(err)
    })
    if (interval !== undefined) {
      if (clock !== undefined) {
        this.#sweep = clock.setInterval(() => this.#runSweep(), interval)
      } else {
        const timer = setInterval(() => this.#runSweep(), interval)
        // A sweep must never keep the process alive.
        timer.unref()
        this.#sweep = { clear: () => clearInterval(timer) }
      }
    }
  }

  #runSweep(): void {
    if (this.#sweeping || this.#disconnected !== undefined || this.#lease.db === undefined) return
    this.#sweeping = true
    this.clearExpired()
      .catch((err: unknown) => {
        if (this.#disconnected === undefined) this.#emitError(err)
      })
      .finally(() => {
        this.#sweeping = false
      })
  }

  /** The open engine (waiting for the open if needed). */
  engine(): CaskDB | Promise<CaskDB> {
    if (this.#disconnected !== undefined) {
      throw new CaskError(ErrorCodes.CLOSED, 'caskdb/keyv: this adapter is disconnected')
    }
    return this.#lease.db ?? this.#lease.ready
  }

  get #writeOptions(): { sync?: boolean } {
    return this.#sync === undefined ? {} : { sync: this.#sync }
  }

  /** The key space of `namespace` (undefined, null and '' are "no namespace"). */
  partition(namespace: unknown): Partition {
    if (namespace === this.#lastNamespace) return this.#lastPartition
    const ns = normalizeNamespace(namespace)
    const partition = ns === this.#lastPartition.namespace ? this.#lastPartition : makePartition(ns)
    this.#lastNamespace = namespace
    this.#lastPartition = partition
    return partition
  }

  /** Key bytes every record of `namespace` starts with. */
  prefix(namespace: unknown): Buffer {
    return this.partition(namespace).prefix
  }

  /**
   * The stored value, or undefined. Not `async`: once the engine is open the
   * read is synchronous (engine `getSync`), and the promise handed back is
   * already settled, so the caller's `await` is the only turn it costs.
   */
  get(recordKey: RecordKey): Promise<unknown> {
    const db = this.#lease.db
    if (db === undefined) return this.#getLater(recordKey)
    try {
      const stored = db.getSync(recordKey)
      return Promise.resolve(stored === undefined ? undefined : decodeValue(stored))
    } catch (err) {
      return Promise.reject(err)
    }
  }

  /** `get` while the engine opens (or after disconnect, which rejects). */
  async #getLater(recordKey: RecordKey): Promise<unknown> {
    const db = await this.engine()
    const stored = db.getSync(recordKey)
    return stored === undefined ? undefined : decodeValue(stored)
  }

  async getMany(recordKeys: RecordKey[]): Promise<unknown[]> {
    const db = await this.engine()
    const stored = await db.getMany(recordKeys)
    return stored.map((v) => (v === undefined ? undefined : decodeValue(v)))
  }

  /** Expiry-aware presence; not `async`, like `get`. */
  has(recordKey: RecordKey): Promise<boolean> {
    const db = this.#lease.db
    if (db === undefined) return this.#hasLater(recordKey)
    try {
      return Promise.resolve(db.hasSync(recordKey))
    } catch (err) {
      return Promise.reject(err)
    }
  }

  async #hasLater(recordKey: RecordKey): Promise<boolean> {
    const db = await this.engine()
    return db.hasSync(recordKey)
  }

  async hasMany(recordKeys: RecordKey[]): Promise<boolean[]> {
    const db = await this.engine()
    return db.hasMany(recordKeys)
  }

  /**
   * Resolves once the engine's put does (handed to the OS, or synced with
   * `sync: true`). Not `async`, for the same reason as `get`: the engine's own
   * promise is returned as it is. Invalid values reject.
   */
  put(recordKey: RecordKey, value: unknown, expires: Expiry): Promise<void> {
    const db = this.#lease.db
    if (db === undefined) return this.#putLater(recordKey, value, expires)
    try {
      const bytes = encodeValue(value)
      if (expires === undefined) return db.put(recordKey, bytes, this.#plainWrite)
      return this.#putExpiring(db, recordKey, bytes, expires)
    } catch (err) {
      return Promise.reject(err)
    }
  }

  #putExpiring(db: CaskDB, recordKey: RecordKey, bytes: Buffer | string, expires: number): Promise<void> {
    // An elapsed deadline must not leave a live value behind: the write deletes.
    if (expires <= this.now()) return db.del(recordKey, this.#plainWrite)
    const options: PutOptions = this.#sync === undefined ? { expires } : { sync: this.#sync, expires }
    return db.put(recordKey, bytes, options)
  }

  /** `put` while the engine opens (or after disconnect, which rejects). */
  async #putLater(recordKey: RecordKey, value: unknown, expires: Expiry): Promise<void> {
    const bytes = encodeValue(value)
    const db = await this.engine()
    if (expires === undefined) return db.put(recordKey, bytes, this.#plainWrite)
    return this.#putExpiring(db, recordKey, bytes, expires)
  }

  /** Writes every entry or none (one engine batch). */
  async putMany(entries: { recordKey: RecordKey; value: unknown; expires: Expiry }[]): Promise<void> {
    const ops: BatchOperation[] = entries.map(({ recordKey, value, expires }) => {
      const bytes = encodeValue(value)
      return expires === undefined
        ? { type: 'put', key: recordKey, value: bytes }
        : { type: 'put', key: recordKey, value: bytes, expires }
    })
    const db = await this.engine()
    if (ops.length === 0) return
    const now = this.now()
    for (let i = 0; i < ops.length; i++) {
      const op = ops[i]!
      if (op.type === 'put' && op.expires !== undefined && op.expires <= now) ops[i] = { type: 'del', key: op.key }
    }
    return db.batch(ops, this.#writeOptions)
  }

  /** Deletes the key; true if it was there (and not expired). */
  async delete(recordKey: RecordKey): Promise<boolean> {
    const db = await this.engine()
    if (!db.hasSync(recordKey)) return false
    await db.del(recordKey, this.#writeOptions)
    return true
  }

  /** Deletes the keys atomically; for each, true if it was there (a repeated key counts once). */
  async deleteMany(recordKeys: RecordKey[]): Promise<boolean[]> {
    const db = await this.engine()
    const present = await db.hasMany(recordKeys)
    const seen = new Set<string>()
    const ops: BatchOperation[] = []
    const result = recordKeys.map((key, i) => {
      // Repeats are found by bytes (two strings can share an encoding: lone surrogates).
      const id = (typeof key === 'string' ? Buffer.from(key, 'utf8') : key).toString('latin1')
      if (!present[i] || seen.has(id)) return false
      seen.add(id)
      ops.push({ type: 'del', key })
      return true
    })
    if (ops.length > 0) await db.batch(ops, this.#writeOptions)
    return result
  }

  /** Range delete of one namespace. */
  async clear(prefix: Buffer): Promise<void> {
    const db = await this.engine()
    const { gte, lt } = prefixRange(prefix)
    await db.clear({ gte, lt, ...this.#writeOptions })
  }

  /**
   * Live entries of one namespace in key order, read in pages of
   * `iterationLimit`; no engine iterator or snapshot stays open between pages,
   * so an abandoned loop holds nothing.
   */
  async *entries(prefix: Buffer): AsyncGenerator<[string, unknown], void, undefined> {
    const { gte, lt } = prefixRange(prefix)
    const limit = this.#pageSize
    let after: Buffer | undefined
    for (;;) {
      const db = await this.engine()
      const it = db.iterator(after === undefined ? { gte, lt, limit } : { gt: after, lt, limit })
      let page
      try {
        page = it.nextvSync(limit)
      } finally {
        it.close()
      }
      for (const [key, value] of page) yield [decodeKey(key!, prefix.length), decodeValue(value!)]
      if (page.length < limit) return
      after = page[page.length - 1]![0]
    }
  }

  /** Writes tombstones for every expired entry (all namespaces); returns how many. */
  async clearExpired(): Promise<number> {
    const db = await this.engine()
    return db.purgeExpired()
  }

  /** Stops the sweep and drops this adapter's claim on the engine (the last one closes it). */
  disconnect(): Promise<void> {
    if (this.#disconnected !== undefined) return this.#disconnected
    this.#sweep?.clear()
    this.#sweep = undefined
    this.#disconnected = this.#lease.release()
    return this.#disconnected
  }

  get disconnected(): boolean {
    return this.#disconnected !== undefined
  }
}

export { encodeKey, keyString }
