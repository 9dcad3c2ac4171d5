/**
 * What a command runs with: the three standard streams, whether output is
 * JSON, and helpers for progress and for writing stdout with backpressure.
 */
import { Progress, type ProgressStream } from './progress.js'

export interface InputStream extends AsyncIterable<Buffer | string> {
  isTTY?: boolean
  fd?: number
}

export interface OutputStream extends ProgressStream {
  write(chunk: string | Uint8Array): boolean
  once(event: 'drain' | 'close' | 'error', listener: (...args: unknown[]) => void): unknown
  on(event: 'error', listener: (err: Error) => void): unknown
  removeListener(event: string, listener: (...args: unknown[]) => void): unknown
}

export interface Io {
  stdin: InputStream
  stdout: OutputStream
  stderr: OutputStream
  /** Show progress bars: defaults to `stderr.isTTY`. */
  progress?: boolean
}

export class Context {
  readonly io: Io
  readonly json: boolean
  /** Set once stdout's reader went away (EPIPE): commands stop producing output. */
  stdoutClosed = false
  #stdoutError: Error | undefined

  constructor(io: Io, json: boolean) {
    this.io = io
    this.json = json
    io.stdout.on('error', (err: Error) => {
      if ((err as NodeJS.ErrnoException).code === 'EPIPE') this.stdoutClosed = true
      else this.#stdoutError = err
    })
  }

  progress(label: string, unit: string, total?: number): Progress {
    return new Progress({
      label,
      unit,
      total,
      stream: this.io.stderr,
      enabled: this.io.progress ?? this.io.stderr.isTTY === true,
    })
  }

  /**
   * Writes to stdout and waits for it to drain when its buffer is full, so a
   * producer never runs ahead of a slow reader. False once the reader is gone.
   */
  async write(chunk: string | Uint8Array): Promise<boolean> {
    if (this.#stdoutError !== undefined) throw this.#stdoutError
    if (this.stdoutClosed) return false
    if (this.io.stdout.write(chunk)) return !this.stdoutClosed
    await new Promise<void>((resolve) => {
      const done = () => {
        this.io.stdout.removeListener('drain', done)
        this.io.stdout.removeListener('close', done)
        this.io.stdout.removeListener('error', done)
        resolve()
      }
      this.io.stdout.once('drain', done)
      this.io.stdout.once('close', done)
      this.io.stdout.once('error', done)
    })
    if (this.#stdoutError !== undefined) throw this.#stdoutError
    return !this.stdoutClosed
  }

  /** A result line on stdout: JSON when --json, else the text. */
  async result(text: string, json: unknown): Promise<void> {
    await this.write(this.json ? JSON.stringify(json) + '\n' : text.endsWith('\n') ? text : text + '\n')
  }
}
