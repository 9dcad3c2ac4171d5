/**
 * Ordered iteration over a read view. Every iterator reads from the view of
 * the moment it was created (its own implicit snapshot, or the explicit one
 * it was given): later writes never show in it.
 */
import { CaskError, ErrorCodes } from './errors.js'
import { copyOf, type ReadView, type StoreCore } from './core.js'
import { boundKey, keyString } from './bytes.js'
import { newEntry, type IndexCursor, type IndexEntry, type KeyRange } from './index/ordered-index.js'
import type { Snapshot } from './snapshot.js'
import { ReadAhead } from './log/read-ahead.js'
import { ENTRY_OVERHEAD } from './value-cache.js'

export interface RangeOptions {
  gt?: Uint8Array | string
  gte?: Uint8Array | string
  lt?: Uint8Array | string
  lte?: Uint8Array | string
}

/** How an iterator hands out keys or values: Buffers, or UTF-8 decoded strings. */
export type Format = 'buffer' | 'utf8'
/** The type a {@link Format} hands out. */
export type Formatted<F extends Format> = F extends 'utf8' ? string : Buffer

export interface IteratorOptions<KF extends Format = 'buffer', VF extends Format = 'buffer'> extends RangeOptions {
  reverse?: boolean
  /** Stop after this many entries; -1 or Infinity for no limit. */
  limit?: number
  /** Include keys in entries. @defaultValue true */
  keys?: boolean
  /** Include values in entries. @defaultValue true */
  values?: boolean
  /** Read from this snapshot instead of a new implicit one. */
  snapshot?: Snapshot
  /**
   * `'utf8'`: keys come out as strings, decoded straight from the index
   * (a key of ASCII bytes is handed out as the index's own string, no copy
   * and no Buffer). @defaultValue 'buffer'
   */
  keyFormat?: KF
  /**
   * `'utf8'`: values come out as strings, decoded straight from the cache or
   * the file, skipping the copy a Buffer needs. @defaultValue 'buffer'
   */
  valueFormat?: VF
}

/** `[key, value]`; either is undefined when switched off with `keys: false` / `values: false`. */
export type Entry<K extends Buffer | string = Buffer, V extends Buffer | string = Buffer> = [key: K | undefined, value: V | undefined]

export function toKeyRange(options: RangeOptions): KeyRange {
  const range: KeyRange = {}
  const gte = boundKey(options.gte, 'gte')
  const gt = boundKey(options.gt, 'gt')
  const lte = boundKey(options.lte, 'lte')
  const lt = boundKey(options.lt, 'lt')
  if (gte !== undefined) range.gte = gte
  else if (gt !== undefined) range.gt = gt
  if (lte !== undefined) range.lte = lte
  else if (lt !== undefined) range.lt = lt
  return range
}

export function normalizeLimit(limit: unknown): number {
  if (limit === undefined || limit === null || limit === Infinity) return -1
  if (typeof limit !== 'number' || Number.isNaN(limit)) {
    throw new CaskError(ErrorCodes.INVALID_ARGUMENT, `limit must be a number, got ${typeof limit}`)
  }
  return limit < 0 ? -1 : Math.floor(limit)
}

/** An iterator of any format (for code that only opens and closes them). */
export type AnyIterator = CaskIterator<Buffer | string, Buffer | string>

function checkFormat(format: unknown, name: string): boolean {
  if (format === undefined || format === 'buffer') return false
  if (format === 'utf8') return true
  throw new CaskError(ErrorCodes.INVALID_ARGUMENT, `${name} must be 'buffer' or 'utf8', got ${JSON.stringify(format) ?? typeof format}`)
}

export class CaskIterator<K extends Buffer | string = Buffer, V extends Buffer | string = Buffer> implements AsyncIterable<Entry<K, V>> {
  readonly #core: StoreCore
  readonly #view: ReadView
  readonly #cursor: IndexCursor
  readonly #limit: number
  readonly #keys: boolean
  readonly #values: boolean
  readonly #utf8Keys: boolean
  readonly #utf8Values: boolean
  readonly #onClose: (it: AnyIterator) => void
  readonly #entry = newEntry()
  readonly #readAhead = new ReadAhead()
  #count = 0
  #closed = false

  /** @internal Use `db.iterator()`. */
  constructor(core: StoreCore, options: IteratorOptions<Format, Format>, onClose: (it: AnyIterator) => void) {
    this.#core = core
    this.#onClose = onClose
    const range = toKeyRange(options)
    this.#limit = normalizeLimit(options.limit)
    this.#keys = options.keys !== false
    this.#values = options.values !== false
    this.#utf8Keys = checkFormat(options.keyFormat, 'keyFormat')
    this.#utf8Values = checkFormat(options.valueFormat, 'valueFormat')
    if (options.snapshot !== undefined) {
      options.snapshot.assertUsableBy(core)
      this.#view = options.snapshot.view
      core.addReader(this, options.snapshot.epoch)
    } else {
      this.#view = { index: core.index.snapshot(), buffers: new Map(core.buffers) }
      core.addReader(this)
    }
    this.#cursor = this.#view.index.cursor(range, options.reverse === true)
  }

  get count(): number {
    return this.#count
  }

  /** Next entry, or undefined at the end. Synchronous: reads come from RAM, the cache or one positional read. */
  nextSync(): Entry<K, V> | undefined {
    return this.#take(1)[0]
  }

  /** The value's bytes; `owned`: a Buffer the caller may keep (else possibly the cache's own). */
  #read(entry: IndexEntry, owned: boolean): Buffer | undefined {
    const core = this.#core
    if (entry.seg < 0) return core.readValue(entry, this.#view.buffers, false)
    const cached = core.cache.peek(entry.seg, entry.offset)
    if (cached !== undefined) return owned ? copyOf(cached) : cached
    const segment = core.segmentFor(entry.seg)
    // While the cache has room, a scan fills it, so the next pass (or the
    // gets that follow) come from RAM; once it is full, scans leave it alone.
    if (core.cache.room >= entry.size + ENTRY_OVERHEAD) {
      const value = core.readAndCache(segment, entry.offset, entry.size)
      return owned ? copyOf(value) : value
    }
    return this.#readAhead.value(core.fs, segment, entry.offset, entry.size)
  }

  nextvSync(size: number): Entry<K, V>[] {
    // An invalid size would return [], which reads as "the end".
    if (typeof size !== 'number' || !(size >= 0)) {
      throw new CaskError(ErrorCodes.INVALID_ARGUMENT, `nextv size must be a non-negative number, got ${String(size)}`)
    }
    return this.#take(size)
  }

  /** Up to `size` entries. One loop for the whole batch: the clock is read once, not per entry. */
  #take(size: number): Entry<K, V>[] {
    if (this.#closed) throw new CaskError(ErrorCodes.CLOSED, 'iterator is closed; create a new one with db.iterator()')
    const want = this.#limit >= 0 ? Math.min(size, this.#limit - this.#count) : size
    const out: Entry<Buffer | string, Buffer | string>[] = []
    const utf8Keys = this.#utf8Keys
    const utf8Values = this.#utf8Values
    const entry = this.#entry
    const cursor = this.#cursor
    const now = this.#core.clock.now()
    while (out.length < want) {
      // The key is made only for an entry that is returned, and as what is returned (bytes are copied, not decoded).
      if (!cursor.advance(entry)) break
      if (entry.expires !== 0 && entry.expires <= now) continue
      let value: Buffer | string | undefined
      if (this.#values) {
        const bytes = this.#read(entry, !utf8Values)
        if (bytes === undefined) continue
        value = utf8Values ? bytes.toString('utf8') : bytes
      }
      this.#count++
      out.push([this.#keys ? (utf8Keys ? keyString(cursor.key()) : cursor.keyBuffer()) : undefined, value])
    }
    return out as Entry<K, V>[]
  }

  /** Next entry, or undefined at the end. */
  async next(): Promise<Entry<K, V> | undefined> {
    return this.nextSync()
  }

  /** Up to `size` entries; an empty array means the end. */
  async nextv(size: number): Promise<Entry<K, V>[]> {
    return this.nextvSync(size)
  }

  /** Every remaining entry; closes the iterator. */
  async all(): Promise<Entry<K, V>[]> {
    try {
      return this.nextvSync(Number.POSITIVE_INFINITY)
    } finally {
      this.close()
    }
  }

  /** Moves to the first key at or after `target` (at or before, in reverse), staying inside the range. */
  seek(target: Uint8Array | string): void {
    if (this.#closed) throw new CaskError(ErrorCodes.CLOSED, 'iterator is closed; create a new one with db.iterator()')
    const key = boundKey(target, 'target')
    if (key === undefined) throw new CaskError(ErrorCodes.INVALID_ARGUMENT, 'seek target must be a string or bytes')
    this.#cursor.seek(key)
  }

  close(): void {
    if (this.#closed) return
    this.#closed = true
    this.#core.removeReader(this)
    this.#onClose(this)
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Entry<K, V>> {
    try {
      for (let entry = this.nextSync(); entry !== undefined; entry = this.nextSync()) yield entry
    } finally {
      this.close()
    }
  }
}
