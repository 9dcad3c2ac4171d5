import test from 'tape'
import { spawn } from 'node:child_process'
import { readdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { CaskDB, CaskError, ErrorCodes } from '../../src/index.js'
import { CHECK_EVERY, HEAP_RESERVE, HeapGuard, oldGenerationLimit, type HeapSample } from '../../src/heap-guard.js'
import { tempPath } from '../helpers/tmp.js'

const fixtures = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..', 'fixtures')

function probe(sample: HeapSample): { read: () => HeapSample; calls: () => number } {
  let calls = 0
  return {
    read: () => {
      calls++
      return sample
    },
    calls: () => calls,
  }
}

test('HeapGuard samples every CHECK_EVERY puts and refuses past the ratio', (t) => {
  const M = 1024 * 1024
  const sample = { used: 500 * M, limit: 1000 * M }
  const p = probe(sample)
  const guard = new HeapGuard(0.9, p.read)
  guard.admit(1)
  t.equal(p.calls(), 1, 'the first put samples')
  for (let i = 0; i < CHECK_EVERY - 1; i++) guard.admit(1)
  t.equal(p.calls(), 1, 'no sample until CHECK_EVERY more puts')
  guard.admit(1)
  t.equal(p.calls(), 2)
  guard.admit(0)
  t.equal(p.calls(), 2, 'deletes (0 puts) never sample')

  sample.used = 850 * M
  guard.admit(CHECK_EVERY)
  t.equal(p.calls(), 3, 'a large batch samples at once')
  sample.used = 910 * M
  const err = (() => {
    try {
      guard.admit(CHECK_EVERY)
    } catch (e) {
      return e as CaskError
    }
    return undefined
  })()
  t.equal(err?.code, ErrorCodes.OUT_OF_MEMORY, 'over the ratio: refused')
  t.match(err?.message ?? '', /91 % of its limit.*--max-old-space-size/, 'says how full and what to do')
  t.throws(() => guard.admit(1), /write refused/, 'still over: refused again, sampling every put')
  t.equal(p.calls(), 5, 'sampled once per refused put')
  sample.used = 600 * M
  guard.admit(1)
  t.pass('once the heap shrinks, puts pass again')

  const small = { used: 40 * M, limit: 64 * M }
  const smallGuard = new HeapGuard(0.9, () => small)
  t.throws(() => smallGuard.admit(1), /write refused/, `on a small heap ${HEAP_RESERVE / M} MiB stay free whatever the ratio`)
  small.used = 31 * M
  smallGuard.admit(1)

  const off = probe({ used: 100, limit: 100 })
  new HeapGuard(1, off.read).admit(CHECK_EVERY * 10)
  t.equal(off.calls(), 0, 'ratio 1 turns the guard off')
  t.end()
})

test('oldGenerationLimit: the flag when given (last wins, NODE_OPTIONS first), else the total less the young reserve', (t) => {
  const M = 1024 * 1024
  t.equal(oldGenerationLimit(304 * M, ['--max-old-space-size=256'], '', '11.3'), 256 * M)
  t.equal(oldGenerationLimit(304 * M, ['--max_old_space_size=256'], '--max-old-space-size=128', '11.3'), 256 * M, 'execArgv beats NODE_OPTIONS')
  t.equal(oldGenerationLimit(176 * M, [], '--max-old-space-size=128 --inspect', '11.3'), 128 * M)
  t.equal(oldGenerationLimit(4144 * M, [], '', '11.3.244.8-node.33'), 4096 * M, 'Node 20/22: 48 MiB young reserve')
  t.equal(oldGenerationLimit(4288 * M, [], '', '13.6.233.10-node.28'), 4096 * M, 'Node 24: 192 MiB')
  t.end()
})

test('a refused put or batch writes nothing; deletes still work', async (t) => {
  const location = tempPath()
  const M = 1024 * 1024
  const sample = { used: 100 * M, limit: 1000 * M }
  const db = await CaskDB.open(location, { heapProbe: () => sample, maxHeapRatio: 0.8 })
  await db.put('a', '1')
  await db.put('b', '2')
  sample.used = 850 * M
  const batch = [{ type: 'del' as const, key: 'a' }]
  for (let i = 0; i < CHECK_EVERY; i++) batch.push({ type: 'put', key: `k${i}`, value: 'v' } as never)
  const batchErr = await db.batch(batch).catch((e: CaskError) => e)
  t.equal((batchErr as CaskError).code, ErrorCodes.OUT_OF_MEMORY, 'a batch with puts is refused whole once the heap is over')
  const err = await db.put('c', '3').catch((e: CaskError) => e)
  t.equal((err as CaskError).code, ErrorCodes.OUT_OF_MEMORY, 'a single put is refused too')
  t.equal(db.getSync('a')?.toString(), '1', 'the refused batch deleted nothing')
  await db.del('b')
  t.equal(db.getSync('b'), undefined, 'a delete passes while the heap is full')
  await db.close()

  const reopened = await CaskDB.open(location)
  t.deepEqual(
    (await reopened.iterator().all()).map(([k, v]) => `${k}=${v}`),
    ['a=1'],
    'after reopen: no trace of the refused writes',
  )
  await reopened.close()
})

test('maxHeapRatio is validated', async (t) => {
  for (const bad of [0, 1.5, Number.NaN]) {
    const err = await CaskDB.open(tempPath(), { maxHeapRatio: bad }).catch((e: CaskError) => e)
    t.equal((err as CaskError).code, ErrorCodes.INVALID_OPTION, `maxHeapRatio ${bad} is refused`)
  }
})

test('a process that fills its heap gets OUT_OF_MEMORY and closes cleanly, instead of a V8 abort', async (t) => {
  const location = tempPath()
  const proc = spawn(process.execPath, ['--max-old-space-size=64', '--import', 'tsx', join(fixtures, 'fill-heap.ts'), location], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  let err = ''
  proc.stdout.on('data', (d: Buffer) => (out += d.toString()))
  proc.stderr.on('data', (d: Buffer) => (err += d.toString()))
  const [code, signal] = await new Promise<[number | null, string | null]>((resolve) => proc.once('exit', (c, s) => resolve([c, s])))
  t.equal(signal, null, 'not killed by a signal (V8 aborts with SIGABRT)')
  t.equal(code, 0, `exited normally${err ? `; stderr: ${err.slice(-400)}` : ''}`)
  const result = JSON.parse(out.trim().split('\n').pop() ?? '{}') as { written: number; keys: number; error?: { code: string } }
  t.equal(result.error?.code, ErrorCodes.OUT_OF_MEMORY, 'the refusal is an OUT_OF_MEMORY error')
  t.ok(result.written > 10_000, `it held ${result.written} keys before refusing`)
  t.equal(result.keys, result.written, 'every acknowledged batch is in the index, the refused one is not')

  const db = await CaskDB.open(location)
  t.equal(db.stats().keys, result.written - 1, 'after reopen: every acknowledged key, minus the one deleted after the refusal')
  await db.close()
})

test('an open without room for the heap guard’s reserve fails with OUT_OF_MEMORY and loses nothing; unguarded, the same open fits (keys stay packed, from hints and from a scan)', async (t) => {
  const location = tempPath()
  const db = await CaskDB.open(location, { maxSegmentSize: 4 * 1024 * 1024 })
  const keyTail = 'k'.repeat(200)
  const total = 300_000
  for (let i = 0; i < total; i += 5000) {
    const ops = []
    for (let j = i; j < i + 5000; j++) ops.push({ type: 'put' as const, key: `${String(j).padStart(8, '0')}${keyTail}`, value: 'v' })
    await db.batch(ops)
  }
  await db.close()

  const run = (heapMiB: number, ...args: string[]) => {
    const proc = spawn(process.execPath, [`--max-old-space-size=${heapMiB}`, '--import', 'tsx', join(fixtures, 'open-small-heap.ts'), location, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    let err = ''
    proc.stdout.on('data', (d: Buffer) => (out += d.toString()))
    proc.stderr.on('data', (d: Buffer) => (err += d.toString()))
    return new Promise<{ code: number | null; signal: string | null; out: string; err: string }>((resolve) =>
      proc.once('exit', (code, signal) => resolve({ code, signal, out, err })),
    )
  }
  // Opened from its hints, the index keeps the keys packed outside the JS heap: even unguarded, 48 MiB suffice.
  const packed = await run(48, '1')
  t.deepEqual(JSON.parse(packed.out.trim().split('\n').pop() ?? '{}'), { opened: true, keys: total }, `opened from hints in 48 MiB${packed.err ? `; stderr: ${packed.err.slice(-400)}` : ''}`)
  // Without hints (as after a crash that lost them) the data files are scanned into hints built in memory,
  // which the index loads the same way: still no string per key.
  let removed = 0
  for (const name of readdirSync(location)) {
    if (name.endsWith('.hint')) {
      rmSync(join(location, name))
      removed++
    }
  }
  t.ok(removed > 0, `${removed} hint files removed`)
  const scanned = await run(48, '1')
  t.deepEqual(JSON.parse(scanned.out.trim().split('\n').pop() ?? '{}'), { opened: true, keys: total }, `opened from a scan in 48 MiB${scanned.err ? `; stderr: ${scanned.err.slice(-400)}` : ''}`)
  for (const name of readdirSync(location)) if (name.endsWith('.hint')) rmSync(join(location, name)) // the close wrote one
  // Guarded, 48 MiB cannot keep the reserve (32 MiB + maxSegmentSize) free for what follows an open (seals need it).
  const small = await run(48)
  t.equal(small.signal, null, 'not killed by a signal')
  t.equal(small.code, 0, `exited normally${small.err ? `; stderr: ${small.err.slice(-400)}` : ''}`)
  const result = JSON.parse(small.out.trim().split('\n').pop() ?? '{}') as { opened: boolean; error?: { code: string; message: string } }
  t.equal(result.opened, false, 'the open failed')
  t.equal(result.error?.code, ErrorCodes.OUT_OF_MEMORY, 'with OUT_OF_MEMORY')
  t.match(result.error?.message ?? '', /open refused.*--max-old-space-size/, 'saying what to do')

  const big = await run(256)
  const ok = JSON.parse(big.out.trim().split('\n').pop() ?? '{}') as { opened: boolean; keys: number }
  t.deepEqual(ok, { opened: true, keys: total }, 'with a larger heap the same database opens whole (the refused open lost nothing)')
})
