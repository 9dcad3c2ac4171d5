/** What bench/run.ts sends a worker, and how the worker answers. */
import type { FixtureId, Scale } from '../workloads/types.js'

export interface WorkerJob {
  mode: 'run' | 'fixture'
  workload?: string
  fixture?: FixtureId
  contender: string
  dir: string
  fixtureDir?: string
  scale: Scale
  round: number
  engineOptions?: Record<string, unknown>
  /** Write a CPU profile of the timed part (from the first measured loop to the end) here. */
  profile?: string
}

/** The worker prints exactly one line starting with this, followed by the Result as JSON. */
export const RESULT_TAG = '@@RESULT '
