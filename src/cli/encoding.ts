/**
 * How the CLI turns command-line text into key and value bytes and back.
 *
 * `utf8` (the default) takes arguments as text; `hex` and `base64` let any
 * bytes through. Output in `utf8` never loses bytes: an entry that is not
 * valid UTF-8 is written as base64 and tagged `"encoding":"base64"`.
 */
import { isUtf8 } from 'node:buffer'
import { UsageError } from './args.js'

export type Encoding = 'utf8' | 'hex' | 'base64'

export const ENCODINGS: readonly Encoding[] = ['utf8', 'hex', 'base64']

export function parseEncoding(value: string | undefined, what = '--encoding'): Encoding {
  if (value === undefined) return 'utf8'
  const v = value.toLowerCase()
  if (v === 'utf8' || v === 'utf-8') return 'utf8'
  if (v === 'hex' || v === 'base64') return v
  throw new UsageError(`${what} must be one of utf8, hex, base64 (got "${value}")`)
}

const HEX = /^(?:[0-9a-fA-F]{2})*$/
const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/

/** Text to bytes; rejects malformed hex or base64 instead of silently dropping characters. */
export function decode(text: string, encoding: Encoding, what: string): Buffer {
  if (encoding === 'utf8') return Buffer.from(text, 'utf8')
  if (encoding === 'hex') {
    if (!HEX.test(text)) throw new UsageError(`${what} is not valid hex (an even number of 0-9a-f digits): "${clip(text)}"`)
    return Buffer.from(text, 'hex')
  }
  if (!BASE64.test(text) || text.replace(/=+$/, '').length % 4 === 1) {
    throw new UsageError(`${what} is not valid base64: "${clip(text)}"`)
  }
  return Buffer.from(text, 'base64')
}

export function encode(bytes: Buffer, encoding: Encoding): string {
  return bytes.toString(encoding)
}

/** The encoding an entry is written in: `utf8` falls back to base64 for bytes that are not UTF-8. */
export function encodingFor(encoding: Encoding, key: Buffer | undefined, value: Buffer | undefined): Encoding {
  if (encoding !== 'utf8') return encoding
  if ((key === undefined || isUtf8(key)) && (value === undefined || isUtf8(value))) return 'utf8'
  return 'base64'
}

export interface LineOptions {
  /** Write `"encoding"` even when it is the one the reader asked for (dump does, so load needs no flag). */
  alwaysTag: boolean
  /** Expiry in ms since the epoch; 0 or undefined is left out. */
  expires?: number | undefined
}

/** One NDJSON line (with its newline) for an entry: `{"key":…,"value":…,"expires"?:…,"encoding"?:…}`. */
export function entryLine(key: Buffer | undefined, value: Buffer | undefined, encoding: Encoding, options: LineOptions): string {
  const used = encodingFor(encoding, key, value)
  const obj: Record<string, string | number> = {}
  if (key !== undefined) obj['key'] = key.toString(used)
  if (value !== undefined) obj['value'] = value.toString(used)
  if (options.expires !== undefined && options.expires > 0) obj['expires'] = options.expires
  if (options.alwaysTag ? used !== 'utf8' : used !== encoding) obj['encoding'] = used
  return JSON.stringify(obj) + '\n'
}

function clip(text: string): string {
  return text.length > 40 ? text.slice(0, 37) + '...' : text
}
