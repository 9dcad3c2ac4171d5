/**
 * CPU time per put, 1 in flight, awaited (process.cpuUsage, user + system),
 * for A/B runs of the put path without the profiler:
 *
 *   node --import tsx bench/put-cpu.ts --mode put     # 200k raw puts, 16-byte keys, 100-byte Buffer values
 *   node --import tsx bench/put-cpu.ts --mode putstr  # the same with 100-char string values
 *   node --import tsx bench/put-cpu.ts --mode put64   # 200k raw puts, random keys, 64 in flight
 *   node --import tsx bench/put-cpu.ts --mode keyv    # 100k Keyv sets through KeyvCask (bench's keyv_set1)
 *   node --import tsx bench/put-cpu.ts --mode keyvmap # the same through Keyv + Map
 *
 * Prints one line: mode, µs CPU per op, µs wall per op. Run old and new trees
 * alternately, several times each, and compare medians. `--n` sets the number
 * of timed ops. For a count that the machine's load does not move, run it
 * under `valgrind --tool=cachegrind --cache-sim=no` at two values of `--n`
 * and take the difference of the instruction counts (user space only: the
 * kernel's part of the write system call is not counted).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { CaskDB } from '../src/index.js'
import { jsonValue, seqKeys, shuffledKeys, valuePool } from './lib/data.js'
import { arg } from './lib/script.js'

const mode = arg('mode', 'put')
const dir = mkdtempSync(join(tmpdir(), 'put-cpu-'))

async function measure(n: number, op: (i: number) => Promise<unknown>, depth = 1): Promise<void> {
  const cpu = process.cpuUsage()
  const start = performance.now()
  if (depth === 1) {
    for (let i = 0; i < n; i++) await op(i)
  } else {
    let next = 0
    const worker = async (): Promise<void> => {
      while (next < n) await op(next++)
    }
    await Promise.all(Array.from({ length: depth }, worker))
  }
  const wall = performance.now() - start
  const used = process.cpuUsage(cpu)
  const cpuUs = (used.user + used.system) / n
  console.log(`${mode} cpu ${cpuUs.toFixed(2)} us/op  wall ${((wall * 1000) / n).toFixed(2)} us/op`)
}

try {
  if (mode === 'put' || mode === 'putstr' || mode === 'put64') {
    const db = await CaskDB.open(dir)
    const n = Number(arg('n', '200000'))
    const keys = mode === 'put64' ? shuffledKeys(n, 11) : seqKeys(n)
    const buffers = valuePool(100, 1024, 1)
    const values: (Buffer | string)[] = mode === 'putstr' ? buffers.map((b) => b.toString('base64').slice(0, 100)) : buffers
    const warm = seqKeys(2000, 900_000_000_000_000)
    for (let i = 0; i < warm.length; i++) await db.put(warm[i]!, values[i & 1023]!)
    await measure(n, (i) => db.put(keys[i]!, values[i & 1023]!), mode === 'put64' ? 64 : 1)
    await db.close()
  } else if (mode === 'keyv' || mode === 'keyvmap') {
    const { Keyv } = await import('keyv')
    let keyv
    if (mode === 'keyv') {
      const { KeyvCask } = await import('../adapters/keyv/index.js')
      keyv = new Keyv({ store: new KeyvCask(dir) as never })
    } else keyv = new Keyv()
    const n = Number(arg('n', '100000'))
    const keys = seqKeys(n)
    const values = Array.from({ length: 1024 }, (_, i) => jsonValue(i))
    const warm = seqKeys(500, 900_000_000_000_000)
    for (let i = 0; i < warm.length; i++) await keyv.set(warm[i]!, values[i & 1023])
    await measure(n, (i) => keyv.set(keys[i]!, values[i & 1023]))
    await keyv.disconnect()
  } else {
    throw new Error(`unknown mode ${mode}`)
  }
} finally {
  rmSync(dir, { recursive: true, force: true })
}
