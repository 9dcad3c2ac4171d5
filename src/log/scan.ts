/**
 * Reads a data segment from front to back, record by record, checking every
 * checksum. Used by recovery (segments without a hint), by sealing (to write
 * the hint) and by compaction.
 *
 * A batch is handed out only once all of its records are present and intact,
 * which is what makes batches atomic across crashes.
 *
 * Checksumming a 64 MiB segment takes tens of milliseconds, and sealing and
 * compaction scan while the database serves requests: the scan gives way to
 * the event loop every fraction of a millisecond (time-slice.ts).
 */
import type { Fd, FileSystem } from '../io/file-system.js'
import { ioError } from '../errors.js'
import { TimeSlicer, byteUnits } from '../time-slice.js'
import { FILE_HEADER_SIZE } from '../format/file-header.js'
import {
  BATCH_VALUE_SIZE,
  HEADER_SHORT,
  MAX_HEADER_SIZE,
  MIN_RECORD_SIZE,
  RecordType,
  checksumOk,
  newHeader,
  readHeader,
  type RecordHeader,
} from '../format/record.js'

const CHUNK = 4 * 1024 * 1024

/** Called for every PUT or DELETE record; `buf[at..at+size)` holds the record. */
export type RecordVisitor = (buf: Buffer, at: number, size: number, header: RecordHeader, fileOffset: number) => void

export interface ScanResult {
  /** Offset just past the last intact record (or batch). */
  end: number
  /** Why the scan stopped before the end of the file, if it did. */
  damage?: string
  /** Where the first bad byte was found (inside a batch this is past `end`). */
  failedAt?: number
}

class Window {
  buf = Buffer.allocUnsafe(0)
  /** File offset of buf[0]. */
  start = 0
  length = 0

  constructor(
    readonly fs: FileSystem,
    readonly fd: Fd,
    readonly fileSize: number,
    readonly path: string,
  ) {}

  /** Makes [offset, offset+n) available; false if the file ends first. */
  async ensure(offset: number, n: number): Promise<boolean> {
    if (offset + n > this.fileSize) return false
    if (offset >= this.start && offset + n <= this.start + this.length) return true
    const want = Math.max(n, CHUNK)
    const toRead = Math.min(want, this.fileSize - offset)
    if (this.buf.length < toRead) this.buf = Buffer.allocUnsafe(toRead)
    let got = 0
    try {
      while (got < toRead) {
        const r = await this.fs.read(this.fd, this.buf, got, toRead - got, offset + got)
        if (r === 0) break
        got += r
      }
    } catch (err) {
      throw ioError(`reading ${this.path}`, err)
    }
    this.start = offset
    this.length = got
    return got >= n
  }
}

/** Returned by checkBuffered when the window does not hold the whole record yet. */
const READ_MORE = -1

/**
 * Checks one record at `offset` from the window alone, without a turn through
 * the microtask queue: almost every record is already in the 4 MiB window, and
 * an `await` per record was a third of a scan's time.
 */
function checkBuffered(win: Window, offset: number, header: RecordHeader): number | string {
  const end = win.start + win.length
  if (offset < win.start || offset >= end) return READ_MORE
  const at = offset - win.start
  const headerSize = readHeader(win.buf, at, win.length, header)
  if (headerSize === HEADER_SHORT) return READ_MORE
  if (headerSize < 0) return badHeader(win.buf[at + 4]!)
  const size = headerSize + header.keyLength + header.valueLength
  if (offset + size > end) return READ_MORE
  if (!checksumOk(win.buf, at, size)) return 'record checksum mismatch'
  return size
}

function badHeader(typeByte: number): string {
  return `unknown record type or malformed header (type byte ${typeByte})`
}

/** Checks one record at `offset`, reading as needed; returns its size or a reason it is bad. */
async function checkRecord(win: Window, offset: number, header: RecordHeader): Promise<number | string> {
  const buffered = checkBuffered(win, offset, header)
  if (buffered !== READ_MORE) return buffered
  // A header is at most MAX_HEADER_SIZE bytes; the last record of a file may be shorter than that.
  const available = Math.min(MAX_HEADER_SIZE, win.fileSize - offset)
  if (available < MIN_RECORD_SIZE || !(await win.ensure(offset, available))) return 'truncated record header'
  const at = offset - win.start
  const headerSize = readHeader(win.buf, at, win.length, header)
  if (headerSize === HEADER_SHORT) return 'truncated record header'
  if (headerSize < 0) return badHeader(win.buf[at + 4]!)
  const size = headerSize + header.keyLength + header.valueLength
  if (!(await win.ensure(offset, size))) return 'truncated record'
  if (!checksumOk(win.buf, offset - win.start, size)) return 'record checksum mismatch'
  return size
}

export async function scanSegment(
  fs: FileSystem,
  fd: Fd,
  fileSize: number,
  path: string,
  visit: RecordVisitor,
  from = FILE_HEADER_SIZE,
  slicer = new TimeSlicer(),
): Promise<ScanResult> {
  const win = new Window(fs, fd, fileSize, path)
  const header = newHeader()
  let offset = from
  while (offset < fileSize) {
    let size = checkBuffered(win, offset, header)
    if (size === READ_MORE) size = await checkRecord(win, offset, header)
    if (typeof size === 'string') return { end: offset, failedAt: offset, damage: `${size} at offset ${offset}` }
    if (header.type !== RecordType.BATCH) {
      visit(win.buf, offset - win.start, size, header, offset)
      offset += size
      if (slicer.tick(1 + byteUnits(size))) await slicer.pause()
      continue
    }
    // A batch: verify the whole body before handing out any of it.
    if (header.valueLength !== BATCH_VALUE_SIZE) {
      return { end: offset, failedAt: offset, damage: `malformed batch header at offset ${offset}` }
    }
    const valueAt = offset - win.start + header.headerSize
    const count = win.buf.readUInt32BE(valueAt)
    const bodyLength = win.buf.readUInt32BE(valueAt + 4)
    const bodyStart = offset + size
    let at = bodyStart
    for (let i = 0; i < count; i++) {
      let inner = checkBuffered(win, at, header)
      if (inner === READ_MORE) inner = await checkRecord(win, at, header)
      if (typeof inner === 'string' || header.type === RecordType.BATCH || at + inner > bodyStart + bodyLength) {
        return { end: offset, failedAt: at, damage: `incomplete batch at offset ${offset}` }
      }
      at += inner
      if (slicer.tick(1 + byteUnits(inner))) await slicer.pause()
    }
    if (at !== bodyStart + bodyLength) return { end: offset, failedAt: at, damage: `batch length mismatch at offset ${offset}` }
    // When the window holds the whole body, these are the bytes just checked (a reload starts the
    // window at the record being read, so it cannot have moved back over checked records): hand them
    // out without checksumming twice. A body larger than the window is re-read and re-checked.
    const checked = win.start <= bodyStart && bodyStart + bodyLength <= win.start + win.length
    at = bodyStart
    for (let i = 0; i < count; i++) {
      let inner: number
      if (checked) {
        const innerAt = at - win.start
        inner = readHeader(win.buf, innerAt, win.length, header) + header.keyLength + header.valueLength
      } else {
        inner = (await checkRecord(win, at, header)) as number
      }
      visit(win.buf, at - win.start, inner, header, at)
      at += inner
      if (slicer.tick(1 + byteUnits(inner))) await slicer.pause()
    }
    offset = at
  }
  return { end: offset }
}

/**
 * Looks for any intact record after `from`. A torn tail (power cut, killed
 * writer) has none: only zeros or a partial record follow. Intact records
 * after damage mean the damage is in the middle of the file, which must be
 * reported, not cut off together with good data.
 */
export async function intactRecordAfter(fs: FileSystem, fd: Fd, fileSize: number, from: number, path: string): Promise<number | undefined> {
  const header = newHeader()
  const window = 4 * 1024 * 1024
  const buf = Buffer.allocUnsafe(window)
  for (let start = from + 1; start < fileSize; start += window - 64 * 1024) {
    let n: number
    try {
      n = await fs.read(fd, buf, 0, Math.min(window, fileSize - start), start)
    } catch (err) {
      throw ioError(`reading ${path}`, err)
    }
    for (let at = 0; at + MIN_RECORD_SIZE <= n; at++) {
      const headerSize = readHeader(buf, at, n, header)
      if (headerSize <= 0 || (header.type !== RecordType.PUT && header.type !== RecordType.DELETE)) continue
      const size = headerSize + header.keyLength + header.valueLength
      if (at + size > n || size > fileSize) continue
      if (checksumOk(buf, at, size)) return start + at
    }
    if (start + n >= fileSize) break
  }
  return undefined
}
