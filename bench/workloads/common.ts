/** Helpers shared by the Level-layer workloads. */
import { levelContender, type Store } from '../contenders/level.js'
import { checkFixture, fixtureSpec, loadFixture, type FixtureSpec } from '../fixtures.js'
import type { Ctx, FixtureId } from './types.js'
import { warmPageCache } from '../lib/disk.js'

export const LEVEL_ALL = ['classic-level', 'memory-level', 'lmdb', 'caskdb', 'caskdb-level']
export const LEVEL_PERSISTENT = ['classic-level', 'lmdb', 'caskdb', 'caskdb-level']
export const WARMUP_MS = 300

/** Opens the contender on an empty directory. */
export async function openEmpty(ctx: Ctx): Promise<Store> {
  return levelContender(ctx.contender).open(ctx.dir, ctx.engineOptions)
}

/**
 * Opens the contender's prebuilt fixture (a non-persistent contender loads it
 * in-process first, untimed) and checks a few keys. The fixture's files are
 * read once first, so the page cache holds them as the rows promise: the
 * cold-read workload's eviction is global, and without this every read
 * workload after it in a round ran on a cold page cache (the 4 KiB fixture,
 * larger than caskdb's cache, then read from disk: 2.3–2.8k gets/s against
 * 45–51k in the round before it, run 6).
 */
export async function openFixture(ctx: Ctx, id: FixtureId): Promise<{ store: Store; spec: FixtureSpec }> {
  const contender = levelContender(ctx.contender)
  const spec = fixtureSpec(id, ctx.scale)
  let store: Store
  if (contender.persistent) {
    if (ctx.fixtureDir === undefined) throw new Error(`no ${id} fixture for ${ctx.contender}`)
    warmPageCache(ctx.fixtureDir)
    store = await contender.open(ctx.fixtureDir, ctx.engineOptions)
  } else {
    store = await contender.open(ctx.dir, ctx.engineOptions)
    await loadFixture(store, spec)
  }
  await checkFixture(store, spec)
  return { store, spec }
}
