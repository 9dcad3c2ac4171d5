/**
 * Fault-injection sweep (SQLite-style): run one workload with a counting
 * FaultyFs to learn how many calls of each kind it makes, then run it again
 * once per chosen call, failing exactly that call (EIO, ENOSPC, EACCES, a torn
 * write, or "from here on everything fails"). After every run:
 *
 *  - every operation that failed rejected with a coded CaskError
 *    (IO_ERROR / READ_ONLY / CORRUPTION), and background failures (sealing,
 *    compaction) arrived as coded errors on the 'error' event;
 *  - no read ever returned bytes that were not the key's acknowledged value
 *    (or the value of a write whose outcome the failure made unknown);
 *  - the database kept serving, or refused writes with READ_ONLY;
 *  - reopening with the real file system recovers every acknowledged write,
 *    batches all-or-nothing, and leaves no damage behind (verify() is clean).
 *
 * The workload: puts (some `sync: true`), batches, a burst of concurrent puts
 * (group commit), overwrites and deletes with 4 KiB segments (rotation,
 * sealing, hint files), compact(), backup() + opening the backup, close,
 * reopen through the faulty layer (recovery under faults), more writes,
 * compaction and close. Kinds with many calls are sampled (seeded, evenly
 * spread, first and last call always included); every kind is covered.
 *
 * CASKDB_SWEEP_SAMPLES=<n> raises the per-kind sample (default 14);
 * CASKDB_SWEEP_SAMPLES=all runs every call of every kind (slow: minutes).
 */
import test from 'tape'
import { join } from 'node:path'
import { readdirSync } from 'node:fs'
import { CaskDB, type CaskOptions, type ErrorCode, type FileSystem } from '../../src/index.js'
import { CALL_KINDS, FaultyFs, type CallKind, type DenyRule, type Fault } from '../helpers/faulty-fs.js'
import { tempDir } from '../helpers/tmp.js'
import { HangError, coded, describeError, noUnhandledRejections, prng, settle } from './support.js'

const SAMPLES = process.env['CASKDB_SWEEP_SAMPLES'] ?? '14'
const WRITE_CODES: readonly ErrorCode[] = ['IO_ERROR', 'READ_ONLY']
const ANY_FAULT: readonly ErrorCode[] = ['IO_ERROR', 'READ_ONLY', 'CORRUPTION']

/** What each key may hold: its acknowledged value, plus values of writes whose outcome is unknown. */
class Model {
  readonly #possible = new Map<string, Set<string | undefined>>()
  /** Batches with unique keys (never overwritten): checked all-or-nothing. */
  readonly batches: { keys: string[]; value: string }[] = []

  write(key: string, value: string | undefined, acknowledged: boolean): void {
    const set = this.#possible.get(key) ?? new Set([undefined])
    if (acknowledged) set.clear()
    set.add(value)
    this.#possible.set(key, set)
  }

  allows(key: string, value: string | undefined): boolean {
    return (this.#possible.get(key) ?? new Set([undefined])).has(value)
  }

  keys(): string[] {
    return [...this.#possible.keys()]
  }

  clone(): Model {
    const copy = new Model()
    for (const [k, set] of this.#possible) copy.#possible.set(k, new Set(set))
    copy.batches.push(...this.batches)
    return copy
  }
}

interface Run {
  faults: Fault[]
  /** writeBuffer mode: a resolved write is acknowledged from RAM; it counts once a flush (or close) succeeds. */
  buffered: boolean
  /** Buffered writes not yet covered by a successful flush. */
  pending: Map<string, string | undefined>
  model: Model
  /** Violations: untyped errors, wrong bytes, lost writes. */
  problems: string[]
  /** Coded rejections seen (for the summary). */
  rejections: number
  backgroundErrors: unknown[]
}

const value = (key: string, version: number) => `${key}:v${version}:` + 'x'.repeat(40 + ((key.length * 7 + version * 13) % 60))

async function attempt<T>(run: Run, what: string, p: Promise<T>, allowed: readonly ErrorCode[]): Promise<{ ok: boolean; value?: T }> {
  const r = await settle(p, what)
  if (r.ok) return { ok: true, value: r.value }
  run.rejections++
  if (!coded(r.error, allowed)) run.problems.push(`${what} rejected with an unexpected error: ${describeError(r.error)}`)
  return { ok: false }
}

/** Records the outcome of a write in the model. */
function record(run: Run, key: string, v: string | undefined, ok: boolean): void {
  if (ok && run.buffered) run.pending.set(key, v)
  run.model.write(key, v, ok && !run.buffered)
}

/** A flush or close succeeded: every buffered write before it is on disk. */
function flushed(run: Run): void {
  for (const [key, v] of run.pending) run.model.write(key, v, true)
  run.pending.clear()
}

async function put(run: Run, db: CaskDB, key: string, v: string, sync = false): Promise<void> {
  const { ok } = await attempt(run, `put ${key}`, db.put(key, v, { sync }), WRITE_CODES)
  record(run, key, v, ok)
}

async function del(run: Run, db: CaskDB, key: string): Promise<void> {
  const { ok } = await attempt(run, `del ${key}`, db.del(key), WRITE_CODES)
  record(run, key, undefined, ok)
}

async function batch(run: Run, db: CaskDB, name: string, size: number, sync: boolean): Promise<void> {
  const keys = Array.from({ length: size }, (_, j) => `${name}-${j}`)
  const v = value(name, 0)
  const { ok } = await attempt(run, `batch ${name}`, db.batch(keys.map((key) => ({ type: 'put' as const, key, value: v })), { sync }), WRITE_CODES)
  for (const key of keys) record(run, key, v, ok)
  run.model.batches.push({ keys, value: v })
}

/** Reads every key and one full iteration; reads may fail (IO_ERROR) but never return wrong bytes. */
async function checkLive(run: Run, db: CaskDB, when: string, model = run.model): Promise<void> {
  for (const key of model.keys()) {
    const r = await attempt(run, `get ${key} (${when})`, db.get(key), ['IO_ERROR'])
    if (r.ok && !model.allows(key, r.value?.toString())) {
      run.problems.push(`${when}: get ${key} returned ${JSON.stringify(r.value?.toString().slice(0, 30))}, never acknowledged`)
    }
  }
  const it = await attempt(run, `iterate (${when})`, db.iterator().all(), ['IO_ERROR'])
  if (it.ok) checkEntries(run, it.value!, model, when)
}

function checkEntries(run: Run, entries: [Buffer | undefined, Buffer | undefined][], model: Model, when: string): void {
  const known = new Set(model.keys())
  for (let i = 0; i < entries.length; i++) {
    const key = entries[i]![0]!.toString()
    if (i > 0 && Buffer.compare(entries[i - 1]![0]!, entries[i]![0]!) >= 0) run.problems.push(`${when}: iteration not sorted/unique at ${key}`)
    if (!known.has(key)) run.problems.push(`${when}: iteration yields ${key}, never written`)
    else if (!model.allows(key, entries[i]![1]!.toString())) run.problems.push(`${when}: iteration yields a wrong value for ${key}`)
  }
  const present = new Set(entries.map(([k]) => k!.toString()))
  for (const key of known) {
    if (!present.has(key) && !model.allows(key, undefined)) run.problems.push(`${when}: acknowledged key ${key} is missing`)
  }
}

const VARIANTS = {
  /** Default write mode, explicit compaction only: the call sequence is the same every run. */
  direct: { maxSegmentSize: 4096, autoCompact: false, cacheSize: 0, compactionMinDeadBytes: 256 },
  /** RAM write buffer and background compaction (failures there go to the 'error' event). */
  buffered: {
    maxSegmentSize: 4096,
    writeBuffer: true,
    writeBufferSize: 2048,
    flushInterval: 2 ** 31 - 1,
    autoCompact: true,
    compactionMinDeadRatio: 0.3,
    compactionMinDeadBytes: 256,
    cacheSize: 0,
  },
} satisfies Record<string, CaskOptions>

type Variant = keyof typeof VARIANTS

function options(fs: FileSystem, variant: Variant): CaskOptions {
  return { ...VARIANTS[variant], fs }
}

async function flushPoint(run: Run, db: CaskDB, what: string): Promise<void> {
  if (run.buffered && (await attempt(run, `flush (${what})`, db.flush(), WRITE_CODES)).ok) flushed(run)
}

/** The workload; every step tolerates the failures a fault may cause, and checks what it must. */
async function workload(fs: FileSystem, variant: Variant, location: string, backupRoot: string, run: Run): Promise<void> {
  let db = new CaskDB(location, options(fs, variant))
  db.on('error', (err) => run.backgroundErrors.push(err))
  if (!(await attempt(run, 'first open', db.open(), ANY_FAULT)).ok) return

  for (let i = 0; i < 30; i++) await put(run, db, `k${i}`, value(`k${i}`, 1), i % 6 === 0)
  for (let n = 0; n < 4; n++) await batch(run, db, `b${n}`, 4, n === 1)
  // A burst in one turn of the event loop: one write(2), one fsync for the sync ones.
  const burst = Array.from({ length: 16 }, (_, i) => {
    const key = `c${i}`
    const v = value(key, 1)
    const p = settle(db.put(key, v, { sync: i % 4 === 0 }), `put ${key}`)
    return p.then((r) => {
      if (!r.ok) {
        run.rejections++
        if (!coded(r.error, WRITE_CODES)) run.problems.push(`put ${key}: ${describeError(r.error)}`)
      }
      record(run, key, v, r.ok)
    })
  })
  await Promise.all(burst)
  await flushPoint(run, db, 'after the burst')
  for (let i = 0; i < 30; i++) await put(run, db, `k${i}`, value(`k${i}`, 2))
  for (let i = 0; i < 30; i += 3) await del(run, db, `k${i}`)
  await attempt(run, 'compact', db.compact(), ANY_FAULT)
  await checkLive(run, db, 'after compaction')

  const atBackup = run.model.clone()
  const dest = join(backupRoot, 'backup')
  if ((await attempt(run, 'backup', db.backup(dest), ANY_FAULT)).ok) {
    flushed(run) // backup() flushes the write buffer first
    const copy = await settle(CaskDB.open(dest), 'open backup')
    if (!copy.ok) run.problems.push(`the backup does not open: ${describeError(copy.error)}`)
    else {
      const entries = await copy.value.iterator().all()
      checkEntries(run, entries, atBackup, 'backup')
      await copy.value.close()
    }
  } else if (readdirSync(backupRoot).length > 0 && !run.faults.some((f) => f.kind === 'rmrf')) {
    run.problems.push(`a failed backup left ${readdirSync(backupRoot).join(', ')} behind`)
  }
  if ((await attempt(run, 'close', db.close(), ANY_FAULT)).ok) flushed(run)
  run.pending.clear() // a failed close may have dropped them: they stay possible, no longer pending

  // Recovery through the faulty layer.
  db = new CaskDB(location, options(fs, variant))
  db.on('error', (err) => run.backgroundErrors.push(err))
  if (!(await attempt(run, 'reopen', db.open(), ANY_FAULT)).ok) return
  await checkLive(run, db, 'after reopen')
  for (let i = 30; i < 45; i++) await put(run, db, `k${i}`, value(`k${i}`, 1), i % 5 === 0)
  for (let i = 1; i < 30; i += 3) await put(run, db, `k${i}`, value(`k${i}`, 3))
  await batch(run, db, 'b9', 3, false)
  await flushPoint(run, db, 'before compact 2')
  await del(run, db, 'k31')
  await attempt(run, 'compact 2', db.compact(), ANY_FAULT)
  await checkLive(run, db, 'end of workload')
  if ((await attempt(run, 'close 2', db.close(), ANY_FAULT)).ok) flushed(run)
  run.pending.clear() // a failed close may have dropped them: they stay possible, no longer pending
}

/** After a run: the real file system must recover every acknowledged write and leave no damage. */
async function checkRecovered(run: Run, location: string): Promise<void> {
  const opened = await settle(CaskDB.open(location, { maxSegmentSize: 4096, autoCompact: false }), 'final open')
  if (!opened.ok) {
    run.problems.push(`reopen with the real file system failed: ${describeError(opened.error)}`)
    return
  }
  const db = opened.value
  try {
    checkEntries(run, await db.iterator().all(), run.model, 'recovered')
    for (const b of run.model.batches) {
      const present = (await db.getMany(b.keys)).filter((v) => v?.toString() === b.value).length
      if (present !== 0 && present !== b.keys.length) run.problems.push(`batch ${b.keys[0]} partially present (${present}/${b.keys.length})`)
    }
    await db.put('after-recovery', 'accepted', { sync: true })
    if ((await db.get('after-recovery'))?.toString() !== 'accepted') run.problems.push('recovered database does not accept writes')
  } finally {
    await db.close()
  }
  const damage = await CaskDB.verify(location)
  if (damage.length > 0) run.problems.push(`damage left behind: ${damage.map((d) => d.message).join('; ')}`)
  const leftovers = readdirSync(location).filter((n) => n.endsWith('.tmp'))
  if (leftovers.length > 0) run.problems.push(`temporary files left after a clean open/close: ${leftovers.join(', ')}`)
}

async function runOnce(variant: Variant, scenario: Scenario): Promise<{ run: Run; counts: Record<CallKind, number>; injected: string | undefined }> {
  const faults = scenario.faults
  // Syncs are no-ops here: this sweep tests failure handling, not power loss (faults still hit them).
  const faulty = new FaultyFs(faults, { skipSync: true })
  faulty.deny = scenario.deny
  const location = join(tempDir('caskdb-sweep-'), 'db')
  const backupRoot = tempDir('caskdb-sweep-backup-')
  const fdsBefore = openFds()
  const run: Run = { faults, buffered: variant === 'buffered', pending: new Map(), model: new Model(), problems: [], rejections: 0, backgroundErrors: [] }
  const { unhandled } = await noUnhandledRejections(async () => {
    try {
      await workload(faulty.fs, variant, location, backupRoot, run)
    } catch (err) {
      if (err instanceof HangError) run.problems.push(err.message)
      else run.problems.push(`workload threw: ${describeError(err)}`)
    }
  })
  for (const err of unhandled) run.problems.push(`unhandled rejection: ${describeError(err)}`)
  for (const err of run.backgroundErrors) {
    if (!coded(err, ANY_FAULT)) run.problems.push(`background error without a code: ${describeError(err)}`)
  }
  if (faults.length === 0 && run.rejections > 0) run.problems.push(`${run.rejections} operations failed without any fault`)
  await checkRecovered(run, location)
  const leaked = openFds() - fdsBefore
  if (leaked > 0) run.problems.push(`${leaked} file descriptors leaked`)
  return { run, counts: { ...faulty.counts }, injected: faulty.lastInjected }
}

/** Open file descriptors of this process (Linux). */
function openFds(): number {
  return readdirSync('/proc/self/fd').length
}

/** Which call numbers to fail for a kind with `count` calls. */
function sample(count: number, limit: number, random: () => number): number[] {
  if (count <= limit) return Array.from({ length: count }, (_, i) => i + 1)
  const picked = new Set<number>([1, count])
  for (let i = 1; picked.size < limit - limit / 3 && i < limit; i++) picked.add(1 + Math.round(((count - 1) * i) / (limit - 1)))
  while (picked.size < limit) picked.add(1 + Math.floor(random() * count))
  return [...picked].sort((a, b) => a - b)
}

function faultsFor(kind: CallKind, nths: number[], random: () => number): Fault[] {
  return nths.flatMap((nth, i) => {
    const faults: Fault[] = [{ kind, nth, code: i % 2 === 0 ? 'EIO' : 'ENOSPC' }]
    if (kind === 'write' && i % 2 === 0) faults.push({ kind, nth, code: 'ENOSPC', tornBytes: 1 + Math.floor(random() * 60) })
    if (i % 5 === 2) faults.push({ kind, nth, code: 'EACCES' })
    // The disk stays full / the device stays broken from this call on.
    if (i % 4 === 1 && (kind === 'write' || kind === 'fsync' || kind === 'open' || kind === 'rename')) {
      faults.push({ kind, nth, code: kind === 'write' ? 'ENOSPC' : 'EIO', sticky: true })
    }
    return faults
  })
}

interface Scenario {
  faults: Fault[]
  deny?: DenyRule
  label?: string
}

async function sweep(t: test.Test, variant: Variant): Promise<void> {
  const baseline = await runOnce(variant, { faults: [] })
  t.same(baseline.run.problems, [], 'the workload runs clean without faults')
  const counts = baseline.counts
  t.comment(`calls per kind: ${CALL_KINDS.map((k) => `${k}=${counts[k]}`).join(' ')}`)
  for (const kind of CALL_KINDS) {
    // ftruncate only runs to roll back a failed write or cut a torn tail: covered by the combinations below.
    if (kind !== 'truncate') t.ok(counts[kind] > 0, `the workload makes ${kind} calls (${counts[kind]})`)
  }
  const random = prng(variant === 'direct' ? 20240611 : 7)
  const limit = SAMPLES === 'all' ? Number.POSITIVE_INFINITY : Number(SAMPLES)
  const scenarios: Scenario[] = []
  for (const kind of CALL_KINDS) {
    if (counts[kind] === 0) continue
    for (const fault of faultsFor(kind, sample(counts[kind], limit, random), random)) scenarios.push({ faults: [fault] })
  }
  // Two failures at once: a torn write whose rollback (ftruncate) fails too, which
  // must turn the database read-only; a failed backup whose clean-up fails too;
  // a disk that is full from the start.
  for (const nth of sample(counts.write, Math.min(limit, 8), random)) {
    scenarios.push({ faults: [{ kind: 'write', nth, code: 'EIO', tornBytes: 7 }, { kind: 'truncate', nth: 1, code: 'EIO' }] })
  }
  scenarios.push({
    label: 'backup copy fails, then its clean-up fails',
    faults: [{ kind: 'link', nth: 1, code: 'EIO' }, { kind: 'rmrf', nth: 2, code: 'EIO' }],
    deny: (call) => (call.kind === 'open' && call.path?.includes('.partial-') ? 'ENOSPC' : undefined),
  })
  scenarios.push({ label: 'disk full from the start', faults: [{ kind: 'write', nth: 1, code: 'ENOSPC', sticky: true }] })

  let injectedRuns = 0
  let rejections = 0
  let background = 0
  const failures: string[] = []
  for (const scenario of scenarios) {
    const { run, injected } = await runOnce(variant, scenario)
    if (injected !== undefined) injectedRuns++
    rejections += run.rejections
    background += run.backgroundErrors.length
    if (run.problems.length > 0) {
      failures.push(`${scenario.label ?? JSON.stringify(scenario.faults)} [${injected ?? 'not reached'}]:\n    ${run.problems.slice(0, 4).join('\n    ')}`)
    }
  }
  t.comment(`${scenarios.length} faulted runs (${injectedRuns} reached their fault), ${rejections} coded rejections, ${background} coded background errors`)
  t.same(failures.slice(0, 8), [], `no violations in ${scenarios.length} faulted runs`)
  t.ok(injectedRuns > scenarios.length * 0.8, 'most runs reached their fault')
}

test('fault sweep (default write mode): every kind of file call fails in turn; nothing acknowledged is lost, every error is coded', (t) =>
  sweep(t, 'direct'))

test('fault sweep (write buffer, background compaction): same checks; buffered writes count once a flush succeeds', (t) =>
  sweep(t, 'buffered'))
