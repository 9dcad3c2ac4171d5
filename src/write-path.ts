/**
 * Turning puts, deletes and batches into log records and publishing them to
 * the index once they are in the file. Also the RAM write buffer, which
 * coalesces overwrites so only the final value of a key reaches the disk.
 */
import { CaskError, ErrorCodes } from './errors.js'
import type { BufferGeneration, BufferedWrite, StoreCore } from './core.js'
import type { GroupCommit, WriteGroup } from './log/group-commit.js'
import type { Segment } from './log/segment.js'
import { BATCH_VALUE_SIZE, RecordType, headerSize, holdsValueOf, recordSize, writeBatchHeader, writeRecord } from './format/record.js'
import { ENTRY_OVERHEAD } from './value-cache.js'
import { newEntry } from './index/ordered-index.js'
import { appendedEntries } from './log/appended.js'

/** A validated operation: bytes already checked against the limits. */
export interface Op {
  type: typeof RecordType.PUT | typeof RecordType.DELETE
  key: string
  keyBytes: Buffer
  value: Buffer | undefined
  expires: number
  /**
   * `value` was made by the engine (from a string) and nothing else holds it:
   * it can never change, so the write-through cache keeps it instead of a copy.
   */
  owned: boolean
}

/** Bytes of the batch header before a group of `n` records whose first seq is `firstSeq` (none for one record). */
function batchHeaderSizeOf(n: number, firstSeq: number): number {
  return n > 1 ? recordSize(0, BATCH_VALUE_SIZE, firstSeq, 0) : 0
}

/**
 * The records of `ops` as one group, as the log appends it: one record, or a
 * batch header and the records after it. Record i has seq `firstSeq + i`.
 */
function encodeGroup(ops: Op[], firstSeq: number): Buffer {
  const n = ops.length
  let bytes = 0
  for (let i = 0; i < n; i++) {
    const op = ops[i]!
    bytes += recordSize(op.keyBytes.length, op.value === undefined ? 0 : op.value.length, firstSeq + i, op.expires)
  }
  const batchHeaderSize = batchHeaderSizeOf(n, firstSeq)
  const buf = Buffer.allocUnsafe(batchHeaderSize + bytes)
  let at = batchHeaderSize
  for (let i = 0; i < n; i++) {
    const op = ops[i]!
    at += writeRecord(buf, at, op.type, firstSeq + i, op.expires, op.keyBytes, op.value)
  }
  if (batchHeaderSize > 0) writeBatchHeader(buf, 0, firstSeq, n, bytes)
  return buf
}

/** Values up to this size are put in the cache as they are written. */
const WRITE_THROUGH_LIMIT = 4096

/**
 * One group on its way to the log; a class rather than closures, since there
 * is one per write. Record i of the group has seq `firstSeq + i`, and the
 * records follow each other after the batch header, so neither positions nor
 * seqs need storing per op.
 */
class PendingWrite implements WriteGroup {
  resolve!: () => void
  fail!: (err: Error) => void

  constructor(
    readonly path: WritePath,
    readonly bytes: Buffer,
    readonly sync: boolean,
    readonly ops: Op[],
    readonly firstSeq: number,
    readonly batchHeaderSize: number,
  ) {}

  applied(segment: Segment, offset: number): void {
    this.path.publish(this, segment, offset)
  }

  reject(err: Error): void {
    this.path.settled()
    this.fail(err)
  }
}

export class WritePath {
  readonly #core: StoreCore
  readonly log: GroupCommit
  /**
   * Keys with a record on its way to the file: an unchanged-write check must
   * not trust the index for them. Emptied when no group is pending (a group is
   * pending from write() until the microtask that appends it), rather than
   * counted per key: a key may stay in it a little longer, which only makes
   * the check write a record it could have skipped.
   */
  readonly #inFlight = new Set<string>()
  /**
   * The in-flight key of a lone write (one op while no other group is
   * pending, as with one put in flight at a time): a field rather than a Set
   * entry, which costs a hash insert per put and a new table per clear(). The
   * keys in flight are this one and those in #inFlight; both are forgotten
   * when no group is pending.
   */
  #soleKey: string | undefined = undefined
  /** Groups submitted by write() and not yet appended or rejected. */
  #pending = 0
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
    if (this.#pending !== 0 && (op.key === this.#soleKey || this.#inFlight.has(op.key))) return false
    const entry = this.#previous
    // lookup, not get: publish's index.set of this key then reuses the path found here.
    const exists = core.index.lookup(op.key, entry)
    if (op.type === RecordType.DELETE) return !exists
    if (!core.options.skipUnchangedWrites || !exists || entry.expires !== op.expires) return false
    if (core.isExpired(entry.expires)) return false
    if (entry.seg >= 0 && !holdsValueOf(entry.size, op.keyBytes.length, op.value!.length, entry.seq, entry.expires)) return false
    const current = core.readValue(entry, core.buffers)
    return current !== undefined && current.equals(op.value!)
  }

  /** Appends ops as one atomic group; resolves once written (and synced, if asked). */
  write(ops: Op[], sync: boolean): Promise<void> {
    const core = this.#core
    const n = ops.length
    const firstSeq = core.seq + 1
    const buf = encodeGroup(ops, firstSeq)
    core.seq += n
    if (n === 1 && this.#pending === 0) this.#soleKey = ops[0]!.key // a lone write (see #soleKey)
    else for (let i = 0; i < n; i++) this.#inFlight.add(ops[i]!.key)
    const group = new PendingWrite(this, buf, sync, ops, firstSeq, batchHeaderSizeOf(n, firstSeq))
    const done = new Promise<void>((resolve, reject) => {
      group.resolve = resolve
      group.fail = reject
    })
    this.#pending++
    this.log.submit(group)
    return done
  }

  /** @internal Called by PendingWrite once its group was appended or rejected. */
  settled(): void {
    if (--this.#pending === 0) {
      this.#soleKey = undefined
      if (this.#inFlight.size !== 0) this.#inFlight.clear()
    }
  }

  /** @internal Called by PendingWrite once its bytes are in the file. */
  publish(group: PendingWrite, segment: Segment, offset: number): void {
    const core = this.#core
    const cache = core.cache
    const prev = this.#previous
    const { ops, bytes, batchHeaderSize } = group
    if (batchHeaderSize > 0) segment.dead += batchHeaderSize
    // The sealing hint is built from these, so that sealing reads nothing back.
    const appended = appendedEntries(segment, offset)
    const collect = appended.group(offset, batchHeaderSize)
    // Write-through: a value just put is the likeliest to be read (or compared) next. In a batch,
    // only for keys it overwrites: a key written again tends to be written again, and the
    // unchanged-write check of that next write then needs no disk read; new keys of a bulk load
    // are not cached (an LRU insert per entry cost ~6 % of the batch, and most of those values are
    // not read soon). Never once the cache is full (evicting per write costs more than the next
    // read saves).
    const writeThrough = ops.length === 1
    let seq = group.firstSeq
    let at = batchHeaderSize
    for (let i = 0; i < ops.length; i++, seq++) {
      const op = ops[i]!
      const valueLength = op.value === undefined ? 0 : op.value.length
      const keyStart = at + headerSize(op.keyBytes.length, valueLength, seq, op.expires)
      const valueStart = keyStart + op.keyBytes.length
      const size = valueStart + valueLength - at
      const position = offset + at
      segment.noteSeq(seq)
      // Key and value bytes come from the encoded record: the caller's buffers may have changed since.
      if (collect) appended.add(op.type, seq, op.expires, size, bytes, keyStart, valueStart)
      if (op.type === RecordType.PUT) {
        const existed = core.index.set(op.key, segment.id, position, size, op.expires, seq, prev)
        if (existed) core.markDead(prev)
        if ((writeThrough || existed) && valueLength <= WRITE_THROUGH_LIMIT && cache.room >= valueLength + ENTRY_OVERHEAD) {
          // The cache copies what it keeps; a large value Buffer the engine made itself (from a string) is handed over as it is.
          if (op.owned) cache.set(segment.id, position, op.value!, true)
          else cache.set(segment.id, position, bytes.subarray(valueStart, valueStart + valueLength))
        }
      } else {
        segment.dead += size // a tombstone is dead weight from birth
        if (core.index.delete(op.key, prev)) core.markDead(prev)
      }
      at += size
    }
    this.settled()
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
      generation.bytes += recordSize(op.keyBytes.length, op.value?.length ?? 0, core.seq, op.expires)
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
        owned: false,
      })
      slotOf.push(i)
    })
    if (ops.length > 0) await this.#writeBuffered(generation, ops, slotOf, sync)
  }

  #writeBuffered(generation: BufferGeneration, ops: Op[], slotOf: number[], sync: boolean): Promise<void> {
    const core = this.#core
    const firstSeq = core.seq + 1
    const buf = encodeGroup(ops, firstSeq)
    core.seq += ops.length
    const batchHeaderSize = batchHeaderSizeOf(ops.length, firstSeq)
    return new Promise<void>((resolve, reject) => {
      this.log.submit({
        bytes: buf,
        sync,
        applied: (segment, offset) => {
          segment.dead += batchHeaderSize
          const appended = appendedEntries(segment, offset)
          const collect = appended.group(offset, batchHeaderSize)
          let at = batchHeaderSize
          for (let i = 0; i < ops.length; i++) {
            const op = ops[i]!
            const seq = firstSeq + i
            const keyLength = op.keyBytes.length
            const valueLength = op.value?.length ?? 0
            const keyStart = at + headerSize(keyLength, valueLength, seq, op.expires)
            const size = keyStart + keyLength + valueLength - at
            segment.noteSeq(seq)
            if (collect) appended.add(op.type, seq, op.expires, size, buf, keyStart, keyStart + keyLength)
            const position = offset + at
            at += size
            if (op.type === RecordType.DELETE) {
              segment.dead += size
              continue
            }
            const moved = core.index.replaceIf(op.key, -generation.id, slotOf[i]!, segment.id, position, size, op.expires, seq)
            if (!moved) segment.dead += size
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
