/**
 * How many keys one caskdb process holds. Every key lives in RAM (the index),
 * so memory sets the limit. A child process loads 16-byte keys with 100-byte
 * values through `db.batch`, step by step; at each step it reports heap,
 * off-heap (ArrayBuffer) and RSS bytes and bytes per key, then closes and
 * reopens the database and times open → first get.
 *
 *   node --import tsx bench/scale.ts                   small-heap + default runs (hours: open time grows fast)
 *   node --import tsx bench/scale.ts --quick           tiny steps, to check the script (a few minutes)
 *   node --import tsx bench/scale.ts --runs big-heap --steps 50000000 --append
 *   node --import tsx bench/scale.ts --runs heap-512 --append      another heap limit (MiB)
 *   node --import tsx bench/scale.ts --runs default --steps 1000000,20000000 --name default-2 --note "…" --append
 *   options: --dir <tmp dir with disk space>  --out <file.md>  --max-rss-gb N  --minutes N
 *            --steps a,b,c  --reopen all|last  --append (add runs to the existing report)
 *            --report (only re-render the report from the data embedded in it)
 *
 * Runs, each one child process with one fresh database:
 * - `small-heap`: `--max-old-space-size=256`, to see what the failure at the heap limit looks like;
 * - `default`: Node's default flags (V8 heap limit ~4 GiB on 64-bit Node 20): 1M, 2M, 5M, 10M, 20M,
 *   then 30M, 40M, … 100M until the process dies or a guard stops it;
 * - `big-heap`: `--max-old-space-size=16384`; run automatically, one step past the point where
 *   `default` died, if it died of the heap limit;
 * - `heap-<MiB>` (only with --runs): `--max-old-space-size=<MiB>`.
 * The report also estimates where each run's heap limit is reached (limit ÷ heap bytes per key).
 * Guards stop a run cleanly, with the reason recorded: RSS above `--max-rss-gb` (default: half the
 * RAM, at most 12), free disk below 2 GiB, or the run's time budget. 20M keys take about 3 GB of disk.
 * Writes bench/results/scale.md.
 */
import { execFileSync, spawn } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, statfsSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, totalmem, tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { getHeapStatistics } from 'node:v8'
import { performance } from 'node:perf_hooks'
import { CaskDB, CaskError, ErrorCodes } from '../src/index.js'

const here = dirname(fileURLToPath(import.meta.url))
const TAG = '@@scale '
const KEY_BYTES = 16
const VALUE_BYTES = 100
const BATCH = 10_000
const M = 1_000_000
const GiB = 2 ** 30

// ---- child: load, measure, reopen ---------------------------------------------

interface ChildArgs {
  dir: string
  steps: number[]
  /** Close and reopen at every step (true) or only at the last one. */
  reopenEvery: boolean
  maxRss: number
  deadline: number
}

interface Step {
  keys: number
  /** Wall and CPU (user + system) seconds to load this step's keys. */
  loadSec: number
  loadCpuSec: number
  keysPerSec: number
  heapUsed: number
  arrayBuffers: number
  rss: number
  base: { heapUsed: number; arrayBuffers: number; rss: number }
  diskBytes: number
  /** Absent when the step was not reopened (`--reopen last`). */
  closeMs?: number
  openMs?: number
  openCpuMs?: number
  heapAfterOpen?: number
  arrayBuffersAfterOpen?: number
  rssAfterOpen?: number
}

type Message =
  | { kind: 'start'; heapLimit: number; pid: number }
  | { kind: 'progress'; keys: number; heapUsed: number; rss: number }
  | { kind: 'phase'; phase: 'load' | 'close' | 'reopen'; keys: number }
  | { kind: 'step'; step: Step }
  | { kind: 'stop'; keys: number; reason: string }
  | { kind: 'done' }

function send(message: Message): void {
  process.stdout.write(TAG + JSON.stringify(message) + '\n')
}

/** Unique, evenly spread 16-byte keys: `i * odd constant mod 2^32` is a bijection, so the first half never repeats. */
function keyOf(i: number): string {
  const hi = Math.imul(i, 0x9e3779b1) >>> 0
  const lo = Math.imul(i ^ 0x5bd1e995, 0x85ebca6b) >>> 0
  return hi.toString(16).padStart(8, '0') + lo.toString(16).padStart(8, '0')
}

function cpuMs(since: NodeJS.CpuUsage): number {
  const c = process.cpuUsage(since)
  return (c.user + c.system) / 1000
}

function measure(): { heapUsed: number; arrayBuffers: number; rss: number } {
  const gc = (globalThis as { gc?: () => void }).gc
  gc?.()
  gc?.()
  const m = process.memoryUsage()
  return { heapUsed: m.heapUsed, arrayBuffers: m.arrayBuffers, rss: m.rss }
}

function dirBytes(dir: string): number {
  return readdirSync(dir).reduce((sum, name) => sum + statSync(join(dir, name)).size, 0)
}

function freeDisk(dir: string): number {
  const s = statfsSync(dir)
  return s.bavail * s.bsize
}

async function child(args: ChildArgs): Promise<void> {
  send({ kind: 'start', heapLimit: getHeapStatistics().heap_size_limit, pid: process.pid })
  const value = Buffer.alloc(VALUE_BYTES, 'v')
  let db = await CaskDB.open(args.dir)
  const base = measure()
  let loaded = 0
  for (const [index, target] of args.steps.entries()) {
    const started = performance.now()
    const cpu = process.cpuUsage()
    const from = loaded
    send({ kind: 'phase', phase: 'load', keys: loaded })
    while (loaded < target) {
      const n = Math.min(BATCH, target - loaded)
      const ops = new Array(n)
      for (let j = 0; j < n; j++) ops[j] = { type: 'put', key: keyOf(loaded + j), value }
      try {
        await db.batch(ops)
      } catch (err) {
        if (!(err instanceof CaskError) || err.code !== ErrorCodes.OUT_OF_MEMORY) throw err
        // The heap guard: the engine refuses puts near the heap limit instead of letting V8 abort.
        const c0 = performance.now()
        await db.close()
        send({ kind: 'stop', keys: loaded, reason: `caskdb refused a put with OUT_OF_MEMORY (${err.message.split('. ')[0]}); close() then took ${Math.round(performance.now() - c0)} ms` })
        return
      }
      loaded += n
      if (loaded % (M / 10) === 0) {
        const m = process.memoryUsage()
        send({ kind: 'progress', keys: loaded, heapUsed: m.heapUsed, rss: m.rss })
        const stop =
          m.rss > args.maxRss
            ? `RSS ${gib(m.rss)} passed the guard of ${gib(args.maxRss)}`
            : freeDisk(args.dir) < 2 * GiB
              ? 'less than 2 GiB of free disk left'
              : Date.now() > args.deadline
                ? 'time budget used up'
                : undefined
        if (stop !== undefined) {
          send({ kind: 'stop', keys: loaded, reason: stop })
          await db.close()
          return
        }
      }
    }
    const loadSec = (performance.now() - started) / 1000
    const loadCpuSec = cpuMs(cpu) / 1000
    const loadedMem = measure()
    const step: Step = { keys: loaded, loadSec, loadCpuSec, keysPerSec: (loaded - from) / loadSec, ...loadedMem, base, diskBytes: 0 }
    if (args.reopenEvery || index === args.steps.length - 1) {
      send({ kind: 'phase', phase: 'close', keys: loaded })
      const c0 = performance.now()
      await db.close()
      step.closeMs = performance.now() - c0
      step.diskBytes = dirBytes(args.dir)
      send({ kind: 'phase', phase: 'reopen', keys: loaded })
      const t0 = performance.now()
      const openCpu = process.cpuUsage()
      db = await CaskDB.open(args.dir)
      const first = await db.get(keyOf(0))
      step.openMs = performance.now() - t0
      step.openCpuMs = cpuMs(openCpu)
      if (first === undefined || first.length !== VALUE_BYTES) throw new Error('reopened database lost key 0')
      const reopened = measure()
      step.heapAfterOpen = reopened.heapUsed
      step.arrayBuffersAfterOpen = reopened.arrayBuffers
      step.rssAfterOpen = reopened.rss
    } else {
      step.diskBytes = dirBytes(args.dir)
    }
    send({ kind: 'step', step })
  }
  await db.close()
  send({ kind: 'done' })
}

// ---- parent: runs, guards, report -----------------------------------------------

interface RunSpec {
  name: string
  flags: string[]
  steps: number[]
  reopenEvery: boolean
  minutes: number
  note: string
}

interface RunResult {
  spec: RunSpec
  heapLimit: number
  steps: Step[]
  lastProgress: { keys: number; heapUsed: number; rss: number } | undefined
  phase: { phase: string; keys: number } | undefined
  stop: { keys: number; reason: string } | undefined
  exit: { code: number | null; signal: string | null }
  stderrTail: string[]
  seconds: number
  loadavg: [number, number]
}

function gib(n: number): string {
  return `${(n / GiB).toFixed(2)} GiB`
}

function mib(n: number | undefined): string {
  return n === undefined ? '–' : `${Math.round(n / 2 ** 20).toLocaleString('en')} MiB`
}

function fmtKeys(n: number): string {
  return n >= M ? `${+(n / M).toFixed(1)}M` : `${Math.round(n / 1000)}k`
}

function secs(ms: number | undefined): string {
  return ms === undefined ? '–' : `${(ms / 1000).toFixed(1)} s`
}

function runChild(spec: RunSpec, root: string, maxRss: number): Promise<RunResult> {
  const dir = mkdtempSync(join(root, `scale-${spec.name}-`))
  const started = performance.now()
  const load0 = loadavg()[0] ?? 0
  const args = ['--expose-gc', ...spec.flags, '--import', 'tsx', fileURLToPath(import.meta.url), '--child']
  const childArgs: ChildArgs = {
    dir,
    steps: spec.steps,
    reopenEvery: spec.reopenEvery,
    maxRss,
    deadline: Date.now() + spec.minutes * 60_000,
  }
  const proc = spawn(process.execPath, args, {
    env: { ...process.env, SCALE_CHILD: JSON.stringify(childArgs) },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const result: RunResult = {
    spec,
    heapLimit: 0,
    steps: [],
    lastProgress: undefined,
    phase: undefined,
    stop: undefined,
    exit: { code: null, signal: null },
    stderrTail: [],
    seconds: 0,
    loadavg: [load0, 0],
  }
  const log = (line: string): void => void process.stderr.write(`  [${spec.name}] ${line}\n`)
  let out = ''
  proc.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk
    let nl: number
    while ((nl = out.indexOf('\n')) >= 0) {
      const line = out.slice(0, nl)
      out = out.slice(nl + 1)
      if (!line.startsWith(TAG)) continue
      const m = JSON.parse(line.slice(TAG.length)) as Message
      if (m.kind === 'start') result.heapLimit = m.heapLimit
      else if (m.kind === 'phase') result.phase = m
      else if (m.kind === 'progress') {
        result.lastProgress = m
        if (m.keys % M === 0) log(`${fmtKeys(m.keys)} keys, heap ${mib(m.heapUsed)}, rss ${mib(m.rss)}`)
      } else if (m.kind === 'step') {
        result.steps.push(m.step)
        log(`step ${fmtKeys(m.step.keys)}: load ${m.step.loadSec.toFixed(0)} s, open ${secs(m.step.openMs)}`)
      } else if (m.kind === 'stop') result.stop = m
    }
  })
  let err = ''
  proc.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    err = (err + chunk).slice(-16_000)
  })
  return new Promise((resolvePromise) => {
    proc.on('close', (code, signal) => {
      result.exit = { code, signal }
      const lines = err.split('\n').filter((l) => l.trim() !== '')
      // A V8 fatal error prints its reason first and a native stack after it: keep the reason.
      const fatal = lines.findIndex((l) => l.includes('FATAL ERROR') || l.includes('<--- Last few GCs --->'))
      result.stderrTail = fatal >= 0 ? lines.slice(fatal, fatal + 12) : lines.slice(-8)
      result.seconds = (performance.now() - started) / 1000
      result.loadavg[1] = loadavg()[0] ?? 0
      rmSync(dir, { recursive: true, force: true })
      resolvePromise(result)
    })
  })
}

function diedOfHeap(r: RunResult): boolean {
  return r.exit.code !== 0 && !r.stop && r.stderrTail.some((l) => l.includes('heap out of memory'))
}

function outcome(r: RunResult): string {
  const last = r.steps[r.steps.length - 1]
  if (r.stop) return `stopped by a guard at ${fmtKeys(r.stop.keys)} keys: ${r.stop.reason}`
  if (r.exit.code === 0) return `all steps done (${fmtKeys(last?.keys ?? 0)} keys)`
  const how = r.exit.signal ? `killed by ${r.exit.signal}` : `exit code ${r.exit.code}`
  const why = diedOfHeap(r) ? 'V8 heap limit reached ("JavaScript heap out of memory")' : how
  const phase = r.phase
  const where =
    phase === undefined
      ? 'before it loaded anything'
      : phase.phase === 'load'
        ? `while loading, after ${fmtKeys(r.lastProgress?.keys ?? phase.keys)} keys`
        : `while ${phase.phase === 'close' ? 'closing' : 'reopening'} the database of ${fmtKeys(phase.keys)} keys`
  if (r.exit.signal === 'SIGTERM' || r.exit.signal === 'SIGINT') {
    return `ended by a ${r.exit.signal} from outside the benchmark ${where} (the process did not fail by itself)`
  }
  return `process died ${where}: ${why}, ${how}`
}

function perKey(total: number | undefined, base: number, keys: number): string {
  return total === undefined ? '–' : `${Math.round((total - base) / keys)}`
}

function report(results: RunResult[], meta: string[]): string {
  const lines: string[] = [
    '# caskdb: how many keys one process holds',
    '',
    `Generated by \`node --import tsx bench/scale.ts\` (${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC).`,
    '',
    ...meta.map((m) => `- ${m}`),
    `- Workload: ${KEY_BYTES}-byte keys (unique, evenly spread), ${VALUE_BYTES}-byte values, loaded with \`db.batch\` ` +
      `in batches of ${BATCH.toLocaleString('en')} puts; default engine options (64 MiB value cache, 64 MiB segments).`,
    '- Memory after two forced GCs (`--expose-gc`): heap = `heapUsed`, off-heap = `arrayBuffers` (the index keeps ' +
      'its numbers in Float64Arrays), RSS = resident set. B/key = (value − value of the empty database) ÷ keys.',
    '- Close = `close()` after loading; open = `CaskDB.open()` + first `get` on that closed database (page cache warm). ' +
      '"After reopen" is the memory of the freshly opened database: what a restarted process holds.',
    '- Wall times depend on what else the machine runs (the load average is given per run); CPU seconds much less so.',
    '',
  ]
  for (const r of results) {
    lines.push(`## ${r.spec.name}: ${r.spec.note}`, '')
    lines.push(
      `Node flags: \`${r.spec.flags.join(' ') || '(none)'}\`; V8 heap limit ${mib(r.heapLimit)}. ` +
        `Outcome: **${outcome(r)}**. Run time ${Math.round(r.seconds)} s; load average ${r.loadavg[0].toFixed(1)} → ${r.loadavg[1].toFixed(1)}.`,
      '',
    )
    if (r.steps.length > 0) {
      lines.push(
        '| keys | load keys/s (wall) | load CPU s | heap | heap B/key | off-heap | off-heap B/key | RSS | RSS B/key | disk | close | open (CPU) | heap after reopen | off-heap after reopen | RSS after reopen |',
        '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
      )
      for (const s of r.steps) {
        lines.push(
          [
            fmtKeys(s.keys),
            Math.round(s.keysPerSec).toLocaleString('en'),
            s.loadCpuSec.toFixed(0),
            mib(s.heapUsed),
            perKey(s.heapUsed, s.base.heapUsed, s.keys),
            mib(s.arrayBuffers),
            perKey(s.arrayBuffers, s.base.arrayBuffers, s.keys),
            mib(s.rss),
            perKey(s.rss, s.base.rss, s.keys),
            gib(s.diskBytes),
            secs(s.closeMs),
            s.openMs === undefined ? '–' : `${secs(s.openMs)} (${secs(s.openCpuMs)})`,
            `${mib(s.heapAfterOpen)} (${perKey(s.heapAfterOpen, s.base.heapUsed, s.keys)} B/key)`,
            `${mib(s.arrayBuffersAfterOpen)} (${perKey(s.arrayBuffersAfterOpen, s.base.arrayBuffers, s.keys)} B/key)`,
            `${mib(s.rssAfterOpen)} (${perKey(s.rssAfterOpen, s.base.rss, s.keys)} B/key)`,
          ].join(' | ').replace(/^/, '| ') + ' |',
        )
      }
      lines.push('')
      const last = r.steps[r.steps.length - 1]!
      const heapPerKey = (last.heapUsed - last.base.heapUsed) / last.keys
      const rssPerKey = (last.rss - last.base.rss) / last.keys
      const ceiling = (r.heapLimit - last.base.heapUsed) / heapPerKey
      lines.push(
        `Estimate, not a measurement: at ${fmtKeys(last.keys)} keys the loading process used ${Math.round(heapPerKey)} B of heap per key, ` +
          `so its heap limit of ${mib(r.heapLimit)} is reached near **${fmtKeys(ceiling)} keys** (RSS then ≈ ${gib(ceiling * rssPerKey + last.base.rss)}), ` +
          'less the transient heap that close() and compaction need.',
        '',
      )
    }
    if (r.exit.code !== 0 && !r.stop) {
      if (r.lastProgress) {
        lines.push(
          `Last progress report before it ended: ${fmtKeys(r.lastProgress.keys)} keys loaded, heap ${mib(r.lastProgress.heapUsed)}, RSS ${mib(r.lastProgress.rss)} (before GC).`,
          '',
        )
      }
      if (r.stderrTail.length > 0) lines.push('What the process printed:', '', '```', ...r.stderrTail, '```', '')
    }
  }
  lines.push(`<!-- scale-data ${JSON.stringify(results)} -->`, '')
  return lines.join('\n')
}

/** The runs and the machine/source lines of an existing report. */
function previousReport(file: string): { results: RunResult[]; meta: string[] } {
  if (!existsSync(file)) return { results: [], meta: [] }
  const text = readFileSync(file, 'utf8')
  const m = /<!-- scale-data (.*) -->/.exec(text)
  const meta = text
    .split('\n')
    .filter((l) => /^- (Machine|caskdb source|Guards):/.test(l))
    .map((l) => l.slice(2))
  return { results: m?.[1] ? (JSON.parse(m[1]) as RunResult[]) : [], meta }
}

async function parent(argv: string[]): Promise<void> {
  const opt = (name: string): string | undefined => {
    const i = argv.indexOf(`--${name}`)
    return i >= 0 ? argv[i + 1] : undefined
  }
  const quick = argv.includes('--quick')
  const root = resolve(opt('dir') ?? tmpdir())
  mkdirSync(root, { recursive: true })
  const out = resolve(opt('out') ?? join(here, 'results', quick ? 'scale-quick.md' : 'scale.md'))
  const maxRss = Number(opt('max-rss-gb') ?? Math.min(12, Math.floor(totalmem() / GiB / 2))) * GiB
  const minutes = opt('minutes') === undefined ? undefined : Number(opt('minutes'))
  const core = quick ? [200_000, 500_000] : [1, 2, 5, 10, 20].map((n) => n * M)
  const beyond = quick ? [1_000_000, 2_000_000] : [30, 40, 50, 60, 80, 100].map((n) => n * M)
  const customSteps = opt('steps')?.split(',').map(Number)
  const reopen = opt('reopen')
  const spec = (name: string, flags: string[], steps: number[], reopenEvery: boolean, budget: number, note: string): RunSpec => ({
    name,
    flags,
    steps: customSteps ?? steps,
    reopenEvery: reopen === undefined ? reopenEvery : reopen !== 'last',
    minutes: minutes ?? (quick ? 2 : budget),
    note,
  })
  const all: RunSpec[] = [
    spec('small-heap', [`--max-old-space-size=${quick ? 64 : 256}`], [...core, ...beyond], true, 15, 'a small heap limit, to see what the failure looks like'),
    spec('default', [], [...core, ...beyond], true, 150, 'default Node flags, from 1M keys on past 20M until something stops it'),
  ]
  const bigHeap = (steps: number[]): RunSpec =>
    spec('big-heap', ['--max-old-space-size=16384'], steps, false, 60, 'the flag that raises the heap limit, one step past where the default run died')
  const only = opt('runs')?.split(',')
  // `heap-<MiB>`: default steps under --max-old-space-size=<MiB>.
  const custom = (only ?? [])
    .filter((n) => /^heap-\d+$/.test(n))
    .map((n) => spec(n, [`--max-old-space-size=${n.slice(5)}`], [...core, ...beyond], true, 30, `--max-old-space-size=${n.slice(5)}: where the limit moves with the flag`))
  const specs = only === undefined ? all : [...all, bigHeap(beyond), ...custom].filter((s) => only.includes(s.name))
  // --name: a run repeated under another name (e.g. on a quieter machine), with a note.
  const rename = opt('name')
  if (rename !== undefined && specs[0]) {
    specs[0].note = `${opt('note') ?? specs[0].note} (a repeat of \`${specs[0].name}\`)`
    specs[0].name = rename
  }
  const commit = (() => {
    try {
      const git = (...a: string[]): string => execFileSync('git', a, { cwd: here, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim()
      const head = git('rev-parse', '--short', 'HEAD')
      const dirty = git('status', '--porcelain', '--', '../src')
      return `${head}${dirty ? ' with uncommitted changes under src/' : ''}`
    } catch {
      return process.env['SCALE_SOURCE'] ?? 'unknown (not a git checkout)'
    }
  })()
  const meta = [
    `Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${gib(totalmem())} RAM, Node ${process.version}, ${process.platform}.`,
    `caskdb source: ${commit}.`,
    `Guards: RSS ≤ ${gib(maxRss)}, free disk ≥ 2 GiB, a time budget per run; databases under \`${root}\`, deleted after each run.`,
  ]
  const previous = argv.includes('--append') || argv.includes('--report') ? previousReport(out) : undefined
  const results = previous?.results ?? []
  // The report keeps the header it was started with; a run from other source code says so itself.
  if (previous && previous.meta.length > 0) {
    const source = meta.find((l) => l.startsWith('caskdb source:'))
    if (source !== undefined && !previous.meta.includes(source)) for (const s of specs) s.note += ` (${source.replace(/\.$/, '')})`
    meta.splice(0, meta.length, ...previous.meta)
  }
  if (argv.includes('--report')) {
    // Re-render the report from the data embedded in it (e.g. after changing this script's output).
    writeFileSync(out, report(results, meta))
    return
  }
  const finish = (): void => {
    mkdirSync(dirname(out), { recursive: true })
    writeFileSync(out, report(results, meta))
  }
  const run = async (s: RunSpec): Promise<RunResult> => {
    process.stderr.write(`run ${s.name} (${s.flags.join(' ') || 'default flags'}), steps ${s.steps.map(fmtKeys).join(', ')}\n`)
    const r = await runChild(s, root, maxRss)
    process.stderr.write(`  -> ${outcome(r)}\n`)
    results.push(r)
    finish()
    return r
  }
  for (const s of specs) {
    const r = await run(s)
    // Past the default heap limit: load one step further with the flag, to show it moves the limit.
    if (only === undefined && s.name === 'default' && diedOfHeap(r)) {
      const died = r.lastProgress?.keys ?? 0
      const next = [...core, ...beyond].find((n) => n > died)
      if (next !== undefined) await run(bigHeap([next]))
    }
  }
  process.stderr.write(`wrote ${out}\n`)
}

if (process.argv.includes('--child')) await child(JSON.parse(process.env['SCALE_CHILD'] ?? '{}') as ChildArgs)
else await parent(process.argv.slice(2))
