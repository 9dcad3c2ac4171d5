/**
 * The small part of chai (+ dirty-chai + chai-as-promised) that
 * interface-datastore-tests uses, as `aegir/chai` would provide it: we run
 * that suite under tape without installing aegir. Covers: to/be/have/with/
 * that/deep/not/eventually chains, equal, eql, true(), false(), exist(),
 * property, length/lengthOf, members, greaterThan, include, rejected.
 */
import { inspect } from 'node:util'

export class AssertionError extends Error {
  override name = 'AssertionError'
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true
  if (ArrayBuffer.isView(a) && ArrayBuffer.isView(b)) {
    const x = new Uint8Array(a.buffer, a.byteOffset, a.byteLength)
    const y = new Uint8Array(b.buffer, b.byteOffset, b.byteLength)
    return x.length === y.length && x.every((v, i) => v === y[i])
  }
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false
  if (Array.isArray(a) !== Array.isArray(b)) return false
  const ka = Object.keys(a)
  const kb = Object.keys(b)
  if (ka.length !== kb.length) return false
  return ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]))
}

type Step = (subject: unknown, negate: boolean) => unknown

const LANGUAGE = new Set(['to', 'be', 'been', 'is', 'that', 'which', 'and', 'has', 'have', 'with', 'at', 'of', 'same', 'but', 'does'])

function check(ok: boolean, negate: boolean, message: string): void {
  if (ok === negate) throw new AssertionError(negate ? `expected not: ${message}` : message)
}

const show = (x: unknown) => inspect(x, { depth: 4 })

function makeMethods(flags: { deep: boolean }): Record<string, (...args: unknown[]) => Step> {
  return {
    equal: (expected) => (subject, negate) => {
      check(flags.deep ? deepEqual(subject, expected) : Object.is(subject, expected), negate, `expected ${show(subject)} to equal ${show(expected)}`)
      return subject
    },
    eql: (expected) => (subject, negate) => {
      check(deepEqual(subject, expected), negate, `expected ${show(subject)} to deeply equal ${show(expected)}`)
      return subject
    },
    true: (message) => (subject, negate) => {
      check(subject === true, negate, String(message ?? `expected ${show(subject)} to be true`))
      return subject
    },
    false: (message) => (subject, negate) => {
      check(subject === false, negate, String(message ?? `expected ${show(subject)} to be false`))
      return subject
    },
    exist: () => (subject, negate) => {
      check(subject !== null && subject !== undefined, negate, `expected ${show(subject)} to exist`)
      return subject
    },
    property: (...args) => (subject, negate) => {
      const [name, value] = args as [string, unknown]
      const has = subject !== null && subject !== undefined && name in Object(subject)
      const actual = has ? (subject as Record<string, unknown>)[name] : undefined
      if (args.length > 1) check(has && deepEqual(actual, value), negate, `expected property ${name} = ${show(value)}, got ${show(actual)}`)
      else check(has, negate, `expected ${show(subject)} to have property ${name}`)
      return actual
    },
    length: (n) => (subject, negate) => {
      const length = (subject as { length?: number }).length
      check(length === n, negate, `expected length ${String(n)}, got ${String(length)}`)
      return subject
    },
    members: (expected) => (subject, negate) => {
      const a = subject as unknown[]
      const b = expected as unknown[]
      const same = a.length === b.length && b.every((x) => a.some((y) => (flags.deep ? deepEqual(x, y) : x === y)))
      check(same, negate, `expected ${show(a)} to have the members ${show(b)}`)
      return subject
    },
    greaterThan: (n) => (subject, negate) => {
      check((subject as number) > (n as number), negate, `expected ${String(subject)} > ${String(n)}`)
      return subject
    },
    include: (part) => (subject, negate) => {
      const ok = typeof subject === 'string' ? subject.includes(String(part)) : Array.isArray(subject) && subject.some((x) => deepEqual(x, part))
      check(ok, negate, `expected ${show(subject)} to include ${show(part)}`)
      return subject
    },
  }
}

export function expect(subject: unknown): unknown {
  const flags = { deep: false, negate: false, eventually: false }
  const steps: { step: Step; negate: boolean }[] = []
  let current = subject
  const methods = makeMethods(flags)
  methods.lengthOf = methods.length!
  methods.eq = methods.equal!
  methods.equals = methods.equal!
  methods.eqls = methods.eql!

  const add = (step: Step) => {
    const negate = flags.negate
    flags.negate = false
    if (flags.eventually) steps.push({ step, negate })
    else current = step(current, negate)
  }

  const proxy: object = new Proxy(
    {},
    {
      get(_target, prop) {
        if (prop === 'then') {
          if (!flags.eventually) return undefined
          return (resolve: (v: unknown) => void, reject: (e: unknown) => void) => {
            const run = async (): Promise<void> => {
              const settled = await Promise.resolve(subject).then(
                (v) => ({ fulfilled: true, v }),
                (e: unknown) => ({ fulfilled: false, v: e }),
              )
              let consumed = false
              let value: unknown
              for (const { step, negate } of steps) {
                if ((step as Step & { settle?: boolean }).settle) {
                  value = step(settled, negate)
                  consumed = true
                  continue
                }
                if (!consumed) {
                  if (!settled.fulfilled) throw settled.v
                  value = settled.v
                  consumed = true
                }
                value = step(value, negate)
              }
              if (!consumed && !settled.fulfilled) throw settled.v
            }
            run().then(() => resolve(undefined), reject)
          }
        }
        if (typeof prop !== 'string') return undefined
        if (LANGUAGE.has(prop)) return proxy
        if (prop === 'not') {
          flags.negate = !flags.negate
          return proxy
        }
        if (prop === 'deep') {
          flags.deep = true
          return proxy
        }
        if (prop === 'eventually') {
          flags.eventually = true
          return proxy
        }
        if (prop === 'rejected' || prop === 'fulfilled') {
          const wantRejected = prop === 'rejected'
          const step: Step & { settle?: boolean } = (s, negate) => {
            const settled = s as { fulfilled: boolean; v: unknown }
            check(settled.fulfilled !== wantRejected, negate, `expected the promise to be ${prop}`)
            return settled.v
          }
          step.settle = true
          steps.push({ step, negate: flags.negate })
          flags.negate = false
          return proxy
        }
        const method = methods[prop]
        if (method === undefined) throw new Error(`expect shim: unsupported assertion .${prop}`)
        return (...args: unknown[]) => {
          add(method(...args))
          return proxy
        }
      },
    },
  )
  return proxy
}

export const assert = {
  ok(value: unknown, message?: string) {
    if (!value) throw new AssertionError(message ?? 'expected a truthy value')
  },
}
