/**
 * `KeyvCaskV6`: the storage adapter for Keyv 6 (`keyv@^6`). For Keyv 5 use `KeyvCask`.
 *
 * @example
 * ```ts
 * import Keyv from 'keyv' // 6.x
 * import { KeyvCaskV6 } from 'caskdb/keyv'
 * const keyv = new Keyv({ store: new KeyvCaskV6('./cache'), namespace: 'users' })
 * ```
 *
 * Keyv 6 conventions handled here: `capabilities.expires === true`, so Keyv
 * uses the adapter directly and passes an absolute `expires` (ms since the
 * epoch) to `set`/`setMany`; keys arrive bare and are scoped by this adapter's
 * own `namespace`; bulk methods return one result per key; `set` resolves
 * `true`; `iterator()` yields bare keys; missing values are `undefined`.
 * This class does not import keyv: it works with whichever copy the app has.
 */
import { EventEmitter } from 'node:events'
import type { CaskDB } from '../../src/db.js'
import { normalizeNamespace, type RecordKey } from './codec.js'
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

const STORAGE_METHODS = [
  'get',
  'getMany',
  'has',
  'hasMany',
  'set',
  'setMany',
  'delete',
  'deleteMany',
  'clear',
  'disconnect',
  'iterator',
] as const

type MethodType = 'async' | 'sync' | 'none'

/** Same shape as keyv 6's `KeyvStorageCapability` (what `keyvStorageCapability(this)` returns). */
export interface KeyvCaskCapability {
  compatible: true
  store: 'keyvStorage'
  methods: Record<(typeof STORAGE_METHODS)[number], { exists: boolean; methodType: MethodType }>
  /** Declares that `set`/`setMany` take an absolute expiry: Keyv 6 uses the adapter directly. */
  expires: true
}

/** An entry for `setMany`: `expires` is absolute ms since the epoch. */
export interface KeyvCaskV6Entry<Value = unknown> {
  key: string
  value: Value
  expires?: number
}

/**
 * What `get` returns, typed as keyv 6 types it (`KeyvStorageGetResult`): Keyv 6
 * stores its serialized string, or its `{ value, expires }` envelope when
 * serialization is off. Other values set directly come back as they went in.
 */
export type KeyvCaskV6GetResult<Value> = { value?: Value; expires?: number | undefined } | string | undefined

/** Keyv 6 absolute expiry → engine expiry. Non-numbers, NaN and Infinity: no expiry. */
function expiry(expires: unknown): Expiry {
  if (typeof expires !== 'number' || Number.isNaN(expires) || expires === Infinity) return undefined
  return expires
}

/**
 * Every storage method here returns a promise (or is an async generator), so
 * each is declared `async`, also those not written with the `async` keyword
 * (`get` and `set` skip the extra promise an async function would add).
 */
function methodType(fn: unknown): MethodType {
  return typeof fn === 'function' ? 'async' : 'none'
}

const resolveTrue = (): true => true

export class KeyvCaskV6 extends EventEmitter {
  /** Scopes every operation; Keyv 6 sets it when the Keyv has a namespace. `undefined` is a partition of its own. */
  namespace: string | undefined
  /** The resolved database directory. */
  readonly location: string
  readonly #store: PartitionedStore

  /** `new KeyvCaskV6(dir)` or `new KeyvCaskV6({ location: dir, ...engineOptions, clearExpiredInterval })`. */
  constructor(options: LocationOrOptions) {
    super()
    const resolved: KeyvCaskOptions = resolveOptions(options)
    this.#store = new PartitionedStore(resolved, (err) => this.#report(err))
    this.location = this.#store.location
    this.namespace = normalizeNamespace(resolved.namespace)
  }

  get capabilities(): KeyvCaskCapability {
    const methods = {} as KeyvCaskCapability['methods']
    for (const name of STORAGE_METHODS) {
      const fn = (this as unknown as Record<string, unknown>)[name]
      methods[name] = { exists: typeof fn === 'function', methodType: methodType(fn) }
    }
    return { compatible: true, store: 'keyvStorage', methods, expires: true }
  }

  // Narrowed from Function[] so the class also satisfies keyv 6's IEventEmitter type.
  override listeners(eventName: string | symbol): Array<(...args: unknown[]) => void> {
    return super.listeners(eventName) as Array<(...args: unknown[]) => void>
  }

  override rawListeners(eventName: string | symbol): Array<(...args: unknown[]) => void> {
    return super.rawListeners(eventName) as Array<(...args: unknown[]) => void>
  }

  #report(err: unknown): boolean {
    if (this.listenerCount('error') === 0) return false
    this.emit('error', err)
    return true
  }

  #key(key: unknown): RecordKey {
    return recordKey(this.#store.partition(this.namespace), typeof key === 'string' ? key : keyString(key))
  }

  /** The stored value, or undefined if missing or expired. (Not `async`: see `KeyvCask.get`.) */
  get<Value = unknown>(key: string): Promise<KeyvCaskV6GetResult<Value>> {
    try {
      return this.#store.get(this.#key(key)) as Promise<KeyvCaskV6GetResult<Value>>
    } catch (err) {
      return Promise.reject(err)
    }
  }

  /** Values aligned with `keys`, undefined where missing or expired. */
  async getMany<Value = unknown>(keys: string[]): Promise<Array<KeyvCaskV6GetResult<Value | undefined>>> {
    assertArray(keys, 'keys')
    return (await this.#store.getMany(keys.map((k) => this.#key(k)))) as Array<KeyvCaskV6GetResult<Value | undefined>>
  }

  /**
   * `expires`: absolute ms since the epoch, or undefined for none. A deadline
   * already past deletes the key. Resolves `true` once the write is handed to
   * the OS (or synced, with `sync: true`).
   */
  set(key: string, value: unknown, expires?: number): Promise<boolean> {
    try {
      return this.#store.put(this.#key(key), value, expiry(expires)).then(resolveTrue)
    } catch (err) {
      return Promise.reject(err)
    }
  }

  /** Atomic: all entries are written or none. */
  async setMany<Value = unknown>(entries: KeyvCaskV6Entry<Value>[]): Promise<boolean[]> {
    assertArray(entries, 'entries')
    await this.#store.putMany(entries.map((e) => ({ recordKey: this.#key(e.key), value: e.value, expires: expiry(e.expires) })))
    return entries.map(() => true)
  }

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

  async delete(key: string): Promise<boolean> {
    return this.#store.delete(this.#key(key))
  }

  /** Atomic; for each key, true if it was there. */
  async deleteMany(keys: string[]): Promise<boolean[]> {
    assertArray(keys, 'keys')
    return this.#store.deleteMany(keys.map((k) => this.#key(k)))
  }

  /** Deletes every key of the current namespace (a range delete); other namespaces are untouched. */
  async clear(): Promise<void> {
    await this.#store.clear(this.#store.prefix(this.namespace))
  }

  /** Live entries of `namespace` (default: the current one) in key order, as `[key, storedValue]`. */
  async *iterator<Value = unknown>(...args: [namespace?: string]): AsyncGenerator<[string, Value], void, undefined> {
    const prefix = this.#store.prefix(args.length > 0 ? args[0] : this.namespace)
    yield* this.#store.entries(prefix) as AsyncGenerator<[string, Value], void, undefined>
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

export default KeyvCaskV6
