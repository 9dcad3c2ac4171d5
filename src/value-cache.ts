/**
 * Byte-bounded LRU of values read from disk, keyed by record position.
 * Positions never get new contents (the log is append-only), so a cached
 * value can never go stale; superseded ones simply age out.
 *
 * A hit is on every cached read's path, so the lru-cache underneath is used
 * in its cheapest mode: no TTL, no dispose, sizes passed in (no
 * sizeCalculation callback), one reused options object per call kind, and
 * keys that are small integers (Smis). A key of `segment * 2^32 + offset`
 * would be a heap-allocated double: V8 boxes it on every lookup and hashes
 * and compares it by value, which measured 3-5× slower than a Smi key in a
 * 200k-entry Map. So each segment that has cached values gets a small
 * ordinal, and a position becomes `ordinal * stride + offset - 2^31`, a
 * 32-bit integer. An ordinal is reused only after every entry carrying it
 * was removed (see `releaseSegments`); positions that do not fit (no free
 * ordinal, or an offset past the stride) fall back to a double key above
 * 2^31, which can never equal a Smi key.
 *
 * Values are kept in memory of the cache's own (see value-slabs.ts): a small
 * Buffer sliced from Node's shared pool would keep its whole pool alive
 * (8 KiB; 64 KiB in Node 24).
 */
import { LRUCache } from 'lru-cache'
import { ValueSlabs, type Slab } from './value-slabs.js'

/** Bytes charged per entry beyond the value (Buffer object, list slots, Map entry). */
export const ENTRY_OVERHEAD = 64
const TWO_31 = 0x8000_0000
const TWO_32 = 0x1_0000_0000
const MIN_STRIDE = 0x1_0000
/** Ordinal meaning "this segment uses fallback keys". */
const NO_ORDINAL = -1

/** Power of two covering offsets of segments up to `maxSegmentSize` bytes. */
function strideFor(maxSegmentSize: number): number {
  let stride = MIN_STRIDE
  while (stride < maxSegmentSize && stride < TWO_32) stride *= 2
  return stride
}

export class ValueCache {
  /** The byte budget (0: the cache is off). */
  readonly maxBytes: number
  readonly #lru: LRUCache<number, Buffer> | undefined
  readonly #slabs: ValueSlabs
  readonly #stride: number
  readonly #ordinals = new Map<number, number>()
  readonly #free: number[] = []
  /** Ordinals of released segments whose entries may still be cached. */
  readonly #released: number[] = []
  /** Ordinals never handed out yet start here. */
  #nextOrdinal = 0
  readonly #ordinalLimit: number
  // The last segment looked up: consecutive reads mostly stay in one segment.
  #lastSegment = -1
  #lastOrdinal = NO_ORDINAL
  // Reused so that lru-cache's `options = {}` defaults allocate nothing per call.
  readonly #readOptions: { status: undefined } = { status: undefined }
  readonly #setOptions: { size: number; status: undefined } = { size: 0, status: undefined }
  hits = 0
  misses = 0

  constructor(maxBytes: number, maxSegmentSize = TWO_31) {
    this.maxBytes = maxBytes
    this.#stride = strideFor(maxSegmentSize)
    this.#ordinalLimit = TWO_32 / this.#stride
    const slabs = new ValueSlabs(maxBytes)
    this.#slabs = slabs
    this.#lru = maxBytes > 0 ? new LRUCache<number, Buffer>({ maxSize: maxBytes, dispose: (value) => slabs.drop(value) }) : undefined
  }

  /** The cached value; the caller must not modify it (copy before handing it out). */
  get(segment: number, offset: number): Buffer | undefined {
    const lru = this.#lru
    const value = lru === undefined ? undefined : lru.get(this.#key(segment, offset, false), this.#readOptions)
    if (value === undefined) this.misses++
    else this.hits++
    return value
  }

  /** A lookup that neither counts as a hit or miss nor refreshes recency (scans must not churn the LRU). */
  peek(segment: number, offset: number): Buffer | undefined {
    return this.#lru?.peek(this.#key(segment, offset, false), this.#readOptions)
  }

  has(segment: number, offset: number): boolean {
    return this.#lru?.has(this.#key(segment, offset, false), this.#readOptions) ?? false
  }

  /**
   * Caches the bytes of `value` and returns what the cache keeps, which the
   * caller must not modify; undefined if the cache is off or the value does
   * not fit in it. The cache keeps a copy, except with `given` (the caller
   * hands `value` over: nobody may modify it afterwards) for a Buffer of its
   * own larger than a few KiB.
   */
  set(segment: number, offset: number, value: Uint8Array, given = false): Buffer | undefined {
    const lru = this.#lru
    const size = value.length + ENTRY_OVERHEAD
    if (lru === undefined || size > this.maxBytes) return undefined
    const key = this.#key(segment, offset, true)
    const kept = this.#slabs.hold(value, key, given)
    const options = this.#setOptions
    options.size = size
    lru.set(key, kept, options)
    this.#moveSparsest(lru)
    return kept
  }

  /**
   * While the slabs hold more than twice the cached bytes (plus two slabs),
   * moves the values left in the emptiest one into the current one, freeing
   * it. A move copies less than half a slab and frees a whole one, so the
   * copying costs at most about what the sets that left the holes copied.
   */
  #moveSparsest(lru: LRUCache<number, Buffer>): void {
    const slabs = this.#slabs
    const options = this.#setOptions
    for (let slab = slabs.sparsest(); slab !== undefined; slab = slabs.sparsest()) this.#moveOut(lru, slab, options)
  }

  #moveOut(lru: LRUCache<number, Buffer>, slab: Slab, options: { size: number }): void {
    const slabs = this.#slabs
    for (const key of slab.keys) {
      const value = lru.peek(key, this.#readOptions)
      if (value === undefined || !slabs.isIn(value, slab)) continue
      options.size = value.length + ENTRY_OVERHEAD
      // Replacing the value drops the old place (dispose); it also makes the entry the most recent, as a read would.
      lru.set(key, slabs.hold(value, key, true), options)
    }
  }

  /** Bytes of memory the cache's small values occupy, holes included (at most 2 × their bytes + 2 slabs). */
  get slabBytes(): number {
    return this.#slabs.slabTotal
  }

  delete(segment: number, offset: number): void {
    this.#lru?.delete(this.#key(segment, offset, false))
  }

  /** Bytes that can still be cached without evicting anything. */
  get room(): number {
    return this.#lru === undefined ? 0 : this.maxBytes - this.#lru.calculatedSize
  }

  get bytes(): number {
    return this.#lru?.calculatedSize ?? 0
  }

  get size(): number {
    return this.#lru?.size ?? 0
  }

  /**
   * Forgets the given segments (their files are closed: nothing will read
   * them again). Their entries stay until evicted, as unreachable dead
   * weight; their ordinals are reused only once no fresh one is left, after
   * one pass over the cache removes the entries of every released ordinal
   * (a pass per compaction would stall writers for milliseconds on a big
   * cache).
   */
  releaseSegments(ids: readonly number[]): void {
    for (const id of ids) {
      const ordinal = this.#ordinals.get(id)
      if (ordinal === undefined) continue
      this.#ordinals.delete(id)
      if (ordinal !== NO_ORDINAL) this.#released.push(ordinal)
    }
    this.#lastSegment = -1
  }

  /** Removes every entry carrying a released ordinal and makes those ordinals free. */
  #purgeReleased(): void {
    const released = new Set(this.#released)
    this.#released.length = 0
    const lru = this.#lru
    if (lru !== undefined) {
      const stride = this.#stride
      const doomed: number[] = []
      for (const key of lru.keys()) {
        if (key < TWO_31 && released.has(Math.floor((key + TWO_31) / stride))) doomed.push(key)
      }
      for (const key of doomed) lru.delete(key)
    }
    for (const ordinal of released) this.#free.push(ordinal)
  }

  clear(): void {
    this.#lru?.clear()
    this.#slabs.clear()
    this.#ordinals.clear()
    this.#free.length = 0
    this.#released.length = 0
    this.#nextOrdinal = 0
    this.#lastSegment = -1
  }

  #key(segment: number, offset: number, assign: boolean): number {
    let ordinal: number
    if (segment === this.#lastSegment) ordinal = this.#lastOrdinal
    else {
      const known = this.#ordinals.get(segment)
      if (known === undefined) {
        // A segment without an ordinal has nothing cached under a Smi key.
        if (!assign) return fallbackKey(segment, offset)
        ordinal = this.#assign(segment)
      } else ordinal = known
      this.#lastSegment = segment
      this.#lastOrdinal = ordinal
    }
    if (ordinal === NO_ORDINAL || offset >= this.#stride) return fallbackKey(segment, offset)
    return ordinal * this.#stride + offset - TWO_31
  }

  #assign(segment: number): number {
    if (this.#free.length === 0 && this.#nextOrdinal >= this.#ordinalLimit && this.#released.length > 0) this.#purgeReleased()
    let ordinal = this.#free.pop()
    if (ordinal === undefined) ordinal = this.#nextOrdinal < this.#ordinalLimit ? this.#nextOrdinal++ : NO_ORDINAL
    this.#ordinals.set(segment, ordinal)
    return ordinal
  }
}

/** Unique per position and ≥ 2^32 + 2^31, so it never equals a Smi key. */
function fallbackKey(segment: number, offset: number): number {
  return segment * TWO_32 + offset + TWO_31
}

