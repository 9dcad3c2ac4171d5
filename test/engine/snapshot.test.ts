import test from 'tape'
import { CaskDB, CaskError, ErrorCodes } from '../../src/index.js'
import { tempPath } from '../helpers/tmp.js'

const str = (b: Buffer | undefined) => b?.toString()

test('a snapshot sees the database as it was, across writes, deletes and compaction', async (t) => {
  const db = await CaskDB.open(tempPath(), { maxSegmentSize: 4096, autoCompact: false, cacheSize: 0 })
  for (let i = 0; i < 200; i++) await db.put(`k${i}`, `v1-${i}`)
  const snap = db.snapshot()
  for (let i = 0; i < 200; i++) await db.put(`k${i}`, `v2-${i}`)
  for (let i = 0; i < 200; i += 2) await db.del(`k${i}`)
  await db.put('new', 'key')
  await db.compact()
  t.ok(db.stats().compactions > 0, 'compaction replaced the files the snapshot points into')
  t.equal(str(await db.get('k3', { snapshot: snap })), 'v1-3', 'old value through the snapshot')
  t.equal(str(await db.get('k4', { snapshot: snap })), 'v1-4', 'deleted later, still visible in the snapshot')
  t.equal(await db.get('new', { snapshot: snap }), undefined, 'later key invisible')
  t.equal(str(await db.get('k3')), 'v2-3', 'live read sees the new value (no stale reads while snapshots are held)')
  t.equal(await db.get('k4'), undefined)
  const entries = await db.iterator({ snapshot: snap }).all()
  t.equal(entries.length, 200, 'iterator over the snapshot')
  t.equal(entries.every(([k, v]) => v!.toString() === `v1-${k!.toString().slice(1)}`), true)
  t.same(await db.hasMany(['k4', 'new'], { snapshot: snap }), [true, false])
  snap.close()
  const err = await db.get('k3', { snapshot: snap }).catch((e: CaskError) => e)
  t.equal((err as CaskError).code, ErrorCodes.CLOSED, 'a closed snapshot refuses reads')
  await db.close()
})

test('an iterator keeps reading across compaction', async (t) => {
  const db = await CaskDB.open(tempPath(), { maxSegmentSize: 4096, autoCompact: false, cacheSize: 0 })
  for (let i = 0; i < 300; i++) await db.put(`k${String(i).padStart(3, '0')}`, `value${i}`)
  for (let i = 0; i < 300; i += 2) await db.put(`k${String(i).padStart(3, '0')}`, `changed${i}`)
  const it = db.iterator()
  const firstHalf = await it.nextv(150)
  await db.compact()
  const rest = await it.all()
  const all = [...firstHalf, ...rest]
  t.equal(all.length, 300)
  t.equal(all[1]![1]!.toString(), 'value1')
  t.equal(all[2]![1]!.toString(), 'changed2')
  t.equal(all[299]![1]!.toString(), 'value299', 'values from files compaction already replaced')
  await db.close()
})

test('closing the database closes its snapshots and iterators', async (t) => {
  const db = await CaskDB.open(tempPath())
  await db.put('a', '1')
  const snap = db.snapshot()
  const it = db.iterator()
  await db.close()
  t.equal(snap.closed, true)
  t.throws(() => it.nextSync(), /closed/)
})

test('a snapshot of another database is refused, not read against the wrong files', async (t) => {
  const a = await CaskDB.open(tempPath())
  const b = await CaskDB.open(tempPath())
  await a.put('key', 'AAAA')
  await b.put('key', 'BBBB')
  const snap = a.snapshot()
  const err = await b.get('key', { snapshot: snap }).catch((e: CaskError) => e)
  t.equal((err as CaskError).code, ErrorCodes.INVALID_ARGUMENT, 'get refuses it')
  t.throws(() => b.iterator({ snapshot: snap }), /another database/, 'iterator refuses it')
  snap.close()
  await a.close()
  await b.close()
})
