/**
 * dump and load: a database as NDJSON, one entry per line, streamed both ways
 * in constant memory.
 *
 * Line format: {"key":…,"value":…,"expires"?:ms,"encoding"?:"hex"|"base64"}.
 * Without "encoding" the strings are UTF-8 text. dump writes UTF-8 when the
 * bytes are valid UTF-8 and base64 (tagged) otherwise, or the --encoding it
 * is given (tagged), so dump → load restores every byte and every expiry.
 */
import { createInterface } from 'node:readline'
import { Readable } from 'node:stream'
import type { BatchOperation } from '../db.js'
import { ENCODING_OPTION, UsageError, str, type Command } from './args.js'
import type { Context } from './context.js'
import { decode, entryLine, parseEncoding, type Encoding } from './encoding.js'
import { CliFailure, EXIT_OK } from './errors.js'
import { nodeFileSystem } from './files.js'
import { withDatabase } from './open.js'
import { formatCount } from './progress.js'

/** Entries per iterator step and per write batch. */
const BATCH = 1000
/** Flush a batch early once it holds this many bytes, so huge values don't pile up. */
const BATCH_BYTES = 4 * 1024 * 1024

/**
 * How many entries to fetch per iterator step: up to 1,000, fewer while values
 * are large, so one step holds about BATCH_BYTES of values at most.
 */
export class BatchSize {
  /** Starts small: the first step already reads values, before their size is known. */
  size = 16

  update(entries: readonly [Buffer | undefined, Buffer | undefined][]): void {
    let bytes = 0
    for (const [key, value] of entries) bytes += (key?.length ?? 0) + (value?.length ?? 0)
    if (bytes > BATCH_BYTES && this.size > 1) this.size = Math.max(1, this.size >> 1)
    else if (bytes < BATCH_BYTES / 4 && this.size < BATCH) this.size = Math.min(BATCH, this.size * 2)
  }
}

/** Stops a loop at the first Ctrl-C, so the database is closed cleanly; a second one kills the process. */
function interruptible(onStop?: () => void): { readonly stopped: boolean; dispose(): void } {
  let stopped = false
  const onSignal = () => {
    if (stopped) process.exit(130)
    stopped = true
    onStop?.()
  }
  process.on('SIGINT', onSignal)
  return {
    get stopped() {
      return stopped
    },
    dispose: () => process.removeListener('SIGINT', onSignal),
  }
}

const INTERRUPTED = new CliFailure('INTERRUPTED', 'interrupted; the database was closed cleanly', undefined, 130)

export const dump: Command = {
  name: 'dump',
  summary: 'write every entry to stdout as NDJSON (for load)',
  args: ['dir'],
  options: {
    encoding: {
      ...ENCODING_OPTION['encoding']!,
      help: 'write every line in this encoding (default: UTF-8 text, base64 for entries that are not UTF-8)',
    },
  },
  description:
    'Streams the database, in key order and as of the moment the dump starts, one line per\n' +
    'entry: {"key":…,"value":…} plus "expires" (ms since the epoch) for keys with a TTL and\n' +
    '"encoding" when the strings are not UTF-8 text. Streams in constant memory (besides the\n' +
    'key index every open database keeps in RAM) and waits for a slow reader.\n' +
    '`caskdb load` reads it back, every byte and expiry included.',
  examples: ['caskdb dump ./data > data.ndjson', 'caskdb dump ./data | gzip > data.ndjson.gz', 'caskdb dump ./old | caskdb load ./new'],
  async run(ctx, args) {
    const encoding = str(args, 'encoding') === undefined ? 'utf8' : parseEncoding(str(args, 'encoding'))
    const [dir] = args.positionals as [string]
    return withDatabase(dir, { create: false }, async (db) => {
      const snapshot = db.snapshot()
      const it = db.iterator({ snapshot })
      const progress = ctx.progress('dump', 'keys', db.stats().keys)
      const signal = interruptible()
      const batchSize = new BatchSize()
      try {
        for (;;) {
          if (signal.stopped) throw INTERRUPTED
          const entries = await it.nextv(batchSize.size)
          if (entries.length === 0) break
          batchSize.update(entries)
          let text = ''
          for (const [key, value] of entries) {
            // Expired since the iterator read it: leave it out rather than dump it without expiry.
            const expires = db.expiresAt(key!, { snapshot })
            if (expires === undefined) continue
            text += entryLine(key, value, encoding, { alwaysTag: true, expires })
            if (text.length >= BATCH_BYTES) {
              if (!(await ctx.write(text))) return EXIT_OK
              text = ''
            }
          }
          if (!(await ctx.write(text))) return EXIT_OK
          progress.add(entries.length)
          // Writes to a file never wait: let signals and the progress timer in between batches.
          await new Promise<void>((resolve) => setImmediate(resolve))
        }
      } finally {
        progress.finish()
        signal.dispose()
        it.close()
        snapshot.close()
      }
      return EXIT_OK
    })
  },
}

interface LoadCounts {
  loaded: number
  expired: number
  lines: number
}

function parseLine(line: string, lineNo: number, fallback: Encoding, now: number): BatchOperation | undefined {
  let obj: unknown
  try {
    obj = JSON.parse(line)
  } catch {
    throw new CliFailure('INVALID_INPUT', `line ${lineNo} is not valid JSON: ${line.length > 60 ? line.slice(0, 57) + '...' : line}`, 'load reads NDJSON as written by `caskdb dump` or `caskdb scan`')
  }
  const fail = (what: string) =>
    new CliFailure('INVALID_INPUT', `line ${lineNo}: ${what}`, 'each line must be {"key":"…","value":"…"} with optional "expires" (ms) and "encoding" (utf8|hex|base64)')
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) throw fail('not a JSON object')
  const { key, value, expires, encoding } = obj as Record<string, unknown>
  if (typeof key !== 'string') throw fail('"key" must be a string')
  if (typeof value !== 'string') throw fail('"value" must be a string')
  if (encoding !== undefined && typeof encoding !== 'string') throw fail('"encoding" must be utf8, hex or base64')
  if (expires !== undefined && (typeof expires !== 'number' || !Number.isFinite(expires) || expires < 0)) {
    throw fail('"expires" must be a time in ms since the epoch (0: never)')
  }
  let enc: Encoding
  let k: Buffer
  let v: Buffer
  try {
    enc = encoding === undefined ? fallback : parseEncoding(encoding, '"encoding"')
    k = decode(key, enc, '"key"')
    v = decode(value, enc, '"value"')
  } catch (err) {
    if (err instanceof UsageError) throw fail(err.message)
    throw err
  }
  if (expires !== undefined && expires > 0) {
    if (expires <= now) return undefined
    return { type: 'put', key: k, value: v, expires }
  }
  return { type: 'put', key: k, value: v }
}

/** Size of stdin when it is a regular file (`< file`), for the progress bar; undefined for a pipe. */
function stdinSize(ctx: Context): number | undefined {
  if (ctx.io.stdin.fd !== 0) return undefined
  try {
    const size = nodeFileSystem.fstatSize(0)
    return size > 0 ? size : undefined
  } catch {
    return undefined
  }
}

export const load: Command = {
  name: 'load',
  summary: 'read NDJSON entries from stdin into the database (creates it if missing)',
  args: ['dir'],
  options: {
    encoding: {
      ...ENCODING_OPTION['encoding']!,
      help: 'encoding of lines without an "encoding" field (default utf8)',
    },
  },
  description:
    'Reads lines as written by `caskdb dump` (or `caskdb scan`) from standard input and puts\n' +
    'each entry, in atomic batches of 1,000. Existing keys are overwritten; other keys are\n' +
    'kept. Entries whose "expires" has passed are skipped. Streams in constant memory (besides\n' +
    'the key index, which grows with the keys loaded). On a bad line it stops with its line\n' +
    'number (exit 1); the batches before it are kept.',
  examples: ['caskdb load ./data < data.ndjson', 'gunzip -c data.ndjson.gz | caskdb load ./data', 'caskdb load ./data --json < data.ndjson'],
  async run(ctx, args) {
    const encoding = parseEncoding(str(args, 'encoding'))
    const [dir] = args.positionals as [string]
    if (ctx.io.stdin.isTTY === true) {
      throw new UsageError('load reads NDJSON from standard input: caskdb load <dir> < file.ndjson')
    }
    const counts: LoadCounts = { loaded: 0, expired: 0, lines: 0 }
    await withDatabase(dir, { create: true }, async (db) => {
      const progress = ctx.progress('load', 'bytes', stdinSize(ctx))
      const input = ctx.io.stdin instanceof Readable ? ctx.io.stdin : Readable.from(ctx.io.stdin)
      const lines = createInterface({ input, crlfDelay: Infinity })
      // Ctrl-C ends the line loop even while stdin is idle; the batch in hand is dropped.
      const signal = interruptible(() => lines.close())
      let batch: BatchOperation[] = []
      let batchBytes = 0
      let readBytes = 0
      const flush = async () => {
        if (batch.length === 0) return
        await db.batch(batch)
        counts.loaded += batch.length
        batch = []
        batchBytes = 0
        progress.set(readBytes)
      }
      try {
        for await (const line of lines) {
          if (signal.stopped) throw INTERRUPTED
          counts.lines++
          readBytes += Buffer.byteLength(line) + 1
          if (line.trim() === '') continue
          const op = parseLine(line, counts.lines, encoding, Date.now())
          if (op === undefined) {
            counts.expired++
            continue
          }
          batch.push(op)
          batchBytes += op.key.length + (op.type === 'put' ? op.value.length : 0)
          if (batch.length >= BATCH || batchBytes >= BATCH_BYTES) await flush()
        }
        if (signal.stopped) throw INTERRUPTED
        await flush()
      } finally {
        lines.close()
        progress.finish()
        signal.dispose()
      }
    })
    const text =
      `loaded ${formatCount(counts.loaded)} entr${counts.loaded === 1 ? 'y' : 'ies'} into ${dir}` +
      (counts.expired > 0 ? ` (${formatCount(counts.expired)} already expired, skipped)` : '')
    await ctx.result(text, { loaded: counts.loaded, skippedExpired: counts.expired })
    return EXIT_OK
  },
}

