/** Usage texts: `caskdb --help` and `caskdb <command> --help`, generated from the command specs. */
import { allOptions, usageLine, type Command } from './args.js'

export const EXIT_CODES =
  'Exit codes:\n' +
  '  0    success (verify: no damage)\n' +
  '  1    usage mistake or operational error (locked, missing database, key not found,\n' +
  '       I/O error, bad input); the message starts with the error code\n' +
  '  2    damage found (verify), or a command read corrupted data (CORRUPTION)\n' +
  '  130  interrupted with Ctrl-C (dump, load); the database was closed cleanly'

export function globalUsage(commands: Command[]): string {
  const synopsis = (c: Command) => usageLine(c).replace(/^caskdb /, '').replace(/ \[options\]$/, '')
  const width = Math.max(...commands.map((c) => synopsis(c).length)) + 2
  const lines = commands.map((c) => `  ${synopsis(c).padEnd(width)}${c.summary}`)
  return (
    'caskdb: inspect and maintain a caskdb database directory\n\n' +
    'Usage: caskdb <command> [arguments] [options]\n\n' +
    'Commands:\n' +
    lines.join('\n') +
    '\n\n' +
    'Options for every command:\n' +
    '  --json                machine-readable output; errors as {"error":{"code","message","hint"}}\n' +
    '                        on stderr\n' +
    '  -h, --help            help for a command: caskdb <command> --help (or caskdb help <command>)\n' +
    'Options for get, put, del, scan, dump, load:\n' +
    '  -e, --encoding <enc>  utf8 (default), hex or base64, for binary keys and values\n\n' +
    'Long-running commands (compact, verify, repair, backup, restore, dump, load) show a\n' +
    'progress bar with rate and ETA on stderr when it is a terminal, and nothing otherwise.\n' +
    'Only put and load create a database; every other command reports NOT_FOUND instead.\n' +
    'A database can be used by one process at a time: close your application first, or\n' +
    'use its API (db.backup(), db.compact(), ...) from inside it.\n\n' +
    EXIT_CODES +
    '\n'
  )
}

export function commandHelp(command: Command): string {
  const options = allOptions(command)
  const rows = Object.entries(options).map(([name, o]) => {
    const left = `${o.short ? `-${o.short}, ` : '    '}--${name}${o.type === 'string' ? ` <${o.arg ?? 'value'}>` : ''}`
    return [left, o.help] as const
  })
  const width = Math.max(...rows.map(([l]) => l.length)) + 2
  return (
    `Usage: ${usageLine(command)}\n\n` +
    `${command.summary[0]!.toUpperCase()}${command.summary.slice(1)}.\n\n` +
    `${command.description}\n\n` +
    'Options:\n' +
    rows.map(([l, h]) => `  ${l.padEnd(width)}${h}`).join('\n') +
    '\n\nExamples:\n' +
    command.examples.map((e) => `  ${e}`).join('\n') +
    '\n\n' +
    EXIT_CODES +
    '\n'
  )
}
