import test from 'tape'
import { OrderedIndex, checkInvariants, newEntry, type IndexEntry } from '../../src/index/ordered-index.js'

function mulberry32(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) | 0
    let t = Math.imul(a ^ (a >>> 15), 1 | a)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

type Row = [key: string, seg: number, offset: number, size: number, expires: number, seq: number]

function rows(index: OrderedIndex): Row[] {
  const out: Row[] = []
  const e = newEntry()
  const c = index.cursor()
  for (let k = c.next(e); k !== undefined; k = c.next(e)) out.push([k, e.seg, e.offset, e.size, e.expires, e.seq])
  return out
}

/** Sorted distinct keys of several shapes: random bytes, a long shared prefix, prefixes of each other. */
function keysOf(n: number, shape: number, random: () => number): string[] {
  const set = new Set<string>()
  while (set.size < n) {
    if (shape === 0) set.add(String.fromCharCode(...Array.from({ length: 1 + Math.floor(random() * 12) }, () => Math.floor(random() * 256))))
    else if (shape === 1) set.add(`user:profile:${String(Math.floor(random() * n * 10)).padStart(9, '0')}`)
    else set.add('a'.repeat(Math.floor(random() * n * 2)) + (random() < 0.5 ? '' : 'b'))
  }
  return [...set].sort()
}

test('bulkLoad builds the same tree contents as set(), passing checkInvariants, for many sizes and capacities', (t) => {
  const random = mulberry32(7)
  let cases = 0
  const failures: string[] = []
  for (const cap of [4, 5, 7, 8, 16, 64]) {
    const fill = cap - (cap >>> 3)
    const sizes = new Set([0, 1, 2, cap - 1, cap, cap + 1, fill - 1, fill, fill + 1, 2 * fill, 2 * fill + 1, fill + (cap >>> 1) - 1, cap * cap + 3, 500])
    for (const n of sizes) {
      for (const shape of [0, 1, 2]) {
        if (n < 0 || (shape === 2 && n > 200)) continue
        const keys = keysOf(n, shape, random)
        const built = new OrderedIndex({ nodeCapacity: cap })
        const loaded = new OrderedIndex({ nodeCapacity: cap })
        const loader = loaded.bulkLoad()
        keys.forEach((k, i) => {
          built.set(k, i % 3, i * 10, 29 + i, i % 5 === 0 ? 1e12 + i : 0, i + 1)
          loader.add(k, i % 3, i * 10, 29 + i, i % 5 === 0 ? 1e12 + i : 0, i + 1)
        })
        loader.finish()
        cases++
        try {
          checkInvariants(loaded)
          if (JSON.stringify(rows(loaded)) !== JSON.stringify(rows(built))) throw new Error('contents differ')
          if (loaded.size !== n) throw new Error(`size ${loaded.size}`)
          const e: IndexEntry = newEntry()
          for (let i = 0; i < keys.length; i++) {
            if (!loaded.get(keys[i]!, e) || e.offset !== i * 10) throw new Error(`get ${JSON.stringify(keys[i])}`)
          }
          if (loaded.get('\u00ff\u00ff\u00ff\u00ff\u00ff\u00ff\u00ff\u00ff\u00ff\u00ff\u00ff\u00ff\u00ff\u00ff', e) !== built.has('\u00ff\u00ff\u00ff\u00ff\u00ff\u00ff\u00ff\u00ff\u00ff\u00ff\u00ff\u00ff\u00ff\u00ff')) throw new Error('absent key')
          // The loaded tree takes ordinary writes afterwards: inserts, overwrites, deletes, snapshots.
          const snap = loaded.snapshot()
          for (let i = 0; i < 2 * n + 10; i++) {
            const k = keys.length > 0 && random() < 0.5 ? keys[Math.floor(random() * keys.length)]! : `x${Math.floor(random() * 1000)}`
            if (random() < 0.3) {
              loaded.delete(k)
              built.delete(k)
            } else {
              loaded.set(k, 9, i, 30, 0, 1000 + i)
              built.set(k, 9, i, 30, 0, 1000 + i)
            }
          }
          checkInvariants(loaded)
          checkInvariants(snap)
          if (JSON.stringify(rows(loaded)) !== JSON.stringify(rows(built))) throw new Error('contents differ after writes')
          if (snap.size !== n) throw new Error('snapshot changed')
        } catch (err) {
          failures.push(`cap ${cap}, n ${n}, shape ${shape}: ${(err as Error).message}`)
        }
      }
    }
  }
  t.same(failures, [], `${cases} trees`)
  t.end()
})

test('bulkLoad: a large random load has the expected shape and fill', (t) => {
  const random = mulberry32(3)
  const keys = keysOf(100_000, 0, random)
  const index = new OrderedIndex()
  const loader = index.bulkLoad()
  for (const k of keys) loader.add(k, 1, 8, 40, 0, 1)
  loader.finish()
  const shape = checkInvariants(index)
  t.equal(index.size, keys.length)
  t.ok(shape.leaves <= Math.ceil(keys.length / 56) + 1, `${shape.leaves} leaves, filled to 7/8 of 64`)
  t.equal(shape.height, 3)
  t.end()
})

test('bulkLoad refuses keys out of order and a non-empty index', (t) => {
  const index = new OrderedIndex()
  const loader = index.bulkLoad()
  loader.add('b', 1, 8, 40, 0, 1)
  t.throws(() => loader.add('a', 1, 8, 40, 0, 1), /ascending/)
  t.throws(() => loader.add('b', 1, 8, 40, 0, 1), /ascending/)
  loader.finish()
  t.equal(index.size, 1)
  t.throws(() => index.bulkLoad(), /empty/)
  t.end()
})

test('setIfNewer: one descent that keeps a newer entry', (t) => {
  const index = new OrderedIndex({ nodeCapacity: 4 })
  const prev = newEntry()
  t.equal(index.setIfNewer('k', 1, 8, 40, 0, 5, prev), 0, 'absent: inserted')
  t.equal(index.setIfNewer('k', 2, 8, 40, 0, 3, prev), -1, 'older seq: kept')
  t.equal(prev.seq, 5, 'previous reported')
  t.equal(index.setIfNewer('k', 3, 16, 41, 0, 9, prev), 1, 'newer seq: replaced')
  t.equal(prev.seg, 1)
  const e = newEntry()
  index.get('k', e)
  t.same([e.seg, e.offset, e.seq], [3, 16, 9])
  for (let i = 0; i < 100; i++) index.setIfNewer(`k${i}`, 1, i, 40, 0, i, prev)
  checkInvariants(index)
  t.equal(index.size, 101)
  t.end()
})

/** Keys as bytes, with a model of what the index must hold. */
function loadPacked(keys: string[], cap: number, viaBytes: boolean): OrderedIndex {
  const index = new OrderedIndex({ nodeCapacity: cap })
  const loader = index.bulkLoad()
  keys.forEach((k, i) => {
    if (viaBytes) {
      const b = Buffer.from(`..${k}.`, 'latin1')
      loader.addBytes(b, 2, b.length - 1, i % 3, i * 10, 29 + i, 0, i + 1)
    } else {
      loader.add(k, i % 3, i * 10, 29 + i, 0, i + 1)
    }
  })
  loader.finish()
  return index
}

test('bulkLoad keeps inner leaves packed, and point lookups read them without unpacking', (t) => {
  const random = mulberry32(11)
  for (const shape of [0, 1, 2]) {
    const keys = keysOf(shape === 2 ? 200 : 20_000, shape, random)
    for (const cap of [4, 64]) {
      const index = loadPacked(keys, cap, shape === 1)
      const before = checkInvariants(index)
      t.ok(before.packedLeaves >= before.leaves - 4 && before.packedLeaves > 0, `shape ${shape}, cap ${cap}: ${before.packedLeaves} of ${before.leaves} leaves packed`)
      const e = newEntry()
      const wrong: string[] = []
      keys.forEach((k, i) => {
        if (!index.get(k, e) || e.offset !== i * 10 || e.seq !== i + 1 || !index.has(k)) wrong.push(`present ${JSON.stringify(k)}`)
        // Absent neighbours: one byte more, one byte less, the last byte changed, a char above 0xff.
        for (const near of [`${k}\u0000`, k.slice(0, -1), k.slice(0, -1) + String.fromCharCode((k.charCodeAt(k.length - 1) + 1) & 0xff), `${k}\u0100`]) {
          const present = keys[lowerBound(keys, near)] === near
          if (index.get(near, e) !== present || index.has(near) !== present) wrong.push(`near ${JSON.stringify(near)}`)
        }
      })
      t.same(wrong.slice(0, 5), [], 'every key found with its entry; absent keys not found')
      t.same(rows(index).map((row) => row[0]), keys, 'a cursor reads every key in order')
      t.equal(index.count({ gte: keys[1]!, lt: keys[keys.length - 1]! }), keys.length - 2, 'count of a range')
      t.equal(checkInvariants(index).packedLeaves, before.packedLeaves, 'no leaf was unpacked by lookups, cursors or counts')
      index.set(keys[Math.floor(keys.length / 2)]!, 1, 2, 30, 0, 99)
      t.equal(checkInvariants(index).packedLeaves, before.packedLeaves - 1, 'a write unpacks the leaf it changes')
    }
  }
  t.end()
})

function lowerBound(keys: string[], key: string): number {
  let lo = 0
  let hi = keys.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (keys[mid]! < key) lo = mid + 1
    else hi = mid
  }
  return lo
}

test('a packed tree takes writes, deletes, cursors and snapshots like any other (model test)', (t) => {
  const random = mulberry32(5)
  const failures: string[] = []
  for (const cap of [4, 8, 64]) {
    for (const shape of [0, 1]) {
      const keys = keysOf(cap === 64 ? 5000 : 1500, shape, random)
      const index = loadPacked(keys, cap, true)
      const model = new Map<string, number>(keys.map((k, i) => [k, i * 10]))
      const snaps: { snap: ReturnType<OrderedIndex['snapshot']>; rows: string }[] = []
      const e = newEntry()
      const pick = (): string => (random() < 0.8 ? keys[Math.floor(random() * keys.length)]! : keysOf(1, shape, random)[0]!)
      try {
        for (let op = 0; op < 6000; op++) {
          // First only point operations, mostly deletes, so that leaves underflow next to packed siblings;
          // cursors (which unpack what they pass) and snapshots join in later.
          const r = op < 2000 ? random() * 0.85 * (random() < 0.6 ? 0.35 : 1) : random()
          const k = pick()
          if (r < 0.3) {
            if (index.delete(k) !== model.delete(k)) throw new Error(`delete ${JSON.stringify(k)}`)
          } else if (r < 0.55) {
            index.set(k, 7, op, 30, 0, 10_000 + op)
            model.set(k, op)
          } else if (r < 0.65) {
            // The write path's lookup then set of the same key.
            index.lookup(k, e)
            index.set(k, 8, op, 30, 0, 10_000 + op)
            model.set(k, op)
          } else if (r < 0.85) {
            const found = index.get(k, e)
            if (found !== model.has(k) || (found && e.offset !== model.get(k))) throw new Error(`get ${JSON.stringify(k)}`)
          } else if (r < 0.95) {
            // A short range from k: the cursor unpacks the leaves it passes.
            const sorted = [...model.keys()].sort()
            const from = lowerBound(sorted, k)
            const want = sorted.slice(from, from + 20)
            const got: string[] = []
            const c = index.cursor({ gte: k })
            for (let key = c.next(e); key !== undefined && got.length < 20; key = c.next(e)) got.push(key)
            if (JSON.stringify(got) !== JSON.stringify(want)) throw new Error(`range from ${JSON.stringify(k)}`)
            if (index.count({ gte: k }) !== sorted.length - from) throw new Error('count')
          } else if (snaps.length < 3) {
            snaps.push({ snap: index.snapshot(), rows: JSON.stringify([...model.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1))) })
          }
          if (op % 1000 === 999) checkInvariants(index)
        }
        checkInvariants(index)
        const sorted = [...model.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1))
        const final = rows(index).map((row) => [row[0], row[2]])
        if (JSON.stringify(final) !== JSON.stringify(sorted)) throw new Error('final contents')
        if (index.size !== model.size) throw new Error('size')
        if (index.first() !== sorted[0]?.[0] || index.last() !== sorted[sorted.length - 1]?.[0]) throw new Error('first/last')
        for (const { snap, rows: want } of snaps) {
          checkInvariants(snap)
          const got = JSON.stringify(rows(snap as OrderedIndex).map((row) => [row[0], row[2]]))
          if (got !== want) throw new Error('a snapshot changed')
        }
      } catch (err) {
        failures.push(`cap ${cap}, shape ${shape}: ${(err as Error).message}`)
      }
    }
  }
  t.same(failures, [], 'every operation agreed with the model; invariants held; snapshots unchanged')
  t.end()
})

test('bulkLoad: addBytes takes long keys and keys that do not fit the current key buffer', (t) => {
  const random = mulberry32(9)
  const keys: string[] = []
  // 256 KiB per key buffer: 20 KiB keys cross it every ~13 keys, mid-leaf.
  for (let i = 0; i < 300; i++) keys.push(String(i).padStart(4, '0') + String.fromCharCode(...Array.from({ length: 20 * 1024 + Math.floor(random() * 100) }, () => Math.floor(random() * 256))))
  keys.sort()
  for (const cap of [8, 64]) {
    const index = loadPacked(keys, cap, true)
    checkInvariants(index)
    const e = newEntry()
    t.ok(keys.every((k, i) => index.get(k, e) && e.offset === i * 10), `cap ${cap}: every long key found`)
    t.same(rows(index).map((row) => row[0]), keys, 'contents in order')
  }
  t.end()
})

test('bulkLoad.add refuses keys that are not latin1', (t) => {
  const loader = new OrderedIndex().bulkLoad()
  t.throws(() => loader.add('\u0100', 1, 8, 40, 0, 1), RangeError)
  t.end()
})

test('cursors, seeks, counts, first and last on a freshly loaded (packed) tree', (t) => {
  const random = mulberry32(21)
  const failures: string[] = []
  for (const cap of [4, 64]) {
    const keys = keysOf(3000, 0, random)
    for (let trial = 0; trial < 60; trial++) {
      const index = loadPacked(keys, cap, trial % 2 === 0)
      const a = keys[Math.floor(random() * keys.length)]!
      const b = keys[Math.floor(random() * keys.length)]!
      const [lo, hi] = a < b ? [a, b] : [b, a]
      const reverse = trial % 3 === 0
      const range = trial % 4 === 0 ? { gt: lo, lte: hi } : trial % 4 === 1 ? { gte: lo, lt: hi } : trial % 4 === 2 ? { gte: lo } : {}
      const inRange = (k: string): boolean =>
        (range.gt === undefined || k > range.gt) && (range.gte === undefined || k >= range.gte) && (range.lt === undefined || k < range.lt) && (range.lte === undefined || k <= range.lte)
      const want = keys.filter(inRange)
      if (reverse) want.reverse()
      const e = newEntry()
      const c = index.cursor(range, reverse)
      const got: string[] = []
      for (let k = c.next(e); k !== undefined && got.length < 200; k = c.next(e)) got.push(k)
      if (JSON.stringify(got) !== JSON.stringify(want.slice(0, 200))) failures.push(`cap ${cap} trial ${trial}: cursor`)
      const fresh = loadPacked(keys, cap, true)
      if (fresh.count(range) !== want.length) failures.push(`cap ${cap} trial ${trial}: count`)
      const target = keys[Math.floor(random() * keys.length)]!
      const seeker = loadPacked(keys, cap, false).cursor(range, reverse)
      seeker.seek(target)
      // A target outside the range ends the cursor (abstract-level's seek).
      const after = inRange(target) ? want.filter((k) => (reverse ? k <= target : k >= target)) : []
      const first = seeker.next(e)
      if (first !== after[0]) failures.push(`cap ${cap} trial ${trial}: seek`)
      if (trial === 0 && (fresh.first() !== keys[0] || fresh.last() !== keys[keys.length - 1])) failures.push('first/last')
    }
  }
  t.same(failures, [], 'all agree with the sorted keys')
  t.end()
})

test('cursor.advance with key() and keyBuffer(), on packed and on unpacked leaves', (t) => {
  const random = mulberry32(33)
  const keys = keysOf(2000, 0, random)
  const index = loadPacked(keys, 8, true)
  const unpackedToo = loadPacked(keys, 8, false)
  for (const k of keys) unpackedToo.set(k, 1, 2, 30, 0, 5) // every leaf written, so unpacked
  t.equal(checkInvariants(unpackedToo).packedLeaves, 0, 'the second tree has no packed leaf')
  t.ok(checkInvariants(index).packedLeaves > 0, 'the first has packed leaves')
  for (const tree of [index, unpackedToo]) {
    const c = tree.cursor({ gt: keys[10]!, lte: keys[1500]! }, true)
    t.throws(() => c.key(), /no current entry/, 'key() before any entry throws')
    const e = newEntry()
    const got: string[] = []
    let bytesAgree = true
    while (c.advance(e)) {
      const k = c.key()
      if (!c.keyBuffer().equals(Buffer.from(k, 'latin1'))) bytesAgree = false
      got.push(k)
    }
    t.same(got, keys.slice(11, 1501).reverse(), 'advance walks the range (reverse, exclusive low, inclusive high)')
    t.ok(bytesAgree, 'keyBuffer() holds the bytes of key()')
    t.equal(c.advance(e), false, 'stays at the end')
  }
  t.end()
})
