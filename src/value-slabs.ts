/**
 * Memory for the value cache's values, so that its byte budget bounds what
 * it keeps alive.
 *
 * A small Buffer from `Buffer.allocUnsafe` or `Buffer.from(string)` is a
 * slice of a pool that later allocations share (8 KiB; 64 KiB in Node 24),
 * and a cached slice keeps its whole pool alive. Under a skewed read load the values that stay
 * cached are spread over thousands of pools: a 4 MiB cache of 100-byte
 * values kept ~90 MiB of ArrayBuffers alive after 2M reads (22× its
 * budget), and the figure kept growing.
 *
 * So small values are copied into slabs the cache owns, back to back, and
 * each slab counts the bytes of the values still cached in it. A slab whose
 * last value leaves is dropped. Eviction leaves holes, so when the slabs hold
 * more than twice the cached bytes (plus two slabs) the emptiest slab is
 * retired and its remaining values are copied into the current slab
 * (`ValueCache` does the moving: only it can find and replace them). Slabs
 * therefore stay within 2 × the cached value bytes + 2 slabs. A moved value
 * is a new Buffer; one handed out before keeps its old slab alive until it
 * is dropped, which is the holder's own memory.
 *
 * Larger values are kept as they are when they own their allocation, and
 * copied into an allocation of their own when they are a view into a larger
 * one (a batch's buffer, a read window).
 */

/** Slab size bounds: the smallest keeps tiny caches tiny, the largest keeps one slab cheap to allocate and move. */
const MIN_SLAB = 4 * 1024
const MAX_SLAB = 256 * 1024
/**
 * Node slices Buffers under Buffer.poolSize / 2 from a shared pool: 4 KiB in
 * Node 20 and 22 (8 KiB pools), 32 KiB in Node 24 (64 KiB pools). Values
 * under 4 KiB go into slabs; a larger value that is a pool slice is not
 * tight (see hold), so it is copied into an allocation of its own.
 */
const POOLED_BELOW = 4096
/** A view may waste this much of its allocation and still be kept as it is. */
const TIGHT_SLACK = 1024
const EMPTY = Buffer.alloc(0)

export interface Slab {
  readonly bytes: Buffer
  /** Bytes handed out, from 0. */
  used: number
  /** Bytes of the values still cached in it. */
  live: number
  /** The cache keys of values placed in it (some since moved or evicted). */
  readonly keys: number[]
  /** Retired: no longer a candidate for moving (its values are being, or were, moved out). */
  retired: boolean
}

export class ValueSlabs {
  readonly slabBytes: number
  /** Values longer than this get an allocation of their own. */
  readonly maxPlaced: number
  readonly #slabs = new Map<ArrayBufferLike, Slab>()
  #current: Slab | null = null
  /** Bytes of all slabs. */
  #total = 0
  /** Bytes of the values still cached in slabs. */
  #live = 0

  constructor(maxBytes: number) {
    let slab = MIN_SLAB
    while (slab < MAX_SLAB && slab * 64 < maxBytes) slab *= 2
    this.slabBytes = slab
    this.maxPlaced = Math.min(POOLED_BELOW - 1, slab >>> 2)
  }

  /** Bytes of all slabs (what the cache's small values keep alive). */
  get slabTotal(): number {
    return this.#total
  }

  /**
   * A Buffer with `value`'s bytes for the cache to keep under `key`: a place
   * in a slab (small values), `value` itself (`given`: the caller hands it
   * over, and it is an allocation of its own), or a copy the size of the value.
   */
  hold(value: Uint8Array, key: number, given: boolean): Buffer {
    const n = value.length
    if (n === 0) return EMPTY
    if (n > this.maxPlaced) {
      const tight = value.byteLength + TIGHT_SLACK >= value.buffer.byteLength && !(value.buffer instanceof SharedArrayBuffer)
      if (given && tight && Buffer.isBuffer(value)) return value
      const own = Buffer.allocUnsafeSlow(n)
      own.set(value)
      return own
    }
    let slab = this.#current
    if (slab === null || slab.used + n > slab.bytes.length) slab = this.#newSlab()
    const at = slab.used
    const bytes = slab.bytes
    if (n <= 32) for (let j = 0; j < n; j++) bytes[at + j] = value[j]!
    else bytes.set(value, at)
    slab.used = at + n
    slab.live += n
    slab.keys.push(key)
    this.#live += n
    return bytes.subarray(at, at + n)
  }

  /** The cache no longer keeps `value` (evicted, deleted or replaced). */
  drop(value: Buffer): void {
    const slab = this.#slabs.get(value.buffer)
    if (slab === undefined) return
    slab.live -= value.length
    this.#live -= value.length
    if (slab.live === 0 && slab !== this.#current) this.#remove(slab)
  }

  /** Whether `value` is a place in `slab`. */
  isIn(value: Buffer, slab: Slab): boolean {
    return value.buffer === slab.bytes.buffer
  }

  /**
   * When the slabs hold more than twice the cached bytes (plus two slabs):
   * the emptiest slab, now retired, whose values the cache must move (hold
   * them again); otherwise undefined.
   */
  sparsest(): Slab | undefined {
    if (this.#total <= 2 * (this.#live + this.slabBytes)) return undefined
    let best: Slab | undefined
    for (const slab of this.#slabs.values()) {
      if (slab === this.#current || slab.retired) continue
      if (best === undefined || slab.live < best.live) best = slab
    }
    if (best !== undefined) best.retired = true
    return best
  }

  clear(): void {
    this.#slabs.clear()
    this.#current = null
    this.#total = 0
    this.#live = 0
  }

  #newSlab(): Slab {
    const previous = this.#current
    const slab: Slab = { bytes: Buffer.allocUnsafeSlow(this.slabBytes), used: 0, live: 0, keys: [], retired: false }
    this.#slabs.set(slab.bytes.buffer, slab)
    this.#total += this.slabBytes
    this.#current = slab
    if (previous !== null && previous.live === 0) this.#remove(previous)
    return slab
  }

  #remove(slab: Slab): void {
    if (this.#slabs.delete(slab.bytes.buffer)) this.#total -= slab.bytes.length
  }
}
