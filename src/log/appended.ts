/**
 * The hint entries of the records this process appended to a segment,
 * collected by the write path as each group lands in the file. Sealing (and
 * the hint close() writes for the active segment) encodes these instead of
 * re-reading and CRC-checking the whole data file: for a 64 MiB segment that
 * scan was ~1 s of main-thread CPU.
 *
 * Kept compact because a segment of small records holds ~460k of them and
 * lives as long as the segment is active: one entry per record, packed into
 * 256 KiB chunks (no object per record), ~23 bytes for a 16-byte key against
 * ~64 in a HintEntries. Offsets are not stored: records are contiguous, so
 * each one starts where the previous one ended, and a batch header is a
 * SKIP entry.
 *
 *   entry: flags u8 | seq varint | size varint | key length varint | key | [expires varint]
 *     flags bits 0-1: record type (PUT, DELETE); bit 2: an expires follows.
 *   skip:  SKIP u8 | byte count varint   (a batch header: no hint entry)
 *
 * The collection covers [from, end) of its segment. It is usable only when
 * `end` is the segment's size: every append went through `group()` with the
 * offset the previous one ended at, so no byte in between went uncollected.
 * Anything else (an append that skipped collection, a rollback that could not
 * be made, a failed fdatasync) marks it broken and sealing scans instead.
 */
import { FILE_HEADER_SIZE } from '../format/file-header.js'
import type { HintEntries } from '../format/hint.js'
import { putVarint } from '../format/varint.js'
import type { Segment } from './segment.js'

const CHUNK_SIZE = 256 * 1024
const FLAG_EXPIRES = 4
const SKIP = 0x80
/** Bytes an entry needs besides its key, at most: flags, three 8-byte varints and a 5-byte one. */
const MAX_OVERHEAD = 1 + 3 * 8 + 5

export class AppendedEntries {
  /** Records before this offset were not collected (written before this process opened the segment). */
  readonly from: number
  /** Where the last collected record (or batch header) ends. */
  end: number
  count = 0
  broken = false
  readonly #chunks: Buffer[] = []
  /** Used bytes of each full chunk (the last chunk's is #at). */
  readonly #used: number[] = []
  #chunk: Buffer | undefined
  #at = 0

  constructor(from: number) {
    this.from = from
    this.end = from
  }

  /** A group of records starts at `offset`, after `headerSize` bytes of batch header. False if broken. */
  group(offset: number, headerSize: number): boolean {
    if (this.broken) return false
    if (offset !== this.end) {
      // Bytes between the last collected record and this one were never seen here.
      this.breakOff()
      return false
    }
    if (headerSize > 0) {
      const at = this.#reserve(1 + 5)
      const buf = this.#chunk!
      buf[at] = SKIP
      this.#at = putVarint(buf, at + 1, headerSize)
      this.end += headerSize
    }
    return true
  }

  /** One record of `size` bytes at `end`, its key in `src[keyStart, keyEnd)`; call after group(). */
  add(type: number, seq: number, expires: number, size: number, src: Uint8Array, keyStart: number, keyEnd: number): void {
    const length = keyEnd - keyStart
    let at = this.#reserve(MAX_OVERHEAD + length)
    const buf = this.#chunk!
    buf[at++] = type | (expires !== 0 ? FLAG_EXPIRES : 0)
    at = putVarint(buf, at, seq)
    at = putVarint(buf, at, size)
    at = putVarint(buf, at, length)
    // A byte loop: Buffer#set is a native call, slower than this for short keys.
    for (let j = keyStart; j < keyEnd; j++) buf[at++] = src[j]!
    if (expires !== 0) at = putVarint(buf, at, expires)
    this.#at = at
    this.end += size
    this.count++
  }

  /** Gives up on the collection (and its memory): the segment will be scanned. */
  breakOff(): void {
    this.broken = true
    this.#chunks.length = 0
    this.#used.length = 0
    this.#chunk = undefined
  }

  /** Adds every collected entry to `out`, with its offset. */
  decodeInto(out: HintEntries): void {
    let offset = this.from
    const chunks = this.#chunk === undefined ? [] : [...this.#chunks, this.#chunk]
    const used = [...this.#used, this.#at]
    for (let c = 0; c < chunks.length; c++) {
      const buf = chunks[c]!
      const end = used[c]!
      let at = 0
      while (at < end) {
        const flags = buf[at++]!
        if (flags === SKIP) {
          offset += readVarint(buf, at)
          at = varintEnd
          continue
        }
        const seq = readVarint(buf, at)
        const size = readVarint(buf, varintEnd)
        const length = readVarint(buf, varintEnd)
        const keyStart = varintEnd
        at = keyStart + length
        let expires = 0
        if ((flags & FLAG_EXPIRES) !== 0) {
          expires = readVarint(buf, at)
          at = varintEnd
        }
        out.add(flags & 3, seq, expires, offset, size, buf, keyStart, keyStart + length)
        offset += size
      }
    }
  }

  /** Where `need` bytes fit in the current chunk (starting a new one if they do not). */
  #reserve(need: number): number {
    const chunk = this.#chunk
    if (chunk !== undefined && this.#at + need <= chunk.length) return this.#at
    if (chunk !== undefined) {
      this.#chunks.push(chunk)
      this.#used.push(this.#at)
    }
    this.#chunk = Buffer.allocUnsafe(Math.max(CHUNK_SIZE, need))
    this.#at = 0
    return 0
  }
}

const collected = new WeakMap<Segment, AppendedEntries>()

/**
 * The collection for `segment`, started at `offset` if there is none yet: a
 * segment created by this process starts at its file header, a recovered one
 * where this process first appended to it.
 */
export function appendedEntries(segment: Segment, offset: number): AppendedEntries {
  let entries = collected.get(segment)
  if (entries === undefined) {
    entries = new AppendedEntries(offset)
    collected.set(segment, entries)
  }
  return entries
}

/**
 * The collection for `segment` if it covers all of its bytes after `from`;
 * otherwise undefined. A segment this process never appended to has an empty
 * one from its size (every record of it is before `from`).
 */
export function completeEntries(segment: Segment): AppendedEntries | undefined {
  const entries = collected.get(segment)
  if (entries === undefined) return new AppendedEntries(segment.size)
  if (entries.broken || entries.end !== segment.size || entries.from < FILE_HEADER_SIZE) return undefined
  return entries
}

/** Marks the collection of `segment` unusable (its file may hold bytes it does not describe). */
export function breakAppended(segment: Segment): void {
  collected.get(segment)?.breakOff()
}

/** Frees the collection of a sealed segment. */
export function forgetAppended(segment: Segment): void {
  collected.delete(segment)
}

/** Where readVarint stopped. */
let varintEnd = 0

function readVarint(buf: Buffer, at: number): number {
  let v = 0
  let scale = 1
  for (;;) {
    const b = buf[at++]!
    v += (b & 0x7f) * scale
    if (b < 0x80) break
    scale *= 128
  }
  varintEnd = at
  return v
}
