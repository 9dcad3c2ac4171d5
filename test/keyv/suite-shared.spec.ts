/**
 * The official Keyv 5 compliance suite (@keyv/test-suite 2.1.2), unchanged.
 * Configuration 2: every store() names the same directory, so all adapter
 * objects share one engine and only namespaces keep them apart.
 */
import { rmSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as test from 'vitest'
import Keyv from 'keyv'
import keyvTestSuite, { keyvIteratorTests } from '@keyv/test-suite'
import { KeyvCask } from '../../adapters/keyv/index.js'

const root = mkdtempSync(join(tmpdir(), 'caskdb-keyv-shared-'))
const location = join(root, 'db')
const stores: KeyvCask[] = []

const store = () => {
  const s = new KeyvCask(location)
  stores.push(s)
  return s
}

keyvTestSuite(test, Keyv, store)
keyvIteratorTests(test, Keyv, store)

test.afterAll(async () => {
  const engine = await stores[0]!.getEngine()
  // One engine for every adapter object the suite created.
  test.expect(await stores[stores.length - 1]!.getEngine()).toBe(engine)
  await Promise.all(stores.map((s) => s.disconnect()))
  test.expect(engine.status).toBe('closed')
  rmSync(root, { recursive: true, force: true })
})
