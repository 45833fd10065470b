/**
 * The fast path for decoding JSON remoting headers (serializeType 0): `scanJsonHeader` and its helpers.
 * It scans the header bytes by hand when they are the flat ASCII object every RocketMQ client sends
 * (any key order, string escapes, integers and booleans in extFields) and hands anything unusual
 * (non-ASCII bytes, whitespace, nulls in extFields, fractions, nesting, duplicate extFields, escaped
 * keys) to parseJsonHeader in json-header-parser.ts, which alone decides what is malformed. The two
 * agree on everything the scanner accepts (the differential tests in remoting-codec.test.ts and
 * test/fuzz/remoting-codec-fuzz.test.ts hold them to that).
 *
 * Reading the header bytes directly: byte loops over a Buffer run about three times faster here than
 * charCodeAt over a string, and the strings it returns are slices of one latin1 copy of the header
 * (latin1 equals UTF-8 for ASCII). It returns undefined, and parseJsonHeader takes over, on anything
 * it does not know to be well-formed and plain; so it never throws and never disagrees. What it
 * accepts: one object, no whitespace, keys without escapes, int32 `code`/`opaque`/`flag`/`version`
 * without fraction or exponent, string-or-null `language`/`remark`, one flat `extFields` whose values
 * are strings, booleans or integers of up to 15 digits (whose decimal text is what String(number)
 * gives back), and string or null values under other keys (serializeTypeCurrentRPC). Values that are
 * slices keep the header's latin1 copy alive while they live; headers are small.
 *
 * The loops over a string's plain bytes do not test `end` on every byte (that cost 15 % of a scan);
 * they stop at the first quote, backslash or non-plain byte, or at the end of `frame`, and the caller
 * checks `end` afterwards. Only a string left open at the header's end runs on into the body, and
 * such a header is invalid JSON, which closes the connection.
 */
import { assert } from '../common/assert.js';
import { HEX_DIGITS, JSON_SCRATCH_BYTES, STRING_BYTE_CLASS, StringByte, latin1Bytes } from './json-string-bytes.js';
import type { RemotingCommand } from './remoting-command.js';

/** The scanner's scratch, for the unescaped bytes of a string with escapes. */
const decodeScratch = Buffer.allocUnsafeSlow(JSON_SCRATCH_BYTES);

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
 * anything but the plain form described at the top of this file. Exported for the differential tests and the benchmark.
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
    let key = knownTopKey(frame, keyStart, end);
    if (key !== TopKey.OTHER) position = keyStart + TOP_KEY_BYTES[key];
    else {
      const keyEnd = scanKeyEnd(frame, keyStart, end);
      if (keyEnd < 0) return undefined;
      key = topKeyAt(frame, keyStart, keyEnd);
      position = keyEnd + 2;
    }
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
      if (key === TopKey.LANGUAGE && isJava(frame, position + 1, end)) {
        language = 'JAVA';
        position += 6;
      } else if (key === TopKey.LANGUAGE || key === TopKey.REMARK) {
        position = scanString(frame, text, start, position + 1, end);
        if (position < 0) return undefined;
        if (key === TopKey.LANGUAGE) language = scannedString;
        else remark = scannedString;
      } else {
        // serializeTypeCurrentRPC and unknown keys: checked as scanString would, never materialised.
        position = skipString(frame, text, start, position + 1, end);
        if (position < 0) return undefined;
      }
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
  for (let entry = 0; ; entry++) {
    if (frame[position] !== 0x22) return -1;
    const keyStart = position + 1;
    let key: string;
    const keyByte = frame[keyStart];
    const expected = entry < EXPECTED_KEYS.length ? EXPECTED_KEYS[entry]! : '';
    const expectedLength = expected.length;
    if (frame[keyStart + 1] === 0x22 && frame[keyStart + 2] === 0x3a && STRING_BYTE_CLASS[keyByte] === StringByte.PLAIN && keyStart + 1 < end - 1) {
      // The one-letter names of SEND_MESSAGE_V2, without the calls of the general case.
      key = ONE_CHAR_STRINGS[keyByte];
      position = keyStart + 3;
    } else if (expectedLength > 1 && keyStart + expectedLength + 1 < end && frame[keyStart + expectedLength] === 0x22 && frame[keyStart + expectedLength + 1] === 0x3a && hasBytesOf(frame, keyStart, expected)) {
      // The name the last header had at this place: headers of one kind repeat their key order.
      key = expected;
      position = keyStart + expectedLength + 2;
    } else {
      const keyEnd = scanKeyEnd(frame, keyStart, end);
      if (keyEnd < 0) return -1;
      key = extFieldKey(frame, text, base, keyStart, keyEnd);
      // JSON.parse makes `__proto__` an own property; a plain assignment would set the prototype.
      if (key === '__proto__') return -1;
      if (entry < EXPECTED_KEYS.length) EXPECTED_KEYS[entry] = key;
      position = keyEnd + 2;
    }
    const first = frame[position];
    let value: string;
    if (first === 0x22) {
      // A plain value inline; one with escapes (or anything odd) goes through scanString.
      const valueStart = position + 1;
      let valueEnd = valueStart;
      while (STRING_BYTE_CLASS[frame[valueEnd]] === StringByte.PLAIN) valueEnd++;
      if (valueEnd < end && frame[valueEnd] === 0x22) {
        value = valueEnd - valueStart === 1 ? ONE_CHAR_STRINGS[frame[valueStart]] : text.slice(valueStart - base, valueEnd - base);
        position = valueEnd + 1;
      } else {
        position = scanString(frame, text, base, valueStart, end);
        if (position < 0) return -1;
        value = scannedString;
      }
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
 * The extFields names of the last header scanned, by place. A key found in full is stored here; the
 * next header checks its key at that place against it in one pass (it is a name that passed every
 * check, so equal bytes make an equally good key), which saves finding the key's end and looking it
 * up in KEY_CACHE.
 */
const EXPECTED_KEYS: string[] = new Array<string>(32).fill('');

function hasBytesOf(frame: Buffer, position: number, text: string): boolean {
  const length = text.length;
  for (let index = 0; index < length; index++) if (frame[position + index] !== text.charCodeAt(index)) return false;
  return true;
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

/** Each known name with its closing quote and colon, by TopKey (OTHER: none). */
const TOP_KEY_TOKENS: readonly Buffer[] = [
  latin1Bytes(''),
  latin1Bytes('code":'),
  latin1Bytes('opaque":'),
  latin1Bytes('flag":'),
  latin1Bytes('version":'),
  latin1Bytes('language":'),
  latin1Bytes('remark":'),
  latin1Bytes('extFields":'),
];
const TOP_KEY_BYTES: readonly number[] = TOP_KEY_TOKENS.map((token) => token.length);

/**
 * The field whose name, closing quote and colon start at `keyStart` (then the value starts
 * TOP_KEY_BYTES[key] bytes later), or OTHER: one pass over the bytes instead of finding the key's end
 * and then comparing it. OTHER says nothing about the key; the general path looks at it again.
 */
function knownTopKey(frame: Buffer, keyStart: number, end: number): TopKey {
  let key: TopKey;
  switch (frame[keyStart]) {
    case 0x63: // c
      key = TopKey.CODE;
      break;
    case 0x6f: // o
      key = TopKey.OPAQUE;
      break;
    case 0x66: // f
      key = TopKey.FLAG;
      break;
    case 0x76: // v
      key = TopKey.VERSION;
      break;
    case 0x6c: // l
      key = TopKey.LANGUAGE;
      break;
    case 0x72: // r
      key = TopKey.REMARK;
      break;
    case 0x65: // e
      key = TopKey.EXT_FIELDS;
      break;
    default:
      return TopKey.OTHER;
  }
  const token = TOP_KEY_TOKENS[key]!;
  const length = token.length;
  if (keyStart + length > end) return TopKey.OTHER;
  for (let index = 1; index < length; index++) if (frame[keyStart + index] !== token[index]) return TopKey.OTHER;
  return key;
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

/** Whether the string literal whose opening quote is just before `position` is exactly "JAVA". */
function isJava(frame: Buffer, position: number, end: number): boolean {
  return position + 5 <= end && frame[position] === 0x4a && frame[position + 1] === 0x41 && frame[position + 2] === 0x56 && frame[position + 3] === 0x41 && frame[position + 4] === 0x22;
}

/** scanString for a value nobody reads: the same checks and result, without making the string when it is plain. */
function skipString(frame: Buffer, text: string, base: number, position: number, end: number): number {
  const start = position;
  while (STRING_BYTE_CLASS[frame[position]] === StringByte.PLAIN) position++;
  if (position < end && frame[position] === 0x22) return position + 1;
  return scanString(frame, text, base, start, end);
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
  if (end - start > JSON_SCRATCH_BYTES) return -1;
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
