/**
 * File-level helpers for progress, built on the engine's FileSystem (the CLI
 * never imports node:fs): a FileSystem wrapper that reports the bytes the
 * engine reads, writes or copies, and the size of a database's files.
 */
import { join, resolve } from 'node:path'
import { nodeFileSystem, type FileSystem } from '../io/file-system.js'
import { parseSegmentFileName } from '../log/segment.js'
import { parseActiveHintFileName } from '../log/seal.js'
import { CaskError, ErrorCodes, ioError } from '../errors.js'

export { nodeFileSystem }

export interface Meter {
  /** Bytes read from files (verify, repair, compaction). */
  onRead?: ((bytes: number) => void) | undefined
  /** Bytes written, and whole files linked or copied (backup, restore). */
  onWrite?: ((bytes: number) => void) | undefined
}

export function sizeOf(fs: FileSystem, path: string): number {
  const fd = fs.openSync(path, 'r')
  try {
    return fs.fstatSize(fd)
  } finally {
    fs.closeSync(fd)
  }
}

/** A FileSystem that calls the meter's callbacks as bytes go through it; set them once the work of interest starts. */
export function meteredFileSystem(base: FileSystem, meter: Meter): FileSystem {
  return {
    ...base,
    readSync(fd, buffer, offset, length, position) {
      const n = base.readSync(fd, buffer, offset, length, position)
      meter.onRead?.(n)
      return n
    },
    async read(fd, buffer, offset, length, position) {
      const n = await base.read(fd, buffer, offset, length, position)
      meter.onRead?.(n)
      return n
    },
    async readFile(path) {
      const data = await base.readFile(path)
      meter.onRead?.(data.length)
      return data
    },
    writevSync(fd, buffers, position) {
      const n = base.writevSync(fd, buffers, position)
      meter.onWrite?.(n)
      return n
    },
    async link(from, to) {
      await base.link(from, to)
      if (meter.onWrite) meter.onWrite(sizeOf(base, to))
    },
    async copyFile(from, to) {
      await base.copyFile(from, to)
      if (meter.onWrite) meter.onWrite(sizeOf(base, to))
    },
  }
}

export interface Listing {
  dir: string
  /** Data (.data) and hint (.hint, .active.hint) files, full paths. */
  files: string[]
  dataFiles: number
  bytes: number
}

/** The data and hint files of a database or backup directory, and their total size. */
export async function listDatabase(location: string, fs: FileSystem = nodeFileSystem): Promise<Listing> {
  const dir = resolve(location)
  if (!(await fs.exists(dir))) throw new CaskError(ErrorCodes.NOT_FOUND, `${dir} does not exist`)
  const listing: Listing = { dir, files: [], dataFiles: 0, bytes: 0 }
  const names = await fs.readdir(dir).catch((err) => Promise.reject(ioError(`listing ${dir}`, err)))
  for (const name of names.sort()) {
    const parsed = parseSegmentFileName(name)
    const activeHint = parseActiveHintFileName(name)
    const isDatabaseFile = parsed?.suffix === '.data' || parsed?.suffix === '.hint' || (activeHint !== undefined && !activeHint.temporary)
    if (!isDatabaseFile) continue
    const path = join(dir, name)
    listing.files.push(path)
    if (parsed?.suffix === '.data') listing.dataFiles++
    listing.bytes += sizeOf(fs, path)
  }
  return listing
}
