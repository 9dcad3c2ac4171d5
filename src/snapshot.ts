/**
 * A point-in-time read view. Creating one is O(1): it keeps the index root of
 * that moment (the index is copy-on-write) and the write-buffer generations
 * it may point into. While it is open, segments that compaction replaces keep
 * their file handles, so every position it knows stays readable.
 */
import { CaskError, ErrorCodes } from './errors.js'
import type { ReadView, StoreCore } from './core.js'

export class Snapshot {
  readonly #core: StoreCore
  readonly view: ReadView
  readonly epoch: number
  #closed = false

  /** @internal Use `db.snapshot()`. */
  constructor(core: StoreCore) {
    this.#core = core
    this.view = { index: core.index.snapshot(), buffers: new Map(core.buffers) }
    this.epoch = core.epoch
    core.addReader(this)
  }

  get closed(): boolean {
    return this.#closed
  }

  /** @internal Refuses a closed snapshot, or one taken from another database (its positions mean nothing here). */
  assertUsableBy(core: StoreCore): void {
    if (this.#core !== core) throw new CaskError(ErrorCodes.INVALID_ARGUMENT, 'snapshot belongs to another database (or an earlier open of this one)')
    if (this.#closed) throw new CaskError(ErrorCodes.CLOSED, 'snapshot is closed; take a new one with db.snapshot()')
  }

  /** Releases the view; idempotent. */
  close(): void {
    if (this.#closed) return
    this.#closed = true
    this.#core.removeReader(this)
  }
}
