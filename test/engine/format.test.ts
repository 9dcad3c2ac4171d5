import test from 'tape'
import { crc32 } from 'node:zlib'
import {
  HEADER_BAD,
  HEADER_SHORT,
  MIN_RECORD_SIZE,
  V1_HEADER_SIZE,
  RecordType,
  checksumOk,
  headerSize,
  holdsValueOf,
  newHeader,
  readHeader,
  recordSize,
  valueStartOf,
  writeRecord,
} from '../../src/format/record.js'
import { checkHint, decodeHint, encodeHint, type HintEntry } from '../../src/format/hint.js'
import { FILE_HEADER_SIZE, checkFileHeader, encodeFileHeader } from '../../src/format/file-header.js'
import { CaskError, ErrorCodes } from '../../src/errors.js'
import { encodeV1Hint } from '../helpers/hints.js'
import { encodeV1Record } from '../helpers/records.js'

test('record: every field round-trips, up to the edges', (t) => {
  const key = Buffer.from([0, 1, 255])
  const value = Buffer.alloc(1000, 7)
  const seq = 2 ** 53 - 1
  const expires = 8_640_000_000_000_000 / 1000 // far future, above 2^32
  const buf = Buffer.alloc(recordSize(key.length, value.length, seq, expires))
  const size = writeRecord(buf, 0, RecordType.PUT, seq, expires, key, value)
  t.equal(size, buf.length, 'recordSize predicts the size written')
  t.equal(size, 4 + 1 + 1 + 2 + 8 + 7 + 3 + 1000, 'crc, flags, key length, value length, seq and expires varints, key, value')
  const h = newHeader()
  t.equal(readHeader(buf, 0, size, h), size - 1003)
  t.same(h, { type: RecordType.PUT, seq, expires, keyLength: 3, valueLength: 1000, headerSize: size - 1003 })
  t.ok(checksumOk(buf, 0, size))
  t.equal(buf.readUInt32BE(0), crc32(buf.subarray(4)), 'crc covers every byte after itself')
  t.same(buf.subarray(h.headerSize, h.headerSize + 3), key)
  t.equal(valueStartOf(buf, 0, size), size - 1000)
  t.equal(valueStartOf(buf, 0, size - 1), -1, 'a size the header does not describe is refused')
  let detected = 0
  for (let i = 0; i < size; i++) {
    const copy = Buffer.from(buf)
    copy[i] = copy[i]! ^ 0x10
    if (!checksumOk(copy, 0, size)) detected++
  }
  t.equal(detected, size, 'a flipped bit anywhere in the record is detected')
  t.end()
})

test('record: the header of a 16-byte key and a 100-byte value is 10 bytes, not 29', (t) => {
  const key = Buffer.alloc(16, 1)
  const value = Buffer.alloc(100, 2)
  for (const [seq, header] of [[1, 8], [127, 8], [128, 9], [2 ** 21 - 1, 10], [2 ** 21, 11], [2 ** 35, 13]] as const) {
    const buf = Buffer.alloc(200)
    const size = writeRecord(buf, 0, RecordType.PUT, seq, 0, key, value)
    t.equal(size - 116, header, `seq ${seq}: ${header}-byte header`)
    t.equal(headerSize(16, 100, seq, 0), header)
  }
  const buf = Buffer.alloc(200)
  t.equal(writeRecord(buf, 0, RecordType.PUT, 5, 1_800_000_000_000, key, value) - 116, 8 + 6, 'an expiry adds its varint (6 bytes for a time in ms)')
  t.equal(writeRecord(buf, 0, RecordType.DELETE, 5, 0, Buffer.alloc(0), undefined), MIN_RECORD_SIZE, 'the smallest record')
  t.end()
})

test('record: layout 1 records (29-byte header) are still read', (t) => {
  const v1 = encodeV1Record(RecordType.PUT, 2 ** 40 + 3, 1_800_000_000_000, Buffer.from('key'), Buffer.from('value'))
  const h = newHeader()
  t.equal(readHeader(v1, 0, v1.length, h), V1_HEADER_SIZE)
  t.same(h, { type: RecordType.PUT, seq: 2 ** 40 + 3, expires: 1_800_000_000_000, keyLength: 3, valueLength: 5, headerSize: V1_HEADER_SIZE })
  t.ok(checksumOk(v1, 0, v1.length))
  t.equal(v1.toString('latin1', valueStartOf(v1, 0, v1.length)), 'value')
  t.ok(holdsValueOf(v1.length, 3, 5, 2 ** 40 + 3, 1_800_000_000_000), 'the unchanged-write size check accepts a layout 1 record')
  t.notOk(holdsValueOf(v1.length, 3, 6, 2 ** 40 + 3, 1_800_000_000_000), 'but not one of another value length')
  t.end()
})

test('record: readHeader tells a short header from a bad one', (t) => {
  const buf = Buffer.alloc(256)
  const size = writeRecord(buf, 0, RecordType.PUT, 300, 0, Buffer.alloc(200, 1), undefined)
  const h = newHeader()
  const full = readHeader(buf, 0, size, h)
  t.equal(full, 4 + 1 + 2 + 1 + 2)
  for (let end = 0; end < full; end++) t.equal(readHeader(buf, 0, end, h), HEADER_SHORT, `cut after ${end} bytes: short`)
  const flags = buf[4]!
  for (const bad of [0, 4, 0x80, 0x84, 0x88, 0xc1, 0xff]) {
    buf[4] = bad
    t.equal(readHeader(buf, 0, size, h), HEADER_BAD, `type byte ${bad}: bad`)
  }
  buf[4] = flags
  const overlong = Buffer.from([0, 0, 0, 0, 0x81, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01, 0, 1])
  t.equal(readHeader(overlong, 0, overlong.length, h), HEADER_BAD, 'a key length of more than 5 bytes is bad')
  const hugeSeq = Buffer.from([0, 0, 0, 0, 0x81, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f])
  t.equal(readHeader(hugeSeq, 0, hugeSeq.length, h), HEADER_BAD, 'a seq above 2^53 is bad')
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
  t.same(decoded.entries, [entries[1], entries[0]], 'entries come back sorted by key')
  t.equal(decoded.dataLength, 4_000_000_029, 'data length defaults to where the last record ends')
  t.equal(decoded.partial, false)
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
  t.equal(h.readUInt16BE(4), 2, 'data segments are written at version 2')
  const v1 = Buffer.from(h)
  v1.writeUInt16BE(1, 4)
  t.equal(checkFileHeader(v1, 'CSKD', 'f'), 1, 'version 1 segments are still read')
  const v3 = Buffer.from(h)
  v3.writeUInt16BE(3, 4)
  try {
    checkFileHeader(v3, 'CSKD', 'f')
    t.fail('accepted version 3')
  } catch (err) {
    t.equal((err as CaskError).code, ErrorCodes.UNSUPPORTED_FORMAT)
    t.match((err as Error).message, /reads version 1 and 2/)
  }
  t.end()
})

/** Entries in random order: random keys, keys sharing long prefixes, prefixes of each other, repeated keys. */
function randomEntries(n: number, seed: number): HintEntry[] {
  const rand = (() => {
    let x = seed
    return () => ((x = (x * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff)
  })()
  const entries: HintEntry[] = []
  for (let i = 0; i < n; i++) {
    const shape = Math.floor(rand() * 4)
    const key =
      shape === 0
        ? Buffer.from(Array.from({ length: Math.floor(rand() * 20) }, () => Math.floor(rand() * 256)))
        : shape === 1
          ? Buffer.from(`user:profile:${Math.floor(rand() * 50)}:${'z'.repeat(Math.floor(rand() * 3))}`)
          : shape === 2
            ? Buffer.from('k'.repeat(Math.floor(rand() * 12)))
            : entries.length > 0
              ? entries[Math.floor(rand() * entries.length)]!.key
              : Buffer.from('first')
    const expires = rand() < 0.3 ? 1_800_000_000_000 + i : 0
    entries.push({ type: rand() < 0.8 ? 1 : 2, seq: Math.floor(rand() * 2 ** 40) + i, expires, offset: 8 + i * 100, size: 29 + Math.floor(rand() * 70), key })
  }
  return entries
}

const byKeyThenSeq = (a: HintEntry, b: HintEntry) => Buffer.compare(a.key, b.key) || a.seq - b.seq

test('hint: entries are written sorted by key bytes, then seq, whatever order they come in', (t) => {
  for (const n of [0, 1, 2, 3, 100, 5000]) {
    const entries = randomEntries(n, n + 1)
    const decoded = decodeHint(encodeHint([], entries), 'x.hint')
    t.same(decoded.entries, [...entries].sort(byKeyThenSeq), `${n} entries`)
    const sortedIn = decodeHint(encodeHint([], [...entries].sort(byKeyThenSeq)), 'x.hint')
    t.same(sortedIn.entries, decoded.entries, `${n} entries given already sorted`)
  }
  t.end()
})

test('hint: version 2 entries are small (prefix-compressed keys, varints, no expiry field when there is none)', (t) => {
  const entries = Array.from({ length: 1000 }, (_, i) => ({ type: 1, seq: 1_000_000 + i, expires: 0, offset: 8 + i * 145, size: 145, key: Buffer.from(`key:${String(i).padStart(12, '0')}`) }))
  const bytes = encodeHint([], entries).length
  t.ok(bytes < 1000 * 16, `${bytes} bytes for 1000 16-byte keys (version 1: ${1000 * 45})`)
  t.end()
})

test('hint: partial flag, data length and tail crc round-trip; a version 1 hint is still read', (t) => {
  const entries = randomEntries(50, 9)
  const buf = encodeHint([], entries, { partial: true, dataLength: 9000, tailCrc: 0xdeadbeef })
  const header = checkHint(buf, 'x.active.hint')
  t.same([header.partial, header.dataLength, header.tailCrc], [true, 9000, 0xdeadbeef])
  // A version 1 hint, as the previous release wrote it: fixed-width entries in file order.
  const v1Entries = entries.slice(0, 3)
  const v1 = encodeV1Hint(v1Entries, [7])
  const old = decodeHint(v1, 'old.hint')
  t.same(old.replaces, [7])
  t.same(old.entries, v1Entries, 'version 1 entries, in file order')
  t.equal(old.dataLength, Math.max(...v1Entries.map((e) => e.offset + e.size)))
  t.end()
})

test('hint: checksum-valid but malformed entries are refused (keys out of order, entries outside the data)', (t) => {
  const resign = (buf: Buffer) => {
    buf.writeUInt32BE(crc32(buf.subarray(0, buf.length - 4)), buf.length - 4)
    return buf
  }
  const entries = [
    { type: 1, seq: 1, expires: 0, offset: 8, size: 40, key: Buffer.from('a') },
    { type: 1, seq: 2, expires: 0, offset: 48, size: 40, key: Buffer.from('b') },
  ]
  const buf = encodeHint([], entries)
  // The second key's suffix byte 'b' -> '0' (below 'a'): out of order.
  const swapped = Buffer.from(buf)
  swapped[swapped.lastIndexOf(0x62)] = 0x30
  t.throws(() => decodeHint(resign(swapped), 'x.hint'), /out of order/)
  t.throws(() => decodeHint(encodeHint([], entries, { dataLength: 60 }), 'x.hint'), /ends past the bytes/)
  t.throws(() => decodeHint(encodeHint([], [{ ...entries[0]!, offset: 2 }]), 'x.hint'), /not a record/)
  t.end()
})
