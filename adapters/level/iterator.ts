/**
 * Iterators over an engine CaskIterator. The engine iterator is created by the
 * database synchronously when `db.iterator()` / `keys()` / `values()` is
 * called, so it captures its read view (implicit snapshot) at that moment, or
 * reads from the explicit snapshot it was given. Range, `reverse`, `limit`
 * and `seek()` are the engine's; these classes only convert the engine's
 * Buffers to the requested format and map errors.
 *
 * abstract-level keeps entry, key and value iterators as separate classes,
 * so each one implements `_next`, `_nextv`, `_all`, `_seek` and `_close`.
 */
import { AbstractIterator, AbstractKeyIterator, AbstractValueIterator } from 'abstract-level'
import type { CaskIterator, Entry } from '../../src/iterator.js'
import { mapErrors } from './errors.js'
import { fromBuffer, type FromBuffer, type Native } from './formats.js'

/** The options abstract-level hands to `_iterator` / `_keys` / `_values` (range already encoded). */
export interface PrivateIteratorOptions {
  keyEncoding: string
  valueEncoding: string
  reverse: boolean
  limit: number
  keys?: boolean
  values?: boolean
  gt?: Native
  gte?: Native
  lt?: Native
  lte?: Native
  snapshot?: unknown
  signal?: AbortSignal
  [key: string | symbol]: unknown
}

/** The owning database (a CaskLevel; typed loosely to keep this module free of a cycle). */
type Db = object
type Pair = [Native | undefined, Native | undefined]

export class CaskLevelIterator extends AbstractIterator<Db, Native, Native> {
  readonly #it: CaskIterator
  readonly #key: FromBuffer
  readonly #value: FromBuffer

  /** @internal Use `db.iterator()`. */
  constructor(db: Db, options: PrivateIteratorOptions, it: CaskIterator) {
    super(db, options as never) // the typings only cover the public options
    this.#it = it
    this.#key = fromBuffer(options.keyEncoding)
    this.#value = fromBuffer(options.valueEncoding)
  }

  #convert(entry: Entry): Pair {
    const [k, v] = entry
    return [k === undefined ? undefined : this.#key(k), v === undefined ? undefined : this.#value(v)]
  }

  async _next(): Promise<Pair | undefined> {
    const entry = mapErrors(() => this.#it.nextSync())
    return entry === undefined ? undefined : this.#convert(entry)
  }

  async _nextv(size: number): Promise<Pair[]> {
    return mapErrors(() => this.#it.nextvSync(size)).map((entry) => this.#convert(entry))
  }

  async _all(): Promise<Pair[]> {
    return mapErrors(() => this.#it.nextvSync(Number.POSITIVE_INFINITY)).map((entry) => this.#convert(entry))
  }

  _seek(target: Native): void {
    mapErrors(() => this.#it.seek(target))
  }

  async _close(): Promise<void> {
    this.#it.close()
  }
}

export class CaskLevelKeyIterator extends AbstractKeyIterator<Db, Native> {
  readonly #it: CaskIterator
  readonly #key: FromBuffer

  /** @internal Use `db.keys()`. */
  constructor(db: Db, options: PrivateIteratorOptions, it: CaskIterator) {
    super(db, options as never) // the typings only cover the public options
    this.#it = it
    this.#key = fromBuffer(options.keyEncoding)
  }

  async _next(): Promise<Native | undefined> {
    const entry = mapErrors(() => this.#it.nextSync())
    return entry === undefined ? undefined : this.#key(entry[0]!)
  }

  async _nextv(size: number): Promise<Native[]> {
    return mapErrors(() => this.#it.nextvSync(size)).map((entry) => this.#key(entry[0]!))
  }

  async _all(): Promise<Native[]> {
    return mapErrors(() => this.#it.nextvSync(Number.POSITIVE_INFINITY)).map((entry) => this.#key(entry[0]!))
  }

  _seek(target: Native): void {
    mapErrors(() => this.#it.seek(target))
  }

  async _close(): Promise<void> {
    this.#it.close()
  }
}

export class CaskLevelValueIterator extends AbstractValueIterator<Db, Native, Native> {
  readonly #it: CaskIterator
  readonly #value: FromBuffer

  /** @internal Use `db.values()`. */
  constructor(db: Db, options: PrivateIteratorOptions, it: CaskIterator) {
    super(db, options as never) // the typings only cover the public options
    this.#it = it
    this.#value = fromBuffer(options.valueEncoding)
  }

  async _next(): Promise<Native | undefined> {
    const entry = mapErrors(() => this.#it.nextSync())
    return entry === undefined ? undefined : this.#value(entry[1]!)
  }

  async _nextv(size: number): Promise<Native[]> {
    return mapErrors(() => this.#it.nextvSync(size)).map((entry) => this.#value(entry[1]!))
  }

  async _all(): Promise<Native[]> {
    return mapErrors(() => this.#it.nextvSync(Number.POSITIVE_INFINITY)).map((entry) => this.#value(entry[1]!))
  }

  _seek(target: Native): void {
    mapErrors(() => this.#it.seek(target))
  }

  async _close(): Promise<void> {
    this.#it.close()
  }
}
