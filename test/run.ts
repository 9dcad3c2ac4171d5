/**
 * Runs every tape test file (test/**\/*.test.ts) in one process, in name order.
 * Pass paths or substrings to run a subset: `node --import tsx test/run.ts level`.
 */
import test from 'tape'
import { readdirSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const root = fileURLToPath(new URL('.', import.meta.url))

function find(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const path = join(dir, name)
      if (statSync(path).isDirectory()) return name === 'keyv-suite' || name === 'fixtures' ? [] : find(path)
      return name.endsWith('.test.ts') ? [path] : []
    })
}

const filters = process.argv.slice(2)
const files = find(root).filter((f) => filters.length === 0 || filters.some((x) => relative(root, f).includes(x)))
// Hold tape until every file has registered its tests; otherwise a file of
// synchronous tests can finish the run before the next file is imported.
test.wait()

// Our own output stream: tape's TAP goes to stdout as usual, and a plain
// "N passed, M failed" line follows it for CI logs.
let passed = 0
let failed = 0
const tap = test.createStream()
tap.on('data', (line: string) => {
  if (line.startsWith('ok ')) passed++
  else if (line.startsWith('not ok ')) failed++
})
tap.pipe(process.stdout)
tap.on('end', () => console.log(`tape: ${passed} passed, ${failed} failed`))

for (const file of files) await import(pathToFileURL(file).href)
test.run()
