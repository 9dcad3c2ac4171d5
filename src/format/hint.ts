/**
 * A hint file lists, for one data segment, where each record lives, so that
 * opening a database reads keys and positions, never values (Bitcask's hint
 * files). Entries are sorted by key bytes, so that opening can merge the
 * hints of all segments into the index in one ascending pass (bulk load)
 * instead of a random insert per key.
 *
 *   file header (8 B, magic "CSKH", version 2, see file-header.ts)
 *   +----------+--------------------+---------------------+-----------------+----------------------+
 *   | flags u8 | data length varint | [tail crc32 u32]    | replaces varint | replaced ids varint… |
 *   +----------+--------------------+---------------------+-----------------+----------------------+
 *     flags bit 0 PARTIAL: written by close() for the active segment, which
 *     may grow later; without it the segment is sealed and never grows.
 *     data length: the hint covers bytes [0, data length) of its segment.
 *     tail crc32 (PARTIAL only): of the segment's last TAIL_CHECK bytes
 *     before data length, so that a data file that changed under the hint
 *     (cut and rewritten by hand, restored from elsewhere) is noticed.
 *     replaced ids: segments this one was compacted from (none for a normal one).
 *   entries, ascending by key bytes, then by seq:
 *   +----------+---------------+---------------+--------+------------+---------------+-------------+-------------------+
 *   | flags u8 | shared varint | suffix varint | suffix | seq varint | offset varint | size varint | [expires varint]  |
 *   +----------+---------------+---------------+--------+------------+---------------+-------------+-------------------+
 *     flags: bits 0-1 record type (1 PUT, 2 DELETE), bit 2: an expires field
 *     follows (most records never expire, so most entries skip it).
 *     shared: how many leading bytes the key shares with the previous
 *     entry's key; suffix: the length of the rest, whose bytes follow.
 *   trailer:
 *   +-------------+-----------+
 *   | count u32   | crc32 u32 |   crc32 over every byte before it
 *   +-------------+-----------+
 *
 * varint: unsigned LEB128 (7 bits per byte, least significant group first,
 * high bit set on all but the last byte), at most 8 bytes, values up to
 * 2^53 - 1. A 16-byte key with a 100-byte value takes ~26 bytes (45 in
 * version 1).
 *
 * Version 1 hints (fixed-width entries in file order, no flags and no data
 * length) are still read, so databases written before stay readable.
 *
 * The hint is written to a temporary name, fsynced and renamed, and only
 * after its data segment was fsynced: a hint never names bytes that a power
 * loss could take back. A hint that fails its checksum is ignored and the
 * data segment is scanned instead.
 */
import { crc32 } from 'node:zlib'
import { FILE_HEADER_SIZE, HINT_FORMAT_VERSION, HINT_MAGIC, checkFileHeader, encodeFileHeader } from './file-header.js'
import { MIN_RECORD_SIZE } from './record.js'
import { putVarint } from './varint.js'
import { corruption } from '../errors.js'
import { runSliced, runToEnd, sortWork, type SlicedWork, type TimeSlicer } from '../time-slice.js'

const TRAILER_SIZE = 8
const TWO_32 = 0x1_0000_0000
export const HINT_PARTIAL = 1
/** Bytes before the covered end that a partial hint's tail crc32 covers (fewer in a smaller segment). */
export const TAIL_CHECK = 4096
const FLAG_TYPE_MASK = 3
const FLAG_EXPIRES = 4
/** Bytes an entry needs besides its key, at most: flags, two 5-byte and four 8-byte varints. */
const MAX_ENTRY_OVERHEAD = 1 + 2 * 5 + 4 * 8
/** Version 1 entries: type u8, seq u64, expires u64, offset u32, size u32, key length u32. */
const V1_ENTRY_HEADER_SIZE = 29
const LEGACY_VERSION = 1

export interface HintEntry {
  type: number
  seq: number
  expires: number
  offset: number
  size: number
  key: Buffer
}

export interface Hint {
  replaces: number[]
  entries: HintEntry[]
  partial: boolean
  dataLength: number
}

export interface HintOptions {
  /** Bytes of the segment the hint covers; default: where its last record ends. */
  dataLength?: number
  /** Written for a segment that may still grow (the active one, on close). */
  partial?: boolean
  /** With `partial`: crc32 of the covered bytes' last TAIL_CHECK bytes (see tailRange). */
  tailCrc?: number
}

/** The bytes a partial hint's tail crc32 covers: [start, dataLength). */
export function tailRange(dataLength: number): { start: number; length: number } {
  const start = Math.max(FILE_HEADER_SIZE, dataLength - TAIL_CHECK)
  return { start, length: dataLength - start }
}

/**
 * Entries collected for a hint, in any order, without an object or a Buffer
 * per entry (a 64 MiB segment of small records holds a million): key bytes
 * packed in one buffer, numbers in typed arrays.
 */
export class HintEntries {
  count = 0
  /** Key bytes of every entry, back to back. */
  keys: Buffer = Buffer.allocUnsafe(64 * 1024)
  keyBytes = 0
  /** Per entry: where its key starts in `keys`, and its length. */
  keyAt = new Uint32Array(2 * 1024)
  /** Per entry: type, seq, expires, offset, size. */
  nums = new Float64Array(5 * 1024)

  add(type: number, seq: number, expires: number, offset: number, size: number, src: Uint8Array, keyStart: number, keyEnd: number): void {
    const i = this.count
    const length = keyEnd - keyStart
    if (this.keyBytes + length > this.keys.length) {
      const grown = Buffer.allocUnsafe(Math.max(2 * this.keys.length, this.keyBytes + length))
      this.keys.copy(grown, 0, 0, this.keyBytes)
      this.keys = grown
    }
    if (2 * i + 2 > this.keyAt.length) {
      const keyAt = new Uint32Array(2 * this.keyAt.length)
      keyAt.set(this.keyAt)
      this.keyAt = keyAt
      const nums = new Float64Array(2 * this.nums.length)
      nums.set(this.nums)
      this.nums = nums
    }
    const keys = this.keys
    let at = this.keyBytes
    for (let j = keyStart; j < keyEnd; j++) keys[at++] = src[j]!
    this.keyAt[2 * i] = this.keyBytes
    this.keyAt[2 * i + 1] = length
    this.keyBytes = at
    const b = 5 * i
    const nums = this.nums
    nums[b] = type
    nums[b + 1] = seq
    nums[b + 2] = expires
    nums[b + 3] = offset
    nums[b + 4] = size
    this.count = i + 1
  }

  /** Like add(), the key given as a latin1 string (one char per byte, as the index holds keys). */
  addLatin1(type: number, seq: number, expires: number, offset: number, size: number, key: string): void {
    const length = key.length
    if (this.keyBytes + length > this.keys.length) {
      const grown = Buffer.allocUnsafe(Math.max(2 * this.keys.length, this.keyBytes + length))
      this.keys.copy(grown, 0, 0, this.keyBytes)
      this.keys = grown
    }
    // The key bytes go in first; add() then copies them onto themselves (same offsets): a no-op.
    const keys = this.keys
    const at = this.keyBytes
    for (let j = 0; j < length; j++) keys[at + j] = key.charCodeAt(j)
    this.add(type, seq, expires, offset, size, keys, at, at + length)
  }

  /** Negative if entry a sorts before entry b (key bytes, then seq). */
  compare(a: number, b: number): number {
    const keys = this.keys
    const at = this.keyAt
    const sa = at[2 * a]!
    const la = at[2 * a + 1]!
    const sb = at[2 * b]!
    const lb = at[2 * b + 1]!
    const n = la < lb ? la : lb
    for (let j = 0; j < n; j++) {
      const d = keys[sa + j]! - keys[sb + j]!
      if (d !== 0) return d
    }
    if (la !== lb) return la - lb
    return this.nums[5 * a + 1]! - this.nums[5 * b + 1]!
  }
}

// --- sorting ---

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1
const LO = LITTLE_ENDIAN ? 0 : 1
const HI = 1 - LO

/**
 * The order of the entries by key bytes, then seq. A comparison sort with a
 * JS comparator costs ~2 µs per entry at half a million entries, so instead
 * each entry becomes one 64-bit number: the 8 key bytes after the prefix all
 * keys share, with the low bits replaced by the entry's index, and those are
 * sorted natively (BigUint64Array.prototype.sort, ~0.2 µs per entry). Only
 * runs whose 8 bytes tie (keys that differ later, or the same key twice) are
 * then sorted with the comparator.
 */
export function sortedOrder(c: HintEntries): Uint32Array {
  return runToEnd(sortedOrderWork(c))
}

/** Entries visited between yields of visitHintWork, and the work units (time-slice.ts) they count as. */
const STEP = 256
const STEP_UNITS = 32
/** Entries sorted natively in one go (~0.2 ms) before the runs are merged a slice at a time. */
const NATIVE_RUN = 4096

/**
 * Items of a cheap loop step between yields of sliced work, and the work
 * units (time-slice.ts) they count as. The loops themselves are plain
 * functions called a chunk at a time: a generator keeps every local that
 * lives across a yield in its context object, which made these loops several
 * times slower (bench/NOTES.md section 13).
 */
const CHUNK = 256
const CHUNK_UNITS = CHUNK >>> 3

/** sortedOrder as sliced work (time-slice.ts): no stretch longer than a few hundred entries' worth. */
export function* sortedOrderWork(c: HintEntries): SlicedWork<Uint32Array> {
  const n = c.count
  const order = new Uint32Array(n)
  for (let i = 0; i < n; i += CHUNK) {
    identity(order, i, Math.min(n, i + CHUNK))
    yield CHUNK_UNITS >>> 2
  }
  let sorted = true
  for (let i = 1; i < n && sorted; i += CHUNK) {
    sorted = ascending(c, i, Math.min(n, i + CHUNK))
    yield CHUNK_UNITS
  }
  if (sorted) return order // as compaction output, written in key order, is
  // The prefix all keys share: the 8 bytes after it are what tells them apart.
  let p = c.keyAt[1]!
  for (let i = 1; i < n && p > 0; i += CHUNK) {
    p = sharedPrefix(c, i, Math.min(n, i + CHUNK), p)
    yield CHUNK_UNITS
  }
  const idxBits = 32 - Math.clz32(n - 1)
  let words = new Uint32Array(2 * n)
  for (let i = 0; i < n; i += CHUNK) {
    fillWords(c, words, i, Math.min(n, i + CHUNK), p, idxBits)
    yield CHUNK_UNITS
  }
  words = yield* sortWords(words, n)
  const mask = idxBits === 32 ? 0xffffffff : (1 << idxBits) - 1
  for (let i = 0; i < n; i += CHUNK) {
    indexesOf(words, order, i, Math.min(n, i + CHUNK), mask)
    yield CHUNK_UNITS
  }
  // Runs with equal 8-byte windows: finish with the full comparison.
  const compare = (a: number, b: number) => c.compare(a, b)
  for (let i = 0; i < n; ) {
    const j = runEnd(words, i, n, idxBits)
    if (j - i > 1) {
      const run = Array.from(order.subarray(i, j))
      yield* sortWork(run, compare)
      order.set(run, i)
    }
    if (((i ^ j) & ~(CHUNK - 1)) !== 0) yield CHUNK_UNITS
    i = j
  }
  return order
}

function identity(order: Uint32Array, from: number, to: number): void {
  for (let i = from; i < to; i++) order[i] = i
}

/** The entry indexes (low bits) of sorted words from .. to. */
function indexesOf(words: Uint32Array, order: Uint32Array, from: number, to: number, mask: number): void {
  for (let i = from; i < to; i++) order[i] = (words[2 * i + LO]! & mask) >>> 0
}

/** Whether entries from - 1 .. to are in order. */
function ascending(c: HintEntries, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (c.compare(i - 1, i) > 0) return false
  return true
}

/** The length (at most p) of the prefix that entries from .. to share with entry 0. */
function sharedPrefix(c: HintEntries, from: number, to: number, p: number): number {
  const keys = c.keys
  const keyAt = c.keyAt
  const s0 = keyAt[0]!
  for (let i = from; i < to && p > 0; i++) {
    const s = keyAt[2 * i]!
    const l = keyAt[2 * i + 1]!
    if (l < p) p = l
    let j = 0
    while (j < p && keys[s + j] === keys[s0 + j]) j++
    p = j
  }
  return p
}

/** Per entry a 64-bit sort word: the 8 key bytes after the shared prefix p, the entry's index in the low idxBits. */
function fillWords(c: HintEntries, words: Uint32Array, from: number, to: number, p: number, idxBits: number): void {
  const keys = c.keys
  const keyAt = c.keyAt
  for (let i = from; i < to; i++) {
    const s = keyAt[2 * i]!
    const l = keyAt[2 * i + 1]!
    words[2 * i + HI] = ((byteAt(keys, s, l, p) << 24) | (byteAt(keys, s, l, p + 1) << 16) | (byteAt(keys, s, l, p + 2) << 8) | byteAt(keys, s, l, p + 3)) >>> 0
    const low = (byteAt(keys, s, l, p + 4) << 24) | (byteAt(keys, s, l, p + 5) << 16) | (byteAt(keys, s, l, p + 6) << 8) | byteAt(keys, s, l, p + 7)
    words[2 * i + LO] = (((low >>> idxBits) << idxBits) | i) >>> 0
  }
}

/** Byte k of the key at keys[s .. s + l), 0 past its end. */
function byteAt(keys: Buffer, s: number, l: number, k: number): number {
  return k < l ? keys[s + k]! : 0
}

/** The end of the run of sorted words from i whose 8-byte windows are equal. */
function runEnd(words: Uint32Array, i: number, n: number, idxBits: number): number {
  const hi = words[2 * i + HI]
  const lo = words[2 * i + LO]! >>> idxBits
  let j = i + 1
  while (j < n && words[2 * j + HI] === hi && words[2 * j + LO]! >>> idxBits === lo) j++
  return j
}

/**
 * Sorts n 64-bit numbers (pairs of u32 words, native byte order, all
 * distinct): runs of NATIVE_RUN with the native sort, then merged a slice at
 * a time. Returns the sorted array (`words` or a second buffer).
 */
function* sortWords(words: Uint32Array<ArrayBuffer>, n: number): SlicedWork<Uint32Array<ArrayBuffer>> {
  for (let lo = 0; lo < n; lo += NATIVE_RUN) {
    new BigUint64Array(words.buffer, words.byteOffset + 8 * lo, Math.min(NATIVE_RUN, n - lo)).sort()
    yield NATIVE_RUN / 8
  }
  if (n <= NATIVE_RUN) return words
  let from = words
  let to = new Uint32Array(2 * n)
  const cursor: MergeCursor = { i: 0, j: 0, k: 0 }
  for (let width = NATIVE_RUN; width < n; width *= 2) {
    for (let lo = 0; lo < n; lo += 2 * width) {
      const mid = Math.min(lo + width, n)
      const hi = Math.min(lo + 2 * width, n)
      cursor.i = lo
      cursor.j = mid
      cursor.k = lo
      while (cursor.i < mid && cursor.j < hi) {
        mergeSome(from, to, cursor, mid, hi, CHUNK)
        yield CHUNK_UNITS
      }
      const { i, j } = cursor
      let k = cursor.k
      to.set(from.subarray(2 * i, 2 * mid), 2 * k)
      k += mid - i
      to.set(from.subarray(2 * j, 2 * hi), 2 * k)
    }
    ;[from, to] = [to, from]
  }
  return from
}

/** Where a merge of two runs of sort words stands: next of the left run, next of the right, next output. */
interface MergeCursor {
  i: number
  j: number
  k: number
}

/** Merges up to `budget` words of runs [i, mid) and [j, hi) of `from` into `to`. */
function mergeSome(from: Uint32Array, to: Uint32Array, cursor: MergeCursor, mid: number, hi: number, budget: number): void {
  let i = cursor.i
  let j = cursor.j
  let k = cursor.k
  const stop = k + budget
  while (i < mid && j < hi && k < stop) {
    const ah = from[2 * i + HI]!
    const bh = from[2 * j + HI]!
    const fromI = ah < bh || (ah === bh && from[2 * i + LO]! < from[2 * j + LO]!)
    const src = fromI ? i++ : j++
    to[2 * k] = from[2 * src]!
    to[2 * k + 1] = from[2 * src + 1]!
    k++
  }
  cursor.i = i
  cursor.j = j
  cursor.k = k
}

// --- encoding ---

/** Encodes a hint of collected entries (in any order; they are written sorted). */
export function encodeHintEntries(replaces: readonly number[], c: HintEntries, options: HintOptions = {}): Buffer {
  return runToEnd(encodeHintEntriesWork(replaces, c, options))
}

/**
 * encodeHintEntries a slice at a time (time-slice.ts): sorting and encoding
 * the ~460k entries of a 64 MiB segment is a few hundred ms of work, which
 * would otherwise hold up every put meanwhile. The bytes are the same.
 */
export function encodeHintEntriesSliced(replaces: readonly number[], c: HintEntries, options: HintOptions, slicer: TimeSlicer): Promise<Buffer> {
  return runSliced(encodeHintEntriesWork(replaces, c, options), slicer)
}

/** Entries encoded between yields (~100 ns each: a plain function per step, see encodeEntries), and the work units they count as. */
const ENCODE_STEP = 256
const ENCODE_UNITS = 96

function* encodeHintEntriesWork(replaces: readonly number[], c: HintEntries, options: HintOptions): SlicedWork<Buffer> {
  const n = c.count
  const nums = c.nums
  let dataLength = options.dataLength
  if (dataLength === undefined) {
    dataLength = FILE_HEADER_SIZE
    for (let i = 0; i < n; i++) dataLength = Math.max(dataLength, nums[5 * i + 3]! + nums[5 * i + 4]!)
    yield n >>> 6
  }
  const order = yield* sortedOrderWork(c)
  const buf = Buffer.allocUnsafe(FILE_HEADER_SIZE + 1 + 8 + 4 + 5 + 5 * replaces.length + c.keyBytes + n * MAX_ENTRY_OVERHEAD + TRAILER_SIZE)
  encodeFileHeader(HINT_MAGIC, HINT_FORMAT_VERSION).copy(buf, 0)
  let at = FILE_HEADER_SIZE
  const partial = options.partial === true
  buf[at++] = partial ? HINT_PARTIAL : 0
  at = putVarint(buf, at, dataLength)
  if (partial) at = buf.writeUInt32BE(options.tailCrc ?? 0, at)
  at = putVarint(buf, at, replaces.length)
  for (const id of replaces) at = putVarint(buf, at, id)
  const state: EncodeState = { at, prevStart: 0, prevLength: 0 }
  // The checksum is taken as the bytes are written, a step's worth at a time (~11 MB for a 64 MiB segment).
  let crc = 0
  let crcAt = 0
  for (let k = 0; k < n; k += ENCODE_STEP) {
    encodeEntries(buf, c, order, k, Math.min(n, k + ENCODE_STEP), state)
    crc = crc32(buf.subarray(crcAt, state.at), crc)
    crcAt = state.at
    yield ENCODE_UNITS
  }
  at = state.at
  buf.writeUInt32BE(n, at)
  buf.writeUInt32BE(crc32(buf.subarray(crcAt, at + 4), crc), at + 4)
  return buf.subarray(0, at + TRAILER_SIZE)
}

/** Where encoding stands between steps: the next byte, and the previous key (for the shared prefix). */
interface EncodeState {
  at: number
  prevStart: number
  prevLength: number
}

/**
 * Encodes entries order[from .. to) at state.at. A plain function, not part
 * of the generator that calls it: a generator keeps every local that lives
 * across a yield in its context object, and this loop runs ~500k times per
 * sealed segment (section 13 of bench/NOTES.md).
 */
function encodeEntries(buf: Buffer, c: HintEntries, order: Uint32Array, from: number, to: number, state: EncodeState): void {
  const keys = c.keys
  const keyAt = c.keyAt
  const nums = c.nums
  let at = state.at
  let prevStart = state.prevStart
  let prevLength = state.prevLength
  for (let k = from; k < to; k++) {
    const i = order[k]!
    const b = 5 * i
    const expires = nums[b + 2]!
    buf[at++] = nums[b]! | (expires !== 0 ? FLAG_EXPIRES : 0)
    const start = keyAt[2 * i]!
    const length = keyAt[2 * i + 1]!
    const max = length < prevLength ? length : prevLength
    let shared = 0
    while (shared < max && keys[start + shared] === keys[prevStart + shared]) shared++
    at = putVarint(buf, at, shared)
    at = putVarint(buf, at, length - shared)
    // A byte loop: Buffer#copy is a native call, slower than this for short keys.
    for (let j = start + shared; j < start + length; j++) buf[at++] = keys[j]!
    at = putVarint(buf, at, nums[b + 1]!)
    at = putVarint(buf, at, nums[b + 3]!)
    at = putVarint(buf, at, nums[b + 4]!)
    if (expires !== 0) at = putVarint(buf, at, expires)
    prevStart = start
    prevLength = length
  }
  state.at = at
  state.prevStart = prevStart
  state.prevLength = prevLength
}

/** Encodes a hint; entries may come in any order. */
export function encodeHint(replaces: readonly number[], entries: readonly HintEntry[], options: HintOptions = {}): Buffer {
  const c = new HintEntries()
  for (const e of entries) c.add(e.type, e.seq, e.expires, e.offset, e.size, e.key, 0, e.key.length)
  return encodeHintEntries(replaces, c, options)
}

// --- decoding ---

export interface HintHeader {
  version: number
  partial: boolean
  /** Version 2: from the header. Version 1 (no such field): -1 until checkHint computes it. */
  dataLength: number
  /** Partial hints: crc32 of the covered bytes' tail (see tailRange); 0 otherwise. */
  tailCrc: number
  replaces: number[]
  entriesStart: number
  entriesEnd: number
  count: number
}

/** Where readVarint stopped. */
let varintEnd = 0

/** Reads a varint at `at` (ending before `end`); sets varintEnd. Throws CORRUPTION if malformed. */
function readVarint(buf: Buffer, at: number, end: number, file: string): number {
  // Up to 4 bytes (28 bits: every offset and size, seqs below 2^28) in int
  // arithmetic, unrolled: an open parses three of these per key.
  if (at + 4 <= end) {
    let b = buf[at]!
    let v = b & 0x7f
    if (b < 0x80) {
      varintEnd = at + 1
      return v
    }
    b = buf[at + 1]!
    v |= (b & 0x7f) << 7
    if (b < 0x80) {
      varintEnd = at + 2
      return v
    }
    b = buf[at + 2]!
    v |= (b & 0x7f) << 14
    if (b < 0x80) {
      varintEnd = at + 3
      return v
    }
    b = buf[at + 3]!
    v |= (b & 0x7f) << 21
    if (b < 0x80) {
      varintEnd = at + 4
      return v
    }
  }
  let v = 0
  let scale = 1
  for (let i = 0; i < 8; i++) {
    if (at >= end) break
    const b = buf[at++]!
    v += (b & 0x7f) * scale
    if (b < 0x80) {
      if (v > Number.MAX_SAFE_INTEGER) break
      varintEnd = at
      return v
    }
    scale *= 128
  }
  throw corruption('malformed number in hint', file, at)
}

/** Checks the file header and checksum and reads the hint header; throws CORRUPTION (or UNSUPPORTED_FORMAT). */
export function readHintHeader(buf: Buffer, file: string): HintHeader {
  const version = checkFileHeader(buf, HINT_MAGIC, file, [LEGACY_VERSION, HINT_FORMAT_VERSION])
  // Smallest header: version 1 a u32 count of replaced ids; version 2 flags and two one-byte varints.
  if (buf.length < FILE_HEADER_SIZE + (version === LEGACY_VERSION ? 4 : 3) + TRAILER_SIZE) throw corruption('hint file is truncated', file, buf.length)
  const crcAt = buf.length - 4
  if (buf.readUInt32BE(crcAt) !== crc32(buf.subarray(0, crcAt))) throw corruption('hint checksum mismatch', file, crcAt)
  const count = buf.readUInt32BE(crcAt - 4)
  const end = crcAt - 4
  let at = FILE_HEADER_SIZE
  const replaces: number[] = []
  if (version === LEGACY_VERSION) {
    const replaceCount = buf.readUInt32BE(at)
    at += 4
    if (at + replaceCount * 4 > end) throw corruption('hint replaces list overruns the file', file, at)
    for (let i = 0; i < replaceCount; i++, at += 4) replaces.push(buf.readUInt32BE(at))
    return { version, partial: false, dataLength: -1, tailCrc: 0, replaces, entriesStart: at, entriesEnd: end, count }
  }
  const flags = buf[at++]!
  if ((flags & ~HINT_PARTIAL) !== 0) throw corruption(`unknown hint flags ${flags}`, file, at - 1)
  const partial = (flags & HINT_PARTIAL) !== 0
  const dataLength = readVarint(buf, at, end, file)
  if (dataLength < FILE_HEADER_SIZE) throw corruption('hint data length is below the file header', file, at)
  at = varintEnd
  let tailCrc = 0
  if (partial) {
    if (at + 4 > end) throw corruption('hint header is truncated', file, at)
    tailCrc = buf.readUInt32BE(at)
    at += 4
  }
  const replaceCount = readVarint(buf, at, end, file)
  at = varintEnd
  if (replaceCount > end - at) throw corruption('hint replaces list overruns the file', file, at)
  for (let i = 0; i < replaceCount; i++) {
    replaces.push(readVarint(buf, at, end, file))
    at = varintEnd
  }
  return { version, partial, dataLength, tailCrc, replaces, entriesStart: at, entriesEnd: end, count }
}

/**
 * Walks the entries of a version 2 hint in key order, checking each: that it
 * is well formed, that keys ascend, and that it names a record inside the
 * covered bytes. Throws CORRUPTION at the first bad entry; so a caller that
 * acts on entries as it goes must be able to take them back.
 */
export class HintCursor {
  readonly header: HintHeader
  /** The current entry's key bytes are keyBuf[0, keyLength). */
  keyBuf = Buffer.allocUnsafe(256)
  keyLength = 0
  /** Whether the current key equals the previous entry's (a later record of it: seq is higher or equal). */
  sameKey = false
  type = 0
  seq = 0
  expires = 0
  offset = 0
  size = 0
  readonly #buf: Buffer
  readonly #file: string
  #at: number
  #read = 0

  constructor(buf: Buffer, file: string, header: HintHeader) {
    if (header.version === LEGACY_VERSION) throw new TypeError('HintCursor reads version 2 hints only')
    this.header = header
    this.#buf = buf
    this.#file = file
    this.#at = header.entriesStart
  }

  /** The current key as a latin1 string (one char per byte). */
  key(): string {
    return this.keyBuf.latin1Slice(0, this.keyLength)
  }

  /** Moves to the next entry; false at the end. */
  next(): boolean {
    const buf = this.#buf
    const end = this.header.entriesEnd
    let at = this.#at
    if (at >= end) {
      if (this.#read !== this.header.count) throw this.#bad(`hint lists ${this.#read} entries, trailer says ${this.header.count}`, at)
      return false
    }
    const flags = buf[at++]!
    const type = flags & FLAG_TYPE_MASK
    if ((flags & ~(FLAG_TYPE_MASK | FLAG_EXPIRES)) !== 0 || type === 0 || type === 3) throw this.#bad(`bad hint entry flags ${flags}`, at - 1)
    const shared = this.#varint(at, end)
    const suffix = this.#varint(varintEnd, end)
    at = varintEnd
    const prevLength = this.keyLength
    if (shared > prevLength || suffix > end - at) throw this.#bad('hint key overruns its bounds', at)
    let keyBuf = this.keyBuf
    // Keys must ascend: a key equal to the previous one is a later record of it (seq checked below).
    if (suffix === 0 ? shared !== prevLength : shared < prevLength && buf[at]! <= keyBuf[shared]!) {
      throw this.#bad('hint keys out of order', at)
    }
    const length = shared + suffix
    if (length > keyBuf.length) {
      const grown = Buffer.allocUnsafe(Math.max(length, 2 * keyBuf.length))
      keyBuf.copy(grown, 0, 0, shared)
      this.keyBuf = keyBuf = grown
    }
    for (let j = shared; j < length; j++) keyBuf[j] = buf[at++]!
    this.keyLength = length
    const seq = this.#varint(at, end)
    const offset = this.#varint(varintEnd, end)
    const size = this.#varint(varintEnd, end)
    const expires = (flags & FLAG_EXPIRES) !== 0 ? this.#varint(varintEnd, end) : 0
    if (suffix === 0 && this.#read > 0 && seq < this.seq) throw this.#bad('hint entries of one key out of order', at)
    // An entry must name a whole record inside the bytes the hint covers, so a
    // hint can never make a read allocate what a length field claims.
    if (offset < FILE_HEADER_SIZE || size < MIN_RECORD_SIZE) throw this.#bad(`hint entry at segment offset ${offset} is not a record`, at)
    if (offset + size > this.header.dataLength) throw this.#bad(`hint entry at segment offset ${offset} ends past the bytes the hint covers`, at)
    this.sameKey = suffix === 0 && this.#read > 0
    this.type = type
    this.seq = seq
    this.offset = offset
    this.size = size
    this.expires = expires
    this.#at = varintEnd
    this.#read++
    return true
  }

  #varint(at: number, end: number): number {
    const buf = this.#buf
    if (at < end) {
      const b = buf[at]!
      if (b < 0x80) {
        varintEnd = at + 1
        return b
      }
    }
    return readVarint(buf, at, end, this.#file)
  }

  #bad(message: string, at: number): Error {
    return corruption(message, this.#file, at)
  }
}

/** Called per entry by visitHint; `buf[keyStart..keyEnd)` is the key (buf may be a scratch buffer, valid during the call). */
export type HintVisitor = (
  buf: Buffer,
  keyStart: number,
  keyEnd: number,
  type: number,
  seq: number,
  expires: number,
  offset: number,
  size: number,
) => void

/**
 * Verifies a hint file and walks its entries without allocating per entry
 * (opening a large database visits millions). Returns the replaced segment
 * ids. Throws CORRUPTION if the file is damaged: for a version 1 hint before
 * visiting anything, for version 2 possibly after visiting a prefix of the
 * entries (checkHint verifies it all first).
 */
export function visitHint(buf: Buffer, file: string, visit: HintVisitor): number[] {
  const header = readHintHeader(buf, file)
  if (header.version === LEGACY_VERSION) {
    visitLegacy(buf, file, header, visit)
    return header.replaces
  }
  const cursor = new HintCursor(buf, file, header)
  while (cursor.next()) {
    visit(cursor.keyBuf, 0, cursor.keyLength, cursor.type, cursor.seq, cursor.expires, cursor.offset, cursor.size)
  }
  return header.replaces
}

/** visitHint a slice at a time (time-slice.ts); a version 1 hint is visited in one go. */
export function visitHintSliced(buf: Buffer, file: string, visit: HintVisitor, slicer: TimeSlicer): Promise<number[]> {
  return runSliced(visitHintWork(buf, file, visit), slicer)
}

function* visitHintWork(buf: Buffer, file: string, visit: HintVisitor): SlicedWork<number[]> {
  const header = readHintHeader(buf, file)
  yield buf.length >>> 12
  if (header.version === LEGACY_VERSION) {
    visitLegacy(buf, file, header, visit)
    return header.replaces
  }
  const cursor = new HintCursor(buf, file, header)
  for (let k = 1; cursor.next(); k++) {
    visit(cursor.keyBuf, 0, cursor.keyLength, cursor.type, cursor.seq, cursor.expires, cursor.offset, cursor.size)
    if ((k & (STEP - 1)) === 0) yield 2 * STEP_UNITS
  }
  return header.replaces
}

/** Version 1: fixed-width entries in file order. */
function visitLegacy(buf: Buffer, file: string, header: HintHeader, visit: HintVisitor | undefined): number {
  const end = header.entriesEnd
  let at = header.entriesStart
  let n = 0
  let dataLength = FILE_HEADER_SIZE
  while (at < end) {
    if (at + V1_ENTRY_HEADER_SIZE > end) throw corruption('hint entry is truncated', file, at)
    const keyLength = buf.readUInt32BE(at + 25)
    if (at + V1_ENTRY_HEADER_SIZE + keyLength > end) throw corruption('hint key overruns the file', file, at)
    const offset = buf.readUInt32BE(at + 17)
    const size = buf.readUInt32BE(at + 21)
    if (offset < FILE_HEADER_SIZE || size < MIN_RECORD_SIZE) throw corruption(`hint entry at segment offset ${offset} is not a record`, file, 0)
    dataLength = Math.max(dataLength, offset + size)
    at += V1_ENTRY_HEADER_SIZE + keyLength
    n++
  }
  if (n !== header.count) throw corruption(`hint lists ${n} entries, trailer says ${header.count}`, file, end)
  if (visit !== undefined) {
    for (at = header.entriesStart; at < end; ) {
      const keyLength = buf.readUInt32BE(at + 25)
      const keyStart = at + V1_ENTRY_HEADER_SIZE
      visit(
        buf,
        keyStart,
        keyStart + keyLength,
        buf[at]!,
        buf.readUInt32BE(at + 1) * TWO_32 + buf.readUInt32BE(at + 5),
        buf.readUInt32BE(at + 9) * TWO_32 + buf.readUInt32BE(at + 13),
        buf.readUInt32BE(at + 17),
        buf.readUInt32BE(at + 21),
      )
      at = keyStart + keyLength
    }
  }
  return dataLength
}

/**
 * Verifies a whole hint (checksum, structure, every entry) without building
 * anything; returns its header, with dataLength filled in for version 1.
 */
export function checkHint(buf: Buffer, file: string): HintHeader {
  const header = readHintHeader(buf, file)
  if (header.version === LEGACY_VERSION) return { ...header, dataLength: visitLegacy(buf, file, header, undefined) }
  const cursor = new HintCursor(buf, file, header)
  while (cursor.next()) {
    // next() checks each entry.
  }
  return header
}

/** Decodes and verifies a hint file; throws CORRUPTION on any damage. */
export function decodeHint(buf: Buffer, file: string): Hint {
  const header = checkHint(buf, file)
  const entries: HintEntry[] = []
  visitHint(buf, file, (b, keyStart, keyEnd, type, seq, expires, offset, size) => {
    entries.push({ type, seq, expires, offset, size, key: Buffer.from(b.subarray(keyStart, keyEnd)) })
  })
  return { replaces: header.replaces, entries, partial: header.partial, dataLength: header.dataLength }
}
