/**
 * Kill -9 while writing, then check every promise the write modes make.
 * CASKDB_CRASH_ROUNDS raises the number of rounds (CI runs a few per mode).
 */
import test from 'tape'
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { CaskDB } from '../../src/index.js'
import { tempPath } from '../helpers/tmp.js'

const script = join(import.meta.dirname, '..', 'fixtures', 'crash-writer.ts')
const rounds = Number(process.env['CASKDB_CRASH_ROUNDS'] ?? 3)

function valueFor(n: number): string {
  return `value-${n}-`.repeat(1 + (n % 7))
}

/** Runs the writer until it has acknowledged some ops, kills it at a random moment, returns the acks. */
function runAndKill(location: string, mode: string, start: number): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ['--import', 'tsx', script, location, mode, String(start)], { stdio: ['ignore', 'pipe', 'pipe'] })
    const acks: number[] = []
    let buffered = ''
    let stderr = ''
    const killAfter = 30 + Math.floor(Math.random() * 400)
    proc.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString()
      const lines = buffered.split('\n')
      buffered = lines.pop()!
      for (const line of lines) if (line.startsWith('ack ')) acks.push(Number(line.slice(4)))
      if (acks.length >= killAfter && !proc.killed) proc.kill('SIGKILL')
    })
    proc.stderr.on('data', (c: Buffer) => (stderr += c.toString()))
    proc.on('exit', (code, signal) => {
      if (signal === 'SIGKILL') resolve(acks)
      else reject(new Error(`writer exited with ${code}: ${stderr}`))
    })
  })
}

async function check(t: test.Test, location: string, acked: Set<number>, issuedBelow: number): Promise<void> {
  const db = await CaskDB.open(location)
  const problems: string[] = []
  const lastHot = new Map<number, number>()
  for (const n of acked) lastHot.set(n % 20, Math.max(lastHot.get(n % 20) ?? -1, n))
  for (const n of acked) {
    if (n % 10 === 0) {
      const present = (await db.hasMany(Array.from({ length: 5 }, (_, j) => `b${n}-${j}`))).filter(Boolean).length
      if (present !== 5) problems.push(`batch ${n}: ${present}/5`)
    } else if (n % 13 !== 0) {
      // Op n+1 deletes k<n> when it is a multiple of 13; it may have landed unacknowledged.
      const mayBeDeleted = (n + 1) % 13 === 0
      const v = (await db.get(`k${n}`))?.toString()
      if (v !== valueFor(n) && !(mayBeDeleted && v === undefined)) problems.push(`k${n} = ${v}`)
    }
  }
  for (const [slot, n] of lastHot) {
    const v = Number((await db.get(`hot${slot}`))?.toString())
    if (!(v >= n && v < issuedBelow + 1000)) problems.push(`hot${slot} = ${v}, last acknowledged ${n}`)
  }
  const entries = await db.iterator().all()
  let sorted = true
  for (let i = 1; i < entries.length; i++) if (Buffer.compare(entries[i - 1]![0]!, entries[i]![0]!) >= 0) sorted = false
  for (const [k, v] of entries) {
    const key = k!.toString()
    const m = /^(?:k|b)(\d+)/.exec(key)
    if (m && v!.toString() !== valueFor(Number(m[1]))) problems.push(`${key} holds bytes never written`)
    if (key.startsWith('b')) {
      const n = Number(m![1])
      const present = (await db.hasMany(Array.from({ length: 5 }, (_, j) => `b${n}-${j}`))).filter(Boolean).length
      if (present !== 5) problems.push(`batch ${n} partially present (${present}/5)`)
    }
  }
  await db.put('after-crash', 'accepted')
  const accepts = (await db.get('after-crash'))?.toString() === 'accepted'
  await db.close()
  t.same(problems.slice(0, 5), [], `${acked.size} acknowledged ops all intact`)
  t.ok(sorted, 'iteration sorted and unique')
  t.ok(accepts, 'accepts writes after recovery')
}

const labels: Record<string, string> = { sync: 'sync: true', default: 'default mode', interval: 'syncInterval: 20' }
for (const mode of ['sync', 'default', 'interval']) {
  test(`kill -9 while writing (${labels[mode]}), ${rounds} rounds`, async (t) => {
    const location = tempPath()
    const acked = new Set<number>()
    let start = 0
    for (let round = 0; round < rounds; round++) {
      const acks = await runAndKill(location, mode, start)
      for (const n of acks) acked.add(n)
      start += 100_000 // fresh op numbers each round, so rounds never collide
      await check(t, location, acked, start)
    }
  })
}

test('kill -9 with the write buffer: everything acknowledged after flush() survives', async (t) => {
  const location = tempPath()
  const acks = await runAndKill(location, 'buffer', 0)
  await check(t, location, new Set(acks), 100_000)
})
