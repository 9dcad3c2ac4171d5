/**
 * Every caskdb file starts with the same 8 bytes, so a stray or future file is
 * refused before a single record is trusted.
 *
 *   0        4         6          8
 *   +--------+---------+----------+
 *   | magic  | version | reserved |
 *   +--------+---------+----------+
 *     4 B      u16 BE    u16 (0)
 *
 * magic: "CSKD" for data segments, "CSKH" for hint files. Each kind has its
 * own version: data segments are at 2 (records with varint headers, see
 * record.ts; version 1 segments are still read, and never appended to), hint
 * files at 2 (sorted, compact entries; version 1 hints are still read, see
 * hint.ts).
 */
import { CaskError, ErrorCodes, corruption } from '../errors.js'

export const FILE_HEADER_SIZE = 8
/** Version of data segments written now. */
export const FORMAT_VERSION = 2
/** Versions of data segments this caskdb reads. */
export const DATA_VERSIONS: readonly number[] = [1, FORMAT_VERSION]
/** Version of hint files written now. */
export const HINT_FORMAT_VERSION = 2

export const DATA_MAGIC = 'CSKD'
export const HINT_MAGIC = 'CSKH'

export function encodeFileHeader(magic: string, version = FORMAT_VERSION): Buffer {
  const header = Buffer.alloc(FILE_HEADER_SIZE)
  header.write(magic, 0, 'latin1')
  header.writeUInt16BE(version, 4)
  return header
}

/**
 * Throws CORRUPTION for a wrong magic and UNSUPPORTED_FORMAT for a version
 * not in `accepted` (the newest last); returns the version.
 */
export function checkFileHeader(bytes: Uint8Array, magic: string, file: string, accepted: readonly number[] = DATA_VERSIONS): number {
  if (bytes.length < FILE_HEADER_SIZE) throw corruption('file header is truncated', file, 0)
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, FILE_HEADER_SIZE)
  if (buf.toString('latin1', 0, 4) !== magic) throw corruption(`bad magic (expected ${magic})`, file, 0)
  const version = buf.readUInt16BE(4)
  if (!accepted.includes(version)) {
    throw new CaskError(
      ErrorCodes.UNSUPPORTED_FORMAT,
      `${file} has format version ${version}; this caskdb reads version ${accepted.join(' and ')}. Open it with the caskdb release that wrote it.`,
      { file, offset: 4 },
    )
  }
  return version
}
