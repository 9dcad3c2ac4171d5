/**
 * The value cache keeps its values in memory of its own (src/value-slabs.ts):
 * what it keeps alive stays within its promise (slabs ≤ 2 × cached bytes + 2
 * slabs), no cached value keeps a slice of Node's shared pool alive, and
 * moving values out of sparse slabs never changes what a read returns.
 * Checked against a model: a Map of every position's expected bytes.
 */
import test from 'tape'
import { ENTRY_OVERHEAD, ValueCache } from '../../src/value-cache.js'
import { ValueSlabs } from '../../src/value-slabs.js'
import { prng } from '../reliability/support.js'

test('value cache: a small value is copied into a slab; a pool slice is never kept', (t) => {
  const cache = new ValueCache(1024 * 1024)
  const pooled = Buffer.from('a short value') // a slice of Node's 8 KiB pool
  t.ok(pooled.buffer.byteLength > pooled.length, '(the test value is a pool slice)')
  const kept = cache.set(1, 8, pooled)!
  t.ok(kept.equals(pooled), 'the cache keeps the same bytes')
  t.notEqual(kept.buffer, pooled.buffer, 'in memory of its own, not in the pool')
  t.equal(cache.slabBytes, new ValueSlabs(1024 * 1024).slabBytes, 'one slab')
  pooled.write('XXXXX')
  t.equal(cache.get(1, 8)?.toString(), 'a short value', 'changing the Buffer passed in changes nothing cached')
  t.end()
})

test('value cache: a large value is kept as it is only when handed over and of its own', (t) => {
  const cache = new ValueCache(1024 * 1024)
  const own = Buffer.alloc(8192, 1)
  t.equal(cache.set(1, 8, own, true), own, 'handed over, an allocation of its own: kept as it is')
  const notGiven = Buffer.alloc(8192, 2)
  t.notEqual(cache.set(1, 9000, notGiven), notGiven, 'not handed over: copied')
  const big = Buffer.alloc(64 * 1024, 3)
  const view = big.subarray(100, 100 + 8192)
  const kept = cache.set(1, 20_000, view, true)!
  t.notEqual(kept.buffer, big.buffer, 'a view into a larger allocation: copied, so that it does not keep 64 KiB alive')
  t.equal(kept.buffer.byteLength, 8192, 'into an allocation of its size')
  t.ok(kept.equals(view))
  t.equal(cache.set(1, 40_000, Buffer.alloc(0))?.length, 0, 'an empty value is cached')
  t.equal(cache.get(1, 40_000)?.length, 0)
  t.equal(cache.set(1, 50_000, Buffer.alloc(2 * 1024 * 1024)), undefined, 'a value larger than the cache is not cached')
  t.equal(new ValueCache(0).set(1, 8, Buffer.from('x')), undefined, 'cacheSize 0 caches nothing')
  t.end()
})

test('value cache: under a skewed churn its slabs stay within 2 × the cached bytes + 2 slabs, and every read is right', (t) => {
  const maxBytes = 256 * 1024
  const cache = new ValueCache(maxBytes)
  const slab = new ValueSlabs(maxBytes).slabBytes
  const random = prng(11)
  const model = new Map<number, Buffer>()
  let worst = 0
  let wrong = 0
  const keys = 20_000
  for (let i = 0; i < 200_000; i++) {
    // 90 % of the operations on a tenth of the keys: the hot values outlive their slab neighbours.
    const k = Math.floor(random() * (random() < 0.9 ? keys / 10 : keys))
    const cached = cache.get(1, k * 64)
    if (cached !== undefined && !cached.equals(model.get(k)!)) wrong++
    if (cached === undefined) {
      const value = Buffer.from(`value ${k} `.repeat(1 + (k % 9)))
      model.set(k, value)
      cache.set(1, k * 64, value)
    }
    // The cached values' own bytes (cache.bytes also charges ENTRY_OVERHEAD per entry).
    const bound = 2 * (cache.bytes - ENTRY_OVERHEAD * cache.size) + 2 * slab
    worst = Math.max(worst, cache.slabBytes / bound)
  }
  t.equal(wrong, 0, 'every cached read returned its own bytes')
  t.ok(worst <= 1, `slabs never passed the bound (at most ${(worst * 100).toFixed(0)} % of it)`)
  t.ok(cache.slabBytes <= 2 * maxBytes + 2 * slab, `${cache.slabBytes} bytes of slabs for a ${maxBytes}-byte cache`)
  let present = 0
  for (const [k, value] of model) {
    const got = cache.get(1, k * 64)
    if (got === undefined) continue
    present++
    if (!got.equals(value)) wrong++
  }
  t.equal(wrong, 0, `after the churn, the ${present} values still cached are right`)
  t.end()
})

test('value cache: values move out of a sparse slab, which is then freed; deletes and clear free slabs', (t) => {
  const maxBytes = 64 * 1024
  const cache = new ValueCache(maxBytes)
  const slab = new ValueSlabs(maxBytes).slabBytes
  const value = (i: number) => Buffer.alloc(100, i & 0xff)
  const count = Math.floor((4 * slab) / 100)
  for (let i = 0; i < count; i++) cache.set(1, i * 128, value(i))
  t.ok(cache.slabBytes >= 4 * slab, `${cache.slabBytes / slab} slabs filled`)
  // Leave one value in ten: the slabs are now mostly holes.
  for (let i = 0; i < count; i++) if (i % 10 !== 0) cache.delete(1, i * 128)
  const before = cache.slabBytes
  cache.set(2, 0, value(1)) // a set moves the values of one sparse slab
  t.ok(cache.slabBytes < before, `a sparse slab was emptied and freed (${before} → ${cache.slabBytes})`)
  for (let i = 0; i < 20; i++) cache.set(2, (i + 1) * 128, value(i))
  t.ok(cache.slabBytes <= 2 * (cache.bytes - ENTRY_OVERHEAD * cache.size) + 2 * slab, 'back within the bound')
  let wrong = 0
  for (let i = 0; i < count; i += 10) if (!cache.get(1, i * 128)?.equals(value(i))) wrong++
  t.equal(wrong, 0, 'every survivor still reads its own bytes after moving')
  for (let i = 0; i < count; i += 10) cache.delete(1, i * 128)
  for (let i = 0; i <= 20; i++) cache.delete(2, i * 128)
  t.equal(cache.bytes, 0, 'nothing cached')
  t.ok(cache.slabBytes <= slab, 'only the current slab is left')
  cache.set(3, 8, value(3))
  cache.clear()
  t.equal(cache.slabBytes, 0, 'clear frees every slab')
  t.equal(cache.get(3, 8), undefined)
  t.end()
})

test('value slabs: their size follows the cache size, within 4 and 256 KiB', (t) => {
  t.equal(new ValueSlabs(1024).slabBytes, 4096)
  t.equal(new ValueSlabs(1024 * 1024).slabBytes, 16 * 1024)
  t.equal(new ValueSlabs(64 * 1024 * 1024).slabBytes, 256 * 1024)
  t.equal(new ValueSlabs(64 * 1024 * 1024).maxPlaced, 4095, 'values Node would slice from its pool go into slabs')
  t.equal(new ValueSlabs(1024).maxPlaced, 1024, 'a quarter slab at most')
  t.end()
})
