/** Every example runs to completion with one command, so none of them rots. */
import test from 'tape'
import { execFileSync, spawnSync } from 'node:child_process'
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { tempDir } from './helpers/tmp.js'

const root = join(import.meta.dirname, '..')
// Resolved here, since the examples run in a temporary working directory.
const tsx = import.meta.resolve('tsx')
const expected: Record<string, RegExp> = {
  'quickstart.ts': /after compaction: +0 dead bytes/,
  'level.ts': /./,
  'keyv.ts': /./,
  'snapshots-and-backups.ts': /total in the snapshot: 150[\s\S]*scheduled backups: \[ 'caskdb-backup-/,
  'compaction-and-stats.ts': /a value after compaction: reading 19/,
  'durability-modes.ts': /102 sync writes took [1-9] fsync/,
  'tiered-cache.ts': /./,
}

function hasRedis(): boolean {
  return spawnSync('redis-server', ['--version']).status === 0
}

for (const name of readdirSync(join(root, 'examples')).filter((n) => n.endsWith('.ts')).sort()) {
  test(`examples/${name} runs`, (t) => {
    if (name === 'tiered-cache.ts' && !hasRedis() && !process.env['CI']) {
      t.skip('redis-server is not installed here (CI installs it)')
      return t.end()
    }
    // A fresh working directory: examples that write under ./data write there.
    let out = ''
    try {
      out = execFileSync(process.execPath, ['--import', tsx, join(root, 'examples', name)], {
        cwd: tempDir(),
        encoding: 'utf8',
        timeout: 60_000,
        env: { ...process.env, NODE_OPTIONS: '' },
      })
    } catch (err) {
      t.fail(`exited with an error: ${(err as Error).message}`)
    }
    t.match(out, expected[name] ?? /./, 'expected output')
    t.end()
  })
}
