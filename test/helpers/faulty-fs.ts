/**
 * A FileSystem double over the real one that fails the Nth call of a chosen
 * kind, with a chosen errno, or tears a write so only part of it lands.
 */
import { nodeFileSystem, type FileSystem } from '../../src/io/file-system.js'

export type CallKind = 'open' | 'write' | 'fsync' | 'rename' | 'unlink' | 'read' | 'link' | 'mkdir'

export interface Fault {
  kind: CallKind
  /** 1-based: fail the nth call of this kind. */
  nth: number
  code?: 'EIO' | 'ENOSPC' | 'EACCES'
  /** For writes: write this many bytes, then fail. */
  tornBytes?: number
  /** Keep failing every call of this kind from the nth on. */
  sticky?: boolean
}

function errno(code: string, syscall: string): NodeJS.ErrnoException {
  const err = new Error(`${code}: injected fault, ${syscall}`) as NodeJS.ErrnoException
  err.code = code
  err.syscall = syscall
  return err
}

export class FaultyFs {
  readonly counts: Record<CallKind, number> = { open: 0, write: 0, fsync: 0, rename: 0, unlink: 0, read: 0, link: 0, mkdir: 0 }
  fault: Fault | undefined
  injected = 0
  readonly fs: FileSystem

  constructor(fault?: Fault) {
    this.fault = fault
    const real = nodeFileSystem
    const hit = (kind: CallKind): Fault | undefined => {
      const n = ++this.counts[kind]
      const f = this.fault
      if (!f || f.kind !== kind) return undefined
      if (n === f.nth || (f.sticky && n > f.nth)) {
        this.injected++
        return f
      }
      return undefined
    }
    const fail = (f: Fault, syscall: string): never => {
      throw errno(f.code ?? 'EIO', syscall)
    }
    this.fs = {
      ...real,
      openSync: (path, flags, mode) => {
        const f = hit('open')
        if (f) fail(f, 'open')
        return real.openSync(path, flags, mode)
      },
      readSync: (fd, buffer, offset, length, position) => {
        const f = hit('read')
        if (f) fail(f, 'read')
        return real.readSync(fd, buffer, offset, length, position)
      },
      read: async (fd, buffer, offset, length, position) => {
        const f = hit('read')
        if (f) fail(f, 'read')
        return real.read(fd, buffer, offset, length, position)
      },
      writevSync: (fd, buffers, position) => {
        const f = hit('write')
        if (f) {
          if (f.tornBytes !== undefined) {
            const all = Buffer.concat(buffers)
            real.writevSync(fd, [all.subarray(0, Math.min(f.tornBytes, all.length))], position)
          }
          fail(f, 'write')
        }
        return real.writevSync(fd, buffers, position)
      },
      fdatasync: async (fd) => {
        const f = hit('fsync')
        if (f) fail(f, 'fdatasync')
        return real.fdatasync(fd)
      },
      fsyncDir: async (path) => {
        const f = hit('fsync')
        if (f) fail(f, 'fsync')
        return real.fsyncDir(path)
      },
      writeFileDurable: async (path, data, mode) => {
        const f = hit('write')
        if (f) fail(f, 'write')
        return real.writeFileDurable(path, data, mode)
      },
      rename: async (from, to) => {
        const f = hit('rename')
        if (f) fail(f, 'rename')
        return real.rename(from, to)
      },
      unlink: async (path) => {
        const f = hit('unlink')
        if (f) fail(f, 'unlink')
        return real.unlink(path)
      },
      link: async (from, to) => {
        const f = hit('link')
        if (f) fail(f, 'link')
        return real.link(from, to)
      },
      mkdir: async (path) => {
        const f = hit('mkdir')
        if (f) fail(f, 'mkdir')
        return real.mkdir(path)
      },
    }
  }
}
