/**
 * Expired entries leave the disk: purge (clearExpired / the sweep) writes
 * tombstones, compaction drops the records.
 */
import test from 'tape'
import { spawn } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import Keyv from 'keyv'
import { KeyvCask, KeyvCaskV6 } from '../../adapters/keyv/index.js'
import { ManualClock } from '../helpers/clock.js'
import { tempPath } from '../helpers/tmp.js'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Whether any file in the database directory still holds `marker`. */
function onDisk(location: string, marker: string): boolean {
  return readdirSync(location).some((name) => readFileSync(join(location, name)).includes(marker))
}

test('expiry: clearExpired + compact removes expired entries from disk (stats and file contents)', async (t) => {
  const clock = new ManualClock()
  const location = tempPath()
  const store = new KeyvCaskV6({ location, clock })
  const value = 'EXPIRING-'.repeat(20)
  for (let i = 0; i < 200; i++) await store.set(`gone${i}`, value + i, clock.now() + 1000)
  for (let i = 0; i < 20; i++) await store.set(`kept${i}`, `KEPT-${i}`)
  const db = await store.getEngine()
  const before = db.stats()
  t.equal(before.keys, 220)
  clock.advance(1000)
  t.equal(await store.get('gone0'), undefined, 'expired: never returned')
  t.equal(db.stats().keys, 220, 'but still on disk and in the index until purged')
  t.ok(onDisk(location, 'EXPIRING-'), 'the bytes are still in the segment files')
  t.equal(await store.clearExpired(), 200, 'clearExpired purges all 200')
  const result = await db.compact()
  const after = db.stats()
  t.equal(after.keys, 20, 'only live keys remain in the index')
  t.ok(after.diskBytes < before.diskBytes / 5, `disk shrank (${before.diskBytes} -> ${after.diskBytes} bytes)`)
  t.ok(result.bytesAfter < result.bytesBefore)
  t.equal(after.deadBytes, 0, 'no dead bytes left')
  t.notOk(onDisk(location, 'EXPIRING-'), 'no expired value is left in any file')
  t.ok(onDisk(location, 'KEPT-'), 'live values are')
  await store.disconnect()

  const reopened = new KeyvCaskV6({ location, clock })
  t.equal(await reopened.get('gone5'), undefined)
  t.equal(await reopened.get('kept5'), 'KEPT-5')
  t.equal((await reopened.getEngine()).stats().keys, 20, 'after reopen too')
  await reopened.disconnect()
})

test('expiry: the clearExpiredInterval sweep purges entries nobody reads, and disconnect stops it', async (t) => {
  const clock = new ManualClock()
  const timersBefore = clock.activeTimers
  const store = new KeyvCask({ location: tempPath(), clock, clearExpiredInterval: 60_000 })
  const keyv = new Keyv({ store })
  await keyv.set('a', 1, 1000)
  await keyv.set('b', 2, 1000)
  await keyv.set('c', 3)
  const db = await store.getEngine()
  const sweepTimers = clock.activeTimers - timersBefore
  t.ok(sweepTimers >= 1, 'a sweep timer is armed')
  clock.advance(60_000)
  await sleep(20)
  t.equal(db.stats().expiredPurged, 2, 'the sweep purged both without a read')
  t.equal(db.stats().keys, 1)
  await keyv.disconnect()
  t.equal(clock.activeTimers, timersBefore, 'disconnect cleared the sweep (and the engine its timers)')
})

test('expiry: the sweep with real timers', async (t) => {
  const store = new KeyvCask({ location: tempPath(), clearExpiredInterval: 20 })
  const keyv = new Keyv({ store, namespace: 'x' })
  for (let i = 0; i < 10; i++) await keyv.set(`k${i}`, i, 10)
  const db = await store.getEngine()
  // Poll: the machine may be busy, timers can run late.
  const deadline = Date.now() + 5000
  while (db.stats().expiredPurged < 10 && Date.now() < deadline) await sleep(20)
  t.equal(db.stats().expiredPurged, 10, 'purged by the background sweep, nobody read them')
  t.equal(db.stats().keys, 0)
  await keyv.disconnect()
})

test('expiry: a sweep timer never keeps the process alive', async (t) => {
  const script = join(import.meta.dirname, 'fixtures', 'sweep-child.ts')
  const proc = spawn(process.execPath, ['--import', 'tsx', script, tempPath()], { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  proc.stdout.on('data', (c: Buffer) => (out += c.toString()))
  proc.stderr.on('data', (c: Buffer) => (err += c.toString()))
  const killer = setTimeout(() => proc.kill('SIGKILL'), 15_000)
  const [code, signal] = await new Promise<[number | null, string | null]>((resolve) => proc.on('exit', (c, s) => resolve([c, s])))
  clearTimeout(killer)
  t.equal(signal, null, 'not killed by the timeout: it exited by itself')
  t.equal(code, 0, err)
  t.equal(out, 'written\n')
})
