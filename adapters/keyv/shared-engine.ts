/**
 * One engine per database directory, shared by every adapter object in the
 * process that names it.
 *
 * The engine locks its directory (one instance per process), and Keyv wants
 * one adapter object per Keyv instance (it writes `store.namespace`). So
 * adapters do not own an engine: they lease one. The first lease on a
 * location opens the engine, later leases reuse it, and the last release
 * closes it. A lease taken while the previous engine on that location is
 * still closing waits for the close and then opens a fresh one.
 */
import { realpathSync } from 'node:fs'
import { basename, dirname, join, resolve } from 'node:path'
import { CaskDB } from '../../src/db.js'
import { CaskError, ErrorCodes } from '../../src/errors.js'
import type { CaskOptions } from '../../src/options.js'

/** Engine options a lease can ask for. `sync` is left out: adapters pass it per write. */
export type EngineOptions = Omit<CaskOptions, 'sync'>

const ENGINE_OPTION_NAMES = [
  'createIfMissing',
  'errorIfExists',
  'syncInterval',
  'writeBuffer',
  'writeBufferSize',
  'flushInterval',
  'cacheSize',
  'maxSegmentSize',
  'maxKeySize',
  'maxValueSize',
  'skipUnchangedWrites',
  'autoCompact',
  'compactionMinDeadRatio',
  'compactionMinDeadBytes',
  'fileMode',
  'warmCache',
  'maxHeapRatio',
  'fs',
  'clock',
] as const satisfies readonly (keyof EngineOptions)[]

/** Called with background engine errors; returns true if someone listened. */
export type ErrorSink = (err: unknown) => boolean

/** @internal */
export interface Slot {
  readonly location: string
  readonly db: CaskDB
  readonly ready: Promise<CaskDB>
  readonly options: EngineOptions
  readonly leases: Set<EngineLease>
  open: boolean
}

interface Registry {
  slots: Map<string, Slot>
  closing: Map<string, Promise<void>>
}

// Kept on globalThis so the ESM and CommonJS builds, if both get loaded into
// one process, still share one engine per directory (the engine's directory
// lock would refuse a second one).
const REGISTRY = Symbol.for('caskdb.keyv.engines.v1')
const registry: Registry = ((globalThis as Record<symbol, unknown>)[REGISTRY] as Registry | undefined) ?? {
  slots: new Map(),
  closing: new Map(),
}
;(globalThis as Record<symbol, unknown>)[REGISTRY] = registry
const { slots, closing } = registry

/**
 * The directory a location names, with symlinks resolved where they exist,
 * so two spellings of one directory share one engine.
 */
export function resolveLocation(location: string): string {
  const abs = resolve(location)
  try {
    return realpathSync(abs)
  } catch {
    // does not exist yet
  }
  try {
    return join(realpathSync(dirname(abs)), basename(abs))
  } catch {
    return abs
  }
}

/** The engine options present in `options` (undefined values dropped). */
export function pickEngineOptions(options: Record<string, unknown>): EngineOptions {
  const picked: Record<string, unknown> = {}
  for (const name of ENGINE_OPTION_NAMES) {
    if (options[name] !== undefined) picked[name] = options[name]
  }
  return picked as EngineOptions
}

function checkCompatible(slot: Slot, wanted: EngineOptions): void {
  const have = slot.options as Record<string, unknown>
  const want = wanted as Record<string, unknown>
  for (const name of ENGINE_OPTION_NAMES) {
    if (want[name] === undefined || have[name] === undefined || want[name] === have[name]) continue
    throw new CaskError(
      ErrorCodes.INVALID_OPTION,
      `caskdb/keyv: ${slot.location} is already open in this process with ${name}=${String(have[name])}, ` +
        `and another adapter asked for ${name}=${String(want[name])}. Adapters on one location share one engine: ` +
        `give them the same engine options, or leave them out on all but the first.`,
    )
  }
}

function openSlot(location: string, options: EngineOptions): Slot {
  // Validates the options synchronously: a bad option throws from the adapter's constructor.
  const db = new CaskDB(location, options)
  const previous = closing.get(location) ?? Promise.resolve()
  const ready = previous.then(() => db.open()).then(() => db)
  const slot: Slot = { location, db, ready, options: { ...options }, leases: new Set(), open: false }
  ready.then(
    () => {
      slot.open = true
    },
    () => {
      // A failed open is not cached: the next lease tries again.
      if (slots.get(location) === slot) slots.delete(location)
    },
  )
  db.on('error', (err: unknown) => {
    let heard = false
    for (const lease of slot.leases) if (lease.report(err)) heard = true
    if (!heard) process.emitWarning(err instanceof Error ? err : String(err), { code: 'CASKDB_BACKGROUND_ERROR' })
  })
  slots.set(location, slot)
  return slot
}

/** One adapter's claim on a shared engine. */
export class EngineLease {
  readonly location: string
  readonly #slot: Slot
  readonly #onError: ErrorSink
  #released: Promise<void> | undefined

  /** @internal use acquireEngine() */
  constructor(slot: Slot, onError: ErrorSink) {
    this.location = slot.location
    this.#slot = slot
    this.#onError = onError
  }

  /** Resolves once the engine is open; rejects if opening failed. */
  get ready(): Promise<CaskDB> {
    return this.#slot.ready
  }

  /** The engine once it is open (and this lease not released), else undefined. */
  get db(): CaskDB | undefined {
    return this.#slot.open && this.#released === undefined ? this.#slot.db : undefined
  }

  /** The clock the engine judges expiry by (its `clock` option), or undefined for `Date.now()`. */
  get clock(): EngineOptions['clock'] {
    return this.#slot.options.clock
  }

  get released(): boolean {
    return this.#released !== undefined
  }

  /** @internal */
  report(err: unknown): boolean {
    return this.#released === undefined && this.#onError(err)
  }

  /** Drops the claim; the last one closes the engine. Idempotent. */
  release(): Promise<void> {
    if (this.#released !== undefined) return this.#released
    const slot = this.#slot
    slot.leases.delete(this)
    if (slot.leases.size > 0 || slots.get(slot.location) !== slot) {
      this.#released = Promise.resolve()
      return this.#released
    }
    slots.delete(slot.location)
    const closed = slot.ready.then(
      (db) => db.close(),
      () => undefined,
    )
    const settled = closed.catch(() => undefined)
    closing.set(slot.location, settled)
    void settled.then(() => {
      if (closing.get(slot.location) === settled) closing.delete(slot.location)
    })
    this.#released = closed
    return closed
  }
}

/**
 * Leases the engine for `location`, opening it if no adapter in this process
 * has it open. Throws synchronously for invalid options, or options that
 * contradict those of the engine already open there.
 */
export function acquireEngine(location: string, options: EngineOptions, onError: ErrorSink): EngineLease {
  if (typeof location !== 'string' || location === '') {
    throw new CaskError(ErrorCodes.INVALID_ARGUMENT, 'caskdb/keyv: location must be a non-empty string (a directory path)')
  }
  const key = resolveLocation(location)
  let slot = slots.get(key)
  if (slot === undefined) slot = openSlot(key, options)
  else checkCompatible(slot, options)
  const lease = new EngineLease(slot, onError)
  slot.leases.add(lease)
  return lease
}

/** How many engines the adapters hold open in this process (for tests and diagnostics). */
export function sharedEngineCount(): number {
  return slots.size
}
