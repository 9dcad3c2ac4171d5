/** Shared by the hint and sealing tests: a read-counting FileSystem, the hint a scan of a data file gives, a version 1 hint. */
import { readFileSync } from 'node:fs'
import { crc32 } from 'node:zlib'
import { nodeFileSystem, type FileSystem } from '../../src/io/file-system.js'
import { scanSegment } from '../../src/log/scan.js'
import { HintEntries, encodeHintEntries, type HintEntry } from '../../src/format/hint.js'
import { FILE_HEADER_SIZE, HINT_MAGIC, encodeFileHeader } from '../../src/format/file-header.js'

/** Wraps `base` to count the bytes read from each file (by path). */
export function countingFs(base: FileSystem = nodeFileSystem): { fs: FileSystem; bytesRead: Map<string, number> } {
  const paths = new Map<number, string>()
  const bytesRead = new Map<string, number>()
  const count = (fd: number, n: number) => {
    const path = paths.get(fd) ?? `fd ${fd}`
    bytesRead.set(path, (bytesRead.get(path) ?? 0) + n)
  }
  const fs: FileSystem = {
    ...base,
    openSync: (path, flags, mode) => {
      const fd = base.openSync(path, flags, mode)
      paths.set(fd, path)
      return fd
    },
    readSync: (fd, buffer, offset, length, position) => {
      const n = base.readSync(fd, buffer, offset, length, position)
      count(fd, n)
      return n
    },
    read: async (fd, buffer, offset, length, position) => {
      const n = await base.read(fd, buffer, offset, length, position)
      count(fd, n)
      return n
    },
  }
  return { fs, bytesRead }
}

/** The hint a scan of the data file gives (what sealing wrote before it collected entries as records were appended). */
export async function scannedHint(dataPath: string, replaces: number[] = []): Promise<Buffer> {
  const fd = nodeFileSystem.openSync(dataPath, 'r')
  try {
    const size = readFileSync(dataPath).length
    const entries = new HintEntries()
    const result = await scanSegment(nodeFileSystem, fd, size, dataPath, (buf, at, recordSize, h, offset) => {
      const keyStart = at + h.headerSize
      entries.add(h.type, h.seq, h.expires, offset, recordSize, buf, keyStart, keyStart + h.keyLength)
    })
    if (result.end !== size) throw new Error(`scan stopped at ${result.end} of ${size}`)
    return encodeHintEntries(replaces, entries, { dataLength: size })
  } finally {
    nodeFileSystem.closeSync(fd)
  }
}

/** A hint in format version 1, as the release before hint format 2 wrote it: fixed-width entries, in the order given. */
export function encodeV1Hint(entries: readonly HintEntry[], replaces: readonly number[] = []): Buffer {
  let length = FILE_HEADER_SIZE + 4 + 4 * replaces.length + 8
  for (const e of entries) length += 29 + e.key.length
  const v1 = Buffer.alloc(length)
  encodeFileHeader(HINT_MAGIC, 1).copy(v1)
  let at = FILE_HEADER_SIZE
  v1.writeUInt32BE(replaces.length, at)
  at += 4
  for (const id of replaces) {
    v1.writeUInt32BE(id, at)
    at += 4
  }
  for (const e of entries) {
    v1[at] = e.type
    v1.writeUInt32BE(Math.floor(e.seq / 2 ** 32), at + 1)
    v1.writeUInt32BE(e.seq >>> 0, at + 5)
    v1.writeUInt32BE(Math.floor(e.expires / 2 ** 32), at + 9)
    v1.writeUInt32BE(e.expires >>> 0, at + 13)
    v1.writeUInt32BE(e.offset, at + 17)
    v1.writeUInt32BE(e.size, at + 21)
    v1.writeUInt32BE(e.key.length, at + 25)
    e.key.copy(v1, at + 29)
    at += 29 + e.key.length
  }
  v1.writeUInt32BE(entries.length, at)
  v1.writeUInt32BE(crc32(v1.subarray(0, at + 4)), at + 4)
  return v1
}
