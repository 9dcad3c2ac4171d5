/**
 * Every engine option, its type, its default and its validation, in one place.
 */
import { CaskError, ErrorCodes } from './errors.js'
import type { Clock } from './clock.js'
import type { FileSystem } from './io/file-system.js'
import type { HeapProbe } from './heap-guard.js'

const KiB = 1024
const MiB = 1024 * KiB

export interface CaskOptions {
  /** Create the directory and database if missing. @defaultValue true */
  createIfMissing?: boolean
  /** Fail if a database already exists at the location. @defaultValue false */
  errorIfExists?: boolean
  /**
   * Acknowledge every write only after `fdatasync` (survives power loss).
   * Can also be set per write. Concurrent writers share one fsync (group commit).
   * @defaultValue false: a write is acknowledged once handed to the OS (survives a process crash).
   */
  sync?: boolean
  /** Background `fdatasync` every N ms; 0 turns it off. Bounds what a power loss can take. @defaultValue 0 */
  syncInterval?: number
  /**
   * Acknowledge writes from RAM and flush them in large batches, writing only the
   * final value of keys overwritten meanwhile. A process crash loses up to
   * `flushInterval` ms / `writeBufferSize` bytes of acknowledged writes.
   * @defaultValue false
   */
  writeBuffer?: boolean
  /** Flush the write buffer when it holds this many bytes. @defaultValue 4 MiB */
  writeBufferSize?: number
  /** Flush the write buffer at least every N ms. @defaultValue 100 */
  flushInterval?: number
  /**
   * Byte budget of the LRU value cache (value bytes plus 64 per entry); 0 turns
   * it off. Small values are copied into slabs the cache owns, so the memory it
   * keeps alive stays within twice the cached bytes plus two slabs (≤ 256 KiB each).
   * @defaultValue 64 MiB
   */
  cacheSize?: number
  /**
   * After open, read the store into the value cache in the background (slices of
   * ~1 ms) when its live data fits in `cacheSize`, so first reads come from RAM.
   * @defaultValue true
   */
  warmCache?: boolean
  /**
   * Once point reads go to the disk (a read that misses the value cache takes
   * longer than 0.1 ms, e.g. after a restart with a cold page cache), a miss
   * reads this many bytes around its record, so that the page cache warms as
   * it would for a store that maps its files (128 KiB is the kernel's own
   * read-around for a page fault). Back to exact reads once the page cache
   * answers again; off for stores larger than half the RAM. 0 turns it off.
   * See src/read-around.ts. @defaultValue 128 KiB
   */
  readAround?: number
  /** A data segment is sealed (and a hint file written) once it reaches this size. @defaultValue 64 MiB */
  maxSegmentSize?: number
  /** Largest key accepted, in bytes (at most 1 MiB: every key lives in RAM). @defaultValue 64 KiB */
  maxKeySize?: number
  /** Largest value accepted, in bytes (at most 1 GiB). @defaultValue 64 MiB */
  maxValueSize?: number
  /** A put whose value and expiry equal the live ones writes nothing. @defaultValue true */
  skipUnchangedWrites?: boolean
  /** Compact automatically in the background. @defaultValue true */
  autoCompact?: boolean
  /** A sealed segment is compacted once this share of it is dead. @defaultValue 0.5 */
  compactionMinDeadRatio?: number
  /** …and holds at least this many dead bytes. @defaultValue 1 MiB */
  compactionMinDeadBytes?: number
  /**
   * Permission bits of every file caskdb creates: data and hint files, LOCK,
   * compaction and repair output, backup copies (the process umask still
   * applies). 0o600 keeps them private to the owner. @defaultValue 0o644
   */
  fileMode?: number
  /**
   * Refuse puts with an OUT_OF_MEMORY error once the used JS heap exceeds this
   * fraction of V8's heap limit, instead of letting V8 abort the process when
   * the index (every key lives in RAM) outgrows the heap. Deletes still pass.
   * 1 turns the check off. @defaultValue 0.9
   */
  maxHeapRatio?: number
  /**
   * Point-in-time backups on a schedule: every `every` ms a backup goes into a new
   * directory `caskdb-backup-<time>` under `dir`; only the newest `keep` are kept.
   * @defaultValue undefined (off)
   */
  backup?: BackupSchedule
  /** @internal Replaces the file layer (fault injection in tests). */
  fs?: FileSystem
  /** @internal Replaces the clock (tests move time by hand). */
  clock?: Clock
  /** @internal Replaces the heap sampler of the maxHeapRatio check (tests). */
  heapProbe?: HeapProbe
}

export interface BackupSchedule {
  /** Directory that holds the backups (created if missing). */
  dir: string
  /** Interval in ms, e.g. 86_400_000 for daily. */
  every: number
  /** How many of the newest backups to keep. @defaultValue 7 */
  keep?: number
}

export type ResolvedOptions = Required<Omit<CaskOptions, 'fs' | 'clock' | 'heapProbe' | 'backup'>> & {
  backup: Required<BackupSchedule> | undefined
}

export const DEFAULTS: Readonly<Omit<ResolvedOptions, 'backup'>> = Object.freeze({
  createIfMissing: true,
  errorIfExists: false,
  sync: false,
  syncInterval: 0,
  writeBuffer: false,
  writeBufferSize: 4 * MiB,
  flushInterval: 100,
  cacheSize: 64 * MiB,
  warmCache: true,
  readAround: 128 * KiB,
  maxSegmentSize: 64 * MiB,
  maxKeySize: 64 * KiB,
  maxValueSize: 64 * MiB,
  skipUnchangedWrites: true,
  autoCompact: true,
  compactionMinDeadRatio: 0.5,
  compactionMinDeadBytes: 1 * MiB,
  fileMode: 0o644,
  maxHeapRatio: 0.9,
})

const LIMITS: Partial<Record<keyof typeof DEFAULTS, [number, number]>> = {
  syncInterval: [0, 2 ** 31 - 1],
  writeBufferSize: [1, 1024 * MiB],
  flushInterval: [1, 2 ** 31 - 1],
  cacheSize: [0, Number.MAX_SAFE_INTEGER],
  readAround: [0, 1 * MiB],
  // Offsets are stored as u32, so a segment stays below 4 GiB even with one huge record.
  maxSegmentSize: [4 * KiB, 2 * 1024 * MiB],
  maxKeySize: [1, 1 * MiB],
  maxValueSize: [0, 1024 * MiB],
  compactionMinDeadRatio: [0, 1],
  compactionMinDeadBytes: [0, Number.MAX_SAFE_INTEGER],
  fileMode: [0, 0o777],
  maxHeapRatio: [0.1, 1],
}

function invalid(message: string): CaskError {
  return new CaskError(ErrorCodes.INVALID_OPTION, message)
}

/** Option names besides those in DEFAULTS. */
const OTHER_OPTIONS = ['backup', 'fs', 'clock', 'heapProbe'] as const
const KNOWN_OPTIONS: ReadonlySet<string> = new Set([...Object.keys(DEFAULTS), ...OTHER_OPTIONS])

/**
 * A misspelt option would otherwise be ignored without a word (`cachesize`
 * leaving the cache at its default), so names the engine does not know are
 * refused. Adapters pick the engine's options by name before passing them on.
 */
function checkNames(options: object): void {
  for (const name of Object.keys(options)) {
    if (KNOWN_OPTIONS.has(name) || (options as Record<string, unknown>)[name] === undefined) continue
    const lower = name.toLowerCase()
    const near = [...KNOWN_OPTIONS].find((known) => known.toLowerCase() === lower)
    throw invalid(`unknown option ${name}${near ? ` (did you mean ${near}?)` : ''}; the options are ${[...KNOWN_OPTIONS].join(', ')}`)
  }
}

/** Merges user options over DEFAULTS, rejecting unknown names, wrong types and out-of-range numbers. */
export function resolveOptions(options: CaskOptions = {}): ResolvedOptions {
  if (options === null || typeof options !== 'object') throw invalid('options must be an object')
  checkNames(options)
  const resolved: Record<string, unknown> = { ...DEFAULTS }
  for (const name of Object.keys(DEFAULTS) as (keyof typeof DEFAULTS)[]) {
    const value = (options as Record<string, unknown>)[name]
    if (value === undefined) continue
    const expected = typeof DEFAULTS[name]
    if (typeof value !== expected) throw invalid(`option ${name} must be a ${expected}, got ${typeof value}`)
    const range = LIMITS[name]
    if (range && (Number.isNaN(value) || (value as number) < range[0] || (value as number) > range[1])) {
      throw invalid(`option ${name} must be between ${range[0]} and ${range[1]}, got ${String(value)}`)
    }
    resolved[name] = value
  }
  resolved['backup'] = resolveBackup(options.backup)
  return resolved as ResolvedOptions
}

function resolveBackup(backup: BackupSchedule | undefined): Required<BackupSchedule> | undefined {
  if (backup === undefined) return undefined
  if (backup === null || typeof backup !== 'object') throw invalid('option backup must be { dir, every, keep? }')
  if (typeof backup.dir !== 'string' || backup.dir === '') throw invalid('option backup.dir must be a directory path')
  if (typeof backup.every !== 'number' || !(backup.every >= 1000)) throw invalid('option backup.every must be at least 1000 ms')
  const keep = backup.keep ?? 7
  if (!Number.isInteger(keep) || keep < 1) throw invalid('option backup.keep must be a whole number ≥ 1')
  return { dir: backup.dir, every: backup.every, keep }
}
