/** compact, verify, repair, backup and restore. */
import { resolve } from 'node:path'
import { CaskDB } from '../db.js'
import { CaskError, ErrorCodes } from '../errors.js'
import { DirectoryLock } from '../lock.js'
import type { Command } from './args.js'
import { CliFailure, EXIT_DAMAGE, EXIT_OK, toFailure } from './errors.js'
import { listDatabase, meteredFileSystem, nodeFileSystem, type Listing, type Meter } from './files.js'
import { withDatabase } from './open.js'
import { formatBytes, formatCount, type Progress } from './progress.js'

/** Lists a database directory for a command that works on closed files; a directory without data files is NOT_FOUND. */
async function existingDatabase(dir: string): Promise<Listing> {
  const listing = await listDatabase(dir).catch((err: unknown) => {
    if (err instanceof CaskError && err.code === ErrorCodes.NOT_FOUND) return undefined
    throw err
  })
  if (listing === undefined || listing.dataFiles === 0) {
    throw new CliFailure('NOT_FOUND', `no caskdb database at ${resolve(dir)} (missing, or no data files in it)`, 'check the path')
  }
  return listing
}

async function tracked<T>(progress: Progress, work: () => Promise<T>): Promise<T> {
  try {
    return await work()
  } finally {
    progress.finish()
  }
}

export const compact: Command = {
  name: 'compact',
  summary: 'rewrite data files without overwritten and deleted records',
  args: ['dir'],
  options: {},
  description:
    'Rewrites every data file that holds dead bytes (old values, deleted and expired keys),\n' +
    'so disk use comes down to the live data. Safe to interrupt: a crash leaves the old files.',
  examples: ['caskdb compact ./data', 'caskdb compact ./data --json'],
  async run(ctx, args) {
    const [dir] = args.positionals as [string]
    const meter: Meter = {}
    return withDatabase(dir, { create: false, fs: meteredFileSystem(nodeFileSystem, meter) }, async (db) => {
      const before = db.stats()
      const progress = ctx.progress('compact', 'bytes', before.diskBytes)
      meter.onRead = (n) => progress.add(n)
      const result = await tracked(progress, () => db.compact())
      meter.onRead = undefined
      const reclaimed = Math.max(0, result.bytesBefore - result.bytesAfter)
      const text =
        result.segmentsCompacted === 0
          ? `nothing to compact: ${formatBytes(result.bytesAfter)} on disk, no dead bytes`
          : `compacted ${result.segmentsCompacted} segment${result.segmentsCompacted === 1 ? '' : 's'}: ` +
            `${formatBytes(result.bytesBefore)} → ${formatBytes(result.bytesAfter)} on disk (${formatBytes(reclaimed)} reclaimed)`
      await ctx.result(text, { ...result, reclaimedBytes: reclaimed })
      return EXIT_OK
    })
  },
}

export const verify: Command = {
  name: 'verify',
  summary: 'check every record and hint file for damage (exit 2 if any)',
  args: ['dir'],
  options: {},
  description:
    'Reads every data and hint file of a closed database and checks each record\'s checksum.\n' +
    'Prints one line per damaged spot, "<file>:<offset>: <problem>", and exits with 2 when\n' +
    'there is damage (0 when healthy). Nothing is changed. The database must not be open\n' +
    'in another process (LOCKED otherwise).',
  examples: ['caskdb verify ./data', 'caskdb verify ./data --json || caskdb repair ./data'],
  async run(ctx, args) {
    const [dir] = args.positionals as [string]
    const listing = await existingDatabase(dir)
    const lock = new DirectoryLock(nodeFileSystem, listing.dir)
    try {
      await lock.acquire()
    } catch (err) {
      const failure = toFailure(err, 'verify', listing.dir)
      throw new CliFailure(failure.code, failure.message, failure.code === 'LOCKED' ? 'verify reads a closed database: close it first, then retry' : failure.hint)
    }
    const progress = ctx.progress('verify', 'bytes', listing.bytes)
    let damage
    try {
      damage = await tracked(progress, () => CaskDB.verify(listing.dir, { fs: meteredFileSystem(nodeFileSystem, { onRead: (n) => progress.add(n) }) }))
    } finally {
      await lock.release()
    }
    const summary = { ok: damage.length === 0, location: listing.dir, files: listing.files.length, bytes: listing.bytes, damage }
    if (ctx.json) {
      await ctx.write(JSON.stringify(summary) + '\n')
    } else if (damage.length === 0) {
      await ctx.write(`ok: no damage in ${listing.dir} (${listing.files.length} files, ${formatBytes(listing.bytes)} checked)\n`)
    } else {
      const files = new Set(damage.map((d) => d.file)).size
      let text = damage.map((d) => `${d.file}:${d.offset}: ${d.message}\n`).join('')
      text +=
        `damage: ${damage.length} problem${damage.length === 1 ? '' : 's'} in ${files} file${files === 1 ? '' : 's'}; ` +
        `run \`caskdb repair ${dir}\` to keep every intact record (damaged files are moved to ${dir}/lost/)\n`
      await ctx.write(text)
    }
    return damage.length === 0 ? EXIT_OK : EXIT_DAMAGE
  },
}

export const repair: Command = {
  name: 'repair',
  summary: 'rebuild damaged data files, keeping every intact record',
  args: ['dir'],
  options: {},
  description:
    'Rewrites each damaged data file with the records that still pass their checksum and moves\n' +
    'the original into <dir>/lost/ (never deleted). Damaged hint files are moved aside too and\n' +
    'rebuilt at the next open. A batch whose header was destroyed may come back in part. The\n' +
    'database must be closed. Run `caskdb verify` afterwards to confirm.',
  examples: ['caskdb repair ./data && caskdb verify ./data'],
  async run(ctx, args) {
    const [dir] = args.positionals as [string]
    const listing = await existingDatabase(dir)
    const progress = ctx.progress('repair', 'bytes', listing.bytes)
    const report = await tracked(progress, () =>
      CaskDB.repair(listing.dir, { fs: meteredFileSystem(nodeFileSystem, { onRead: (n) => progress.add(n) }) }),
    )
    let text: string
    if (report.repairedFiles.length === 0 && report.movedAside.length === 0) {
      text = `nothing to repair: no damage in ${listing.dir}`
    } else {
      text =
        `repaired ${report.repairedFiles.length} data file${report.repairedFiles.length === 1 ? '' : 's'}` +
        `${report.repairedFiles.length > 0 ? ` (${report.repairedFiles.join(', ')})` : ''}: ` +
        `kept ${formatCount(report.recordsKept)} intact records, lost ${formatBytes(report.bytesLost)}\n` +
        `moved to ${listing.dir}/lost/: ${report.movedAside.join(', ')}`
    }
    await ctx.result(text, { location: listing.dir, ...report })
    return EXIT_OK
  },
}

export const backup: Command = {
  name: 'backup',
  summary: 'write a consistent copy of the database into a new directory',
  args: ['dir', 'dest'],
  options: {},
  description:
    'Copies the database as of this moment into <dest>, which must not exist. Sealed data files\n' +
    'are hard-linked when <dest> is on the same filesystem (instant, no extra space until the\n' +
    'original is compacted), copied otherwise. <dest> can be opened or restored as it is.\n' +
    'The database must not be open in another process; inside an application use\n' +
    'db.backup(dir), or the `backup: { dir, every, keep }` option for scheduled backups.',
  examples: ['caskdb backup ./data /backups/data-$(date +%F)'],
  async run(ctx, args) {
    const [dir, dest] = args.positionals as [string, string]
    const meter: Meter = {}
    return withDatabase(dir, { create: false, fs: meteredFileSystem(nodeFileSystem, meter) }, async (db) => {
      const total = (await listDatabase(dir)).bytes
      const progress = ctx.progress('backup', 'bytes', total)
      meter.onWrite = (n) => progress.add(n)
      await tracked(progress, () => db.backup(dest))
      meter.onWrite = undefined
      const copy = await listDatabase(dest)
      await ctx.result(`backed up ${resolve(dir)} to ${copy.dir} (${copy.files.length} files, ${formatBytes(copy.bytes)})`, {
        location: resolve(dir),
        backup: copy.dir,
        files: copy.files.length,
        bytes: copy.bytes,
      })
      return EXIT_OK
    })
  },
}

export const restore: Command = {
  name: 'restore',
  summary: 'create a database from a backup directory',
  args: ['backup', 'dest'],
  options: {},
  description:
    'Copies the data and hint files of <backup> into <dest>, which must not exist, giving a\n' +
    'database that opens as the original did at backup time. The backup is left untouched.',
  examples: ['caskdb restore /backups/data-2024-05-01 ./data-restored'],
  async run(ctx, args) {
    const [from, dest] = args.positionals as [string, string]
    const source = await listDatabase(from).catch((err: unknown) => {
      if (err instanceof CaskError && err.code === ErrorCodes.NOT_FOUND) return undefined
      throw err
    })
    if (source === undefined || source.dataFiles === 0) {
      throw new CliFailure(
        'NOT_FOUND',
        `no caskdb backup at ${resolve(from)} (missing, or no data files in it)`,
        'check the backup path: a backup directory holds numbered .data files, as written by `caskdb backup`',
      )
    }
    const progress = ctx.progress('restore', 'bytes', source.bytes)
    await tracked(progress, () =>
      CaskDB.restore(from, dest, { fs: meteredFileSystem(nodeFileSystem, { onWrite: (n) => progress.add(n) }) }),
    )
    const copy = await listDatabase(dest)
    await ctx.result(`restored ${resolve(from)} into ${copy.dir} (${copy.files.length} files, ${formatBytes(copy.bytes)})`, {
      backup: resolve(from),
      location: copy.dir,
      files: copy.files.length,
      bytes: copy.bytes,
    })
    return EXIT_OK
  },
}

