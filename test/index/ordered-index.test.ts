import test from 'tape'
import {
  OrderedIndex,
  checkInvariants,
  newEntry,
  type IndexEntry,
  type IndexView,
  type KeyRange,
} from '../../src/index/ordered-index.js'

// --- helpers ---

type Vals = readonly [seg: number, offset: number, size: number, expires: number, seq: number]

function entryOf(e: IndexEntry): Vals {
  return [e.seg, e.offset, e.size, e.expires, e.seq]
}

/** Deterministic PRNG so failures reproduce. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) | 0
    let t = Math.imul(a ^ (a >>> 15), 1 | a)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

function collect(view: IndexView, range?: KeyRange, reverse = false): Array<[string, Vals]> {
  const c = view.cursor(range, reverse)
  const out = newEntry()
  const res: Array<[string, Vals]> = []
  for (let k = c.next(out); k !== undefined; k = c.next(out)) res.push([k, entryOf(out)])
  return res
}

function collectKeys(view: IndexView, range?: KeyRange, reverse = false): string[] {
  return collect(view, range, reverse).map(([k]) => k)
}

function drain(c: { next(out: IndexEntry): string | undefined }): string[] {
  const out = newEntry()
  const res: string[] = []
  for (let k = c.next(out); k !== undefined; k = c.next(out)) res.push(k)
  return res
}

/** Compares long lists and reports only the first difference (tape would print both lists in full). */
function sameList(t: test.Test, got: readonly unknown[], want: readonly unknown[], msg: string): void {
  const n = Math.max(got.length, want.length)
  for (let i = 0; i < n; i++) {
    const g = JSON.stringify(got[i])
    const w = JSON.stringify(want[i])
    if (g !== w) {
      t.fail(`${msg}: first difference at index ${i} of ${got.length} (want ${want.length}): got ${g}, want ${w}`)
      return
    }
  }
  t.pass(msg)
}

/** Reference semantics of a KeyRange, written independently of the implementation. */
function inRange(k: string, r: KeyRange): boolean {
  if (r.gte !== undefined) {
    if (k < r.gte) return false
  } else if (r.gt !== undefined && k <= r.gt) return false
  if (r.lte !== undefined) {
    if (k > r.lte) return false
  } else if (r.lt !== undefined && k >= r.lt) return false
  return true
}

/** Sorted-array + Map reference model. */
class Model {
  keys: string[] = []
  map = new Map<string, Vals>()

  set(k: string, v: Vals): void {
    if (!this.map.has(k)) this.keys.splice(this.lowerBound(k), 0, k)
    this.map.set(k, v)
  }

  delete(k: string): void {
    if (!this.map.delete(k)) return
    this.keys.splice(this.lowerBound(k), 1)
  }

  clear(): void {
    this.keys = []
    this.map = new Map()
  }

  copy(): Model {
    const m = new Model()
    m.keys = this.keys.slice()
    m.map = new Map(this.map)
    return m
  }

  entries(): Array<[string, Vals]> {
    return this.keys.map((k) => [k, this.map.get(k)!])
  }

  private lowerBound(k: string): number {
    let lo = 0
    let hi = this.keys.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (this.keys[mid]! < k) lo = mid + 1
      else hi = mid
    }
    return lo
  }
}

function randomKey(rnd: () => number, alphabet: string, maxLen: number): string {
  const len = Math.floor(rnd() * (maxLen + 1))
  let k = ''
  for (let i = 0; i < len; i++) k += alphabet[Math.floor(rnd() * alphabet.length)]
  return k
}

function randomVals(rnd: () => number): Vals {
  return [
    Math.floor(rnd() * 1000),
    Math.floor(rnd() * 2 ** 40), // offsets beyond 32 bits
    Math.floor(rnd() * 1e6),
    rnd() < 0.5 ? 0 : 1.7e12 + Math.floor(rnd() * 1e9), // ms timestamps
    Math.floor(rnd() * 2 ** 52), // large sequence numbers
  ]
}

function randomRange(rnd: () => number, key: () => string): KeyRange {
  const r: KeyRange = {}
  const lower = Math.floor(rnd() * 4) // none, gt, gte, both
  const upper = Math.floor(rnd() * 4)
  if (lower === 1 || lower === 3) r.gt = key()
  if (lower === 2 || lower === 3) r.gte = key()
  if (upper === 1 || upper === 3) r.lt = key()
  if (upper === 2 || upper === 3) r.lte = key()
  return r
}

/**
 * Compares a view with the model; returns a description of the first
 * mismatch or undefined. Assertion-free so thousands of checks stay fast and
 * the tape output small.
 */
function diffView(view: IndexView, model: Model, rnd: () => number, key: () => string): string | undefined {
  if (view.size !== model.keys.length) return `size ${view.size} != ${model.keys.length}`
  const expected = model.entries()
  const fwd = collect(view)
  if (JSON.stringify(fwd) !== JSON.stringify(expected)) return 'forward iteration differs'
  const rev = collect(view, undefined, true)
  if (JSON.stringify(rev) !== JSON.stringify(expected.slice().reverse())) return 'reverse iteration differs'
  if (view.first() !== model.keys[0]) return `first() ${JSON.stringify(view.first())}`
  if (view.last() !== model.keys[model.keys.length - 1]) return `last() ${JSON.stringify(view.last())}`
  const out = newEntry()
  for (let i = 0; i < 20; i++) {
    const k = key()
    const want = model.map.get(k)
    const found = view.get(k, out)
    if (found !== (want !== undefined)) return `get(${JSON.stringify(k)}) found=${found}`
    if (want !== undefined && JSON.stringify(entryOf(out)) !== JSON.stringify(want)) return `get(${JSON.stringify(k)}) value`
    if (view.has(k) !== found) return `has(${JSON.stringify(k)})`
  }
  for (let i = 0; i < 6; i++) {
    const range = randomRange(rnd, key)
    const reverse = rnd() < 0.5
    const want = model.keys.filter((k) => inRange(k, range))
    if (reverse) want.reverse()
    const got = collectKeys(view, range, reverse)
    if (JSON.stringify(got) !== JSON.stringify(want)) {
      return `range ${JSON.stringify(range)} reverse=${reverse}: ${JSON.stringify(got)} != ${JSON.stringify(want)}`
    }
    if (view.count(range) !== (reverse ? want.length : want.length)) return `count ${JSON.stringify(range)}`
    // Consume a few, seek somewhere, consume the rest.
    const c = view.cursor(range, reverse)
    const first = Math.floor(rnd() * 3)
    for (let j = 0; j < first; j++) c.next(out)
    const target = key()
    c.seek(target)
    const afterSeek = inRange(target, range) ? want.filter((k) => (reverse ? k <= target : k >= target)) : []
    const gotSeek = drain(c)
    if (JSON.stringify(gotSeek) !== JSON.stringify(afterSeek)) {
      return `seek ${JSON.stringify(target)} in ${JSON.stringify(range)} reverse=${reverse}`
    }
  }
  return undefined
}

// --- basic operations ---

test('ordered-index: empty index', (t) => {
  const idx = new OrderedIndex()
  const out = newEntry()
  t.equal(idx.size, 0)
  t.equal(idx.get('a', out), false)
  t.equal(idx.has(''), false)
  t.equal(idx.first(), undefined)
  t.equal(idx.last(), undefined)
  t.equal(idx.delete('a'), false)
  t.deepEqual(collectKeys(idx), [])
  t.deepEqual(collectKeys(idx, undefined, true), [])
  t.equal(idx.count(), 0)
  t.equal(idx.count({ gte: 'a' }), 0)
  const c = idx.cursor()
  c.seek('a')
  t.equal(c.next(out), undefined)
  checkInvariants(idx)
  t.end()
})

test('ordered-index: newEntry is zeroed', (t) => {
  t.deepEqual(newEntry(), { seg: 0, offset: 0, size: 0, expires: 0, seq: 0 })
  t.end()
})

test('ordered-index: rejects bad nodeCapacity', (t) => {
  t.throws(() => new OrderedIndex({ nodeCapacity: 3 }), RangeError)
  t.throws(() => new OrderedIndex({ nodeCapacity: 4.5 }), RangeError)
  t.throws(() => new OrderedIndex({ nodeCapacity: Number.NaN }), RangeError)
  t.doesNotThrow(() => new OrderedIndex({ nodeCapacity: 4 }))
  t.end()
})

test('ordered-index: set/get/has/delete with previous', (t) => {
  const idx = new OrderedIndex()
  const out = newEntry()
  const prev = newEntry()
  t.equal(idx.set('b', 1, 10, 100, 0, 1, prev), false, 'insert returns false')
  t.deepEqual(prev, newEntry(), 'previous untouched on insert')
  t.equal(idx.set('a', 2, 20, 200, 5, 2), false)
  t.equal(idx.size, 2)
  t.equal(idx.get('b', out), true)
  t.deepEqual(out, { seg: 1, offset: 10, size: 100, expires: 0, seq: 1 })
  t.equal(idx.has('a'), true)
  t.equal(idx.has('c'), false)

  t.equal(idx.set('b', 3, 2 ** 40, 300, 1.7e12, 2 ** 52, prev), true, 'replace returns true')
  t.deepEqual(prev, { seg: 1, offset: 10, size: 100, expires: 0, seq: 1 }, 'previous filled on replace')
  t.equal(idx.size, 2, 'replace keeps size')
  idx.get('b', out)
  t.deepEqual(out, { seg: 3, offset: 2 ** 40, size: 300, expires: 1.7e12, seq: 2 ** 52 }, 'large numbers survive')

  t.equal(idx.delete('b', prev), true)
  t.deepEqual(prev, { seg: 3, offset: 2 ** 40, size: 300, expires: 1.7e12, seq: 2 ** 52 })
  t.equal(idx.delete('b', prev), false, 'second delete misses')
  t.equal(idx.size, 1)
  t.equal(idx.get('b', out), false)
  t.equal(idx.first(), 'a')
  t.equal(idx.last(), 'a')
  t.equal(idx.delete('a'), true, 'delete without previous')
  t.equal(idx.size, 0)
  checkInvariants(idx)
  t.end()
})

test('ordered-index: replaceIf / deleteIf compare seg and offset', (t) => {
  const idx = new OrderedIndex()
  const out = newEntry()
  idx.set('k', 1, 100, 10, 0, 7)
  t.equal(idx.replaceIf('missing', 1, 100, 2, 0, 0, 0, 0), false, 'replaceIf on missing key')
  t.equal(idx.has('missing'), false, 'replaceIf does not insert')
  t.equal(idx.replaceIf('k', 1, 101, 2, 200, 20, 0, 8), false, 'offset mismatch')
  t.equal(idx.replaceIf('k', 2, 100, 2, 200, 20, 0, 8), false, 'seg mismatch')
  idx.get('k', out)
  t.deepEqual(entryOf(out), [1, 100, 10, 0, 7], 'unchanged after failed replaceIf')
  t.equal(idx.replaceIf('k', 1, 100, 2, 200, 20, 99, 8), true, 'match replaces')
  idx.get('k', out)
  t.deepEqual(entryOf(out), [2, 200, 20, 99, 8])
  t.equal(idx.size, 1)

  t.equal(idx.deleteIf('missing', 2, 200), false)
  t.equal(idx.deleteIf('k', 1, 100), false, 'stale location does not delete')
  t.equal(idx.deleteIf('k', 2, 201), false)
  t.equal(idx.has('k'), true)
  t.equal(idx.deleteIf('k', 2, 200), true)
  t.equal(idx.has('k'), false)
  t.equal(idx.size, 0)
  checkInvariants(idx)
  t.end()
})

test('ordered-index: latin1 edge keys order bytewise', (t) => {
  for (const cap of [4, 64]) {
    const idx = new OrderedIndex({ nodeCapacity: cap })
    const keys = ['\xff', '', 'a\x00', '\x00', '\xff\xff', 'a', '\x00\x00', 'a\xff', '\x7f', '\x80']
    keys.forEach((k, i) => idx.set(k, i, i, i, i, i))
    const sorted = ['', '\x00', '\x00\x00', 'a', 'a\x00', 'a\xff', '\x7f', '\x80', '\xff', '\xff\xff']
    const byBytes = keys
      .slice()
      .sort((x, y) => Buffer.compare(Buffer.from(x, 'latin1'), Buffer.from(y, 'latin1')))
    t.deepEqual(sorted, byBytes, 'reference order is bytewise')
    t.deepEqual(collectKeys(idx), sorted, `forward, cap ${cap}`)
    t.deepEqual(collectKeys(idx, undefined, true), sorted.slice().reverse(), `reverse, cap ${cap}`)
    t.equal(idx.first(), '')
    t.equal(idx.last(), '\xff\xff')
    const out = newEntry()
    t.equal(idx.get('', out), true, 'empty key is a key')
    t.equal(out.seg, 1)
    t.deepEqual(collectKeys(idx, { gte: '' , lt: '\x00\x00' }), ['', '\x00'], 'gte empty string bounds inclusively')
    t.deepEqual(collectKeys(idx, { gt: '' , lte: '\x00' }), ['\x00'], 'gt empty string excludes it')
    t.deepEqual(collectKeys(idx, { gte: '\xff' }), ['\xff', '\xff\xff'])
    t.deepEqual(collectKeys(idx, { lt: '\x00' }, true), [''])
    t.equal(idx.delete(''), true)
    t.equal(idx.first(), '\x00')
    checkInvariants(idx)
  }
  t.end()
})

// --- cursors ---

test('ordered-index: cursors with every bound combination', (t) => {
  for (const cap of [4, 64]) {
    const idx = new OrderedIndex({ nodeCapacity: cap })
    const keys: string[] = []
    // Even two-digit keys only, so odd ones are absent probes.
    for (let i = 0; i < 100; i += 2) keys.push(String(i).padStart(2, '0'))
    for (const k of keys.slice().reverse()) idx.set(k, Number(k), 0, 0, 0, 0)
    checkInvariants(idx)
    const probes = ['', '00', '01', '10', '11', '48', '49', '98', '99', '\xff']
    let failures = 0
    let cases = 0
    for (const x of probes) {
      for (const y of probes) {
        const ranges: KeyRange[] = [
          { gt: x },
          { gte: x },
          { lt: y },
          { lte: y },
          { gt: x, lt: y },
          { gt: x, lte: y },
          { gte: x, lt: y },
          { gte: x, lte: y },
          { gt: y, gte: x }, // gte wins
          { lt: x, lte: y }, // lte wins
          { gt: x, gte: x, lt: y, lte: y },
          { gte: undefined, gt: x, lte: undefined, lt: y }, // undefined bounds ignored
        ]
        for (const range of ranges) {
          for (const reverse of [false, true]) {
            cases++
            const want = keys.filter((k) => inRange(k, range))
            if (reverse) want.reverse()
            const got = collectKeys(idx, range, reverse)
            if (JSON.stringify(got) !== JSON.stringify(want)) {
              failures++
              if (failures < 5) t.deepEqual(got, want, `cap ${cap} ${JSON.stringify(range)} reverse=${reverse}`)
            }
            if (!reverse && idx.count(range) !== want.length) {
              failures++
              if (failures < 5) t.equal(idx.count(range), want.length, `count ${JSON.stringify(range)}`)
            }
          }
        }
      }
    }
    t.equal(failures, 0, `cap ${cap}: ${cases} range cases match the reference`)
    t.equal(idx.count(), 50)
  }
  t.end()
})

test('ordered-index: explicit range examples', (t) => {
  const idx = new OrderedIndex({ nodeCapacity: 4 })
  for (const k of ['a', 'b', 'c', 'd', 'e', 'f', 'g']) idx.set(k, 0, 0, 0, 0, 0)
  t.deepEqual(collectKeys(idx, { gt: 'b', lt: 'f' }), ['c', 'd', 'e'])
  t.deepEqual(collectKeys(idx, { gte: 'b', lte: 'f' }), ['b', 'c', 'd', 'e', 'f'])
  t.deepEqual(collectKeys(idx, { gt: 'b', lt: 'f' }, true), ['e', 'd', 'c'])
  t.deepEqual(collectKeys(idx, { gte: 'b', lte: 'f' }, true), ['f', 'e', 'd', 'c', 'b'])
  t.deepEqual(collectKeys(idx, { gt: 'a', gte: 'e' }), ['e', 'f', 'g'], 'gte beats gt (gte larger)')
  t.deepEqual(collectKeys(idx, { gt: 'e', gte: 'a', lt: 'c' }), ['a', 'b'], 'gte beats gt (gte smaller)')
  t.deepEqual(collectKeys(idx, { lt: 'g', lte: 'b' }, true), ['b', 'a'], 'lte beats lt')
  t.deepEqual(collectKeys(idx, { lt: 'c', lte: 'e' }), ['a', 'b', 'c', 'd', 'e'], 'lte beats lt (lte larger)')
  t.deepEqual(collectKeys(idx, { gt: 'bb', lt: 'dd' }), ['c', 'd'], 'absent bounds')
  // Empty ranges.
  t.deepEqual(collectKeys(idx, { gt: 'c', lt: 'c' }), [], 'gt x lt x')
  t.deepEqual(collectKeys(idx, { gte: 'c', lt: 'c' }), [], 'gte x lt x')
  t.deepEqual(collectKeys(idx, { gte: 'c', lte: 'c' }), ['c'], 'gte x lte x is a point')
  t.deepEqual(collectKeys(idx, { gte: 'e', lte: 'b' }), [], 'inverted')
  t.deepEqual(collectKeys(idx, { gte: 'e', lte: 'b' }, true), [], 'inverted reverse')
  t.deepEqual(collectKeys(idx, { gt: 'g' }), [], 'above everything')
  t.deepEqual(collectKeys(idx, { lt: 'a' }, true), [], 'below everything')
  t.deepEqual(collectKeys(idx, { gt: 'cc', lt: 'cd' }), [], 'gap between keys')
  t.deepEqual(collectKeys(idx, { gt: 'cc', lt: 'cd' }, true), [], 'gap between keys, reverse')
  t.equal(idx.count({ gt: 'b', lt: 'f' }), 3)
  t.equal(idx.count({ gte: 'e', lte: 'b' }), 0)
  t.end()
})

test('ordered-index: cursor end is sticky until seek', (t) => {
  const idx = new OrderedIndex({ nodeCapacity: 4 })
  for (const k of ['a', 'b', 'c']) idx.set(k, 0, 0, 0, 0, 0)
  const out = newEntry()
  const c = idx.cursor()
  t.deepEqual(drain(c), ['a', 'b', 'c'])
  t.equal(c.next(out), undefined)
  t.equal(c.next(out), undefined, 'stays ended')
  c.seek('b')
  t.deepEqual(drain(c), ['b', 'c'], 'seek revives')
  t.end()
})

test('ordered-index: seek', (t) => {
  const idx = new OrderedIndex({ nodeCapacity: 4 })
  const keys: string[] = []
  for (let i = 0; i < 40; i++) keys.push(String.fromCharCode(97 + (i % 26)) + (i >= 26 ? 'x' : ''))
  for (const k of keys) idx.set(k, 0, 0, 0, 0, 0)
  const sorted = keys.slice().sort()
  const out = newEntry()

  // Unbounded, forward.
  let c = idx.cursor()
  t.equal(c.next(out), 'a')
  c.seek('m')
  t.equal(c.next(out), 'm', 'seek forward to existing key')
  c.seek('mm')
  t.equal(c.next(out), 'mx', 'seek forward to absent key lands on next')
  c.seek('c')
  t.equal(c.next(out), 'c', 'seek backwards in a forward cursor')
  c.seek('zz')
  t.equal(c.next(out), undefined, 'seek past the end')
  c.seek('')
  t.deepEqual(drain(c), sorted, 'seek to the smallest key after the end')

  // Unbounded, reverse.
  c = idx.cursor(undefined, true)
  t.equal(c.next(out), 'z')
  c.seek('mz')
  t.equal(c.next(out), 'mx', 'reverse seek to absent key lands on previous')
  c.seek('mm')
  t.equal(c.next(out), 'm', 'reverse seek lands on <= target')
  t.equal(c.next(out), 'lx', 'and continues downwards')
  c.seek('\x00')
  t.equal(c.next(out), undefined, 'reverse seek below everything')
  c.seek('\xff')
  t.equal(c.next(out), 'z', 'reverse seek revives')

  // Bounded.
  const range = { gte: 'd', lt: 'k' }
  c = idx.cursor(range)
  c.seek('f')
  t.deepEqual(drain(c), ['f', 'fx', 'g', 'gx', 'h', 'hx', 'i', 'ix', 'j', 'jx'], 'seek inside range')
  c.seek('a')
  t.deepEqual(drain(c), [], 'seek below range ends the cursor')
  c.seek('k')
  t.deepEqual(drain(c), [], 'seek to the exclusive upper bound ends the cursor')
  c.seek('jx')
  t.deepEqual(drain(c), ['jx'], 'seek to last in-range key')
  c.seek('jy')
  t.deepEqual(drain(c), [], 'seek between the last key and the bound')
  c.seek('d')
  t.equal(c.next(out), 'd', 'seek to the inclusive lower bound')

  c = idx.cursor({ gt: 'd', lte: 'k' }, true)
  t.equal(c.next(out), 'k')
  c.seek('f')
  t.deepEqual(drain(c), ['f', 'ex', 'e', 'dx'], 'reverse seek inside range stops at gt bound')
  c.seek('d')
  t.deepEqual(drain(c), [], 'reverse seek to the exclusive lower bound ends')
  c.seek('z')
  t.deepEqual(drain(c), [], 'reverse seek above range ends')
  c.seek('k')
  t.equal(c.next(out), 'k', 'revived by an in-range seek')
  t.end()
})

// --- snapshots ---

test('ordered-index: snapshot is unchanged by later writes and deletes', (t) => {
  for (const cap of [4, 64]) {
    const idx = new OrderedIndex({ nodeCapacity: cap })
    const model = new Model()
    for (let i = 0; i < 1000; i++) {
      const k = String(i * 7919 % 1000).padStart(4, '0')
      const v: Vals = [i, i * 10, i * 100, 0, i]
      idx.set(k, ...v)
      model.set(k, v)
    }
    const snap = idx.snapshot()
    const frozen = model.entries()
    // Rewrite everything, add more, then delete everything.
    for (let i = 0; i < 1000; i++) idx.set(String(i).padStart(4, '0'), 9, 9, 9, 9, 9)
    for (let i = 1000; i < 1500; i++) idx.set(String(i).padStart(4, '0'), 1, 1, 1, 1, 1)
    t.equal(idx.size, 1500)
    const mid = idx.snapshot()
    for (let i = 0; i < 1500; i++) idx.delete(String(i).padStart(4, '0'))
    t.equal(idx.size, 0, 'live tree emptied')
    t.deepEqual(collectKeys(idx), [])
    t.deepEqual(checkInvariants(idx).nodes, 1, 'emptied tree is a single leaf')
    t.equal(snap.size, 1000)
    sameList(t, collect(snap), frozen, `first snapshot intact, cap ${cap}`)
    sameList(t, collect(snap, undefined, true), frozen.slice().reverse(), 'and in reverse')
    const out = newEntry()
    t.equal(snap.get('0500', out), true)
    t.deepEqual(entryOf(out), model.map.get('0500'))
    t.equal(mid.size, 1500)
    t.equal(collectKeys(mid).length, 1500, 'second snapshot intact')
    t.ok(collect(mid).every(([k, v]) => (Number(k) < 1000 ? v[0] === 9 : v[0] === 1)), 'second snapshot values')
    checkInvariants(snap)
    checkInvariants(mid)
  }
  t.end()
})

test('ordered-index: a live-tree cursor is not disturbed by later writes', (t) => {
  const idx = new OrderedIndex({ nodeCapacity: 4 })
  for (let i = 0; i < 100; i++) idx.set(String(i).padStart(3, '0'), i, 0, 0, 0, 0)
  const c = idx.cursor({ gte: '010' })
  const out = newEntry()
  t.equal(c.next(out), '010')
  for (let i = 0; i < 100; i += 2) idx.delete(String(i).padStart(3, '0'))
  for (let i = 100; i < 200; i++) idx.set(String(i).padStart(3, '0'), i, 0, 0, 0, 0)
  idx.set('011', 999, 0, 0, 0, 0)
  t.equal(c.next(out), '011')
  t.equal(out.seg, 11, 'old value seen')
  const rest = drain(c)
  t.equal(rest.length, 88, 'sees the tree as of cursor creation')
  t.equal(rest[rest.length - 1], '099')
  t.equal(idx.size, 150)
  checkInvariants(idx)
  t.end()
})

test('ordered-index: several snapshots at different times, clear()', (t) => {
  const idx = new OrderedIndex({ nodeCapacity: 4 })
  const snaps: Array<{ view: IndexView; keys: string[] }> = []
  const live: string[] = []
  for (let round = 0; round < 10; round++) {
    for (let i = 0; i < 30; i++) {
      const k = `${round}-${i}`
      idx.set(k, round, i, 0, 0, 0)
      live.push(k)
    }
    if (round % 3 === 2) {
      for (let i = 0; i < 30; i += 3) {
        const k = `${round - 1}-${i}`
        idx.delete(k)
        live.splice(live.indexOf(k), 1)
      }
    }
    snaps.push({ view: idx.snapshot(), keys: live.slice().sort() })
  }
  const beforeClear = idx.snapshot()
  const beforeKeys = collectKeys(beforeClear)
  idx.clear()
  t.equal(idx.size, 0)
  t.deepEqual(collectKeys(idx), [])
  idx.set('after', 1, 1, 1, 1, 1)
  t.deepEqual(collectKeys(idx), ['after'])
  t.deepEqual(collectKeys(beforeClear), beforeKeys, 'snapshot taken before clear survives it')
  let ok = true
  for (const s of snaps) {
    if (JSON.stringify(collectKeys(s.view)) !== JSON.stringify(s.keys) || s.view.size !== s.keys.length) ok = false
    checkInvariants(s.view)
  }
  t.ok(ok, 'every snapshot still shows its own moment')
  const s1 = idx.snapshot()
  const s2 = idx.snapshot()
  sameList(t, collect(s1), collect(s2), 'back-to-back snapshots agree')
  idx.set('z', 0, 0, 0, 0, 0)
  t.equal(s1.has('z'), false)
  t.equal(s2.has('z'), false)
  t.equal(idx.snapshot().has('z'), true)
  t.end()
})

// --- shrinking ---

test('ordered-index: shrinking releases nodes', (t) => {
  const idx = new OrderedIndex({ nodeCapacity: 4 })
  const rnd = mulberry32(7)
  const keys: string[] = []
  for (let i = 0; i < 4000; i++) keys.push(String(i).padStart(5, '0'))
  for (const k of keys) idx.set(k, 0, 0, 0, 0, 0)
  const big = checkInvariants(idx)
  // Delete in random order down to 40 keys.
  for (let i = keys.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1))
    const tmp = keys[i]!
    keys[i] = keys[j]!
    keys[j] = tmp
  }
  for (let i = 0; i < 3960; i++) {
    idx.delete(keys[i]!)
    if (i % 97 === 0) checkInvariants(idx)
  }
  const small = checkInvariants(idx)
  t.equal(idx.size, 40)
  t.ok(big.nodes > 1000, `large tree has ${big.nodes} nodes`)
  t.ok(small.nodes <= 40, `shrunk tree has ${small.nodes} nodes`)
  t.ok(small.height < big.height, `height dropped from ${big.height} to ${small.height}`)
  for (let i = 3960; i < 4000; i++) idx.delete(keys[i]!)
  t.deepEqual(checkInvariants(idx), { height: 1, nodes: 1, leaves: 1, packedLeaves: 0 })
  t.end()
})

// --- model tests ---

function modelTest(name: string, opts: {
  seed: number
  cap?: number
  ops: number
  alphabet: string
  maxLen: number
  checkEvery: number
  invariantsEvery: number
  minHeight: number
  /** Generates keys instead of randomKey(alphabet, maxLen). */
  keyGen?: (rnd: () => number) => string
}): void {
  test(name, (t) => {
    const rnd = mulberry32(opts.seed)
    const keyGen = opts.keyGen
    const key = keyGen !== undefined ? (): string => keyGen(rnd) : (): string => randomKey(rnd, opts.alphabet, opts.maxLen)
    const idx = new OrderedIndex(opts.cap === undefined ? undefined : { nodeCapacity: opts.cap })
    const model = new Model()
    const snaps: Array<{ view: IndexView; model: Model; at: number }> = []
    const prev = newEntry()
    let failure: string | undefined
    let maxHeight = 0
    let checks = 0

    const fail = (op: number, msg: string): void => {
      if (failure === undefined) failure = `op ${op}: ${msg}`
    }

    for (let op = 0; op < opts.ops && failure === undefined; op++) {
      // Grow, churn, then shrink to empty, so splits, merges and root collapse all happen.
      const phase = op / opts.ops
      const pSet = phase < 0.4 ? 0.7 : phase < 0.7 ? 0.45 : 0.15
      const r = rnd()
      if (r < pSet) {
        const k = key()
        const v = randomVals(rnd)
        const want = model.map.get(k)
        const existed = idx.set(k, ...v, prev)
        if (existed !== (want !== undefined)) fail(op, `set(${JSON.stringify(k)}) returned ${existed}`)
        else if (want !== undefined && JSON.stringify(entryOf(prev)) !== JSON.stringify(want)) fail(op, 'set previous')
        model.set(k, v)
      } else if (r < 0.85) {
        // Delete; in the shrink phase mostly existing keys.
        const k = model.keys.length > 0 && rnd() < 0.8
          ? model.keys[Math.floor(rnd() * model.keys.length)]!
          : key()
        const want = model.map.get(k)
        const existed = idx.delete(k, prev)
        if (existed !== (want !== undefined)) fail(op, `delete(${JSON.stringify(k)}) returned ${existed}`)
        else if (want !== undefined && JSON.stringify(entryOf(prev)) !== JSON.stringify(want)) fail(op, 'delete previous')
        model.delete(k)
      } else if (r < 0.91) {
        const k = model.keys.length > 0 && rnd() < 0.7 ? model.keys[Math.floor(rnd() * model.keys.length)]! : key()
        const cur = model.map.get(k)
        const match = cur !== undefined && rnd() < 0.6
        const eSeg = match ? cur[0] : Math.floor(rnd() * 1000)
        const eOff = match ? cur[1] : cur !== undefined && rnd() < 0.5 ? cur[1] + 1 : Math.floor(rnd() * 2 ** 40)
        const v = randomVals(rnd)
        const should = cur !== undefined && cur[0] === eSeg && cur[1] === eOff
        const did = idx.replaceIf(k, eSeg, eOff, ...v)
        if (did !== should) fail(op, `replaceIf(${JSON.stringify(k)}) returned ${did}`)
        if (should) model.set(k, v)
      } else if (r < 0.96) {
        const k = model.keys.length > 0 && rnd() < 0.7 ? model.keys[Math.floor(rnd() * model.keys.length)]! : key()
        const cur = model.map.get(k)
        const match = cur !== undefined && rnd() < 0.6
        const eSeg = match ? cur[0] : cur !== undefined && rnd() < 0.5 ? cur[0] + 1 : 0
        const eOff = match ? cur[1] : cur !== undefined ? cur[1] : 0
        const should = cur !== undefined && cur[0] === eSeg && cur[1] === eOff
        const did = idx.deleteIf(k, eSeg, eOff)
        if (did !== should) fail(op, `deleteIf(${JSON.stringify(k)}) returned ${did}`)
        if (should) model.delete(k)
      } else if (r < 0.995) {
        snaps.push({ view: idx.snapshot(), model: model.copy(), at: op })
        if (snaps.length > 8) snaps.splice(Math.floor(rnd() * snaps.length), 1)
      } else {
        idx.clear()
        model.clear()
      }

      if (op % opts.invariantsEvery === 0) {
        try {
          maxHeight = Math.max(maxHeight, checkInvariants(idx).height)
        } catch (err) {
          fail(op, (err as Error).message)
        }
      }
      if (op % opts.checkEvery === 0 || op === opts.ops - 1) {
        checks++
        const d = diffView(idx, model, rnd, key)
        if (d !== undefined) fail(op, `live: ${d}`)
        for (const s of snaps) {
          const ds = diffView(s.view, s.model, rnd, key)
          if (ds !== undefined) fail(op, `snapshot from op ${s.at}: ${ds}`)
          try {
            checkInvariants(s.view)
          } catch (err) {
            fail(op, `snapshot from op ${s.at}: ${(err as Error).message}`)
          }
        }
      }
    }

    // Finally empty the tree completely and check everything once more.
    for (const k of model.keys.slice()) {
      if (!idx.delete(k)) fail(-1, `final delete(${JSON.stringify(k)})`)
      model.delete(k)
    }
    try {
      t.deepEqual(checkInvariants(idx), { height: 1, nodes: 1, leaves: 1, packedLeaves: 0 }, 'emptied tree collapses to one leaf')
    } catch (err) {
      fail(-1, (err as Error).message)
    }
    const d = diffView(idx, model, rnd, key)
    if (d !== undefined) fail(-1, `empty: ${d}`)
    for (const s of snaps) {
      const ds = diffView(s.view, s.model, rnd, key)
      if (ds !== undefined) fail(-1, `snapshot from op ${s.at} at the end: ${ds}`)
    }

    t.equal(failure, undefined, `${opts.ops} ops, ${checks} full checks, all snapshots consistent`)
    t.ok(maxHeight >= opts.minHeight, `tree reached height ${maxHeight}`)
    t.end()
  })
}

modelTest('ordered-index: model test, nodeCapacity 4', {
  seed: 0xc0ffee,
  cap: 4,
  ops: 4000,
  alphabet: '\x00ab\x7f\xff',
  maxLen: 4,
  checkEvery: 25,
  invariantsEvery: 1,
  minHeight: 4,
})

modelTest('ordered-index: model test, nodeCapacity 5', {
  seed: 12345,
  cap: 5,
  ops: 2000,
  alphabet: '\x00abc\xff',
  maxLen: 4,
  checkEvery: 25,
  invariantsEvery: 1,
  minHeight: 4,
})

modelTest('ordered-index: model test, default capacity', {
  seed: 42,
  ops: 12000,
  alphabet: '\x00abcdefgh\x80\xff',
  maxLen: 5,
  checkEvery: 200,
  invariantsEvery: 50,
  minHeight: 2,
})

test('ordered-index: default capacity, three levels, snapshots under churn', (t) => {
  const rnd = mulberry32(99)
  const idx = new OrderedIndex()
  const model = new Model()
  const key = (): string => randomKey(rnd, 'abcdefghijklmnopqrstuvwxyz', 4)
  let failure: string | undefined
  const snaps: Array<{ view: IndexView; model: Model }> = []
  // Insert enough keys for three levels at capacity 64.
  for (let i = 0; i < 12000; i++) {
    const k = key()
    const v = randomVals(rnd)
    idx.set(k, ...v)
    model.set(k, v)
    if (i % 3000 === 0) snaps.push({ view: idx.snapshot(), model: model.copy() })
  }
  const grown = checkInvariants(idx)
  t.ok(grown.height >= 3, `height ${grown.height} with ${idx.size} keys`)
  // Delete nearly everything in random order, snapshotting on the way.
  const order = model.keys.slice()
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1))
    const tmp = order[i]!
    order[i] = order[j]!
    order[j] = tmp
  }
  for (let i = 0; i < order.length - 10; i++) {
    idx.delete(order[i]!)
    model.delete(order[i]!)
    if (i % 1500 === 0) {
      checkInvariants(idx)
      snaps.push({ view: idx.snapshot(), model: model.copy() })
    }
  }
  const shrunk = checkInvariants(idx)
  t.equal(shrunk.height, 1, 'ten keys fit in the root leaf')
  const d = diffView(idx, model, rnd, key)
  if (d !== undefined) failure = `live: ${d}`
  for (const s of snaps) {
    const ds = diffView(s.view, s.model, rnd, key)
    if (ds !== undefined && failure === undefined) failure = `snapshot: ${ds}`
    checkInvariants(s.view)
  }
  t.equal(failure, undefined, `${snaps.length} snapshots consistent`)
  t.end()
})

// --- key heads: nodes compare numeric heads of the bytes after a node prefix ---

/** Bytewise order of latin1 strings, written independently of `<`. */
function byBytes(x: string, y: string): number {
  return Buffer.compare(Buffer.from(x, 'latin1'), Buffer.from(y, 'latin1'))
}

/**
 * Inserts keys (in the given order), then checks order, get/has of every key
 * and probe, ranges with each of them as the one bound, and seeks; then deletes all
 * keys in a shuffled order, checking the invariants (which include every
 * node's heads and prefix) after each step.
 */
function exerciseKeys(t: test.Test, label: string, keys: string[], probes: string[], cap: number, seed: number): void {
  const idx = new OrderedIndex({ nodeCapacity: cap })
  const model = new Model()
  let failure: string | undefined
  const fail = (msg: string): void => {
    if (failure === undefined) failure = msg
  }
  const invariants = (when: string): void => {
    try {
      checkInvariants(idx)
    } catch (err) {
      fail(`${when}: ${(err as Error).message}`)
    }
  }
  keys.forEach((k, i) => {
    idx.set(k, i, i, 0, 0, i)
    model.set(k, [i, i, 0, 0, i])
    invariants(`insert ${JSON.stringify(k)}`)
  })
  const sorted = model.keys
  const all = [...new Set([...keys, ...probes])]
  const out = newEntry()
  if (JSON.stringify(collectKeys(idx)) !== JSON.stringify(sorted)) fail('forward order')
  if (JSON.stringify(collectKeys(idx, undefined, true)) !== JSON.stringify(sorted.slice().reverse())) fail('reverse order')
  for (const k of all) {
    const want = model.map.get(k)
    if (idx.get(k, out) !== (want !== undefined)) fail(`get(${JSON.stringify(k)})`)
    else if (want !== undefined && out.seg !== want[0]) fail(`get(${JSON.stringify(k)}) value`)
    if (idx.has(k) !== (want !== undefined)) fail(`has(${JSON.stringify(k)})`)
  }
  for (const x of all) {
    for (const range of [{ gte: x }, { gt: x }, { lte: x }, { lt: x }]) {
      const want = sorted.filter((k) => inRange(k, range))
      if (idx.count(range) !== want.length) fail(`count ${JSON.stringify(range)}`)
      const fwd = idx.cursor(range).next(out)
      if (fwd !== want[0]) fail(`first in ${JSON.stringify(range)}: ${JSON.stringify(fwd)}`)
      const rev = idx.cursor(range, true).next(out)
      if (rev !== want[want.length - 1]) fail(`last in ${JSON.stringify(range)}: ${JSON.stringify(rev)}`)
    }
    const c = idx.cursor()
    c.seek(x)
    if (c.next(out) !== sorted.find((k) => k >= x)) fail(`seek(${JSON.stringify(x)})`)
    const r = idx.cursor(undefined, true)
    r.seek(x)
    if (r.next(out) !== sorted.filter((k) => k <= x).pop()) fail(`reverse seek(${JSON.stringify(x)})`)
  }
  const rnd = mulberry32(seed)
  const order = sorted.slice()
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1))
    const tmp = order[i]!
    order[i] = order[j]!
    order[j] = tmp
  }
  for (const k of order) {
    if (!idx.delete(k)) fail(`delete(${JSON.stringify(k)})`)
    model.delete(k)
    invariants(`delete ${JSON.stringify(k)}`)
    if (idx.has(k)) fail(`has(${JSON.stringify(k)}) after delete`)
  }
  if (idx.size !== 0) fail('not empty at the end')
  t.equal(failure, undefined, `${label}, nodeCapacity ${cap}: ${keys.length} keys, ${all.length} probes`)
}

test('ordered-index heads: keys that differ only after the head window', (t) => {
  // Two groups in one node: the node prefix is empty, and within a group the
  // first six bytes are equal, so every comparison falls back to strings.
  const keys: string[] = []
  for (const g of ['a', 'b']) {
    for (let i = 0; i < 40; i++) keys.push(`${g}ZZZZZZZZZZ${String((i * 7) % 40).padStart(2, '0')}`)
    keys.push(`${g}ZZZZZZZZZZ`) // a prefix of the rest of its group
    keys.push(`${g}ZZZZZ`) // exactly the window
  }
  const probes = ['', 'a', 'aZZZZZZZZZZ0', 'aZZZZZZZZZZ405', 'aZZZZZZZZZZ99', 'aZZZZZ\x00', 'aZZZZZY', 'b', 'c']
  for (const cap of [4, 5, 64, 128]) exerciseKeys(t, 'equal heads', keys, probes, cap, 1)
  t.end()
})

test('ordered-index heads: keys that are prefixes of each other, zero padding and length codes', (t) => {
  const keys: string[] = ['', '\x00', '\x00\x00']
  for (let n = 1; n <= 9; n++) {
    keys.push('a'.repeat(n))
    keys.push('a' + '\x00'.repeat(n)) // heads pad with zeros: only the length tells these apart
    keys.push('ab'.padEnd(n + 2, 'c'))
  }
  keys.push('abcdef', 'abcdefg', 'abcdef\x00', 'abcdef\x00\x00', 'abcdeg', 'abcdee\xff\xff\xff\xff')
  const probes = ['a\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00', 'abcde', 'abcdefgh', 'abcdef\x01', 'aa\x00', 'b', '\x00\x00\x00']
  const rnd = mulberry32(3)
  const shuffled = keys.slice().sort(() => rnd() - 0.5)
  for (const cap of [4, 5, 64]) {
    exerciseKeys(t, 'prefixes, sorted inserts', keys.slice().sort(byBytes), probes, cap, 2)
    exerciseKeys(t, 'prefixes, reverse inserts', keys.slice().sort(byBytes).reverse(), probes, cap, 3)
    exerciseKeys(t, 'prefixes, shuffled inserts', shuffled, probes, cap, 4)
  }
  t.end()
})

test('ordered-index heads: \\x00 and \\xff bytes, prefixes of all-\\xff', (t) => {
  const keys: string[] = []
  for (let n = 1; n <= 20; n++) {
    keys.push('\xff'.repeat(n))
    keys.push('\x00'.repeat(n))
    keys.push('p' + '\xff'.repeat(n))
    keys.push('p' + '\xff'.repeat(n) + '\x00')
    keys.push('p\x00' + '\xff'.repeat(n % 7) + String.fromCharCode(n))
  }
  const probes = ['\xff'.repeat(21), '\xff'.repeat(7) + '\x00', 'p\xff\xff\xfe', 'q', 'p', 'p\x00', 'o\xff']
  const rnd = mulberry32(5)
  for (const cap of [4, 64]) {
    exerciseKeys(t, 'edge bytes, sorted inserts', keys.slice().sort(byBytes), probes, cap, 6)
    exerciseKeys(t, 'edge bytes, shuffled inserts', keys.slice().sort(() => rnd() - 0.5), probes, cap, 7)
  }
  t.end()
})

test('ordered-index heads: non-latin1 keys keep UTF-16 code unit order', (t) => {
  // Outside the store's contract (keys are latin1), but heads must not break it.
  const keys = ['\u0100', '\u0100\u0100', '\uffff', '\uffff\uffff', '\uffff\uffffa', 'a\u0100', 'a\xff', 'a\u0101b',
    'a\uffff\uffff', 'a\uffff\uffff\u0000', 'abcdef\u0100', 'abcdef\u0101', 'abcdefg\u0100', '\xff\u0100', '\xff\xff']
  const probes = ['\u00ff', '\u0101', 'a\u00ff\u0100', 'a\uffff', 'a\uffff\uffff\uffff', 'b']
  for (const cap of [4, 64]) {
    const idx = new OrderedIndex({ nodeCapacity: cap })
    keys.forEach((k, i) => idx.set(k, i, 0, 0, 0, 0))
    t.deepEqual(collectKeys(idx), keys.slice().sort(), `code unit order, nodeCapacity ${cap}`)
    exerciseKeys(t, 'non-latin1', keys, probes, cap, 8)
    const many: string[] = []
    for (let i = 0; i < 300; i++) many.push('\uffff'.repeat(1 + (i % 9)) + String.fromCharCode(0xfff0 + (i % 16), i))
    exerciseKeys(t, 'non-latin1 prefixes of \\uffff', [...new Set(many)], ['\uffff'.repeat(12), '\uffff\ufff5'], cap, 9)
  }
  t.end()
})

test('ordered-index heads: prefixes adapt as node ranges widen and narrow', (t) => {
  for (const cap of [4, 5, 64]) {
    const idx = new OrderedIndex({ nodeCapacity: cap })
    const model = new Model()
    let failure: string | undefined
    const step = (what: string): void => {
      if (failure !== undefined) return
      try {
        checkInvariants(idx)
      } catch (err) {
        failure = `${what}: ${(err as Error).message}`
      }
    }
    const put = (k: string, v: number): void => {
      idx.set(k, v, v, v, v, v)
      model.set(k, [v, v, v, v, v])
      step(`set ${JSON.stringify(k)}`)
    }
    const del = (k: string): void => {
      idx.delete(k)
      model.delete(k)
      step(`delete ${JSON.stringify(k)}`)
    }
    // Long shared prefixes: nodes skip them.
    for (let i = 0; i < 300; i++) put(`user:00000000${String(i).padStart(4, '0')}`, i)
    const snapNarrow = idx.snapshot()
    const narrowModel = model.copy()
    // Keys outside the edge leaves' prefixes: below, above, and in between groups.
    for (let i = 0; i < 40; i++) put(`a${i}`, i)
    for (let i = 0; i < 40; i++) put(`zz${String(i).padStart(3, '0')}`, i)
    for (let i = 0; i < 60; i++) put(`user:00000001${String(i).padStart(4, '0')}`, i)
    for (let i = 0; i < 60; i++) put(`user:1${i}`, i)
    const snapWide = idx.snapshot()
    const wideModel = model.copy()
    // Delete whole groups, so that leaves and internal nodes borrow across
    // groups and merge with neighbours of a different prefix.
    for (let i = 0; i < 300; i += 2) del(`user:00000000${String(i).padStart(4, '0')}`)
    for (let i = 0; i < 40; i++) del(`a${i}`)
    for (let i = 1; i < 300; i += 2) del(`user:00000000${String(i).padStart(4, '0')}`)
    for (let i = 59; i >= 0; i--) del(`user:1${i}`)
    // Refill in between, then drain everything.
    for (let i = 0; i < 100; i++) put(`user:00000000${String(i * 3).padStart(4, '0')}`, i)
    for (const k of model.keys.slice()) del(k)
    const rnd = mulberry32(11)
    const key = (): string => randomKey(rnd, 'a0:esruz', 14)
    t.equal(failure, undefined, `nodeCapacity ${cap}: invariants (heads, prefixes) hold after every step`)
    t.equal(diffView(snapNarrow, narrowModel, rnd, key), undefined, 'snapshot before the range widened')
    t.equal(diffView(snapWide, wideModel, rnd, key), undefined, 'snapshot before the deletes')
    checkInvariants(snapNarrow)
    checkInvariants(snapWide)
    t.equal(idx.size, 0)
  }
  t.end()
})

const NAMESPACES = ['', 'ns\x00', 'ns\x00\x00', 'ns\x01', 'user:', 'user:00000000', '\xff\xff\xff']

/** Keys with long shared prefixes, equal bytes past the head window, \x00/\xff runs, and prefixes of each other. */
function structuredKey(rnd: () => number): string {
  const ns = NAMESPACES[Math.floor(rnd() * NAMESPACES.length)]!
  const r = rnd()
  if (r < 0.3) return ns + String(Math.floor(rnd() * 3000)).padStart(12, '0')
  if (r < 0.5) return `${ns}${rnd() < 0.5 ? 'k' : 'j'}ZZZZZZZZ${randomKey(rnd, 'ab\x00\xff', 3)}`
  if (r < 0.75) return ns + randomKey(rnd, '\x00\xff', 9)
  return ns + randomKey(rnd, 'a', 9)
}

modelTest('ordered-index heads: model test with structured keys, nodeCapacity 4', {
  seed: 0xbeef,
  cap: 4,
  ops: 5000,
  alphabet: '',
  maxLen: 0,
  checkEvery: 50,
  invariantsEvery: 1,
  minHeight: 4,
  keyGen: structuredKey,
})

modelTest('ordered-index heads: model test with structured keys, nodeCapacity 7', {
  seed: 77,
  cap: 7,
  ops: 5000,
  alphabet: '',
  maxLen: 0,
  checkEvery: 50,
  invariantsEvery: 1,
  minHeight: 3,
  keyGen: structuredKey,
})

modelTest('ordered-index heads: model test with structured keys, default capacity', {
  seed: 2024,
  ops: 30000,
  alphabet: '',
  maxLen: 0,
  checkEvery: 500,
  invariantsEvery: 25,
  minHeight: 2,
  keyGen: structuredKey,
})

test('ordered-index: reused leaf arrays never reach snapshots', (t) => {
  // Growing, shrinking and splitting leaves hands their old value arrays to a
  // pool for reuse; snapshots taken in between must keep their contents.
  for (const cap of [4, 16, 64]) {
    const rnd = mulberry32(cap)
    const idx = new OrderedIndex({ nodeCapacity: cap })
    const model = new Model()
    const snaps: Array<{ view: IndexView; entries: Array<[string, Vals]> }> = []
    for (let op = 0; op < 6000; op++) {
      const k = String(Math.floor(rnd() * 3000)).padStart(6, '0')
      if (rnd() < 0.65) {
        const v: Vals = [op, op * 2, op * 3, op * 4, op * 5]
        idx.set(k, ...v)
        model.set(k, v)
      } else {
        idx.delete(k)
        model.delete(k)
      }
      if (op % 500 === 250) snaps.push({ view: idx.snapshot(), entries: model.entries() })
    }
    checkInvariants(idx)
    let intact = 0
    for (const s of snaps) {
      checkInvariants(s.view)
      if (JSON.stringify(collect(s.view)) === JSON.stringify(s.entries)) intact++
    }
    t.equal(intact, snaps.length, `nodeCapacity ${cap}: ${snaps.length} snapshots intact`)
    sameList(t, collect(idx), model.entries(), 'live tree matches the model')
  }
  t.end()
})

// --- lookup() then set(): the second descent is skipped only while the path is the tree's ---

test('ordered-index: set() after lookup() of the same key, with any change of the tree in between, matches the model', (t) => {
  for (const cap of [4, 5, 8]) {
    const rnd = mulberry32(4242 + cap)
    const key = (): string => randomKey(rnd, 'abc', 5)
    const idx = new OrderedIndex({ nodeCapacity: cap })
    const model = new Model()
    const out = newEntry()
    const prev = newEntry()
    const snaps: Array<{ view: IndexView; model: Model }> = []
    let failure: string | undefined
    for (let step = 0; step < 6000 && failure === undefined; step++) {
      const k = key()
      const found = idx.lookup(k, out)
      const want = model.map.get(k)
      if (found !== (want !== undefined) || (want !== undefined && JSON.stringify(entryOf(out)) !== JSON.stringify(want))) {
        failure = `step ${step}: lookup(${JSON.stringify(k)}) found=${found}`
        break
      }
      // Between the lookup and the set: nothing, or a change or descent elsewhere in the tree.
      const between = Math.floor(rnd() * 9)
      const other = key()
      const v = randomVals(rnd)
      if (between === 1) {
        idx.set(other, ...v)
        model.set(other, v)
      } else if (between === 2) {
        idx.delete(other)
        model.delete(other)
      } else if (between === 3) {
        snaps.push({ view: idx.snapshot(), model: model.copy() })
      } else if (between === 4) {
        idx.get(other, out) // a plain get records no path and keeps the finger
      } else if (between === 5) {
        idx.lookup(other, out) // moves the finger to another key
      } else if (between === 6) {
        idx.replaceIf(other, v[0], v[1], ...v)
        const cur = model.map.get(other)
        if (cur !== undefined && cur[0] === v[0] && cur[1] === v[1]) model.set(other, v)
      } else if (between === 7 && rnd() < 0.02) {
        idx.clear()
        model.clear()
      }
      const w = randomVals(rnd)
      if (rnd() < 0.15) {
        const had = idx.delete(k, prev)
        if (had !== model.map.has(k)) failure = `step ${step}: delete(${JSON.stringify(k)}) returned ${had}`
        model.delete(k)
      } else {
        const existed = idx.set(k, ...w, prev)
        const before = model.map.get(k)
        if (existed !== (before !== undefined)) failure = `step ${step}: set(${JSON.stringify(k)}) returned ${existed}`
        else if (before !== undefined && JSON.stringify(entryOf(prev)) !== JSON.stringify(before)) failure = `step ${step}: previous entry differs`
        model.set(k, w)
      }
      if (failure === undefined && step % 97 === 0) failure = diffView(idx, model, rnd, key)
    }
    t.equal(failure, undefined, `capacity ${cap}: 6000 lookup/set pairs with changes in between`)
    t.equal(diffView(idx, model, rnd, key), undefined, `capacity ${cap}: final contents`)
    checkInvariants(idx)
    for (const s of snaps.slice(-20)) {
      if (diffView(s.view, s.model, rnd, key) !== undefined) t.fail(`capacity ${cap}: a snapshot saw a later write`)
    }
  }
  t.end()
})

test('ordered-index: set() after lookup() and a bulk load does not write into the old tree', (t) => {
  const idx = new OrderedIndex({ nodeCapacity: 4 })
  const out = newEntry()
  t.equal(idx.lookup('m', out), false)
  const loader = idx.bulkLoad()
  for (const k of ['a', 'b', 'c', 'd', 'e', 'f', 'x', 'y', 'z']) loader.add(k, 1, 2, 3, 0, 4)
  loader.finish()
  t.equal(idx.set('m', 9, 9, 9, 0, 9), false)
  t.deepEqual(collectKeys(idx), ['a', 'b', 'c', 'd', 'e', 'f', 'm', 'x', 'y', 'z'])
  t.equal(idx.get('m', out), true)
  t.deepEqual(entryOf(out), [9, 9, 9, 0, 9])
  checkInvariants(idx)
  t.end()
})
