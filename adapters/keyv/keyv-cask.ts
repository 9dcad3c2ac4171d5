/**
 * `KeyvCask`: the storage adapter for Keyv 5 (`keyv@^5.6`), the major that
 * cacheable, cache-manager 7 and got use. For Keyv 6 use `KeyvCaskV6`.
 *
 * @example
 * ```ts
 * import Keyv from 'keyv'
 * import KeyvCask from 'caskdb/keyv'
 * const keyv = new Keyv({ store: new KeyvCask('./cache'), namespace: 'users' })
 * await keyv.set('alice', { age: 30 }, 60_000)
 * ```
 *
 * Keyv 5 conventions handled here: keys arrive as `namespace:key` and are
 * stored without that prefix inside the namespace's own partition; `set`'s
 * third argument is a relative ttl in ms; `deleteMany` returns one boolean;
 * `iterator(namespace)` yields `namespace:key` and the stored value; `opts`
 * carries `dialect: 'sqlite'` so Keyv 5 enables `keyv.iterator()`.
 */
import { EventEmitter } from 'node:events'
import { Keyv, type KeyvOptions, type KeyvStoreAdapter, type StoredData } from 'keyv'
import type { CaskDB } from '../../src/db.js'
import {
  assertArray,
  keyString,
  PartitionedStore,
  recordKey,
  resolveOptions,
  type Expiry,
  type KeyvCaskOptions,
  type LocationOrOptions,
} from './store.js'
import { normalizeNamespace, type RecordKey } from './codec.js'

/** `opts` as Keyv 5 sees it: the options given, plus the dialect that unlocks iteration. */
export type KeyvCaskOpts = KeyvCaskOptions & { dialect: 'sqlite'; [name: string]: unknown }

/**
 * `boolean[]` at runtime. Keyv 5's `KeyvStoreAdapter` type declares `setMany`
 * as `Promise<void>` although Keyv 5 returns the store's result from
 * `keyv.setMany`; the intersection keeps the class assignable to that type.
 */
export type SetManyResult = boolean[] & void

/** Keyv 5 ttl (relative ms) → absolute expiry. 0, Infinity, NaN, non-numbers: no expiry. */
function expiryFromTtl(ttl: unknown, now: number): Expiry {
  if (typeof ttl !== 'number' || ttl === 0 || Number.isNaN(ttl) || ttl === Infinity) return undefined
  // A negative ttl is a deadline already past: the write deletes (Keyv would report it expired anyway).
  return now + ttl
}

const resolveTrue = (): true => true

export class KeyvCask extends EventEmitter implements KeyvStoreAdapter {
  /** Keyv 5 reads `opts.dialect` (and the test suite assigns `opts.deserialize`). */
  opts: KeyvCaskOpts
  /** Set by Keyv to its own namespace; scopes get/set/clear/iterator. `undefined` is a partition of its own. */
  namespace: string | undefined
  /** The resolved database directory. */
  readonly location: string
  readonly #store: PartitionedStore

  /** `new KeyvCask(dir)` or `new KeyvCask({ location: dir, ...engineOptions, clearExpiredInterval })`. */
  constructor(options: LocationOrOptions) {
    super()
    const resolved = resolveOptions(options)
    this.#store = new PartitionedStore(resolved, (err) => this.#report(err))
    this.location = this.#store.location
    this.namespace = normalizeNamespace(resolved.namespace)
    this.opts = { ...resolved, dialect: 'sqlite' }
  }

  #report(err: unknown): boolean {
    if (this.listenerCount('error') === 0) return false
    this.emit('error', err)
    return true
  }

  /** Record key: strips Keyv's `${namespace}:` prefix and files the key under the current namespace. */
  #key(key: unknown): RecordKey {
    const partition = this.#store.partition(this.namespace)
    const ns = partition.namespace
    let k = typeof key === 'string' ? key : keyString(key)
    if (ns !== undefined && k.length > ns.length && k.charCodeAt(ns.length) === 58 && k.startsWith(ns)) {
      k = k.slice(ns.length + 1)
    }
    return recordKey(partition, k)
  }

  /**
   * The stored value (Keyv's serialized string, or whatever was set), or undefined.
   * Not `async`: the read is synchronous once the engine is open, and the
   * promise returned is already settled (one turn for the caller's `await`).
   */
  get<Value = unknown>(key: string): Promise<StoredData<Value> | undefined> {
    try {
      return this.#store.get(this.#key(key)) as Promise<StoredData<Value> | undefined>
    } catch (err) {
      return Promise.reject(err)
    }
  }

  /** Values aligned with `keys`, undefined where missing or expired. */
  async getMany<Value = unknown>(keys: string[]): Promise<Array<StoredData<Value | undefined>>> {
    assertArray(keys, 'keys')
    return (await this.#store.getMany(keys.map((k) => this.#key(k)))) as Array<StoredData<Value | undefined>>
  }

  /** Resolves `true` once the write is handed to the OS (or synced, with `sync: true`). */
  set(key: string, value: unknown, ttl?: number): Promise<boolean> {
    try {
      const expires = ttl === undefined ? undefined : expiryFromTtl(ttl, this.#store.now())
      return this.#store.put(this.#key(key), value, expires).then(resolveTrue)
    } catch (err) {
      return Promise.reject(err)
    }
  }

  /** Atomic: all entries are written or none. Resolves one `true` per entry (Keyv 5 returns it from `keyv.setMany`). */
  async setMany(entries: { key: string; value: unknown; ttl?: number }[]): Promise<SetManyResult> {
    assertArray(entries, 'entries')
    const now = this.#store.now()
    await this.#store.putMany(
      entries.map((e) => ({ recordKey: this.#key(e.key), value: e.value, expires: expiryFromTtl(e.ttl, now) })),
    )
    return entries.map(() => true) as SetManyResult
  }

  /** Expiry-aware: an expired key is absent. */
  has(key: string): Promise<boolean> {
    try {
      return this.#store.has(this.#key(key))
    } catch (err) {
      return Promise.reject(err)
    }
  }

  async hasMany(keys: string[]): Promise<boolean[]> {
    assertArray(keys, 'keys')
    return this.#store.hasMany(keys.map((k) => this.#key(k)))
  }

  /** True if the key was there. */
  async delete(key: string): Promise<boolean> {
    return this.#store.delete(this.#key(key))
  }

  /** Atomic; true if at least one of the keys was there. */
  async deleteMany(keys: string[]): Promise<boolean> {
    assertArray(keys, 'keys')
    const deleted = await this.#store.deleteMany(keys.map((k) => this.#key(k)))
    return deleted.includes(true)
  }

  /** Deletes every key of the current namespace (a range delete); other namespaces are untouched. */
  async clear(): Promise<void> {
    await this.#store.clear(this.#store.prefix(this.namespace))
  }

  /**
   * Live entries of `namespace` (default: the current one) in key order, as
   * `[namespace:key, storedValue]` — the shape Keyv 5's iterator expects.
   */
  async *iterator<Value = unknown>(...args: [namespace?: string]): AsyncGenerator<[string, Value], void, undefined> {
    const ns = normalizeNamespace(args.length > 0 ? args[0] : this.namespace)
    const head = ns === undefined ? '' : `${ns}:`
    for await (const [key, value] of this.#store.entries(this.#store.prefix(ns))) yield [head + key, value as Value]
  }

  /** Removes expired entries now (all namespaces; see `clearExpiredInterval`). Returns how many. */
  async clearExpired(): Promise<number> {
    return this.#store.clearExpired()
  }

  /** Resolves once the engine is open; rejects with the reason if it cannot be opened. */
  async ready(): Promise<void> {
    await this.#store.engine()
  }

  /**
   * The shared engine underneath (for `stats()`, `compact()`, `flush()`...).
   * Other adapters may be using it: never close it yourself, call `disconnect()`.
   */
  async getEngine(): Promise<CaskDB> {
    return this.#store.engine()
  }

  /** Stops the expiry sweep and releases the engine (closed when no adapter uses it). Idempotent. */
  async disconnect(): Promise<void> {
    await this.#store.disconnect()
  }
}

/** Keyv options for `createKeyv` (everything but the store). */
export type CreateKeyvOptions = Omit<KeyvOptions, 'store'>

/**
 * A Keyv 5 instance on a `KeyvCask` store: `createKeyv('./cache', { namespace: 'users', ttl: 60_000 })`.
 * Engine and adapter options go in the first argument as an object
 * (`createKeyv({ location: './cache', sync: true }, { namespace: 'users' })`).
 * Operations wait for the engine to open; `await keyv.store.ready()` to wait explicitly.
 */
export function createKeyv(location: LocationOrOptions, options: CreateKeyvOptions = {}): Keyv {
  const store = new KeyvCask(location)
  const keyvOptions: CreateKeyvOptions = { ...options }
  if (!('namespace' in options) && store.namespace !== undefined) keyvOptions.namespace = store.namespace
  return new Keyv(store, keyvOptions)
}

export default KeyvCask
