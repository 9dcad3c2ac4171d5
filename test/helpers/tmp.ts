/** Temporary directories for tests, removed when the process exits. */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const made: string[] = []
let hooked = false

export function tempDir(prefix = 'caskdb-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  made.push(dir)
  if (!hooked) {
    hooked = true
    process.on('exit', () => {
      for (const d of made) rmSync(d, { recursive: true, force: true })
    })
  }
  return dir
}

/** A path inside a fresh temporary directory that does not exist yet. */
export function tempPath(name = 'db'): string {
  return join(tempDir(), name)
}
