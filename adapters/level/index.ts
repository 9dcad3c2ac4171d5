/**
 * caskdb/level: caskdb as an abstract-level v3 database.
 *
 * @example
 * ```ts
 * // import { ClassicLevel } from 'classic-level'
 * import { CaskLevel } from 'caskdb/level'
 * const db = new CaskLevel('./db', { valueEncoding: 'json' })
 * await db.put('a', { x: 1 })
 * ```
 */
export { CaskLevel, CaskLevelSnapshot } from './level.js'
export type { CaskLevelOptions, CaskLevelOpenOptions, CaskEngineOptions, ClassicLevelCompatOptions } from './level.js'
export { CaskLevelIterator, CaskLevelKeyIterator, CaskLevelValueIterator } from './iterator.js'
export { levelCode, toLevelError } from './errors.js'
