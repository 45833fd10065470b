/**
 * The RocketMQ remoting frame codec: whole commands to bytes and back, plus a streaming frame splitter
 * for socket data. Pure code, no I/O.
 *
 * Frame (all integers big-endian):
 *
 *  offset  size  field
 *  0       4     totalLen: bytes after this field (header-length word + header + body); 4 .. 16 MiB
 *  4       4     serializeType << 24 | headerLen (headerLen is the low 24 bits)
 *  8       n     header: JSON (serializeType 0) or ROCKETMQ binary (serializeType 1)
 *  8+n     ..    body: whatever follows the header, possibly nothing
 *
 * JSON header: an object with `code`, `language`, `version`, `opaque`, `flag`, `remark`, `extFields`
 * (string → string) and `serializeTypeCurrentRPC`. We always write JSON, fields in that order; on
 * input every scalar in `extFields` becomes a string (ali-ons sends raw numbers and booleans), nulls
 * are dropped, and nested objects or arrays make the header malformed.
 *
 * Both JSON directions have a fast path and a general path that behave identically (the differential
 * tests in remoting-codec.test.ts and test/fuzz/remoting-codec-fuzz.test.ts hold them to that):
 *  - decoding scans the header bytes by hand when they are the flat ASCII object every RocketMQ client
 *    sends (any key order, string escapes, integers and booleans in extFields) and hands anything
 *    unusual (non-ASCII bytes, whitespace, nulls in extFields, fractions, nesting, duplicate
 *    extFields, escaped keys) to JSON.parse;
 *  - encoding writes the header bytes into a scratch buffer and copies them once into the frame,
 *    falling back to building a string when some text is not ASCII or the header outgrows the scratch.
 *
 * ROCKETMQ binary header (accepted on input only):
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
 *
 * A frame that breaks any of these rules throws TideError FRAME_MALFORMED (or FRAME_TOO_LARGE for a
 * declared length above Limits.maxFrameBytes); the caller closes the connection, since the byte
 * stream can no longer be trusted.
 */
import { assert } from '../common/assert.js';
import { TideError } from '../common/errors.js';
import { Limits } from '../common/limits.js';
import { LANGUAGE_CODES, type RemotingCommand } from './remoting-command.js';

export const SerializeType = {
  JSON: 0,
  ROCKETMQ: 1,
} as const;
export type SerializeType = (typeof SerializeType)[keyof typeof SerializeType];

/** totalLen + the serializeType/headerLen word. */
export const FRAME_PREFIX_BYTES = 8;
/** Bytes of the binary header before remark and extFields, their two length fields included. */
export const BINARY_HEADER_FIXED_BYTES = 21;
const HEADER_LENGTH_MASK = 0xffffff;

function malformed(message: string): TideError {
  return new TideError('FRAME_MALFORMED', `malformed remoting frame: ${message}`);
}

function isInt32(value: unknown): value is number {
  return typeof value === 'number' && (value | 0) === value;
}

/**
 * How a byte reads inside a JSON string literal. Shared by the scanner and the writer, which both
 * handle only ASCII themselves and leave other text to the general paths.
 */
const StringByte = {
  PLAIN: 0,
  QUOTE: 1,
  BACKSLASH: 2,
  CONTROL: 3,
  NON_ASCII: 4,
} as const;
const STRING_BYTE_CLASS = new Uint8Array(256);
for (let byte = 0; byte < 256; byte++) {
  STRING_BYTE_CLASS[byte] =
    byte === 0x22 ? StringByte.QUOTE : byte === 0x5c ? StringByte.BACKSLASH : byte < 0x20 ? StringByte.CONTROL : byte >= 0x80 ? StringByte.NON_ASCII : StringByte.PLAIN;
}

/**
 * Scratch buffers for the encoder's header bytes and the decoder's unescaped strings. Both users are
 * synchronous and writing into warm memory is several times cheaper than into fresh. The encoder keeps
 * its own, because the start of the last header it wrote stays there for reuse.
 */
const SCRATCH_BYTES = 64 * 1024;
const encodeScratch = Buffer.allocUnsafeSlow(SCRATCH_BYTES);
const decodeScratch = Buffer.allocUnsafeSlow(SCRATCH_BYTES);

// ---------------------------------------------------------------------------------------------
// Encoding

/** The whole frame (totalLen included) for `command`, with a JSON header. */
export function encodeCommand(command: RemotingCommand): Buffer {
  return encodeCommandAs(command, command.opaque, command.flag);
}

/**
 * Like encodeCommand, but with `opaque` and `flag` in place of the command's own: the server forces a
 * response to carry its request's opaque and the response bit, and oneway sends set the oneway bit,
 * without touching objects the caller may reuse.
 */
export function encodeCommandAs(command: RemotingCommand, opaque: number, flag: number): Buffer {
  assert(isInt32(command.code) && isInt32(opaque) && isInt32(flag) && isInt32(command.version), 'remoting command numbers must be int32');
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
  if (headerBytes < 0) return encodeCommandViaString(command, opaque, flag);
  const frame = allocateFrame(headerBytes, command.body);
  frame.set(encodeScratch.subarray(0, headerBytes), FRAME_PREFIX_BYTES);
  return frame;
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

const latin1Bytes = (text: string): Buffer => Buffer.from(text, 'latin1');
const CODE_PREFIX = latin1Bytes('{"code":');
const LANGUAGE_JAVA = latin1Bytes(',"language":"JAVA"');
const LANGUAGE_PREFIX = latin1Bytes(',"language":');
const VERSION_PREFIX = latin1Bytes(',"version":');
const OPAQUE_PREFIX = latin1Bytes(',"opaque":');
const FLAG_PREFIX = latin1Bytes(',"flag":');
const REMARK_PREFIX = latin1Bytes(',"remark":');
const EXT_FIELDS_PREFIX = latin1Bytes(',"extFields":{');
const HEADER_SUFFIX = latin1Bytes(',"serializeTypeCurrentRPC":"JSON"}');
const HEX_DIGITS = latin1Bytes('0123456789abcdef');
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

let writingHeader = false;

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
  position = putInt32(out, position, opaque);
  position = putInt32(out, putBytes(out, position, FLAG_PREFIX), flag);
  const remark = command.remark;
  if (remark !== undefined && remark !== null) {
    position = putJsonString(out, putBytes(out, position, REMARK_PREFIX), remark);
    if (position < 0) return -1;
  }
  const extFields = command.extFields;
  if (extFields !== undefined && extFields !== null) {
    position = putBytes(out, position, EXT_FIELDS_PREFIX);
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
  let position = putInt32(out, putBytes(out, 0, CODE_PREFIX), command.code);
  const language = command.language;
  if (language === 'JAVA') position = putBytes(out, position, LANGUAGE_JAVA);
  else {
    position = putJsonString(out, putBytes(out, position, LANGUAGE_PREFIX), language);
    if (position < 0) return -1;
  }
  position = putInt32(out, putBytes(out, position, VERSION_PREFIX), command.version);
  return putBytes(out, position, OPAQUE_PREFIX);
}

function putBytes(out: Buffer, position: number, bytes: Buffer): number {
  out.set(bytes, position);
  return position + bytes.length;
}

/** Decimal digits of an int32; the caller asserted the range. */
function putInt32(out: Buffer, position: number, value: number): number {
  if (value < 0) {
    out[position++] = 0x2d; // -
    value = -value;
  }
  let width = 1;
  for (let rest = value; rest >= 10; rest = Math.floor(rest / 10)) width++;
  for (let index = position + width - 1; index >= position; index--) {
    const quotient = Math.floor(value / 10);
    out[index] = 0x30 + value - quotient * 10;
    value = quotient;
  }
  return position + width;
}

/**
 * The JSON string literal for `text`, escaped exactly as JSON.stringify does for ASCII. Returns the
 * position after it, or -1 for text with a character outside ASCII (UTF-8 and lone surrogates are the
 * string path's job) or too long for the room left in the scratch.
 */
function putJsonString(out: Buffer, position: number, text: string): number {
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

// ---------------------------------------------------------------------------------------------
// Decoding

/**
 * Decodes one frame given the bytes after totalLen (serializeType/headerLen word, header, body). The
 * body is a view into `frame`, not a copy.
 */
export function decodeCommand(frame: Buffer): RemotingCommand {
  if (frame.length < 4) throw malformed(`frame of ${frame.length} bytes has no header-length field`);
  const word = frame.readUInt32BE(0);
  const serializeType = word >>> 24;
  const headerBytes = word & HEADER_LENGTH_MASK;
  const headerEnd = 4 + headerBytes;
  if (headerEnd > frame.length) throw malformed(`header length ${headerBytes} exceeds the ${frame.length - 4} bytes after it`);
  let command: RemotingCommand;
  if (serializeType === SerializeType.JSON) command = scanJsonHeader(frame, 4, headerEnd) ?? parseJsonHeader(frame, 4, headerEnd);
  else if (serializeType === SerializeType.ROCKETMQ) command = decodeBinaryHeader(frame, 4, headerEnd);
  else throw malformed(`unknown serialize type ${serializeType}`);
  if (headerEnd < frame.length) command.body = frame.subarray(headerEnd);
  return command;
}

function optionalInt32(header: Record<string, unknown>, field: string, fallback: number): number {
  const value = header[field];
  if (value === undefined || value === null) return fallback;
  if (!isInt32(value)) throw malformed(`header field ${field} is not a 32-bit integer`);
  return value;
}

/**
 * The general JSON header decoder: JSON.parse, then field checks. It alone decides what is malformed;
 * the scanner only ever hands over. Exported for the differential tests and the benchmark only.
 */
export function parseJsonHeader(frame: Buffer, start: number, end: number): RemotingCommand {
  let parsed: unknown;
  try {
    parsed = JSON.parse(frame.toString('utf8', start, end));
  } catch {
    throw malformed('header is not valid JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw malformed('header is not a JSON object');
  const header = parsed as Record<string, unknown>;
  const code = header.code;
  if (!isInt32(code)) throw malformed('header field code is missing or not a 32-bit integer');
  const opaque = header.opaque;
  if (!isInt32(opaque)) throw malformed('header field opaque is missing or not a 32-bit integer');
  const flag = optionalInt32(header, 'flag', 0);
  const version = optionalInt32(header, 'version', 0);
  let language = header.language;
  if (language === undefined || language === null) language = 'OTHER';
  else if (typeof language !== 'string') throw malformed('header field language is not a string');
  const remark = header.remark;
  if (remark !== undefined && remark !== null && typeof remark !== 'string') throw malformed('header field remark is not a string');
  const extFields = header.extFields;
  let fields: Record<string, string> | undefined;
  if (extFields !== undefined && extFields !== null) {
    if (typeof extFields !== 'object' || Array.isArray(extFields)) throw malformed('header field extFields is not an object');
    fields = normalizeExtFields(extFields as Record<string, unknown>);
  }
  return {
    code,
    language: language as string,
    version,
    opaque,
    flag,
    remark: remark === null ? undefined : (remark as string | undefined),
    extFields: fields,
    body: undefined,
  };
}

/**
 * Turns numbers and booleans into strings and drops nulls, in place: the object came from JSON.parse
 * and is ours. Java senders only send strings, so usually nothing changes and nothing is copied.
 * Assigning to an own `__proto__` key written by JSON.parse sets that data property, not the prototype.
 */
function normalizeExtFields(fields: Record<string, unknown>): Record<string, string> {
  for (const key in fields) {
    const value = fields[key];
    if (typeof value === 'string') continue;
    if (value === null) delete fields[key];
    else if (typeof value === 'number' || typeof value === 'boolean') fields[key] = String(value);
    else throw malformed(`extFields.${key.slice(0, 64)} is not a scalar`);
  }
  return fields as Record<string, string>;
}

// ---------------------------------------------------------------------------------------------
// JSON header scanner
//
// Reads the header bytes directly: byte loops over a Buffer run about three times faster here than
// charCodeAt over a string, and the strings it returns are slices of one latin1 copy of the header
// (latin1 equals UTF-8 for ASCII). It returns undefined, and parseJsonHeader takes over, on anything
// it does not know to be well-formed and plain; so it never throws and never disagrees. What it
// accepts: one object, no whitespace, keys without escapes, int32 `code`/`opaque`/`flag`/`version`
// without fraction or exponent, string-or-null `language`/`remark`, one flat `extFields` whose values
// are strings, booleans or integers of up to 15 digits (whose decimal text is what String(number)
// gives back), and string or null values under other keys (serializeTypeCurrentRPC). Values that are
// slices keep the header's latin1 copy alive while they live; headers are small.
//
// The loops over a string's plain bytes do not test `end` on every byte (that cost 15 % of a scan);
// they stop at the first quote, backslash or non-plain byte, or at the end of `frame`, and the caller
// checks `end` afterwards. Only a string left open at the header's end runs on into the body, and
// such a header is invalid JSON, which closes the connection.

/**
 * Buffer's latin1 decoder without `toString`'s argument handling, which cost a tenth of a header scan.
 * Node has had `latin1Slice` on every Buffer for as long as it has had Buffer, but does not document it.
 */
interface Latin1Slicer {
  latin1Slice(start: number, end: number): string;
}
assert(typeof (Buffer.prototype as unknown as Latin1Slicer).latin1Slice === 'function', 'Buffer.prototype.latin1Slice is missing');
function latin1Text(bytes: Buffer, start: number, end: number): string {
  return (bytes as unknown as Latin1Slicer).latin1Slice(start, end);
}

/** Set by scanString and scanInteger beside the position they return, so nothing is allocated for a pair. */
let scannedString = '';
let scannedInteger = 0;

/** Single-character strings by char code: V8 keeps these interned, so reusing them costs nothing. */
const ONE_CHAR_STRINGS: string[] = Array.from({ length: 0x80 }, (_, char) => String.fromCharCode(char));
/**
 * Recently seen extFields keys longer than one character, by a hash of length and first and last byte.
 * A hit gives the same, already interned, string: storing a property under a fresh key string costs
 * a string-table lookup, about a fifth of the scan of a pull header with its long key names.
 */
const KEY_CACHE: string[] = new Array<string>(256).fill('');
const KEY_CACHE_MAX_LENGTH = 64;

const HEX_VALUES = new Int8Array(256).fill(-1);
for (let digit = 0; digit < 16; digit++) {
  HEX_VALUES[HEX_DIGITS[digit]] = digit;
  HEX_VALUES['0123456789ABCDEF'.charCodeAt(digit)] = digit;
}
/** What follows a backslash: the character it stands for, UNICODE_ESCAPE for \uXXXX, -1 if invalid. */
const UNICODE_ESCAPE = 0x100;
const ESCAPED_CHARS = new Int16Array(256).fill(-1);
for (const [escape, char] of [['"', 0x22], ['\\', 0x5c], ['/', 0x2f], ['b', 0x08], ['f', 0x0c], ['n', 0x0a], ['r', 0x0d], ['t', 0x09], ['u', UNICODE_ESCAPE]] as const) {
  ESCAPED_CHARS[escape.charCodeAt(0)] = char;
}

const TopKey = {
  OTHER: 0,
  CODE: 1,
  OPAQUE: 2,
  FLAG: 3,
  VERSION: 4,
  LANGUAGE: 5,
  REMARK: 6,
  EXT_FIELDS: 7,
} as const;
type TopKey = (typeof TopKey)[keyof typeof TopKey];
const CODE_NAME = latin1Bytes('code');
const OPAQUE_NAME = latin1Bytes('opaque');
const FLAG_NAME = latin1Bytes('flag');
const VERSION_NAME = latin1Bytes('version');
const LANGUAGE_NAME = latin1Bytes('language');
const REMARK_NAME = latin1Bytes('remark');
const EXT_FIELDS_NAME = latin1Bytes('extFields');
const SEEN_CODE = 1;
const SEEN_OPAQUE = 2;

/**
 * The fast path for decodeCommand's JSON headers: the command, or undefined when the header is
 * anything but the plain form described above. Exported for the differential tests and the benchmark.
 */
export function scanJsonHeader(frame: Buffer, start: number, end: number): RemotingCommand | undefined {
  if (end - start < 2 || frame[start] !== 0x7b || frame[end - 1] !== 0x7d) return undefined;
  const text = latin1Text(frame, start, end);
  let code = 0;
  let opaque = 0;
  let flag = 0;
  let version = 0;
  let seen = 0;
  let language: string | undefined;
  let remark: string | undefined;
  let extFields: Record<string, string> | undefined;
  let position = start + 1;
  for (;;) {
    if (frame[position] !== 0x22) return undefined;
    const keyStart = position + 1;
    const keyEnd = scanKeyEnd(frame, keyStart, end);
    if (keyEnd < 0) return undefined;
    const key = topKeyAt(frame, keyStart, keyEnd);
    position = keyEnd + 2;
    const first = frame[position];
    if (key === TopKey.CODE || key === TopKey.OPAQUE || key === TopKey.FLAG || key === TopKey.VERSION) {
      position = scanInteger(frame, position, end, 10);
      if (position < 0 || (scannedInteger | 0) !== scannedInteger) return undefined;
      if (key === TopKey.CODE) {
        code = scannedInteger;
        seen |= SEEN_CODE;
      } else if (key === TopKey.OPAQUE) {
        opaque = scannedInteger;
        seen |= SEEN_OPAQUE;
      } else if (key === TopKey.FLAG) flag = scannedInteger;
      else version = scannedInteger;
    } else if (key === TopKey.EXT_FIELDS) {
      // A second extFields would replace the first in JSON.parse; not worth handling here.
      if (extFields !== undefined || first !== 0x7b) return undefined;
      extFields = {};
      position = scanExtFields(frame, text, start, position + 1, end, extFields);
      if (position < 0) return undefined;
    } else if (first === 0x22) {
      position = scanString(frame, text, start, position + 1, end);
      if (position < 0) return undefined;
      if (key === TopKey.LANGUAGE) language = scannedString;
      else if (key === TopKey.REMARK) remark = scannedString;
    } else if (first === 0x6e && frame[position + 1] === 0x75 && frame[position + 2] === 0x6c && frame[position + 3] === 0x6c) {
      position += 4; // null
      if (key === TopKey.LANGUAGE) language = undefined;
      else if (key === TopKey.REMARK) remark = undefined;
    } else return undefined;
    const separator = frame[position++];
    if (separator === 0x2c) continue;
    if (separator === 0x7d) break;
    return undefined;
  }
  if (position !== end || seen !== (SEEN_CODE | SEEN_OPAQUE)) return undefined;
  return { code, language: language ?? 'OTHER', version, opaque, flag, remark, extFields, body: undefined };
}

/** The fields of a flat extFields object whose `{` is just before `position`; the position after its `}`, or -1. */
function scanExtFields(frame: Buffer, text: string, base: number, position: number, end: number, fields: Record<string, string>): number {
  if (frame[position] === 0x7d) return position + 1;
  for (;;) {
    if (frame[position] !== 0x22) return -1;
    const keyStart = position + 1;
    const keyEnd = scanKeyEnd(frame, keyStart, end);
    if (keyEnd < 0) return -1;
    const key = extFieldKey(frame, text, base, keyStart, keyEnd);
    // JSON.parse makes `__proto__` an own property; a plain assignment would set the prototype.
    if (key === '__proto__') return -1;
    position = keyEnd + 2;
    const first = frame[position];
    let value: string;
    if (first === 0x22) {
      position = scanString(frame, text, base, position + 1, end);
      if (position < 0) return -1;
      value = scannedString;
    } else if ((first >= 0x30 && first <= 0x39) || first === 0x2d) {
      // ali-ons sends numbers; up to 15 digits the text is exactly what String(JSON.parse(text)) gives.
      const numberEnd = scanInteger(frame, position, end, 15);
      if (numberEnd < 0) return -1;
      value = numberEnd - position === 1 ? ONE_CHAR_STRINGS[first] : text.slice(position - base, numberEnd - base);
      position = numberEnd;
    } else if (first === 0x74 && frame[position + 1] === 0x72 && frame[position + 2] === 0x75 && frame[position + 3] === 0x65) {
      value = 'true';
      position += 4;
    } else if (first === 0x66 && frame[position + 1] === 0x61 && frame[position + 2] === 0x6c && frame[position + 3] === 0x73 && frame[position + 4] === 0x65) {
      value = 'false';
      position += 5;
    } else {
      // null (dropped, which reorders keys when the name comes back later), nesting, fractions.
      return -1;
    }
    fields[key] = value;
    const separator = frame[position++];
    if (separator === 0x2c) continue;
    if (separator === 0x7d) return position;
    return -1;
  }
}

/**
 * The index of the closing quote of a key without escapes starting at `position`, when a colon follows
 * it; else -1.
 */
function scanKeyEnd(frame: Buffer, position: number, end: number): number {
  while (STRING_BYTE_CLASS[frame[position]] === StringByte.PLAIN) position++;
  if (position >= end - 1 || frame[position] !== 0x22 || frame[position + 1] !== 0x3a) return -1;
  return position;
}

/** Which header field a key names; the seven names start with seven different letters. */
function topKeyAt(frame: Buffer, keyStart: number, keyEnd: number): TopKey {
  switch (frame[keyStart]) {
    case 0x63: // c
      return isName(frame, keyStart, keyEnd, CODE_NAME) ? TopKey.CODE : TopKey.OTHER;
    case 0x6f: // o
      return isName(frame, keyStart, keyEnd, OPAQUE_NAME) ? TopKey.OPAQUE : TopKey.OTHER;
    case 0x66: // f
      return isName(frame, keyStart, keyEnd, FLAG_NAME) ? TopKey.FLAG : TopKey.OTHER;
    case 0x76: // v
      return isName(frame, keyStart, keyEnd, VERSION_NAME) ? TopKey.VERSION : TopKey.OTHER;
    case 0x6c: // l
      return isName(frame, keyStart, keyEnd, LANGUAGE_NAME) ? TopKey.LANGUAGE : TopKey.OTHER;
    case 0x72: // r
      return isName(frame, keyStart, keyEnd, REMARK_NAME) ? TopKey.REMARK : TopKey.OTHER;
    case 0x65: // e
      return isName(frame, keyStart, keyEnd, EXT_FIELDS_NAME) ? TopKey.EXT_FIELDS : TopKey.OTHER;
    default:
      return TopKey.OTHER;
  }
}

function isName(frame: Buffer, keyStart: number, keyEnd: number, name: Buffer): boolean {
  const length = name.length;
  if (keyEnd - keyStart !== length) return false;
  for (let index = 1; index < length; index++) if (frame[keyStart + index] !== name[index]) return false;
  return true;
}

function extFieldKey(frame: Buffer, text: string, base: number, keyStart: number, keyEnd: number): string {
  const length = keyEnd - keyStart;
  if (length === 1) return ONE_CHAR_STRINGS[frame[keyStart]];
  const slot = (length * 31 + frame[keyStart] * 7 + frame[keyEnd - 1]) & 0xff;
  const cached = KEY_CACHE[slot];
  if (cached.length === length) {
    let index = 0;
    while (index < length && cached.charCodeAt(index) === frame[keyStart + index]) index++;
    if (index === length) return cached;
  }
  const key = text.slice(keyStart - base, keyEnd - base);
  if (length <= KEY_CACHE_MAX_LENGTH) KEY_CACHE[slot] = key;
  return key;
}

/**
 * A JSON integer at `position` of at most `maxDigits` digits, without leading zeros and not `-0`
 * (JSON.parse would keep the sign); sets `scannedInteger` and returns the position after it, or -1.
 */
function scanInteger(frame: Buffer, position: number, end: number, maxDigits: number): number {
  const negative = frame[position] === 0x2d;
  const digitsStart = negative ? position + 1 : position;
  let index = digitsStart;
  let value = 0;
  let byte = frame[index];
  while (byte >= 0x30 && byte <= 0x39) {
    value = value * 10 + byte - 0x30;
    byte = frame[++index];
  }
  const digits = index - digitsStart;
  if (digits === 0 || digits > maxDigits || index >= end) return -1;
  if (frame[digitsStart] === 0x30 && (digits > 1 || negative)) return -1;
  scannedInteger = negative ? -value : value;
  return index;
}

/**
 * A string literal whose opening quote is just before `position`: sets `scannedString` and returns
 * the position after the closing quote, or -1 for anything JSON.parse should judge (non-ASCII bytes,
 * raw control characters, a missing end).
 */
function scanString(frame: Buffer, text: string, base: number, position: number, end: number): number {
  const start = position;
  while (STRING_BYTE_CLASS[frame[position]] === StringByte.PLAIN) position++;
  if (position >= end) return -1;
  const byte = frame[position];
  if (byte === 0x22) {
    scannedString = position - start === 1 ? ONE_CHAR_STRINGS[frame[start]] : text.slice(start - base, position - base);
    return position + 1;
  }
  if (byte !== 0x5c) return -1;
  return scanEscapedString(frame, start, position, end);
}

/**
 * The rest of a string literal from its first backslash at `position`: RocketMQ's message properties
 * always carry \u0001 and \u0002 separators. The unescaped bytes go to decodeScratch and become
 * one flat string; escapes beyond latin1 (\u0100 and up) are left to JSON.parse.
 */
function scanEscapedString(frame: Buffer, start: number, position: number, end: number): number {
  if (end - start > SCRATCH_BYTES) return -1;
  const out = decodeScratch;
  let length = 0;
  for (let index = start; index < position; index++) out[length++] = frame[index];
  for (;;) {
    if (position >= end) return -1;
    const byte = frame[position];
    const kind = STRING_BYTE_CLASS[byte];
    if (kind === StringByte.PLAIN) {
      out[length++] = byte;
      position++;
      continue;
    }
    if (kind === StringByte.QUOTE) {
      scannedString = latin1Text(out, 0, length);
      return position + 1;
    }
    if (kind !== StringByte.BACKSLASH || position + 1 >= end) return -1;
    let char = ESCAPED_CHARS[frame[position + 1]];
    if (char < 0) return -1;
    if (char === UNICODE_ESCAPE) {
      if (position + 6 > end) return -1;
      const digit1 = HEX_VALUES[frame[position + 2]];
      const digit2 = HEX_VALUES[frame[position + 3]];
      const digit3 = HEX_VALUES[frame[position + 4]];
      const digit4 = HEX_VALUES[frame[position + 5]];
      // -1 marks a non-hex byte; one is enough to make the OR negative.
      if ((digit1 | digit2 | digit3 | digit4) < 0) return -1;
      char = (digit1 << 12) | (digit2 << 8) | (digit3 << 4) | digit4;
      if (char > 0xff) return -1;
      position += 4;
    }
    out[length++] = char;
    position += 2;
  }
}

function decodeBinaryHeader(frame: Buffer, start: number, end: number): RemotingCommand {
  if (end - start < BINARY_HEADER_FIXED_BYTES) throw malformed(`binary header of ${end - start} bytes is shorter than ${BINARY_HEADER_FIXED_BYTES}`);
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
  if (remarkBytes < 0 || remarkBytes > end - position - 4) throw malformed(`binary remark length ${remarkBytes} overruns the header`);
  const remark = remarkBytes > 0 ? frame.toString('utf8', position, position + remarkBytes) : undefined;
  position += remarkBytes;
  const extFieldsBytes = frame.readInt32BE(position);
  position += 4;
  if (extFieldsBytes < 0 || extFieldsBytes > end - position) throw malformed(`binary extFields length ${extFieldsBytes} overruns the header`);
  // Bytes after extFields inside headerLen are ignored, as Java does.
  const extFields = extFieldsBytes > 0 ? decodeBinaryExtFields(frame, position, position + extFieldsBytes) : undefined;
  return { code, language, version, opaque, flag, remark, extFields, body: undefined };
}

function decodeBinaryExtFields(frame: Buffer, start: number, end: number): Record<string, string> {
  const fields: Record<string, string> = {};
  let position = start;
  while (position < end) {
    if (end - position < 2) throw malformed('binary extFields entry cut inside its key length');
    const keyBytes = frame.readUInt16BE(position);
    position += 2;
    if (keyBytes > end - position - 4) throw malformed(`binary extFields key length ${keyBytes} overruns the entries`);
    const key = frame.toString('utf8', position, position + keyBytes);
    position += keyBytes;
    const valueBytes = frame.readInt32BE(position);
    position += 4;
    if (valueBytes < 0 || valueBytes > end - position) throw malformed(`binary extFields value length ${valueBytes} overruns the entries`);
    const value = frame.toString('utf8', position, position + valueBytes);
    position += valueBytes;
    // A plain assignment of `__proto__` would replace the prototype instead of adding a field.
    if (key === '__proto__') Object.defineProperty(fields, key, { value, enumerable: true, writable: true, configurable: true });
    else fields[key] = value;
  }
  return fields;
}

// ---------------------------------------------------------------------------------------------
// Streaming

/** Chunks smaller than this are copied into a staging buffer once a frame spans many chunks. */
const SMALL_CHUNK_BYTES = 1024;
/** Live chunks before small ones get staged: a peer dripping bytes cannot grow the list without bound. */
const STAGE_AFTER_CHUNKS = 8;
const STAGE_BUFFER_BYTES = 64 * 1024;
const COMPACT_AFTER_CHUNKS = 64;

/**
 * Splits a byte stream into frames. `push` socket chunks, then call `next()` until it returns null.
 * Frames come back without their totalLen field, ready for decodeCommand; a frame inside one chunk is
 * a view of that chunk, and bytes are copied only when a frame spans chunks. The declared length is
 * checked as soon as its 4 bytes arrive, before anything is allocated for the frame; after a framing
 * error every further `next()` throws the same error.
 */
export class FrameDecoder {
  private readonly maxFrameBytes: number;
  /** One array with a head index, so consuming never shifts. */
  private chunks: (Buffer | undefined)[] = [];
  private head = 0;
  /** Bytes of chunks[head] already consumed. */
  private headOffset = 0;
  private buffered = 0;
  /** Declared length of the frame being assembled, or -1 while its length field is not read. */
  private frameBytes = -1;
  private failure: TideError | undefined;
  private stage: Buffer | undefined;
  private stageUsed = 0;
  private stageViewStart = 0;
  /** Whether the last chunk in the list is a view of `stage` that may still grow. */
  private lastIsStage = false;

  constructor(maxFrameBytes: number = Limits.maxFrameBytes) {
    assert(maxFrameBytes >= 4 && maxFrameBytes <= 0x7fffffff, 'maxFrameBytes out of range');
    this.maxFrameBytes = maxFrameBytes;
  }

  /** Bytes received and not yet returned as frames. */
  get bufferedBytes(): number {
    return this.buffered;
  }

  push(chunk: Buffer): void {
    const length = chunk.length;
    if (length === 0 || this.failure !== undefined) return;
    this.buffered += length;
    if (length >= SMALL_CHUNK_BYTES || this.chunks.length - this.head < STAGE_AFTER_CHUNKS) {
      this.chunks.push(chunk);
      this.lastIsStage = false;
      return;
    }
    let stage = this.stage;
    if (this.lastIsStage && stage !== undefined && this.stageUsed + length <= stage.length) {
      stage.set(chunk, this.stageUsed);
      this.stageUsed += length;
      // Grow the last view; bytes before stageUsed are never rewritten, so earlier frames stay intact.
      this.chunks[this.chunks.length - 1] = stage.subarray(this.stageViewStart, this.stageUsed);
      return;
    }
    if (stage === undefined || this.stageUsed + length > stage.length) {
      stage = this.stage = Buffer.allocUnsafeSlow(STAGE_BUFFER_BYTES);
      this.stageUsed = 0;
    }
    this.stageViewStart = this.stageUsed;
    stage.set(chunk, this.stageUsed);
    this.stageUsed += length;
    this.chunks.push(stage.subarray(this.stageViewStart, this.stageUsed));
    this.lastIsStage = true;
  }

  /** The next complete frame (the bytes after totalLen), or null until more data arrives. */
  next(): Buffer | null {
    if (this.failure !== undefined) throw this.failure;
    if (this.frameBytes < 0) {
      if (this.buffered < 4) return null;
      const declared = this.readLength();
      if (declared > this.maxFrameBytes) {
        return this.fail(new TideError('FRAME_TOO_LARGE', `remoting frame declares ${declared} bytes, more than the ${this.maxFrameBytes}-byte limit`));
      }
      if (declared < 4) return this.fail(malformed(`declared frame length ${declared} is below 4`));
      this.frameBytes = declared;
    }
    if (this.buffered < this.frameBytes) return null;
    const frame = this.consume(this.frameBytes);
    this.frameBytes = -1;
    return frame;
  }

  /** Every complete frame buffered now. */
  *frames(): IterableIterator<Buffer> {
    let frame: Buffer | null;
    while ((frame = this.next()) !== null) yield frame;
  }

  private fail(error: TideError): never {
    this.failure = error;
    this.chunks = [];
    this.head = 0;
    this.headOffset = 0;
    this.buffered = 0;
    this.stage = undefined;
    this.lastIsStage = false;
    throw error;
  }

  /** Reads and consumes the uint32 length field; the caller checked 4 bytes are buffered. */
  private readLength(): number {
    const first = this.chunks[this.head] as Buffer;
    if (first.length - this.headOffset >= 4) {
      const value = first.readUInt32BE(this.headOffset);
      this.skip(first, 4);
      return value;
    }
    let value = 0;
    for (let index = 0; index < 4; index++) {
      const chunk = this.chunks[this.head] as Buffer;
      value = value * 256 + (chunk[this.headOffset] as number);
      this.skip(chunk, 1);
    }
    return value;
  }

  private skip(chunk: Buffer, bytes: number): void {
    this.buffered -= bytes;
    this.headOffset += bytes;
    if (this.headOffset === chunk.length) this.advanceHead();
  }

  /** Takes `bytes` bytes off the front: a view when they sit in one chunk, else one copy. */
  private consume(bytes: number): Buffer {
    const first = this.chunks[this.head] as Buffer;
    const available = first.length - this.headOffset;
    if (available >= bytes) {
      const view = this.headOffset === 0 && available === bytes ? first : first.subarray(this.headOffset, this.headOffset + bytes);
      this.skip(first, bytes);
      return view;
    }
    const frame = Buffer.allocUnsafe(bytes);
    let copied = 0;
    while (copied < bytes) {
      const chunk = this.chunks[this.head] as Buffer;
      const take = Math.min(chunk.length - this.headOffset, bytes - copied);
      frame.set(chunk.subarray(this.headOffset, this.headOffset + take), copied);
      copied += take;
      this.skip(chunk, take);
    }
    return frame;
  }

  private advanceHead(): void {
    this.chunks[this.head] = undefined;
    this.head++;
    this.headOffset = 0;
    if (this.head === this.chunks.length) {
      this.chunks.length = 0;
      this.head = 0;
      this.lastIsStage = false;
    } else if (this.head >= COMPACT_AFTER_CHUNKS && this.head * 2 >= this.chunks.length) {
      this.chunks.splice(0, this.head);
      this.head = 0;
    }
  }
}
