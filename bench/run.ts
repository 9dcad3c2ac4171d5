/**
 * `npm run bench`: every contender × workload in a fresh child process, in
 * interleaved rounds with the contender order rotated each round; medians and
 * per-round ratios go to bench/results/ (Markdown, JSON, SVG chart).
 *
 *   npm run bench                       full run (3 rounds, ~15 min)
 *   npm run bench -- --quick            small data, short loops, 1 round, a few workloads
 *   npm run bench -- --only put1,get1   a subset (writes bench/results/partial.*)
 *   npm run bench -- --contenders caskdb,classic-level --rounds 5
 *   npm run bench -- --big              adds memory at 10M keys
 *   npm run bench -- --profile --only put1,get1   CPU profiles of the caskdb workers' timed loops
 *   npm run bench -- --report           regenerate latest.md / chart.svg from latest.json
 *   npm run bench -- --tsx              run workers through tsx instead of an esbuild bundle
 *   npm run bench -- --only X --merge   re-measure workload X and replace its rows in latest.* (recorded in the report)
 * Environment: BENCH_ROUNDS, BENCH_CAP_MS, BENCH_ONLY, BENCH_CONTENDERS.
 */
import { spawn, execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync, appendFileSync, readdirSync } from 'node:fs'
import { cpus, totalmem } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { performance } from 'node:perf_hooks'
import { workloads } from './workloads/index.js'
import { FULL_SCALE, QUICK_SCALE, type FixtureId, type Result, type Scale, type Workload } from './workloads/types.js'
import { levelContenders } from './contenders/level.js'
import { keyvContenders } from './contenders/keyv.js'
import { RESULT_TAG, type WorkerJob } from './lib/protocol.js'
import { writeReport, type BenchData, type Cell } from './report.js'
import { summarizeProfile } from './profile.js'

const here = dirname(fileURLToPath(import.meta.url))
const root = resolve(here, '..')
const tmpRoot = join(here, '.tmp')
const resultsDir = join(here, 'results')
const workerPath = join(here, 'worker.ts')

interface Args {
  quick: boolean
  rounds: number
  only: string[] | undefined
  contenders: string[] | undefined
  big: boolean
  profile: boolean
  report: boolean
  reuseFixtures: boolean
  capMs: number | undefined
  out: string | undefined
  tsx: boolean
  merge: boolean
}

function parseArgs(argv: string[]): Args {
  const env = process.env
  const list = (s: string | undefined): string[] | undefined => (s ? s.split(',').map((x) => x.trim()).filter(Boolean) : undefined)
  const args: Args = {
    quick: false,
    rounds: Number(env.BENCH_ROUNDS ?? NaN),
    only: list(env.BENCH_ONLY),
    contenders: list(env.BENCH_CONTENDERS),
    big: false,
    profile: false,
    report: false,
    reuseFixtures: false,
    capMs: env.BENCH_CAP_MS ? Number(env.BENCH_CAP_MS) : undefined,
    out: undefined,
    tsx: false,
    merge: false,
  }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!
    const [flag, inline] = a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined]
    const value = (): string => inline ?? argv[++i] ?? ''
    switch (flag) {
      case '--quick':
        args.quick = true
        break
      case '--rounds':
        args.rounds = Number(value())
        break
      case '--only':
        args.only = list(value())
        break
      case '--contenders':
        args.contenders = list(value())
        break
      case '--big':
        args.big = true
        break
      case '--profile':
        args.profile = true
        break
      case '--report':
        args.report = true
        break
      case '--reuse-fixtures':
        args.reuseFixtures = true
        break
      case '--cap':
        args.capMs = Number(value())
        break
      case '--out':
        args.out = value()
        break
      case '--tsx':
        args.tsx = true
        break
      case '--merge':
        args.merge = true
        break
      case '--help':
        console.log(readFileSync(fileURLToPath(import.meta.url), 'utf8').split('*/')[0])
        process.exit(0)
      // falls through
      default:
        throw new Error(`unknown argument ${a} (see --help)`)
    }
  }
  if (!Number.isFinite(args.rounds) || args.rounds < 1) args.rounds = args.quick || args.profile ? 1 : 3
  return args
}

/** Contenders whose adapter module is missing in this tree are skipped, with the reason recorded. */
function unavailable(): Map<string, string> {
  const out = new Map<string, string>()
  if (!existsSync(join(root, 'adapters/level/index.ts'))) out.set('caskdb-level', 'adapters/level is not in this tree yet')
  if (!existsSync(join(root, 'adapters/keyv/index.ts'))) out.set('keyv-caskdb', 'adapters/keyv is not in this tree yet')
  return out
}

function isPersistent(contender: string): boolean {
  return (
    levelContenders.find((c) => c.id === contender)?.persistent ?? keyvContenders.find((c) => c.id === contender)?.persistent ?? false
  )
}

let logFile = join(tmpRoot, 'run.log')

function log(line: string): void {
  console.log(line)
  appendFileSync(logFile, line + '\n')
}

interface Spawned {
  result: Result | { error: string }
  wallMs: number
  /** Share of all cores busy (any process, the worker included) while the worker ran. */
  busy: number
}

/** Busy and total jiffies of all CPUs, from /proc/stat. */
function cpuTimes(): { busy: number; total: number } {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!
    const v = line.trim().split(/\s+/).slice(1).map(Number)
    const idle = (v[3] ?? 0) + (v[4] ?? 0)
    const total = v.reduce((a, b) => a + b, 0)
    return { busy: total - idle, total }
  } catch {
    return { busy: 0, total: 0 }
  }
}

function busyShare(a: { busy: number; total: number }, b: { busy: number; total: number }): number {
  return b.total > a.total ? (b.busy - a.busy) / (b.total - a.total) : NaN
}

/**
 * The machine is shared: before each worker, wait (up to maxWaitMs) until other
 * processes leave at least about one core idle. Returns the busy share last seen.
 */
let gateBudgetMs = 90_000

async function quietGate(maxWaitMs: number): Promise<number> {
  const start = Date.now()
  for (;;) {
    const a = cpuTimes()
    await new Promise((r) => setTimeout(r, 150))
    const share = busyShare(a, cpuTimes())
    const waited = Date.now() - start
    // A run-wide budget keeps a machine that stays busy from stretching the run.
    if (!(share > 0.45) || waited > maxWaitMs || waited > gateBudgetMs) {
      gateBudgetMs -= waited
      return share
    }
    await new Promise((r) => setTimeout(r, 1000))
  }
}

/**
 * How workers start. By default bench/worker.ts and everything it imports
 * from the repo (engine, adapters) is bundled once per run with esbuild
 * (the transform tsx itself uses; packages stay external): a worker then
 * starts in ~0.25 s instead of ~1.3 s through tsx, which over ~270 workers
 * is several minutes. `--tsx` (and `--profile`, so profiles name the .ts
 * files) load the sources through tsx instead.
 */
let workerArgs: string[] = ['--import', 'tsx', workerPath]

async function bundleWorker(out: string): Promise<void> {
  const { build } = await import('esbuild')
  await build({
    entryPoints: [workerPath],
    outfile: out,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    sourcemap: 'inline',
    logLevel: 'warning',
  })
}

function runWorker(job: WorkerJob, nodeArgs: string[], timeoutMs: number): Promise<Spawned> {
  const t0 = performance.now()
  const cpu0 = cpuTimes()
  return new Promise((resolvePromise) => {
    const child = spawn(process.execPath, [...nodeArgs, '--expose-gc', ...workerArgs, JSON.stringify(job)], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      if (stderr.trim()) appendFileSync(logFile, `--- stderr ${job.workload ?? job.fixture} ${job.contender}\n${stderr}\n`)
      const line = stdout.split('\n').find((l) => l.startsWith(RESULT_TAG))
      const wallMs = performance.now() - t0
      const busy = busyShare(cpu0, cpuTimes())
      if (line) resolvePromise({ result: JSON.parse(line.slice(RESULT_TAG.length)) as Result, wallMs, busy })
      else resolvePromise({ result: { error: `worker exited (code ${code}, signal ${signal}) without a result; stderr: ${stderr.slice(-2000)}` }, wallMs, busy })
    })
  })
}

function pct(x: number): string {
  return Number.isFinite(x) ? `${Math.round(x * 100)}%` : '?'
}

function fmt(n: number): string {
  if (!Number.isFinite(n)) return String(n)
  if (Math.abs(n) >= 100) return Math.round(n).toLocaleString('en-US')
  return n.toPrecision(3)
}

function gitInfo(): { commit: string; dirty: boolean } {
  // Set when the bench runs on an exported snapshot of a commit (no .git there).
  if (process.env.BENCH_GIT_COMMIT) return { commit: process.env.BENCH_GIT_COMMIT, dirty: false }
  try {
    const quiet = { cwd: root, encoding: 'utf8' as const, stdio: ['ignore', 'pipe', 'ignore'] as ['ignore', 'pipe', 'ignore'] }
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], quiet).trim()
    const status = execFileSync('git', ['status', '--porcelain', '--', 'src', 'adapters'], quiet).trim()
    return { commit, dirty: status.length > 0 }
  } catch {
    return { commit: 'unknown', dirty: false }
  }
}

function versionOf(pkg: string): string {
  try {
    return (JSON.parse(readFileSync(join(root, 'node_modules', pkg, 'package.json'), 'utf8')) as { version: string }).version
  } catch {
    return 'missing'
  }
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2))
  mkdirSync(resultsDir, { recursive: true })
  mkdirSync(tmpRoot, { recursive: true })
  if (args.report) {
    const data = JSON.parse(readFileSync(join(resultsDir, 'latest.json'), 'utf8')) as BenchData
    writeReport(data, resultsDir, 'latest')
    console.log('wrote bench/results/latest.md and chart.svg')
    return
  }
  const scale: Scale = { ...(args.quick ? QUICK_SCALE : FULL_SCALE) }
  if (args.capMs !== undefined) scale.capMs = args.capMs
  const scaleName = args.quick ? 'quick' : 'full'
  const runDir = join(tmpRoot, `run-${process.pid}`)
  mkdirSync(runDir, { recursive: true })
  logFile = join(tmpRoot, `run-${process.pid}.log`)
  const skippedContenders = unavailable()
  // Taken now, when the workers' bundle is made from the tree: edits during a long run must not mislabel it.
  const git = gitInfo()
  if (!args.tsx && !args.profile) {
    const bundle = join(runDir, 'worker.mjs')
    await bundleWorker(bundle)
    workerArgs = [bundle]
  }
  const profileDir = join(resultsDir, 'profiles')

  let selected: Workload[] = workloads.filter((w) => (w.big ? args.big : true))
  if (args.only) {
    const known = new Set(workloads.map((w) => w.id))
    for (const id of args.only) if (!known.has(id)) throw new Error(`unknown workload ${id}; known: ${[...known].join(', ')}`)
    selected = workloads.filter((w) => args.only!.includes(w.id))
  } else if (args.quick) selected = selected.filter((w) => w.quick)
  const contendersOf = (w: Workload): string[] =>
    w.contenders.filter(
      (c) =>
        !skippedContenders.has(c) &&
        (!args.contenders || args.contenders.includes(c) || c === 'machine') &&
        (!args.profile || c.startsWith('caskdb') || c === 'keyv-caskdb'),
    )

  const partial = args.quick || args.only !== undefined || args.contenders !== undefined || args.profile
  const outName = args.out ?? (partial ? 'partial' : 'latest')
  const started = Date.now()
  log(`caskdb bench: ${selected.length} workloads, ${args.rounds} round(s), scale ${scaleName}, cap ${scale.capMs} ms${args.profile ? ', profiling' : ''}`)
  for (const [c, why] of skippedContenders) log(`  skipping ${c}: ${why}`)

  // ---- fixtures: built once per run by each persistent contender ----
  const fixtureRoot = join(tmpRoot, 'fixtures', scaleName)
  const fixtureDir = (f: FixtureId, c: string): string => join(fixtureRoot, f, c)
  const fixtureBuild: Record<string, number> = {}
  const needed = new Map<string, { f: FixtureId; c: string }>()
  for (const w of selected) {
    if (!w.fixture) continue
    for (const c of contendersOf(w)) if (isPersistent(c)) needed.set(`${w.fixture}/${c}`, { f: w.fixture, c })
  }
  for (const { f, c } of needed.values()) {
    const dir = fixtureDir(f, c)
    const marker = join(dir, '.bench-complete')
    if (args.reuseFixtures && existsSync(marker)) {
      log(`fixture ${f}/${c}: reused`)
      continue
    }
    rmSync(dir, { recursive: true, force: true })
    mkdirSync(dir, { recursive: true })
    const job: WorkerJob = { mode: 'fixture', fixture: f, contender: c, dir, scale, round: 0 }
    const { result, wallMs } = await runWorker(job, [], 900_000)
    if ('error' in result) throw new Error(`building fixture ${f} for ${c} failed: ${result.error}`)
    writeFileSync(marker, '')
    fixtureBuild[`${f}/${c}`] = result.value
    log(`fixture ${f}/${c}: ${fmt(result.value)} ms (${(wallMs / 1000).toFixed(1)} s with startup)`)
  }

  // ---- rounds ----
  const cells: Record<string, Record<string, Cell[]>> = {}
  let cellNo = 0
  for (let round = 0; round < args.rounds; round++) {
    for (const w of selected) {
      if (w.once && round > 0) continue
      const list = contendersOf(w)
      const order = list.map((_, i) => list[(i + round) % list.length]!)
      for (const c of order) {
        const dir = join(runDir, `cell-${cellNo++}`)
        mkdirSync(dir, { recursive: true })
        const job: WorkerJob = { mode: 'run', workload: w.id, contender: c, dir, scale, round }
        if (w.fixture && isPersistent(c)) job.fixtureDir = fixtureDir(w.fixture, c)
        const nodeArgs: string[] = []
        if (args.profile) {
          mkdirSync(profileDir, { recursive: true })
          job.profile = join(profileDir, `${w.id}.${c}${args.rounds > 1 ? `.r${round + 1}` : ''}.cpuprofile`)
        }
        const timeout = w.big ? 1_800_000 : w.once ? 600_000 : 180_000
        const before = await quietGate(args.quick ? 0 : 2000)
        const { result, wallMs, busy } = await runWorker(job, nodeArgs, timeout)
        rmSync(dir, { recursive: true, force: true })
        ;((cells[w.id] ??= {})[c] ??= []).push({ round, ...result, wallMs, busyBefore: before, busyDuring: busy })
        const shown = 'error' in result ? `ERROR ${result.error.split('\n')[0]}` : `${fmt(result.value)} ${result.unit}${result.capped ? ' (capped)' : ''}`
        log(
          `[round ${round + 1}] ${w.id.padEnd(16)} ${c.padEnd(14)} ${shown}  (${(wallMs / 1000).toFixed(1)} s; cpu busy before ${pct(before)}, during ${pct(busy)})`,
        )
      }
    }
  }
  rmSync(runDir, { recursive: true, force: true })

  const data: BenchData = {
    meta: {
      date: new Date().toISOString(),
      node: process.version,
      cpu: `${cpus().length} × ${cpus()[0]?.model ?? 'unknown'}`,
      memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
      git,
      rounds: args.rounds,
      scale,
      scaleName,
      minutes: (Date.now() - started) / 60_000,
      fixtureBuildMs: fixtureBuild,
      skippedContenders: Object.fromEntries(skippedContenders),
      versions: {
        'classic-level': versionOf('classic-level'),
        'memory-level': versionOf('memory-level'),
        lmdb: versionOf('lmdb'),
        keyv: versionOf('keyv'),
        'keyv-file': versionOf('keyv-file'),
        '@keyv/sqlite': versionOf('@keyv/sqlite'),
        sqlite3: versionOf('sqlite3'),
      },
      argv: process.argv.slice(2),
    },
    workloads: selected.map((w) => ({ id: w.id, title: w.title, layer: w.layer, unit: w.unit, higherIsBetter: w.higherIsBetter, mode: w.mode })),
    cells,
  }
  if (args.profile) {
    const files = readdirSync(profileDir).filter((f) => f.endsWith('.cpuprofile'))
    const lines: string[] = []
    for (const f of files.sort()) {
      lines.push(`## ${f}`, '', '```', summarizeProfile(join(profileDir, f), 25), '```', '')
    }
    writeFileSync(join(profileDir, 'summary.md'), lines.join('\n'))
    log(`profiles: bench/results/profiles/ (summary.md)`)
  }
  writeFileSync(join(resultsDir, `${outName}.json`), JSON.stringify(data, null, 1) + '\n')
  writeReport(data, resultsDir, outName)
  if (args.merge) {
    const latestPath = join(resultsDir, 'latest.json')
    const latest = JSON.parse(readFileSync(latestPath, 'utf8')) as BenchData
    for (const [w, byC] of Object.entries(cells)) {
      latest.cells[w] = { ...(latest.cells[w] ?? {}), ...byC }
      if (!latest.workloads.some((x) => x.id === w)) latest.workloads.push(data.workloads.find((x) => x.id === w)!)
    }
    // An earlier substitution of the same rows is superseded by this one.
    latest.meta.merged = (latest.meta.merged ?? []).filter((m) => !m.workloads.every((w) => w in cells))
    latest.meta.merged.push({ workloads: Object.keys(cells), contenders: [...new Set(Object.values(cells).flatMap((byC) => Object.keys(byC)))], date: data.meta.date, git: data.meta.git, rounds: args.rounds })
    writeFileSync(latestPath, JSON.stringify(latest, null, 1) + '\n')
    writeReport(latest, resultsDir, 'latest')
    log(`merged ${Object.keys(cells).join(', ')} into bench/results/latest.*`)
  }
  log(`done in ${data.meta.minutes.toFixed(1)} min: bench/results/${outName}.md, ${outName}.json${outName === 'latest' ? ', chart.svg' : ''}`)
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
