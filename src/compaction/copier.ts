/**
 * Copies records from input segments into a compaction output, in the order
 * they are added (key order), through a fixed window: records are placed
 * one after another in the window, records that are neighbours in the same
 * input file are fetched with one pread, and a full window is written out
 * with one write. Only the records added are read, never the dead ones
 * around them.
 *
 * Every copied record is checked before it is written: its checksum, and that
 * its type, sequence number and size are the ones the index (or hint) named,
 * so a stale position can never copy another record under this key.
 */
import { TMP_SUFFIX, type Segment } from '../log/segment.js'
import { checksumOk, newHeader, readHeader } from '../format/record.js'
import { corruption, ioError } from '../errors.js'
import type { StoreCore } from '../core.js'

/** Bytes gathered before one write; also the longest pread (a longer record gets a window of its own). */
const WINDOW = 256 * 1024

interface Expected {
  /** Position in the window. */
  at: number
  size: number
  type: number
  seq: number
}

/** The pread still to do: `input[start, end)` goes to the window at `at`. */
interface Run {
  input: Segment
  start: number
  end: number
  at: number
  records: Expected[]
}

export class RecordCopier {
  readonly #core: StoreCore
  readonly out: Segment
  #window = Buffer.allocUnsafe(WINDOW)
  /** Bytes of the window placed so far. */
  #used = 0
  #run: Run | undefined
  readonly #header = newHeader()
  /** preads issued, for stats and tests. */
  reads = 0

  constructor(core: StoreCore, out: Segment) {
    this.#core = core
    this.out = out
  }

  /** Places one record; returns its offset in the output. May read and write, synchronously. */
  add(input: Segment, offset: number, size: number, type: number, seq: number): number {
    if (this.#used + size > this.#window.length) {
      this.#flush()
      if (size > this.#window.length) this.#window = Buffer.allocUnsafe(size)
    }
    let run = this.#run
    if (run === undefined || run.input !== input || run.end !== offset) {
      this.#read()
      run = { input, start: offset, end: offset, at: this.#used, records: [] }
      this.#run = run
    }
    run.end += size
    run.records.push({ at: this.#used, size, type, seq })
    const outOffset = this.out.size + this.#used
    this.#used += size
    return outOffset
  }

  /** Writes whatever is still in the window. */
  finish(): void {
    this.#flush()
  }

  #read(): void {
    const run = this.#run
    if (run === undefined) return
    this.#run = undefined
    const length = run.end - run.start
    const { fs } = this.#core
    let got = 0
    try {
      while (got < length) {
        const n = fs.readSync(run.input.fd, this.#window, run.at + got, length - got, run.start + got)
        if (n === 0) break
        got += n
      }
    } catch (err) {
      throw ioError(`reading ${run.input.dataPath}`, err)
    }
    this.reads++
    if (got < length) throw corruption('record extends past the end of the file', run.input.dataPath, run.start + got)
    const h = this.#header
    for (const r of run.records) {
      const ok =
        readHeader(this.#window, r.at, r.at + r.size, h) > 0 &&
        h.type === r.type &&
        h.seq === r.seq &&
        h.headerSize + h.keyLength + h.valueLength === r.size &&
        checksumOk(this.#window, r.at, r.size)
      if (!ok) throw corruption('record checksum mismatch', run.input.dataPath, run.start + (r.at - run.at))
    }
  }

  #flush(): void {
    this.#read()
    const out = this.out
    const bytes = this.#used
    let written = 0
    try {
      while (written < bytes) {
        written += this.#core.fs.writevSync(out.fd, [this.#window.subarray(written, bytes)], out.size + written)
      }
    } catch (err) {
      throw ioError(`writing ${out.dataPath}${TMP_SUFFIX}`, err)
    }
    out.size += bytes
    this.#used = 0
  }
}
