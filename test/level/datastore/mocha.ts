/**
 * Mocha's describe/it/before/after/beforeEach/afterEach as globals, mapped
 * onto tape: each `it` becomes one tape test named after its describe path,
 * with the hooks of every enclosing describe run around it. Enough for
 * interface-datastore-tests.
 */
import test from 'tape'

type Fn = (this: { timeout(ms: number): void }) => unknown

interface Suite {
  name: string
  parent: Suite | undefined
  before: Fn[]
  after: Fn[]
  beforeEach: Fn[]
  afterEach: Fn[]
  items: ({ kind: 'test'; name: string; fn: Fn } | { kind: 'suite'; suite: Suite })[]
}

const context = { timeout(_ms: number) {} }

function newSuite(name: string, parent: Suite | undefined): Suite {
  return { name, parent, before: [], after: [], beforeEach: [], afterEach: [], items: [] }
}

let current = newSuite('', undefined)

function path(suite: Suite): string[] {
  return suite.parent === undefined ? [] : [...path(suite.parent), suite.name]
}

function chain(suite: Suite): Suite[] {
  return suite.parent === undefined ? [suite] : [...chain(suite.parent), suite]
}

/** Collects the tests `define` declares, then registers them with tape under `prefix`. */
export function runMochaSuite(prefix: string, define: () => void): void {
  const root = newSuite(prefix, undefined)
  const saved = current
  const g = globalThis as Record<string, unknown>
  const previous = ['describe', 'it', 'before', 'after', 'beforeEach', 'afterEach'].map((k) => [k, g[k]] as const)
  current = root
  g.describe = (name: string, body: () => void) => {
    const suite = newSuite(name, current)
    current.items.push({ kind: 'suite', suite })
    const parent = current
    current = suite
    try {
      body()
    } finally {
      current = parent
    }
  }
  g.it = (name: string, fn: Fn) => current.items.push({ kind: 'test', name, fn })
  g.before = (fn: Fn) => current.before.push(fn)
  g.after = (fn: Fn) => current.after.push(fn)
  g.beforeEach = (fn: Fn) => current.beforeEach.push(fn)
  g.afterEach = (fn: Fn) => current.afterEach.push(fn)
  try {
    define()
  } finally {
    current = saved
    for (const [k, v] of previous) g[k] = v
  }
  register(root, prefix)
}

function register(suite: Suite, prefix: string): void {
  const tests = suite.items
  const count = tests.length
  if (count === 0) return
  let index = 0
  for (const item of tests) {
    const first = index === 0
    const last = index === count - 1
    index++
    if (item.kind === 'suite') {
      // before/after hooks of this suite wrap the whole nested suite
      if (first && suite.before.length > 0) test(`${prefix} ${path(suite).join(' > ')} (before)`, async () => {
        for (const fn of suite.before) await fn.call(context)
      })
      register(item.suite, prefix)
      if (last && suite.after.length > 0) test(`${prefix} ${path(suite).join(' > ')} (after)`, async () => {
        for (const fn of suite.after) await fn.call(context)
      })
      continue
    }
    test(`${prefix} ${[...path(suite), item.name].join(' > ')}`, async (t) => {
      if (first) for (const fn of suite.before) await fn.call(context)
      const suites = chain(suite)
      for (const s of suites) for (const fn of s.beforeEach) await fn.call(context)
      try {
        await item.fn.call(context)
        t.pass(item.name)
      } finally {
        for (const s of suites.reverse()) for (const fn of s.afterEach) await fn.call(context)
        if (last) for (const fn of suite.after) await fn.call(context)
      }
    })
  }
}
