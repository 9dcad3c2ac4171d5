/**
 * Deterministic test data: 16-byte ASCII keys and random (incompressible)
 * values, generated before any timed loop starts.
 */

/** mulberry32: small, fast, seedable; every process derives the same data from the same seed. */
export function rng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export const KEY_BYTES = 16

/** Sequential key i: 'k' + 15 decimal digits, so key order = numeric order. */
export function seqKey(i: number): string {
  return 'k' + String(i).padStart(KEY_BYTES - 1, '0')
}

export function seqKeys(n: number, start = 0): string[] {
  const keys = new Array<string>(n)
  for (let i = 0; i < n; i++) keys[i] = seqKey(start + i)
  return keys
}

/** n distinct keys (a random permutation of seqKey(0..n-1), offset by `start`). */
export function shuffledKeys(n: number, seed: number, start = 0): string[] {
  const keys = seqKeys(n, start)
  shuffle(keys, seed)
  return keys
}

export function shuffle<T>(a: T[], seed: number): void {
  const r = rng(seed)
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1))
    const t = a[i]!
    a[i] = a[j]!
    a[j] = t
  }
}

/** `count` random values of `size` bytes (random bytes: LevelDB's Snappy gains nothing). */
export function valuePool(size: number, count: number, seed: number): Buffer[] {
  const r = rng(seed)
  const pool: Buffer[] = []
  for (let i = 0; i < count; i++) {
    const b = Buffer.allocUnsafe(size)
    for (let j = 0; j < size; j++) b[j] = (r() * 256) | 0
    pool.push(b)
  }
  return pool
}

/** Indices into a key set of size n for random reads: uniform, or 90 % of reads on 10 % of keys. */
export function readOrder(n: number, count: number, seed: number, skewed = false): Int32Array {
  const r = rng(seed)
  const out = new Int32Array(count)
  const hot = Math.max(1, Math.floor(n / 10))
  for (let i = 0; i < count; i++) {
    if (!skewed) out[i] = Math.floor(r() * n)
    else if (r() < 0.9) out[i] = Math.floor(r() * hot)
    else out[i] = hot + Math.floor(r() * (n - hot))
  }
  return out
}

/** A small JSON object (~100 bytes serialised) for the Keyv workloads. */
export function jsonValue(i: number): Record<string, unknown> {
  return { id: i, name: `user-${i}`, email: `user${i}@example.com`, active: (i & 1) === 0, score: (i * 7919) % 1000, tags: ['a', 'b'] }
}
