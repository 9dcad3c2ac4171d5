/**
 * Read-around for point reads that go to the disk.
 *
 * A `get` that misses the value cache reads exactly its record with `pread`.
 * Against the page cache that is the cheapest read there is, but after a
 * restart with a cold page cache every such read waits for the disk, and
 * the kernel does not read ahead for reads at random offsets. Stores that
 * map their files (LMDB, LevelDB's tables) get the kernel's read-around on
 * every page fault instead: a fault brings in the pages around it, so the
 * first few thousand reads after a restart warm much of a store that fits
 * in RAM. Measured on this project's machine (bench/NOTES.md section 13):
 * a 64 KiB read from the disk takes ~1.6x as long as a 128-byte one and
 * brings in the records of 16 pages; the default window, 128 KiB, is what
 * the kernel reads around a page fault.
 *
 * So reads are timed: once a miss takes longer than SLOW_READ_MS (it came
 * from the disk, not from the page cache), the following misses read the
 * aligned window of `window` bytes around their record and take the record
 * from it. After FAST_TO_STOP window reads in a row that were fast (the
 * page cache has the store again) misses go back to exact reads, which
 * copy less. Read-around is off for a store whose data files are larger
 * than half the machine's RAM: the page cache could not keep what it
 * reads, so the extra bytes would only cost disk bandwidth.
 *
 * Only the page cache is filled this way: the value cache keeps its own
 * policy (src/cache-fill.ts), and gets only the value that was asked for.
 */
import type { FileSystem } from './io/file-system.js'
import type { Segment } from './log/segment.js'

/** A read slower than this (ms) did not come from the page cache (which answers in microseconds). */
export const SLOW_READ_MS = 0.1
/** Fast window reads in a row after which misses read exactly their record again. */
export const FAST_TO_STOP = 8

export interface ReadAroundOptions {
  /** Bytes read around a record once reads go to the disk; 0 turns read-around off. */
  window: number
  /** High-resolution clock in ms (the engine's Clock.monotonic). */
  now: () => number
  /** Total bytes of the data files (called only when a slow read would switch read-around on). */
  storeBytes: () => number
  /** RAM of the machine; read-around stays off for stores larger than half of it. */
  ramBytes: number
}

export class ReadAround {
  readonly #window: number
  readonly #now: () => number
  readonly #storeBytes: () => number
  readonly #ramBytes: number
  #active = false
  #fastInARow = 0
  /** Window reads done (Stats.readArounds). */
  count = 0

  constructor(options: ReadAroundOptions) {
    this.#window = options.window
    this.#now = options.now
    this.#storeBytes = options.storeBytes
    this.#ramBytes = options.ramBytes
  }

  /** Whether misses currently read windows (reads were going to the disk). */
  get active(): boolean {
    return this.#active
  }

  /** The value of the record of `size` bytes at `offset` in `segment`, CRC-checked, in a Buffer of its own. */
  value(fs: FileSystem, segment: Segment, offset: number, size: number): Buffer {
    const window = this.#window
    if (this.#active && size < window) return this.#around(fs, segment, offset, size, window)
    if (window === 0) return segment.readValue(fs, offset, size)
    const start = this.#now()
    const value = segment.readValue(fs, offset, size)
    if (this.#now() - start > SLOW_READ_MS && this.#storeBytes() * 2 <= this.#ramBytes) {
      this.#active = true
      this.#fastInARow = 0
    }
    return value
  }

  #around(fs: FileSystem, segment: Segment, offset: number, size: number, window: number): Buffer {
    // Aligned, so that windows never overlap and the kernel reads whole pages.
    const from = offset - (offset % window)
    const to = Math.max(offset + size, Math.min(from + window, segment.size))
    this.count++
    const start = this.#now()
    const value = segment.readValueWithin(fs, offset, size, from, to)
    if (this.#now() - start > SLOW_READ_MS) this.#fastInARow = 0
    else if (++this.#fastInARow >= FAST_TO_STOP) this.#active = false
    return value
  }
}
