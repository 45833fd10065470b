/**
 * JSON in the dialect of Alibaba fastjson, which RocketMQ's Java side uses for every remoting body.
 *
 * Writing (`toFastJson`):
 *  - Plain objects are written as standard JSON with their fields sorted alphabetically (fastjson
 *    orders bean fields that way; doing it everywhere is harmless and makes output deterministic).
 *    Fields whose value is `undefined` or `null` are left out, as fastjson does by default.
 *  - A `Map` is how a caller asks for fastjson's non-standard forms, so the choice is explicit:
 *      string keys  → `"key":value` (standard);
 *      number keys  → `0:value` (unquoted, fastjson's form for Long/Integer-keyed maps);
 *      object keys  → `{"brokerName":"b","queueId":3,"topic":"T"}:value` (MessageQueue-keyed maps in
 *                     TopicStatsTable, ConsumeStats, ResetOffsetBody, ConsumerRunningInfo).
 *    A route's `brokerAddrs` must be standard JSON with quoted keys, so build it as a plain object.
 *  - `Set` is written as an array, `Date` as epoch milliseconds, `Buffer`/`Uint8Array` as Base64
 *    (fastjson's form for byte[]), bigint as its digits.
 *
 * Reading (`parseFastJson`) accepts standard JSON plus what fastjson writes or accepts: object and
 * array keys, unquoted numeric and identifier keys, single-quoted strings and trailing commas. An
 * object with at least one object or array key comes back as a `Map` (keys as parsed); every other
 * object comes back as a plain object with string keys (`{0:"a"}` → `{ "0": "a" }`). Numbers are
 * JavaScript numbers, so integers beyond 2^53 lose precision (RocketMQ offsets stay far below that).
 * Malformed input throws TideError('INVALID_PARAMETER'); nesting is limited to MAX_DEPTH levels.
 */
import { TideError } from '../common/errors.js';
import { assert } from '../common/assert.js';

export type FastJsonValue =
  | null
  | boolean
  | number
  | string
  | FastJsonValue[]
  | { [key: string]: FastJsonValue }
  | Map<FastJsonValue, FastJsonValue>;

/** Deepest nesting accepted on input and produced on output. */
export const MAX_DEPTH = 256;

// ---------------------------------------------------------------------------------------------
// Writing

export function toFastJson(value: unknown): string {
  const parts: string[] = [];
  writeValue(value, parts, 0);
  return parts.join('');
}

/** `toFastJson` as UTF-8 bytes, the form remoting bodies take. */
export function toFastJsonBuffer(value: unknown): Buffer {
  return Buffer.from(toFastJson(value), 'utf8');
}

function writeValue(value: unknown, out: string[], depth: number): void {
  assert(depth <= MAX_DEPTH, 'toFastJson: value nested too deeply (cycle?)');
  if (value === null || value === undefined) {
    out.push('null');
    return;
  }
  switch (typeof value) {
    case 'string':
      out.push(JSON.stringify(value));
      return;
    case 'number':
      // fastjson writes NaN and infinities as null; JSON.stringify does the same.
      out.push(Number.isFinite(value) ? (Object.is(value, -0) ? '0' : String(value)) : 'null');
      return;
    case 'boolean':
      out.push(value ? 'true' : 'false');
      return;
    case 'bigint':
      out.push(value.toString());
      return;
    case 'object':
      break;
    default:
      assert(false, `toFastJson: cannot write a ${typeof value}`);
  }
  if (Array.isArray(value) || value instanceof Set) {
    out.push('[');
    let first = true;
    for (const item of value) {
      if (!first) out.push(',');
      first = false;
      writeValue(item, out, depth + 1);
    }
    out.push(']');
    return;
  }
  if (value instanceof Map) {
    writeMap(value, out, depth);
    return;
  }
  if (value instanceof Date) {
    out.push(String(value.getTime()));
    return;
  }
  if (value instanceof Uint8Array) {
    out.push(JSON.stringify(Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64')));
    return;
  }
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record).sort();
  out.push('{');
  let first = true;
  for (const key of keys) {
    const fieldValue = record[key];
    if (fieldValue === undefined || fieldValue === null) continue;
    if (!first) out.push(',');
    first = false;
    out.push(JSON.stringify(key), ':');
    writeValue(fieldValue, out, depth + 1);
  }
  out.push('}');
}

function writeMap(map: Map<unknown, unknown>, out: string[], depth: number): void {
  out.push('{');
  let first = true;
  for (const [key, entryValue] of map) {
    if (entryValue === undefined || entryValue === null) continue;
    if (!first) out.push(',');
    first = false;
    if (typeof key === 'string') out.push(JSON.stringify(key));
    else if (typeof key === 'number' || typeof key === 'bigint') {
      assert(typeof key === 'bigint' || Number.isFinite(key), 'toFastJson: map key must be a finite number');
      out.push(String(key));
    } else if (typeof key === 'object' && key !== null) writeValue(key, out, depth + 1);
    else assert(false, `toFastJson: unsupported map key ${String(key)}`);
    out.push(':');
    writeValue(entryValue, out, depth + 1);
  }
  out.push('}');
}

// ---------------------------------------------------------------------------------------------
// Reading

export function parseFastJson(input: string | Uint8Array): FastJsonValue {
  const text = typeof input === 'string' ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength).toString('utf8');
  const parser = new Parser(text);
  parser.skipWhitespace();
  const value = parser.parseValue(0);
  parser.skipWhitespace();
  if (parser.position !== text.length) parser.fail('unexpected text after the value');
  return value;
}

/**
 * The entries of a parsed map-like value, whichever form it arrived in: a plain object (string keys)
 * or a Map (object keys). Anything else yields no entries.
 */
export function fastJsonEntries(value: FastJsonValue | undefined): Array<[FastJsonValue, FastJsonValue]> {
  if (value instanceof Map) return [...value.entries()];
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) return Object.entries(value);
  return [];
}

const IDENTIFIER_START = /[A-Za-z_$]/;
const IDENTIFIER_PART = /[A-Za-z0-9_$]/;
const NUMBER_PATTERN = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;

class Parser {
  position = 0;
  constructor(private readonly text: string) {}

  fail(reason: string): never {
    throw new TideError('INVALID_PARAMETER', `malformed JSON at offset ${this.position}: ${reason}`);
  }

  skipWhitespace(): void {
    const text = this.text;
    while (this.position < text.length) {
      const code = text.charCodeAt(this.position);
      if (code === 0x20 || code === 0x0a || code === 0x0d || code === 0x09) this.position++;
      else break;
    }
  }

  parseValue(depth: number): FastJsonValue {
    if (depth > MAX_DEPTH) this.fail(`nested deeper than ${MAX_DEPTH} levels`);
    const char = this.text[this.position];
    switch (char) {
      case '{':
        return this.parseObject(depth);
      case '[':
        return this.parseArray(depth);
      case '"':
      case "'":
        return this.parseString();
      case 't':
        return this.parseLiteral('true', true);
      case 'f':
        return this.parseLiteral('false', false);
      case 'n':
        return this.parseLiteral('null', null);
      case undefined:
        return this.fail('unexpected end of input');
      default:
        if (char === '-' || (char >= '0' && char <= '9')) return this.parseNumber();
        return this.fail(`unexpected character ${JSON.stringify(char)}`);
    }
  }

  private parseLiteral<T>(word: string, value: T): T {
    if (!this.text.startsWith(word, this.position)) this.fail(`expected ${word}`);
    this.position += word.length;
    return value;
  }

  private parseNumber(): number {
    NUMBER_PATTERN.lastIndex = this.position;
    const match = NUMBER_PATTERN.exec(this.text);
    if (match === null) this.fail('bad number');
    this.position += match[0].length;
    return Number(match[0]);
  }

  private parseString(): string {
    const quote = this.text[this.position];
    this.position++;
    let result = '';
    let chunkStart = this.position;
    const text = this.text;
    while (true) {
      if (this.position >= text.length) this.fail('unterminated string');
      const char = text[this.position];
      if (char === quote) {
        result += text.slice(chunkStart, this.position);
        this.position++;
        return result;
      }
      if (char === '\\') {
        result += text.slice(chunkStart, this.position);
        result += this.parseEscape();
        chunkStart = this.position;
        continue;
      }
      if (text.charCodeAt(this.position) < 0x20) this.fail('control character in string');
      this.position++;
    }
  }

  private parseEscape(): string {
    const escaped = this.text[this.position + 1];
    this.position += 2;
    switch (escaped) {
      case '"': return '"';
      case "'": return "'";
      case '\\': return '\\';
      case '/': return '/';
      case 'b': return '\b';
      case 'f': return '\f';
      case 'n': return '\n';
      case 'r': return '\r';
      case 't': return '\t';
      case 'u': {
        const hex = this.text.slice(this.position, this.position + 4);
        if (!/^[0-9A-Fa-f]{4}$/.test(hex)) this.fail('bad \\u escape');
        this.position += 4;
        return String.fromCharCode(parseInt(hex, 16));
      }
      default:
        return this.fail('bad escape');
    }
  }

  private parseArray(depth: number): FastJsonValue[] {
    this.position++;
    const items: FastJsonValue[] = [];
    this.skipWhitespace();
    while (this.text[this.position] !== ']') {
      items.push(this.parseValue(depth + 1));
      this.skipWhitespace();
      if (this.text[this.position] === ',') {
        this.position++;
        this.skipWhitespace();
      } else if (this.text[this.position] !== ']') this.fail("expected ',' or ']'");
    }
    this.position++;
    return items;
  }

  private parseKey(depth: number): FastJsonValue {
    const char = this.text[this.position];
    if (char === '"' || char === "'") return this.parseString();
    if (char === '{' || char === '[') return this.parseValue(depth + 1);
    if (char === '-' || (char !== undefined && char >= '0' && char <= '9')) return this.parseNumber();
    if (char !== undefined && IDENTIFIER_START.test(char)) {
      const start = this.position;
      while (this.position < this.text.length && IDENTIFIER_PART.test(this.text[this.position]!)) this.position++;
      return this.text.slice(start, this.position);
    }
    return this.fail('expected an object key');
  }

  private parseObject(depth: number): FastJsonValue {
    this.position++;
    const entries: Array<[FastJsonValue, FastJsonValue]> = [];
    let hasStructuredKey = false;
    this.skipWhitespace();
    while (this.text[this.position] !== '}') {
      const key = this.parseKey(depth);
      if (key !== null && typeof key === 'object') hasStructuredKey = true;
      this.skipWhitespace();
      if (this.text[this.position] !== ':') this.fail("expected ':'");
      this.position++;
      this.skipWhitespace();
      entries.push([key, this.parseValue(depth + 1)]);
      this.skipWhitespace();
      if (this.text[this.position] === ',') {
        this.position++;
        this.skipWhitespace();
      } else if (this.text[this.position] !== '}') this.fail("expected ',' or '}'");
    }
    this.position++;
    if (hasStructuredKey) return new Map(entries);
    const record: { [key: string]: FastJsonValue } = {};
    for (const [key, value] of entries) {
      // defineProperty so that a key named __proto__ stays data and never swaps the prototype.
      Object.defineProperty(record, String(key), { value, enumerable: true, writable: true, configurable: true });
    }
    return record;
  }
}
