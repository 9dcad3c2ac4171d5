/**
 * The in-memory ordered index: key (latin1 string, one char per byte) ->
 * record location. It is a copy-on-write B+tree.
 *
 * Why a B+tree and not a hash map plus a sorted structure: range cursors and
 * point lookups must both be O(log n), and a single structure halves memory.
 *
 * Why typed-array leaves: at 20M keys, one JS object per entry would cost
 * ~70+ bytes of headers and pointers each and give the GC 20M objects to
 * trace. A leaf instead holds its keys in one `string[]` (or, until a write
 * changes a leaf that an open bulk-loaded, as packed bytes: see PackedKeys)
 * and all numbers of all its entries in one `Float64Array`: each entry's key head (see below),
 * then the five entry fields. The numbers then live off the JS heap, are
 * never traced, and cost exactly 48 bytes per entry. A leaf's Float64Array
 * grows in chunks of CHUNK entries instead of being allocated at full node
 * capacity, so half-full leaves (the norm right after splits, and for
 * sequential inserts) do not pay for their empty half.
 *
 * Why key heads: a binary search over `string[]` chases one pointer per step
 * to a string stored elsewhere in memory, so at a million keys nearly every
 * comparison is a cache miss. Each node therefore also keeps, for each of its
 * keys, a number: the HEAD_BYTES bytes of the key that follow the node's
 * prefix (the chars that all keys which can reach the node share),
 * zero-padded and packed big-endian into a double together with a short
 * length code (see headOf). head(x) < head(y) implies x < y, so searches
 * compare these numbers, which lie next to each other in memory, and read a
 * key string only where heads are equal; and equal heads whose window holds
 * the whole rest of both keys mean equal keys, so lookups of keys that end
 * within the window read no string at all.
 *
 * Where the prefix comes from: every string in [lo, hi) starts with the
 * common prefix of lo and hi, so a node whose separator bounds lo <= k < hi
 * both exist uses that prefix, and a key that reached the node by descent
 * needs no check. Nodes with an unbounded side (on the leftmost and rightmost
 * path) use the common prefix of their own first and last keys and compare a
 * search key with it first (`check`). A node's bounds change only when it
 * splits (narrower) or borrows from or absorbs a sibling (wider); fitPrefix
 * then recomputes its heads if the prefix must shrink, or may grow and the
 * heads have ties. Everything else keeps heads valid incrementally.
 *
 * Why copy-on-write with owner tokens (as Immutable.js `ownerID` or Clojure
 * transients): snapshots must be O(1) and must never observe later writes.
 * Every node remembers the token of the tree "generation" that created it.
 * `snapshot()` hands out the current root and starts a new generation, so all
 * nodes reachable from a snapshot carry an old token. A write clones a node
 * only when its token is not the current one, and mutates it in place
 * otherwise. Without snapshots writes therefore never copy, and the first
 * write after a snapshot copies one root-to-leaf path (plus a sibling when it
 * rebalances). A snapshot is simply `{root, size}`; dropping it lets the GC
 * reclaim whatever only it still referenced.
 *
 * Why no sibling pointers: with path copying, a sibling pointer would have to
 * be updated in a node that belongs to a snapshot. Cursors instead keep a
 * stack of (node, child index) per level, which costs O(height) memory and
 * amortised O(1) per step.
 *
 * Separators follow the classic B+tree rule: in an internal node,
 * children[i] holds keys k with keys[i-1] <= k < keys[i]. Deleting a key never
 * rewrites separators (they only need to stay valid bounds), which keeps
 * deletes to a single path.
 *
 * Hot paths (get, set) avoid closures and per-call allocations: the write path
 * reuses per-tree path arrays, nodes share one hidden class (leaf and internal
 * nodes differ only in which arrays are empty) so property accesses stay
 * monomorphic, and results are written into caller-provided objects.
 *
 * Keys are expected to be latin1 strings (one char per byte, so `<` is
 * bytewise order). Other strings still work, in UTF-16 code unit order: a
 * head saturates at the first code unit above 0xff.
 */

export interface IndexEntry {
  seg: number
  offset: number
  size: number
  expires: number
  seq: number
}

export function newEntry(): IndexEntry {
  return { seg: 0, offset: 0, size: 0, expires: 0, seq: 0 }
}

/** If both gte and gt are given, gte wins; lte likewise beats lt. `undefined` bounds are ignored. */
export interface KeyRange {
  gt?: string
  gte?: string
  lt?: string
  lte?: string
}

export interface IndexCursor {
  /** Returns the next key within the range (ascending, or descending if reverse) and fills `out`; undefined at the end. */
  next(out: IndexEntry): string | undefined
  /**
   * next() without making the key: fills `out` and returns true, or false at
   * the end; key() or keyBuffer() then give the key, only where it is needed
   * (a leaf loaded at open holds its keys as bytes, so a key costs a copy).
   */
  advance(out: IndexEntry): boolean
  /** The key of the entry that next() or advance() returned last. */
  key(): string
  /** That key's bytes, in a new Buffer the caller owns. */
  keyBuffer(): Buffer
  /**
   * Repositions: the following next() yields the first key >= target (forward) / <= target (reverse)
   * that is also inside the range; a target outside the range makes the cursor end (as abstract-level
   * specifies for iterator.seek). seek may be called after the end was reached and revives the cursor.
   */
  seek(target: string): void
}

export interface IndexView {
  readonly size: number
  /** Fills `out` when found. */
  get(key: string, out: IndexEntry): boolean
  has(key: string): boolean
  cursor(range?: KeyRange, reverse?: boolean): IndexCursor
  /** Count of keys within range (O(log n + k / nodeCapacity)); used for approximate sizes. */
  count(range?: KeyRange): number
  first(): string | undefined
  last(): string | undefined
}

export const DEFAULT_NODE_CAPACITY = 64
const MIN_NODE_CAPACITY = 4
const MAX_NODE_CAPACITY = 4096
/** Numbers per entry in a leaf's Float64Array: its head, then FIELDS numbers (seg, offset, size, expires, seq). */
const STRIDE = 6
const FIELDS = 5
/** Leaf value arrays grow by this many entries (must be a power of two). */
const CHUNK = 8
const CHUNK_SHIFT = 3
/** Key bytes after the node prefix packed into a head: 6 bytes = 48 bits, exact in a double. */
const HEAD_BYTES = 6

/** A node's prefix, for comparing search keys with it (immutable, so nodes can share it). */
class PrefixCheck {
  /** The prefix. */
  readonly pre: string
  /** The least string above every string that starts with `pre`; '' if there is none. */
  readonly end: string

  constructor(pre: string, end: string) {
    this.pre = pre
    this.end = end
  }
}

class Node {
  owner: object
  readonly leaf: boolean
  keys: string[]
  /**
   * Leaves: room for R = length / STRIDE entries (R >= keys.length): the
   * heads of all entries first, nums[0 .. R), so that a search touches few
   * cache lines, then the fields of entry i at nums[R + i * FIELDS ..] (seg,
   * offset, size, expires, seq). Internal nodes: empty.
   */
  nums: Float64Array
  /**
   * Internal nodes only: the head of each separator (same length as keys).
   * A plain array of doubles rather than a typed array, because allocating
   * typed arrays is slow and every internal node copied on the write path
   * after a snapshot needs a fresh one.
   */
  sepHeads: number[]
  /** Internal nodes only; length === keys.length + 1. */
  children: Node[]
  /** Length of the prefix the heads skip: every key of the node starts with the same `plen` chars. */
  plen: number
  /**
   * Set when a search key must be compared with the prefix before its head is
   * used. Null when plen is 0, or when the node's separator bounds both exist
   * and share the prefix, so that any key that descends here shares it.
   */
  check: PrefixCheck | null
  /**
   * Leaves built by a bulk load only: the leaf's keys as bytes, while no
   * string has been made for them (see PackedKeys); `keys` is then the
   * frozen UNPACKED_LATER placeholder. Null for every other node.
   */
  packed: PackedKeys | null

  constructor(
    owner: object,
    leaf: boolean,
    keys: string[],
    nums: Float64Array,
    sepHeads: number[],
    children: Node[],
    plen: number,
    check: PrefixCheck | null,
    packed: PackedKeys | null,
  ) {
    this.owner = owner
    this.leaf = leaf
    this.keys = keys
    this.nums = nums
    this.sepHeads = sepHeads
    this.children = children
    this.plen = plen
    this.check = check
    this.packed = packed
  }
}

/**
 * The keys of a bulk-loaded leaf, kept as the bytes they were loaded from
 * until something needs them as strings.
 *
 * Why: opening a database bulk-loads every key. One heap string per key was
 * most of an open's cost (making a million strings, then the garbage
 * collector copying each of them twice as they survive), and each string
 * costs ~40 bytes where its bytes cost their length plus a 4-byte offset.
 * A point lookup compares a search key with these bytes directly (heads
 * first, as in any leaf) and cursors make a key only when asked for it, so
 * reads never need the strings; a write to the leaf, or a rebalance with it,
 * turns the leaf into an ordinary one first (`unpack`, once per leaf: ~56
 * strings).
 * Key k's bytes are bytes[ends[k] .. ends[k + 1]); `bytes` is shared by many
 * leaves and is freed once all of them are unpacked.
 */
class PackedKeys {
  /** Changed (with `ends`, `count`) only by the bulk load that builds the leaf. */
  bytes: Buffer
  /** count + 1 offsets into `bytes` (a view into a shared buffer, possibly longer). */
  readonly ends: Uint32Array
  count: number

  constructor(bytes: Buffer, ends: Uint32Array, count: number) {
    this.bytes = bytes
    this.ends = ends
    this.count = count
  }
}

/** `keys` of a packed leaf: frozen, so a write that skipped unpack() throws instead of corrupting the leaf. */
const UNPACKED_LATER: string[] = Object.freeze([]) as unknown as string[]

/** Makes a packed leaf ordinary: one string per key. */
function unpack(node: Node): void {
  node.keys = keysOfNode(node)
  node.packed = null
}

/**
 * Every write to a leaf gets it through here (findPath, and rebalance for
 * the siblings it borrows from or merges with). Reads (lookups, cursors)
 * use packed leaves as they are (countOf, keyAt): so a leaf is unpacked
 * only by a write, which the heap guard admits, and a read-mostly store
 * keeps its keys packed.
 */
function ensureKeys(node: Node): void {
  if (node.packed !== null) unpack(node)
}

/** The number of keys in a leaf, packed or not. */
function countOf(leaf: Node): number {
  return leaf.packed !== null ? leaf.packed.count : leaf.keys.length
}

/** Key i of a leaf, packed or not (a new string for a packed leaf: cursors read leaves without unpacking them). */
function keyAt(leaf: Node, i: number): string {
  const packed = leaf.packed
  return packed !== null ? packed.bytes.latin1Slice(packed.ends[i]!, packed.ends[i + 1]!) : leaf.keys[i]!
}

/** Key i of a leaf compared with `key`: negative if it sorts before, 0 if equal, positive after. */
function compareKeyAt(leaf: Node, i: number, key: string): number {
  const packed = leaf.packed
  if (packed === null) {
    const k = leaf.keys[i]!
    return k < key ? -1 : k > key ? 1 : 0
  }
  return -compareWithBytes(key, packed.bytes, packed.ends[i]!, packed.ends[i + 1]!)
}

/** First index of a leaf whose key is >= key (or > key if `after`); key need not lie within the leaf's bounds. */
function leafBound(leaf: Node, key: string, after: boolean): number {
  const packed = leaf.packed
  if (packed === null) return after ? upperBound(leaf.keys, key) : lowerBound(leaf.keys, key)
  let lo = 0
  let hi = packed.count
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    const c = compareWithBytes(key, packed.bytes, packed.ends[mid]!, packed.ends[mid + 1]!)
    if (after ? c >= 0 : c > 0) lo = mid + 1
    else hi = mid
  }
  return lo
}

/** The keys of a node, without unpacking it (new strings for a packed leaf). */
function keysOfNode(node: Node): string[] {
  const packed = node.packed
  if (packed === null) return node.keys
  const out: string[] = []
  for (let i = 0; i < packed.count; i++) out.push(packed.bytes.latin1Slice(packed.ends[i]!, packed.ends[i + 1]!))
  return out
}

// Shared placeholders so both node kinds have the same shape. Never mutated:
// leaves never touch `children` and `sepHeads`, internal nodes never `nums`.
const NO_CHILDREN: Node[] = []
const NO_HEADS: number[] = []
const NO_NUMS = new Float64Array(0)

/** An empty array whose elements are stored as unboxed doubles from the start (heads are rarely small integers). */
const EMPTY_DOUBLES: number[] = [0.5]
EMPTY_DOUBLES.pop()

/** Entries a leaf's value array should have room for when holding n entries: at least one spare slot below capacity. */
function roomFor(n: number, cap: number): number {
  const c = ((n >>> CHUNK_SHIFT) + 1) << CHUNK_SHIFT
  return c < cap ? c : cap
}

function newLeaf(owner: object, cap: number): Node {
  return new Node(owner, true, [], takeNums(roomFor(0, cap)), NO_HEADS, NO_CHILDREN, 0, null, null)
}

/** An internal node; `sepHeads` must be made valid by the caller (see resetHeads). */
function newInternal(owner: object, keys: string[], sepHeads: number[], children: Node[]): Node {
  return new Node(owner, false, keys, NO_NUMS, sepHeads, children, 0, null, null)
}

function cloneNode(node: Node, owner: object, cap: number): Node {
  if (!node.leaf) {
    const keys = node.keys.slice()
    const heads = node.sepHeads.slice()
    return new Node(owner, false, keys, NO_NUMS, heads, node.children.slice(), node.plen, node.check, null)
  }
  const n = node.keys.length
  const nums = relayout(node.nums, 0, n, roomFor(n, cap))
  return new Node(owner, true, node.keys.slice(), nums, NO_HEADS, NO_CHILDREN, node.plen, node.check, null)
}

// --- key heads ---

/** 256 ** (HEAD_BYTES - r): shifts the r bytes of a short remainder to the top of the head. */
const SHORT_SHIFT = [281474976710656, 1099511627776, 4294967296, 16777216, 65536, 256, 1]
/** Length code of a head whose window does not hold the whole rest of the key. */
const LEN_OPEN = 7

/**
 * The head of `key` in a node whose keys share their first p chars: the
 * HEAD_BYTES chars from position p, zero-padded past the end of the key, as
 * a big-endian number, times 8, plus a length code: the number of chars
 * after p if at most HEAD_BYTES, else LEN_OPEN. For keys sharing the first p
 * chars, x < y implies head(x) <= head(y), so a smaller head means a smaller
 * key; and equal heads with a length code below LEN_OPEN mean equal keys (the
 * window holds both keys' whole rest). At most 2^51, so exact in a double.
 */
function headOf(key: string, p: number): number {
  const n = key.length
  const r = n - p
  if (r >= HEAD_BYTES) {
    const c0 = key.charCodeAt(p)
    const c1 = key.charCodeAt(p + 1)
    const c2 = key.charCodeAt(p + 2)
    const c3 = key.charCodeAt(p + 3)
    const c4 = key.charCodeAt(p + 4)
    const c5 = key.charCodeAt(p + 5)
    if ((c0 | c1 | c2 | c3 | c4 | c5) <= 0xff) {
      const lenCode = r > HEAD_BYTES ? LEN_OPEN : HEAD_BYTES
      return ((c0 << 16) | (c1 << 8) | c2) * 0x8000000 + ((((c3 << 16) | (c4 << 8) | c5) << 3) | lenCode)
    }
    return headSlow(key, p)
  }
  if (r <= 0) return 0
  let a = 0
  let or = 0
  for (let j = p; j < n; j++) {
    const c = key.charCodeAt(j)
    or |= c
    a = a * 256 + c
  }
  if (or > 0xff) return headSlow(key, p)
  return a * SHORT_SHIFT[r]! * 8 + r
}

/** headOf of the key bytes[s .. e) (a latin1 string's chars are its bytes). */
function headOfBytes(bytes: Uint8Array, s: number, e: number, p: number): number {
  const q = s + p
  const r = e - q
  if (r >= HEAD_BYTES) {
    const lenCode = r > HEAD_BYTES ? LEN_OPEN : HEAD_BYTES
    return ((bytes[q]! << 16) | (bytes[q + 1]! << 8) | bytes[q + 2]!) * 0x8000000 + ((((bytes[q + 3]! << 16) | (bytes[q + 4]! << 8) | bytes[q + 5]!) << 3) | lenCode)
  }
  if (r <= 0) return 0
  let a = 0
  for (let j = q; j < e; j++) a = a * 256 + bytes[j]!
  return a * SHORT_SHIFT[r]! * 8 + r
}

/**
 * Compares string `key` with the key bytes[s .. e) in string order:
 * negative, 0 or positive. Their first `from` chars must be known equal.
 */
function compareWithBytes(key: string, bytes: Uint8Array, s: number, e: number, from = 0): number {
  const kn = key.length
  const bn = e - s
  const n = kn < bn ? kn : bn
  for (let j = from; j < n; j++) {
    const d = key.charCodeAt(j) - bytes[s + j]!
    if (d !== 0) return d
  }
  return kn - bn
}

/**
 * headOf written plainly; also handles chars above 0xff (non-latin1 keys):
 * from the first such char on, every window byte is 0xff and the length code
 * is LEN_OPEN. That keeps heads monotone in string (UTF-16 code unit) order
 * and never claims equality.
 */
function headSlow(key: string, p: number): number {
  const n = key.length
  let h = 0
  let big = false
  for (let j = p; j < p + HEAD_BYTES; j++) {
    let c = j < n ? key.charCodeAt(j) : 0
    if (big || c > 0xff) {
      big = true
      c = 0xff
    }
    h = h * 256 + c
  }
  const r = n - p
  return h * 8 + (big || r > HEAD_BYTES ? LEN_OPEN : r < 0 ? 0 : r)
}

/** Whether equal heads imply equal keys: the length code of head h is below LEN_OPEN. */
function headIsExact(h: number): boolean {
  return h - 8 * Math.floor(h * 0.125) !== LEN_OPEN
}

/** Length of the longest common prefix of a and b. */
function lcp(a: string, b: string): number {
  const n = a.length < b.length ? a.length : b.length
  let i = 0
  while (i < n && a.charCodeAt(i) === b.charCodeAt(i)) i++
  return i
}

/** Prefix strings longer than this are built with slice (a view; slower to compare, still correct). */
const FLAT_MAX = 4096

function charCodes(s: string, end: number): number[] {
  const codes = new Array<number>(end)
  for (let i = 0; i < end; i++) codes[i] = s.charCodeAt(i)
  return codes
}

/**
 * The first `end` chars of s as a flat string. `slice` would return a view
 * into s (from 13 chars on), and comparing such a view is much slower.
 */
function flatPrefix(s: string, end: number): string {
  return end > FLAT_MAX ? s.slice(0, end) : String.fromCharCode(...charCodes(s, end))
}

/** The least string above every string that starts with `pre` ('' if there is none). */
function prefixEnd(pre: string): string {
  let k = pre.length
  while (k > 0 && pre.charCodeAt(k - 1) === 0xffff) k--
  if (k === 0) return ''
  if (k > FLAT_MAX) return pre.slice(0, k - 1) + String.fromCharCode(pre.charCodeAt(k - 1) + 1)
  const codes = charCodes(pre, k)
  codes[k - 1]!++
  return String.fromCharCode(...codes)
}

/**
 * 0 if key starts with the checked prefix, else -1 if it sorts before every
 * key of the node, 1 if after. Two string comparisons are much cheaper than
 * comparing the prefix char by char.
 */
function prefixSide(check: PrefixCheck, key: string): number {
  if (key < check.pre) return -1
  const end = check.end
  return end !== '' && key >= end ? 1 : 0
}

/** Sets the node's prefix length and whether (and against what) search keys are checked. */
function setPrefix(node: Node, p: number, checked: boolean): void {
  node.plen = p
  if (checked && p !== 0) {
    const pre = flatPrefix(node.keys[0]!, p)
    node.check = new PrefixCheck(pre, prefixEnd(pre))
  } else {
    node.check = null
  }
}

/**
 * Chooses the node's prefix (from its bounds lo <= k < hi, or from its own
 * keys when a bound is missing) and recomputes all its heads.
 */
function resetHeads(node: Node, lo: string | undefined, hi: string | undefined): void {
  const keys = node.keys
  const n = keys.length
  const bounded = lo !== undefined && hi !== undefined
  const p = bounded ? lcp(lo, hi) : n === 0 ? 0 : lcp(keys[0]!, keys[n - 1]!)
  setPrefix(node, p, !bounded)
  if (node.leaf) {
    const heads = node.nums
    for (let i = 0; i < n; i++) heads[i] = headOf(keys[i]!, p)
  } else {
    const heads = node.sepHeads
    for (let i = 0; i < n; i++) heads[i] = headOf(keys[i]!, p)
  }
}

/** Whether two neighbouring keys of the node have equal heads (so searches there compare strings). */
function hasEqualHeads(node: Node): boolean {
  const n = node.keys.length
  if (node.leaf) {
    const heads = node.nums
    for (let i = 1; i < n; i++) if (heads[i] === heads[i - 1]) return true
  } else {
    const heads = node.sepHeads
    for (let i = 1; i < n; i++) if (heads[i] === heads[i - 1]) return true
  }
  return false
}

/**
 * Revalidates the node's prefix after its bounds changed to lo <= k < hi
 * (narrowed by a split, or widened by a borrow or merge). Each head must have
 * been computed with the node's current prefix length; a key that does not
 * share the prefix is allowed (then the bounds cannot share it either, since
 * the key lies between them). Recomputing heads reads every key string, a
 * cache miss each, so it is done only when needed: when a bound is missing
 * (the node is on an edge of the tree), when the bounds do not share the
 * prefix, or when they allow a longer prefix and the current heads have ties.
 */
function fitPrefix(node: Node, lo: string | undefined, hi: string | undefined): void {
  if (lo === undefined || hi === undefined) {
    resetHeads(node, lo, hi)
    return
  }
  const q = lcp(lo, hi)
  const p = node.plen
  if (q < p || (q > p && hasEqualHeads(node))) resetHeads(node, lo, hi)
  // Every key shares both the first q and the first p chars, so the bounds share the prefix.
  else node.check = null
}

/** Whether inserting `key` into a node keeps its heads valid (a checked node's keys must all share its prefix). */
function keepsPrefix(node: Node, key: string): boolean {
  return node.check === null || prefixSide(node.check, key) === 0
}

// --- searches ---

/** The child of internal node `node` to descend into for `key` (the first separator > key). */
function childIndex(node: Node, key: string): number {
  const keys = node.keys
  const p = node.plen
  const check = node.check
  if (check !== null) {
    const c = prefixSide(check, key)
    if (c !== 0) return c < 0 ? 0 : keys.length
  }
  const hk = headOf(key, p)
  const exact = headIsExact(hk)
  const heads = node.sepHeads
  let lo = 0
  let hi = keys.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    const h = heads[mid]!
    if (hk < h) hi = mid
    else if (hk > h) lo = mid + 1
    else if (!exact && key < keys[mid]!) hi = mid
    else lo = mid + 1 // key >= keys[mid] (equal if the heads are exact)
  }
  return lo
}

/**
 * The index of `key` in `leaf` if present, else ~i where i is the index it
 * would be inserted at. `key` must lie within the leaf's bounds (reached by
 * descent); a string is read only where the heads are equal.
 */
function leafFind(leaf: Node, key: string): number {
  if (leaf.packed !== null) return packedFind(leaf, leaf.packed, key)
  const keys = leaf.keys
  const n = keys.length
  const p = leaf.plen
  const check = leaf.check
  if (check !== null) {
    const c = prefixSide(check, key)
    if (c !== 0) return c < 0 ? -1 : ~n
  }
  const hk = headOf(key, p)
  const exact = headIsExact(hk)
  const heads = leaf.nums
  let lo = 0
  let hi = n
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    const h = heads[mid]!
    if (h < hk) lo = mid + 1
    else if (h > hk) hi = mid
    else {
      // Equal heads: equal keys if the heads are exact, else the strings decide.
      if (exact) return mid
      const k = keys[mid]!
      if (k === key) return mid
      if (k < key) lo = mid + 1
      else hi = mid
    }
  }
  return ~lo
}

/** leafFind in a packed leaf: the same search, comparing with the key bytes where heads are equal. */
function packedFind(leaf: Node, packed: PackedKeys, key: string): number {
  const n = packed.count
  const check = leaf.check
  if (check !== null) {
    const c = prefixSide(check, key)
    if (c !== 0) return c < 0 ? -1 : ~n
  }
  const p = leaf.plen
  const hk = headOf(key, p)
  const exact = headIsExact(hk)
  const heads = leaf.nums
  const bytes = packed.bytes
  const ends = packed.ends
  // Where heads are equal and not exact, both keys run past the head's window
  // and agree up to its end (the node prefix, then the head's bytes).
  const from = p + HEAD_BYTES
  let lo = 0
  let hi = n
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    const h = heads[mid]!
    if (h < hk) lo = mid + 1
    else if (h > hk) hi = mid
    else {
      // Equal heads: one comparison of the bytes past them decides (none if the heads are exact).
      const c = exact ? 0 : compareWithBytes(key, bytes, ends[mid]!, ends[mid + 1]!, from)
      if (c === 0) return mid
      if (c > 0) lo = mid + 1
      else hi = mid
    }
  }
  return ~lo
}

// Plain string searches (`<` is bytewise order for latin1 strings), for keys
// that need not lie within the node's bounds.

/** First index whose key is >= key. */
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

/** First index whose key is > key. */
function upperBound(keys: string[], key: string): number {
  let lo = 0
  let hi = keys.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (key < keys[mid]!) hi = mid
    else lo = mid + 1
  }
  return lo
}

// --- array helpers that, unlike splice, allocate nothing ---

function arrInsert<T>(a: T[], i: number, v: T): void {
  a.push(v)
  for (let j = a.length - 1; j > i; j--) a[j] = a[j - 1]!
  a[i] = v
}

function arrRemove<T>(a: T[], i: number): void {
  const last = a.length - 1
  for (let j = i; j < last; j++) a[j] = a[j + 1]!
  a.pop()
}

// --- internal node helpers (keys and their heads move together) ---

function internalInsertKey(node: Node, i: number, key: string): void {
  arrInsert(node.sepHeads, i, headOf(key, node.plen))
  arrInsert(node.keys, i, key)
}

function internalRemoveKey(node: Node, i: number): void {
  arrRemove(node.sepHeads, i)
  arrRemove(node.keys, i)
}

function internalPopKey(node: Node): string {
  node.sepHeads.pop()
  return node.keys.pop()!
}

/** Replaces separator i of internal node `parent` (whose bounds are lo, hi) and keeps its heads valid. */
function setSeparator(parent: Node, i: number, sep: string, lo: string | undefined, hi: string | undefined): void {
  const keeps = keepsPrefix(parent, sep)
  parent.keys[i] = sep
  if (keeps) parent.sepHeads[i] = headOf(sep, parent.plen)
  else resetHeads(parent, lo, hi)
}

// --- leaf entry helpers ---

/** Where the fields of entry i start in a leaf's array. */
function fieldsAt(nums: Float64Array, i: number): number {
  return ((nums.length / STRIDE) | 0) + i * FIELDS
}

// Allocating a typed array costs microseconds (an off-heap buffer, tracked by
// the GC): more than the rest of an insert. Leaf arrays that an owned leaf
// outgrows or sheds are therefore kept, a few per size, and reused (the
// write pattern frees sizes that other leaves need next). Only arrays of
// nodes owned by the current generation are released: no snapshot or cursor
// can reach those. A reused array holds stale numbers; only entries below
// keys.length are ever read. The pool is shared by all indexes and small.
const POOL_PER_SIZE = 8
/** At most this many entries (48 bytes each) are pooled in all. */
const POOL_ENTRIES = 4096
const pool: Float64Array[][] = []
let pooledEntries = 0

function takeNums(room: number): Float64Array {
  const free = pool[room]
  if (free !== undefined && free.length !== 0) {
    pooledEntries -= room
    return free.pop()!
  }
  return new Float64Array(room * STRIDE)
}

/** Hands back the array of an owned leaf that no longer uses it. */
function releaseNums(nums: Float64Array): void {
  const room = (nums.length / STRIDE) | 0
  if (pooledEntries + room > POOL_ENTRIES) return
  let free = pool[room]
  if (free === undefined) pool[room] = free = []
  if (free.length < POOL_PER_SIZE) {
    free.push(nums)
    pooledEntries += room
  }
}

/** A leaf array with room for `room` entries, holding entries [from, from + count) of `src`. */
function relayout(src: Float64Array, from: number, count: number, room: number): Float64Array {
  const dst = takeNums(room)
  for (let j = 0; j < count; j++) dst[j] = src[from + j]!
  const s = fieldsAt(src, from)
  const d = fieldsAt(dst, 0)
  const end = count * FIELDS
  for (let j = 0; j < end; j++) dst[d + j] = src[s + j]!
  return dst
}

function readEntry(nums: Float64Array, i: number, out: IndexEntry): void {
  const b = fieldsAt(nums, i)
  out.seg = nums[b]!
  out.offset = nums[b + 1]!
  out.size = nums[b + 2]!
  out.expires = nums[b + 3]!
  out.seq = nums[b + 4]!
}

function writeEntry(
  nums: Float64Array,
  i: number,
  seg: number,
  offset: number,
  size: number,
  expires: number,
  seq: number,
): void {
  const b = fieldsAt(nums, i)
  nums[b] = seg
  nums[b + 1] = offset
  nums[b + 2] = size
  nums[b + 3] = expires
  nums[b + 4] = seq
}

/**
 * Inserts at i (computing the key's head with the leaf's prefix); the leaf
 * must hold fewer than cap entries. Like leafRemove and leafAppend, only for
 * a leaf owned by the current generation (its old array may go to the pool).
 */
function leafInsert(
  leaf: Node,
  i: number,
  key: string,
  seg: number,
  offset: number,
  size: number,
  expires: number,
  seq: number,
  cap: number,
): void {
  const keys = leaf.keys
  const n = keys.length
  let nums = leaf.nums
  if ((n + 1) * STRIDE > nums.length) {
    const grown = relayout(nums, 0, n, roomFor(n, cap))
    releaseNums(nums)
    leaf.nums = nums = grown
  }
  if (i < n) {
    nums.copyWithin(i + 1, i, n)
    const b = fieldsAt(nums, i)
    nums.copyWithin(b + FIELDS, b, b + (n - i) * FIELDS)
  }
  nums[i] = headOf(key, leaf.plen)
  writeEntry(nums, i, seg, offset, size, expires, seq)
  arrInsert(keys, i, key)
}

function leafRemove(leaf: Node, i: number, cap: number): void {
  const keys = leaf.keys
  const n = keys.length
  const nums = leaf.nums
  if (i < n - 1) {
    nums.copyWithin(i, i + 1, n)
    const b = fieldsAt(nums, i)
    nums.copyWithin(b, b + FIELDS, b + (n - i) * FIELDS)
  }
  arrRemove(keys, i)
  if (n === 1) setPrefix(leaf, 0, false)
  // Give back value space once a leaf has shrunk well below its array, so a
  // shrinking tree does not keep its peak footprint.
  const want = roomFor(n - 1, cap)
  if (nums.length >= (want + 2 * CHUNK) * STRIDE) {
    leaf.nums = relayout(nums, 0, n - 1, want)
    releaseNums(nums)
  }
}

/** Appends all entries of `src` to leaf `dst` (which must have room up to cap), heads included. */
function leafAppend(dst: Node, src: Node, cap: number): void {
  const dn = dst.keys.length
  const sn = src.keys.length
  let dv = dst.nums
  if ((dn + sn) * STRIDE > dv.length) {
    const grown = relayout(dv, 0, dn, roomFor(dn + sn, cap))
    releaseNums(dv)
    dst.nums = dv = grown
  }
  const sv = src.nums
  for (let j = 0; j < sn; j++) dv[dn + j] = sv[j]!
  const s = fieldsAt(sv, 0)
  const d = fieldsAt(dv, dn)
  const end = sn * FIELDS
  for (let j = 0; j < end; j++) dv[d + j] = sv[s + j]!
  const dk = dst.keys
  const sk = src.keys
  for (let j = 0; j < sn; j++) dk.push(sk[j]!)
}

// --- read-only tree operations shared by the live tree and snapshots ---

function findLeaf(root: Node, key: string): Node {
  let node = root
  while (!node.leaf) node = node.children[childIndex(node, key)]!
  return node
}

function treeGet(root: Node, key: string, out: IndexEntry): boolean {
  const leaf = findLeaf(root, key)
  const i = leafFind(leaf, key)
  if (i < 0) return false
  readEntry(leaf.nums, i, out)
  return true
}

function treeHas(root: Node, key: string): boolean {
  return leafFind(findLeaf(root, key), key) >= 0
}

function treeFirst(root: Node): string | undefined {
  let node = root
  while (!node.leaf) node = node.children[0]!
  return countOf(node) === 0 ? undefined : keyAt(node, 0)
}

function treeLast(root: Node): string | undefined {
  let node = root
  while (!node.leaf) node = node.children[node.children.length - 1]!
  const n = countOf(node)
  return n === 0 ? undefined : keyAt(node, n - 1)
}

// Leaf positioning modes for TreeCursor.descend.
const AT_GE = 0 // first key >= target
const AT_GT = 1 // first key > target
const AT_LE = 2 // last key <= target
const AT_LT = 3 // last key < target

class TreeCursor implements IndexCursor {
  private readonly root: Node
  private readonly reverse: boolean
  private readonly lo: string | undefined
  private readonly loInc: boolean
  private readonly hi: string | undefined
  private readonly hiInc: boolean
  /** nodes[d] is the node at depth d on the current path, nodes[h] the leaf. */
  private readonly nodes: Node[] = []
  /**
   * Internal levels: the child index taken. Leaf level: the index of the next
   * entry to yield, which may be one past either end (then next() moves on).
   */
  private readonly idx: number[] = []
  private h = 0
  private done = false
  /** The leaf and index of the entry returned last (see key()). */
  private atLeaf: Node | null = null
  private atIdx = 0

  constructor(root: Node, range: KeyRange | undefined, reverse: boolean) {
    this.root = root
    this.reverse = reverse
    let lo: string | undefined
    let loInc = false
    let hi: string | undefined
    let hiInc = false
    if (range !== undefined) {
      if (range.gte !== undefined) {
        lo = range.gte
        loInc = true
      } else if (range.gt !== undefined) {
        lo = range.gt
      }
      if (range.lte !== undefined) {
        hi = range.lte
        hiInc = true
      } else if (range.lt !== undefined) {
        hi = range.lt
      }
    }
    this.lo = lo
    this.loInc = loInc
    this.hi = hi
    this.hiInc = hiInc
    if (!reverse) {
      if (lo !== undefined) this.descend(lo, loInc ? AT_GE : AT_GT)
      else this.descendEdge(false)
    } else {
      if (hi !== undefined) this.descend(hi, hiInc ? AT_LE : AT_LT)
      else this.descendEdge(true)
    }
  }

  next(out: IndexEntry): string | undefined {
    return this.advance(out) ? keyAt(this.atLeaf!, this.atIdx) : undefined
  }

  advance(out: IndexEntry): boolean {
    if (this.done) return false
    const h = this.h
    let leaf = this.nodes[h]!
    let i = this.idx[h]!
    if (!this.reverse) {
      while (i >= countOf(leaf)) {
        if (!this.step(false)) return this.end()
        leaf = this.nodes[h]!
        i = 0
      }
      const hi = this.hi
      if (hi !== undefined) {
        const c = compareKeyAt(leaf, i, hi)
        if (this.hiInc ? c > 0 : c >= 0) return this.end()
      }
      this.idx[h] = i + 1
    } else {
      while (i < 0) {
        if (!this.step(true)) return this.end()
        leaf = this.nodes[h]!
        i = countOf(leaf) - 1
      }
      const lo = this.lo
      if (lo !== undefined) {
        const c = compareKeyAt(leaf, i, lo)
        if (this.loInc ? c < 0 : c <= 0) return this.end()
      }
      this.idx[h] = i - 1
    }
    readEntry(leaf.nums, i, out)
    this.atLeaf = leaf
    this.atIdx = i
    return true
  }

  key(): string {
    if (this.atLeaf === null) throw new Error('cursor: no current entry')
    return keyAt(this.atLeaf, this.atIdx)
  }

  keyBuffer(): Buffer {
    const leaf = this.atLeaf
    if (leaf === null) throw new Error('cursor: no current entry')
    const packed = leaf.packed
    if (packed === null) return Buffer.from(leaf.keys[this.atIdx]!, 'latin1')
    const s = packed.ends[this.atIdx]!
    const e = packed.ends[this.atIdx + 1]!
    const out = Buffer.allocUnsafe(e - s)
    packed.bytes.copy(out, 0, s, e)
    return out
  }

  seek(target: string): void {
    const lo = this.lo
    const hi = this.hi
    if (
      (lo !== undefined && (this.loInc ? target < lo : target <= lo)) ||
      (hi !== undefined && (this.hiInc ? target > hi : target >= hi))
    ) {
      this.done = true
      return
    }
    this.done = false
    this.descend(target, this.reverse ? AT_LE : AT_GE)
  }

  /** Counts (and consumes) the remaining entries in forward order, skipping whole leaves. */
  countRest(): number {
    let total = 0
    const h = this.h
    const hi = this.hi
    while (!this.done) {
      const leaf = this.nodes[h]!
      const n = countOf(leaf)
      const i = this.idx[h]!
      if (i >= n) {
        if (!this.step(false)) break
        continue
      }
      if (hi !== undefined) {
        const c = compareKeyAt(leaf, n - 1, hi)
        if (this.hiInc ? c > 0 : c >= 0) {
          // Plain search: hi need not lie within this leaf's bounds.
          const j = leafBound(leaf, hi, this.hiInc)
          if (j > i) total += j - i
          break
        }
      }
      total += n - i
      this.idx[h] = n
    }
    this.done = true
    return total
  }

  private end(): false {
    this.done = true
    return false
  }

  private descend(target: string, mode: number): void {
    const nodes = this.nodes
    const idx = this.idx
    let node = this.root
    let d = 0
    while (!node.leaf) {
      const i = childIndex(node, target)
      nodes[d] = node
      idx[d] = i
      d++
      node = node.children[i]!
    }
    nodes[d] = node
    const f = leafFind(node, target)
    // Found at f: lower bound f, upper bound f + 1. Absent: both are ~f.
    const lower = f >= 0 ? f : ~f
    const upper = f >= 0 ? f + 1 : ~f
    idx[d] = mode === AT_GE ? lower : mode === AT_GT ? upper : mode === AT_LE ? upper - 1 : lower - 1
    this.h = d
  }

  private descendEdge(right: boolean): void {
    const nodes = this.nodes
    const idx = this.idx
    let node = this.root
    let d = 0
    while (!node.leaf) {
      const i = right ? node.children.length - 1 : 0
      nodes[d] = node
      idx[d] = i
      d++
      node = node.children[i]!
    }
    nodes[d] = node
    idx[d] = right ? countOf(node) - 1 : 0
    this.h = d
  }

  /** Moves to the neighbouring leaf (left if `back`); false when there is none. */
  private step(back: boolean): boolean {
    const nodes = this.nodes
    const idx = this.idx
    const h = this.h
    let d = h - 1
    if (!back) {
      while (d >= 0 && idx[d]! + 1 >= nodes[d]!.children.length) d--
      if (d < 0) return false
      let node = nodes[d]!.children[++idx[d]!]!
      for (d++; d < h; d++) {
        nodes[d] = node
        idx[d] = 0
        node = node.children[0]!
      }
      nodes[h] = node
      idx[h] = 0
      return true
    }
    while (d >= 0 && idx[d]! === 0) d--
    if (d < 0) return false
    let node = nodes[d]!.children[--idx[d]!]!
    for (d++; d < h; d++) {
      const last = node.children.length - 1
      nodes[d] = node
      idx[d] = last
      node = node.children[last]!
    }
    nodes[h] = node
    idx[h] = countOf(node) - 1
    return true
  }
}

/** A frozen view: the root and size of the tree at the time `snapshot()` was called. */
class Snapshot implements IndexView {
  /** @internal */
  readonly root: Node
  readonly size: number
  /** @internal */
  readonly capacity: number

  constructor(root: Node, size: number, capacity: number) {
    this.root = root
    this.size = size
    this.capacity = capacity
  }

  get(key: string, out: IndexEntry): boolean {
    return treeGet(this.root, key, out)
  }

  has(key: string): boolean {
    return treeHas(this.root, key)
  }

  cursor(range?: KeyRange, reverse = false): IndexCursor {
    return new TreeCursor(this.root, range, reverse)
  }

  count(range?: KeyRange): number {
    if (range === undefined) return this.size
    return new TreeCursor(this.root, range, false).countRest()
  }

  first(): string | undefined {
    return treeFirst(this.root)
  }

  last(): string | undefined {
    return treeLast(this.root)
  }
}

export class OrderedIndex implements IndexView {
  private readonly cap: number
  private readonly min: number
  private root: Node
  private count_ = 0
  /** Nodes carrying this token were created since the last snapshot and may be mutated in place. */
  private token: object = {}
  /** The snapshot of the current state, if one was taken and nothing was written since. */
  private snap: Snapshot | null = null
  // Write-path scratch: pathNodes[d] is the node at depth d (pathNodes[depth] the
  // leaf), pathIdx[d] the child index taken at internal depth d.
  private readonly pathNodes: Node[] = []
  private readonly pathIdx: number[] = []
  private depth = 0
  /**
   * The key whose path lookup() recorded last, while that path is still the
   * one in the scratch arrays and the tree has not changed since (undefined
   * otherwise): set() of this key then skips its descent. The write path
   * looks a key up (the unchanged-write check) right before it sets it.
   * Cleared by every descent (findPath overwrites the path) and by every
   * change that does not start with one (set's own write, clear, bulk load).
   */
  private fingerKey: string | undefined = undefined
  /** leafFind's result for fingerKey on the recorded path. */
  private fingerAt = 0

  constructor(options?: { nodeCapacity?: number }) {
    const cap = options?.nodeCapacity ?? DEFAULT_NODE_CAPACITY
    if (!Number.isInteger(cap) || cap < MIN_NODE_CAPACITY || cap > MAX_NODE_CAPACITY) {
      throw new RangeError(
        `nodeCapacity must be an integer from ${MIN_NODE_CAPACITY} to ${MAX_NODE_CAPACITY}, got ${String(cap)}`,
      )
    }
    this.cap = cap
    this.min = cap >>> 1
    this.root = newLeaf(this.token, cap)
  }

  get size(): number {
    return this.count_
  }

  get(key: string, out: IndexEntry): boolean {
    return treeGet(this.root, key, out)
  }

  /**
   * get() for a key about to be written: also remembers where the key is (or
   * goes), so that a set() of the same key right after, with no other
   * descent or change of the tree in between, needs no second descent.
   */
  lookup(key: string, out: IndexEntry): boolean {
    const f = this.findPath(key)
    this.fingerKey = key
    this.fingerAt = f
    if (f < 0) return false
    readEntry(this.pathNodes[this.depth]!.nums, f, out)
    return true
  }

  has(key: string): boolean {
    return treeHas(this.root, key)
  }

  first(): string | undefined {
    return treeFirst(this.root)
  }

  last(): string | undefined {
    return treeLast(this.root)
  }

  count(range?: KeyRange): number {
    if (range === undefined) return this.count_
    return new TreeCursor(this.root, range, false).countRest()
  }

  set(
    key: string,
    seg: number,
    offset: number,
    size: number,
    expires: number,
    seq: number,
    previous?: IndexEntry,
  ): boolean {
    let f: number
    if (key === this.fingerKey) {
      // The path lookup() recorded for this key is still the tree's (see fingerKey).
      f = this.fingerAt
      this.fingerKey = undefined
    } else f = this.findPath(key)
    const h = this.depth
    if (f >= 0 && previous !== undefined) readEntry(this.pathNodes[h]!.nums, f, previous)
    this.writeAt(f, h, key, seg, offset, size, expires, seq)
    return f >= 0
  }

  /**
   * set() unless the key is present with a higher seq: one descent for what
   * recovery would otherwise do with get() then set(). Returns 0 if the key
   * was absent (inserted), 1 if replaced, -1 if kept (the entry present is
   * newer); `previous` receives the entry that was there.
   */
  setIfNewer(
    key: string,
    seg: number,
    offset: number,
    size: number,
    expires: number,
    seq: number,
    previous: IndexEntry,
  ): number {
    const f = this.findPath(key)
    const h = this.depth
    if (f >= 0) {
      readEntry(this.pathNodes[h]!.nums, f, previous)
      if (previous.seq > seq) return -1
    }
    this.writeAt(f, h, key, seg, offset, size, expires, seq)
    return f >= 0 ? 1 : 0
  }

  /**
   * Starts building the tree from entries in ascending key order in O(n)
   * (opening a database: the merged hints). The index must be empty, and
   * must not be used until finish() installs the tree.
   */
  bulkLoad(): BulkLoader {
    if (this.count_ !== 0) throw new Error('bulkLoad needs an empty index')
    return new BulkLoader(this.cap, this.token, (root, size) => {
      this.snap = null
      this.fingerKey = undefined
      this.root = root
      this.count_ = size
    })
  }

  /** Writes at leafFind result f on the path just found: replaces (f >= 0) or inserts at ~f. */
  private writeAt(f: number, h: number, key: string, seg: number, offset: number, size: number, expires: number, seq: number): void {
    this.snap = null
    this.ownPath(h)
    const leaf = this.pathNodes[h]!
    if (f >= 0) {
      writeEntry(leaf.nums, f, seg, offset, size, expires, seq)
      return
    }
    const i = ~f
    this.count_++
    const n = leaf.keys.length
    if (n < this.cap) {
      // A key between two keys of the leaf shares their prefix.
      const keeps = (i > 0 && i < n) || keepsPrefix(leaf, key)
      leafInsert(leaf, i, key, seg, offset, size, expires, seq, this.cap)
      // A leaf on the tree's edge got a key outside its prefix: shorten the prefix.
      if (!keeps) resetHeads(leaf, this.pathLo(h), this.pathHi(h))
    } else {
      this.splitInsert(h, i, key, seg, offset, size, expires, seq)
    }
  }

  delete(key: string, previous?: IndexEntry): boolean {
    const i = this.findPath(key)
    if (i < 0) return false
    const h = this.depth
    if (previous !== undefined) readEntry(this.pathNodes[h]!.nums, i, previous)
    this.removeAt(h, i)
    return true
  }

  replaceIf(
    key: string,
    expectSeg: number,
    expectOffset: number,
    seg: number,
    offset: number,
    size: number,
    expires: number,
    seq: number,
  ): boolean {
    const i = this.findPath(key)
    if (i < 0) return false
    const h = this.depth
    const nums = this.pathNodes[h]!.nums
    const b = fieldsAt(nums, i)
    if (nums[b] !== expectSeg || nums[b + 1] !== expectOffset) return false
    this.snap = null
    this.ownPath(h)
    writeEntry(this.pathNodes[h]!.nums, i, seg, offset, size, expires, seq)
    return true
  }

  deleteIf(key: string, expectSeg: number, expectOffset: number): boolean {
    const i = this.findPath(key)
    if (i < 0) return false
    const h = this.depth
    const nums = this.pathNodes[h]!.nums
    const b = fieldsAt(nums, i)
    if (nums[b] !== expectSeg || nums[b + 1] !== expectOffset) return false
    this.removeAt(h, i)
    return true
  }

  snapshot(): IndexView {
    let snap = this.snap
    if (snap === null) {
      snap = Object.freeze(new Snapshot(this.root, this.count_, this.cap))
      this.snap = snap
      // From now on every node reachable from `snap` is foreign to the tree.
      this.token = {}
    }
    return snap
  }

  cursor(range?: KeyRange, reverse = false): IndexCursor {
    return this.snapshot().cursor(range, reverse)
  }

  clear(): void {
    this.snap = null
    this.fingerKey = undefined
    this.root = newLeaf(this.token, this.cap)
    this.count_ = 0
    this.pathNodes.length = 0
    this.pathIdx.length = 0
    this.depth = 0
  }

  /** Read-only descent recording the path; returns leafFind's result for the leaf (index, or ~insertion index). */
  private findPath(key: string): number {
    this.fingerKey = undefined
    const pathNodes = this.pathNodes
    const pathIdx = this.pathIdx
    let node = this.root
    let d = 0
    while (!node.leaf) {
      const i = childIndex(node, key)
      pathNodes[d] = node
      pathIdx[d] = i
      d++
      node = node.children[i]!
    }
    // Everything that descends here may change the leaf or read its keys.
    ensureKeys(node)
    pathNodes[d] = node
    this.depth = d
    return leafFind(node, key)
  }

  /** Makes every node on the recorded path owned by the current token, cloning foreign ones. */
  private ownPath(h: number): void {
    const token = this.token
    const pathNodes = this.pathNodes
    let node = this.root
    if (node.owner !== token) {
      node = cloneNode(node, token, this.cap)
      this.root = node
    }
    pathNodes[0] = node
    for (let d = 0; d < h; d++) {
      node = this.ownChild(node, this.pathIdx[d]!)
      pathNodes[d + 1] = node
    }
  }

  /** The i-th child of an owned parent, cloned into the current generation if needed. */
  private ownChild(parent: Node, i: number): Node {
    const child = parent.children[i]!
    if (child.owner === this.token) return child
    const copy = cloneNode(child, this.token, this.cap)
    parent.children[i] = copy
    return copy
  }

  /** Lower separator bound of pathNodes[d], from its ancestors on the recorded path (undefined: unbounded). */
  private pathLo(d: number): string | undefined {
    for (let e = d - 1; e >= 0; e--) {
      const i = this.pathIdx[e]!
      if (i > 0) return this.pathNodes[e]!.keys[i - 1]
    }
    return undefined
  }

  /** Upper separator bound of pathNodes[d] (exclusive; undefined: unbounded). */
  private pathHi(d: number): string | undefined {
    for (let e = d - 1; e >= 0; e--) {
      const i = this.pathIdx[e]!
      const keys = this.pathNodes[e]!.keys
      if (i < keys.length) return keys[i]
    }
    return undefined
  }

  private splitInsert(
    h: number,
    i: number,
    key: string,
    seg: number,
    offset: number,
    size: number,
    expires: number,
    seq: number,
  ): void {
    const cap = this.cap
    const token = this.token
    const leaf = this.pathNodes[h]!
    const n = leaf.keys.length
    // After the insert there are n + 1 entries; the left half keeps `leftCount`.
    const leftCount = (n + 1) >>> 1
    const intoLeft = i < leftCount
    const from = intoLeft ? leftCount - 1 : leftCount
    const rightN = n - from
    const src = leaf.nums
    let rightNums: Float64Array
    if (i === n) {
      // Appending (as sequential keys do): the right half, which will likely
      // get the next keys too, keeps the full-size array; the left half, which
      // likely gets no more keys, an exact-size copy. One allocation instead
      // of two now and up to three for growing the right half later.
      leaf.nums = relayout(src, 0, from, from)
      src.copyWithin(0, from, n)
      const b = fieldsAt(src, from)
      src.copyWithin(fieldsAt(src, 0), b, b + rightN * FIELDS)
      rightNums = src
    } else {
      rightNums = relayout(src, from, rightN, roomFor(intoLeft ? rightN : rightN + 1, cap))
      const leftRoom = roomFor(intoLeft ? from + 1 : from, cap)
      if (leftRoom * STRIDE < src.length) {
        leaf.nums = relayout(src, 0, from, leftRoom)
        releaseNums(src)
      }
    }
    const rightKeys = leaf.keys.slice(from)
    const right = new Node(token, true, rightKeys, rightNums, NO_HEADS, NO_CHILDREN, leaf.plen, leaf.check, null)
    leaf.keys.length = from
    if (intoLeft) leafInsert(leaf, i, key, seg, offset, size, expires, seq, cap)
    else leafInsert(right, i - from, key, seg, offset, size, expires, seq, cap)

    let sep = right.keys[0]!
    // The key got a head for the leaf's prefix; if it does not share that
    // prefix (possible on an edge leaf), fitPrefix recomputes its half.
    fitPrefix(leaf, this.pathLo(h), sep)
    fitPrefix(right, sep, this.pathHi(h))
    let newNode = right
    for (let d = h - 1; d >= 0; d--) {
      const parent = this.pathNodes[d]!
      const ci = this.pathIdx[d]!
      const keeps = keepsPrefix(parent, sep)
      internalInsertKey(parent, ci, sep)
      arrInsert(parent.children, ci + 1, newNode)
      if (parent.children.length <= cap) {
        if (!keeps) resetHeads(parent, this.pathLo(d), this.pathHi(d))
        return
      }
      // cap + 1 children: left keeps `leftChildren`, the separator between the halves moves up.
      const lo = this.pathLo(d)
      const hi = this.pathHi(d)
      const leftChildren = (cap + 1) >>> 1
      const pk = parent.keys
      const pc = parent.children
      sep = pk[leftChildren - 1]!
      const ph = parent.sepHeads
      newNode = newInternal(token, pk.slice(leftChildren), ph.slice(leftChildren), pc.slice(leftChildren))
      newNode.plen = parent.plen
      newNode.check = parent.check
      pk.length = leftChildren - 1
      ph.length = leftChildren - 1
      pc.length = leftChildren
      fitPrefix(parent, lo, sep)
      fitPrefix(newNode, sep, hi)
    }
    const root = newInternal(token, [sep], EMPTY_DOUBLES.slice(), [this.root, newNode])
    root.sepHeads.push(0) // set by resetHeads
    resetHeads(root, undefined, undefined)
    this.root = root
  }

  private removeAt(h: number, i: number): void {
    this.snap = null
    this.ownPath(h)
    leafRemove(this.pathNodes[h]!, i, this.cap)
    this.count_--
    this.rebalance(h)
  }

  /**
   * Restores minimum fill bottom-up after a removal by borrowing from or
   * merging with a sibling. A node whose bounds widen (the borrower, the
   * merged node) has its prefix revalidated (fitPrefix); separators rewritten
   * in the parent get new heads.
   */
  private rebalance(h: number): void {
    const min = this.min
    const cap = this.cap
    for (let d = h; d > 0; d--) {
      const node = this.pathNodes[d]!
      const count = node.leaf ? node.keys.length : node.children.length
      if (count >= min) return
      const parent = this.pathNodes[d - 1]!
      const ci = this.pathIdx[d - 1]!
      // The parent's own bounds; levels above d - 1 are not modified by this step.
      const pLo = this.pathLo(d - 1)
      const pHi = this.pathHi(d - 1)
      if (ci > 0) {
        const left0 = parent.children[ci - 1]!
        ensureKeys(left0)
        const leftCount = left0.leaf ? left0.keys.length : left0.children.length
        const left = this.ownChild(parent, ci - 1)
        if (leftCount > min) {
          if (node.leaf) {
            const last = left.keys.length - 1
            const lv = left.nums
            const b = fieldsAt(lv, last)
            leafInsert(node, 0, left.keys[last]!, lv[b]!, lv[b + 1]!, lv[b + 2]!, lv[b + 3]!, lv[b + 4]!, cap)
            leafRemove(left, last, cap)
            setSeparator(parent, ci - 1, node.keys[0]!, pLo, pHi)
          } else {
            arrInsert(node.children, 0, left.children.pop()!)
            internalInsertKey(node, 0, parent.keys[ci - 1]!)
            setSeparator(parent, ci - 1, internalPopKey(left), pLo, pHi)
          }
          // The moved key got a head for node's prefix; the widened bounds may not share that prefix.
          fitPrefix(node, parent.keys[ci - 1]!, ci < parent.keys.length ? parent.keys[ci]! : pHi)
          return
        }
        this.merge(parent, ci - 1, left, node, pLo, pHi)
      } else {
        const right0 = parent.children[1]!
        ensureKeys(right0)
        const rightCount = right0.leaf ? right0.keys.length : right0.children.length
        if (rightCount > min) {
          const right = this.ownChild(parent, 1)
          if (node.leaf) {
            const rv = right.nums
            const b = fieldsAt(rv, 0)
            leafInsert(node, node.keys.length, right.keys[0]!, rv[b]!, rv[b + 1]!, rv[b + 2]!, rv[b + 3]!, rv[b + 4]!, cap)
            leafRemove(right, 0, cap)
            setSeparator(parent, 0, right.keys[0]!, pLo, pHi)
          } else {
            node.children.push(right.children[0]!)
            arrRemove(right.children, 0)
            internalInsertKey(node, node.keys.length, parent.keys[0]!)
            setSeparator(parent, 0, right.keys[0]!, pLo, pHi)
            internalRemoveKey(right, 0)
          }
          fitPrefix(node, pLo, parent.keys[0]!)
          return
        }
        // The right sibling is only read, so it need not be owned.
        this.merge(parent, 0, node, right0, pLo, pHi)
      }
    }
    const root = this.root
    if (!root.leaf && root.children.length === 1) this.root = root.children[0]!
  }

  /**
   * Moves everything from parent.children[li + 1] into the owned `left` =
   * parent.children[li]; pLo and pHi are the parent's bounds.
   */
  private merge(parent: Node, li: number, left: Node, right: Node, pLo: string | undefined, pHi: string | undefined): void {
    // Right's heads can be copied when both use the same prefix.
    const samePrefix = left.plen === right.plen
    if (left.leaf) {
      leafAppend(left, right, this.cap)
    } else {
      internalInsertKey(left, left.keys.length, parent.keys[li]!)
      const lk = left.keys
      const lh = left.sepHeads
      const rk = right.keys
      const rh = right.sepHeads
      for (let j = 0; j < rk.length; j++) {
        lh.push(rh[j]!)
        lk.push(rk[j]!)
      }
      const rc = right.children
      for (let j = 0; j < rc.length; j++) left.children.push(rc[j]!)
    }
    internalRemoveKey(parent, li)
    arrRemove(parent.children, li + 1)
    const pk = parent.keys
    const lo = li > 0 ? pk[li - 1]! : pLo
    const hi = li < pk.length ? pk[li]! : pHi
    if (samePrefix) fitPrefix(left, lo, hi)
    else resetHeads(left, lo, hi)
  }
}

/** Leaves whose arrays share one buffer in a bulk load (64 leaves of capacity 64: 192 KiB). */
const SLAB_LEAVES = 64
/** A bulk load packs key bytes into buffers of this size (larger only where one leaf's keys need it). */
const KEY_CHUNK_BYTES = 256 * 1024
const NO_BYTES = Buffer.alloc(0)
const NO_ENDS = new Uint32Array(0)

/**
 * Builds a tree bottom-up from entries in ascending key order (see
 * OrderedIndex.bulkLoad). Leaves are filled left to right to BULK_FILL of
 * their capacity (room for a few inserts before the first splits), then
 * each internal level is built over the one below, with children spread
 * evenly. A node's bounds are the first keys of its own and of the next
 * subtree at its level, so its prefix and heads are set once, when they are
 * known: a leaf's when the next leaf starts, internal nodes' per level.
 *
 * Leaves keep their keys packed (see PackedKeys): the loader copies each
 * key's bytes once and makes one string per leaf (its first key, which the
 * level above needs as a separator). The two edge leaves, whose prefix is
 * checked against their own keys, and leaves rebuilt at the end are unpacked.
 */
export class BulkLoader {
  readonly #cap: number
  readonly #fill: number
  /** Doubles in one leaf's array (room for a full leaf plus CHUNK rounding, as roomFor gives). */
  readonly #leafDoubles: number
  /** Leaf arrays are views cut from this buffer (see #leafNums); null before the first. */
  #slab: ArrayBuffer | null = null
  #slabUsed = 0
  /** Leaves' key offsets (fill + 1 each) are views cut from this buffer, SLAB_LEAVES per buffer. */
  #endsSlab: ArrayBuffer | null = null
  #endsUsed = 0
  /** Key bytes are appended here from #bytesUsed on. */
  #bytes: Buffer = NO_BYTES
  #bytesUsed = 0
  readonly #token: object
  readonly #install: (root: Node, size: number) => void
  readonly #leaves: Node[] = []
  /** The first key of each leaf, as a string. */
  readonly #firsts: string[] = []
  #leaf: Node | null = null
  /** The current leaf's packed keys (null before the first key). */
  #packed: PackedKeys | null = null
  /** The previous key's bytes, for the ascending check. */
  #lastBytes: Buffer = NO_BYTES
  #lastStart = 0
  #lastEnd = 0
  #count = 0
  #done = false

  /** @internal */
  constructor(cap: number, token: object, install: (root: Node, size: number) => void) {
    this.#cap = cap
    this.#fill = cap - (cap >>> 3)
    this.#leafDoubles = roomFor(this.#fill, cap) * STRIDE
    this.#token = token
    this.#install = install
  }

  get size(): number {
    return this.#count
  }

  /** Appends an entry; its key (a latin1 string: one char per byte) must be above every key added before. */
  add(key: string, seg: number, offset: number, size: number, expires: number, seq: number): void {
    const n = key.length
    const at = this.#reserve(n)
    const bytes = this.#bytes
    for (let j = 0; j < n; j++) {
      const c = key.charCodeAt(j)
      if (c > 0xff) throw new RangeError('bulk load: keys must be latin1 strings (one char per byte)')
      bytes[at + j] = c
    }
    this.#append(at, at + n, seg, offset, size, expires, seq)
  }

  /** add() of the key src[start .. end), without making a string of it. */
  addBytes(src: Uint8Array, start: number, end: number, seg: number, offset: number, size: number, expires: number, seq: number): void {
    const n = end - start
    const at = this.#reserve(n)
    const bytes = this.#bytes
    if (n > 64) bytes.set(src.subarray(start, end), at)
    else for (let j = 0; j < n; j++) bytes[at + j] = src[start + j]!
    this.#append(at, at + n, seg, offset, size, expires, seq)
  }

  /**
   * Room for a key of n bytes in #bytes. A leaf's keys must lie in one
   * buffer, so when a new buffer is needed the current leaf's keys move
   * into it (unless the leaf is full: then the key starts a new leaf).
   */
  #reserve(n: number): number {
    if (this.#done) throw new Error('bulk load already finished')
    const used = this.#bytesUsed
    if (used + n <= this.#bytes.length) {
      this.#bytesUsed = used + n
      return used
    }
    const packed = this.#packed
    const moving = packed !== null && packed.count < this.#fill ? packed.count : 0
    const from = moving > 0 ? packed!.ends[0]! : 0
    const movingBytes = moving > 0 ? packed!.ends[moving]! - from : 0
    const chunk = Buffer.allocUnsafeSlow(Math.max(KEY_CHUNK_BYTES, 2 * (movingBytes + n)))
    if (moving > 0) {
      this.#bytes.copy(chunk, 0, from, from + movingBytes)
      const ends = packed!.ends
      for (let i = 0; i <= moving; i++) ends[i] = ends[i]! - from
      packed!.bytes = chunk
    }
    this.#bytes = chunk
    this.#bytesUsed = movingBytes + n
    return movingBytes
  }

  /** Adds the key just written at #bytes[at .. end) with its entry. */
  #append(at: number, end: number, seg: number, offset: number, size: number, expires: number, seq: number): void {
    const bytes = this.#bytes
    if (this.#count > 0 && !this.#aboveLast(bytes, at, end)) throw new RangeError('bulk load: keys must be strictly ascending')
    let leaf = this.#leaf
    let packed = this.#packed
    if (leaf === null || packed!.count === this.#fill) {
      packed = new PackedKeys(bytes, this.#leafEnds(), 0)
      leaf = new Node(this.#token, true, UNPACKED_LATER, this.#leafNums(), NO_HEADS, NO_CHILDREN, 0, null, packed)
      packed.ends[0] = at
      const first = bytes.latin1Slice(at, end)
      this.#leaves.push(leaf)
      this.#firsts.push(first)
      this.#leaf = leaf
      this.#packed = packed
      // The previous leaf's upper bound (this leaf's first key) is known now.
      if (this.#leaves.length >= 2) this.#heads(this.#leaves.length - 2, first)
    }
    const i = packed!.count
    packed!.ends[i + 1] = end
    writeEntry(leaf.nums, i, seg, offset, size, expires, seq)
    packed!.count = i + 1
    this.#lastBytes = bytes
    this.#lastStart = at
    this.#lastEnd = end
    this.#count++
  }

  /**
   * Whether bytes[at .. end) sorts after the previous key. A loop, not
   * Buffer#compare: for keys of a few bytes the native call's argument
   * checks cost more than the comparison, a million times per open.
   */
  #aboveLast(bytes: Buffer, at: number, end: number): boolean {
    const last = this.#lastBytes
    const ls = this.#lastStart
    const ln = this.#lastEnd - ls
    const n = end - at
    const m = n < ln ? n : ln
    for (let j = 0; j < m; j++) {
      const d = bytes[at + j]! - last[ls + j]!
      if (d !== 0) return d > 0
    }
    return n > ln
  }

  /** Builds the internal levels and installs the tree in the index. */
  finish(): void {
    if (this.#done) return
    this.#done = true
    const cap = this.#cap
    const leaves = this.#leaves
    const firsts = this.#firsts
    const token = this.#token
    if (leaves.length === 0) {
      this.#install(newLeaf(token, cap), 0)
      return
    }
    const n = leaves.length
    if (n >= 2 && this.#packed!.count < cap >>> 1) {
      // The last leaf is under the minimum fill: share with its neighbour.
      const a = leaves[n - 2]!
      const b = leaves[n - 1]!
      ensureKeys(a)
      ensureKeys(b)
      const total = a.keys.length + b.keys.length
      leaves.length = n - 2
      firsts.length = n - 2
      if (total <= cap) leaves.push(joinedLeaf(token, cap, a, b, 0, total))
      else leaves.push(joinedLeaf(token, cap, a, b, 0, total >>> 1), joinedLeaf(token, cap, a, b, total >>> 1, total - (total >>> 1)))
      for (let j = n - 2; j < leaves.length; j++) firsts.push(leaves[j]!.keys[0]!)
      if (leaves.length >= 2) this.#heads(leaves.length - 2, firsts[leaves.length - 1])
    }
    this.#heads(leaves.length - 1, undefined)
    let level: Node[] = leaves
    let levelFirsts = firsts
    const min = cap >>> 1
    while (level.length > 1) {
      const m = level.length
      let groups = Math.ceil(m / this.#fill)
      if (groups > 1 && Math.floor(m / groups) < min) groups = Math.ceil(m / cap)
      const parents: Node[] = []
      const parentFirsts: string[] = []
      for (let g = 0, start = 0; g < groups; g++) {
        const count = Math.floor(m / groups) + (g < m % groups ? 1 : 0)
        const heads = EMPTY_DOUBLES.slice()
        for (let j = 1; j < count; j++) heads.push(0) // set by resetHeads
        parents.push(newInternal(token, levelFirsts.slice(start + 1, start + count), heads, level.slice(start, start + count)))
        parentFirsts.push(levelFirsts[start]!)
        start += count
      }
      for (let g = 0; g < groups; g++) {
        resetHeads(parents[g]!, g > 0 ? parentFirsts[g] : undefined, g + 1 < groups ? parentFirsts[g + 1] : undefined)
      }
      level = parents
      levelFirsts = parentFirsts
    }
    this.#install(level[0]!, this.#count)
  }

  /**
   * A new leaf's array. A Float64Array of its own costs ~4 µs (a separate
   * off-heap allocation the GC accounts for): 80 ms for the 18k leaves of a
   * million keys, a fifth of an open. So the arrays are views into shared
   * buffers of SLAB_LEAVES leaves each. A buffer lives while any of its
   * leaves keeps its array: a leaf that later splits or shrinks gets a new
   * array of its own, so at most SLAB_LEAVES - 1 stale leaf arrays (~200 KB)
   * stay behind per buffer, and a buffer whose leaves all moved on is freed.
   */
  #leafNums(): Float64Array {
    const doubles = this.#leafDoubles
    if (this.#slab === null || this.#slabUsed === SLAB_LEAVES) {
      this.#slab = new ArrayBuffer(SLAB_LEAVES * doubles * Float64Array.BYTES_PER_ELEMENT)
      this.#slabUsed = 0
    }
    return new Float64Array(this.#slab, this.#slabUsed++ * doubles * Float64Array.BYTES_PER_ELEMENT, doubles)
  }

  /** A new leaf's key offsets, cut from a shared buffer for the same reason as #leafNums. */
  #leafEnds(): Uint32Array {
    const per = this.#fill + 1
    if (this.#endsSlab === null || this.#endsUsed === SLAB_LEAVES) {
      this.#endsSlab = new ArrayBuffer(SLAB_LEAVES * per * Uint32Array.BYTES_PER_ELEMENT)
      this.#endsUsed = 0
    }
    return new Uint32Array(this.#endsSlab, this.#endsUsed++ * per * Uint32Array.BYTES_PER_ELEMENT, per)
  }

  /**
   * Sets the prefix and heads of leaf j, whose upper bound is `hi` (the next
   * leaf's first key). A leaf with both bounds stays packed: its prefix comes
   * from the bounds and its heads from the key bytes. An edge leaf (no lower
   * or no upper bound) checks keys against a prefix taken from its own keys,
   * as strings, so it is unpacked.
   */
  #heads(j: number, hi: string | undefined): void {
    const leaf = this.#leaves[j]!
    const packed = leaf.packed
    if (packed === null || j === 0 || hi === undefined) {
      ensureKeys(leaf)
      resetHeads(leaf, j > 0 ? leaf.keys[0] : undefined, hi)
      return
    }
    const p = lcp(this.#firsts[j]!, hi)
    setPrefix(leaf, p, false)
    const heads = leaf.nums
    const bytes = packed.bytes
    const ends = packed.ends
    for (let i = 0; i < packed.count; i++) heads[i] = headOfBytes(bytes, ends[i]!, ends[i + 1]!, p)
  }
}

/** A leaf holding `count` entries from position `from` of a's entries followed by b's. */
function joinedLeaf(token: object, cap: number, a: Node, b: Node, from: number, count: number): Node {
  const nums = new Float64Array(roomFor(count, cap) * STRIDE)
  const keys: string[] = []
  const an = a.keys.length
  for (let k = 0; k < count; k++) {
    const g = from + k
    const src = g < an ? a : b
    const i = g < an ? g : g - an
    const s = fieldsAt(src.nums, i)
    const v = src.nums
    writeEntry(nums, k, v[s]!, v[s + 1]!, v[s + 2]!, v[s + 3]!, v[s + 4]!)
    keys.push(src.keys[i]!)
  }
  return new Node(token, true, keys, nums, NO_HEADS, NO_CHILDREN, 0, null, null)
}

/**
 * @internal
 * Verifies the structural invariants of the tree behind an OrderedIndex or a
 * snapshot and throws on the first violation. Returns shape statistics.
 */
export function checkInvariants(index: IndexView): { height: number; nodes: number; leaves: number; packedLeaves: number } {
  let root: Node
  let cap: number
  let size: number
  if (index instanceof OrderedIndex) {
    root = index['root']
    cap = index['cap']
    size = index.size
  } else if (index instanceof Snapshot) {
    root = index.root
    cap = index.capacity
    size = index.size
  } else {
    throw new TypeError('checkInvariants: not an OrderedIndex or one of its snapshots')
  }
  const min = cap >>> 1
  const pooled = new Set<Float64Array>()
  for (const free of pool) if (free !== undefined) for (const nums of free) pooled.add(nums)
  let leafDepth = -1
  let packedLeaves = 0
  let nodes = 0
  let leaves = 0
  let total = 0
  const fail = (msg: string): never => {
    throw new Error(`ordered-index invariant violated: ${msg}`)
  }
  // Every key k in the subtree must satisfy lo <= k < hi (undefined = unbounded).
  const visit = (node: Node, depth: number, lo: string | undefined, hi: string | undefined): void => {
    nodes++
    const keys = keysOfNode(node)
    const isRoot = depth === 0
    if (node.packed !== null) {
      packedLeaves++
      if (!node.leaf) fail('internal node with packed keys')
      if (node.keys !== UNPACKED_LATER) fail('packed leaf with key strings')
      if (node.check !== null) fail('packed leaf with a checked prefix')
      if (node.packed.ends.length < node.packed.count + 1) fail('packed leaf with too few key offsets')
    }
    for (let i = 1; i < keys.length; i++) {
      if (!(keys[i - 1]! < keys[i]!)) fail(`keys not strictly ascending at depth ${depth}`)
    }
    if (keys.length > 0) {
      if (lo !== undefined && keys[0]! < lo) fail(`key below its separator at depth ${depth}`)
      if (hi !== undefined && !(keys[keys.length - 1]! < hi)) fail(`key not below its separator at depth ${depth}`)
    }
    // Heads: every key shares the node prefix, an unchecked prefix is implied
    // by the bounds, and each head matches its key (recomputed by the slow path).
    const p = node.plen
    if (!Number.isInteger(p) || p < 0) fail(`bad prefix length ${p} at depth ${depth}`)
    const check = node.check
    if (check !== null) {
      if (p === 0 || keys.length === 0) fail(`checked prefix of length ${p} with ${keys.length} keys`)
      else if (check.pre !== keys[0]!.slice(0, p) || check.end !== prefixEnd(check.pre)) fail('wrong checked prefix')
    } else {
      if (p > 0 && (lo === undefined || hi === undefined || lcp(lo, hi) < p)) {
        fail(`unchecked prefix of length ${p} not implied by the bounds at depth ${depth}`)
      }
    }
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i]!
      if (lcp(k, keys[0]!) < p) fail(`key does not share the node prefix at depth ${depth}`)
      const head = node.leaf ? node.nums[i] : node.sepHeads[i]
      if (head !== headSlow(k, p)) fail(`stale head for key ${i} at depth ${depth}`)
    }
    if (node.leaf) {
      leaves++
      if (node.children.length !== 0 || node.sepHeads.length !== 0) fail('leaf with children')
      if (leafDepth === -1) leafDepth = depth
      else if (leafDepth !== depth) fail(`leaves at depths ${leafDepth} and ${depth}`)
      if (keys.length > cap) fail(`leaf holds ${keys.length} > ${cap}`)
      if (!isRoot && keys.length < min) fail(`leaf holds ${keys.length} < ${min}`)
      if (node.nums.length % STRIDE !== 0) fail('leaf value array not a multiple of the stride')
      if (node.nums.length < keys.length * STRIDE) fail('leaf value array too short')
      if (node.nums.length > cap * STRIDE) fail('leaf value array beyond capacity')
      if (pooled.has(node.nums)) fail('leaf value array is in the free pool')
      total += keys.length
      return
    }
    const children = node.children
    if (node.nums.length !== 0) fail('internal node with values')
    if (node.sepHeads.length !== keys.length) fail('internal node heads out of step with its keys')
    if (children.length !== keys.length + 1) fail(`internal node has ${children.length} children, ${keys.length} keys`)
    if (children.length > cap) fail(`internal node has ${children.length} > ${cap} children`)
    if (isRoot ? children.length < 2 : children.length < min) {
      fail(`internal node has ${children.length} children at depth ${depth}`)
    }
    for (let i = 0; i < children.length; i++) {
      visit(children[i]!, depth + 1, i === 0 ? lo : keys[i - 1], i === keys.length ? hi : keys[i])
    }
  }
  visit(root, 0, undefined, undefined)
  if (total !== size) fail(`size is ${size} but the leaves hold ${total} keys`)
  return { height: leafDepth + 1, nodes, leaves, packedLeaves }
}
