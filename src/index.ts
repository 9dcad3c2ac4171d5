/**
 * caskdb: a crash-safe, log-structured key-value store.
 *
 * @example
 * ```ts
 * import { CaskDB } from 'caskdb'
 * const db = await CaskDB.open('./data')
 * await db.put('hello', 'world')
 * console.log((await db.get('hello'))?.toString())
 * await db.close()
 * ```
 */
export { CaskDB } from './db.js'
export type {
  BatchOperation,
  ClearOptions,
  CompactOptions,
  CompactionResult,
  PutOptions,
  ReadOptions,
  Stats,
  Status,
  WriteOptions,
} from './db.js'
export { CaskIterator } from './iterator.js'
export type { Entry, Format, Formatted, IteratorOptions, RangeOptions } from './iterator.js'
export { Snapshot } from './snapshot.js'
export { CaskError, ErrorCodes, isCaskError } from './errors.js'
export type { ErrorCode } from './errors.js'
export { DEFAULTS } from './options.js'
export type { BackupSchedule, CaskOptions } from './options.js'
export type { Damage, RepairReport } from './repair.js'
export type { Clock, Timer } from './clock.js'
export type { FileSystem } from './io/file-system.js'
