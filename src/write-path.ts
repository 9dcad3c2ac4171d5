/**
 * Turning puts, deletes and batches into log records and publishing them to
 * the index once they are in the file. Also the RAM write buffer, which
 * coalesces overwrites so only the final value of a key reaches the disk.
 */
import { CaskError, ErrorCodes } from './errors.js'
import type { BufferGeneration, BufferedWrite, StoreCore } from './core.js'
import type { GroupCommit, WriteGroup } from './log/group-commit.js'
import type { Segment } from './log/segment.js'
import { RECORD_HEADER_SIZE, RecordType, recordSize, writeBatchHeader, writeRecord } from './format/record.js'
import { newEntry } from './index/ordered-index.js'
import { appendedEntries } from './log/appended.js'

/** A validated operation: bytes already checked against the limits. */
export interface Op {
  type: typeof RecordType.PUT | typeof RecordType.DELETE
  key: string
  keyBytes: Buffer
  value: Buffer | undefined
  expires: number
}

interface Placed {
  op: Op
  seq: number
  size: number
  /** Offset of the record inside the group's bytes. */
  at: number
}

/** Values up to this size are put in the cache as they are written. */
const WRITE_THROUGH_LIMIT = 4096

/** One group on its way to the log; a class rather than closures, since there is one per write. */
class PendingWrite implements WriteGroup {
  resolve!: () => void
  fail!: (err: Error) => void

  constructor(
    readonly path: WritePath,
    readonly bytes: Buffer,
    readonly sync: boolean,
    readonly placed: Placed[],
    readonly headerSize: number,
  ) {}

  applied(segment: Segment, offset: number): void {
    this.path.publish(this.placed, this.bytes, segment, offset, this.headerSize)
  }

  reject(err: Error): void {
    this.path.release(this.placed)
    this.fail(err)
  }
}

export class WritePath {
  readonly #core: StoreCore
  readonly log: GroupCommit
  /** Keys with a record on its way to the file: an unchanged-write check must not trust the index for them. */
  readonly #inFlight = new Map<string, number>()
  readonly #previous = newEntry()
  #generation: BufferGeneration | undefined
  /** Generations whose flush failed: still served from RAM, retried first on the next flush. */
  #unflushed: BufferGeneration[] = []
  #nextGeneration = 1
  #flushing: Promise<void> | undefined

  constructor(core: StoreCore, log: GroupCommit) {
    this.#core = core
    this.log = log
  }

  get buffered(): BufferGeneration | undefined {
    return this.#generation
  }

  /** True when `op` would not change what a reader sees, so nothing needs writing. */
  isNoop(op: Op): boolean {
    const core = this.#core
    if (this.#inFlight.has(op.key)) return false
    const entry = this.#previous
    const exists = core.index.get(op.key, entry)
    if (op.type === RecordType.DELETE) return !exists
    if (!core.options.skipUnchangedWrites || !exists || entry.expires !== op.expires) return false
    if (core.isExpired(entry.expires)) return false
    if (entry.seg >= 0 && entry.size !== recordSize(op.keyBytes.length, op.value!.length)) return false
    const current = core.readValue(entry, core.buffers)
    return current !== undefined && current.equals(op.value!)
  }

  /** Appends ops as one atomic group; resolves once written (and synced, if asked). */
  write(ops: Op[], sync: boolean): Promise<void> {
    const core = this.#core
    let bytes = 0
    for (const op of ops) bytes += recordSize(op.keyBytes.length, op.value?.length ?? 0)
    const headerSize = ops.length > 1 ? recordSize(0, 8) : 0
    const buf = Buffer.allocUnsafe(headerSize + bytes)
    const placed: Placed[] = new Array(ops.length)
    let at = headerSize
    for (let i = 0; i < ops.length; i++) {
      const op = ops[i]!
      const seq = ++core.seq
      const size = writeRecord(buf, at, op.type, seq, op.expires, op.keyBytes, op.value)
      placed[i] = { op, seq, size, at }
      at += size
      this.#inFlight.set(op.key, (this.#inFlight.get(op.key) ?? 0) + 1)
    }
    if (headerSize > 0) writeBatchHeader(buf, 0, placed[0]!.seq, ops.length, bytes)
    const group = new PendingWrite(this, buf, sync, placed, headerSize)
    const done = new Promise<void>((resolve, reject) => {
      group.resolve = resolve
      group.fail = reject
    })
    this.log.submit(group)
    return done
  }

  /** @internal Called by PendingWrite. */
  release(placed: Placed[]): void {
    for (const p of placed) {
      const n = this.#inFlight.get(p.op.key)! - 1
      if (n === 0) this.#inFlight.delete(p.op.key)
      else this.#inFlight.set(p.op.key, n)
    }
  }

  /** @internal Called by PendingWrite once its bytes are in the file. */
  publish(placed: Placed[], bytes: Buffer, segment: Segment, offset: number, headerSize: number): void {
    const core = this.#core
    const prev = this.#previous
    if (headerSize > 0) segment.dead += headerSize
    // The sealing hint is built from these, so that sealing reads nothing back (key bytes from
    // the encoded record: the caller's key buffer may have changed since).
    const appended = appendedEntries(segment, offset)
    const collect = appended.group(offset, headerSize)
    for (const p of placed) {
      const at = offset + p.at
      const op = p.op
      segment.noteSeq(p.seq)
      if (collect) {
        const keyStart = p.at + RECORD_HEADER_SIZE
        appended.add(op.type, p.seq, op.expires, p.size, bytes, keyStart, keyStart + op.keyBytes.length)
      }
      if (op.type === RecordType.PUT) {
        if (core.index.set(op.key, segment.id, at, p.size, op.expires, p.seq, prev)) core.markDead(prev)
        // Write-through: a value just written is the likeliest to be read (or compared) next.
        if (op.value!.length <= WRITE_THROUGH_LIMIT) core.cache.set(segment.id, at, Buffer.from(op.value!))
      } else {
        segment.dead += p.size // a tombstone is dead weight from birth
        if (core.index.delete(op.key, prev)) core.markDead(prev)
      }
    }
    this.release(placed)
  }

  // ---- write buffer -------------------------------------------------------

  /** Applies ops to RAM and the index at once (writeBuffer mode). */
  buffer(ops: Op[]): void {
    const core = this.#core
    let generation = this.#generation
    if (generation === undefined) {
      generation = { id: this.#nextGeneration++, slots: [], bytes: 0 }
      this.#generation = generation
      core.buffers.set(generation.id, generation)
    }
    const prev = this.#previous
    for (const op of ops) {
      const slot: BufferedWrite = {
        key: op.key,
        keyBytes: Buffer.from(op.keyBytes),
        value: op.value === undefined ? undefined : Buffer.from(op.value),
        expires: op.expires,
      }
      const index = generation.slots.length
      generation.slots.push(slot)
      generation.bytes += RECORD_HEADER_SIZE + op.keyBytes.length + (op.value?.length ?? 0)
      const existed =
        op.type === RecordType.PUT
          ? core.index.set(op.key, -generation.id, index, 0, op.expires, 0, prev)
          : core.index.delete(op.key, prev)
      if (existed) core.markDead(prev)
    }
  }

  get bufferedBytes(): number {
    let bytes = this.#generation?.bytes ?? 0
    for (const g of this.#unflushed) bytes += g.bytes
    return bytes
  }

  /** Writes the current buffer generation as one atomic group; only final values of keys. */
  flushBuffer(sync: boolean): Promise<void> {
    // A failed earlier flush does not fail this one: its generation is still queued and retried here.
    const previous = (this.#flushing ?? Promise.resolve()).catch(() => undefined)
    const next = previous.then(() => this.#flushGeneration(sync))
    const tracked = next.finally(() => {
      if (this.#flushing === tracked) this.#flushing = undefined
    })
    // The caller gets `next` and its failure; this copy only orders flushes, so it must not be an unhandled rejection.
    tracked.catch(() => undefined)
    this.#flushing = tracked
    return next
  }

  async #flushGeneration(sync: boolean): Promise<void> {
    if (this.#generation !== undefined) this.#unflushed.push(this.#generation)
    this.#generation = undefined
    while (this.#unflushed.length > 0) {
      const generation = this.#unflushed[0]!
      await this.#flushOne(generation, sync)
      this.#unflushed.shift()
      this.#core.buffers.delete(generation.id)
    }
  }

  async #flushOne(generation: BufferGeneration, sync: boolean): Promise<void> {
    const core = this.#core
    const entry = this.#previous
    const lastPut = new Map<string, number>()
    generation.slots.forEach((slot, i) => {
      if (slot.value !== undefined) lastPut.set(slot.key, i)
    })
    const ops: Op[] = []
    const slotOf: number[] = []
    generation.slots.forEach((slot, i) => {
      if (slot.value !== undefined) {
        // Only the value the index still points at is worth writing.
        if (!core.index.get(slot.key, entry) || entry.seg !== -generation.id || entry.offset !== i) return
      } else if ((lastPut.get(slot.key) ?? -1) > i) {
        return // a later put in this generation supersedes the delete
      }
      ops.push({
        type: slot.value === undefined ? RecordType.DELETE : RecordType.PUT,
        key: slot.key,
        keyBytes: slot.keyBytes,
        value: slot.value,
        expires: slot.expires,
      })
      slotOf.push(i)
    })
    if (ops.length > 0) await this.#writeBuffered(generation, ops, slotOf, sync)
  }

  #writeBuffered(generation: BufferGeneration, ops: Op[], slotOf: number[], sync: boolean): Promise<void> {
    const core = this.#core
    let bytes = 0
    for (const op of ops) bytes += recordSize(op.keyBytes.length, op.value?.length ?? 0)
    const headerSize = ops.length > 1 ? recordSize(0, 8) : 0
    const buf = Buffer.allocUnsafe(headerSize + bytes)
    const placed: { seq: number; size: number; at: number }[] = []
    let at = headerSize
    for (const op of ops) {
      const seq = ++core.seq
      const size = writeRecord(buf, at, op.type, seq, op.expires, op.keyBytes, op.value)
      placed.push({ seq, size, at })
      at += size
    }
    if (headerSize > 0) writeBatchHeader(buf, 0, placed[0]!.seq, ops.length, bytes)
    return new Promise<void>((resolve, reject) => {
      this.log.submit({
        bytes: buf,
        sync,
        applied: (segment, offset) => {
          segment.dead += headerSize
          const appended = appendedEntries(segment, offset)
          const collect = appended.group(offset, headerSize)
          for (let i = 0; i < ops.length; i++) {
            const op = ops[i]!
            const p = placed[i]!
            segment.noteSeq(p.seq)
            if (collect) {
              const keyStart = p.at + RECORD_HEADER_SIZE
              appended.add(op.type, p.seq, op.expires, p.size, buf, keyStart, keyStart + op.keyBytes.length)
            }
            const position = offset + p.at
            if (op.type === RecordType.DELETE) {
              segment.dead += p.size
              continue
            }
            const moved = core.index.replaceIf(op.key, -generation.id, slotOf[i]!, segment.id, position, p.size, op.expires, p.seq)
            if (!moved) segment.dead += p.size
          }
        },
        resolve,
        reject,
      })
    })
  }

  assertNoFailure(): void {
    if (this.log.failure) throw this.log.failure
  }
}

export function readOnlyError(cause: unknown): CaskError {
  return new CaskError(ErrorCodes.READ_ONLY, 'the database refuses writes after an earlier failure; reopen it', { cause })
}
