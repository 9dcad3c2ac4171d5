/**
 * The tombstones a compaction step must carry over: those that still hide an
 * older record of their key in a segment outside the step. The index does
 * not hold tombstones, so they come from the input's hint, or from a scan of
 * its data file when the hint is missing or damaged.
 */
import { visitHint } from '../format/hint.js'
import { RecordType } from '../format/record.js'
import { scanSegment } from '../log/scan.js'
import type { Segment } from '../log/segment.js'
import { corruption } from '../errors.js'
import type { StoreCore } from '../core.js'

export interface Tombstone {
  key: string
  input: Segment
  offset: number
  size: number
  seq: number
  expires: number
}

/** Tombstones of `input` with a sequence number of at least `minSeq`, in the order found. */
export async function keptTombstones(core: StoreCore, input: Segment, minSeq: number): Promise<Tombstone[]> {
  // Nothing in the input is that recent (the usual case in a full compaction): no need to read its hint.
  if (input.maxSeq < minSeq) return []
  const fromHint = await tombstonesFromHint(core, input, minSeq)
  if (fromHint !== undefined) return fromHint
  const found: Tombstone[] = []
  const result = await scanSegment(core.fs, input.fd, input.size, input.dataPath, (buf, at, size, h, offset) => {
    if (h.type !== RecordType.DELETE || h.seq < minSeq) return
    const keyStart = at + h.headerSize
    found.push({ key: buf.latin1Slice(keyStart, keyStart + h.keyLength), input, offset, size, seq: h.seq, expires: h.expires })
  })
  // A tombstone past the damage would be lost with the input, and the value it hides would come back.
  if (result.end !== input.size) throw corruption(`cannot compact: ${result.damage}`, input.dataPath, result.end)
  return found
}

/** undefined when the hint cannot be used (missing, unreadable, damaged): the caller scans instead. */
async function tombstonesFromHint(core: StoreCore, input: Segment, minSeq: number): Promise<Tombstone[] | undefined> {
  let buf: Buffer
  try {
    buf = await core.fs.readFile(input.hintPath)
  } catch {
    return undefined
  }
  const found: Tombstone[] = []
  try {
    // One synchronous pass (visitHint cannot pause); the visitor does a comparison per put.
    visitHint(buf, input.hintPath, (b, keyStart, keyEnd, type, seq, expires, offset, size) => {
      if (type !== RecordType.DELETE || seq < minSeq) return
      found.push({ key: b.latin1Slice(keyStart, keyEnd), input, offset, size, seq, expires })
    })
  } catch {
    return undefined
  }
  return found
}
