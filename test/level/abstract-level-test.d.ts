// abstract-level ships its compliance suite without typings.
declare module 'abstract-level/test/index.js' {
  import type { Test } from 'tape'

  type TestFn = (name: string, fn: (t: Test) => unknown) => void

  export interface SuiteOptions {
    test: TestFn | ((...args: never[]) => unknown)
    factory: (options?: Record<string, unknown>) => unknown
    [key: string]: unknown
  }

  interface Suite {
    (options: SuiteOptions): void
    common(options: SuiteOptions): SuiteOptions
  }

  const suite: Suite
  export default suite
}
