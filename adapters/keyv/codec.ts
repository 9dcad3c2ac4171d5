/**
 * How Keyv keys and values become engine bytes.
 *
 * Keys. Every record key starts with a partition header, so namespaces can
 * never be confused with each other or with keys that contain `:`:
 *
 *   no namespace:  0x00 | key (UTF-8)
 *   namespace ns:  0x01 | varint(byteLength(ns)) | ns (UTF-8) | key (UTF-8)
 *
 * A namespace is therefore one contiguous key range, `clear()` of a namespace
 * is a range delete, and namespace `a` never matches `a:b` (the length differs).
 * The empty string namespace is treated as "no namespace".
 *
 * Values. One tag byte, then the payload:
 *
 *   0x00  string, UTF-8 (what Keyv hands over when it serializes: the default)
 *   0x01  Buffer, raw bytes (comes back as a Buffer)
 *   0x02  anything else, `node:v8` serialize (raw objects when Keyv serialization is off)
 *
 * Other leading bytes are reserved for later formats.
 *
 * Record keys reach the engine as a Buffer, or, on the hot paths, as a string
 * whose UTF-8 bytes are exactly those of the Buffer (see `Partition.head`):
 * the engine takes string keys as UTF-8, and looks up an all-ASCII string key
 * without making a Buffer for it.
 */
import { deserialize, serialize } from 'node:v8'
import { CaskError, ErrorCodes } from '../../src/errors.js'

const NO_NAMESPACE = 0x00
const NAMESPACED = 0x01

const TAG_STRING = 0x00
const TAG_BUFFER = 0x01
const TAG_V8 = 0x02
/** TAG_STRING as a one-char string: its UTF-8 encoding is the one byte 0x00. */
const TAG_STRING_CHAR = '\u0000'

/** A namespace as stored: undefined, null and '' all mean "no namespace". */
export function normalizeNamespace(namespace: unknown): string | undefined {
  if (namespace === undefined || namespace === null || namespace === '') return undefined
  return typeof namespace === 'string' ? namespace : String(namespace)
}

/** The key bytes every record of a namespace starts with. */
export function namespacePrefix(namespace: string | undefined): Buffer {
  if (namespace === undefined) return Buffer.from([NO_NAMESPACE])
  const ns = Buffer.from(namespace, 'utf8')
  const header: number[] = [NAMESPACED]
  let n = ns.length
  while (n >= 0x80) {
    header.push((n & 0x7f) | 0x80)
    n >>>= 7
  }
  header.push(n)
  return Buffer.concat([Buffer.from(header), ns])
}

/** A record key as handed to the engine: the bytes, or a string whose UTF-8 encoding is those bytes. */
export type RecordKey = Buffer | string

/**
 * The namespace prefix as a string whose UTF-8 bytes are the prefix, when
 * every byte of the prefix is ASCII (a namespace of ASCII characters, shorter
 * than 128 bytes); else undefined. `head + key` then encodes exactly as
 * `encodeKey(prefix, key)` does: an ASCII char is its own one UTF-8 byte, and
 * no surrogate pair can span the boundary.
 */
export function prefixHead(prefix: Buffer): string | undefined {
  for (let i = 0; i < prefix.length; i++) if (prefix[i]! > 0x7f) return undefined
  return prefix.toString('latin1')
}

/** `[gte, lt)` bounds covering exactly the keys that start with `prefix`. */
export function prefixRange(prefix: Buffer): { gte: Buffer; lt: Buffer } {
  let end = prefix.length
  while (end > 0 && prefix[end - 1] === 0xff) end--
  // Every prefix here starts with 0x00 or 0x01, so some byte is below 0xff.
  const lt = Buffer.from(prefix.subarray(0, end))
  lt[end - 1] = lt[end - 1]! + 1
  return { gte: prefix, lt }
}

export function keyString(key: unknown): string {
  if (typeof key === 'string') return key
  if (key instanceof Uint8Array) return Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('utf8')
  if (key === undefined || key === null) throw new CaskError(ErrorCodes.INVALID_KEY, `caskdb/keyv: a Keyv key must be a string, got ${String(key)}`)
  return String(key)
}

/** Record key for `key` inside the namespace whose prefix is given. */
export function encodeKey(prefix: Buffer, key: string): Buffer {
  const keyLength = Buffer.byteLength(key, 'utf8')
  const out = Buffer.allocUnsafe(prefix.length + keyLength)
  prefix.copy(out, 0)
  out.write(key, prefix.length, keyLength, 'utf8')
  return out
}

/** The user key of a record key, given the length of its namespace prefix. */
export function decodeKey(recordKey: Buffer, prefixLength: number): string {
  return recordKey.toString('utf8', prefixLength)
}

/**
 * The stored form of a value: bytes, or for a string the string the engine
 * will encode (as UTF-8) into exactly those bytes, tag included. The engine
 * turns a string into bytes once anyway; a Buffer made here would be one
 * more allocation and copy per write.
 */
export function encodeValue(value: unknown): Buffer | string {
  if (typeof value === 'string') return TAG_STRING_CHAR + value
  if (Buffer.isBuffer(value)) {
    const out = Buffer.allocUnsafe(1 + value.length)
    out[0] = TAG_BUFFER
    value.copy(out, 1)
    return out
  }
  let payload: Buffer
  try {
    payload = serialize(value)
  } catch (err) {
    // Functions and symbols (also nested) cannot be stored, as with structuredClone.
    throw new CaskError(
      ErrorCodes.INVALID_VALUE,
      `caskdb/keyv: a value of type ${typeof value} cannot be stored (it holds a function, symbol or other uncloneable value); store plain data, or let Keyv serialize it`,
      { cause: err },
    )
  }
  const out = Buffer.allocUnsafe(1 + payload.length)
  out[0] = TAG_V8
  payload.copy(out, 1)
  return out
}

export function decodeValue(stored: Buffer): unknown {
  switch (stored[0]) {
    case TAG_STRING:
      return stored.toString('utf8', 1)
    case TAG_BUFFER:
      // The engine hands every caller its own Buffer, so a view is safe to give out.
      return stored.subarray(1)
    case TAG_V8:
      return deserialize(stored.subarray(1))
    default:
      throw new CaskError(
        ErrorCodes.UNSUPPORTED_FORMAT,
        `caskdb/keyv: unknown value format ${String(stored[0])} (not written by this adapter, or by a newer version)`,
      )
  }
}
