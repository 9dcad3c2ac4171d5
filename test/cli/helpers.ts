/** Runs the caskdb CLI from source, end to end, as a child process. */
import { spawn } from 'node:child_process'
import { Readable, Writable } from 'node:stream'
import { fileURLToPath } from 'node:url'
import { run } from '../../src/cli/app.js'

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url))

export interface CliResult {
  code: number | null
  stdout: string
  stderr: string
  stdoutBytes: Buffer
}

export interface CliOptions {
  /** Written to stdin, which is then closed (stdin is an empty pipe otherwise). */
  input?: string | Buffer
  /** A file descriptor to use as stdin instead (like `< file`). */
  stdinFd?: number
}

export function cli(args: string[], options: CliOptions = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
      cwd: repoRoot,
      stdio: [options.stdinFd ?? 'pipe', 'pipe', 'pipe'],
    })
    const out: Buffer[] = []
    const err: Buffer[] = []
    child.stdout!.on('data', (c: Buffer) => out.push(c))
    child.stderr!.on('data', (c: Buffer) => err.push(c))
    child.once('error', reject)
    child.once('close', (code) => {
      const stdoutBytes = Buffer.concat(out)
      resolve({ code, stdout: stdoutBytes.toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), stdoutBytes })
    })
    if (child.stdin) {
      child.stdin.on('error', () => undefined)
      child.stdin.end(options.input)
    }
  })
}

/** Parses NDJSON output into objects. */
export function lines(text: string): Record<string, unknown>[] {
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>)
}

/** Runs several invocations one after another (a database admits one process at a time). */
export async function sequence<T extends string[][]>(runs: [...T]): Promise<{ [K in keyof T]: CliResult }> {
  const results: CliResult[] = []
  for (const args of runs) results.push(await cli(args))
  return results as { [K in keyof T]: CliResult }
}

/** A stdout/stderr double: collects what is written; `isTTY` decides whether progress bars are drawn. */
export class Capture extends Writable {
  readonly chunks: Buffer[] = []
  isTTY: boolean
  columns = 100
  constructor(isTTY = false) {
    super()
    this.isTTY = isTTY
  }
  override _write(chunk: Buffer | string, _encoding: BufferEncoding, callback: () => void): void {
    this.chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk))
    callback()
  }
  get text(): string {
    return Buffer.concat(this.chunks).toString('utf8')
  }
}

/** Runs the CLI inside the test process (for argument handling and progress on a fake terminal). */
export async function runInProcess(
  argv: string[],
  options: { input?: string; tty?: boolean } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new Capture(false)
  const stderr = new Capture(options.tty === true)
  const stdin = Readable.from(options.input === undefined ? [] : [Buffer.from(options.input)])
  const code = await run(argv, { stdin, stdout, stderr })
  return { code, stdout: stdout.text, stderr: stderr.text }
}
