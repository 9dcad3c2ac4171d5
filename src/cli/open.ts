/** Opening a database from the CLI. */
import { resolve } from 'node:path'
import { CaskDB } from '../db.js'
import { CaskError, ErrorCodes } from '../errors.js'
import type { FileSystem } from '../io/file-system.js'
import { CliFailure } from './errors.js'

export interface OpenOptions {
  /** Create the database if missing (put, load); read-only commands never do. */
  create: boolean
  fs?: FileSystem
}

/**
 * Opens `dir` for one command. Background compaction is off (a CLI run is
 * short, and `caskdb compact` is there for that), and so is the value cache.
 */
export async function openDatabase(dir: string, options: OpenOptions): Promise<CaskDB> {
  try {
    return await CaskDB.open(dir, {
      createIfMissing: options.create,
      autoCompact: false,
      // One short run reads each value at most once: a cache would only grow the process.
      cacheSize: 0,
      ...(options.fs ? { fs: options.fs } : {}),
    })
  } catch (err) {
    if (err instanceof CaskError && err.code === ErrorCodes.NOT_FOUND) {
      throw new CliFailure(
        err.code,
        `no caskdb database at ${resolve(dir)} (missing, or no data files in it)`,
        'check the path; `caskdb put` and `caskdb load` create a database',
      )
    }
    throw err
  }
}

/** Runs `fn` with the database open, closing it afterwards whatever happens. */
export async function withDatabase<T>(dir: string, options: OpenOptions, fn: (db: CaskDB) => Promise<T>): Promise<T> {
  const db = await openDatabase(dir, options)
  let result: T
  try {
    result = await fn(db)
  } catch (err) {
    await db.close().catch(() => undefined)
    throw err
  }
  await db.close()
  return result
}
