/**
 * Decoding of the ROCKETMQ binary header (serializeType 1, accepted on input only; we always write
 * JSON). A header that breaks the layout throws TideError FRAME_MALFORMED.
 *
 * ROCKETMQ binary header (all integers big-endian):
 *
 *  offset  size  field
 *  0       2     code (int16)
 *  2       1     language (int8, index into LANGUAGE_CODES)
 *  3       2     version (int16)
 *  5       4     opaque (int32)
 *  9       4     flag (int32)
 *  13      4     remarkLen (int32, 0 = no remark), then remarkLen bytes of UTF-8
 *  ..      4     extFieldsLen (int32, bytes of all entries, 0 = none), then entries of
 *                  2 keyLen (uint16), key UTF-8, 4 valueLen (int32), value UTF-8
 */
import { LANGUAGE_CODES, type RemotingCommand } from './remoting-command.js';
import { malformedFrame } from './remoting-frame.js';

/** Bytes of the binary header before remark and extFields, their two length fields included. */
export const BINARY_HEADER_FIXED_BYTES = 21;

/** The command in the binary header at frame[start, end); the body is left for the caller. */
export function decodeBinaryHeader(frame: Buffer, start: number, end: number): RemotingCommand {
  if (end - start < BINARY_HEADER_FIXED_BYTES) throw malformedFrame(`binary header of ${end - start} bytes is shorter than ${BINARY_HEADER_FIXED_BYTES}`);
  const code = frame.readInt16BE(start);
  const languageIndex = frame.readInt8(start + 2);
  // A language this table does not know yet is not a reason to refuse the request.
  const language = LANGUAGE_CODES[languageIndex] ?? 'OTHER';
  const version = frame.readInt16BE(start + 3);
  const opaque = frame.readInt32BE(start + 5);
  const flag = frame.readInt32BE(start + 9);
  let position = start + 13;
  const remarkBytes = frame.readInt32BE(position);
  position += 4;
  // The extFields length field must still fit after the remark.
  if (remarkBytes < 0 || remarkBytes > end - position - 4) throw malformedFrame(`binary remark length ${remarkBytes} overruns the header`);
  const remark = remarkBytes > 0 ? frame.toString('utf8', position, position + remarkBytes) : undefined;
  position += remarkBytes;
  const extFieldsBytes = frame.readInt32BE(position);
  position += 4;
  if (extFieldsBytes < 0 || extFieldsBytes > end - position) throw malformedFrame(`binary extFields length ${extFieldsBytes} overruns the header`);
  // Bytes after extFields inside headerLen are ignored, as Java does.
  const extFields = extFieldsBytes > 0 ? decodeBinaryExtFields(frame, position, position + extFieldsBytes) : undefined;
  return { code, language, version, opaque, flag, remark, extFields, body: undefined };
}

function decodeBinaryExtFields(frame: Buffer, start: number, end: number): Record<string, string> {
  const fields: Record<string, string> = {};
  let position = start;
  while (position < end) {
    if (end - position < 2) throw malformedFrame('binary extFields entry cut inside its key length');
    const keyBytes = frame.readUInt16BE(position);
    position += 2;
    if (keyBytes > end - position - 4) throw malformedFrame(`binary extFields key length ${keyBytes} overruns the entries`);
    const key = frame.toString('utf8', position, position + keyBytes);
    position += keyBytes;
    const valueBytes = frame.readInt32BE(position);
    position += 4;
    if (valueBytes < 0 || valueBytes > end - position) throw malformedFrame(`binary extFields value length ${valueBytes} overruns the entries`);
    const value = frame.toString('utf8', position, position + valueBytes);
    position += valueBytes;
    // A plain assignment of `__proto__` would replace the prototype instead of adding a field.
    if (key === '__proto__') Object.defineProperty(fields, key, { value, enumerable: true, writable: true, configurable: true });
    else fields[key] = value;
  }
  return fields;
}
