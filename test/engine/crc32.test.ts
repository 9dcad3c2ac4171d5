/**
 * The record checksum computed in JavaScript for short ranges
 * (src/format/crc32.ts) must equal zlib's crc32 for every length and
 * alignment, on both sides of the length where it hands over to zlib.
 */
import test from 'tape'
import { crc32 } from 'node:zlib'
import { randomBytes } from 'node:crypto'
import { JS_MAX, crc32Of } from '../../src/format/crc32.js'
import { RecordType, checksumOk, recordSize, writeRecord } from '../../src/format/record.js'

test('crc32Of: the check value of the standard test vector', (t) => {
  t.equal(crc32Of(Buffer.from('123456789'), 0, 9), 0xcbf43926)
  t.equal(crc32Of(Buffer.alloc(0), 0, 0), 0, 'empty range')
  t.end()
})

test('crc32Of: equals zlib.crc32 for every length up to past the hand-over, at every alignment', (t) => {
  const bytes = randomBytes(JS_MAX + 64 + 16)
  let wrong = 0
  let checked = 0
  for (let length = 0; length <= JS_MAX + 64; length++) {
    for (let start = 0; start < 16; start++) {
      checked++
      if (crc32Of(bytes, start, start + length) !== crc32(bytes.subarray(start, start + length))) wrong++
    }
  }
  t.equal(wrong, 0, `${checked} ranges, none differs`)
  // All-ones and all-zero bytes: the sign bit of the 32-bit state must not leak.
  for (const fill of [0x00, 0xff, 0x80]) {
    const b = Buffer.alloc(100, fill)
    t.equal(crc32Of(b, 0, 100), crc32(b), `100 bytes of 0x${fill.toString(16)}`)
  }
  t.end()
})

test('crc32Of: records written with it are the ones zlib checks', (t) => {
  const key = Buffer.from('key')
  const value = Buffer.from('a value of some length')
  const record = Buffer.alloc(recordSize(key.length, value.length, 42, 0))
  writeRecord(record, 0, RecordType.PUT, 42, 0, key, value)
  t.equal(record.readUInt32BE(0), crc32(record.subarray(4)), 'the stored checksum is zlib’s')
  t.ok(checksumOk(record, 0, record.length), 'and checks')
  record[record.length - 1] = record[record.length - 1]! ^ 1
  t.notOk(checksumOk(record, 0, record.length), 'one flipped bit fails it')
  t.end()
})
