/**
 * Read-ahead for iterators. Records written one after another usually sit
 * next to each other on disk, so a scan that meets adjacent records grows its
 * read window (up to 256 KiB) and serves the following records without a
 * system call each. A scan in random disk order keeps reading one record at a
 * time, so it never reads bytes it does not need.
 */
import { corruption, ioError } from '../errors.js'
import type { FileSystem } from '../io/file-system.js'
import { MIN_RECORD_SIZE, checksumOk, valueStartOf } from '../format/record.js'
import type { Segment } from './segment.js'

const MAX_WINDOW = 256 * 1024

export class ReadAhead {
  #segment: Segment | undefined
  #start = 0
  #length = 0
  #buf = Buffer.allocUnsafe(0)
  #window = 0
  #lastEnd = -1

  /** Returns a copy of the value of the record at `offset` (`size` bytes, CRC-checked). */
  value(fs: FileSystem, segment: Segment, offset: number, size: number): Buffer {
    const adjacent = segment === this.#segment && offset === this.#lastEnd
    this.#lastEnd = offset + size
    if (!(segment === this.#segment && offset >= this.#start && offset + size <= this.#start + this.#length)) {
      this.#window = adjacent ? Math.min(MAX_WINDOW, Math.max(this.#window * 2, 16 * 1024)) : 0
      this.#fill(fs, segment, offset, Math.max(size, Math.min(this.#window, segment.size - offset)))
      if (this.#length < size) throw corruption('record runs past the end of its segment', segment.dataPath, offset)
    }
    const at = offset - this.#start
    if (size < MIN_RECORD_SIZE || !checksumOk(this.#buf, at, size)) {
      throw corruption('record checksum mismatch', segment.dataPath, offset)
    }
    const start = valueStartOf(this.#buf, at, size)
    if (start < 0) throw corruption('record length mismatch', segment.dataPath, offset)
    return Buffer.from(this.#buf.subarray(start, at + size))
  }

  #fill(fs: FileSystem, segment: Segment, offset: number, length: number): void {
    if (this.#buf.length < length) this.#buf = Buffer.allocUnsafe(Math.max(length, 4096))
    try {
      this.#length = fs.readSync(segment.fd, this.#buf, 0, length, offset)
    } catch (err) {
      this.#segment = undefined
      throw ioError(`reading ${segment.dataPath}`, err)
    }
    this.#segment = segment
    this.#start = offset
  }
}
