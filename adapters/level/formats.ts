/**
 * The engine returns Buffers; abstract-level asks the private API for one of
 * the native formats per call (`keyEncoding` / `valueEncoding` in options).
 */

export type NativeFormat = 'buffer' | 'view' | 'utf8'
export type Native = Buffer | Uint8Array | string

export type FromBuffer = (buf: Buffer) => Native

const asBuffer: FromBuffer = (buf) => buf
/** A plain Uint8Array over the same memory (no copy). */
const asView: FromBuffer = (buf) => new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength)
const asUtf8: FromBuffer = (buf) => buf.toString('utf8')

/** The converter from an engine Buffer to the requested format (unknown formats get Buffers). */
export function fromBuffer(format: unknown): FromBuffer {
  if (format === 'utf8') return asUtf8
  if (format === 'view') return asView
  return asBuffer
}

export type FromEngine = (out: Buffer | string) => Native

const asIs: FromEngine = (out) => out

/**
 * The converter for what an engine iterator hands out: it was asked for
 * strings where the format is 'utf8' (see the adapter's iterator options), so
 * those pass as they are; Buffers are converted as `fromBuffer` does.
 */
export function fromEngine(format: unknown): FromEngine {
  return format === 'utf8' ? asIs : (fromBuffer(format) as FromEngine)
}

export function convert(buf: Buffer | undefined, format: unknown): Native | undefined {
  return buf === undefined ? undefined : fromBuffer(format)(buf)
}
