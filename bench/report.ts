/**
 * Turns bench results (JSON) into the Markdown report and the SVG chart.
 * `npm run bench -- --report` regenerates both from bench/results/latest.json.
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { median, spread } from './lib/measure.js'
import type { Layer, Result, Scale } from './workloads/types.js'
import { levelContenders } from './contenders/level.js'
import { keyvContenders } from './contenders/keyv.js'

export interface Cell extends Partial<Result> {
  round: number
  wallMs: number
  /** Share of all cores busy right before the worker started (other processes) and while it ran (it included). */
  busyBefore?: number
  busyDuring?: number
  error?: string
}

export interface WorkloadInfo {
  id: string
  title: string
  layer: Layer
  unit: string
  higherIsBetter: boolean
  mode: 'default' | 'sync' | 'n/a'
}

export interface BenchData {
  meta: {
    date: string
    node: string
    cpu: string
    memoryGiB: number
    git: { commit: string; dirty: boolean }
    rounds: number
    scale: Scale
    scaleName: string
    minutes: number
    fixtureBuildMs: Record<string, number>
    skippedContenders: Record<string, string>
    versions: Record<string, string>
    argv: string[]
    /** Workloads re-measured later (`--merge`) and substituted into this report. */
    merged?: { workloads: string[]; contenders: string[]; date: string; git: { commit: string; dirty: boolean }; rounds: number }[]
  }
  workloads: WorkloadInfo[]
  cells: Record<string, Record<string, Cell[]>>
}

const LEVEL_COLUMNS = ['classic-level', 'memory-level', 'lmdb', 'caskdb', 'caskdb-level']
const KEYV_COLUMNS = ['keyv-map', 'keyv-file', 'keyv-sqlite', 'keyv-caskdb']
const SHORT: Record<string, string> = {
  'classic-level': 'classic-level',
  'memory-level': 'memory-level',
  lmdb: 'lmdb',
  caskdb: 'caskdb (raw)',
  'caskdb-level': 'caskdb/level',
  'keyv-map': 'Keyv + Map',
  'keyv-file': 'keyv-file',
  'keyv-sqlite': '@keyv/sqlite',
  'keyv-caskdb': 'KeyvCask',
  machine: 'machine',
}

// ---- numbers --------------------------------------------------------------

function ok(cell: Cell): cell is Cell & Result {
  return cell.error === undefined && cell.skipped === undefined && typeof cell.value === 'number' && Number.isFinite(cell.value)
}

export class Stats {
  constructor(readonly data: BenchData) {}

  info(workload: string): WorkloadInfo | undefined {
    return this.data.workloads.find((w) => w.id === workload)
  }

  cells(workload: string, contender: string): Cell[] {
    return this.data.cells[workload]?.[contender] ?? []
  }

  values(workload: string, contender: string): number[] {
    return this.cells(workload, contender).filter(ok).map((c) => c.value)
  }

  median(workload: string, contender: string): number {
    return median(this.values(workload, contender))
  }

  extra(workload: string, contender: string, name: string): number {
    return median(
      this.cells(workload, contender)
        .filter(ok)
        .map((c) => c.extra?.[name])
        .filter((x): x is number => typeof x === 'number'),
    )
  }

  /** Median of per-round ratios, oriented so that > 1 means `a` is better than `b`. */
  ratio(workload: string, a: string, b: string): number {
    const info = this.info(workload)
    const ra = new Map(this.cells(workload, a).filter(ok).map((c) => [c.round, c.value]))
    const rs: number[] = []
    for (const c of this.cells(workload, b).filter(ok)) {
      const va = ra.get(c.round)
      if (va === undefined || c.value === 0 || va === 0) continue
      rs.push(info?.higherIsBetter === false ? c.value / va : va / c.value)
    }
    return median(rs)
  }

  capped(workload: string, contender: string): boolean {
    return this.cells(workload, contender).some((c) => c.capped === true)
  }

  error(workload: string, contender: string): string | undefined {
    const cell = this.cells(workload, contender).find((c) => c.error !== undefined || c.skipped !== undefined)
    return cell?.error ?? cell?.skipped
  }
}

export function fmtNum(n: number, unit = ''): string {
  if (!Number.isFinite(n)) return '—'
  let s: string
  const a = Math.abs(n)
  if (unit === 'ms' || unit.startsWith('B') || unit.startsWith('bytes') || unit.startsWith('%')) {
    s = a >= 100 ? Math.round(n).toLocaleString('en-US') : a >= 10 ? n.toFixed(1) : n.toFixed(2)
  } else if (a >= 1e6) s = (n / 1e6).toFixed(2) + 'M'
  else if (a >= 1e4) s = (n / 1e3).toFixed(1) + 'k'
  else if (a >= 1e3) s = (n / 1e3).toFixed(2) + 'k'
  else if (a >= 10) s = n.toFixed(0)
  else s = n.toPrecision(3)
  return s
}

function fmtRatio(r: number): string {
  if (!Number.isFinite(r)) return '—'
  if (r >= 100) return Math.round(r) + '×'
  if (r >= 10) return r.toFixed(1) + '×'
  if (r >= 0.01) return r.toFixed(2) + '×'
  return r.toExponential(1) + '×'
}

function cellText(s: Stats, w: string, c: string): string {
  const values = s.values(w, c)
  if (values.length === 0) {
    const err = s.error(w, c)
    if (err !== undefined) return 'error'
    return s.data.cells[w]?.[c] ? 'error' : '—'
  }
  const unit = s.info(w)?.unit ?? ''
  const sp = spread(values)
  return `${fmtNum(median(values), unit)}${s.capped(w, c) ? '†' : ''}${values.length > 1 ? ` ±${Math.round(sp * 100)}%` : ''}`
}

// ---- targets ----------------------------------------------------------------

export interface TargetRow {
  workload: string
  target: string
  /** Per subject: figure shown and whether it meets the target (undefined: not measured; partial: only part of it measured). */
  subjects: { contender: string; figure: string; met: boolean | undefined; partial?: boolean }[]
}

function check(parts: { ok: boolean | undefined; text: string }[]): { figure: string; met: boolean | undefined; partial?: boolean } {
  const measured = parts.filter((p) => p.ok !== undefined)
  if (measured.length === 0) return { figure: 'not measured', met: undefined }
  const figure = parts.map((p) => p.text).join('; ')
  if (measured.some((p) => p.ok === false)) return { figure, met: false }
  return measured.length === parts.length ? { figure, met: true } : { figure, met: true, partial: true }
}

function atLeast(value: number, threshold: number, text: string): { ok: boolean | undefined; text: string } {
  return Number.isFinite(value) ? { ok: value >= threshold, text } : { ok: undefined, text: `${text}` }
}

function atMost(value: number, threshold: number, text: string): { ok: boolean | undefined; text: string } {
  return Number.isFinite(value) ? { ok: value <= threshold, text } : { ok: undefined, text: `${text}` }
}

export function targets(s: Stats): TargetRow[] {
  const levelSubjects = ['caskdb', 'caskdb-level']
  const row = (workload: string, target: string, subjects: string[], f: (c: string) => { figure: string; met: boolean | undefined; partial?: boolean }): TargetRow => ({
    workload,
    target,
    subjects: subjects.map((c) => ({ contender: c, ...f(c) })),
  })
  const vs = (w: string, c: string, ref: string, min: number): { ok: boolean | undefined; text: string } => {
    const r = s.ratio(w, c, ref)
    return atLeast(r, min, `${fmtRatio(r)} ${SHORT[ref]}`)
  }
  const floor = s.median('fsync_floor', 'machine')
  return [
    row('put, 1 in flight', '≥ 4× classic-level and ≥ 1× memory-level', levelSubjects, (c) => {
      const parts = [vs('put1', c, 'classic-level', 4), vs('put1', c, 'memory-level', 1)]
      const writeFloor = s.median('write_floor', 'machine')
      const memory = s.median('put1', 'memory-level')
      // The machine's own bound for a put acknowledged after its write system call.
      if (Number.isFinite(writeFloor) && Number.isFinite(memory)) {
        parts.push({ ok: true, text: `(one write system call per put alone: ${fmtNum(writeFloor)}/s = ${fmtRatio(writeFloor / memory)} memory-level; caskdb reaches ${fmtPct(s.median('put1', c) / writeFloor)} of it)` })
      }
      return check(parts)
    }),
    row('put, 64 in flight', '≥ 2× classic-level', levelSubjects, (c) => check([vs('put64', c, 'classic-level', 2)])),
    row('batch of 1000', '≥ 1.5× classic-level', levelSubjects, (c) => check([vs('batch1000', c, 'classic-level', 1.5)])),
    row('get random, 1 in flight', '≥ 1× lmdb (≈ 6× classic-level)', levelSubjects, (c) =>
      check([vs('get1', c, 'lmdb', 1), { ok: true, text: `${fmtRatio(s.ratio('get1', c, 'classic-level'))} classic-level` }]),
    ),
    row('getSync random', '≥ 1× lmdb', levelSubjects, (c) => check([vs('get_sync', c, 'lmdb', 1)])),
    row('full iteration, range scans', '≥ 1× memory-level', levelSubjects, (c) =>
      check([vs('iterate', c, 'memory-level', 1), vs('range', c, 'memory-level', 1)].map((p, i) => ({ ...p, text: `${i === 0 ? 'iteration' : 'range'} ${p.text}` }))),
    ),
    row('`sync: true` puts, 64 in flight', '≥ 30k/s, ≥ 20× the one-fsync-at-a-time floor, ≥ 5× classic-level sync', levelSubjects, (c) => {
      const v = s.median('sync_put64', c)
      return check([
        atLeast(v, 30_000, `${fmtNum(v)}/s`),
        atLeast(v / floor, 20, `${fmtRatio(v / floor)} floor (${fmtNum(floor)}/s)`),
        vs('sync_put64', c, 'classic-level', 5),
      ])
    }),
    row('reopen 1M keys → first get', '≤ 300 ms', levelSubjects, (c) => {
      const v = s.median('reopen', c)
      return check([atMost(v, 300, `${fmtNum(v, 'ms')} ms`)])
    }),
    row('disk after overwrite + compaction', '≤ 1.2× live bytes (keys + values)', levelSubjects, (c) => {
      const v = s.extra('overwrite', c, 'afterOverLive')
      return check([atMost(v, 1.2, `${fmtRatio(v)} live`)])
    }),
    row('puts while compaction runs', '≥ 70 % of puts without it', ['caskdb'], (c) => {
      const v = s.median('compaction_puts', c)
      return check([atLeast(v, 70, `${fmtNum(v, '%')} %`)])
    }),
    row('index memory', '≤ 100 bytes per key beyond key bytes; 20M keys fit in one process', levelSubjects, (c) => {
      if (c !== 'caskdb') return { figure: 'same engine index as caskdb (raw)', met: undefined }
      const v = s.extra('memory_index', c, 'beyondKeyBytes')
      const parts = [atMost(v, 100, `${fmtNum(v, 'B')} B/key beyond key bytes at ${fmtNum(s.extra('memory_index', c, 'keys'))} keys (cacheSize 0)`)]
      const big = s.extra('memory10m', c, 'beyondKeyBytes')
      if (Number.isFinite(big)) parts.push(atMost(big, 100, `${fmtNum(big, 'B')} B/key at ${fmtNum(s.extra('memory10m', c, 'keys'))} keys`))
      parts.push({ ok: undefined, text: '20M keys in one process not measured by this suite (see bench/NOTES.md)' })
      return check(parts)
    }),
    row('Keyv set 1 in flight; Keyv get', 'set ≥ 0.5× Keyv + Map; get ≥ 1× keyv-file', ['keyv-caskdb'], (c) =>
      check([vs('keyv_set1', c, 'keyv-map', 0.5), vs('keyv_get1', c, 'keyv-file', 1)].map((p, i) => ({ ...p, text: `${i === 0 ? 'set' : 'get'} ${p.text}` }))),
    ),
  ]
}

function status(met: boolean | undefined, partial?: boolean): string {
  if (met === undefined) return 'not measured'
  if (!met) return 'not met'
  return partial ? '**met** for the part measured' : '**met**'
}

// ---- markdown -------------------------------------------------------------

function table(header: string[], rows: string[][], align?: string[]): string {
  const a = align ?? header.map((_, i) => (i === 0 ? '---' : '---:'))
  return [`| ${header.join(' | ')} |`, `|${a.join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n')
}

function workloadLabel(info: WorkloadInfo): string {
  const unit = info.unit === '%' ? '%' : info.unit
  const mode = info.mode === 'sync' ? ' [sync]' : ''
  return `${info.title} (${unit})${mode}`
}

export function markdown(data: BenchData): string {
  const s = new Stats(data)
  const m = data.meta
  const out: string[] = []
  const present = (cols: string[], layer: Layer): string[] =>
    cols.filter((c) => data.workloads.some((w) => w.layer === layer && (data.cells[w.id]?.[c]?.length ?? 0) > 0))
  out.push('# caskdb benchmark results', '')
  out.push(
    `${m.date.slice(0, 16).replace('T', ' ')} UTC · ${m.cpu}, ${m.memoryGiB} GiB · Node ${m.node} · caskdb ${m.git.commit}${m.git.dirty ? ' (uncommitted engine changes)' : ''} · ` +
      `${m.rounds} round(s), contender order rotated each round, every cell a fresh process · scale "${m.scaleName}", loops capped at ${m.scale.capMs} ms · ` +
      `run took ${m.minutes.toFixed(1)} min · regenerate with \`npm run bench\``,
    '',
  )
  out.push(
    '**Read every figure with the machine load below in mind**: on a 2-core machine shared with other sessions, spreads of ±100 % and more are common and a ratio moves by tens of percent between runs. ' +
      'Cells: median over rounds, ± = (max − min) / median across rounds, † = the time cap ended the loop before its operation count. ' +
      'Ratios: median of the per-round ratios (both figures from the same round), oriented so that **> 1× means caskdb is better** ' +
      '(for ms and bytes rows the ratio is inverted). An A/A check on these machines put noise at about ±15 % for 3 rounds.',
    '',
  )
  for (const mg of m.merged ?? []) {
    out.push(
      `Re-measured in a later run and substituted: ${mg.workloads.join(', ')} (${mg.contenders.join(', ')}; ${mg.rounds} round(s), ${mg.date.slice(0, 16).replace('T', ' ')} UTC, caskdb ${mg.git.commit}). Ratios for these rows come from that run's rounds.`,
      '',
    )
  }
  const all = Object.values(data.cells).flatMap((byC) => Object.values(byC).flat())
  const before = all.map((c) => c.busyBefore).filter((x): x is number => typeof x === 'number' && Number.isFinite(x))
  const during = all.map((c) => c.busyDuring).filter((x): x is number => typeof x === 'number' && Number.isFinite(x))
  if (before.length > 0) {
    out.push(
      `Machine load (shared machine; one worker uses about half of it): median share of all cores busy right before a worker started ${fmtPct(median(before))}, ` +
        `while it ran ${fmtPct(median(during))}; ${before.filter((x) => x > 0.45).length} of ${before.length} workers started while other processes kept more than ~1 core busy.`,
      '',
    )
  }
  const lv = data.workloads.filter((w) => w.layer === 'level')
  const levelCols = present(LEVEL_COLUMNS, 'level')
  if (lv.length > 0) {
    out.push('## Ordered key-value API', '')
    out.push(
      `Data: 16-byte keys, 100-byte random values unless stated; puts into an empty store (up to ${fmtNum(m.scale.putOps)} ops), ` +
        `reads on a ${fmtNum(m.scale.smallKeys)}-key fixture (4 KiB rows: ${fmtNum(m.scale.keys4k)} keys; cold reads and reopen: ${fmtNum(m.scale.millionKeys)} keys) built by each store itself, ` +
        'inserted in random order; page cache warm and the stores\' own caches cold at the start of each process, except where stated. ' +
        '`[sync]` rows use each store\'s durable mode; all other write rows use each store\'s default.',
      '',
    )
    const rows = lv.map((w) => [workloadLabel(w), ...levelCols.map((c) => (w.id === 'compaction_puts' && c !== 'caskdb' && c !== 'classic-level' ? '—' : cellText(s, w.id, c)))])
    out.push(table(['workload', ...levelCols.map((c) => SHORT[c]!)], rows), '')
    const subjects = levelCols.filter((c) => c === 'caskdb' || c === 'caskdb-level')
    const refs = levelCols.filter((c) => c === 'classic-level' || c === 'memory-level' || c === 'lmdb')
    if (subjects.length > 0 && refs.length > 0) {
      out.push('### Ratios (per-round medians; > 1× = caskdb better)', '')
      const header = ['workload']
      for (const sub of subjects) for (const ref of refs) header.push(`${SHORT[sub]} ÷ ${ref}`)
      const ratioRows = lv.filter((w) => !w.unit.startsWith('B')).map((w) => {
        const r = [w.title]
        for (const sub of subjects) for (const ref of refs) r.push(fmtRatio(s.ratio(w.id, sub, ref)))
        return r
      })
      out.push(table(header, ratioRows), '')
    }
    out.push('### Durability of each column', '')
    for (const c of levelContenders.filter((x) => levelCols.includes(x.id))) {
      out.push(`- **${SHORT[c.id]}** (${c.label}): default rows: ${c.durability}; \`[sync]\` rows: ${c.durableMode}.`)
    }
    out.push('')
  }
  const kv = data.workloads.filter((w) => w.layer === 'keyv')
  const keyvCols = present(KEYV_COLUMNS, 'keyv')
  if (kv.length > 0) {
    out.push('## Keyv 5 API', '')
    out.push(`Small JSON values (~110 bytes serialised); gets on a ${fmtNum(m.scale.keyvKeys)}-key store.`, '')
    const header = ['workload', ...keyvCols.map((c) => SHORT[c]!)]
    const withRatios = keyvCols.includes('keyv-caskdb')
    if (withRatios) header.push('KeyvCask ÷ Keyv + Map', 'KeyvCask ÷ keyv-file', 'KeyvCask ÷ @keyv/sqlite')
    const rows = kv.map((w) => {
      const r = [workloadLabel(w), ...keyvCols.map((c) => cellText(s, w.id, c))]
      if (withRatios) r.push(...['keyv-map', 'keyv-file', 'keyv-sqlite'].map((ref) => fmtRatio(s.ratio(w.id, 'keyv-caskdb', ref))))
      return r
    })
    out.push(table(header, rows), '')
    for (const c of keyvContenders.filter((x) => keyvCols.includes(x.id))) out.push(`- **${SHORT[c.id]}**: ${c.durability}.`)
    out.push('')
  }
  const machine = data.workloads.filter((w) => w.layer === 'machine')
  if (machine.length > 0) {
    out.push('## Machine', '')
    for (const w of machine) {
      out.push(
        Number.isFinite(s.extra(w.id, 'machine', 'meanUs'))
          ? `- ${w.title}: ${cellText(s, w.id, 'machine')} ${w.unit} (${fmtNum(s.extra(w.id, 'machine', 'meanUs'), 'ms')} µs each, of which ${fmtNum(s.extra(w.id, 'machine', 'cpuUsPerOp'), 'ms')} µs CPU)`
          : `- ${w.title}: ${cellText(s, w.id, 'machine')} ${w.unit} (median latency ${fmtNum(s.extra(w.id, 'machine', 'medianMs'), 'ms')} ms, p99 ${fmtNum(s.extra(w.id, 'machine', 'p99Ms'), 'ms')} ms)`,
      )
    }
    out.push('')
  }
  out.push(...details(s, levelCols))
  out.push(...cpuSection(s, data.workloads, levelCols, keyvCols))
  const rowsT = targets(s)
  out.push('## Targets (issue #5)', '')
  out.push(
    table(
      ['workload', 'target', 'caskdb (raw)', '', 'caskdb/level or KeyvCask', ''],
      rowsT.map((t) => {
        const a = t.subjects.find((x) => x.contender === 'caskdb')
        const b = t.subjects.find((x) => x.contender !== 'caskdb')
        return [t.workload, t.target, a?.figure ?? '—', a ? status(a.met, a.partial) : '', b?.figure ?? '—', b ? status(b.met, b.partial) : '']
      }),
      ['---', '---', '---', '---', '---', '---'],
    ),
    '',
  )
  const errors: string[] = []
  for (const [w, byC] of Object.entries(data.cells)) {
    for (const [c, cells] of Object.entries(byC)) {
      for (const cell of cells) if (cell.error) errors.push(`- ${w} / ${c} (round ${cell.round + 1}): ${cell.error.split('\n')[0]}`)
    }
  }
  if (Object.keys(m.skippedContenders).length > 0) {
    out.push('## Skipped contenders', '')
    for (const [c, why] of Object.entries(m.skippedContenders)) out.push(`- ${c}: ${why}`)
    out.push('')
  }
  if (errors.length > 0) out.push('## Errors', '', ...errors, '')
  out.push(
    '## Versions',
    '',
    Object.entries(m.versions)
      .map(([k, v]) => `${k} ${v}`)
      .join(' · '),
    '',
  )
  return out.join('\n')
}

/**
 * CPU time per operation, all threads of the process. A store that does part
 * of its work on other threads (LevelDB's writes and compactions on libuv's
 * pool, lmdb's commit thread) can finish sooner than its main thread's share
 * of the work suggests; caskdb does everything on the main thread.
 */
function cpuSection(s: Stats, workloads: BenchData['workloads'], levelCols: string[], keyvCols: string[]): string[] {
  const withCpu = (w: BenchData['workloads'][number], cols: string[]): boolean => cols.some((c) => Number.isFinite(s.extra(w.id, c, 'cpuUsPerOp')))
  const level = workloads.filter((w) => w.layer === 'level' && withCpu(w, levelCols))
  const keyv = workloads.filter((w) => w.layer === 'keyv' && withCpu(w, keyvCols))
  if (level.length === 0 && keyv.length === 0) return []
  const out: string[] = ['### CPU time per operation', '']
  out.push(
    'Process CPU time (user + system, every thread) during the timed loop, divided by the operations done, in µs (median over rounds; lower is better). ' +
      'Where a store is faster by the clock but not by this figure, it is using the second core: classic-level hands each write to a libuv thread (the memtable insert and the log write run there) and lmdb commits on its own thread; caskdb does all its work on the main thread.',
    '',
  )
  const cell = (w: string, c: string): string => fmtNum(s.extra(w, c, 'cpuUsPerOp'), 'ms')
  if (level.length > 0) {
    out.push(table(['workload (µs CPU per op)', ...levelCols.map((c) => SHORT[c]!)], level.map((w) => [w.title, ...levelCols.map((c) => cell(w.id, c))])), '')
  }
  if (keyv.length > 0) {
    out.push(table(['workload (µs CPU per op)', ...keyvCols.map((c) => SHORT[c]!)], keyv.map((w) => [w.title, ...keyvCols.map((c) => cell(w.id, c))])), '')
  }
  return out
}

function details(s: Stats, levelCols: string[]): string[] {
  const out: string[] = []
  const has = (w: string): boolean => s.data.workloads.some((x) => x.id === w)
  if (has('overwrite')) {
    out.push('### Overwrite then compaction (disk)', '')
    const cols = levelCols.filter((c) => c !== 'memory-level')
    out.push(
      table(
        ['', ...cols.map((c) => SHORT[c]!)],
        [
          ['disk after 200k overwrites of 10k keys (MiB)', ...cols.map((c) => fmtNum(s.extra('overwrite', c, 'diskBeforeMiB'), 'B'))],
          ['disk after full compaction and close (MiB)', ...cols.map((c) => fmtNum(s.extra('overwrite', c, 'diskAfterMiB'), 'B'))],
          ['… ÷ live bytes (10k × 116 B = 1.11 MiB)', ...cols.map((c) => fmtRatio(s.extra('overwrite', c, 'afterOverLive')))],
          ['compaction time (ms)', ...cols.map((c) => fmtNum(s.extra('overwrite', c, 'compactMs'), 'ms'))],
        ],
      ),
      '',
      'lmdb has no compaction: its figure is the file after closing (freed pages are reused, the file does not shrink).',
      '',
    )
  }
  if (has('compaction_puts')) {
    const cols = ['classic-level', 'caskdb'].filter((c) => levelCols.includes(c))
    out.push('### Puts while compaction runs', '')
    out.push(
      table(
        ['', ...cols.map((c) => SHORT[c]!)],
        [
          ['puts/s, 1 in flight, no compaction (mean of before and after)', ...cols.map((c) => fmtNum(s.extra('compaction_puts', c, 'baselineOpsPerSec')))],
          ['puts/s while a full compaction runs', ...cols.map((c) => fmtNum(s.extra('compaction_puts', c, 'duringOpsPerSec')))],
          ['compaction time (ms)', ...cols.map((c) => fmtNum(s.extra('compaction_puts', c, 'compactMs'), 'ms'))],
          ['compaction finished within the put loop (rounds)', ...cols.map((c) => `${s.cells('compaction_puts', c).filter((x) => x.extra?.compactionFinishedWhilePutting === true).length} of ${s.cells('compaction_puts', c).length}`)],
          ['disk before → after (MiB)', ...cols.map((c) => `${fmtNum(s.extra('compaction_puts', c, 'diskBeforeMiB'), 'B')} → ${fmtNum(s.extra('compaction_puts', c, 'diskAfterMiB'), 'B')}`)],
        ],
      ),
      '',
      `Database: ${fmtNum(s.data.meta.scale.smallKeys / 2)} keys written 6 times (batches of 1000). caskdb runs with autoCompact: false here so the measured compaction is the only one, and warmCache: false so that no cache warming overlaps either phase; LevelDB compacts in the background as always. The reference put rate is the mean of the same loop before and after the compaction. The put loop returns to the event loop every 64 puts (as a server taking requests from sockets would); the loop stops when the compaction finishes, or after 10 s.`,
      '',
    )
  }
  if (has('get_cold')) {
    const cols = levelCols.filter((c) => c !== 'memory-level')
    const ev = s.cells('get_cold', cols[0] ?? 'caskdb').find((c) => c.extra?.eviction)?.extra?.eviction
    out.push('### Cold reads', '')
    out.push(
      `Page cache eviction: ${ev === 'drop_caches' ? '`echo 1 > /proc/sys/vm/drop_caches`' : ev === 'fadvise' ? '`/proc/sys/vm/drop_caches` is read-only in this VM, so each fixture file is fsynced and evicted with GNU dd `iflag=nocache` (posix_fadvise DONTNEED)' : 'not possible (figures are warm)'}; ` +
        `resident share of the fixture's files right before open: ${cols.map((c) => `${SHORT[c]} ${fmtPct(s.extra('get_cold', c, 'residentBeforeOpen'))}`).join(', ')}. ` +
        'The first 5,000 random gets after open are timed, with no warm-up.',
      '',
    )
  }
  if (has('memory')) {
    out.push('### Memory', '')
    out.push(
      table(
        ['at ' + fmtNum(s.extra('memory', 'caskdb', 'keys')) + ' keys', ...levelCols.map((c) => SHORT[c]!)],
        [
          ['JS heap per key (B)', ...levelCols.map((c) => fmtNum(s.extra('memory', c, 'heapPerKey'), 'B'))],
          ['external (ArrayBuffers) per key (B)', ...levelCols.map((c) => fmtNum(s.extra('memory', c, 'externalPerKey'), 'B'))],
          ['RSS per key (B)', ...levelCols.map((c) => fmtNum(s.extra('memory', c, 'rssPerKey'), 'B'))],
          ['… of which caskdb\'s value cache (B)', ...levelCols.map((c) => fmtNum(s.extra('memory', c, 'cacheBytesPerKey'), 'B'))],
        ],
      ),
      '',
      `caskdb index alone (cacheSize: 0): ${fmtNum(s.extra('memory_index', 'caskdb', 'heapPerKey'), 'B')} B heap + ${fmtNum(s.extra('memory_index', 'caskdb', 'externalPerKey'), 'B')} B external per key, RSS ${fmtNum(s.extra('memory_index', 'caskdb', 'rssPerKey'), 'B')} B per key` +
        (Number.isFinite(s.extra('memory10m', 'caskdb', 'heapPerKey'))
          ? `; at ${fmtNum(s.extra('memory10m', 'caskdb', 'keys'))} keys: ${fmtNum(s.extra('memory10m', 'caskdb', 'heapPerKey'), 'B')} B heap + ${fmtNum(s.extra('memory10m', 'caskdb', 'externalPerKey'), 'B')} B external, RSS ${fmtNum(s.extra('memory10m', 'caskdb', 'rssPerKey'), 'B')} B per key (heap limit ${fmtNum(s.extra('memory10m', 'caskdb', 'heapLimitMiB'), 'B')} MiB).`
          : '.'),
      '',
      'memory-level keeps the values in RAM too; classic-level and lmdb keep almost nothing on the JS heap (LevelDB\'s caches and lmdb\'s mapped pages show in RSS).',
      '',
    )
  }
  return out
}

function fmtPct(x: number): string {
  return Number.isFinite(x) ? `${(x * 100).toFixed(0)} %` : '—'
}

// ---- SVG chart ------------------------------------------------------------

const COLORS: Record<string, string> = {
  'memory-level': '#9e9e9e',
  lmdb: '#5b8fd1',
  caskdb: '#d9453d',
  'caskdb-level': '#f0a030',
  'keyv-file': '#9e9e9e',
  'keyv-sqlite': '#5b8fd1',
  'keyv-caskdb': '#d9453d',
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}

/**
 * Horizontal bars on a log axis: each contender's figure ÷ the reference
 * (classic-level, or Keyv + Map), oriented so that right is better.
 */
export function chart(data: BenchData): string {
  const s = new Stats(data)
  const panels: { title: string; ref: string; series: string[]; rows: WorkloadInfo[] }[] = [
    {
      title: 'Ordered key-value API: ratio to classic-level (same round, median of rounds)',
      ref: 'classic-level',
      series: ['memory-level', 'lmdb', 'caskdb', 'caskdb-level'],
      rows: data.workloads.filter((w) => w.layer === 'level' && w.id !== 'compaction_puts' && !w.unit.startsWith('B')),
    },
    {
      title: 'Keyv 5 API: ratio to Keyv + Map',
      ref: 'keyv-map',
      series: ['keyv-file', 'keyv-sqlite', 'keyv-caskdb'],
      rows: data.workloads.filter((w) => w.layer === 'keyv'),
    },
  ]
  const width = 1060
  const labelW = 420
  const plotW = width - labelW - 60
  const barH = 9
  // Axis: whole powers of ten around every ratio shown (at least 0.1× … 10×).
  const shown: number[] = []
  for (const panel of panels) for (const w of panel.rows) for (const c of panel.series) shown.push(s.ratio(w.id, c, panel.ref))
  const finite = shown.filter((r) => Number.isFinite(r) && r > 0)
  const minR = Math.max(1e-4, Math.min(0.1, 10 ** Math.floor(Math.log10(Math.min(...finite, 1)))))
  const maxR = Math.min(1e4, Math.max(10, 10 ** Math.ceil(Math.log10(Math.max(...finite, 1)))))
  const x = (r: number): number => labelW + ((Math.log10(Math.min(maxR, Math.max(minR, r))) - Math.log10(minR)) / (Math.log10(maxR) - Math.log10(minR))) * plotW
  const parts: string[] = []
  let y = 20
  parts.push(`<text x="${width / 2}" y="${y}" text-anchor="middle" font-size="15" font-weight="bold">caskdb benchmark · ${esc(data.meta.date.slice(0, 10))} · ${esc(data.meta.cpu)} · Node ${esc(data.meta.node)} · ${data.meta.rounds} rounds</text>`)
  y += 14
  parts.push(`<text x="${width / 2}" y="${y}" text-anchor="middle" font-size="11" fill="#555">log scale, right = better (reopen ms inverted) · each figure uses the store's own default durability; [sync] rows use each store's durable mode</text>`)
  y += 12
  for (const panel of panels) {
    const series = panel.series.filter((c) => panel.rows.some((w) => s.values(w.id, c).length > 0))
    if (panel.rows.length === 0 || series.length === 0) continue
    y += 22
    parts.push(`<text x="10" y="${y}" font-size="13" font-weight="bold">${esc(panel.title)}</text>`)
    // legend
    let lx = labelW
    y += 16
    for (const c of series) {
      parts.push(`<rect x="${lx}" y="${y - 9}" width="12" height="10" fill="${COLORS[c]}"/><text x="${lx + 16}" y="${y}" font-size="11">${esc(SHORT[c]!)}</text>`)
      lx += 30 + SHORT[c]!.length * 6.5
    }
    y += 8
    const top = y
    for (const w of panel.rows) {
      const rowSeries = series.filter((c) => s.values(w.id, c).length > 0)
      if (rowSeries.length === 0) continue
      const h = rowSeries.length * (barH + 2) + 8
      parts.push(`<text x="${labelW - 8}" y="${y + h / 2 + 3}" text-anchor="end" font-size="11">${esc(w.title + (w.mode === 'sync' ? ' [sync]' : ''))}</text>`)
      let by = y + 4
      for (const c of rowSeries) {
        const r = s.ratio(w.id, c, panel.ref)
        if (Number.isFinite(r)) {
          const x0 = x(1)
          const x1 = x(r)
          parts.push(`<rect x="${Math.min(x0, x1).toFixed(1)}" y="${by}" width="${Math.max(1, Math.abs(x1 - x0)).toFixed(1)}" height="${barH}" fill="${COLORS[c]}"><title>${esc(`${SHORT[c]}: ${fmtRatio(r)} ${SHORT[panel.ref]}`)}</title></rect>`)
          parts.push(`<text x="${(Math.max(x0, x1) + 3).toFixed(1)}" y="${by + barH - 1}" font-size="9" fill="#333">${fmtRatio(r)}</text>`)
        }
        by += barH + 2
      }
      y += h
      parts.push(`<line x1="${labelW - 4}" x2="${labelW + plotW}" y1="${y}" y2="${y}" stroke="#eee"/>`)
    }
    // axis
    for (const t of [1e-4, 1e-3, 1e-2, 0.1, 0.5, 1, 2, 5, 10, 100, 1000, 1e4].filter((t) => t >= minR && t <= maxR)) {
      const tx = x(t)
      parts.push(`<line x1="${tx}" x2="${tx}" y1="${top}" y2="${y}" stroke="${t === 1 ? '#000' : '#ddd'}" stroke-width="${t === 1 ? 1.2 : 0.8}"/>`)
      parts.push(`<text x="${tx}" y="${y + 12}" text-anchor="middle" font-size="10" fill="#555">${t}×</text>`)
    }
    parts.push(`<text x="${x(1)}" y="${y + 24}" text-anchor="middle" font-size="10" fill="#000">= ${esc(SHORT[panel.ref]!)}</text>`)
    y += 30
  }
  const height = y + 10
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    ...parts,
    '</svg>',
    '',
  ].join('\n')
}

export function writeReport(data: BenchData, dir: string, name: string): void {
  writeFileSync(join(dir, `${name}.md`), markdown(data))
  writeFileSync(join(dir, name === 'latest' ? 'chart.svg' : `${name}.svg`), chart(data))
}
