/** The built package loads through both `import` and `require`, for every entry point. */
import test from 'tape'
import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'

const root = join(import.meta.dirname, '..', '..')
const entries = [
  { spec: 'caskdb', names: ['CaskDB', 'CaskError', 'ErrorCodes', 'Snapshot', 'CaskIterator'] },
  { spec: 'caskdb/level', names: ['CaskLevel'], file: 'dist/esm/adapters/level/index.js' },
  { spec: 'caskdb/keyv', names: ['KeyvCask', 'createKeyv'], file: 'dist/esm/adapters/keyv/index.js' },
]

function run(code: string, type: 'module' | 'commonjs'): string {
  return execFileSync(process.execPath, ['--input-type=' + type, '-e', code], { cwd: root, encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } })
}

test('dist exists (npm test builds first)', (t) => {
  t.ok(existsSync(join(root, 'dist/esm/src/index.js')), 'ESM build')
  t.ok(existsSync(join(root, 'dist/cjs/src/index.js')), 'CommonJS build')
  t.ok(existsSync(join(root, 'dist/esm/src/index.d.ts')), 'type declarations')
  t.end()
})

for (const entry of entries) {
  if (entry.file && !existsSync(join(root, entry.file))) continue
  test(`${entry.spec}: import and require expose ${entry.names.join(', ')}`, (t) => {
    const probe = `JSON.stringify(${JSON.stringify(entry.names)}.map((n) => typeof m[n] !== 'undefined'))`
    const esm = run(`import * as m from '${entry.spec}'; console.log(${probe})`, 'module')
    const cjs = run(`const m = require('${entry.spec}'); console.log(${probe})`, 'commonjs')
    t.same(JSON.parse(esm), entry.names.map(() => true), 'import')
    t.same(JSON.parse(cjs), entry.names.map(() => true), 'require')
    t.end()
  })
}

test('the CommonJS and ESM builds work end to end', (t) => {
  const code = (load: string) =>
    `${load}; const os = require('node:os'); const path = require('node:path'); const fs = require('node:fs');
     (async () => { const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'caskdb-exports-'));
       const db = await CaskDB.open(dir); await db.put('k', 'v'); const v = (await db.get('k')).toString(); await db.close();
       fs.rmSync(dir, { recursive: true }); console.log(v) })()`
  t.equal(run(code(`const { CaskDB } = require('caskdb')`), 'commonjs').trim(), 'v')
  const esm = execFileSync(
    process.execPath,
    ['--input-type=module', '-e', `import { CaskDB } from 'caskdb'; import os from 'node:os'; import path from 'node:path'; import fs from 'node:fs';
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'caskdb-exports-')); const db = await CaskDB.open(dir); await db.put('k', 'v');
      console.log((await db.get('k')).toString()); await db.close(); fs.rmSync(dir, { recursive: true })`],
    { cwd: root, encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } },
  )
  t.equal(esm.trim(), 'v')
  t.end()
})
