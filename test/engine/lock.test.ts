import test from 'tape'
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { CaskDB, CaskError, ErrorCodes } from '../../src/index.js'
import { tempPath } from '../helpers/tmp.js'

const child = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..', 'fixtures', 'hold-lock.ts')

function startHolder(location: string): Promise<ReturnType<typeof spawn>> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ['--import', 'tsx', child, location], { stdio: ['ignore', 'pipe', 'inherit'] })
    proc.stdout!.once('data', () => resolve(proc))
    proc.once('error', reject)
    proc.once('exit', (code) => reject(new Error(`holder exited early with ${code}`)))
  })
}

test('a second instance in the same process gets LOCKED', async (t) => {
  const location = tempPath()
  const db = await CaskDB.open(location)
  const err = await CaskDB.open(location).catch((e: CaskError) => e)
  t.equal((err as CaskError).code, ErrorCodes.LOCKED)
  await db.close()
  const again = await CaskDB.open(location)
  t.pass('the lock is released on close')
  await again.close()
})

test('another process gets LOCKED; a killed holder does not block the next open', async (t) => {
  const location = tempPath()
  const holder = await startHolder(location)
  const err = await CaskDB.open(location).catch((e: CaskError) => e)
  t.equal((err as CaskError).code, ErrorCodes.LOCKED, 'locked by the child')
  t.match((err as CaskError).message, /process \d+/, 'names the holder')
  const exited = new Promise((r) => holder.once('exit', r))
  holder.kill('SIGKILL')
  await exited
  t.ok(existsSync(join(location, 'LOCK')), 'the killed process left its LOCK file')
  const db = await CaskDB.open(location)
  t.equal((await db.get('written by child'))?.toString(), 'yes', 'the child’s acknowledged write survived the kill')
  await db.close()
})
