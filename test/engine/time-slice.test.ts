import test from 'tape'
import { performance } from 'node:perf_hooks'
import { TimeSlicer, sortSliced } from '../../src/time-slice.js'

test('sortSliced sorts like Array.prototype.sort, stably, across pauses', async (t) => {
  let x = 12345
  const random = () => (x = (x * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff
  for (const n of [0, 1, 511, 512, 513, 1500, 20_000]) {
    const items = Array.from({ length: n }, (_, i) => ({ key: Math.floor(random() * (n / 4 + 1)), i }))
    const expected = [...items].sort((a, b) => a.key - b.key)
    const slicer = new TimeSlicer(0.01)
    await sortSliced(items, (a, b) => a.key - b.key, slicer)
    t.same(items, expected, `${n} items (${slicer.pauses} pauses)`)
  }
})

test('TimeSlicer: tick() reports a used-up slice only after its budget, pause() starts a new one', async (t) => {
  const slicer = new TimeSlicer(20)
  let due = false
  for (let i = 0; i < 1000 && !due; i++) due = slicer.tick()
  t.notOk(due, 'a thousand cheap units fit in 20 ms')
  const until = performance.now() + 25
  while (performance.now() < until) {
    // burn the slice
  }
  for (let i = 0; i < 64 && !due; i++) due = slicer.tick()
  t.ok(due, 'due once the budget has passed (checked every 64 units)')
  await slicer.pause()
  t.equal(slicer.pauses, 1)
  t.notOk(slicer.tick(64), 'a fresh slice after pause()')
})
