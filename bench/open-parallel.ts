/**
 * Would a second thread make a reopen faster? (bench/NOTES.md section 14.)
 * Rebuilds the index of a database from its hints in four ways, each in a
 * fresh process (a first open: index memory is new, the JIT is cold), the
 * ways taking turns in rotated order, and prints the median ms of each and
 * its median per-round ratio to the engine's own open:
 *
 *   engine  CaskDB.open + first get (the engine as shipped)
 *   one     the open's k-way merge of the hints into a bulk loader, on the main thread
 *   split   the key range cut in two at the middle key of the largest hint: the
 *           lower half merged and loaded on the main thread while a worker thread
 *           merges and loads the upper half into an index of its own (done when both are)
 *   pipe    a worker thread checks, decodes and merges every hint and hands the
 *           winning entries over a SharedArrayBuffer ring; the main thread only bulk-loads
 *   load    the floor of any way that builds the index on the main thread: the
 *           merge runs first, untimed, into flat arrays; only the bulk load of its
 *           output into the index is timed (with its first writes to fresh memory)
 *
 *   node --import tsx bench/open-parallel.ts [--dir bench/.tmp/fixtures/full/million/caskdb] [--rounds 6]
 *   node --import tsx bench/open-parallel.ts --contention [--rounds 3]
 *
 * --contention times two loops alone and then while a worker thread runs
 * the same loop: one of integer arithmetic only, and one of random writes
 * into an 8 MiB Float64Array (larger than a core's L2) of its own per thread,
 * and one that makes new 8 MiB arrays and writes once per 4 KiB page (page
 * faults, as an open's index memory takes them, and frees).
 *
 * `one`, `split` and `pipe` use the same merge loop (the engine's HintMerge
 * without its time slices and dead-byte bookkeeping, on the engine's own
 * keyHead and siftDown from src/recovery.ts), so they compare like
 * with like; `split` leaves the worker's half in the worker (handing its
 * leaves to the main thread would cost more), so its figure is a lower bound.
 * Hints are read into SharedArrayBuffers, so no thread copies them.
 */
import { spawnSync } from 'node:child_process'
import { closeSync, cpSync, fstatSync, mkdtempSync, openSync, readSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads'
import { CaskDB } from '../src/index.js'
import { HintCursor, readHintHeader } from '../src/format/hint.js'
import { OrderedIndex } from '../src/index/ordered-index.js'
import { keyHead, siftDown, type MergeSource } from '../src/recovery.js'
import { arg } from './lib/script.js'

const MODES = ['engine', 'one', 'split', 'pipe', 'load'] as const
type Mode = (typeof MODES)[number]

interface SharedHint {
  id: number
  path: string
  bytes: SharedArrayBuffer
}

interface Source extends MergeSource {
  seg: number
}

/** Entries the pipe's ring holds, and the layout of one: 5 doubles, then a length byte and the key. */
const RING_SLOTS = 1 << 16
const SLOT_BYTES = 64
const SLOT_KEY = 40
const PUBLISH_EVERY = 2048
/** The ring's control words: entries written, entries read, producer done. */
const WRITTEN = 0
const READ = 1
const DONE = 2

function readShared(path: string): SharedArrayBuffer {
  const fd = openSync(path, 'r')
  const size = fstatSync(fd).size
  const bytes = new SharedArrayBuffer(size)
  const buf = Buffer.from(bytes)
  for (let at = 0; at < size; ) at += readSync(fd, buf, at, size - at, at)
  closeSync(fd)
  return bytes
}

function readHints(dir: string): SharedHint[] {
  const hints: SharedHint[] = []
  for (const name of readdirSync(dir).sort()) {
    const m = /^(\d+)\.(active\.)?hint$/.exec(name)
    if (m !== null) hints.push({ id: Number(m[1]), path: join(dir, name), bytes: readShared(join(dir, name)) })
  }
  return hints
}

/** The cursor's key compared with key[0 .. keyLength) (negative: it sorts before). */
function compareKey(c: HintCursor, key: Uint8Array, keyLength: number): number {
  const n = Math.min(c.keyLength, keyLength)
  const b = c.keyBuf
  for (let j = 0; j < n; j++) if (b[j] !== key[j]) return b[j]! - key[j]!
  return c.keyLength - keyLength
}

/**
 * The winning entry of every key in [from, to) (null: unbounded), in key
 * order, one per next(): the k-way merge of the engine's HintMerge.
 */
class Merge {
  key = Buffer.allocUnsafe(1024)
  keyLength = 0
  seg = 0
  offset = 0
  size = 0
  expires = 0
  seq = 0
  readonly #heap: Source[] = []
  readonly #to: Uint8Array | null

  constructor(hints: SharedHint[], from: Uint8Array | null, to: Uint8Array | null) {
    this.#to = to
    for (const hint of hints) {
      const buf = Buffer.from(hint.bytes)
      const cursor = new HintCursor(buf, hint.path, readHintHeader(buf, hint.path))
      let more = cursor.next()
      while (more && from !== null && compareKey(cursor, from, from.length) < 0) more = cursor.next()
      if (more && (to === null || compareKey(cursor, to, to.length) < 0)) this.#heap.push({ cursor, head: keyHead(cursor.keyBuf, cursor.keyLength), seg: hint.id })
    }
    for (let i = (this.#heap.length >>> 1) - 1; i >= 0; i--) siftDown(this.#heap, i)
  }

  #advance(s: Source): boolean {
    const c = s.cursor
    if (!c.next()) return false
    const to = this.#to
    if (to !== null && compareKey(c, to, to.length) >= 0) return false
    s.head = keyHead(c.keyBuf, c.keyLength)
    return true
  }

  next(): boolean {
    const heap = this.#heap
    const key = this.key
    while (heap.length > 0) {
      let top = heap[0]!
      let c = top.cursor
      const head = top.head
      const keyLength = c.keyLength
      const from = c.keyBuf
      for (let j = 0; j < keyLength; j++) key[j] = from[j]!
      let seg = top.seg
      let type = c.type
      let seq = c.seq
      let offset = c.offset
      let size = c.size
      let expires = c.expires
      for (;;) {
        if (c.seq > seq) {
          seg = top.seg
          type = c.type
          seq = c.seq
          offset = c.offset
          size = c.size
          expires = c.expires
        }
        if (!this.#advance(top)) {
          const last = heap.pop()!
          if (heap.length === 0) break
          heap[0] = last
          siftDown(heap, 0)
        } else if (heap.length > 1) {
          siftDown(heap, 0)
        }
        const next = heap[0]!
        if (next === top ? !c.sameKey : next.head !== head || compareKey(next.cursor, key, keyLength) !== 0) break
        top = next
        c = top.cursor
      }
      if (type === 2) continue // a delete: nothing to load
      this.keyLength = keyLength
      this.seg = seg
      this.offset = offset
      this.size = size
      this.expires = expires
      this.seq = seq
      return true
    }
    return false
  }
}

function loadRange(hints: SharedHint[], from: Uint8Array | null, to: Uint8Array | null): number {
  const index = new OrderedIndex()
  const loader = index.bulkLoad()
  const m = new Merge(hints, from, to)
  while (m.next()) loader.addBytes(m.key, 0, m.keyLength, m.seg, m.offset, m.size, m.expires, m.seq)
  loader.finish()
  return index.size
}

/** The middle key of the largest hint: where `split` cuts the key range. */
function middleKey(hints: SharedHint[]): Buffer {
  const largest = hints.reduce((a, b) => (b.bytes.byteLength > a.bytes.byteLength ? b : a))
  const buf = Buffer.from(largest.bytes)
  const cursor = new HintCursor(buf, largest.path, readHintHeader(buf, largest.path))
  for (let i = 0; i <= cursor.header.count >>> 1; i++) cursor.next()
  return Buffer.from(cursor.keyBuf.subarray(0, cursor.keyLength))
}

type Job = { mode: 'split'; hints: SharedHint[]; from: Uint8Array } | { mode: 'pipe'; hints: SharedHint[]; ring: SharedArrayBuffer; control: SharedArrayBuffer }

function produce(hints: SharedHint[], ring: SharedArrayBuffer, controlBytes: SharedArrayBuffer): void {
  const control = new Int32Array(controlBytes)
  const nums = new Float64Array(ring)
  const bytes = new Uint8Array(ring)
  let written = 0
  const publish = (): void => {
    Atomics.store(control, WRITTEN, written)
    Atomics.notify(control, WRITTEN)
  }
  const m = new Merge(hints, null, null)
  while (m.next()) {
    const n = m.keyLength
    if (n > SLOT_BYTES - SLOT_KEY - 1) throw new Error('key too long for the experiment ring')
    while (written - Atomics.load(control, READ) >= RING_SLOTS) {
      publish()
      Atomics.wait(control, READ, Atomics.load(control, READ), 5)
    }
    const slot = written & (RING_SLOTS - 1)
    const b = slot * (SLOT_BYTES / 8)
    nums[b] = m.seg
    nums[b + 1] = m.offset
    nums[b + 2] = m.size
    nums[b + 3] = m.expires
    nums[b + 4] = m.seq
    const k = slot * SLOT_BYTES + SLOT_KEY
    bytes[k] = n
    const key = m.key
    for (let j = 0; j < n; j++) bytes[k + 1 + j] = key[j]!
    if (++written % PUBLISH_EVERY === 0) publish()
  }
  publish()
  Atomics.store(control, DONE, 1)
  Atomics.notify(control, WRITTEN)
}

async function child(mode: Mode, dir: string): Promise<Record<string, number>> {
  const start = performance.now()
  if (mode === 'engine') {
    const db = await CaskDB.open(dir)
    await db.get('absent')
    const ms = performance.now() - start
    const keys = db.stats().keys
    await db.close()
    return { ms, keys }
  }
  if (mode === 'load') return loadOnly(dir)
  const worker = mode === 'one' ? undefined : new Worker(new URL(import.meta.url))
  const hints = readHints(dir)
  if (mode === 'one') {
    const keys = loadRange(hints, null, null)
    return { ms: performance.now() - start, keys }
  }
  if (mode === 'split') {
    const middle = middleKey(hints)
    const theirs = new Promise<number>((done) => worker!.once('message', done))
    worker!.postMessage({ mode, hints, from: middle } satisfies Job)
    const mine = loadRange(hints, null, middle)
    const mainMs = performance.now() - start
    const keys = mine + (await theirs)
    const ms = performance.now() - start
    await worker!.terminate()
    return { ms, keys, mainMs }
  }
  const ring = new SharedArrayBuffer(RING_SLOTS * SLOT_BYTES)
  const controlBytes = new SharedArrayBuffer(16)
  const control = new Int32Array(controlBytes)
  worker!.postMessage({ mode, hints, ring, control: controlBytes } satisfies Job)
  const nums = new Float64Array(ring)
  const bytes = Buffer.from(ring)
  const index = new OrderedIndex()
  const loader = index.bulkLoad()
  let read = 0
  let waitedMs = 0
  for (;;) {
    const written = Atomics.load(control, WRITTEN)
    if (read === written) {
      if (Atomics.load(control, DONE) === 1 && Atomics.load(control, WRITTEN) === read) break
      const t = performance.now()
      Atomics.wait(control, WRITTEN, written, 5)
      waitedMs += performance.now() - t
      continue
    }
    for (; read < written; read++) {
      const slot = read & (RING_SLOTS - 1)
      const b = slot * (SLOT_BYTES / 8)
      const k = slot * SLOT_BYTES + SLOT_KEY
      loader.addBytes(bytes, k + 1, k + 1 + bytes[k]!, nums[b]!, nums[b + 1]!, nums[b + 2]!, nums[b + 3]!, nums[b + 4]!)
      if ((read & 1023) === 0) Atomics.store(control, READ, read)
    }
    Atomics.store(control, READ, read)
    Atomics.notify(control, READ)
  }
  loader.finish()
  const ms = performance.now() - start
  await worker!.terminate()
  return { ms, keys: index.size, waitedMs }
}

/** `load`: merges into flat arrays (untimed), then times the bulk load of them. */
function loadOnly(dir: string): Record<string, number> {
  const m = new Merge(readHints(dir), null, null)
  let keys = Buffer.allocUnsafe(1 << 24)
  let nums = new Float64Array(1 << 20)
  const ends: number[] = [0]
  let count = 0
  let used = 0
  while (m.next()) {
    if (used + m.keyLength > keys.length) keys = Buffer.concat([keys, Buffer.allocUnsafe(keys.length)])
    if (5 * count + 5 > nums.length) {
      const grown = new Float64Array(2 * nums.length)
      grown.set(nums)
      nums = grown
    }
    m.key.copy(keys, used, 0, m.keyLength)
    used += m.keyLength
    ends.push(used)
    const b = 5 * count++
    nums[b] = m.seg
    nums[b + 1] = m.offset
    nums[b + 2] = m.size
    nums[b + 3] = m.expires
    nums[b + 4] = m.seq
  }
  const start = performance.now()
  const index = new OrderedIndex()
  const loader = index.bulkLoad()
  for (let i = 0; i < count; i++) {
    const b = 5 * i
    loader.addBytes(keys, ends[i]!, ends[i + 1]!, nums[b]!, nums[b + 1]!, nums[b + 2]!, nums[b + 3]!, nums[b + 4]!)
  }
  loader.finish()
  return { ms: performance.now() - start, keys: index.size }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 === 1 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2
}

function spin(): number {
  let x = 0
  for (let i = 0; i < 3e8; i++) x = (x * 1664525 + 1013904223 + i) | 0
  return x
}

const scattered = new Float64Array(1 << 20)
function scatter(): number {
  const a = scattered
  for (let r = 0; r < 60; r++) for (let i = 0; i < a.length; i += 8) a[(i * 7919) & (a.length - 1)]! += i
  return a[5]!
}

function fresh(): number {
  let sum = 0
  for (let r = 0; r < 40; r++) {
    const a = new Float64Array(1 << 20)
    for (let i = 0; i < a.length; i += 512) a[i] = i
    sum += a[512]!
  }
  return sum
}

async function contention(rounds: number): Promise<void> {
  for (const [name, loop] of [['arithmetic', spin], ['random writes, 8 MiB', scatter], ['fresh 8 MiB arrays, a write per page', fresh]] as const) {
    for (let round = 0; round < rounds; round++) {
      let t = performance.now()
      loop()
      const alone = performance.now() - t
      const worker = new Worker(new URL(import.meta.url), { workerData: name })
      await new Promise((ready) => worker.once('message', ready))
      t = performance.now()
      loop()
      const together = performance.now() - t
      await worker.terminate()
      console.log(`${name}: alone ${alone.toFixed(0)} ms, while a worker thread runs it too ${together.toFixed(0)} ms (${(together / alone).toFixed(2)}x)`)
    }
  }
}

if (!isMainThread && typeof workerData === 'string') {
  // --contention: the same loop as the main thread, until terminated.
  const loop = workerData === 'arithmetic' ? spin : workerData.startsWith('random') ? scatter : fresh
  parentPort!.postMessage('ready')
  for (;;) loop()
} else if (!isMainThread) {
  parentPort!.once('message', (job: Job) => {
    if (job.mode === 'split') parentPort!.postMessage(loadRange(job.hints, job.from, null))
    else produce(job.hints, job.ring, job.control)
  })
} else if (process.argv.includes('--contention-child')) {
  await contention(Number(arg('rounds', '3')))
} else if (process.argv.includes('--child')) {
  const result = await child(arg('child', 'one') as Mode, arg('dir', ''))
  console.log(JSON.stringify(result))
} else {
  const source = resolve(arg('dir', 'bench/.tmp/fixtures/full/million/caskdb'))
  const contentionOnly = process.argv.includes('--contention')
  const rounds = Number(arg('rounds', contentionOnly ? '3' : '6'))
  const work = mkdtempSync(join(tmpdir(), 'open-parallel-'))
  const dir = join(work, 'db')
  if (!contentionOnly) cpSync(source, dir, { recursive: true })
  // Children (and their worker threads) run compiled, as an application would: one esbuild bundle of this script and the engine.
  // Inside the repo, so that the packages it leaves external (lru-cache) resolve.
  const bundle = join(dirname(fileURLToPath(import.meta.url)), '.tmp', `open-parallel-${process.pid}.mjs`)
  const { build } = await import('esbuild')
  await build({ entryPoints: [fileURLToPath(import.meta.url)], outfile: bundle, bundle: true, platform: 'node', format: 'esm', target: 'node20', packages: 'external', logLevel: 'warning' })
  if (contentionOnly) {
    spawnSync(process.execPath, [bundle, '--contention-child', '--rounds', String(rounds)], { stdio: 'inherit' })
    rmSync(work, { recursive: true, force: true })
    rmSync(bundle, { force: true })
    process.exit(0)
  }
  const results = new Map<Mode, Array<Record<string, number>>>(MODES.map((m) => [m, []]))
  try {
    for (let round = 0; round < rounds; round++) {
      const order = MODES.map((_, i) => MODES[(i + round) % MODES.length]!)
      for (const mode of order) {
        const run = spawnSync(process.execPath, [bundle, '--child', mode, '--dir', dir], { encoding: 'utf8' })
        if (run.status !== 0) throw new Error(`${mode} failed: ${run.stderr}`)
        const result = JSON.parse(run.stdout.trim().split('\n').pop()!) as Record<string, number>
        results.get(mode)!.push(result)
        console.log(`round ${round + 1} ${mode.padEnd(6)} ${JSON.stringify(result)}`)
      }
    }
  } finally {
    rmSync(work, { recursive: true, force: true })
    rmSync(bundle, { force: true })
  }
  const engine = results.get('engine')!
  console.log('\n| way | median ms | range | median ratio to engine (per round) |\n|---|---|---|---|')
  for (const mode of MODES) {
    const runs = results.get(mode)!
    const ms = runs.map((r) => r.ms!)
    const ratios = runs.map((r, i) => r.ms! / engine[i]!.ms!)
    const extra = Object.entries(runs[0]!).filter(([k]) => k !== 'ms' && k !== 'keys').map(([k]) => `, ${k} ${median(runs.map((r) => r[k]!)).toFixed(0)}`).join('')
    console.log(`| ${mode} | ${median(ms).toFixed(0)}${extra} | ${Math.min(...ms).toFixed(0)}–${Math.max(...ms).toFixed(0)} | ${median(ratios).toFixed(2)} |`)
  }
}
