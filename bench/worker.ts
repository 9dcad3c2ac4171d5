/**
 * One measurement in a fresh process: `node --import tsx bench/worker.ts '<json>'`.
 * Prints one line `@@RESULT <json>` and exits. Started by bench/run.ts.
 */
import { performance } from 'node:perf_hooks'
import { levelContender } from './contenders/level.js'
import { keyvContender } from './contenders/keyv.js'
import { checkFixture, fixtureSpec, loadFixture } from './fixtures.js'
import { workload } from './workloads/index.js'
import { loadKeyv } from './workloads/keyv.js'
import { setTimedHook } from './lib/measure.js'
import { Session } from 'node:inspector'
import { writeFileSync } from 'node:fs'
import type { Ctx, Result } from './workloads/types.js'
import { RESULT_TAG, type WorkerJob } from './lib/protocol.js'


async function buildFixture(job: WorkerJob): Promise<Result> {
  const t0 = performance.now()
  const spec = fixtureSpec(job.fixture!, job.scale)
  if (job.fixture === 'keyv') {
    const keyv = await keyvContender(job.contender).open(job.dir)
    await loadKeyv(keyv, job.contender, spec.keys)
    await keyv.disconnect()
  } else {
    const store = await levelContender(job.contender).open(job.dir, job.engineOptions)
    await loadFixture(store, spec)
    await checkFixture(store, spec)
    await store.close()
  }
  const ms = performance.now() - t0
  return { value: ms, unit: 'ms', higherIsBetter: false, ms, ops: spec.keys }
}

/**
 * CPU profile of the timed part only (not module loading, fixture opening or
 * data generation): sampling starts when the first loop starts (warm-up
 * included) and stops when the workload returns.
 */
function startProfiler(): Session {
  const session = new Session()
  session.connect()
  session.post('Profiler.enable')
  session.post('Profiler.setSamplingInterval', { interval: 200 })
  setTimedHook(() => session.post('Profiler.start'))
  return session
}

function stopProfiler(session: Session, path: string): void {
  session.post('Profiler.stop', (err, result) => {
    if (err) throw err
    writeFileSync(path, JSON.stringify(result.profile))
  })
}

async function main(): Promise<void> {
  const job = JSON.parse(process.argv[2] ?? '{}') as WorkerJob
  let out: Result | { error: string }
  try {
    if (job.mode === 'fixture') out = await buildFixture(job)
    else {
      const ctx: Ctx = {
        contender: job.contender,
        dir: job.dir,
        fixtureDir: job.fixtureDir,
        scale: job.scale,
        round: job.round,
        engineOptions: job.engineOptions ?? {},
      }
      const session = job.profile === undefined ? undefined : startProfiler()
      out = await workload(job.workload!).run(ctx)
      if (session !== undefined) stopProfiler(session, job.profile!)
    }
  } catch (err) {
    out = { error: err instanceof Error ? `${err.message}\n${err.stack ?? ''}` : String(err) }
  }
  process.stdout.write('\n' + RESULT_TAG + JSON.stringify(out) + '\n', () => process.exit(0))
}

void main()
