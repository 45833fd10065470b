/**
 * The outer remoting frame every codec file shares: the serialize types, the prefix sizes, and the
 * error a frame that breaks the rules turns into. Pure code, no I/O.
 *
 * Frame (all integers big-endian):
 *
 *  offset  size  field
 *  0       4     totalLen: bytes after this field (header-length word + header + body); 4 .. 16 MiB
 *  4       4     serializeType << 24 | headerLen (headerLen is the low 24 bits)
 *  8       n     header: JSON (serializeType 0, json-header-*.ts) or ROCKETMQ binary (serializeType 1,
 *                binary-header.ts)
 *  8+n     ..    body: whatever follows the header, possibly nothing
 *
 * A frame that breaks any of the rules throws TideError FRAME_MALFORMED (or FRAME_TOO_LARGE for a
 * declared length above Limits.maxFrameBytes); the caller closes the connection, since the byte
 * stream can no longer be trusted.
 */
import { TideError } from '../common/errors.js';

export const SerializeType = {
  JSON: 0,
  ROCKETMQ: 1,
} as const;
export type SerializeType = (typeof SerializeType)[keyof typeof SerializeType];

/** totalLen + the serializeType/headerLen word. */
export const FRAME_PREFIX_BYTES = 8;
export const HEADER_LENGTH_MASK = 0xffffff;

export function malformedFrame(message: string): TideError {
  return new TideError('FRAME_MALFORMED', `malformed remoting frame: ${message}`);
}

export function isInt32(value: unknown): value is number {
  return typeof value === 'number' && (value | 0) === value;
}
