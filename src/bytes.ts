/**
 * Keys and values are bytes. Strings are accepted as UTF-8.
 *
 * Inside the index a key is held as a latin1 string (one char per byte):
 * V8 stores it as a compact one-byte string, and JavaScript's `<` on such
 * strings is exactly bytewise order, so the index never allocates a Buffer
 * per key or calls a comparator.
 */
import { CaskError, ErrorCodes } from './errors.js'

export type BytesLike = Uint8Array | string

declare global {
  interface Buffer {
    /** Node's undocumented fast path behind toString('latin1', start, end). */
    latin1Slice(start: number, end: number): string
  }
}

export function toBuffer(input: Uint8Array | string): Buffer {
  if (typeof input === 'string') return Buffer.from(input, 'utf8')
  if (Buffer.isBuffer(input)) return input
  return Buffer.from(input.buffer, input.byteOffset, input.byteLength)
}

export function keyBytes(key: unknown, maxKeySize: number): Buffer {
  if (typeof key !== 'string' && !(key instanceof Uint8Array)) {
    throw new CaskError(ErrorCodes.INVALID_KEY, `key must be a string, Buffer or Uint8Array, got ${describe(key)}`)
  }
  const buf = toBuffer(key)
  if (buf.length > maxKeySize) {
    throw new CaskError(
      ErrorCodes.INVALID_KEY,
      `key is ${buf.length} bytes; the limit is ${maxKeySize} (option maxKeySize)`,
    )
  }
  return buf
}

export function valueBytes(value: unknown, maxValueSize: number): Buffer {
  if (typeof value !== 'string' && !(value instanceof Uint8Array)) {
    throw new CaskError(ErrorCodes.INVALID_VALUE, `value must be a string, Buffer or Uint8Array, got ${describe(value)}`)
  }
  const buf = toBuffer(value)
  if (buf.length > maxValueSize) {
    throw new CaskError(
      ErrorCodes.INVALID_VALUE,
      `value is ${buf.length} bytes; the limit is ${maxValueSize} (option maxValueSize)`,
    )
  }
  return buf
}

/**
 * The index form of a user key, as `indexKey(keyBytes(key, maxKeySize))`
 * returns it (same checks, same errors), for lookups. A string of ASCII
 * characters only is its own index form: its UTF-8 bytes are its char codes,
 * one per char, so neither the Buffer nor the latin1 copy is needed. Any
 * other char (even U+0080–U+00FF, which latin1 would take as one byte but
 * UTF-8 encodes as two) goes through the bytes, so order stays bytewise.
 *
 * Not for keys that are stored: a user's string may be a slice that keeps a
 * larger string alive, and the index would hold on to it.
 */
export function lookupKey(key: unknown, maxKeySize: number): string {
  if (typeof key === 'string' && key.length <= maxKeySize && isAscii(key)) return key
  return indexKey(keyBytes(key, maxKeySize))
}

function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false
  return true
}

export function indexKey(bytes: Buffer): string {
  return bytes.latin1Slice(0, bytes.length)
}

/** An index key as the UTF-8 string it encodes; an ASCII key is its own string (no copy). */
export function keyString(key: string): string {
  return isAscii(key) ? key : Buffer.from(key, 'latin1').toString('utf8')
}

/** A range bound given as bytes or string, converted to the index's latin1 form. */
export function boundKey(bound: unknown, name: string): string | undefined {
  if (bound === undefined || bound === null) return undefined
  if (typeof bound !== 'string' && !(bound instanceof Uint8Array)) {
    throw new CaskError(ErrorCodes.INVALID_ARGUMENT, `range option ${name} must be a string or bytes, got ${describe(bound)}`)
  }
  if (typeof bound === 'string' && isAscii(bound)) return bound
  return indexKey(toBuffer(bound))
}

function describe(x: unknown): string {
  if (x === null) return 'null'
  if (Array.isArray(x)) return 'an array'
  return typeof x
}
