/**
 * The official Keyv 5 compliance suite (@keyv/test-suite 2.1.2), unchanged.
 * Configuration 1: every store() gets a fresh directory (so its own engine).
 */
import { rmSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as test from 'vitest'
import Keyv from 'keyv'
import keyvTestSuite, { keyvIteratorTests } from '@keyv/test-suite'
import { KeyvCask } from '../../adapters/keyv/index.js'

const root = mkdtempSync(join(tmpdir(), 'caskdb-keyv-suite-'))
const stores: KeyvCask[] = []
let n = 0

const store = () => {
  const s = new KeyvCask(join(root, `db-${n++}`))
  stores.push(s)
  return s
}

keyvTestSuite(test, Keyv, store)
keyvIteratorTests(test, Keyv, store)

test.afterAll(async () => {
  await Promise.all(stores.map((s) => s.disconnect()))
  rmSync(root, { recursive: true, force: true })
})
