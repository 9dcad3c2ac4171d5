/**
 * Real Level clients, installed as dev dependencies and used unchanged over
 * a CaskLevel: level-read-stream, datastore-level (with the whole
 * interface-datastore-tests suite) and y-leveldb.
 */
import test from 'tape'
import { register } from 'node:module'
import { pipeline } from 'node:stream/promises'
import { Writable } from 'node:stream'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { EntryStream, KeyStream, ValueStream } from 'level-read-stream'
import { LevelDatastore } from 'datastore-level'
import { Key } from 'interface-datastore'
import { LeveldbPersistence } from 'y-leveldb'
import * as Y from 'yjs'
import { CaskLevel } from '../../adapters/level/index.js'
import { tempPath } from '../helpers/tmp.js'
import { runMochaSuite } from './datastore/mocha.js'

// interface-datastore-tests imports `expect` from 'aegir/chai' (aegir is IPFS's
// whole build tool); point that one specifier at our small chai shim.
const shim = pathToFileURL(fileURLToPath(new URL('./datastore/expect.ts', import.meta.url))).href
register(
  'data:text/javascript,' +
    encodeURIComponent(
      `export async function resolve(specifier, context, next) {
        if (specifier === 'aegir/chai') return next(${JSON.stringify(shim)}, context)
        return next(specifier, context)
      }`,
    ),
)
const { interfaceDatastoreTests } = await import('interface-datastore-tests')

async function collect<T>(stream: AsyncIterable<T> | Iterable<T>): Promise<T[]> {
  const out: T[] = []
  for await (const item of stream) out.push(item)
  return out
}

const pad = (i: number) => String(i).padStart(3, '0')

// ---- level-read-stream ---------------------------------------------------------

test('level-read-stream: EntryStream, KeyStream and ValueStream over ranges', async (t) => {
  const db = new CaskLevel<string, unknown>(tempPath(), { valueEncoding: 'json' })
  await db.batch(Array.from({ length: 100 }, (_, i) => ({ type: 'put' as const, key: `k${pad(i)}`, value: { i } })))

  const entries = await collect(new EntryStream(db, { gte: 'k010', lt: 'k015' }))
  t.same(
    entries,
    [10, 11, 12, 13, 14].map((i) => ({ key: `k${pad(i)}`, value: { i } })),
    'EntryStream gte/lt',
  )

  const keys = await collect(new KeyStream(db, { gt: 'k090', reverse: true, highWaterMark: 2 }))
  t.same(keys, [99, 98, 97, 96, 95, 94, 93, 92, 91].map((i) => `k${pad(i)}`), 'KeyStream reverse, small highWaterMark')

  const values = await collect(new ValueStream(db, { lte: 'k004', limit: 3 }))
  t.same(values, [{ i: 0 }, { i: 1 }, { i: 2 }], 'ValueStream lte + limit')

  const hex = await collect(new KeyStream(db, { keyEncoding: 'hex', gte: Buffer.from('k098').toString('hex') }))
  t.same(hex, ['6b303938', '6b303939'], 'KeyStream with a transcoded keyEncoding')

  const all = await collect(new EntryStream(db, { highWaterMark: 7 }))
  t.is(all.length, 100, 'a whole-db stream in nextv() chunks')

  const sub = db.sublevel<string, string>('sub', { valueEncoding: 'utf8' })
  await sub.batch([
    { type: 'put', key: 'a', value: 'A' },
    { type: 'put', key: 'b', value: 'B' },
  ])
  t.same(await collect(new EntryStream(sub)), [{ key: 'a', value: 'A' }, { key: 'b', value: 'B' }], 'over a sublevel')

  // Reads capture their view at creation: later writes do not show up.
  const stream = new KeyStream(db, { gte: 'k000', lt: 'k003' })
  await db.put('k001x', { i: -1 })
  t.same(await collect(stream), ['k000', 'k001', 'k002'], 'a stream reads the snapshot of its creation')

  // Destroying a stream early closes its iterator.
  let seen = 0
  const err = await pipeline(
    new EntryStream(db, { highWaterMark: 4, gte: 'k' }),
    new Writable({
      objectMode: true,
      write(_chunk, _enc, cb) {
        seen++
        cb(seen === 10 ? new Error('enough') : null)
      },
    }),
  ).then(
    () => undefined,
    (e: Error) => e,
  )
  t.is(err?.message, 'enough', 'pipeline stops early')
  await db.close()
  t.is(db.status, 'closed', 'and the database still closes (no iterator left open)')
})

// ---- datastore-level -------------------------------------------------------------

type Datastore = InstanceType<typeof LevelDatastore>
type DatastoreLevel = ConstructorParameters<typeof LevelDatastore>[0]

function datastore(location = tempPath()): Datastore {
  // datastore-level's constructor type names classic `Level`; any abstract-level db works.
  const db = new CaskLevel<string, Uint8Array>(location, { keyEncoding: 'utf8', valueEncoding: 'view' })
  return new LevelDatastore(db as unknown as DatastoreLevel)
}

runMochaSuite('datastore-level over CaskLevel (interface-datastore-tests):', () => {
  interfaceDatastoreTests({
    async setup() {
      const store = datastore()
      await store.open()
      return store
    },
    async teardown(store) {
      await (store as Datastore).close()
    },
  })
})

test('datastore-level over CaskLevel: data persists across reopen; prefix queries', async (t) => {
  const location = tempPath()
  const store = datastore(location)
  await store.open()
  const batch = store.batch()
  for (let i = 0; i < 50; i++) batch.put(new Key(`/blocks/${pad(i)}`), new TextEncoder().encode(`block ${i}`))
  for (let i = 0; i < 5; i++) batch.put(new Key(`/peers/${i}`), new Uint8Array([i]))
  await batch.commit()
  await store.close()

  const again = datastore(location)
  await again.open()
  t.same(new TextDecoder().decode(await again.get(new Key('/blocks/007'))), 'block 7', 'get after reopen')
  const peers = await collect(again.query({ prefix: '/peers' }))
  t.same(peers.map((p) => p.key.toString()), ['/peers/0', '/peers/1', '/peers/2', '/peers/3', '/peers/4'], 'prefix query')
  const keys = await collect(again.queryKeys({ prefix: '/blocks', limit: 3, offset: 10 }))
  t.same(keys.map(String), ['/blocks/010', '/blocks/011', '/blocks/012'], 'queryKeys with offset and limit')
  await again.delete(new Key('/blocks/007'))
  t.notOk(await again.has(new Key('/blocks/007')), 'delete')
  await again.close()
})

// ---- y-leveldb ---------------------------------------------------------------------

test('y-leveldb with { Level: CaskLevel }: store, reload, flush, metadata, clear', async (t) => {
  const location = tempPath()
  const persistence = new LeveldbPersistence(location, { Level: CaskLevel })

  const doc = new Y.Doc()
  const updates: Uint8Array[] = []
  doc.on('update', (update: Uint8Array) => updates.push(update))
  doc.getText('text').insert(0, 'hello')
  doc.getText('text').insert(5, ' world')
  doc.getArray<number>('list').push([1, 2, 3])
  doc.getMap<string>('map').set('owner', 'caskdb')
  for (const update of updates) await persistence.storeUpdate('doc-1', update)
  await persistence.storeUpdate('doc-2', Y.encodeStateAsUpdate(new Y.Doc()))

  const loaded = await persistence.getYDoc('doc-1')
  t.is(loaded.getText('text').toString(), 'hello world', 'text reloaded')
  t.same(loaded.getArray('list').toArray(), [1, 2, 3], 'array reloaded')
  t.is(loaded.getMap('map').get('owner'), 'caskdb', 'map reloaded')

  const sv = await persistence.getStateVector('doc-1')
  t.same(Array.from(sv), Array.from(Y.encodeStateVector(doc)), 'state vector matches the document')
  const diff = await persistence.getDiff('doc-1', Y.encodeStateVector(new Y.Doc()))
  const fromDiff = new Y.Doc()
  Y.applyUpdate(fromDiff, diff)
  t.is(fromDiff.getText('text').toString(), 'hello world', 'getDiff')

  await persistence.flushDocument('doc-1')
  await persistence.setMeta('doc-1', 'title', 'A document')
  t.is(await persistence.getMeta('doc-1', 'title'), 'A document', 'metadata')
  t.same((await persistence.getAllDocNames()).sort(), ['doc-1', 'doc-2'], 'getAllDocNames')
  await persistence.destroy()

  // A new process-lifetime: reopen the same location.
  const reopened = new LeveldbPersistence(location, { Level: CaskLevel })
  const again = await reopened.getYDoc('doc-1')
  t.is(again.getText('text').toString(), 'hello world', 'after reopen (and flush)')
  t.is(await reopened.getMeta('doc-1', 'title'), 'A document', 'metadata after reopen')

  doc.getText('text').insert(0, '» ')
  await reopened.storeUpdate('doc-1', updates[updates.length - 1]!)
  t.is((await reopened.getYDoc('doc-1')).getText('text').toString(), '» hello world', 'a later update on top of the flushed state')

  await reopened.clearDocument('doc-1')
  t.is((await reopened.getYDoc('doc-1')).getText('text').toString(), '', 'clearDocument')
  t.same(await reopened.getAllDocNames(), ['doc-2'])
  await reopened.destroy()
})
