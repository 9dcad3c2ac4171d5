/** What a workload is and what it reports. */

export type Layer = 'level' | 'keyv' | 'machine'

export type FixtureId = 'small' | 'value4k' | 'million' | 'keyv'

export interface Scale {
  /** Time cap of one measured loop (ms). */
  capMs: number
  /** Keys in the 'small' read fixture. */
  smallKeys: number
  /** Keys in the 4 KiB-value read fixture. */
  keys4k: number
  /** Keys in the reopen / cold-read fixture. */
  millionKeys: number
  /** Keys in the Keyv read fixture. */
  keyvKeys: number
  /** Upper bound on operations of a put loop. */
  putOps: number
  /** Keys for the memory workload. */
  memoryKeys: number
}

export const FULL_SCALE: Scale = {
  capMs: 1200,
  smallKeys: 200_000,
  keys4k: 25_000,
  millionKeys: 1_000_000,
  keyvKeys: 20_000,
  putOps: 200_000,
  memoryKeys: 1_000_000,
}

export const QUICK_SCALE: Scale = {
  capMs: 400,
  smallKeys: 50_000,
  keys4k: 5_000,
  millionKeys: 200_000,
  keyvKeys: 5_000,
  putOps: 50_000,
  memoryKeys: 200_000,
}

export interface Fixtures {
  small: number
  value4k: number
  million: number
  keyv: number
}

export interface Ctx {
  contender: string
  /** An empty directory for this run (writes go here). */
  dir: string
  /** The prebuilt fixture of this contender, when the workload names one. */
  fixtureDir: string | undefined
  scale: Scale
  round: number
  /** Extra engine options (profiling and experiments only). */
  engineOptions: Record<string, unknown>
}

export interface Result {
  /** The primary figure. */
  value: number
  unit: string
  higherIsBetter: boolean
  /** The time cap ended the loop before its operation count. */
  capped?: boolean
  ops?: number
  ms?: number
  /** Secondary figures (disk bytes, RSS, …). */
  extra?: Record<string, number | string | boolean | undefined>
  /** The contender cannot do this (e.g. no compaction): shown as a dash with this reason. */
  skipped?: string
}

export interface Workload {
  id: string
  title: string
  layer: Layer
  unit: string
  higherIsBetter: boolean
  /** Which durability mode the figures use. */
  mode: 'default' | 'sync' | 'n/a'
  contenders: string[]
  fixture?: FixtureId
  /** Run in the first round only (slow and deterministic enough). */
  once?: boolean
  /** Part of `--quick`. */
  quick?: boolean
  /** Only with `--big`. */
  big?: boolean
  run(ctx: Ctx): Promise<Result>
}
