/** get, put, del, scan and stats. */
import { resolve } from 'node:path'
import type { IteratorOptions } from '../iterator.js'
import { ENCODING_OPTION, count, duration, flag, str, type Command, type Parsed } from './args.js'
import type { Context } from './context.js'
import { decode, encode, entryLine, encodingFor, parseEncoding, type Encoding } from './encoding.js'
import { CliFailure, EXIT_OK } from './errors.js'
import { withDatabase } from './open.js'
import { BatchSize } from './transfer.js'
import { formatBytes, formatCount } from './progress.js'

/** Reads all of stdin (for `put <dir> <key> -`). */
export async function readAll(ctx: Context): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of ctx.io.stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk)
  return Buffer.concat(chunks)
}

function keyArg(args: Parsed, index: number, encoding: Encoding): Buffer {
  return decode(args.positionals[index]!, encoding, 'key')
}

function showKey(key: Buffer, encoding: Encoding): string {
  return JSON.stringify(key.toString(encodingFor(encoding, key, undefined)))
}

export const get: Command = {
  name: 'get',
  summary: 'print the value of a key',
  args: ['dir', 'key'],
  options: {
    ...ENCODING_OPTION,
    raw: { type: 'boolean', help: 'write the value bytes exactly, without a newline (for binary values: > file)' },
  },
  description:
    'Prints the value followed by a newline (with --encoding hex|base64, the value encoded that way).\n' +
    'With --json prints {"key":…,"value":…} plus "expires" (ms since the epoch) if the key has a TTL,\n' +
    'and "encoding":"base64" when the bytes are not UTF-8. A missing key is an error (exit 1).',
  examples: ['caskdb get ./data user:42', 'caskdb get ./data 00ff --encoding hex --json', 'caskdb get ./data photo --raw > photo.jpg'],
  async run(ctx, args) {
    const encoding = parseEncoding(str(args, 'encoding'))
    const [dir] = args.positionals as [string]
    const key = keyArg(args, 1, encoding)
    return withDatabase(dir, { create: false }, async (db) => {
      const value = await db.get(key)
      if (value === undefined) {
        throw new CliFailure('NOT_FOUND', `key ${showKey(key, encoding)} is not in ${resolve(dir)}`, 'list the keys with `caskdb scan <dir> --keys-only`')
      }
      if (ctx.json) {
        await ctx.write(entryLine(key, value, encoding, { alwaysTag: false, expires: db.expiresAt(key) }))
      } else if (flag(args, 'raw')) {
        await ctx.write(value)
      } else {
        await ctx.write(encoding === 'utf8' ? Buffer.concat([value, Buffer.from('\n')]) : encode(value, encoding) + '\n')
      }
      return EXIT_OK
    })
  },
}

export const put: Command = {
  name: 'put',
  summary: 'set a key to a value (creates the database if missing)',
  args: ['dir', 'key', 'value'],
  options: {
    ...ENCODING_OPTION,
    ttl: { type: 'string', arg: 'duration', help: 'expire the key after this long: 5000 (ms), 30s, 10m, 2h, 7d' },
  },
  description:
    'Writes <value>, or standard input when <value> is "-" (the bytes exactly, up to EOF;\n' +
    'with --encoding hex|base64 the text is decoded and whitespace ignored). The write is\n' +
    'synced to disk when the database closes, before the command exits.\n' +
    'Keys or values that start with "-" go after "--": caskdb put ./data -- -k -v',
  examples: [
    'caskdb put ./data user:42 \'{"name":"Ada"}\'',
    'caskdb put ./data session:1 token --ttl 30m',
    'caskdb put ./data photo - < photo.jpg',
    'caskdb put ./data 00ff 0a0b0c --encoding hex',
  ],
  async run(ctx, args) {
    const encoding = parseEncoding(str(args, 'encoding'))
    const ttl = duration(args, 'ttl')
    const [dir, , valueText] = args.positionals as [string, string, string]
    const key = keyArg(args, 1, encoding)
    let value: Buffer
    if (valueText === '-') {
      const input = await readAll(ctx)
      value = encoding === 'utf8' ? input : decode(input.toString('latin1').replace(/\s+/g, ''), encoding, 'value on stdin')
    } else {
      value = decode(valueText, encoding, 'value')
    }
    await withDatabase(dir, { create: true }, (db) => db.put(key, value, ttl !== undefined ? { ttl } : undefined))
    return EXIT_OK
  },
}

export const del: Command = {
  name: 'del',
  summary: 'delete a key',
  args: ['dir', 'key'],
  options: { ...ENCODING_OPTION },
  description: 'Deletes the key. Deleting a key that does not exist is not an error.',
  examples: ['caskdb del ./data user:42', 'caskdb del ./data 00ff --encoding hex'],
  async run(_ctx, args) {
    const encoding = parseEncoding(str(args, 'encoding'))
    const [dir] = args.positionals as [string]
    const key = keyArg(args, 1, encoding)
    await withDatabase(dir, { create: false }, (db) => db.del(key))
    return EXIT_OK
  },
}

const RANGE_OPTIONS = {
  gt: { type: 'string', arg: 'key', help: 'only keys after this key' },
  gte: { type: 'string', arg: 'key', help: 'only keys at or after this key' },
  lt: { type: 'string', arg: 'key', help: 'only keys before this key' },
  lte: { type: 'string', arg: 'key', help: 'only keys at or before this key' },
} as const

export const scan: Command = {
  name: 'scan',
  summary: 'print keys and values in key order, as JSON lines',
  args: ['dir'],
  options: {
    ...RANGE_OPTIONS,
    reverse: { type: 'boolean', help: 'from the highest key down' },
    limit: { type: 'string', arg: 'n', help: 'stop after n entries' },
    'keys-only': { type: 'boolean', help: 'print {"key":…} lines, without values' },
    ...ENCODING_OPTION,
  },
  description:
    'Prints one JSON object per line: {"key":…,"value":…}, keys in byte order. Range bounds\n' +
    'are read with --encoding too. In utf8 (the default), an entry whose bytes are not UTF-8\n' +
    'is printed in base64 with "encoding":"base64", so no byte is lost.',
  examples: [
    'caskdb scan ./data',
    "caskdb scan ./data --gte user: --lt 'user;' --limit 10",
    'caskdb scan ./data --reverse --limit 1 --keys-only',
    'caskdb scan ./data --encoding hex | jq -r .key',
  ],
  async run(ctx, args) {
    const encoding = parseEncoding(str(args, 'encoding'))
    const [dir] = args.positionals as [string]
    const options: IteratorOptions = { reverse: flag(args, 'reverse'), values: !flag(args, 'keys-only') }
    for (const name of ['gt', 'gte', 'lt', 'lte'] as const) {
      const bound = str(args, name)
      if (bound !== undefined) options[name] = decode(bound, encoding, `--${name}`)
    }
    const limit = count(args, 'limit')
    if (limit !== undefined) options.limit = limit
    return withDatabase(dir, { create: false }, async (db) => {
      const it = db.iterator(options)
      const batchSize = new BatchSize()
      try {
        for (;;) {
          const entries = await it.nextv(batchSize.size)
          if (entries.length === 0) break
          batchSize.update(entries)
          let text = ''
          for (const [key, value] of entries) text += entryLine(key, value, encoding, { alwaysTag: false })
          if (!(await ctx.write(text))) break
        }
      } finally {
        it.close()
      }
      return EXIT_OK
    })
  },
}

export const stats: Command = {
  name: 'stats',
  summary: 'show keys, live and dead bytes, segments',
  args: ['dir'],
  options: {},
  description:
    'Opens the database (recovering it if it was not closed cleanly) and prints its size.\n' +
    '"dead" bytes belong to overwritten or deleted keys: `caskdb compact` reclaims them.\n' +
    'With --json prints the engine\'s full stats object plus "location".',
  examples: ['caskdb stats ./data', 'caskdb stats ./data --json | jq .deadBytes'],
  async run(ctx, args) {
    const [dir] = args.positionals as [string]
    return withDatabase(dir, { create: false }, async (db) => {
      const s = db.stats()
      const location = resolve(dir)
      const deadShare = s.diskBytes > 0 ? Math.round((s.deadBytes / s.diskBytes) * 100) : 0
      const r = s.recovery
      const recovered =
        r.truncatedBytes === 0 && r.rebuiltHints === 0 && r.removedFiles.length === 0 && r.scannedBytes === 0
          ? 'clean'
          : `scanned ${formatBytes(r.scannedBytes)} no hint covered, cut ${formatBytes(r.truncatedBytes)} of torn writes, rebuilt ${r.rebuiltHints} hints, removed ${r.removedFiles.length} leftover files`
      const rows: [string, string][] = [
        ['location', location],
        ['keys', formatCount(s.keys)],
        ['live', formatBytes(s.liveBytes)],
        ['dead', `${formatBytes(s.deadBytes)} (${deadShare}% of disk${s.deadBytes > 0 ? '; `caskdb compact` reclaims it' : ''})`],
        ['on disk', `${formatBytes(s.diskBytes)} in ${s.segments} segment${s.segments === 1 ? '' : 's'}`],
        ['last open', recovered],
      ]
      const text = rows.map(([k, v]) => `${k.padEnd(10)} ${v}`).join('\n')
      await ctx.result(text, { location, ...s })
      return EXIT_OK
    })
  },
}

