import test from 'tape'
import { CaskDB } from '../../src/index.js'
import { Progress, formatBytes, formatDuration } from '../../src/cli/progress.js'
import { decode, entryLine } from '../../src/cli/encoding.js'
import { tempPath } from '../helpers/tmp.js'
import { runInProcess } from './helpers.js'

function fakeStream(isTTY: boolean) {
  const written: string[] = []
  return { written, stream: { isTTY, columns: 120, write: (s: string) => (written.push(s), true) } }
}

test('progress: bar, percentage, rate and ETA on a terminal; erased when done', (t) => {
  let now = 0
  const { written, stream } = fakeStream(true)
  const p = new Progress({ label: 'verify', total: 100 * 1024 * 1024, unit: 'bytes', stream, now: () => now, ticker: false })
  now = 2000
  p.add(25 * 1024 * 1024)
  t.equal(written.length, 1)
  t.match(written[0]!, /^\rverify █{6}░{18}  25% {2}25\.0 MiB\/100\.0 MiB {2}12\.5 MiB\/s {2}ETA 6s\x1b\[K$/)
  now = 2050
  p.add(1)
  t.equal(written.length, 1, 'redraws at most every 100 ms')
  p.finish()
  t.equal(written[written.length - 1], '\r\x1b[K', 'erased at the end')
  p.finish()

  const counted = new Progress({ label: 'dump', total: 1000, unit: 'keys', stream, now: () => now, ticker: false })
  now = 4050
  counted.set(500)
  t.match(written[written.length - 1]!, /dump .* 50% {2}500\/1,000 keys {2}250 keys\/s {2}ETA 2s/)
  counted.finish()

  const open = new Progress({ label: 'load', unit: 'bytes', stream, now: () => now, ticker: false })
  now = 5050
  open.add(3 * 1024 * 1024)
  t.match(written[written.length - 1]!, /^\rload {2}3\.0 MiB {2}3\.0 MiB\/s {2}1s/, 'unknown total: amount, rate and elapsed time')
  open.finish()
  t.end()
})

test('progress: nothing at all when not a terminal', (t) => {
  const { written, stream } = fakeStream(false)
  const p = new Progress({ label: 'dump', total: 10, unit: 'keys', stream })
  p.add(5)
  p.add(5)
  p.finish()
  t.same(written, [])
  t.equal(formatBytes(1536), '1.5 KiB')
  t.equal(formatDuration(3725), '1h02m')
  t.equal(formatDuration(65), '1m05s')
  t.end()
})

test('progress: long commands draw a bar on a terminal stderr and leave stdout to results', async (t) => {
  const dir = tempPath()
  const db = await CaskDB.open(dir, { maxSegmentSize: 8192 })
  for (let i = 0; i < 2000; i++) await db.put(`k${i}`, `value ${i}`)
  for (let i = 0; i < 2000; i += 2) await db.put(`k${i}`, `new ${i}`)
  await db.close()
  for (const argv of [['dump', dir], ['verify', dir], ['compact', dir], ['backup', dir, tempPath()]]) {
    const r = await runInProcess(argv, { tty: true })
    t.equal(r.code, 0, `${argv[0]} exits 0`)
    t.match(r.stderr, new RegExp(`^\\r${argv[0]} [█░]+ +\\d+%.*ETA`), `${argv[0]} draws a progress bar`)
    t.ok(r.stderr.endsWith('\r\x1b[K'), `${argv[0]} erases it at the end`)
    t.notOk(r.stdout.includes('\r'), `${argv[0]} keeps the bar out of stdout`)
  }
  const dumped = await runInProcess(['dump', dir])
  const load = await runInProcess(['load', tempPath()], { input: dumped.stdout, tty: true })
  t.equal(load.code, 0)
  t.match(load.stderr, /^\rload {2}[\d.]+ KiB/, 'load from a pipe: amount and rate, no ETA')
})

test('encoding: strict hex and base64, lossless lines', (t) => {
  t.same(decode('00ff', 'hex', 'key'), Buffer.from([0, 255]))
  t.throws(() => decode('0', 'hex', 'key'), /not valid hex/)
  t.throws(() => decode('zz', 'hex', 'key'), /not valid hex/)
  t.same(decode('AP8=', 'base64', 'key'), Buffer.from([0, 255]))
  t.same(decode('AP8', 'base64', 'key'), Buffer.from([0, 255]), 'padding optional')
  t.throws(() => decode('A', 'base64', 'key'), /not valid base64/)
  t.throws(() => decode('a b', 'base64', 'key'), /not valid base64/)
  t.equal(entryLine(Buffer.from('k'), Buffer.from('v'), 'utf8', { alwaysTag: true }), '{"key":"k","value":"v"}\n')
  t.equal(entryLine(Buffer.from('k'), Buffer.from([0xff]), 'utf8', { alwaysTag: false }), '{"key":"aw==","value":"/w==","encoding":"base64"}\n')
  t.equal(entryLine(Buffer.from('k'), undefined, 'hex', { alwaysTag: false, expires: 5 }), '{"key":"6b","expires":5}\n')
  t.equal(entryLine(Buffer.from('k'), undefined, 'hex', { alwaysTag: true }), '{"key":"6b","encoding":"hex"}\n')
  t.end()
})
