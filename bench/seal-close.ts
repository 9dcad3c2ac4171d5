/**
 * Times close() right after a bulk load (bench/NOTES.md section 5): close
 * waits for the seals of the segments the load rotated out and writes the
 * active segment's hint, so its time is what sealing costs. Loads N keys (16
 * random bytes, 100-byte values, db.batch of 10,000), then times close();
 * repeated `--rounds` times on fresh directories.
 *
 *   node --import tsx bench/seal-close.ts [--keys 1000000] [--rounds 3]
 *
 * Copied from bench/open-profile.ts (build and timing) rather than shared, so
 * that the two can change independently.
 */
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CaskDB } from '../src/index.js'
import { arg, timed, fmt } from './lib/script.js'

const keys = Number(arg('keys', '1000000'))
const rounds = Number(arg('rounds', '3'))

for (let r = 0; r < rounds; r++) {
  const root = mkdtempSync(join(tmpdir(), 'seal-close-'))
  const build = await timed(async () => {
    const db = await CaskDB.open(join(root, 'db'))
    const value = Buffer.alloc(100, 0x61)
    for (let done = 0; done < keys; done += 10_000) {
      const ops = []
      for (let i = 0; i < Math.min(10_000, keys - done); i++) ops.push({ type: 'put' as const, key: randomBytes(16), value })
      await db.batch(ops)
    }
    return db
  })
  const segments = build.value.stats().segments
  const close = await timed(() => build.value.close())
  console.log(`round ${r + 1}: build ${keys} keys wall ${fmt(build.wallMs)}, cpu ${fmt(build.cpuMs)}; ${segments} segments; close wall ${fmt(close.wallMs)}, cpu ${fmt(close.cpuMs)}`)
  rmSync(root, { recursive: true, force: true })
}
