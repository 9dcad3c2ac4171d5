/**
 * Property-based model test (fast-check): random command sequences against an
 * in-memory model, with file damage between runs of the database. On a
 * failure fast-check shrinks the sequence to a minimal one and prints it with
 * the seed and path that replay it.
 *
 *   CASKDB_FC_RUNS=<n>   number of sequences (default 30: CI)
 *   CASKDB_FC_SEED=<n>   seed of a failing run, to reproduce it
 *   CASKDB_FC_PATH=<p>   with the seed: replay exactly the failing (shrunk) case
 *
 * Commands: put / del / batch (each optionally `sync: true`), get, iterate a
 * range (either direction, with a limit), take / check / release snapshots,
 * compact, backup and open the backup, close + reopen, and three kinds of
 * damage done while the database is closed:
 *
 *  - garbage appended to the active segment (the one being written: the
 *    highest-numbered data file without a hint). Nothing may be lost; the
 *    garbage must be cut and reported in stats().recovery.truncatedBytes.
 *  - the tail of the active segment torn inside its last write, as a power cut
 *    just before close() would leave it. Default-mode writes promise to
 *    survive a process crash, not power loss, so the last write may
 *    legitimately be lost, but only if it was not `sync: true`, no fsync of
 *    the log followed it (compaction syncs the log before it drops the older
 *    values a write superseded: tearing a synced write would be a power cut
 *    undoing an fsync, which no disk does) and it was made in the session
 *    being closed (a write of an earlier session was fsynced by that
 *    session's close). The model then rolls back to the state before
 *    that write. To be sure the bytes torn are that write, the test parses the
 *    file (record headers, batch headers) and tears only if the last
 *    group there is exactly the records of the model's last write (after a
 *    compaction the active segment may be empty, after a lost hint a
 *    compaction output holding an identical copy may be active: then the
 *    command does nothing).
 *  - a hint file deleted: nothing may be lost (the segment is scanned).
 *
 * Every close() before damage is a clean close, so everything acknowledged is
 * on disk; the only loss the model allows is the torn write above.
 */
import test from 'tape'
import fc from 'fast-check'
import { appendFileSync, existsSync, readFileSync, readdirSync, truncateSync, unlinkSync } from 'node:fs'
import { join } from 'node:path'
import { CaskDB, type CaskOptions, type Snapshot } from '../../src/index.js'
import { tempDir, tempPath } from '../helpers/tmp.js'
import { coded, describeError, dump, sortedEntries } from './support.js'
import { recordsIn, type RecordAt } from '../helpers/records.js'

const RUNS = Number(process.env['CASKDB_FC_RUNS'] ?? 30)
const SEED = process.env['CASKDB_FC_SEED'] === undefined ? undefined : Number(process.env['CASKDB_FC_SEED'])
const PATH = process.env['CASKDB_FC_PATH']

const KEYS = ['', 'a', 'b', 'c', 'key-1', 'key-2', 'key-3', 'key-10', 'long-key-'.repeat(8), 'z', 'ü', '\u0000nul']

type Op = { type: 'put'; key: string; value: string } | { type: 'del'; key: string }
type Command =
  | { t: 'put'; key: string; value: string; sync: boolean }
  | { t: 'del'; key: string; sync: boolean }
  | { t: 'batch'; ops: Op[]; sync: boolean }
  | { t: 'get'; key: string }
  | { t: 'iterate'; gte: string | undefined; lt: string | undefined; reverse: boolean; limit: number }
  | { t: 'snapshot' }
  | { t: 'checkSnapshot'; which: number; release: boolean }
  | { t: 'compact' }
  | { t: 'backup' }
  | { t: 'reopen' }
  | { t: 'garbage'; bytes: Uint8Array }
  | { t: 'tear'; at: number }
  | { t: 'dropHint'; which: number }

const key = fc.constantFrom(...KEYS)
const value = fc.tuple(fc.constantFrom('x', 'y', 'é', '0'), fc.nat(400), fc.nat(1000)).map(([c, n, tag]) => `${tag}:${c.repeat(n)}`)
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ type: fc.constant('put' as const), key, value }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('del' as const), key }) },
)
const command: fc.Arbitrary<Command> = fc.oneof(
  { weight: 8, arbitrary: fc.record({ t: fc.constant('put' as const), key, value, sync: fc.boolean() }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('del' as const), key, sync: fc.boolean() }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('batch' as const), ops: fc.array(op, { minLength: 1, maxLength: 6 }), sync: fc.boolean() }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('get' as const), key }) },
  {
    weight: 2,
    arbitrary: fc.record({
      t: fc.constant('iterate' as const),
      gte: fc.option(key, { nil: undefined }),
      lt: fc.option(key, { nil: undefined }),
      reverse: fc.boolean(),
      limit: fc.integer({ min: -1, max: 8 }),
    }),
  },
  { weight: 2, arbitrary: fc.constant({ t: 'snapshot' as const }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('checkSnapshot' as const), which: fc.nat(5), release: fc.boolean() }) },
  { weight: 1, arbitrary: fc.constant({ t: 'compact' as const }) },
  { weight: 1, arbitrary: fc.constant({ t: 'backup' as const }) },
  { weight: 1, arbitrary: fc.constant({ t: 'reopen' as const }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('garbage' as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 80 }) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('tear' as const), at: fc.double({ min: 0, max: 0.999, noNaN: true }) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('dropHint' as const), which: fc.nat(20) }) },
)
const settings = fc.record({
  cacheSize: fc.constantFrom(0, 1 << 20),
  autoCompact: fc.boolean(),
})

const cmp = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b))

/** The last write that reached the log, as the model knows it. */
interface LastWrite {
  before: Map<string, string>
  sync: boolean
  /** The records the engine wrote for it, in order. */
  records: Op[]
  /** stats().fsyncs right after it: a later log fsync (a compaction syncs the log before dropping what the write superseded) makes it durable. */
  fsyncs: number
}

/** Groups (single records, or a batch header and its records) of a data file, with their records. */
function groups(bytes: Buffer): { start: number; records: Op[] }[] {
  const out: { start: number; records: Op[] }[] = []
  const op = (r: RecordAt): Op =>
    r.type === 1 ? { type: 'put', key: r.key.toString('utf8'), value: r.value.toString('utf8') } : { type: 'del', key: r.key.toString('utf8') }
  const all = recordsIn(bytes)
  for (let i = 0; i < all.length; ) {
    const r = all[i]!
    const count = r.type === 3 ? r.value.readUInt32BE(0) : 0
    out.push({ start: r.at, records: r.type === 3 ? all.slice(i + 1, i + 1 + count).map(op) : [op(r)] })
    i += 1 + count
  }
  return out
}

/** The active segment: the highest-numbered data file without a hint. */
function activeFile(dir: string): string | undefined {
  const names = readdirSync(dir)
  const hinted = new Set(names.filter((n) => n.endsWith('.hint')).map((n) => n.slice(0, -5)))
  const data = names.filter((n) => /^\d{8,}\.data$/.test(n) && !hinted.has(n.slice(0, -5))).sort()
  return data.length === 0 ? undefined : join(dir, data[data.length - 1]!)
}

class Failure extends Error {}

/** What the runs exercised (printed, so a reader can see the damage cases really happen). */
const coverage = { sequences: 0, commands: 0, tornWrites: 0, garbage: 0, droppedHints: 0, compactions: 0, backups: 0, reopens: 0, snapshotChecks: 0 }

async function runSequence(opts: { cacheSize: number; autoCompact: boolean }, commands: Command[]): Promise<void> {
  const location = tempPath()
  const options: CaskOptions = {
    maxSegmentSize: 4096,
    compactionMinDeadBytes: 512,
    skipUnchangedWrites: false,
    ...opts,
  }
  let db = await CaskDB.open(location, options)
  /** Opens a new session: the last write of the previous one was fsynced by its close, it can no longer be torn. */
  const reopen = async () => {
    db = await CaskDB.open(location, options)
    last = undefined
  }
  let model = new Map<string, string>()
  let last: LastWrite | undefined
  let snapshots: { snap: Snapshot; state: Map<string, string> }[] = []
  const stale: Snapshot[] = []
  const fail = (step: number, message: string): never => {
    throw new Failure(`step ${step} (${JSON.stringify(commands[step]).slice(0, 200)}): ${message}`)
  }
  const expectState = async (step: number, what: string, d: CaskDB = db, want = model) => {
    const got = await dump(d)
    const expected = sortedEntries(want)
    if (JSON.stringify(got) !== JSON.stringify(expected)) {
      fail(step, `${what}: database ${JSON.stringify(got).slice(0, 300)} ≠ model ${JSON.stringify(expected).slice(0, 300)}`)
    }
  }
  const closeAll = async () => {
    for (const s of snapshots) stale.push(s.snap)
    snapshots = []
    await db.close()
  }
  const write = async (ops: Op[], sync: boolean, call: () => Promise<void>) => {
    const before = new Map(model)
    const unique = new Set(ops.map((o) => o.key)).size === ops.length
    // What the engine writes: deletes of absent keys are skipped (unless a key repeats in a batch).
    const records = ops.length === 1 || unique ? ops.filter((o) => o.type === 'put' || model.has(o.key)) : ops
    await call()
    for (const o of ops) o.type === 'put' ? model.set(o.key, o.value) : model.delete(o.key)
    if (records.length > 0) last = { before, sync, records, fsyncs: db.stats().fsyncs }
  }

  coverage.sequences++
  try {
    for (let step = 0; step < commands.length; step++) {
      const c = commands[step]!
      coverage.commands++
      switch (c.t) {
        case 'put':
          await write([{ type: 'put', key: c.key, value: c.value }], c.sync, () => db.put(c.key, c.value, { sync: c.sync }))
          break
        case 'del':
          await write([{ type: 'del', key: c.key }], c.sync, () => db.del(c.key, { sync: c.sync }))
          break
        case 'batch':
          await write(c.ops, c.sync, () => db.batch(c.ops, { sync: c.sync }))
          break
        case 'get': {
          const got = (await db.get(c.key))?.toString()
          if (got !== model.get(c.key)) fail(step, `get ${JSON.stringify(c.key)} = ${got?.slice(0, 40)}, model ${model.get(c.key)?.slice(0, 40)}`)
          break
        }
        case 'iterate': {
          const range: { gte?: string; lt?: string } = {}
          if (c.gte !== undefined) range.gte = c.gte
          if (c.lt !== undefined) range.lt = c.lt
          const got = await dump(db, { ...range, reverse: c.reverse, limit: c.limit })
          let want = sortedEntries(model).filter((e) => {
            const k = [...model.keys()].find((x) => e.startsWith(`${x}=`) && e === `${x}=${model.get(x)}`)!
            return (c.gte === undefined || cmp(k, c.gte) >= 0) && (c.lt === undefined || cmp(k, c.lt) < 0)
          })
          if (c.reverse) want = want.reverse()
          if (c.limit >= 0) want = want.slice(0, c.limit)
          if (JSON.stringify(got) !== JSON.stringify(want)) fail(step, `iterate: ${JSON.stringify(got).slice(0, 200)} ≠ ${JSON.stringify(want).slice(0, 200)}`)
          break
        }
        case 'snapshot':
          if (snapshots.length < 4) snapshots.push({ snap: db.snapshot(), state: new Map(model) })
          break
        case 'checkSnapshot': {
          if (snapshots.length === 0) {
            // A snapshot of an earlier open must be refused with a coded error, never read.
            const old = stale[c.which % Math.max(1, stale.length)]
            if (old !== undefined) {
              const err = await db.get('a', { snapshot: old }).then(() => undefined, (e: unknown) => e)
              if (!coded(err, ['CLOSED', 'INVALID_ARGUMENT'])) fail(step, `a stale snapshot was not refused: ${describeError(err)}`)
            }
            break
          }
          const i = c.which % snapshots.length
          const s = snapshots[i]!
          coverage.snapshotChecks++
          const got = await dump(db, { snapshot: s.snap })
          if (JSON.stringify(got) !== JSON.stringify(sortedEntries(s.state))) fail(step, 'snapshot iterator differs')
          for (const k of KEYS.slice(0, 6)) {
            const v = (await db.get(k, { snapshot: s.snap }))?.toString()
            if (v !== s.state.get(k)) fail(step, `snapshot get ${k} = ${v?.slice(0, 30)}, expected ${s.state.get(k)?.slice(0, 30)}`)
          }
          if (c.release) {
            s.snap.close()
            snapshots.splice(i, 1)
          }
          break
        }
        case 'compact':
          coverage.compactions++
          await db.compact()
          break
        case 'backup': {
          const dir = join(tempDir(), 'backup')
          await db.backup(dir)
          coverage.backups++
          const copy = await CaskDB.open(dir, { createIfMissing: false })
          await expectState(step, 'backup', copy)
          await copy.close()
          break
        }
        case 'reopen':
          coverage.reopens++
          await closeAll()
          await reopen()
          await expectState(step, 'after reopen')
          break
        case 'garbage': {
          await closeAll()
          const file = activeFile(location)!
          appendFileSync(file, c.bytes)
          coverage.garbage++
          await reopen()
          const cut = db.stats().recovery.truncatedBytes
          if (cut !== c.bytes.length) fail(step, `appended ${c.bytes.length} bytes of garbage, recovery cut ${cut}`)
          await expectState(step, 'after garbage')
          break
        }
        case 'tear': {
          const lastWrite = last
          const fsyncs = db.stats().fsyncs
          await closeAll()
          const file = activeFile(location)
          const bytes = file === undefined ? Buffer.alloc(0) : readFileSync(file)
          const g = groups(bytes)
          const final = g[g.length - 1]
          const losable = lastWrite !== undefined && !lastWrite.sync && lastWrite.fsyncs === fsyncs
          if (final !== undefined && losable && JSON.stringify(final.records) === JSON.stringify(lastWrite.records)) {
            const cutAt = final.start + Math.floor(c.at * (bytes.length - final.start))
            truncateSync(file!, cutAt)
            coverage.tornWrites++
            model = lastWrite.before
            await reopen()
            const cut = db.stats().recovery.truncatedBytes
            if (cut !== cutAt - final.start) fail(step, `tore the last write at ${cutAt}: recovery cut ${cut} bytes, expected ${cutAt - final.start}`)
          } else {
            await reopen()
          }
          await expectState(step, 'after tearing the tail')
          break
        }
        case 'dropHint': {
          await closeAll()
          const hints = readdirSync(location).filter((n) => n.endsWith('.hint')).sort()
          if (hints.length > 0) {
            unlinkSync(join(location, hints[c.which % hints.length]!))
            coverage.droppedHints++
          }
          await reopen()
          await expectState(step, 'after deleting a hint')
          break
        }
      }
    }
    await closeAll()
    await reopen()
    await expectState(commands.length, 'final reopen')
    const damage = await db.verify()
    if (damage.length > 0) fail(commands.length, `verify: ${JSON.stringify(damage)}`)
    if (db.stats().keys !== model.size) fail(commands.length, `stats().keys ${db.stats().keys} ≠ ${model.size}`)
  } finally {
    await db.close().catch(() => undefined)
  }
  if (existsSync(join(location, 'LOCK'))) throw new Failure('LOCK left behind after close')
}

test(`property: random command sequences with damage between runs agree with the model (${RUNS} runs${SEED === undefined ? '' : `, seed ${SEED}`})`, async (t) => {
  const parameters: fc.Parameters<[{ cacheSize: number; autoCompact: boolean }, Command[]]> = { numRuns: RUNS }
  if (SEED !== undefined) parameters.seed = SEED
  if (PATH !== undefined) parameters.path = PATH
  try {
    await fc.assert(
      fc.asyncProperty(settings, fc.array(command, { minLength: 1, maxLength: 60, size: 'medium' }), (opts, commands) => runSequence(opts, commands)),
      parameters,
    )
    t.pass(`${RUNS} random sequences agree with the model`)
    t.comment(JSON.stringify(coverage))
  } catch (err) {
    // fast-check's message holds the shrunk counterexample, the seed and the path to replay it.
    const cause = (err as Error).cause
    t.fail(`${(err as Error).message}${cause instanceof Error ? `\n${cause.message}` : ''}`)
  }
})
