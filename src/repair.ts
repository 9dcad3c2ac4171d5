/**
 * verify() and repair() for a database directory that is not open.
 *
 * verify reads every data file and hint and lists the damage it finds.
 * repair keeps every intact record: each damaged data file is rewritten with
 * the records that still pass their checksum (skipping over damaged stretches),
 * and the original is moved aside into `lost/`, never deleted. Damaged hints
 * are moved aside too; the next open rebuilds them from the data.
 *
 * Salvage can split a batch whose header was destroyed: repair trades batch
 * atomicity for keeping every intact record, like LevelDB's RepairDB.
 *
 * Hints of active segments (`<id>.active.hint`, written by a clean close) are
 * a cache of what the data file holds: repair deletes the one of every data
 * file it moves aside, and orphaned ones, rather than keep them, because the
 * rewritten file may later be given the same id.
 */
import { join } from 'node:path'
import { CaskError, ErrorCodes, ioError } from './errors.js'
import type { FileSystem } from './io/file-system.js'
import { DATA_MAGIC, FILE_HEADER_SIZE, checkFileHeader, encodeFileHeader } from './format/file-header.js'
import { intactRecordAfter, scanSegment } from './log/scan.js'
import { DATA_SUFFIX, HINT_SUFFIX, TMP_SUFFIX, parseSegmentFileName, segmentFileName } from './log/segment.js'
import { DirectoryLock } from './lock.js'
import { hintExtent } from './recovery.js'
import { activeHintPath, parseActiveHintFileName } from './log/seal.js'

export interface Damage {
  file: string
  offset: number
  message: string
}

export interface RepairReport {
  /** Data files rewritten without their damaged parts. */
  repairedFiles: string[]
  /** Files moved into `lost/` (originals of repaired files, damaged hints). */
  movedAside: string[]
  /** Intact records kept from damaged files. */
  recordsKept: number
  /** Bytes of damaged files that could not be kept. */
  bytesLost: number
}

interface Listing {
  data: number[]
  hints: number[]
  /** Ids with an `<id>.active.hint`. */
  activeHints: number[]
}

async function list(fs: FileSystem, dir: string): Promise<Listing> {
  if (!(await fs.exists(dir))) throw new CaskError(ErrorCodes.NOT_FOUND, `${dir} does not exist`)
  const listing: Listing = { data: [], hints: [], activeHints: [] }
  for (const name of await fs.readdir(dir)) {
    const active = parseActiveHintFileName(name)
    if (active !== undefined && !active.temporary) listing.activeHints.push(active.id)
    const parsed = parseSegmentFileName(name)
    if (parsed?.suffix === DATA_SUFFIX) listing.data.push(parsed.id)
    if (parsed?.suffix === HINT_SUFFIX) listing.hints.push(parsed.id)
  }
  listing.data.sort((a, b) => a - b)
  return listing
}

/** Walks a data file, calling `keep` for every intact record, hopping over damage. */
async function salvage(
  fs: FileSystem,
  path: string,
  keep: (record: Buffer) => void,
): Promise<{ damage: Damage[]; size: number }> {
  const fd = fs.openSync(path, 'r')
  try {
    const size = fs.fstatSize(fd)
    const damage: Damage[] = []
    const header = Buffer.alloc(FILE_HEADER_SIZE)
    const n = fs.readSync(fd, header, 0, FILE_HEADER_SIZE, 0)
    try {
      checkFileHeader(header.subarray(0, n), DATA_MAGIC, path)
    } catch (err) {
      damage.push({ file: path, offset: 0, message: (err as Error).message })
    }
    let offset = FILE_HEADER_SIZE
    while (offset < size) {
      const result = await scanSegment(fs, fd, size, path, (buf, at, recordSize) => keep(Buffer.from(buf.subarray(at, at + recordSize))), offset)
      if (result.end >= size) break
      damage.push({ file: path, offset: result.end, message: result.damage ?? 'damaged' })
      const next = await intactRecordAfter(fs, fd, size, result.failedAt ?? result.end, path)
      if (next === undefined) break
      offset = next
    }
    return { damage, size }
  } finally {
    fs.closeSync(fd)
  }
}

export async function verifyDirectory(fs: FileSystem, dir: string): Promise<Damage[]> {
  const { data, hints } = await list(fs, dir)
  const damage: Damage[] = []
  for (const id of data) {
    const path = join(dir, segmentFileName(id, DATA_SUFFIX))
    damage.push(...(await salvage(fs, path, () => undefined)).damage)
  }
  for (const id of hints) {
    const path = join(dir, segmentFileName(id, HINT_SUFFIX))
    try {
      const missing = await missingBytes(fs, dir, id, await fs.readFile(path), path)
      if (missing > 0) {
        const file = join(dir, segmentFileName(id, DATA_SUFFIX))
        damage.push({ file, offset: 0, message: `${missing} bytes of the records its hint lists are missing` })
      }
    } catch (err) {
      if (!(err instanceof CaskError)) throw ioError(`reading ${path}`, err)
      damage.push({ file: path, offset: err.offset ?? 0, message: err.message })
    }
  }
  return damage
}

/** How many bytes the data file of a hint lacks (records cut off its end); throws CORRUPTION for a damaged hint. */
async function missingBytes(fs: FileSystem, dir: string, id: number, buf: Buffer, path: string): Promise<number> {
  const { end } = hintExtent(buf, path)
  const data = join(dir, segmentFileName(id, DATA_SUFFIX))
  if (!(await fs.exists(data))) return 0 // an orphan hint: removed at the next open
  const fd = fs.openSync(data, 'r')
  try {
    return Math.max(0, end - fs.fstatSize(fd))
  } finally {
    fs.closeSync(fd)
  }
}

export async function repairDirectory(fs: FileSystem, dir: string, fileMode: number): Promise<RepairReport> {
  const lock = new DirectoryLock(fs, dir, fileMode)
  const { data, hints, activeHints } = await list(fs, dir)
  await lock.acquire()
  const report: RepairReport = { repairedFiles: [], movedAside: [], recordsKept: 0, bytesLost: 0 }
  const lost = join(dir, 'lost')
  const moveAside = async (name: string) => {
    await fs.mkdir(lost)
    await fs.rename(join(dir, name), join(lost, `${name}.${Date.now()}`))
    report.movedAside.push(name)
  }
  try {
    let nextId = Math.max(0, ...data) + 1
    for (const id of hints) {
      const name = segmentFileName(id, HINT_SUFFIX)
      try {
        // A hint listing records its data file no longer has is set aside too: the next open scans what is left.
        if ((await missingBytes(fs, dir, id, await fs.readFile(join(dir, name)), name)) > 0) await moveAside(name)
      } catch (err) {
        if (!(err instanceof CaskError)) throw ioError(`reading ${name}`, err)
        await moveAside(name)
      }
    }
    for (const id of data) {
      const name = segmentFileName(id, DATA_SUFFIX)
      const kept: Buffer[] = []
      const { damage, size } = await salvage(fs, join(dir, name), (record) => kept.push(record))
      if (damage.length === 0) continue
      const replacement = segmentFileName(nextId++, DATA_SUFFIX)
      const tmp = join(dir, replacement + TMP_SUFFIX)
      const body = Buffer.concat([encodeFileHeader(DATA_MAGIC), ...kept])
      await fs.writeFileDurable(tmp, body, fileMode)
      await fs.rename(tmp, join(dir, replacement))
      await moveAside(name)
      if (hints.includes(id)) await moveAside(segmentFileName(id, HINT_SUFFIX)).catch(() => undefined)
      if (activeHints.includes(id)) await fs.unlink(activeHintPath(dir, id)).catch(() => undefined)
      report.repairedFiles.push(name)
      report.recordsKept += kept.length
      report.bytesLost += Math.max(0, size - body.length)
    }
    for (const id of activeHints) if (!data.includes(id)) await fs.unlink(activeHintPath(dir, id)).catch(() => undefined)
    await fs.fsyncDir(dir)
  } catch (err) {
    throw err instanceof CaskError ? err : ioError(`repairing ${dir}`, err)
  } finally {
    await lock.release()
  }
  return report
}
