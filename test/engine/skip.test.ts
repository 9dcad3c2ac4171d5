import test from 'tape'
import { CaskDB } from '../../src/index.js'
import { tempPath } from '../helpers/tmp.js'

test('a put of an unchanged value writes nothing to disk', async (t) => {
  const db = await CaskDB.open(tempPath())
  await db.put('k', 'same value')
  const before = db.stats()
  await db.put('k', 'same value')
  await db.put('k', Buffer.from('same value'))
  const after = db.stats()
  t.equal(after.bytesWritten, before.bytesWritten, 'no bytes written')
  t.equal(after.skippedWrites, before.skippedWrites + 2, 'counted')
  await db.put('k', 'other value')
  t.ok(db.stats().bytesWritten > after.bytesWritten, 'a changed value is written')
  await db.put('k', 'other value', { ttl: 1000 })
  t.equal(db.expiresAt('k')! > 0, true, 'a changed expiry is a change')
  await db.del('never existed')
  t.equal(db.stats().skippedWrites, after.skippedWrites + 1, 'deleting an absent key writes nothing')
  await db.close()
})

test('unchanged writes are not skipped when a different write to the key is in flight', async (t) => {
  const db = await CaskDB.open(tempPath())
  await db.put('k', 'A')
  // Same turn: the put of B is not yet in the file when the put of A is checked.
  await Promise.all([db.put('k', 'B'), db.put('k', 'A')])
  t.equal((await db.get('k'))?.toString(), 'A', 'final value is the last one issued')
  await db.close()
})

test('in-flight keys: a lone write, writes queued behind it and a batch are all checked, and forgotten once written', async (t) => {
  const db = await CaskDB.open(tempPath())
  await db.batch([
    { type: 'put', key: 'a', value: 'A' },
    { type: 'put', key: 'b', value: 'A' },
    { type: 'put', key: 'c', value: 'A' },
  ])
  // 'a' is the lone write (nothing else pending), 'b' and 'c' follow it in the same turn.
  const writes = [db.put('a', 'B'), db.put('b', 'B'), db.batch([{ type: 'put', key: 'c', value: 'B' }, { type: 'put', key: 'x', value: 'B' }])]
  writes.push(db.put('a', 'A'), db.put('b', 'A'), db.put('c', 'A'))
  await Promise.all(writes)
  for (const k of ['a', 'b', 'c']) t.equal(db.getSync(k)?.toString(), 'A', `${k}: the last value issued`)
  const skipped = db.stats().skippedWrites
  await db.put('a', 'A')
  await Promise.all([db.put('b', 'A'), db.put('c', 'A')])
  t.equal(db.stats().skippedWrites, skipped + 3, 'once written, unchanged puts are skipped again')
  await db.close()
})

test('skipUnchangedWrites: false writes every put', async (t) => {
  const db = await CaskDB.open(tempPath(), { skipUnchangedWrites: false })
  await db.put('k', 'v')
  const before = db.stats().bytesWritten
  await db.put('k', 'v')
  t.ok(db.stats().bytesWritten > before)
  t.equal(db.stats().skippedWrites, 0)
  await db.close()
})
