#!/usr/bin/env node
/**
 * Entry point of the `caskdb` command (package.json "bin"). See `caskdb --help`.
 */
import { run } from './app.js'

// A reader that goes away (`caskdb dump | head`) is not an error; commands stop writing.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code !== 'EPIPE') process.stderr.write(`caskdb: writing output failed: ${err.message}\n`)
})

run(process.argv.slice(2), { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr }).then(
  (code) => {
    process.exitCode = code
  },
  (err: unknown) => {
    process.stderr.write(`caskdb: INTERNAL: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`)
    process.exitCode = 1
  },
)
