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
 * magic: "CSKD" for data segments, "CSKH" for hint files.
 */
import { CaskError, ErrorCodes, corruption } from '../errors.js'

export const FILE_HEADER_SIZE = 8
export const FORMAT_VERSION = 1

export const DATA_MAGIC = 'CSKD'
export const HINT_MAGIC = 'CSKH'

export function encodeFileHeader(magic: string): Buffer {
  const header = Buffer.alloc(FILE_HEADER_SIZE)
  header.write(magic, 0, 'latin1')
  header.writeUInt16BE(FORMAT_VERSION, 4)
  return header
}

/** Throws CORRUPTION for a wrong magic and UNSUPPORTED_FORMAT for an unknown version. */
export function checkFileHeader(bytes: Uint8Array, magic: string, file: string): void {
  if (bytes.length < FILE_HEADER_SIZE) throw corruption('file header is truncated', file, 0)
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, FILE_HEADER_SIZE)
  if (buf.toString('latin1', 0, 4) !== magic) throw corruption(`bad magic (expected ${magic})`, file, 0)
  const version = buf.readUInt16BE(4)
  if (version !== FORMAT_VERSION) {
    throw new CaskError(
      ErrorCodes.UNSUPPORTED_FORMAT,
      `${file} has format version ${version}; this caskdb reads version ${FORMAT_VERSION}. Open it with the caskdb release that wrote it.`,
      { file, offset: 4 },
    )
  }
}
