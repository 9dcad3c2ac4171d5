import test from 'tape'
import { crc32 } from 'node:zlib'
import { RECORD_HEADER_SIZE, RecordType, checksumOk, newHeader, readHeader, recordSize, writeRecord } from '../../src/format/record.js'
import { decodeHint, encodeHint } from '../../src/format/hint.js'
import { FILE_HEADER_SIZE, checkFileHeader, encodeFileHeader } from '../../src/format/file-header.js'
import { CaskError, ErrorCodes } from '../../src/errors.js'

test('record: every field round-trips, up to the edges', (t) => {
  const key = Buffer.from([0, 1, 255])
  const value = Buffer.alloc(1000, 7)
  const buf = Buffer.alloc(recordSize(key.length, value.length))
  const seq = 2 ** 53 - 1
  const expires = 8_640_000_000_000_000 / 1000 // far future, above 2^32
  const size = writeRecord(buf, 0, RecordType.PUT, seq, expires, key, value)
  t.equal(size, RECORD_HEADER_SIZE + 3 + 1000)
  const h = newHeader()
  readHeader(buf, 0, h)
  t.same(h, { type: RecordType.PUT, seq, expires, keyLength: 3, valueLength: 1000 })
  t.ok(checksumOk(buf, 0, size))
  t.equal(buf.readUInt32BE(0), crc32(buf.subarray(4)), 'crc covers every byte after itself')
  t.same(buf.subarray(RECORD_HEADER_SIZE, RECORD_HEADER_SIZE + 3), key)
  let detected = 0
  for (let i = 0; i < size; i++) {
    const copy = Buffer.from(buf)
    copy[i] = copy[i]! ^ 0x10
    if (!checksumOk(copy, 0, size)) detected++
  }
  t.equal(detected, size, 'a flipped bit anywhere in the record is detected')
  t.end()
})

test('hint: round-trip, and any damage is refused', (t) => {
  const entries = [
    { type: 1, seq: 5, expires: 0, offset: 8, size: 40, key: Buffer.from('a') },
    { type: 2, seq: 2 ** 40, expires: 1_800_000_000_000, offset: 4_000_000_000, size: 29, key: Buffer.from('') },
  ]
  const buf = encodeHint([3, 4], entries)
  const decoded = decodeHint(buf, 'x.hint')
  t.same(decoded.replaces, [3, 4])
  t.same(decoded.entries, entries)
  let refused = 0
  for (let i = FILE_HEADER_SIZE; i < buf.length; i++) {
    const copy = Buffer.from(buf)
    copy[i] = copy[i]! ^ 0x01
    try {
      decodeHint(copy, 'x.hint')
    } catch (err) {
      if (err instanceof CaskError && err.code === ErrorCodes.CORRUPTION) refused++
    }
  }
  t.equal(refused, buf.length - FILE_HEADER_SIZE, 'every flipped byte refused with CORRUPTION')
  for (let cut = 0; cut < buf.length; cut++) {
    try {
      decodeHint(buf.subarray(0, cut), 'x.hint')
      t.fail(`truncated at ${cut} accepted`)
    } catch (err) {
      if (!(err instanceof CaskError)) t.fail(`untyped error at ${cut}: ${err}`)
    }
  }
  t.pass('every truncation refused with a coded error')
  t.end()
})

test('random bytes never make the decoders throw untyped errors', (t) => {
  let seed = 42
  const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff)
  let untyped = 0
  for (let i = 0; i < 2000; i++) {
    const buf = Buffer.alloc(Math.floor(rand() * 200))
    for (let j = 0; j < buf.length; j++) buf[j] = Math.floor(rand() * 256)
    if (rand() < 0.5 && buf.length >= 8) encodeFileHeader('CSKH').copy(buf)
    try {
      decodeHint(buf, 'fuzz.hint')
    } catch (err) {
      if (!(err instanceof CaskError)) untyped++
    }
  }
  t.equal(untyped, 0)
  t.end()
})

test('file header: magic and version checked', (t) => {
  const h = encodeFileHeader('CSKD')
  t.doesNotThrow(() => checkFileHeader(h, 'CSKD', 'f'))
  t.throws(() => checkFileHeader(h, 'CSKH', 'f'), /bad magic/)
  const v2 = Buffer.from(h)
  v2.writeUInt16BE(2, 4)
  try {
    checkFileHeader(v2, 'CSKD', 'f')
    t.fail('accepted version 2')
  } catch (err) {
    t.equal((err as CaskError).code, ErrorCodes.UNSUPPORTED_FORMAT)
  }
  t.end()
})
