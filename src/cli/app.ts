/**
 * The `caskdb` command line: picks the command, parses its arguments, runs
 * it and turns failures into a message and an exit code.
 */
import { resolve } from 'node:path'
import { UsageError, parseCommand, usageLine, type Command } from './args.js'
import { Context, type Io } from './context.js'
import { get, put, del, scan, stats } from './data.js'
import { CliFailure, EXIT_ERROR, EXIT_OK, formatFailure, toFailure } from './errors.js'
import { commandHelp, globalUsage } from './help.js'
import { backup, compact, repair, restore, verify } from './maintenance.js'
import { dump, load } from './transfer.js'

export const COMMANDS: Command[] = [stats, get, put, del, scan, compact, verify, repair, backup, restore, dump, load]

const byName = new Map(COMMANDS.map((c) => [c.name, c]))

/** Options that take a value, so `caskdb -e hex get …` finds the command after the value. */
const VALUE_OPTIONS = new Set(['--encoding', '-e'])

/** Splits off the command name, allowing options before it: `caskdb --json stats ./data`. */
function splitCommand(argv: string[]): { name: string | undefined; rest: string[] } {
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]!
    if (token === '--') break
    if (token.startsWith('-') && token !== '-') {
      if (VALUE_OPTIONS.has(token)) i++
      continue
    }
    return { name: token, rest: [...argv.slice(0, i), ...argv.slice(i + 1)] }
  }
  return { name: undefined, rest: argv }
}

/** Runs the CLI with `argv` (without node and script) and resolves to the exit code. */
export async function run(argv: string[], io: Io): Promise<number> {
  const { name, rest } = splitCommand(argv)
  const wantsHelp = rest.includes('--help') || rest.includes('-h')
  const json = rest.includes('--json')
  if (name === undefined || name === 'help') {
    const topic = name === 'help' ? byName.get(rest.find((a) => !a.startsWith('-')) ?? '') : undefined
    if (topic !== undefined) {
      io.stdout.write(commandHelp(topic))
      return EXIT_OK
    }
    if (name === 'help' || wantsHelp) {
      io.stdout.write(globalUsage(COMMANDS))
      return EXIT_OK
    }
    io.stderr.write(globalUsage(COMMANDS))
    return EXIT_ERROR
  }
  const command = byName.get(name)
  if (command === undefined) {
    const failure = new CliFailure('USAGE', `unknown command "${name}"`, 'run `caskdb --help` for the list of commands')
    io.stderr.write(json ? formatFailure(failure, undefined, true) : `caskdb: unknown command "${name}"\n\n${globalUsage(COMMANDS)}`)
    return EXIT_ERROR
  }
  let args
  try {
    args = parseCommand(command, rest)
  } catch (err) {
    if (!(err instanceof UsageError)) throw err
    const failure = new CliFailure('USAGE', err.message, `usage: ${usageLine(command)}\n  run \`caskdb ${command.name} --help\` for details`)
    io.stderr.write(formatFailure(failure, command.name, json))
    return EXIT_ERROR
  }
  if (args.values['help'] === true) {
    io.stdout.write(commandHelp(command))
    return EXIT_OK
  }
  const ctx = new Context(io, args.values['json'] === true)
  try {
    return await command.run(ctx, args)
  } catch (err) {
    const dir = command.name === 'restore' ? args.positionals[1] : args.positionals[0]
    const failure = err instanceof UsageError
      ? new CliFailure('USAGE', err.message, `usage: ${usageLine(command)}\n  run \`caskdb ${command.name} --help\` for details`)
      : toFailure(err, command.name, dir === undefined ? undefined : resolve(dir))
    io.stderr.write(formatFailure(failure, command.name, ctx.json))
    return failure.exitCode
  }
}
