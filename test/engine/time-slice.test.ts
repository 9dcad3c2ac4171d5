import test from 'tape'
import { performance } from 'node:perf_hooks'
import { TimeSlicer, TurnCredit, sortSliced } from '../../src/time-slice.js'

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
  const slicer = new TimeSlicer(20, 0) // fixed 20 ms slices
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

const burn = (ms: number): void => {
  const until = performance.now() + ms
  while (performance.now() < until) {
    // the rest of the process at work
  }
}

test('TimeSlicer: the next slice is a quarter of the turn the rest of the process took, and longer when it is idle', async (t) => {
  const slicer = new TimeSlicer()
  // setImmediate callbacks run in order: this one is the rest of the process's turn before pause() resumes.
  let start = performance.now()
  setImmediate(() => burn(8))
  await slicer.pause()
  let turn = performance.now() - start
  t.ok(slicer.currentSliceMs >= 8 * 0.25 && slicer.currentSliceMs <= turn * 0.25 + 0.01, `a long turn (${turn.toFixed(1)} ms): slice ${slicer.currentSliceMs.toFixed(2)} ms`)
  start = performance.now()
  setImmediate(() => burn(0.6))
  await slicer.pause()
  turn = performance.now() - start
  t.ok(slicer.currentSliceMs >= 0.05 && slicer.currentSliceMs <= Math.max(0.05, turn * 0.25) + 0.01, `a short busy turn (${turn.toFixed(2)} ms): slice ${slicer.currentSliceMs.toFixed(3)} ms`)
  t.ok(slicer.currentSliceMs < 0.25 || turn >= 1, 'shorter than the first slice: the foreground keeps ~80 % of the thread')
  // An idle loop: nothing else runs between slices.
  let idle = 0
  for (let i = 0; i < 20 && idle === 0; i++) {
    await slicer.pause()
    if (slicer.currentSliceMs >= 1) idle++
  }
  t.ok(idle > 0, 'an idle turn gives a slice of 1 ms or more')
})

test('TurnCredit: work in pieces it cannot cut still gets a quarter of the foreground time, overshoots paid back', (t) => {
  let clock = 0
  const credit = new TurnCredit(() => clock)
  const run = (turns: number, foregroundMs: number, pieceMs: number) => {
    let work = 0
    let foreground = 0
    let skipped = 0
    for (let i = 0; i < turns; i++) {
      clock += foregroundMs // the rest of the process takes its turn
      foreground += foregroundMs
      const allowed = credit.begin()
      if (allowed > 0) {
        // At least one piece; more while the credit lasts (as the cache warmer does).
        const start = clock
        do {
          clock += pieceMs
          work += pieceMs
        } while (clock - start < allowed)
      } else skipped++
      credit.end()
    }
    return { share: work / foreground, skipped }
  }
  const small = run(4000, 2, 0.1)
  t.ok(Math.abs(small.share - 0.25) < 0.03, `pieces smaller than the credit: ${small.share.toFixed(3)} of the foreground time`)
  const big = run(4000, 1, 3)
  t.ok(Math.abs(big.share - 0.25) < 0.03, `pieces 3x the foreground turn: ${big.share.toFixed(3)} of the foreground time`)
  t.ok(big.skipped > 3000, `by skipping turns to pay them back (${big.skipped} of 4000)`)
  clock += 10
  credit.begin()
  clock += 50 // a piece far over its credit
  credit.end()
  clock += 0.01 // then an idle turn: nobody is waiting
  t.equal(credit.begin(), 1, 'an idle turn allows a millisecond, the overshoot forgiven')
  credit.end()
  clock += 1000
  t.ok(credit.begin() <= 4, 'one long foreground turn does not buy a long burst')
  t.end()
})
