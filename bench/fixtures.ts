/**
 * Read fixtures, built once per run per persistent contender (by that
 * contender itself, in its own process) and then opened read-only by every
 * read workload. Non-persistent contenders load the same data in-process,
 * before the timed part.
 *
 * Keys are inserted in a shuffled order, as a store filled by random writes.
 */
import { shuffledKeys, valuePool, seqKey } from './lib/data.js'
import type { PutOp, Store } from './contenders/level.js'
import type { FixtureId, Scale } from './workloads/types.js'

export const VALUE_SEED = 42

export interface FixtureSpec {
  keys: number
  valueSize: number
}

export function fixtureSpec(id: FixtureId, scale: Scale): FixtureSpec {
  switch (id) {
    case 'small':
      return { keys: scale.smallKeys, valueSize: 100 }
    case 'value4k':
      return { keys: scale.keys4k, valueSize: 4096 }
    case 'million':
      return { keys: scale.millionKeys, valueSize: 100 }
    case 'keyv':
      return { keys: scale.keyvKeys, valueSize: 0 }
  }
}

/** The value stored under fixture key i. */
export function fixtureValues(spec: FixtureSpec): Buffer[] {
  return valuePool(spec.valueSize, spec.valueSize > 1000 ? 64 : 1024, VALUE_SEED)
}

/**
 * Writes the fixture through `store.batch` in batches of 10,000 (not timed;
 * lmdb commits, and so fsyncs, once per batch: larger batches keep fixture
 * building from dominating the run).
 */
export async function loadFixture(store: Store, spec: FixtureSpec): Promise<void> {
  const pool = fixtureValues(spec)
  const order = shuffledKeys(spec.keys, 7)
  const step = 10_000
  for (let i = 0; i < order.length; i += step) {
    const ops: PutOp[] = []
    for (let j = i; j < Math.min(i + step, order.length); j++) {
      const key = order[j]!
      ops.push({ type: 'put', key, value: pool[Number(key.slice(1)) % pool.length]! })
    }
    await store.batch(ops)
  }
}

/** Checks a fixture answers with the value it was built with (guards against a silently empty store). */
export async function checkFixture(store: Store, spec: FixtureSpec): Promise<void> {
  const pool = fixtureValues(spec)
  for (const i of [0, spec.keys >> 1, spec.keys - 1]) {
    const got = await store.get(seqKey(i))
    if (got === undefined || !Buffer.from(got).equals(pool[i % pool.length]!)) {
      throw new Error(`fixture check failed at key ${seqKey(i)}`)
    }
  }
}
