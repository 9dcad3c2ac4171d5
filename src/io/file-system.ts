/**
 * The only module that touches `node:fs`. Everything else receives a
 * `FileSystem`, so tests can hand in a double that fails the Nth write,
 * fsync or rename, or tears a write in half.
 *
 * Hot-path calls are synchronous on purpose: a positional read or write of a
 * small record against the page cache takes microseconds, while a round trip
 * through libuv's thread pool costs ~34 µs (see bench/NOTES.md). fsync is
 * always asynchronous, because it can take milliseconds.
 */
import * as fs from 'node:fs'
import * as fsp from 'node:fs/promises'

export type Fd = number

export interface FileSystem {
  // Synchronous, used on the hot path and during open.
  openSync(path: string, flags: string, mode?: number): Fd
  closeSync(fd: Fd): void
  readSync(fd: Fd, buffer: Uint8Array, offset: number, length: number, position: number): number
  writevSync(fd: Fd, buffers: Uint8Array[], position: number): number
  ftruncateSync(fd: Fd, length: number): void
  fstatSize(fd: Fd): number
  // Asynchronous.
  fdatasync(fd: Fd): Promise<void>
  fsyncDir(path: string): Promise<void>
  read(fd: Fd, buffer: Uint8Array, offset: number, length: number, position: number): Promise<number>
  mkdir(path: string): Promise<void>
  readdir(path: string): Promise<string[]>
  exists(path: string): Promise<boolean>
  rename(from: string, to: string): Promise<void>
  unlink(path: string): Promise<void>
  link(from: string, to: string): Promise<void>
  copyFile(from: string, to: string): Promise<void>
  readFile(path: string): Promise<Buffer>
  /** Writes a whole file and fsyncs it before resolving. */
  writeFileDurable(path: string, data: Uint8Array, mode?: number): Promise<void>
  /** Creates a file only if it does not exist; false when it does. */
  createExclusive(path: string, data: Uint8Array, mode?: number): Promise<boolean>
  rmrf(path: string): Promise<void>
}

export const nodeFileSystem: FileSystem = {
  openSync: (path, flags, mode) => fs.openSync(path, flags, mode),
  closeSync: (fd) => fs.closeSync(fd),
  readSync: (fd, buffer, offset, length, position) => fs.readSync(fd, buffer, offset, length, position),
  writevSync: (fd, buffers, position) => fs.writevSync(fd, buffers, position),
  ftruncateSync: (fd, length) => fs.ftruncateSync(fd, length),
  fstatSize: (fd) => fs.fstatSync(fd).size,
  fdatasync: (fd) =>
    new Promise((resolve, reject) => fs.fdatasync(fd, (err) => (err ? reject(err) : resolve()))),
  async fsyncDir(path) {
    const handle = await fsp.open(path, 'r')
    try {
      await handle.sync()
    } finally {
      await handle.close()
    }
  },
  read: (fd, buffer, offset, length, position) =>
    new Promise((resolve, reject) =>
      fs.read(fd, buffer, offset, length, position, (err, n) => (err ? reject(err) : resolve(n))),
    ),
  mkdir: async (path) => {
    await fsp.mkdir(path, { recursive: true })
  },
  readdir: (path) => fsp.readdir(path),
  exists: async (path) => {
    try {
      await fsp.stat(path)
      return true
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false
      throw err
    }
  },
  rename: (from, to) => fsp.rename(from, to),
  unlink: (path) => fsp.unlink(path),
  link: (from, to) => fsp.link(from, to),
  copyFile: (from, to) => fsp.copyFile(from, to, fs.constants.COPYFILE_EXCL),
  readFile: (path) => fsp.readFile(path),
  async writeFileDurable(path, data, mode) {
    const handle = await fsp.open(path, 'w', mode)
    try {
      await handle.writeFile(data)
      await handle.datasync()
    } finally {
      await handle.close()
    }
  },
  async createExclusive(path, data, mode) {
    let handle: fsp.FileHandle
    try {
      handle = await fsp.open(path, 'wx', mode)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false
      throw err
    }
    try {
      await handle.writeFile(data)
    } finally {
      await handle.close()
    }
    return true
  },
  rmrf: (path) => fsp.rm(path, { recursive: true, force: true }),
}
