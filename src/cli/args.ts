/**
 * Command specs and argument parsing on top of `node:util` parseArgs.
 */
import { parseArgs } from 'node:util'
import type { Context } from './context.js'

/** A mistake on the command line: printed with the command's usage, exit code 1. */
export class UsageError extends Error {
  override name = 'UsageError'
}

export interface OptionSpec {
  type: 'string' | 'boolean'
  short?: string
  /** Placeholder shown in help, for string options. */
  arg?: string
  help: string
}

export interface Parsed {
  values: Record<string, string | boolean | undefined>
  positionals: string[]
}

export interface Command {
  name: string
  summary: string
  /** Positional arguments; a trailing `?` marks an optional one. */
  args: string[]
  options: Record<string, OptionSpec>
  /** Paragraphs shown by `caskdb <command> --help` under the usage line. */
  description: string
  examples: string[]
  run(ctx: Context, args: Parsed): Promise<number>
}

export const HELP_OPTION: Record<string, OptionSpec> = {
  help: { type: 'boolean', short: 'h', help: 'show this help' },
}
export const JSON_OPTION: Record<string, OptionSpec> = {
  json: { type: 'boolean', help: 'machine-readable output (and errors as JSON on stderr)' },
}
export const ENCODING_OPTION: Record<string, OptionSpec> = {
  encoding: {
    type: 'string',
    short: 'e',
    arg: 'utf8|hex|base64',
    help: 'how keys and values are written on the command line and in output (default utf8)',
  },
}

/** Options every command accepts. */
export function allOptions(command: Command): Record<string, OptionSpec> {
  return { ...command.options, ...JSON_OPTION, ...HELP_OPTION }
}

export function parseCommand(command: Command, argv: string[]): Parsed {
  const options = allOptions(command)
  let result: ReturnType<typeof parseArgs>
  try {
    result = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: Object.fromEntries(
        Object.entries(options).map(([name, o]) => [name, o.short ? { type: o.type, short: o.short } : { type: o.type }]),
      ),
    })
  } catch (err) {
    throw new UsageError(cleanParseError(err))
  }
  const values = result.values as Parsed['values']
  const positionals = result.positionals
  if (values['help'] === true) return { values, positionals }
  const required = command.args.filter((a) => !a.endsWith('?')).length
  if (positionals.length < required) {
    const missing = command.args.slice(positionals.length).filter((a) => !a.endsWith('?'))
    throw new UsageError(`missing ${missing.map((m) => `<${m}>`).join(' ')}`)
  }
  if (positionals.length > command.args.length) {
    throw new UsageError(`unexpected argument "${positionals[command.args.length]}"`)
  }
  return { values, positionals }
}

function cleanParseError(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err)
  // parseArgs adds advice about '--' that reads oddly here; keep its first sentence.
  return message.split('. To specify a positional')[0]!.replace(/\.$/, '')
}

export function usageLine(command: Command): string {
  const args = command.args.map((a) => (a.endsWith('?') ? `[${a.slice(0, -1)}]` : `<${a}>`))
  const opts = Object.keys(command.options).length > 0 ? ' [options]' : ''
  return `caskdb ${command.name} ${args.join(' ')}${opts}`.replace(/\s+/g, ' ').trim()
}

export function str(args: Parsed, name: string): string | undefined {
  const v = args.values[name]
  return typeof v === 'string' ? v : undefined
}

export function flag(args: Parsed, name: string): boolean {
  return args.values[name] === true
}

/** A whole number ≥ 0, for options like --limit. */
export function count(args: Parsed, name: string): number | undefined {
  const v = str(args, name)
  if (v === undefined) return undefined
  if (!/^\d+$/.test(v)) throw new UsageError(`--${name} must be a whole number ≥ 0 (got "${v}")`)
  return Number(v)
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }

/** `1500`, `1500ms`, `30s`, `10m`, `2h`, `7d` → milliseconds. */
export function duration(args: Parsed, name: string): number | undefined {
  const v = str(args, name)
  if (v === undefined) return undefined
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(v.trim())
  if (!match) throw new UsageError(`--${name} must be a duration such as 5000, 30s, 10m, 2h or 7d (got "${v}")`)
  const ms = Number(match[1]) * UNITS[match[2] ?? 'ms']!
  if (!(ms >= 1)) throw new UsageError(`--${name} must be at least 1 ms`)
  return Math.round(ms)
}
