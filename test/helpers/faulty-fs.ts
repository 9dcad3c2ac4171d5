/**
 * A FileSystem double over the real one that fails the Nth call of a chosen
 * kind, with a chosen errno, or tears a write so only part of it lands.
 *
 * Kinds (each counted separately in `counts`):
 *   open      openSync              write     writevSync, writeFileDurable
 *   fsync     fdatasync             fsyncDir  fsync of a directory
 *   rename    rename                unlink    unlink
 *   read      readSync, read        link      link
 *   mkdir     mkdir                 create    createExclusive (the LOCK file)
 *   copy      copyFile              readFile  readFile (hints, LOCK)
 *   truncate  ftruncateSync         readdir   readdir
 *   stat      fstatSize, exists     rmrf      rmrf
 * closeSync is never failed (the engine treats close errors as "already closed").
 *
 * `deny` adds a rule on top of the counted fault, e.g. `readOnlyDir()` below,
 * which refuses what a read-only directory refuses.
 */
import { writeFile } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'
import { nodeFileSystem, type FileSystem } from '../../src/io/file-system.js'

export const CALL_KINDS = [
  'open',
  'write',
  'fsync',
  'fsyncDir',
  'rename',
  'unlink',
  'read',
  'link',
  'mkdir',
  'create',
  'copy',
  'readFile',
  'truncate',
  'readdir',
  'stat',
  'rmrf',
] as const

export type CallKind = (typeof CALL_KINDS)[number]

export type FaultCode = 'EIO' | 'ENOSPC' | 'EACCES'

export interface Fault {
  kind: CallKind
  /** 1-based: fail the nth call of this kind. */
  nth: number
  code?: FaultCode
  /** For writes (writevSync, writeFileDurable): write this many bytes, then fail. */
  tornBytes?: number
  /** Keep failing every call of this kind from the nth on. */
  sticky?: boolean
}

/** What a call is about, for `deny` rules. */
export interface Call {
  kind: CallKind
  /** The path the call names (the destination for rename, link and copy); undefined for fd calls. */
  path?: string
  /** openSync flags. */
  flags?: string
}

export type DenyRule = (call: Call) => FaultCode | undefined

function errno(code: string, syscall: string): NodeJS.ErrnoException {
  const err = new Error(`${code}: injected fault, ${syscall}`) as NodeJS.ErrnoException
  err.code = code
  err.syscall = syscall
  return err
}

function zeroCounts(): Record<CallKind, number> {
  return Object.fromEntries(CALL_KINDS.map((k) => [k, 0])) as Record<CallKind, number>
}

export interface FaultyFsOptions {
  /**
   * Make fdatasync, directory fsync and writeFileDurable's sync no-ops (they
   * are still counted and can still fail). For sweeps that run a workload
   * hundreds of times and test failure handling, not power loss.
   */
  skipSync?: boolean
}

export class FaultyFs {
  readonly counts: Record<CallKind, number> = zeroCounts()
  /** One fault, or several (each counted against its own kind). */
  fault: Fault | Fault[] | undefined
  deny: DenyRule | undefined
  injected = 0
  /** Description of the last injected failure (kind, call number, path), for test messages. */
  lastInjected: string | undefined
  readonly fs: FileSystem

  constructor(fault?: Fault | Fault[], options: FaultyFsOptions = {}) {
    this.fault = fault
    const real = nodeFileSystem
    const skipSync = options.skipSync === true
    /** Counts the call; returns the errno to fail it with, if any. */
    const hit = (call: Call): { code: FaultCode; torn?: number } | undefined => {
      const n = ++this.counts[call.kind]
      const faults = this.fault === undefined ? [] : Array.isArray(this.fault) ? this.fault : [this.fault]
      const f = faults.find((x) => x.kind === call.kind && (n === x.nth || (x.sticky === true && n > x.nth)))
      if (f) {
        this.injected++
        this.lastInjected = `${call.kind} #${n}${call.path ? ` (${call.path})` : ''}: ${f.code ?? 'EIO'}`
        return f.tornBytes === undefined ? { code: f.code ?? 'EIO' } : { code: f.code ?? 'EIO', torn: f.tornBytes }
      }
      const denied = this.deny?.(call)
      if (denied !== undefined) {
        this.injected++
        this.lastInjected = `${call.kind}${call.path ? ` (${call.path})` : ''}: ${denied} (deny rule)`
        return { code: denied }
      }
      return undefined
    }
    const check = (call: Call, syscall: string): void => {
      const f = hit(call)
      if (f) throw errno(f.code, syscall)
    }
    this.fs = {
      ...real,
      openSync: (path, flags, mode) => {
        check({ kind: 'open', path, flags }, 'open')
        return real.openSync(path, flags, mode)
      },
      readSync: (fd, buffer, offset, length, position) => {
        check({ kind: 'read' }, 'read')
        return real.readSync(fd, buffer, offset, length, position)
      },
      read: async (fd, buffer, offset, length, position) => {
        check({ kind: 'read' }, 'read')
        return real.read(fd, buffer, offset, length, position)
      },
      writevSync: (fd, buffers, position) => {
        const f = hit({ kind: 'write' })
        if (f) {
          if (f.torn !== undefined) {
            const all = Buffer.concat(buffers)
            real.writevSync(fd, [all.subarray(0, Math.min(f.torn, all.length))], position)
          }
          throw errno(f.code, 'write')
        }
        return real.writevSync(fd, buffers, position)
      },
      ftruncateSync: (fd, length) => {
        check({ kind: 'truncate' }, 'ftruncate')
        return real.ftruncateSync(fd, length)
      },
      fstatSize: (fd) => {
        check({ kind: 'stat' }, 'fstat')
        return real.fstatSize(fd)
      },
      fdatasync: async (fd) => {
        check({ kind: 'fsync' }, 'fdatasync')
        if (!skipSync) await real.fdatasync(fd)
      },
      fsyncDir: async (path) => {
        check({ kind: 'fsyncDir', path }, 'fsync')
        if (!skipSync) await real.fsyncDir(path)
      },
      writeFileDurable: async (path, data, mode) => {
        const f = hit({ kind: 'write', path, flags: 'w' })
        if (f) {
          if (f.torn !== undefined) await writeFile(path, data.subarray(0, Math.min(f.torn, data.length)), { mode })
          throw errno(f.code, 'write')
        }
        if (skipSync) await writeFile(path, data, { mode })
        else await real.writeFileDurable(path, data, mode)
      },
      createExclusive: async (path, data, mode) => {
        check({ kind: 'create', path, flags: 'wx' }, 'open')
        return real.createExclusive(path, data, mode)
      },
      readFile: async (path) => {
        check({ kind: 'readFile', path }, 'read')
        return real.readFile(path)
      },
      readdir: async (path) => {
        check({ kind: 'readdir', path }, 'scandir')
        return real.readdir(path)
      },
      exists: async (path) => {
        check({ kind: 'stat', path }, 'stat')
        return real.exists(path)
      },
      rename: async (from, to) => {
        check({ kind: 'rename', path: to }, 'rename')
        // A rename also removes `from` from its directory.
        if (from !== to) {
          const denied = this.deny?.({ kind: 'rename', path: from })
          if (denied !== undefined) throw errno(denied, 'rename')
        }
        return real.rename(from, to)
      },
      unlink: async (path) => {
        check({ kind: 'unlink', path }, 'unlink')
        return real.unlink(path)
      },
      link: async (from, to) => {
        check({ kind: 'link', path: to }, 'link')
        return real.link(from, to)
      },
      copyFile: async (from, to) => {
        check({ kind: 'copy', path: to }, 'copyfile')
        return real.copyFile(from, to)
      },
      mkdir: async (path) => {
        check({ kind: 'mkdir', path }, 'mkdir')
        return real.mkdir(path)
      },
      rmrf: async (path) => {
        check({ kind: 'rmrf', path }, 'rm')
        return real.rmrf(path)
      },
    }
  }

  /** Total calls so far, over every kind. */
  get total(): number {
    return CALL_KINDS.reduce((n, k) => n + this.counts[k], 0)
  }
}

/**
 * What a directory with mode 0o500 refuses to a non-root user: creating,
 * removing and renaming entries in it (EACCES). Opening and writing files
 * that already exist still works, as it does for real.
 */
export function readOnlyDir(dir: string): DenyRule {
  const target = resolve(dir)
  const inside = (path: string | undefined) => path !== undefined && dirname(resolve(path)) === target
  const creates = (flags: string | undefined) => flags !== undefined && /[wxa]/.test(flags)
  return (call) => {
    if (!inside(call.path)) return undefined
    switch (call.kind) {
      case 'open':
        return creates(call.flags) ? 'EACCES' : undefined
      case 'create':
      case 'rename':
      case 'unlink':
      case 'link':
      case 'copy':
      case 'mkdir':
      case 'rmrf':
        return 'EACCES'
      case 'write':
        // writeFileDurable creates its file.
        return call.flags !== undefined ? 'EACCES' : undefined
      default:
        return undefined
    }
  }
}
