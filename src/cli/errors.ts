/**
 * Errors as the CLI reports them: the error code first, then what happened,
 * then what to do. Exit codes:
 *   0  success
 *   1  usage mistake or operational error (locked, missing, I/O, bad input, key not found)
 *   2  damage found (verify), or a command hit corrupted data (CORRUPTION)
 */
import { CaskError, ErrorCodes } from '../errors.js'
import { UsageError } from './args.js'

export const EXIT_OK = 0
export const EXIT_ERROR = 1
export const EXIT_DAMAGE = 2

/** A failure with a code, a message, a hint and an exit code, ready to print. */
export class CliFailure extends Error {
  override name = 'CliFailure'
  readonly code: string
  readonly hint: string | undefined
  readonly exitCode: number

  constructor(code: string, message: string, hint?: string, exitCode = EXIT_ERROR) {
    super(message)
    this.code = code
    this.hint = hint
    this.exitCode = exitCode
  }
}

/** Rewords engine errors for a person at a shell, keeping the stable code. */
export function toFailure(err: unknown, command: string, dir?: string): CliFailure {
  if (err instanceof CliFailure) return err
  if (err instanceof UsageError) return new CliFailure('USAGE', err.message, `run \`caskdb ${command} --help\``)
  if (!(err instanceof CaskError)) {
    const message = err instanceof Error ? err.stack ?? err.message : String(err)
    return new CliFailure('INTERNAL', `unexpected error: ${message}`, 'please report this as a bug')
  }
  const where = dir ?? 'the database'
  switch (err.code) {
    case ErrorCodes.LOCKED: {
      const pid = /process (\d+)/.exec(err.message)?.[1]
      return new CliFailure(
        err.code,
        pid !== undefined ? `${where} is open in another process (pid ${pid})` : err.message,
        'close it or wait for it to finish, then retry (one process at a time per directory)',
      )
    }
    case ErrorCodes.NOT_FOUND:
      return new CliFailure(
        err.code,
        `no caskdb database at ${where} (missing, or no data files in it)`,
        'check the path; `caskdb put` and `caskdb load` create a database',
      )
    case ErrorCodes.EXISTS:
      return new CliFailure(err.code, err.message, 'choose a path that does not exist yet, or move the existing directory away')
    case ErrorCodes.CORRUPTION:
      return new CliFailure(
        err.code,
        err.message,
        `run \`caskdb verify ${dir ?? '<dir>'}\` to list the damage, then \`caskdb repair ${dir ?? '<dir>'}\` to keep every intact record`,
        EXIT_DAMAGE,
      )
    case ErrorCodes.UNSUPPORTED_FORMAT:
      return new CliFailure(err.code, err.message, 'this database was written by a newer caskdb: upgrade caskdb')
    case ErrorCodes.IO_ERROR: {
      const cause = err.cause as NodeJS.ErrnoException | undefined
      const hint =
        cause?.code === 'EACCES' || cause?.code === 'EPERM'
          ? 'check the permissions of the directory and its files'
          : cause?.code === 'ENOSPC'
            ? 'the disk is full: free some space'
            : cause?.code === 'ENOTDIR'
              ? 'the path is a file, not a directory'
              : 'check the path, permissions and free space'
      return new CliFailure(err.code, err.message, hint)
    }
    case ErrorCodes.READ_ONLY:
      return new CliFailure(err.code, err.message, 'a write failed earlier; fix the cause (disk full, permissions) and retry')
    default:
      return new CliFailure(err.code, err.message)
  }
}

export function formatFailure(failure: CliFailure, command: string | undefined, json: boolean): string {
  if (json) {
    const error: Record<string, string> = { code: failure.code, message: failure.message }
    if (failure.hint !== undefined) error['hint'] = failure.hint
    return JSON.stringify({ error }) + '\n'
  }
  const prefix = command === undefined ? 'caskdb' : `caskdb ${command}`
  return `${prefix}: ${failure.code}: ${failure.message}\n${failure.hint !== undefined ? `  ${failure.hint}\n` : ''}`
}
