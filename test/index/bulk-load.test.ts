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
