/**
 * Every error caskdb throws on purpose is a `CaskError` with a stable `code`.
 * Codes never change meaning between versions; messages may be reworded.
 * Argument mistakes (wrong types, bad option values) are CaskErrors too, so
 * callers can branch on `code` without parsing messages.
 */

export const ErrorCodes = {
  /** The database is not open yet (or failed to open: see `cause`). */
  NOT_OPEN: 'NOT_OPEN',
  /** The database, iterator or snapshot was closed. */
  CLOSED: 'CLOSED',
  /** Another process or another instance in this process holds the directory. */
  LOCKED: 'LOCKED',
  /** `createIfMissing: false` and the directory holds no database. */
  NOT_FOUND: 'NOT_FOUND',
  /** `errorIfExists: true` and a database exists. */
  EXISTS: 'EXISTS',
  /** Bytes on disk fail their checksum or structure. Never returned as data. */
  CORRUPTION: 'CORRUPTION',
  /** The operating system refused a file operation (see `cause`). */
  IO_ERROR: 'IO_ERROR',
  /** A write failed earlier and the database refuses further writes until reopened. */
  READ_ONLY: 'READ_ONLY',
  INVALID_KEY: 'INVALID_KEY',
  INVALID_VALUE: 'INVALID_VALUE',
  INVALID_OPTION: 'INVALID_OPTION',
  INVALID_ARGUMENT: 'INVALID_ARGUMENT',
  /** A data file has a format version this build cannot read. */
  UNSUPPORTED_FORMAT: 'UNSUPPORTED_FORMAT',
  /** An iterator is already busy with another call. */
  BUSY: 'BUSY',
  /** A put was refused because the JS heap is nearly full (see the `maxHeapRatio` option). */
  OUT_OF_MEMORY: 'OUT_OF_MEMORY',
} as const

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes]

export class CaskError extends Error {
  readonly code: ErrorCode
  /** File and byte offset, for CORRUPTION errors. */
  readonly file?: string
  readonly offset?: number

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; file?: string; offset?: number } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'CaskError'
    this.code = code
    if (options.file !== undefined) this.file = options.file
    if (options.offset !== undefined) this.offset = options.offset
  }
}

export function isCaskError(err: unknown, code?: ErrorCode): err is CaskError {
  return err instanceof CaskError && (code === undefined || err.code === code)
}

/** Wraps an OS error from the file layer, keeping the original as `cause`. */
export function ioError(what: string, cause: unknown): CaskError {
  if (cause instanceof CaskError) return cause
  const sys = cause as NodeJS.ErrnoException
  const detail = sys && sys.code ? ` (${sys.code})` : ''
  return new CaskError(ErrorCodes.IO_ERROR, `${what} failed${detail}`, { cause })
}

export function corruption(message: string, file: string, offset: number, cause?: unknown): CaskError {
  return new CaskError(ErrorCodes.CORRUPTION, `${message} in ${file} at offset ${offset}`, { file, offset, cause })
}
