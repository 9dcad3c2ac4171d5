/**
 * kill -9 a process in the middle of awaited Keyv sets: after reopening,
 * every set whose promise had resolved is readable, with its value.
 * CASKDB_CRASH_ROUNDS sets the rounds per mode (default 2).
 */
import test from 'tape'
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import Keyv from 'keyv'
import { KeyvCask } from '../../adapters/keyv/index.js'
import { tempPath } from '../helpers/tmp.js'
import { valueFor } from './fixtures/keyv-writer-values.js'

const script = join(import.meta.dirname, 'fixtures', 'keyv-writer.ts')
const rounds = Number(process.env['CASKDB_CRASH_ROUNDS'] ?? 2)

function runAndKill(location: string, mode: string, start: number): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ['--import', 'tsx', script, location, mode, String(start)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    const acks: number[] = []
    let buffered = ''
    let stderr = ''
    const killAfter = 50 + Math.floor(Math.random() * 300)
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

for (const mode of ['default', 'sync']) {
  test(`crash (${mode}): every acknowledged Keyv set survives kill -9`, async (t) => {
    const location = tempPath()
    let start = 0
    for (let round = 0; round < rounds; round++) {
      const acks = await runAndKill(location, mode, start)
      const keyv = new Keyv({ store: new KeyvCask(location), namespace: 'crash' })
      const missing: number[] = []
      for (const n of acks) {
        const keys = n % 7 === 0 ? [0, 1, 2].map((j) => `m${n}-${j}`) : [`k${n}`]
        const values = await keyv.getMany(keys)
        if (!values.every((v) => JSON.stringify(v) === JSON.stringify(valueFor(n)))) missing.push(n)
      }
      t.same(missing, [], `round ${round}: all ${acks.length} acknowledged sets readable after reopen`)
      const db = await (keyv.store as KeyvCask).getEngine()
      t.same(await db.verify(), [], `round ${round}: no damage left after recovery`)
      await keyv.disconnect()
      // Next round writes fresh keys on top of the recovered database.
      start = Math.max(start, ...acks) + 1000
    }
  })
}
