/**
 * Byte-bounded LRU of values read from disk, keyed by record position.
 * Positions never get new contents (the log is append-only), so a cached
 * value can never go stale; superseded ones simply age out.
 */
import { LRUCache } from 'lru-cache'

const ENTRY_OVERHEAD = 64
const TWO_32 = 0x1_0000_0000

export function positionKey(segment: number, offset: number): number {
  return segment * TWO_32 + offset
}

export class ValueCache {
  readonly #lru: LRUCache<number, Buffer> | undefined
  hits = 0
  misses = 0

  constructor(maxBytes: number) {
    this.#lru =
      maxBytes > 0
        ? new LRUCache<number, Buffer>({
            maxSize: maxBytes,
            sizeCalculation: (value) => value.length + ENTRY_OVERHEAD,
          })
        : undefined
  }

  get(segment: number, offset: number): Buffer | undefined {
    const value = this.#lru?.get(positionKey(segment, offset))
    if (value === undefined) this.misses++
    else this.hits++
    return value
  }

  /** A lookup that neither counts as a hit or miss nor refreshes recency (scans must not churn the LRU). */
  peek(segment: number, offset: number): Buffer | undefined {
    return this.#lru?.peek(positionKey(segment, offset))
  }

  set(segment: number, offset: number, value: Buffer): void {
    this.#lru?.set(positionKey(segment, offset), value)
  }

  delete(segment: number, offset: number): void {
    this.#lru?.delete(positionKey(segment, offset))
  }

  get bytes(): number {
    return this.#lru?.calculatedSize ?? 0
  }

  clear(): void {
    this.#lru?.clear()
  }
}
