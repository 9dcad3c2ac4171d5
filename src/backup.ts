/**
 * Point-in-time backups and restores.
 *
 * The set of segments and the active segment's length are captured in one
 * synchronous step, so the copy is exactly the database of that instant.
 * Sealed segments never change, so they are hard-linked (no bytes copied)
 * when the filesystem allows, and copied otherwise; the active segment is
 * copied up to the captured length, with a partial hint of that length
 * (`<id>.active.hint`, as a clean close writes), so opening the backup or a
 * restore of it reads no values, as opening the database itself would. The
 * backup registers as a reader, so compaction meanwhile cannot close a file
 * it still has to copy.
 */
import { basename, dirname, join } from 'node:path'
import { CaskError, ErrorCodes, ioError } from './errors.js'
import type { FileSystem } from './io/file-system.js'
import type { StoreCore } from './core.js'
import { DATA_SUFFIX, HINT_SUFFIX, parseSegmentFileName, type Segment } from './log/segment.js'
import { activeHintPath, parseActiveHintFileName, partialHint } from './log/seal.js'
import { FILE_HEADER_SIZE } from './format/file-header.js'

const COPY_CHUNK = 1024 * 1024

async function copyFromFd(fs: FileSystem, fd: number, length: number, to: string, mode: number): Promise<void> {
  const out = fs.openSync(to, 'wx', mode)
  try {
    const buf = Buffer.allocUnsafe(Math.min(COPY_CHUNK, Math.max(1, length)))
    let at = 0
    while (at < length) {
      const n = await fs.read(fd, buf, 0, Math.min(buf.length, length - at), at)
      if (n === 0) throw new Error(`source ended at ${at} of ${length} bytes`)
      let written = 0
      while (written < n) written += fs.writevSync(out, [buf.subarray(written, n)], at + written)
      at += n
    }
    await fs.fdatasync(out)
  } finally {
    fs.closeSync(out)
  }
}

/** Refuses an existing target: a backup or restore never overwrites a directory. */
async function assertAbsent(fs: FileSystem, dir: string, what: string): Promise<void> {
  let exists: boolean
  try {
    exists = await fs.exists(dir)
  } catch (err) {
    throw ioError(`checking ${dir}`, err)
  }
  if (exists) throw new CaskError(ErrorCodes.EXISTS, `${dir} exists; ${what} never overwrites a directory, pick a new one`)
}

let partials = 0

/**
 * Backups and restores are built in a hidden sibling directory and renamed
 * into place when complete, so `dir` either does not exist or holds a whole
 * copy: a crash or failure midway never leaves a plausible-looking partial
 * one, and two concurrent backups to one target cannot mix or delete each
 * other's files (the second rename fails).
 */
async function createPartialDir(fs: FileSystem, dir: string): Promise<string> {
  const partial = join(dirname(dir), `.${basename(dir)}.partial-${process.pid}-${++partials}`)
  try {
    await fs.mkdir(dirname(dir))
    await fs.rmrf(partial) // a leftover of a crashed process with a reused pid
    await fs.mkdir(partial)
  } catch (err) {
    throw ioError(`creating ${partial}`, err)
  }
  return partial
}

async function publishDir(fs: FileSystem, partial: string, dir: string, what: string): Promise<void> {
  await fs.fsyncDir(partial)
  try {
    await fs.rename(partial, dir)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOTEMPTY' || code === 'EEXIST' || code === 'EISDIR' || code === 'ENOTDIR') {
      throw new CaskError(ErrorCodes.EXISTS, `${dir} appeared while ${what} was written; pick a new directory`, { cause: err })
    }
    throw err
  }
  try {
    await fs.fsyncDir(dirname(dir))
  } catch (err) {
    // Not durable, so not done: take it back rather than report a backup a power cut could lose.
    await fs.rmrf(dir).catch(() => undefined)
    throw err
  }
}

export async function backupTo(core: StoreCore, dir: string): Promise<void> {
  const fs = core.fs
  if (dir === core.dir || dir.startsWith(core.dir + '/')) {
    throw new CaskError(ErrorCodes.INVALID_ARGUMENT, 'a backup cannot be written inside the database directory')
  }
  await assertAbsent(fs, dir, 'a backup')
  const partial = await createPartialDir(fs, dir)
  // The instant of the backup: which segments, and how much of the active one.
  const sealed: Segment[] = []
  for (const segment of core.segments.values()) if (segment !== core.active) sealed.push(segment)
  const active = core.active
  const activeLength = active.size
  const token = {}
  core.addReader(token)
  try {
    for (const segment of sealed) {
      const target = join(partial, basename(segment.dataPath))
      try {
        await fs.link(segment.dataPath, target)
      } catch {
        await copyFromFd(fs, segment.fd, segment.size, target, core.options.fileMode)
      }
      if (segment.hinted) {
        await fs.copyFile(segment.hintPath, join(partial, basename(segment.hintPath))).catch(() => {
          // No hint: the backup's first open scans that segment instead.
        })
      }
    }
    await copyFromFd(fs, active.fd, activeLength, join(partial, basename(active.dataPath)), core.options.fileMode)
    if (activeLength > FILE_HEADER_SIZE) {
      // Best effort, like the one close() writes: without it the copy's first open scans that segment.
      const hint = await partialHint(core, active, activeLength).catch(() => undefined)
      if (hint !== undefined) await fs.writeFileDurable(activeHintPath(partial, active.id), hint, core.options.fileMode)
    }
    await publishDir(fs, partial, dir, 'the backup')
  } catch (err) {
    await fs.rmrf(partial).catch(() => undefined)
    throw err instanceof CaskError ? err : ioError(`backing up to ${dir}`, err)
  } finally {
    core.removeReader(token)
  }
}

export async function restoreFrom(fs: FileSystem, backupDir: string, location: string): Promise<void> {
  if (typeof backupDir !== 'string' || typeof location !== 'string' || backupDir === '' || location === '') {
    throw new CaskError(ErrorCodes.INVALID_ARGUMENT, 'restore(backupDir, location) takes two directory paths')
  }
  const names = await fs.readdir(backupDir).catch((err) => {
    throw ioError(`reading backup ${backupDir}`, err)
  })
  const files = names.filter((n) => {
    const parsed = parseSegmentFileName(n)
    if (parsed !== undefined) return parsed.suffix === DATA_SUFFIX || parsed.suffix === HINT_SUFFIX
    return parseActiveHintFileName(n)?.temporary === false
  })
  if (!files.some((n) => n.endsWith(DATA_SUFFIX))) {
    throw new CaskError(ErrorCodes.NOT_FOUND, `${backupDir} does not exist or holds no caskdb data files`)
  }
  await assertAbsent(fs, location, 'a restore')
  const partial = await createPartialDir(fs, location)
  try {
    for (const name of files) {
      const to = join(partial, name)
      await fs.copyFile(join(backupDir, name), to)
      // copyFile does not fsync: without this a power cut could empty a "restored" file.
      const fd = fs.openSync(to, 'r')
      try {
        await fs.fdatasync(fd)
      } finally {
        fs.closeSync(fd)
      }
    }
    await publishDir(fs, partial, location, 'the restore')
  } catch (err) {
    await fs.rmrf(partial).catch(() => undefined)
    throw err instanceof CaskError ? err : ioError(`restoring into ${location}`, err)
  }
}
