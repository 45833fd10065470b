/**
 * Writing of JSON remoting headers (serializeType 0) into whole frames: a direct writer that puts the
 * header bytes into a scratch buffer and copies them once into the frame, and `encodeCommandViaString`,
 * the general path that builds the header as a string, for text outside ASCII or a header larger than
 * the scratch. The two produce identical bytes (the differential tests in remoting-codec.test.ts and
 * test/fuzz/remoting-codec-fuzz.test.ts hold them to that).
 *
 * JSON header as written: one object without whitespace, fields in this order:
 *   {"code":N,"language":"L","version":N,"opaque":N,"flag":N[,"remark":"R"][,"extFields":{"k":"v",...}],
 *    "serializeTypeCurrentRPC":"JSON"}
 * Strings are escaped exactly as JSON.stringify escapes them; extFields entries whose value is
 * undefined or null are left out and other non-string values are written as String(value).
 * The frame around it is documented in remoting-frame.ts.
 */
import { putBytes, putDecimal } from './ascii-bytes.js';
import { assert } from '../common/assert.js';
import { TideError } from '../common/errors.js';
import { Limits } from '../common/limits.js';
import { HEX_DIGITS, JSON_SCRATCH_BYTES, STRING_BYTE_CLASS, StringByte, latin1Bytes } from './json-string-bytes.js';
import type { RemotingCommand } from './remoting-command.js';
import { FRAME_PREFIX_BYTES, isInt32 } from './remoting-frame.js';

/** The writer's scratch; the start of the last header it wrote stays there for reuse. */
const encodeScratch = Buffer.allocUnsafeSlow(JSON_SCRATCH_BYTES);
/** Whether writeJsonHeader is running, so a call nested inside it (from a getter) stays off the scratch. */
let writingHeader = false;

/**
 * The frame for `command` sent with `opaque` and `flag`, its header written straight into the scratch;
 * undefined when the string path must handle it (text outside ASCII, a header that outgrows the
 * scratch, or a nested call). The caller asserted the numbers are int32.
 */
export function encodeCommandDirect(command: RemotingCommand, opaque: number, flag: number): Buffer | undefined {
  let headerBytes = -1;
  // A getter or toString in extFields that encoded another command meanwhile would overwrite the
  // scratch; such a nested call takes the string path instead.
  if (!writingHeader) {
    writingHeader = true;
    try {
      headerBytes = writeJsonHeader(command, opaque, flag);
    } finally {
      writingHeader = false;
    }
  }
  if (headerBytes < 0) return undefined;
  const frame = allocateFrame(headerBytes, command.body);
  frame.set(encodeScratch.subarray(0, headerBytes), FRAME_PREFIX_BYTES);
  return frame;
}

/** Header bytes of the last successful prepareDirectFrame, waiting in the scratch; -1 when none. */
let preparedHeaderBytes = -1;

/**
 * The first half of encoding a frame into the caller's own buffer (the connection's staging buffer),
 * which saves allocating and then copying a frame per command: writes the header into the scratch and
 * returns the whole frame's length (totalLen field included), or -1 when the string path must handle
 * the command (as for encodeCommandDirect). `writePreparedFrame` must follow before anything else
 * encodes. The caller asserted the numbers are int32.
 */
export function prepareDirectFrame(command: RemotingCommand, opaque: number, flag: number): number {
  preparedHeaderBytes = -1;
  if (writingHeader) return -1;
  let headerBytes: number;
  writingHeader = true;
  try {
    headerBytes = writeJsonHeader(command, opaque, flag);
  } finally {
    writingHeader = false;
  }
  if (headerBytes < 0) return -1;
  const body = command.body;
  const totalBytes = 4 + headerBytes + (body === undefined || body === null ? 0 : body.length);
  if (totalBytes > Limits.maxFrameBytes) return -1; // the string path throws FRAME_TOO_LARGE
  preparedHeaderBytes = headerBytes;
  return 4 + totalBytes;
}

/** Writes the frame prepared for `command` at `position` of `out` (room for all of it) and returns its end. */
export function writePreparedFrame(command: RemotingCommand, out: Buffer, position: number): number {
  const headerBytes = preparedHeaderBytes;
  assert(headerBytes >= 0, 'writePreparedFrame without prepareDirectFrame');
  preparedHeaderBytes = -1;
  const body = command.body;
  const bodyBytes = body === undefined || body === null ? 0 : body.length;
  out.writeInt32BE(4 + headerBytes + bodyBytes, position);
  out.writeInt32BE(headerBytes, position + 4); // serializeType JSON = 0 in the top byte
  encodeScratch.copy(out, position + FRAME_PREFIX_BYTES, 0, headerBytes);
  let end = position + FRAME_PREFIX_BYTES + headerBytes;
  if (bodyBytes > 0) end += (body as Buffer).copy(out, end);
  return end;
}

/** A frame with its length fields and body filled in; the caller writes the header bytes. */
function allocateFrame(headerBytes: number, body: Buffer | undefined): Buffer {
  const bodyBytes = body === undefined || body === null ? 0 : body.length;
  const totalBytes = 4 + headerBytes + bodyBytes;
  if (totalBytes > Limits.maxFrameBytes) {
    throw new TideError('FRAME_TOO_LARGE', `remoting frame of ${totalBytes} bytes exceeds the ${Limits.maxFrameBytes}-byte limit`);
  }
  // Below 4 KiB this slices Node's shared pool, so a small answer costs no allocation of its own.
  const frame = Buffer.allocUnsafe(4 + totalBytes);
  frame.writeInt32BE(totalBytes, 0);
  frame.writeInt32BE(headerBytes, 4); // serializeType JSON = 0 in the top byte
  if (bodyBytes > 0) frame.set(body as Buffer, FRAME_PREFIX_BYTES + headerBytes);
  return frame;
}

const CODE_PREFIX = latin1Bytes('{"code":');
const LANGUAGE_JAVA = latin1Bytes(',"language":"JAVA"');
const LANGUAGE_PREFIX = latin1Bytes(',"language":');
const VERSION_PREFIX = latin1Bytes(',"version":');
const OPAQUE_PREFIX = latin1Bytes(',"opaque":');
const FLAG_PREFIX = latin1Bytes(',"flag":');
const REMARK_PREFIX = latin1Bytes(',"remark":');
const EXT_FIELDS_PREFIX = latin1Bytes(',"extFields":{');
const HEADER_SUFFIX = latin1Bytes(',"serializeTypeCurrentRPC":"JSON"}');
/** JSON.stringify's two-character escapes for control characters; 0 = write \u00XX. */
const SHORT_ESCAPES = new Uint8Array(0x20);
SHORT_ESCAPES[0x08] = 0x62; // \b
SHORT_ESCAPES[0x09] = 0x74; // \t
SHORT_ESCAPES[0x0a] = 0x6e; // \n
SHORT_ESCAPES[0x0c] = 0x66; // \f
SHORT_ESCAPES[0x0d] = 0x72; // \r
/**
 * Room each string leaves behind it: the `,` or `:` after it, extFields' `}` and the suffix. Only
 * strings are unbounded, so only they check the scratch's end.
 */
const HEADER_CLOSING_BYTES = 2 + HEADER_SUFFIX.length;

/**
 * The header up to `"opaque":` depends only on code, language and version, which are the same for
 * every SEND answer (and every SEND request a producer writes); it stays at the start of
 * encodeScratch from one call to the next. prefixCode is NaN while those bytes are not valid.
 */
let prefixCode = Number.NaN;
let prefixLanguage = '';
let prefixVersion = Number.NaN;
let prefixBytes = 0;

/**
 * Writes the JSON header into encodeScratch, byte for byte what `jsonHeaderText` produces, and returns
 * its length; -1 when some text is not ASCII or the header does not fit, for the string path to handle.
 */
function writeJsonHeader(command: RemotingCommand, opaque: number, flag: number): number {
  const out = encodeScratch;
  let position = prefixBytes;
  if (command.code !== prefixCode || command.language !== prefixLanguage || command.version !== prefixVersion) {
    prefixCode = Number.NaN;
    position = writeHeaderPrefix(out, command);
    if (position < 0) return -1;
    prefixCode = command.code;
    prefixLanguage = command.language;
    prefixVersion = command.version;
    prefixBytes = position;
  }
  position = putDecimal(out, position, opaque);
  position = putDecimal(out, putBytes(out, position, FLAG_PREFIX), flag);
  const remark = command.remark;
  if (remark !== undefined && remark !== null) {
    position = putJsonString(out, putBytes(out, position, REMARK_PREFIX), remark);
    if (position < 0) return -1;
  }
  const extFields = command.extFields;
  if (extFields !== undefined && extFields !== null) {
    position = putBytes(out, position, EXT_FIELDS_PREFIX);
    const encoder = command.extFieldsEncoder;
    if (encoder !== undefined) {
      const end = encoder.write(extFields, out, position, HEADER_SUFFIX.length);
      if (end >= 0) return putBytes(out, end, HEADER_SUFFIX);
    }
    let first = true;
    for (const key in extFields) {
      // JavaScript callers may slip numbers or undefined past the type; Java expects strings.
      const value: unknown = extFields[key];
      if (value === undefined || value === null) continue;
      if (!first) out[position++] = 0x2c; // ,
      first = false;
      position = putJsonString(out, position, key);
      if (position < 0) return -1;
      out[position++] = 0x3a; // :
      position = putJsonString(out, position, typeof value === 'string' ? value : String(value));
      if (position < 0) return -1;
    }
    out[position++] = 0x7d; // }
  }
  return putBytes(out, position, HEADER_SUFFIX);
}

/** `{"code":N,"language":"L","version":N,"opaque":`, or -1 for a language outside ASCII. */
function writeHeaderPrefix(out: Buffer, command: RemotingCommand): number {
  let position = putDecimal(out, putBytes(out, 0, CODE_PREFIX), command.code);
  const language = command.language;
  if (language === 'JAVA') position = putBytes(out, position, LANGUAGE_JAVA);
  else {
    position = putJsonString(out, putBytes(out, position, LANGUAGE_PREFIX), language);
    if (position < 0) return -1;
  }
  position = putDecimal(out, putBytes(out, position, VERSION_PREFIX), command.version);
  return putBytes(out, position, OPAQUE_PREFIX);
}

/**
 * The JSON string literal for `text`, escaped exactly as JSON.stringify does for ASCII. Returns the
 * position after it, or -1 for text with a character outside ASCII (UTF-8 and lone surrogates are the
 * string path's job) or too long for the room left in the scratch.
 */
export function putJsonString(out: Buffer, position: number, text: string): number {
  const length = text.length;
  // Worst case six bytes per character (\u00XX), plus the quotes and what must still fit after them.
  if (position + length * 6 + 2 + HEADER_CLOSING_BYTES > out.length) return -1;
  out[position++] = 0x22;
  for (let index = 0; index < length; index++) {
    const char = text.charCodeAt(index);
    const kind = char > 0xff ? StringByte.NON_ASCII : STRING_BYTE_CLASS[char];
    if (kind === StringByte.PLAIN) {
      out[position++] = char;
      continue;
    }
    if (kind === StringByte.NON_ASCII) return -1;
    out[position++] = 0x5c; // backslash
    if (kind !== StringByte.CONTROL) out[position++] = char;
    else if (SHORT_ESCAPES[char] !== 0) out[position++] = SHORT_ESCAPES[char];
    else {
      out[position] = 0x75; // u
      out[position + 1] = 0x30;
      out[position + 2] = 0x30;
      out[position + 3] = HEX_DIGITS[char >> 4];
      out[position + 4] = HEX_DIGITS[char & 0xf];
      position += 5;
    }
  }
  out[position] = 0x22;
  return position + 1;
}

/**
 * Set by `jsonString` when a string it saw has characters outside ASCII. Module state instead of a
 * returned pair so the string path allocates nothing but the header string itself.
 */
let headerIsAscii = true;
const NON_ASCII = /[^\x00-\x7f]/;

/**
 * A JSON string literal for `value`. Plain strings (the usual topic, group and number fields) are
 * quoted as they are; anything needing an escape, including lone surrogates, goes through
 * JSON.stringify, which is native and exact.
 */
function jsonString(value: string): string {
  const length = value.length;
  for (let index = 0; index < length; index++) {
    const char = value.charCodeAt(index);
    if (char < 0x20 || char === 0x22 || char === 0x5c || (char >= 0xd800 && char <= 0xdfff)) {
      if (headerIsAscii && NON_ASCII.test(value)) headerIsAscii = false;
      return JSON.stringify(value);
    }
    if (char >= 0x80) headerIsAscii = false;
  }
  return '"' + value + '"';
}

/** The JSON header text for a command sent with `opaque` and `flag`. Sets `headerIsAscii`. */
function jsonHeaderText(command: RemotingCommand, opaque: number, flag: number): string {
  headerIsAscii = true;
  let header = '{"code":' + command.code;
  header += command.language === 'JAVA' ? ',"language":"JAVA"' : ',"language":' + jsonString(command.language);
  header += ',"version":' + command.version + ',"opaque":' + opaque + ',"flag":' + flag;
  const remark = command.remark;
  if (remark !== undefined && remark !== null) header += ',"remark":' + jsonString(remark);
  const extFields = command.extFields;
  if (extFields !== undefined && extFields !== null) {
    header += ',"extFields":{';
    let separator = '';
    for (const key in extFields) {
      const value: unknown = extFields[key];
      if (value === undefined || value === null) continue;
      header += separator + jsonString(key) + ':' + jsonString(typeof value === 'string' ? value : String(value));
      separator = ',';
    }
    header += '}';
  }
  return header + ',"serializeTypeCurrentRPC":"JSON"}';
}

/**
 * encodeCommandAs by way of a header string: the general path for headers with text outside ASCII or
 * larger than the scratch buffer. Exported for the differential tests and the benchmark only.
 */
export function encodeCommandViaString(command: RemotingCommand, opaque: number, flag: number): Buffer {
  assert(isInt32(command.code) && isInt32(opaque) && isInt32(flag) && isInt32(command.version), 'remoting command numbers must be int32');
  const header = jsonHeaderText(command, opaque, flag);
  const headerBytes = headerIsAscii ? header.length : Buffer.byteLength(header, 'utf8');
  const frame = allocateFrame(headerBytes, command.body);
  // latin1 is a straight byte copy and exact for ASCII; utf8 only when the header needs it.
  frame.write(header, FRAME_PREFIX_BYTES, headerBytes, headerIsAscii ? 'latin1' : 'utf8');
  return frame;
}

