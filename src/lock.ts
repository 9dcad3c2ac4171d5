/**
 * One process and one instance at a time per directory.
 *
 * The LOCK file holds the owner's pid. A lock whose pid no longer runs was
 * left by a killed process and is taken over, so a crash never blocks the
 * next open. Instances inside one process are tracked in a set, since they
 * share a pid.
 */
import { resolve } from 'node:path'
import { CaskError, ErrorCodes, ioError } from './errors.js'
import type { FileSystem } from './io/file-system.js'

const heldInThisProcess = new Set<string>()

export const LOCK_FILE = 'LOCK'

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    // EPERM: it exists but belongs to someone else; still alive.
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

function lockedError(location: string, detail: string): CaskError {
  return new CaskError(
    ErrorCodes.LOCKED,
    `${location} is locked by ${detail}; close that instance first (one process and one instance per directory)`,
  )
}

export class DirectoryLock {
  readonly #fs: FileSystem
  readonly #key: string
  readonly #path: string
  readonly #mode: number | undefined
  #held = false

  /** `mode`: permission bits of the LOCK file (the database's fileMode). */
  constructor(fs: FileSystem, location: string, mode?: number) {
    this.#fs = fs
    this.#mode = mode
    this.#key = resolve(location)
    this.#path = `${this.#key}/${LOCK_FILE}`
  }

  async acquire(): Promise<void> {
    if (heldInThisProcess.has(this.#key)) throw lockedError(this.#key, 'another instance in this process')
    heldInThisProcess.add(this.#key)
    try {
      await this.#take()
    } catch (err) {
      heldInThisProcess.delete(this.#key)
      throw err
    }
    this.#held = true
  }

  async #take(): Promise<void> {
    const me = Buffer.from(String(process.pid))
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        if (await this.#fs.createExclusive(this.#path, me, this.#mode)) return
        const owner = Number.parseInt((await this.#fs.readFile(this.#path)).toString('latin1'), 10)
        if (Number.isInteger(owner) && owner !== process.pid && processAlive(owner)) {
          throw lockedError(this.#key, `process ${owner}`)
        }
        // Stale: its owner is gone (or it was this pid, reused after a crash).
        await this.#fs.unlink(this.#path)
      } catch (err) {
        if (err instanceof CaskError) throw err
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue
        throw ioError(`locking ${this.#key}`, err)
      }
    }
    throw lockedError(this.#key, 'a process that keeps re-taking it')
  }

  async release(): Promise<void> {
    if (!this.#held) return
    this.#held = false
    heldInThisProcess.delete(this.#key)
    try {
      await this.#fs.unlink(this.#path)
    } catch {
      // A missing lock file is fine: the next open takes over a stale lock anyway.
    }
  }
}
