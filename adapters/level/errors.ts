/**
 * Maps engine errors (CaskError, with a stable `code`) to the `LEVEL_*`
 * ModuleErrors that abstract-level databases throw. The original CaskError is
 * kept as `cause`, so `err.cause.code` still tells the engine's view.
 *
 * | CaskError code      | LEVEL code                  |
 * |---------------------|-----------------------------|
 * | LOCKED              | LEVEL_LOCKED                |
 * | CORRUPTION          | LEVEL_CORRUPTION            |
 * | IO_ERROR            | LEVEL_IO_ERROR              |
 * | NOT_OPEN, CLOSED    | LEVEL_DATABASE_NOT_OPEN     |
 * | INVALID_KEY         | LEVEL_INVALID_KEY           |
 * | INVALID_VALUE       | LEVEL_INVALID_VALUE         |
 * | BUSY                | LEVEL_ITERATOR_BUSY         |
 * | READ_ONLY           | LEVEL_READONLY              |
 * | UNSUPPORTED_FORMAT  | LEVEL_NOT_SUPPORTED         |
 * | NOT_FOUND           | LEVEL_DATABASE_NOT_FOUND    |
 * | EXISTS              | LEVEL_DATABASE_EXISTS       |
 * | INVALID_OPTION      | LEVEL_INVALID_OPTION        |
 * | INVALID_ARGUMENT    | LEVEL_INVALID_ARGUMENT      |
 * | OUT_OF_MEMORY       | LEVEL_OUT_OF_MEMORY         |
 *
 * abstract-level has no standard codes for the last five; classic-level
 * reports those conditions as uncoded errors. Messages are the engine's, so
 * createIfMissing / errorIfExists failures say "does not exist" / "exists".
 */
import ModuleError from 'module-error'
import { CaskError, ErrorCodes, type ErrorCode } from '../../src/errors.js'

const LEVEL_CODES: Record<ErrorCode, string> = {
  [ErrorCodes.LOCKED]: 'LEVEL_LOCKED',
  [ErrorCodes.CORRUPTION]: 'LEVEL_CORRUPTION',
  [ErrorCodes.IO_ERROR]: 'LEVEL_IO_ERROR',
  [ErrorCodes.NOT_OPEN]: 'LEVEL_DATABASE_NOT_OPEN',
  [ErrorCodes.CLOSED]: 'LEVEL_DATABASE_NOT_OPEN',
  [ErrorCodes.INVALID_KEY]: 'LEVEL_INVALID_KEY',
  [ErrorCodes.INVALID_VALUE]: 'LEVEL_INVALID_VALUE',
  [ErrorCodes.BUSY]: 'LEVEL_ITERATOR_BUSY',
  [ErrorCodes.READ_ONLY]: 'LEVEL_READONLY',
  [ErrorCodes.UNSUPPORTED_FORMAT]: 'LEVEL_NOT_SUPPORTED',
  [ErrorCodes.NOT_FOUND]: 'LEVEL_DATABASE_NOT_FOUND',
  [ErrorCodes.EXISTS]: 'LEVEL_DATABASE_EXISTS',
  [ErrorCodes.INVALID_OPTION]: 'LEVEL_INVALID_OPTION',
  [ErrorCodes.INVALID_ARGUMENT]: 'LEVEL_INVALID_ARGUMENT',
  [ErrorCodes.OUT_OF_MEMORY]: 'LEVEL_OUT_OF_MEMORY',
}

/** The LEVEL_* code an engine error code maps to. */
export function levelCode(code: ErrorCode): string {
  return LEVEL_CODES[code] ?? `LEVEL_${code}`
}

/** Converts a CaskError into a ModuleError with a LEVEL_* code; anything else is returned as is. */
export function toLevelError(err: unknown): unknown {
  if (!(err instanceof CaskError)) return err
  return new ModuleError(err.message, { code: levelCode(err.code), cause: err })
}

/** Runs `fn`, rethrowing engine errors as LEVEL_* ModuleErrors. */
export function mapErrors<T>(fn: () => T): T {
  try {
    return fn()
  } catch (err) {
    throw toLevelError(err)
  }
}

export function notOpenError(): ModuleError {
  return new ModuleError('Database is not open', { code: 'LEVEL_DATABASE_NOT_OPEN' })
}

export function snapshotNotOpenError(): ModuleError {
  return new ModuleError('Snapshot is not open: cannot use snapshot after close()', { code: 'LEVEL_SNAPSHOT_NOT_OPEN' })
}

export { ModuleError }
