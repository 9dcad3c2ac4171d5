/**
 * A/B of the put path in one process: the engines of two source trees
 * (e.g. a worktree of the base commit and this one) take turns, in slices of
 * puts, each on its own database, so that the machine's noise hits both
 * sides alike. Prints the median µs of CPU (process.cpuUsage, user + system)
 * and of wall time per op of each side over the slices, and the lower quartile of CPU.
 *
 *   node --import tsx bench/put-ab.ts --a /tmp/wt-base --b . --mode put|putstr|put64|keyv [--slices 40] [--per 10000]
 *
 * Modes as in bench/put-cpu.ts. Keys keep increasing across slices on each side.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { performance } from 'node:perf_hooks'
import { jsonValue, seqKeys, shuffledKeys, valuePool } from './lib/data.js'
import { arg } from './lib/script.js'

const mode = arg('mode', 'put')
const slices = Number(arg('slices', '40'))
const per = Number(arg('per', mode === 'keyv' ? '5000' : '10000'))
const depth = mode === 'put64' ? 64 : 1
const roots = [resolve(arg('a', '.')), resolve(arg('b', '.'))]
const dirs: string[] = []

type Op = (i: number) => Promise<unknown>

async function side(root: string): Promise<{ op: Op; close: () => Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'put-ab-'))
  dirs.push(dir)
  const n = slices * per
  if (mode === 'keyv') {
    const { Keyv } = await import('keyv')
    const { KeyvCask } = (await import(join(root, 'adapters/keyv/index.ts'))) as typeof import('../adapters/keyv/index.js')
    const keyv = new Keyv({ store: new KeyvCask(dir) as never })
    const keys = seqKeys(n)
    const values = Array.from({ length: 1024 }, (_, i) => jsonValue(i))
    const warm = seqKeys(500, 900_000_000_000_000)
    for (let i = 0; i < warm.length; i++) await keyv.set(warm[i]!, values[i & 1023])
    return { op: (i) => keyv.set(keys[i]!, values[i & 1023]), close: () => keyv.disconnect() }
  }
  const { CaskDB } = (await import(join(root, 'src/index.ts'))) as typeof import('../src/index.js')
  const db = await CaskDB.open(dir)
  const keys = mode === 'put64' ? shuffledKeys(n, 11) : seqKeys(n)
  const buffers = valuePool(100, 1024, 1)
  const values: (Buffer | string)[] = mode === 'putstr' ? buffers.map((b) => b.toString('base64').slice(0, 100)) : buffers
  const warm = seqKeys(2000, 900_000_000_000_000)
  for (let i = 0; i < warm.length; i++) await db.put(warm[i]!, values[i & 1023]!)
  return { op: (i) => db.put(keys[i]!, values[i & 1023]!), close: () => db.close() }
}

async function run(op: Op, from: number, count: number): Promise<[number, number]> {
  const cpu = process.cpuUsage()
  const start = performance.now()
  const end = from + count
  if (depth === 1) {
    for (let i = from; i < end; i++) await op(i)
  } else {
    let next = from
    const worker = async (): Promise<void> => {
      while (next < end) await op(next++)
    }
    await Promise.all(Array.from({ length: depth }, worker))
  }
  const wall = performance.now() - start
  const used = process.cpuUsage(cpu)
  return [(used.user + used.system) / count, (wall * 1000) / count]
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((x, y) => x - y)
  const m = s.length >> 1
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}
/** The lower quartile: other processes only ever add time to a slice, so it is steadier than the median on a busy machine. */
const quartile = (xs: number[]): number => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 4)]!

try {
  const sides = [await side(roots[0]!), await side(roots[1]!)]
  const cpu: number[][] = [[], []]
  const wall: number[][] = [[], []]
  for (let s = 0; s < slices; s++) {
    // ABBA order, so neither side always runs first.
    const order = s % 2 === 0 ? [0, 1] : [1, 0]
    for (const k of order) {
      const [c, w] = await run(sides[k]!.op, s * per, per)
      if (s > 0) {
        cpu[k]!.push(c)
        wall[k]!.push(w)
      }
    }
  }
  for (const s of sides) await s.close()
  const [ca, cb] = [median(cpu[0]!), median(cpu[1]!)]
  const [wa, wb] = [median(wall[0]!), median(wall[1]!)]
  console.log(
    `${mode}: A cpu ${ca.toFixed(2)} wall ${wa.toFixed(2)} | B cpu ${cb.toFixed(2)} wall ${wb.toFixed(2)} us/op | B-A cpu ${(cb - ca).toFixed(2)} (${(((cb - ca) / ca) * 100).toFixed(1)} %)` +
      ` | lower quartile: A cpu ${quartile(cpu[0]!).toFixed(2)} B cpu ${quartile(cpu[1]!).toFixed(2)}`,
  )
} finally {
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
}
