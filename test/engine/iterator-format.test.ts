/**
 * Iterator formats: `keyFormat` / `valueFormat: 'utf8'` hand out strings
 * decoded by the engine, equal to what decoding its Buffers would give, from
 * every place a value can come from (RAM write buffer, cache, file), and a
 * string handed out never aliases the cache.
 */
import test from 'tape'
import { CaskDB, ErrorCodes } from '../../src/index.js'
import { tempPath } from '../helpers/tmp.js'

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn()
  } catch (err) {
    return (err as { code?: string }).code
  }
  return undefined
}

const keys = ['a', 'abc', 'z\u00e9', 'caf\u00e9', '\u{1F600}', 'k\u0000x', 'ascii-long-key-0123456789', '\u00ff']

async function collect<K, V>(it: AsyncIterable<[K | undefined, V | undefined]>): Promise<[K | undefined, V | undefined][]> {
  const out: [K | undefined, V | undefined][] = []
  for await (const e of it) out.push(e)
  return out
}

test('iterator formats: utf8 keys and values equal decoded Buffers, from cache, file and write buffer', async (t) => {
  for (const options of [{}, { cacheSize: 0 }, { writeBuffer: true }]) {
    const location = tempPath()
    const db = await CaskDB.open(location, { ...options, warmCache: false })
    for (const [i, k] of keys.entries()) await db.put(k, `value ${k} ${'\u00e9'.repeat(i)}`)
    const buffers = await collect(db.iterator())
    const strings = await collect(db.iterator({ keyFormat: 'utf8', valueFormat: 'utf8' }))
    t.same(
      strings,
      buffers.map(([k, v]) => [k!.toString('utf8'), v!.toString('utf8')]),
      `${JSON.stringify(options)}: same entries, same order`,
    )
    t.ok(strings.every(([k, v]) => typeof k === 'string' && typeof v === 'string'), 'strings, not Buffers')
    // The types follow the formats (this line would not compile if the key were typed as a Buffer).
    const typedKey: string | undefined = strings[0]![0]
    t.equal(typeof typedKey, 'string')
    const keysOnly = await collect(db.iterator({ keyFormat: 'utf8', values: false }))
    t.same(keysOnly.map(([k]) => k), buffers.map(([k]) => k!.toString('utf8')), 'keys only')
    const mixed = await collect(db.iterator({ keyFormat: 'buffer', valueFormat: 'utf8', gte: 'b', reverse: true }))
    t.ok(mixed.every(([k, v]) => Buffer.isBuffer(k) && typeof v === 'string'), 'formats are independent')
    t.same(
      mixed.map(([k, v]) => [k!.toString('utf8'), v]),
      buffers.filter(([k]) => Buffer.compare(k!, Buffer.from('b')) >= 0).reverse().map(([k, v]) => [k!.toString('utf8'), v!.toString('utf8')]),
      'range and reverse apply as with Buffers',
    )
    await db.close()
  }
  t.end()
})

test('iterator formats: values read past a full cache (read-ahead) decode the same', async (t) => {
  const location = tempPath()
  const db = await CaskDB.open(location, { cacheSize: 4096, warmCache: false })
  const n = 500
  for (let i = 0; i < n; i += 50) {
    await db.batch(Array.from({ length: 50 }, (_, j) => ({ type: 'put' as const, key: `k${String(i + j).padStart(4, '0')}`, value: `v${i + j} ${'\u00e9'.repeat((i + j) % 30)}` })))
  }
  await db.close()
  const reopened = await CaskDB.open(location, { cacheSize: 4096, warmCache: false })
  const strings = await collect(reopened.iterator({ valueFormat: 'utf8', keyFormat: 'utf8' }))
  t.equal(strings.length, n)
  t.ok(strings.every(([k, v], i) => k === `k${String(i).padStart(4, '0')}` && v === `v${i} ${'\u00e9'.repeat(i % 30)}`), 'every entry decodes as written')
  await reopened.close()
  t.end()
})

test('iterator formats: a Buffer handed out is a copy; an unknown format is refused', async (t) => {
  const location = tempPath()
  const db = await CaskDB.open(location, { warmCache: false })
  await db.put('k', 'original')
  const first = (await collect(db.iterator()))[0]![1]
  first!.fill(0x21)
  const again = (await collect(db.iterator({ valueFormat: 'utf8' })))[0]![1]
  t.equal(again, 'original', 'changing a returned Buffer changes nothing in the store')
  t.equal(codeOf(() => db.iterator({ keyFormat: 'hex' as 'utf8' })), ErrorCodes.INVALID_ARGUMENT, 'unknown keyFormat')
  t.equal(codeOf(() => db.iterator({ valueFormat: 'json' as 'utf8' })), ErrorCodes.INVALID_ARGUMENT, 'unknown valueFormat')
  await db.close()
  t.end()
})
