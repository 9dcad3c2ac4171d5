/**
 * One data file of the log. The active segment is appended to; once it
 * reaches maxSegmentSize it is sealed and never written again.
 */
import { join } from 'node:path'
import { corruption, ioError } from '../errors.js'
import type { Fd, FileSystem } from '../io/file-system.js'
import { MIN_RECORD_SIZE, checksumOk, valueStartOf } from '../format/record.js'
import { FILE_HEADER_SIZE, FORMAT_VERSION } from '../format/file-header.js'

export const DATA_SUFFIX = '.data'
export const HINT_SUFFIX = '.hint'
export const TMP_SUFFIX = '.tmp'

export function segmentFileName(id: number, suffix: string): string {
  return String(id).padStart(8, '0') + suffix
}

export function parseSegmentFileName(name: string): { id: number; suffix: string } | undefined {
  const match = /^(\d{8,})(\.data|\.hint)(\.tmp)?$/.exec(name)
  if (!match) return undefined
  return { id: Number(match[1]), suffix: match[2]! + (match[3] ?? '') }
}

/** Records up to this size are read through one reused buffer; larger ones get their own. */
const SCRATCH_MAX = 1024 * 1024
let scratch = Buffer.allocUnsafeSlow(64 * 1024)

/**
 * The shared read buffer, at least `size` bytes. Reads are synchronous and
 * JavaScript is single-threaded, so one buffer serves every segment; its
 * contents are only valid until the next call.
 */
export function scratchBuffer(size: number): Buffer {
  if (scratch.length < size) {
    let length = scratch.length
    while (length < size) length *= 2
    scratch = Buffer.allocUnsafeSlow(length)
  }
  return scratch
}

export class Segment {
  readonly id: number
  readonly dataPath: string
  readonly hintPath: string
  fd: Fd
  /** Bytes in the file that hold complete records (plus the header). */
  size: number
  /** Bytes of records no longer reachable from the live index. */
  dead = 0
  minSeq = Number.POSITIVE_INFINITY
  maxSeq = 0
  sealed: boolean
  /** A valid hint file exists (so compaction may pick this segment). */
  hinted: boolean
  /**
   * How far the value cache has been filled from this file in file order
   * (see src/cache-fill.ts): records before it were cached or passed over.
   * Always a record boundary.
   */
  fillMark = FILE_HEADER_SIZE
  /**
   * Data format version in the file header. Only a segment of the current
   * version is appended to: an older caskdb must be able to refuse a file
   * that holds records it cannot read, by its header alone.
   */
  formatVersion = FORMAT_VERSION

  constructor(dir: string, id: number, fd: Fd, size: number, sealed: boolean, hinted: boolean) {
    this.id = id
    this.dataPath = join(dir, segmentFileName(id, DATA_SUFFIX))
    this.hintPath = join(dir, segmentFileName(id, HINT_SUFFIX))
    this.fd = fd
    this.size = size
    this.sealed = sealed
    this.hinted = hinted
  }

  noteSeq(seq: number): void {
    if (seq < this.minSeq) this.minSeq = seq
    if (seq > this.maxSeq) this.maxSeq = seq
  }

  /** Reads and checks one record; throws CORRUPTION rather than return wrong bytes. */
  readRecord(fs: FileSystem, offset: number, size: number): Buffer {
    const buf = Buffer.allocUnsafe(size)
    let n: number
    try {
      n = fs.readSync(this.fd, buf, 0, size, offset)
    } catch (err) {
      throw ioError(`reading ${this.dataPath}`, err)
    }
    if (n !== size || size < MIN_RECORD_SIZE || !checksumOk(buf, 0, size)) {
      throw corruption('record checksum mismatch', this.dataPath, offset)
    }
    return buf
  }

  /**
   * The value of the record at `offset`, CRC-checked, in a Buffer of its own
   * (the only allocation: the record is read into the shared scratch buffer
   * and checked there).
   */
  readValue(fs: FileSystem, offset: number, size: number): Buffer {
    if (size > SCRATCH_MAX) {
      const record = this.readRecord(fs, offset, size)
      return record.subarray(valueStart(record, 0, size, this.dataPath, offset))
    }
    return this.readValueWithin(fs, offset, size, offset, offset + size)
  }

  /**
   * readValue() of the record at `offset` by reading the bytes [from, to)
   * around it (read-around, src/read-around.ts): the neighbours land in the
   * page cache. `to` must not pass the end of the segment's records.
   */
  readValueWithin(fs: FileSystem, offset: number, size: number, from: number, to: number): Buffer {
    const length = to - from
    // A window too large for the scratch buffer: the record alone (readValue passes a window of just the record).
    if (length > SCRATCH_MAX) return this.readValue(fs, offset, size)
    const buf = scratchBuffer(length)
    let n: number
    try {
      n = fs.readSync(this.fd, buf, 0, length, from)
    } catch (err) {
      throw ioError(`reading ${this.dataPath}`, err)
    }
    const at = offset - from
    if (n < at + size || size < MIN_RECORD_SIZE || !checksumOk(buf, at, size)) {
      throw corruption('record checksum mismatch', this.dataPath, offset)
    }
    return copyValue(buf, at, size, this.dataPath, offset)
  }

  async readRecordAsync(fs: FileSystem, offset: number, size: number): Promise<Buffer> {
    const buf = Buffer.allocUnsafe(size)
    let n: number
    try {
      n = await fs.read(this.fd, buf, 0, size, offset)
    } catch (err) {
      throw ioError(`reading ${this.dataPath}`, err)
    }
    if (n !== size || size < MIN_RECORD_SIZE || !checksumOk(buf, 0, size)) {
      throw corruption('record checksum mismatch', this.dataPath, offset)
    }
    return buf
  }
}

/** Where the value of a checked record of `size` bytes at `at` starts. */
function valueStart(buf: Buffer, at: number, size: number, path: string, offset: number): number {
  const start = valueStartOf(buf, at, size)
  if (start < 0) throw corruption('record length mismatch', path, offset)
  return start
}

/** A copy of the value of the checked record of `size` bytes at `at` in `buf`. */
export function copyValue(buf: Buffer, at: number, size: number, path: string, offset: number): Buffer {
  const start = valueStart(buf, at, size, path, offset)
  const value = Buffer.allocUnsafe(at + size - start)
  value.set(buf.subarray(start, at + size))
  return value
}
