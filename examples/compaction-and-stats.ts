/**
 * Overwrites leave dead bytes in the log; compaction rewrites what is live and
 * drops the rest. stats() shows it, and unchanged writes are skipped.
 * Run: node --import tsx examples/compaction-and-stats.ts
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CaskDB } from '../src/index.js'

const dir = mkdtempSync(join(tmpdir(), 'caskdb-compaction-'))
try {
  // Small segments so this example seals a few; real databases use the 64 MiB default.
  const db = await CaskDB.open(join(dir, 'db'), { maxSegmentSize: 64 * 1024, autoCompact: false })
  db.on('compaction', (step) => console.log('  compaction step:', step))

  for (let round = 0; round < 20; round++) {
    await db.batch(Array.from({ length: 200 }, (_, i) => ({ type: 'put' as const, key: `sensor:${i}`, value: `reading ${round}` })))
  }
  await db.put('sensor:0', 'reading 19') // unchanged: written nowhere
  const before = db.stats()
  console.log(`before: ${before.diskBytes} bytes on disk, ${before.liveBytes} live, ${before.deadBytes} dead, ${before.segments} segments, ${before.skippedWrites} skipped write(s)`)

  const result = await db.compact()
  const after = db.stats()
  console.log(`after:  ${after.diskBytes} bytes on disk (${result.bytesBefore} → ${result.bytesAfter}), ${after.segments} segment(s)`)
  console.log('a value after compaction:', (await db.get('sensor:7'))?.toString())
  await db.close()
} finally {
  rmSync(dir, { recursive: true, force: true })
}
