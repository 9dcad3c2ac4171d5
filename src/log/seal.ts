/**
 * Sealing a segment: make its bytes durable, then write the hint file that
 * lets the next open skip reading its values.
 */
import { TMP_SUFFIX, type Segment } from './segment.js'
import { scanSegment } from './scan.js'
import { encodeHint, type HintEntry } from '../format/hint.js'
import { RECORD_HEADER_SIZE } from '../format/record.js'
import { corruption, ioError } from '../errors.js'
import type { StoreCore } from '../core.js'

export async function collectHintEntries(core: StoreCore, segment: Segment): Promise<HintEntry[]> {
  const entries: HintEntry[] = []
  const result = await scanSegment(core.fs, segment.fd, segment.size, segment.dataPath, (buf, at, size, h, offset) => {
    const keyStart = at + RECORD_HEADER_SIZE
    entries.push({
      type: h.type,
      seq: h.seq,
      expires: h.expires,
      offset,
      size,
      key: Buffer.from(buf.subarray(keyStart, keyStart + h.keyLength)),
    })
  })
  if (result.end !== segment.size) throw corruption(`cannot seal: ${result.damage}`, segment.dataPath, result.end)
  return entries
}

/** Writes `<id>.hint` atomically: temporary name, fsync, rename, fsync of the directory. */
export async function publishHint(core: StoreCore, segment: Segment, replaces: number[], entries: HintEntry[]): Promise<void> {
  const tmp = segment.hintPath + TMP_SUFFIX
  try {
    await core.fs.writeFileDurable(tmp, encodeHint(replaces, entries), core.options.fileMode)
    await core.fs.rename(tmp, segment.hintPath)
    await core.fs.fsyncDir(core.dir)
  } catch (err) {
    throw ioError(`writing ${segment.hintPath}`, err)
  }
  segment.hinted = true
}

export async function sealSegment(core: StoreCore, segment: Segment): Promise<void> {
  segment.sealed = true
  try {
    await core.fs.fdatasync(segment.fd)
  } catch (err) {
    throw ioError(`syncing ${segment.dataPath}`, err)
  }
  await publishHint(core, segment, [], await collectHintEntries(core, segment))
}
