/**
 * Iterators over an engine CaskIterator. The engine iterator is created by the
 * database synchronously when `db.iterator()` / `keys()` / `values()` is
 * called, so it captures its read view (implicit snapshot) at that moment, or
 * reads from the explicit snapshot it was given. Range, `reverse`, `limit`
 * and `seek()` are the engine's, and so is UTF-8 decoding (the engine decodes
 * straight from its index and cache); these classes only convert Buffers to
 * the other requested formats and map errors.
 *
 * abstract-level keeps entry, key and value iterators as separate classes,
 * so each one implements `_next`, `_nextv`, `_all`, `_seek` and `_close`.
 */
import { AbstractIterator, AbstractKeyIterator, AbstractValueIterator } from 'abstract-level'
import type { AnyIterator, Entry as EngineEntry } from '../../src/iterator.js'
import { mapErrors, toLevelError } from './errors.js'
import { fromEngine, type FromEngine, type Native } from './formats.js'

type Entry = EngineEntry<Buffer | string, Buffer | string>

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
  readonly #it: AnyIterator
  readonly #key: FromEngine
  readonly #value: FromEngine

  /** @internal Use `db.iterator()`. */
  constructor(db: Db, options: PrivateIteratorOptions, it: AnyIterator) {
    super(db, options as never) // the typings only cover the public options
    this.#it = it
    this.#key = fromEngine(options.keyEncoding)
    this.#value = fromEngine(options.valueEncoding)
  }

  /** Converts in place: the engine hands out a fresh array per entry. */
  #convert(entry: Entry): Pair {
    const pair = entry as unknown as Pair
    const k = entry[0]
    const v = entry[1]
    if (k !== undefined) pair[0] = this.#key(k)
    if (v !== undefined) pair[1] = this.#value(v)
    return pair
  }

  #convertAll(entries: Entry[]): Pair[] {
    for (let i = 0; i < entries.length; i++) this.#convert(entries[i]!)
    return entries as unknown as Pair[]
  }

  async _next(): Promise<Pair | undefined> {
    let entry: Entry | undefined
    try {
      entry = this.#it.nextSync()
    } catch (err) {
      throw toLevelError(err)
    }
    return entry === undefined ? undefined : this.#convert(entry)
  }

  async _nextv(size: number): Promise<Pair[]> {
    return this.#convertAll(this.#take(size))
  }

  async _all(): Promise<Pair[]> {
    return this.#convertAll(this.#take(Number.POSITIVE_INFINITY))
  }

  #take(size: number): Entry[] {
    try {
      return this.#it.nextvSync(size)
    } catch (err) {
      throw toLevelError(err)
    }
  }

  _seek(target: Native): void {
    mapErrors(() => this.#it.seek(target))
  }

  async _close(): Promise<void> {
    this.#it.close()
  }
}

export class CaskLevelKeyIterator extends AbstractKeyIterator<Db, Native> {
  readonly #it: AnyIterator
  readonly #key: FromEngine

  /** @internal Use `db.keys()`. */
  constructor(db: Db, options: PrivateIteratorOptions, it: AnyIterator) {
    super(db, options as never) // the typings only cover the public options
    this.#it = it
    this.#key = fromEngine(options.keyEncoding)
  }

  async _next(): Promise<Native | undefined> {
    let entry: Entry | undefined
    try {
      entry = this.#it.nextSync()
    } catch (err) {
      throw toLevelError(err)
    }
    return entry === undefined ? undefined : this.#key(entry[0]!)
  }

  async _nextv(size: number): Promise<Native[]> {
    return this.#take(size)
  }

  async _all(): Promise<Native[]> {
    return this.#take(Number.POSITIVE_INFINITY)
  }

  /** Up to `size` keys, converted in place in the engine's fresh array. */
  #take(size: number): Native[] {
    let entries: Entry[]
    try {
      entries = this.#it.nextvSync(size)
    } catch (err) {
      throw toLevelError(err)
    }
    const out = entries as unknown as Native[]
    for (let i = 0; i < entries.length; i++) out[i] = this.#key(entries[i]![0]!)
    return out
  }

  _seek(target: Native): void {
    mapErrors(() => this.#it.seek(target))
  }

  async _close(): Promise<void> {
    this.#it.close()
  }
}

export class CaskLevelValueIterator extends AbstractValueIterator<Db, Native, Native> {
  readonly #it: AnyIterator
  readonly #value: FromEngine

  /** @internal Use `db.values()`. */
  constructor(db: Db, options: PrivateIteratorOptions, it: AnyIterator) {
    super(db, options as never) // the typings only cover the public options
    this.#it = it
    this.#value = fromEngine(options.valueEncoding)
  }

  async _next(): Promise<Native | undefined> {
    let entry: Entry | undefined
    try {
      entry = this.#it.nextSync()
    } catch (err) {
      throw toLevelError(err)
    }
    return entry === undefined ? undefined : this.#value(entry[1]!)
  }

  async _nextv(size: number): Promise<Native[]> {
    return this.#take(size)
  }

  async _all(): Promise<Native[]> {
    return this.#take(Number.POSITIVE_INFINITY)
  }

  /** Up to `size` values, converted in place in the engine's fresh array. */
  #take(size: number): Native[] {
    let entries: Entry[]
    try {
      entries = this.#it.nextvSync(size)
    } catch (err) {
      throw toLevelError(err)
    }
    const out = entries as unknown as Native[]
    for (let i = 0; i < entries.length; i++) out[i] = this.#value(entries[i]![1]!)
    return out
  }

  _seek(target: Native): void {
    mapErrors(() => this.#it.seek(target))
  }

  async _close(): Promise<void> {
    this.#it.close()
  }
}
