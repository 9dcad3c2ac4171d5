/**
 * classic-level 3.0.0's known defects (../shared/reference/anchors.md), one
 * test each: CaskLevel must have none of them.
 */
import test from 'tape'
import { closeSync, openSync, readFileSync, readSync, readdirSync, unlinkSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { CaskLevel } from '../../adapters/level/index.js'
import { tempPath } from '../helpers/tmp.js'

async function rejection(promise: Promise<unknown>): Promise<{ code?: string } & Error> {
  try {
    await promise
  } catch (err) {
    return err as { code?: string } & Error
  }
  throw new Error('expected a rejection')
}

test('defect: seek() outside the range on an empty database ends the iterator (no abort)', async (t) => {
  const db = new CaskLevel(tempPath())
  await db.open()
  for (const reverse of [false, true]) {
    for (const make of ['iterator', 'keys', 'values'] as const) {
      const options = { gt: 'b', lt: 'd', reverse }
      const it = make === 'iterator' ? db.iterator(options) : make === 'keys' ? db.keys(options) : db.values(options)
      it.seek('a')
      t.is(await it.next(), undefined, `${make} reverse=${reverse}: seek before the range`)
      it.seek('z')
      t.is(await it.next(), undefined, `${make} reverse=${reverse}: seek after the range`)
      it.seek('c')
      t.same(await it.nextv(10), [], `${make} reverse=${reverse}: seek inside the range of an empty db`)
      await it.close()
    }
  }
  await db.batch([
    { type: 'put', key: 'a', value: '1' },
    { type: 'put', key: 'c', value: '3' },
    { type: 'put', key: 'e', value: '5' },
  ])
  const it = db.iterator({ gt: 'b', lt: 'd' })
  it.seek('a')
  t.same(await it.all(), [], 'seek before the range ends the iterator, as abstract-level specifies')
  const it1 = db.iterator({ gt: 'b', lt: 'd' })
  it1.seek('c')
  t.same(await it1.all(), [['c', '3']], 'seek inside the range')
  const it2 = db.keys({ gt: 'b', lt: 'd' })
  it2.seek('e')
  t.same(await it2.all(), [], 'seek past the range ends the iterator')
  await db.close()
})

test('defect: explicit snapshots never make get() return an older value, across compaction', async (t) => {
  const db = new CaskLevel(tempPath(), { maxSegmentSize: 4096, autoCompact: true, cacheSize: 0 })
  await db.open()
  const pad = 'p'.repeat(200)
  const snapshots = []
  for (let version = 0; version < 8; version++) {
    await db.batch(Array.from({ length: 20 }, (_, i) => ({ type: 'put' as const, key: `k${i}`, value: `v${version}-${pad}` })))
    snapshots.push({ version, snapshot: db.snapshot() })
    await db.compact()
    for (let i = 0; i < 20; i++) {
      if ((await db.get(`k${i}`)) !== `v${version}-${pad}`) t.fail(`k${i} stale after compaction at version ${version}`)
      if (db.getSync(`k${i}`) !== `v${version}-${pad}`) t.fail(`getSync k${i} stale at version ${version}`)
    }
  }
  const stats = await db.stats()
  t.ok(stats.compactions > 0, `compaction ran (${stats.compactions} times, ${stats.segments} segments now)`)
  t.same(
    (await db.values().all()).map((v) => v.slice(0, 2)),
    Array(20).fill('v7'),
    'plain reads see the newest values',
  )
  for (const { version, snapshot } of snapshots) {
    const seen = await db.getMany(['k0', 'k19'], { snapshot })
    t.same(seen, [`v${version}-${pad}`, `v${version}-${pad}`], `snapshot ${version} still sees its own values`)
    t.is((await db.iterator({ snapshot }).all()).length, 20)
    await snapshot.close()
  }
  await db.compact()
  t.is(await db.get('k5'), `v7-${pad}`, 'still the newest after the snapshots closed and compaction ran again')
  await db.close()
})

function flipByteOf(location: string, marker: string): string {
  const needle = Buffer.from(marker)
  for (const name of readdirSync(location).filter((f) => f.endsWith('.data'))) {
    const path = join(location, name)
    const at = readFileSync(path).indexOf(needle)
    if (at < 0) continue
    const fd = openSync(path, 'r+')
    const byte = Buffer.alloc(1)
    readSync(fd, byte, 0, 1, at + 3)
    byte[0]! ^= 0x20
    writeSync(fd, byte, 0, 1, at + 3)
    closeSync(fd)
    return name
  }
  throw new Error(`marker ${marker} not found`)
}

test('defect: checksums are verified on reads; a flipped byte is LEVEL_CORRUPTION, never wrong data', async (t) => {
  const location = tempPath()
  const db = new CaskLevel(location, { cacheSize: 0 })
  await db.open()
  await db.put('good', 'fine')
  await db.put('bad', 'MARKER-value-to-damage')
  await db.put('later', 'also fine')

  const file = flipByteOf(location, 'MARKER-value-to-damage')
  t.pass(`flipped a byte of the value in ${file}`)

  const err = await rejection(db.get('bad'))
  t.is(err.code, 'LEVEL_CORRUPTION', 'get() rejects with LEVEL_CORRUPTION')
  t.throws(() => db.getSync('bad'), /checksum/, 'getSync() throws')
  try {
    db.getSync('bad')
  } catch (e) {
    t.is((e as { code?: string }).code, 'LEVEL_CORRUPTION', 'getSync() error is LEVEL_CORRUPTION')
  }
  t.is((await rejection(db.getMany(['good', 'bad']))).code, 'LEVEL_CORRUPTION', 'getMany() rejects')
  t.is((await rejection(db.iterator().all())).code, 'LEVEL_CORRUPTION', 'iterating over it rejects')
  t.is((await rejection(db.values({ gte: 'b', lt: 'c' }).next())).code, 'LEVEL_CORRUPTION', 'values() rejects')
  t.is(await db.get('good'), 'fine', 'other keys still read')
  t.is(await db.get('later'), 'also fine')
  t.ok(await db.has('bad'), 'has() needs no value read and still answers')
  t.same(await db.keys().all(), ['bad', 'good', 'later'], 'keys() needs no value read')
  t.ok((await db.verify()).length > 0, 'verify() reports the damage')
  await db.put('bad', 'rewritten')
  t.is(await db.get('bad'), 'rewritten', 'overwriting the key heals it')
  await db.close()
})

test('defect: checksums are verified after a reopen too (damage in a sealed data file)', async (t) => {
  const location = tempPath()
  const db = new CaskLevel(location, { maxSegmentSize: 4096 })
  for (let i = 0; i < 60; i++) await db.put(`k${String(i).padStart(2, '0')}`, `${i === 3 ? 'MARKER-sealed' : 'value'}-${'x'.repeat(200)}`)
  await db.close()
  const file = flipByteOf(location, 'MARKER-sealed')
  t.not(file, readdirSync(location).filter((f) => f.endsWith('.data')).sort().pop(), `damaged ${file}, a sealed data file`)
  await db.open()
  t.is((await rejection(db.get('k03'))).code, 'LEVEL_CORRUPTION', 'get() rejects with LEVEL_CORRUPTION')
  t.is((await rejection(db.iterator({ gte: 'k02', lt: 'k05' }).all())).code, 'LEVEL_CORRUPTION', 'iterator rejects')
  t.is(await db.get('k04'), `value-${'x'.repeat(200)}`, 'neighbours read fine')
  t.ok((await db.verify()).length > 0, 'verify() reports the damage')
  await db.close()
})

test('defect: clear() never leaves the empty key behind', async (t) => {
  const db = new CaskLevel(tempPath())
  await db.open()
  const fill = () =>
    db.batch([
      { type: 'put', key: '', value: 'empty' },
      { type: 'put', key: 'a', value: '1' },
      { type: 'put', key: 'b', value: '2' },
    ])
  await fill()
  t.is(await db.get(''), 'empty', 'the empty key is stored')
  await db.clear()
  t.same(await db.keys().all(), [], 'clear() removes the empty key')

  await fill()
  await db.clear({ reverse: true })
  t.same(await db.keys().all(), [], 'clear({ reverse: true })')

  await fill()
  await db.clear({ lt: 'b' })
  t.same(await db.keys().all(), ['b'], "clear({ lt: 'b' })")

  await fill()
  await db.clear({ gte: '', lte: 'a', reverse: true })
  t.same(await db.keys().all(), ['b'], "clear({ gte: '', lte: 'a', reverse: true })")

  await fill()
  await db.clear({ limit: 1 })
  t.same(await db.keys().all(), ['a', 'b'], 'clear({ limit: 1 }) removes the empty key first')

  await fill()
  await db.clear({ keyEncoding: 'buffer', lte: Buffer.alloc(0) })
  t.same(await db.keys().all(), ['a', 'b'], 'clear with a buffer bound at the empty key')

  const sub = db.sublevel('s')
  await sub.put('', 'in sublevel')
  await sub.clear()
  t.same(await sub.keys().all(), [], 'sublevel clear() removes its empty key')
  await db.close()
})

test('defect: limit + seek() after next() does not end the iterator early', async (t) => {
  const db = new CaskLevel(tempPath())
  await db.open()
  await db.batch(['a', 'b', 'c', 'd', 'e', 'f'].map((key) => ({ type: 'put' as const, key, value: key.toUpperCase() })))

  const it = db.iterator({ limit: 3 })
  t.same(await it.next(), ['a', 'A'])
  it.seek('c')
  t.same(await it.next(), ['c', 'C'], 'seek after next() continues at the target')
  t.same(await it.next(), ['d', 'D'])
  t.is(await it.next(), undefined, 'and the limit still holds')
  it.seek('a')
  t.is(await it.next(), undefined, 'a seek cannot revive an iterator that reached its limit')
  await it.close()

  const keys = db.keys({ limit: 4, reverse: true })
  t.same(await keys.nextv(2), ['f', 'e'])
  keys.seek('c')
  t.same(await keys.all(), ['c', 'b'], 'reverse keys: seek after nextv() then all() up to the limit')

  const values = db.values({ limit: 2 })
  t.is(await values.next(), 'A')
  values.seek('e')
  t.same(await values.nextv(10), ['E'], 'values: one more after the seek, then the limit')
  t.same(await values.nextv(10), [])
  await values.close()
  await db.close()
})

test('defect: { keys: false, values: false } still yields every entry', async (t) => {
  const db = new CaskLevel(tempPath())
  await db.open()
  await db.batch(['a', 'b', 'c'].map((key) => ({ type: 'put' as const, key, value: key })))
  const all = await db.iterator({ keys: false, values: false }).all()
  t.same(all, [
    [undefined, undefined],
    [undefined, undefined],
    [undefined, undefined],
  ])
  const it = db.iterator({ keys: false, values: false, gte: 'b' })
  t.same(await it.next(), [undefined, undefined], 'next() yields an entry, not the end')
  t.same(await it.nextv(5), [[undefined, undefined]])
  t.is(await it.next(), undefined)
  await it.close()
  t.same(await db.iterator({ keys: false }).all(), [[undefined, 'a'], [undefined, 'b'], [undefined, 'c']])
  t.same(await db.iterator({ values: false }).all(), [['a', undefined], ['b', undefined], ['c', undefined]])
  await db.close()
})

test('related LevelDB defect: losing index files never silently empties the database', async (t) => {
  // LevelDB starts a new, empty database when CURRENT is deleted. caskdb has
  // no manifest: hint files are an index cache, rebuilt from the data files.
  const location = tempPath()
  const db = new CaskLevel(location, { maxSegmentSize: 4096 })
  for (let i = 0; i < 100; i++) await db.put(`k${i}`, 'v'.repeat(100))
  await db.close()
  const hints = readdirSync(location).filter((f) => !f.endsWith('.data') && f !== 'LOCK')
  for (const name of hints) unlinkSync(join(location, name))
  t.ok(hints.length > 0, `removed ${hints.length} non-data files`)
  await db.open()
  t.is((await db.keys().all()).length, 100, 'every key is still there')
  await db.close()
})
