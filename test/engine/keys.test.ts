/**
 * Key conversion: the ASCII fast path (`lookupKey`, `boundKey`) must give
 * exactly the index form the byte path gives, so lookups find what writes
 * stored and order stays bytewise.
 */
import test from 'tape'
import { boundKey, indexKey, keyBytes, lookupKey } from '../../src/bytes.js'
import { CaskDB, ErrorCodes } from '../../src/index.js'
import { tempPath } from '../helpers/tmp.js'

const strings = [
  '',
  'a',
  'user:0001',
  '\x00\x01\x7f',
  '\x7f\x80',
  'é', // U+00E9: one latin1 byte, two UTF-8 bytes
  'caf\u00e9',
  '\u00ff',
  '\u0100',
  '\u20ac', // €
  '😀', // a surrogate pair: 4 UTF-8 bytes
  '\ud800', // a lone surrogate: encoded as U+FFFD
  'a'.repeat(20) + 'ü',
]

test('lookupKey equals indexKey(keyBytes(key)) for ASCII, latin1-range, non-BMP and lone-surrogate strings and for bytes', (t) => {
  const inputs: (string | Uint8Array)[] = [...strings, Buffer.from([0, 255, 128]), new Uint8Array([0xc3, 0xa9])]
  for (const key of inputs) t.equal(lookupKey(key, 1024), indexKey(keyBytes(key, 1024)), JSON.stringify(key))
  for (const key of strings) t.equal(boundKey(key, 'gte'), indexKey(keyBytes(key, 1024)), `bound ${JSON.stringify(key)}`)
  t.end()
})

test('lookupKey applies the same limits and errors as keyBytes', (t) => {
  const code = (fn: () => unknown) => {
    try {
      fn()
      return 'no error'
    } catch (err) {
      return (err as { code?: string }).code
    }
  }
  t.equal(lookupKey('abcd', 4), 'abcd', 'ASCII at the limit')
  t.equal(code(() => lookupKey('abcde', 4)), ErrorCodes.INVALID_KEY, 'ASCII over the limit')
  t.equal(code(() => lookupKey('éé', 3)), ErrorCodes.INVALID_KEY, 'two chars, four bytes: over a 3-byte limit')
  t.equal(code(() => lookupKey(42, 10)), ErrorCodes.INVALID_KEY, 'not a key')
  t.end()
})

test('keys of every kind round-trip through the database and iterate in bytewise order', async (t) => {
  const db = await CaskDB.open(tempPath())
  const keys: (string | Buffer)[] = [...strings, Buffer.from([0xc3]), Buffer.from([0xff, 0x00]), Buffer.from([0x7f, 0xff])]
  for (const [i, key] of keys.entries()) await db.put(key, `v${i}`)
  for (const [i, key] of keys.entries()) {
    t.equal(db.getSync(key)?.toString(), `v${i}`, `get ${JSON.stringify(key)}`)
    t.equal(db.hasSync(key), true)
  }
  const bytes = [...new Map(keys.map((k) => [Buffer.from(k as string).toString('hex'), Buffer.from(k as string)])).values()]
  bytes.sort(Buffer.compare)
  const iterated = (await db.iterator({ values: false }).all()).map(([k]) => k!.toString('hex'))
  t.same(iterated, bytes.map((b) => b.toString('hex')), 'iteration is in bytewise (Buffer.compare) order')
  const ranged = (await db.iterator({ gte: '\x7f', lt: '\u0100', values: false }).all()).map(([k]) => k!.toString('hex'))
  t.same(
    ranged,
    bytes.filter((b) => Buffer.compare(b, Buffer.from('\x7f')) >= 0 && Buffer.compare(b, Buffer.from('\u0100')) < 0).map((b) => b.toString('hex')),
    'string bounds with and without non-ASCII chars cut the same range as bytes',
  )
  await db.close()
})
