/**
 * The write modes and what each promises (see README "Durability and recovery"):
 *   default       acknowledged when handed to the OS: survives a process crash
 *   sync: true    acknowledged after fdatasync: survives power loss; concurrent writers share one fsync
 *   syncInterval  default, plus a background fdatasync every N ms
 *   writeBuffer   acknowledged from RAM, flushed in batches with only final values written
 * Run: node --import tsx examples/durability-modes.ts
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CaskDB } from '../src/index.js'

const dir = mkdtempSync(join(tmpdir(), 'caskdb-durability-'))
try {
  const db = await CaskDB.open(join(dir, 'default'))
  await db.put('order:1', 'paid') // on its way to disk; survives kill -9
  await db.put('order:2', 'paid', { sync: true }) // on disk; survives a power cut
  await Promise.all(Array.from({ length: 100 }, (_, i) => db.put(`order:${i + 3}`, 'paid', { sync: true })))
  const s = db.stats()
  console.log(`102 sync writes took ${s.fsyncs} fsync(s) and ${s.writeCalls} write call(s) (group commit)`)
  await db.close()

  const buffered = await CaskDB.open(join(dir, 'buffered'), { writeBuffer: true, flushInterval: 50 })
  for (let i = 0; i < 1000; i++) await buffered.put('counter', String(i)) // coalesced in RAM
  console.log('read from the buffer:', (await buffered.get('counter'))?.toString(), '| bytes on disk so far:', buffered.stats().bytesWritten)
  await buffered.flush() // or wait flushInterval ms; close() flushes too
  console.log('after flush:', buffered.stats().bytesWritten, 'bytes written for 1000 puts of one key')
  await buffered.close()
} finally {
  rmSync(dir, { recursive: true, force: true })
}
