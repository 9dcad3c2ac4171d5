import test from 'tape'
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { CaskDB, CaskError, ErrorCodes } from '../../src/index.js'
import { ManualClock } from '../helpers/clock.js'
import { tempDir, tempPath } from '../helpers/tmp.js'

test('scheduled backups run on the clock and keep only the newest N', async (t) => {
  const clock = new ManualClock()
  const dir = join(tempDir(), 'backups')
  const db = await CaskDB.open(tempPath(), { clock, backup: { dir, every: 60_000, keep: 2 } })
  const taken: string[] = []
  db.on('backup', (p: string) => taken.push(p))
  for (let i = 0; i < 3; i++) {
    await db.put('counter', String(i))
    const next = new Promise((r) => db.once('backup', r))
    clock.advance(60_000)
    await next
  }
  t.equal(taken.length, 3)
  const kept = readdirSync(dir).sort()
  t.equal(kept.length, 2, 'pruned to keep: 2')
  t.same(kept, taken.slice(1).map((p) => p.split('/').pop()), 'the newest two')
  const restored = await CaskDB.open(join(dir, kept[1]!))
  t.equal((await restored.get('counter'))?.toString(), '2', 'the newest backup holds the newest value')
  await restored.close()
  await db.close()
  t.equal(clock.activeTimers, 0, 'timer stopped on close')
})

test('backup option is validated', (t) => {
  for (const backup of [{ dir: '', every: 1000 }, { dir: 'x', every: 5 }, { dir: 'x', every: 1000, keep: 0 }]) {
    try {
      new CaskDB(tempPath(), { backup })
      t.fail('accepted ' + JSON.stringify(backup))
    } catch (err) {
      t.equal((err as CaskError).code, ErrorCodes.INVALID_OPTION)
    }
  }
  t.end()
})
