import test from 'tape'
import { closeSync, openSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { CaskDB } from '../../src/index.js'
import { tempDir, tempPath } from '../helpers/tmp.js'
import { cli, lines, runInProcess } from './helpers.js'

/** Every entry as [key hex, value hex, expiry], in key order. */
async function contents(dir: string): Promise<[string, string, number][]> {
  const db = await CaskDB.open(dir, { createIfMissing: false })
  const out: [string, string, number][] = []
  for await (const [k, v] of db.iterator()) out.push([k!.toString('hex'), v!.toString('hex'), db.expiresAt(k!)!])
  await db.close()
  return out
}

/** A few thousand entries: text, binary keys and values, empty values, expiries, deletes and overwrites. */
async function sampleDb(): Promise<string> {
  const dir = tempPath()
  const db = await CaskDB.open(dir, { maxSegmentSize: 64 * 1024 })
  let seed = 42
  const random = (n: number) => Buffer.from(Array.from({ length: n }, () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) >>> 16) & 0xff))
  let ops: Parameters<CaskDB['batch']>[0] = []
  for (let i = 0; i < 3000; i++) {
    if (i % 3 === 0) ops.push({ type: 'put', key: `user:${i}`, value: JSON.stringify({ i, name: 'Zoë "quoted" ✓\n' }) })
    else if (i % 3 === 1) ops.push({ type: 'put', key: random(1 + (i % 17)), value: random(i % 50) })
    else ops.push({ type: 'put', key: `bin:${i}`, value: random(200), ...(i % 10 === 2 ? { expires: Date.now() + 86_400_000 + i } : {}) })
    if (ops.length === 500) {
      await db.batch(ops)
      ops = []
    }
  }
  await db.batch(ops)
  await db.put('', 'empty key')
  await db.put('empty value', '')
  await db.put(Buffer.from([0xff, 0xfe, 0x00]), Buffer.from([0xef, 0xbb, 0xbf, 0x41]))
  for (let i = 0; i < 3000; i += 9) await db.del(`user:${i}`)
  await db.put('user:3', 'overwritten')
  await db.close()
  return dir
}

test('cli: dump → load round-trips a database exactly (binary keys and values, expiry), streaming, no stderr', async (t) => {
  const dir = await sampleDb()
  const original = await contents(dir)
  t.ok(original.length > 2500, `sample has ${original.length} entries`)
  t.ok(original.some(([, , e]) => e > 0), 'some keys expire')

  const dumped = await cli(['dump', dir])
  t.equal(dumped.code, 0)
  t.equal(dumped.stderr, '', 'dump: nothing on stderr when it is not a terminal')
  const rows = lines(dumped.stdout)
  t.equal(rows.length, original.length, 'one line per entry')
  t.ok(rows.some((r) => r['encoding'] === 'base64') && rows.some((r) => r['encoding'] === undefined), 'text lines plain, binary lines base64')
  t.ok(rows.some((r) => typeof r['expires'] === 'number'), 'expiry written')

  const copy = tempPath()
  const loaded = await cli(['load', copy], { input: dumped.stdoutBytes })
  t.equal(loaded.code, 0)
  t.equal(loaded.stderr, '', 'load: nothing on stderr')
  t.equal(loaded.stdout, `loaded ${original.length.toLocaleString('en-US')} entries into ${copy}\n`)
  t.same(await contents(copy), original, 'same keys, values and expiry times')

  const redumped = await cli(['dump', copy])
  t.ok(redumped.stdoutBytes.equals(dumped.stdoutBytes), 'dumping the copy gives the same bytes')

  // Hex for every line, loaded from a file on stdin (like `< file`).
  const hexDump = await cli(['dump', dir, '--encoding', 'hex'])
  t.ok(lines(hexDump.stdout).every((r) => r['encoding'] === 'hex'))
  const file = join(tempDir(), 'dump.ndjson')
  writeFileSync(file, hexDump.stdoutBytes)
  const fd = openSync(file, 'r')
  const third = tempPath()
  const fromFile = await cli(['load', third, '--json'], { stdinFd: fd })
  closeSync(fd)
  t.equal(fromFile.code, 0)
  t.same(JSON.parse(fromFile.stdout), { loaded: original.length, skippedExpired: 0 })
  t.same(await contents(third), original, 'hex dump round-trips too')
})

test('cli: load takes scan output with --encoding, skips expired entries, and stops at a bad line', async (t) => {
  const dir = tempPath()
  const past = Date.now() - 1000
  const input = [
    '{"key":"6869","value":"7468657265"}',
    '',
    `{"key":"6f6c64","value":"00","expires":${past}}`,
    '{"key":"dGV4dA==","value":"aGk=","encoding":"base64"}',
  ].join('\n')
  const ok = await runInProcess(['load', dir, '--encoding', 'hex'], { input })
  t.equal(ok.code, 0)
  t.equal(ok.stdout, `loaded 2 entries into ${dir} (1 already expired, skipped)\n`)
  t.same(await contents(dir), [
    [Buffer.from('hi').toString('hex'), Buffer.from('there').toString('hex'), 0],
    [Buffer.from('text').toString('hex'), Buffer.from('hi').toString('hex'), 0],
  ])
  const bad = await runInProcess(['load', dir], { input: '{"key":"a","value":"b"}\n{"key":"c"}\n' })
  t.equal(bad.code, 1)
  t.match(bad.stderr, /^caskdb load: INVALID_INPUT: line 2: "value" must be a string\n/)
  const notJson = await runInProcess(['load', dir], { input: 'hello\n' })
  t.match(notJson.stderr, /INVALID_INPUT: line 1 is not valid JSON: hello/)
  const badEncoding = await runInProcess(['load', dir], { input: '{"key":"a","value":"b","encoding":"rot13"}\n' })
  t.match(badEncoding.stderr, /INVALID_INPUT: line 1: "encoding" must be one of utf8, hex, base64/)
})
