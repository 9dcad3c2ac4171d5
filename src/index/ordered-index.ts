/**
 * The in-memory ordered index: key (latin1 string, one char per byte) ->
 * record location. It is a copy-on-write B+tree.
 *
 * Why a B+tree and not a hash map plus a sorted structure: range cursors and
 * point lookups must both be O(log n), and a single structure halves memory.
 *
 * Why typed-array leaves: at 20M keys, one JS object per entry would cost
 * ~70+ bytes of headers and pointers each and give the GC 20M objects to
 * trace. A leaf instead holds its keys in one `string[]` and all five numbers
 * of all its entries in one `Float64Array` (stride 5). The numbers then live
 * off the JS heap, are never traced, and cost exactly 40 bytes per entry. A
 * leaf's Float64Array grows in chunks of CHUNK entries instead of being
 * allocated at full node capacity, so half-full leaves (the norm right after
 * splits, and for sequential inserts) do not pay for their empty half.
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
/** Numbers per entry in a leaf's Float64Array: seg, offset, size, expires, seq. */
const STRIDE = 5
/** Leaf value arrays grow by this many entries (must be a power of two). */
const CHUNK = 8
const CHUNK_SHIFT = 3

class Node {
  owner: object
  readonly leaf: boolean
  keys: string[]
  /** Leaves only; length is a multiple of STRIDE and >= keys.length * STRIDE. */
  vals: Float64Array
  /** Internal nodes only; length === keys.length + 1. */
  children: Node[]

  constructor(owner: object, leaf: boolean, keys: string[], vals: Float64Array, children: Node[]) {
    this.owner = owner
    this.leaf = leaf
    this.keys = keys
    this.vals = vals
    this.children = children
  }
}

// Shared placeholders so both node kinds have the same shape. Never mutated:
// leaves never touch `children`, internal nodes never touch `vals`.
const NO_VALS = new Float64Array(0)
const NO_CHILDREN: Node[] = []

/** Entries a leaf's value array should have room for when holding n entries: at least one spare slot below capacity. */
function roomFor(n: number, cap: number): number {
  const c = ((n >>> CHUNK_SHIFT) + 1) << CHUNK_SHIFT
  return c < cap ? c : cap
}

function newLeaf(owner: object, cap: number): Node {
  return new Node(owner, true, [], new Float64Array(roomFor(0, cap) * STRIDE), NO_CHILDREN)
}

function cloneNode(node: Node, owner: object, cap: number): Node {
  if (!node.leaf) return new Node(owner, false, node.keys.slice(), NO_VALS, node.children.slice())
  const n = node.keys.length
  const src = node.vals
  const dst = new Float64Array(roomFor(n, cap) * STRIDE)
  const end = n * STRIDE
  for (let j = 0; j < end; j++) dst[j] = src[j]!
  return new Node(owner, true, node.keys.slice(), dst, NO_CHILDREN)
}

// --- binary search (plain `<` is bytewise order for latin1 strings) ---

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

/** First index whose key is > key; for internal nodes this is the child to descend into. */
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

// --- leaf entry helpers ---

function readEntry(vals: Float64Array, i: number, out: IndexEntry): void {
  const b = i * STRIDE
  out.seg = vals[b]!
  out.offset = vals[b + 1]!
  out.size = vals[b + 2]!
  out.expires = vals[b + 3]!
  out.seq = vals[b + 4]!
}

function writeEntry(
  vals: Float64Array,
  i: number,
  seg: number,
  offset: number,
  size: number,
  expires: number,
  seq: number,
): void {
  const b = i * STRIDE
  vals[b] = seg
  vals[b + 1] = offset
  vals[b + 2] = size
  vals[b + 3] = expires
  vals[b + 4] = seq
}

/** Inserts at i; the leaf must hold fewer than cap entries. */
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
  let vals = leaf.vals
  if ((n + 1) * STRIDE > vals.length) {
    const grown = new Float64Array(roomFor(n, cap) * STRIDE)
    const split = i * STRIDE
    const end = n * STRIDE
    for (let j = 0; j < split; j++) grown[j] = vals[j]!
    for (let j = split; j < end; j++) grown[j + STRIDE] = vals[j]!
    leaf.vals = vals = grown
  } else if (i < n) {
    vals.copyWithin((i + 1) * STRIDE, i * STRIDE, n * STRIDE)
  }
  writeEntry(vals, i, seg, offset, size, expires, seq)
  arrInsert(keys, i, key)
}

function leafRemove(leaf: Node, i: number, cap: number): void {
  const keys = leaf.keys
  const n = keys.length
  const vals = leaf.vals
  if (i < n - 1) vals.copyWithin(i * STRIDE, (i + 1) * STRIDE, n * STRIDE)
  arrRemove(keys, i)
  // Give back value space once a leaf has shrunk well below its array, so a
  // shrinking tree does not keep its peak footprint.
  const want = roomFor(n - 1, cap)
  if (vals.length >= (want + 2 * CHUNK) * STRIDE) leaf.vals = vals.slice(0, want * STRIDE)
}

/** Appends all entries of `src` to leaf `dst` (which must have room up to cap). */
function leafAppend(dst: Node, src: Node, cap: number): void {
  const dn = dst.keys.length
  const sn = src.keys.length
  let dv = dst.vals
  if ((dn + sn) * STRIDE > dv.length) {
    const grown = new Float64Array(roomFor(dn + sn, cap) * STRIDE)
    const end = dn * STRIDE
    for (let j = 0; j < end; j++) grown[j] = dv[j]!
    dst.vals = dv = grown
  }
  const sv = src.vals
  const base = dn * STRIDE
  const end = sn * STRIDE
  for (let j = 0; j < end; j++) dv[base + j] = sv[j]!
  const dk = dst.keys
  const sk = src.keys
  for (let j = 0; j < sn; j++) dk.push(sk[j]!)
}

// --- read-only tree operations shared by the live tree and snapshots ---

function findLeaf(root: Node, key: string): Node {
  let node = root
  while (!node.leaf) node = node.children[upperBound(node.keys, key)]!
  return node
}

function treeGet(root: Node, key: string, out: IndexEntry): boolean {
  const leaf = findLeaf(root, key)
  const keys = leaf.keys
  const i = lowerBound(keys, key)
  if (i < keys.length && keys[i] === key) {
    readEntry(leaf.vals, i, out)
    return true
  }
  return false
}

function treeHas(root: Node, key: string): boolean {
  const keys = findLeaf(root, key).keys
  const i = lowerBound(keys, key)
  return i < keys.length && keys[i] === key
}

function treeFirst(root: Node): string | undefined {
  let node = root
  while (!node.leaf) node = node.children[0]!
  return node.keys[0]
}

function treeLast(root: Node): string | undefined {
  let node = root
  while (!node.leaf) node = node.children[node.children.length - 1]!
  return node.keys[node.keys.length - 1]
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
    if (this.done) return undefined
    const h = this.h
    let leaf = this.nodes[h]!
    let i = this.idx[h]!
    if (!this.reverse) {
      while (i >= leaf.keys.length) {
        if (!this.step(false)) return this.end()
        leaf = this.nodes[h]!
        i = 0
      }
      const key = leaf.keys[i]!
      const hi = this.hi
      if (hi !== undefined && (this.hiInc ? key > hi : key >= hi)) return this.end()
      readEntry(leaf.vals, i, out)
      this.idx[h] = i + 1
      return key
    }
    while (i < 0) {
      if (!this.step(true)) return this.end()
      leaf = this.nodes[h]!
      i = leaf.keys.length - 1
    }
    const key = leaf.keys[i]!
    const lo = this.lo
    if (lo !== undefined && (this.loInc ? key < lo : key <= lo)) return this.end()
    readEntry(leaf.vals, i, out)
    this.idx[h] = i - 1
    return key
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
      const keys = leaf.keys
      const n = keys.length
      const i = this.idx[h]!
      if (i >= n) {
        if (!this.step(false)) break
        continue
      }
      if (hi !== undefined) {
        const lastKey = keys[n - 1]!
        if (this.hiInc ? lastKey > hi : lastKey >= hi) {
          const j = this.hiInc ? upperBound(keys, hi) : lowerBound(keys, hi)
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

  private end(): undefined {
    this.done = true
    return undefined
  }

  private descend(target: string, mode: number): void {
    const nodes = this.nodes
    const idx = this.idx
    let node = this.root
    let d = 0
    while (!node.leaf) {
      const i = upperBound(node.keys, target)
      nodes[d] = node
      idx[d] = i
      d++
      node = node.children[i]!
    }
    nodes[d] = node
    const keys = node.keys
    idx[d] =
      mode === AT_GE
        ? lowerBound(keys, target)
        : mode === AT_GT
          ? upperBound(keys, target)
          : mode === AT_LE
            ? upperBound(keys, target) - 1
            : lowerBound(keys, target) - 1
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
    idx[d] = right ? node.keys.length - 1 : 0
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
    idx[h] = node.keys.length - 1
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
    const i = this.findPath(key)
    const h = this.depth
    const found0 = this.pathNodes[h]!
    const found = i < found0.keys.length && found0.keys[i] === key
    if (found && previous !== undefined) readEntry(found0.vals, i, previous)
    this.snap = null
    this.ownPath(h)
    const leaf = this.pathNodes[h]!
    if (found) {
      writeEntry(leaf.vals, i, seg, offset, size, expires, seq)
      return true
    }
    this.count_++
    if (leaf.keys.length < this.cap) leafInsert(leaf, i, key, seg, offset, size, expires, seq, this.cap)
    else this.splitInsert(h, i, key, seg, offset, size, expires, seq)
    return false
  }

  delete(key: string, previous?: IndexEntry): boolean {
    const i = this.findPath(key)
    const h = this.depth
    const leaf = this.pathNodes[h]!
    if (i >= leaf.keys.length || leaf.keys[i] !== key) return false
    if (previous !== undefined) readEntry(leaf.vals, i, previous)
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
    const h = this.depth
    const leaf0 = this.pathNodes[h]!
    if (i >= leaf0.keys.length || leaf0.keys[i] !== key) return false
    const b = i * STRIDE
    if (leaf0.vals[b] !== expectSeg || leaf0.vals[b + 1] !== expectOffset) return false
    this.snap = null
    this.ownPath(h)
    writeEntry(this.pathNodes[h]!.vals, i, seg, offset, size, expires, seq)
    return true
  }

  deleteIf(key: string, expectSeg: number, expectOffset: number): boolean {
    const i = this.findPath(key)
    const h = this.depth
    const leaf = this.pathNodes[h]!
    if (i >= leaf.keys.length || leaf.keys[i] !== key) return false
    const b = i * STRIDE
    if (leaf.vals[b] !== expectSeg || leaf.vals[b + 1] !== expectOffset) return false
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
    this.root = newLeaf(this.token, this.cap)
    this.count_ = 0
    this.pathNodes.length = 0
    this.pathIdx.length = 0
    this.depth = 0
  }

  /** Read-only descent recording the path; returns the lower-bound index of key in the leaf. */
  private findPath(key: string): number {
    const pathNodes = this.pathNodes
    const pathIdx = this.pathIdx
    let node = this.root
    let d = 0
    while (!node.leaf) {
      const i = upperBound(node.keys, key)
      pathNodes[d] = node
      pathIdx[d] = i
      d++
      node = node.children[i]!
    }
    pathNodes[d] = node
    this.depth = d
    return lowerBound(node.keys, key)
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
    const rightVals = new Float64Array(roomFor(intoLeft ? rightN : rightN + 1, cap) * STRIDE)
    const src = leaf.vals
    const base = from * STRIDE
    const end = rightN * STRIDE
    for (let j = 0; j < end; j++) rightVals[j] = src[base + j]!
    const right = new Node(token, true, leaf.keys.slice(from), rightVals, NO_CHILDREN)
    leaf.keys.length = from
    const leftRoom = roomFor(intoLeft ? from + 1 : from, cap) * STRIDE
    if (leftRoom < src.length) leaf.vals = src.slice(0, leftRoom)
    if (intoLeft) leafInsert(leaf, i, key, seg, offset, size, expires, seq, cap)
    else leafInsert(right, i - from, key, seg, offset, size, expires, seq, cap)

    let sep = right.keys[0]!
    let newNode = right
    for (let d = h - 1; d >= 0; d--) {
      const parent = this.pathNodes[d]!
      const ci = this.pathIdx[d]!
      arrInsert(parent.keys, ci, sep)
      arrInsert(parent.children, ci + 1, newNode)
      if (parent.children.length <= cap) return
      // cap + 1 children: left keeps `leftChildren`, the separator between the halves moves up.
      const leftChildren = (cap + 1) >>> 1
      const pk = parent.keys
      const pc = parent.children
      sep = pk[leftChildren - 1]!
      newNode = new Node(token, false, pk.slice(leftChildren), NO_VALS, pc.slice(leftChildren))
      pk.length = leftChildren - 1
      pc.length = leftChildren
    }
    this.root = new Node(token, false, [sep], NO_VALS, [this.root, newNode])
  }

  private removeAt(h: number, i: number): void {
    this.snap = null
    this.ownPath(h)
    leafRemove(this.pathNodes[h]!, i, this.cap)
    this.count_--
    this.rebalance(h)
  }

  /** Restores minimum fill bottom-up after a removal by borrowing from or merging with a sibling. */
  private rebalance(h: number): void {
    const min = this.min
    const cap = this.cap
    for (let d = h; d > 0; d--) {
      const node = this.pathNodes[d]!
      const count = node.leaf ? node.keys.length : node.children.length
      if (count >= min) return
      const parent = this.pathNodes[d - 1]!
      const ci = this.pathIdx[d - 1]!
      if (ci > 0) {
        const left0 = parent.children[ci - 1]!
        const leftCount = left0.leaf ? left0.keys.length : left0.children.length
        const left = this.ownChild(parent, ci - 1)
        if (leftCount > min) {
          if (node.leaf) {
            const last = left.keys.length - 1
            const b = last * STRIDE
            const lv = left.vals
            leafInsert(node, 0, left.keys[last]!, lv[b]!, lv[b + 1]!, lv[b + 2]!, lv[b + 3]!, lv[b + 4]!, cap)
            leafRemove(left, last, cap)
            parent.keys[ci - 1] = node.keys[0]!
          } else {
            arrInsert(node.children, 0, left.children.pop()!)
            arrInsert(node.keys, 0, parent.keys[ci - 1]!)
            parent.keys[ci - 1] = left.keys.pop()!
          }
          return
        }
        this.merge(parent, ci - 1, left, node)
      } else {
        const right0 = parent.children[1]!
        const rightCount = right0.leaf ? right0.keys.length : right0.children.length
        if (rightCount > min) {
          const right = this.ownChild(parent, 1)
          if (node.leaf) {
            const rv = right.vals
            leafInsert(node, node.keys.length, right.keys[0]!, rv[0]!, rv[1]!, rv[2]!, rv[3]!, rv[4]!, cap)
            leafRemove(right, 0, cap)
            parent.keys[0] = right.keys[0]!
          } else {
            node.children.push(right.children[0]!)
            arrRemove(right.children, 0)
            node.keys.push(parent.keys[0]!)
            parent.keys[0] = right.keys[0]!
            arrRemove(right.keys, 0)
          }
          return
        }
        // The right sibling is only read, so it need not be owned.
        this.merge(parent, 0, node, right0)
      }
    }
    const root = this.root
    if (!root.leaf && root.children.length === 1) this.root = root.children[0]!
  }

  /** Moves everything from parent.children[li + 1] into the owned `left` = parent.children[li]. */
  private merge(parent: Node, li: number, left: Node, right: Node): void {
    if (left.leaf) {
      leafAppend(left, right, this.cap)
    } else {
      left.keys.push(parent.keys[li]!)
      const rk = right.keys
      for (let j = 0; j < rk.length; j++) left.keys.push(rk[j]!)
      const rc = right.children
      for (let j = 0; j < rc.length; j++) left.children.push(rc[j]!)
    }
    arrRemove(parent.keys, li)
    arrRemove(parent.children, li + 1)
  }
}

/**
 * @internal
 * Verifies the structural invariants of the tree behind an OrderedIndex or a
 * snapshot and throws on the first violation. Returns shape statistics.
 */
export function checkInvariants(index: IndexView): { height: number; nodes: number; leaves: number } {
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
  let leafDepth = -1
  let nodes = 0
  let leaves = 0
  let total = 0
  const fail = (msg: string): never => {
    throw new Error(`ordered-index invariant violated: ${msg}`)
  }
  // Every key k in the subtree must satisfy lo <= k < hi (undefined = unbounded).
  const visit = (node: Node, depth: number, lo: string | undefined, hi: string | undefined): void => {
    nodes++
    const keys = node.keys
    const isRoot = depth === 0
    for (let i = 1; i < keys.length; i++) {
      if (!(keys[i - 1]! < keys[i]!)) fail(`keys not strictly ascending at depth ${depth}`)
    }
    if (keys.length > 0) {
      if (lo !== undefined && keys[0]! < lo) fail(`key below its separator at depth ${depth}`)
      if (hi !== undefined && !(keys[keys.length - 1]! < hi)) fail(`key not below its separator at depth ${depth}`)
    }
    if (node.leaf) {
      leaves++
      if (node.children.length !== 0) fail('leaf with children')
      if (leafDepth === -1) leafDepth = depth
      else if (leafDepth !== depth) fail(`leaves at depths ${leafDepth} and ${depth}`)
      if (keys.length > cap) fail(`leaf holds ${keys.length} > ${cap}`)
      if (!isRoot && keys.length < min) fail(`leaf holds ${keys.length} < ${min}`)
      if (node.vals.length % STRIDE !== 0) fail('leaf value array not a multiple of the stride')
      if (node.vals.length < keys.length * STRIDE) fail('leaf value array too short')
      if (node.vals.length > cap * STRIDE) fail('leaf value array beyond capacity')
      total += keys.length
      return
    }
    const children = node.children
    if (node.vals.length !== 0) fail('internal node with values')
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
  return { height: leafDepth + 1, nodes, leaves }
}
