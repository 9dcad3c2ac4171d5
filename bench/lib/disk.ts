/** Disk helpers: directory sizes, page-cache eviction and warming. */
import { closeSync, fsyncSync, openSync, readSync, readdirSync, statSync, writeFileSync } from 'node:fs'
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'

export function filesUnder(dir: string): string[] {
  const out: string[] = []
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) out.push(...filesUnder(path))
    else if (entry.isFile()) out.push(path)
  }
  return out
}

/** Apparent bytes (sum of file sizes) and allocated bytes (blocks) of every file under dir. */
export function dirBytes(dir: string): { apparent: number; allocated: number } {
  let apparent = 0
  let allocated = 0
  for (const file of filesUnder(dir)) {
    const st = statSync(file)
    apparent += st.size
    allocated += st.blocks * 512
  }
  return { apparent, allocated }
}

/** Reads every file once so the page cache holds it ("page cache warm"). */
export function warmPageCache(dir: string): void {
  const buf = Buffer.allocUnsafe(1 << 20)
  for (const file of filesUnder(dir)) {
    const fd = openSync(file, 'r')
    try {
      let pos = 0
      for (;;) {
        const n = readSync(fd, buf, 0, buf.length, pos)
        if (n <= 0) break
        pos += n
      }
    } finally {
      closeSync(fd)
    }
  }
}

/** Fraction of the files' pages resident in the page cache, from util-linux `fincore` (undefined if unavailable). */
export function residentFraction(dir: string): number | undefined {
  const files = filesUnder(dir)
  if (files.length === 0) return undefined
  const r = spawnSync('fincore', ['--bytes', '--noheadings', '--raw', '--output', 'RES,SIZE', ...files], { encoding: 'utf8' })
  if (r.status !== 0) return undefined
  let res = 0
  let size = 0
  for (const line of r.stdout.trim().split('\n')) {
    const [a, b] = line.trim().split(/\s+/).map(Number)
    res += a ?? 0
    size += b ?? 0
  }
  return size > 0 ? res / size : undefined
}

/**
 * Evicts the files under dir from the page cache. Tries the global
 * `drop_caches` first (root on a real host); in a container or VM where
 * /proc/sys is read-only it falls back to per-file eviction with GNU dd's
 * `iflag=nocache` (posix_fadvise POSIX_FADV_DONTNEED), after fsync so no
 * page is dirty. Returns the method that worked.
 */
export function evictPageCache(dir: string): 'drop_caches' | 'fadvise' | 'none' {
  const files = filesUnder(dir)
  for (const file of files) {
    const fd = openSync(file, 'r')
    try {
      fsyncSync(fd)
    } finally {
      closeSync(fd)
    }
  }
  try {
    writeFileSync('/proc/sys/vm/drop_caches', '1')
    return 'drop_caches'
  } catch {
    // not allowed here: per-file fallback below
  }
  let ok = true
  for (const file of files) {
    const r = spawnSync('dd', [`if=${file}`, 'iflag=nocache', 'count=0', 'status=none'])
    if (r.status !== 0) ok = false
  }
  return ok ? 'fadvise' : 'none'
}
