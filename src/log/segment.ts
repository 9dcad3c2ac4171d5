/**
 * One data file of the log. The active segment is appended to; once it
 * reaches maxSegmentSize it is sealed and never written again.
 */
import { join } from 'node:path'
import { corruption, ioError } from '../errors.js'
import type { Fd, FileSystem } from '../io/file-system.js'
import { RECORD_HEADER_SIZE, checksumOk } from '../format/record.js'

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
    if (n !== size || size < RECORD_HEADER_SIZE || !checksumOk(buf, 0, size)) {
      throw corruption('record checksum mismatch', this.dataPath, offset)
    }
    return buf
  }

  async readRecordAsync(fs: FileSystem, offset: number, size: number): Promise<Buffer> {
    const buf = Buffer.allocUnsafe(size)
    let n: number
    try {
      n = await fs.read(this.fd, buf, 0, size, offset)
    } catch (err) {
      throw ioError(`reading ${this.dataPath}`, err)
    }
    if (n !== size || size < RECORD_HEADER_SIZE || !checksumOk(buf, 0, size)) {
      throw corruption('record checksum mismatch', this.dataPath, offset)
    }
    return buf
  }
}
