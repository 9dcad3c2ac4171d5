import test from 'tape'
import { existsSync } from 'node:fs'
import { CaskDB } from '../../src/index.js'
import { COMMANDS } from '../../src/cli/app.js'
import { tempPath } from '../helpers/tmp.js'
import { cli, lines, runInProcess, sequence } from './helpers.js'

test('cli: --help, per-command help, unknown command, bad options', async (t) => {
  const [global, getHelp, none, unknown] = await Promise.all([cli(['--help']), cli(['get', '--help']), cli([]), cli(['frobnicate', 'x'])])
  // Argument handling needs no separate process.
  const helpScan = await runInProcess(['help', 'scan'])
  const badOption = await runInProcess(['scan', tempPath(), '--bogus'])
  const missingArg = await runInProcess(['put', tempPath(), 'k'])
  const extraArg = await runInProcess(['del', tempPath(), 'k', 'extra'])
  const beforeCommand = await runInProcess(['--json', '-e', 'hex', 'get', tempPath(), 'zz'])
  t.equal(global.code, 0, '--help exits 0')
  for (const c of COMMANDS) t.ok(global.stdout.includes(`\n  ${c.name} <`), `usage lists ${c.name}`)
  t.match(global.stdout, /Exit codes:[\s\S]*2 +damage found/, 'usage documents exit codes')
  t.equal(global.stderr, '')
  t.equal(getHelp.code, 0)
  t.match(getHelp.stdout, /^Usage: caskdb get <dir> <key> \[options\]/)
  t.match(getHelp.stdout, /--encoding <utf8\|hex\|base64>/)
  t.match(getHelp.stdout, /--raw/)
  t.match(getHelp.stdout, /Examples:\n {2}caskdb get/)
  t.equal(helpScan.code, 0)
  t.match(helpScan.stdout, /--limit <n>[\s\S]*--keys-only/, '`caskdb help scan` shows scan options')
  t.equal(none.code, 1, 'no command: usage on stderr, exit 1')
  t.match(none.stderr, /^caskdb: inspect and maintain/)
  t.equal(none.stdout, '')
  t.equal(unknown.code, 1)
  t.match(unknown.stderr, /^caskdb: unknown command "frobnicate"\n\ncaskdb: inspect/)
  t.equal(badOption.code, 1)
  t.match(badOption.stderr, /caskdb scan: USAGE: Unknown option '--bogus'\n {2}usage: caskdb scan <dir> \[options\]/)
  t.equal(missingArg.code, 1)
  t.match(missingArg.stderr, /USAGE: missing <value>/)
  t.equal(extraArg.code, 1)
  t.match(extraArg.stderr, /USAGE: unexpected argument "extra"/)
  t.same(JSON.parse(beforeCommand.stderr).error.code, 'USAGE', 'options may come before the command (--json, -e hex)')
  t.match(beforeCommand.stderr, /key is not valid hex/)
  for (const command of COMMANDS) {
    const help = await runInProcess([command.name, '--help'])
    t.equal(help.code, 0, `${command.name} --help exits 0`)
    t.ok(help.stdout.startsWith(`Usage: caskdb ${command.name}`) && help.stdout.includes('Examples:\n') && help.stdout.includes('--json'), `${command.name} --help prints usage, options and examples`)
  }
})

test('cli: put, get, del, stats; values from stdin; --json; --ttl', async (t) => {
  const dir = tempPath()
  const blob = Buffer.from([0x00, 0xff, 0x0a, 0x41])
  // End to end, one process after another (a database admits one process at a time).
  const created = await cli(['put', dir, 'greeting', 'hello world'])
  const fromStdin = await cli(['put', dir, 'blob', '-', '--ttl', '1h'], { input: blob })
  const [plain, raw, stats] = await sequence([
    ['get', dir, 'greeting'],
    ['get', dir, 'blob', '--raw'],
    ['stats', dir],
  ])
  t.equal(created.code, 0, 'put creates the database')
  t.equal(fromStdin.code, 0)
  t.equal(fromStdin.stdout + fromStdin.stderr, '', 'put prints nothing')
  t.equal(plain.code, 0)
  t.equal(plain.stdout, 'hello world\n')
  t.same(raw.stdoutBytes, blob, '--raw writes the exact bytes, no newline')
  t.match(stats.stdout, /^location +\S+\nkeys +2\nlive +\d+ B\ndead +0 B \(0% of disk\)\non disk +\d+ B in 1 segment\nlast open +clean\n$/)

  // Variants in this process (same code path, no process start-up).
  const json = await runInProcess(['get', dir, 'blob', '--json'])
  const got = JSON.parse(json.stdout) as { key: string; value: string; expires: number; encoding: string }
  t.equal(got.encoding, 'base64', 'non-UTF-8 value: the line comes back in base64, tagged')
  t.equal(Buffer.from(got.key, 'base64').toString(), 'blob')
  t.same(Buffer.from(got.value, 'base64'), blob)
  t.ok(got.expires > Date.now() + 3_500_000 && got.expires <= Date.now() + 3_600_000, '--ttl 1h sets expiry')
  const hex = await runInProcess(['get', dir, Buffer.from('blob').toString('hex'), '--encoding', 'hex'])
  t.equal(hex.stdout, '00ff0a41\n', '--encoding hex reads the key and prints the value in hex')
  await runInProcess(['put', dir, '--', '-dash', '-v'])
  t.equal((await runInProcess(['get', dir, '--', '-dash'])).stdout, '-v\n', 'keys and values after -- may start with a dash')
  const missing = await runInProcess(['get', dir, 'nope'])
  t.equal(missing.code, 1, 'missing key: exit 1')
  t.match(missing.stderr, /^caskdb get: NOT_FOUND: key "nope" is not in /)
  t.equal(missing.stdout, '')
  const s = JSON.parse((await runInProcess(['stats', dir, '--json'])).stdout) as { keys: number; location: string; segments: number }
  t.equal(s.keys, 3)
  t.equal(s.segments, 1)
  t.equal(s.location, dir)
  t.equal((await runInProcess(['del', dir, 'never-was'])).code, 0, 'deleting an absent key is fine')

  const deleted = await cli(['del', dir, 'greeting'])
  t.equal(deleted.code, 0)
  const db = await CaskDB.open(dir)
  t.equal(await db.get('greeting'), undefined, 'del removed it')
  t.same(await db.get('blob'), blob)
  t.ok(db.expiresAt('blob')! > Date.now())
  await db.close()
})

test('cli: scan ranges, reverse, limit, keys-only and encodings', async (t) => {
  const dir = tempPath()
  const db = await CaskDB.open(dir)
  for (let i = 0; i < 20; i++) await db.put(`k${String(i).padStart(2, '0')}`, `v${i}`)
  await db.put(Buffer.from([0xff, 0x00]), Buffer.from([0xc3, 0x28]))
  await db.close()
  const all = await cli(['scan', dir])
  const rows = lines(all.stdout)
  t.equal(all.code, 0)
  t.equal(all.stderr, '')
  t.equal(rows.length, 21)
  t.same(rows[0], { key: 'k00', value: 'v0' })
  t.same(rows[20], { key: '/wA=', value: 'wyg=', encoding: 'base64' }, 'binary entry falls back to tagged base64')
  const scan = async (...args: string[]) => lines((await runInProcess(['scan', dir, ...args])).stdout)
  t.same((await scan('--gt', 'k03', '--lte', 'k06')).map((r) => r['key']), ['k04', 'k05', 'k06'])
  t.same((await scan('--gte', 'k18', '--lt', 'k19')).map((r) => r['key']), ['k18'])
  t.same(await scan('--reverse', '--limit', '3', '--keys-only'), [{ key: '/wA=', encoding: 'base64' }, { key: 'k19' }, { key: 'k18' }])
  t.same(await scan('--encoding', 'hex', '--gte', 'ff', '--limit', '5'), [{ key: 'ff00', value: 'c328' }], '--encoding hex for bounds and output')
  const b64 = (s: string) => Buffer.from(s).toString('base64')
  t.same(await scan('-e', 'base64', '--gte', b64('k18'), '--lt', b64('k19')), [{ key: b64('k18'), value: b64('v18') }])
  t.same(await scan('--limit', '0'), [])
  const badHex = await runInProcess(['scan', dir, '--encoding', 'hex', '--gt', 'xyz'])
  t.equal(badHex.code, 1)
  t.match(badHex.stderr, /USAGE: --gt is not valid hex/)
  const badEncoding = await runInProcess(['scan', dir, '--encoding', 'latin1'])
  t.match(badEncoding.stderr, /--encoding must be one of utf8, hex, base64/)
})

test('cli: missing database is NOT_FOUND (exit 1) and is never created by read-only commands', async (t) => {
  const dir = tempPath()
  const [get, verify] = await Promise.all([cli(['get', dir, 'k']), cli(['verify', dir, '--json'])])
  t.equal(get.code, 1)
  t.equal(get.stdout, '')
  t.equal(get.stderr, `caskdb get: NOT_FOUND: no caskdb database at ${dir} (missing, or no data files in it)\n  check the path; \`caskdb put\` and \`caskdb load\` create a database\n`)
  const json = JSON.parse(verify.stderr) as { error: { code: string; message: string; hint: string } }
  t.equal(verify.code, 1)
  t.equal(json.error.code, 'NOT_FOUND', '--json errors are JSON on stderr')
  t.equal(typeof json.error.hint, 'string')
  for (const argv of [['del', dir, 'k'], ['scan', dir], ['stats', dir], ['dump', dir], ['compact', dir], ['repair', dir], ['backup', dir, tempPath()]]) {
    const r = await runInProcess(argv)
    t.equal(r.code, 1, `${argv[0]}: exit 1`)
    t.match(r.stderr, new RegExp(`^caskdb ${argv[0]}: NOT_FOUND: no caskdb database at `))
  }
  t.notOk(existsSync(dir), 'nothing was created')
})
