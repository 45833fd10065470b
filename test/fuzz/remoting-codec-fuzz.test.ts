// Proves that the remoting decoders, fed thousands of seeded mutations of valid frames, either return a well-typed command or throw a TideError FRAME_MALFORMED/FRAME_TOO_LARGE, never another exception, and that the JSON fast paths (header scanner, byte-writing encoder) give exactly what the general paths give on thousands of seeded random headers and commands.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TideError } from '../../src/common/errors.js';
import { FrameDecoder, decodeCommand, encodeCommand, encodeCommandAs, encodeCommandViaString, parseJsonHeader, scanJsonHeader } from '../../src/protocol/remoting-codec.js';
import { createRequest, createResponse, type RemotingCommand } from '../../src/protocol/remoting-command.js';

/** mulberry32: a tiny seeded PRNG, so a failure can be replayed from its seed. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function binaryFrame(code: number, remark: string, ext: [string, string][], body: Buffer): Buffer {
  const entries = ext.flatMap(([key, value]) => {
    const keyBytes = Buffer.from(key);
    const valueBytes = Buffer.from(value);
    const keyLength = Buffer.alloc(2);
    keyLength.writeUInt16BE(keyBytes.length);
    const valueLength = Buffer.alloc(4);
    valueLength.writeInt32BE(valueBytes.length);
    return [keyLength, keyBytes, valueLength, valueBytes];
  });
  const extBytes = Buffer.concat(entries);
  const remarkBytes = Buffer.from(remark);
  const header = Buffer.alloc(21 + remarkBytes.length + extBytes.length);
  header.writeInt16BE(code, 0);
  header.writeInt8(0, 2);
  header.writeInt16BE(479, 3);
  header.writeInt32BE(77, 5);
  header.writeInt32BE(0, 9);
  header.writeInt32BE(remarkBytes.length, 13);
  remarkBytes.copy(header, 17);
  header.writeInt32BE(extBytes.length, 17 + remarkBytes.length);
  extBytes.copy(header, 21 + remarkBytes.length);
  const prefix = Buffer.alloc(8);
  prefix.writeInt32BE(4 + header.length + body.length, 0);
  prefix.writeUInt32BE(((1 << 24) | header.length) >>> 0, 4);
  return Buffer.concat([prefix, header, body]);
}

function jsonFrame(headerText: string, body: Buffer): Buffer {
  const header = Buffer.from(headerText);
  const prefix = Buffer.alloc(8);
  prefix.writeInt32BE(4 + header.length + body.length, 0);
  prefix.writeInt32BE(header.length, 4);
  return Buffer.concat([prefix, header, body]);
}

const seeds: Buffer[] = [
  encodeCommand({ ...createRequest(310, { a: 'group', b: 'TopicTest', e: '0', i: 'TAGS\u0001A\u0002KEYS\u0001k' }), body: Buffer.from('hello body') }),
  encodeCommand(createResponse(createRequest(11), 0, 'ok ü', { nextBeginOffset: '12', minOffset: '0' }, Buffer.alloc(40, 9))),
  encodeCommand(createRequest(34)),
  jsonFrame('{"code":11,"language":"JAVA","opaque":5,"flag":0,"version":121,"extFields":{"queueId":0,"suspend":true,"x":null}}', Buffer.from([1, 2])),
  binaryFrame(310, 'remark', [['a', 'g'], ['b', 'T中']], Buffer.from('payload')),
  binaryFrame(105, '', [], Buffer.alloc(0)),
];

const jsonValues = ['0', '-1', '2147483648', '1.5', 'true', 'null', '"s"', '[]', '{}', '{"a":{}}', '[1,{"b":2}]', '1e400', '"\\ud800"', '""'];

type Mutation = (frame: Buffer, random: () => number) => Buffer;

function randomIndex(random: () => number, length: number): number {
  return Math.floor(random() * Math.max(length, 1));
}

const mutations: Mutation[] = [
  (frame, random) => {
    const copy = Buffer.from(frame);
    if (copy.length > 0) copy[randomIndex(random, copy.length)] = Math.floor(random() * 256);
    return copy;
  },
  (frame, random) => {
    const copy = Buffer.from(frame);
    if (copy.length > 0) copy[randomIndex(random, copy.length)] ^= 1 << Math.floor(random() * 8);
    return copy;
  },
  (frame, random) => frame.subarray(0, randomIndex(random, frame.length)),
  (frame, random) => {
    const at = randomIndex(random, frame.length);
    const junk = Buffer.from(Array.from({ length: 1 + Math.floor(random() * 8) }, () => Math.floor(random() * 256)));
    return Buffer.concat([frame.subarray(0, at), junk, frame.subarray(at)]);
  },
  (frame, random) => {
    // Extreme values in a 32-bit field somewhere: lengths, opaque, flag.
    const copy = Buffer.from(frame);
    if (copy.length >= 4) {
      const extremes = [0, 1, 0x7fffffff, 0x80000000, 0xffffffff, 0x00ffffff, 0x01000000, copy.length, copy.length + 1];
      copy.writeUInt32BE(extremes[randomIndex(random, extremes.length)] as number, randomIndex(random, copy.length - 3));
    }
    return copy;
  },
  (frame, random) => {
    // Swap one JSON value for a value of another type, keeping the header-length word right.
    if (frame.length < 8 || frame[4] !== 0) return frame;
    const headerLength = frame.readUInt32BE(4) & 0xffffff;
    const text = frame.toString('utf8', 8, 8 + headerLength);
    const values = [...text.matchAll(/:("[^"]*"|-?\d+|true|false|null)/g)];
    if (values.length === 0) return frame;
    const target = values[randomIndex(random, values.length)] as RegExpMatchArray;
    const replacement = jsonValues[randomIndex(random, jsonValues.length)] as string;
    const start = (target.index as number) + 1;
    const mutated = text.slice(0, start) + replacement + text.slice(start + (target[1] as string).length);
    return jsonFrame(mutated, frame.subarray(8 + headerLength));
  },
];

function checkCommand(command: RemotingCommand): void {
  assert.ok(Number.isInteger(command.code) && Number.isInteger(command.opaque) && Number.isInteger(command.flag) && Number.isInteger(command.version));
  assert.equal(typeof command.language, 'string');
  assert.ok(command.remark === undefined || typeof command.remark === 'string');
  if (command.extFields !== undefined) {
    for (const key of Object.keys(command.extFields)) assert.equal(typeof command.extFields[key], 'string');
  }
  assert.ok(command.body === undefined || Buffer.isBuffer(command.body));
}

function expectTideError(error: unknown, context: string): void {
  if (!(error instanceof TideError) || (error.code !== 'FRAME_MALFORMED' && error.code !== 'FRAME_TOO_LARGE')) {
    assert.fail(`${context}: expected a FRAME_* TideError, got ${error instanceof Error ? error.stack : String(error)}`);
  }
}

test('decodeCommand on mutated frames returns a typed command or throws a FRAME_* TideError', () => {
  const random = prng(0x5eed);
  let decoded = 0;
  let rejected = 0;
  for (let iteration = 0; iteration < 5000; iteration++) {
    let frame = seeds[randomIndex(random, seeds.length)] as Buffer;
    const rounds = 1 + Math.floor(random() * 3);
    for (let round = 0; round < rounds; round++) frame = (mutations[randomIndex(random, mutations.length)] as Mutation)(frame, random);
    try {
      checkCommand(decodeCommand(frame.subarray(4)));
      decoded++;
    } catch (error) {
      expectTideError(error, `iteration ${iteration}`);
      rejected++;
    }
    if (frame.length >= 8 && frame[4] === 0) {
      const headerEnd = 8 + (frame.readUInt32BE(4) & 0xffffff);
      if (headerEnd <= frame.length) assertSameAsJsonParse(frame.subarray(4), 4, headerEnd - 4, `iteration ${iteration}`);
    }
  }
  assert.ok(decoded > 100 && rejected > 100, `both outcomes exercised (decoded ${decoded}, rejected ${rejected})`);
});

test('FrameDecoder on mutated streams cut at random points yields frames or throws a FRAME_* TideError', () => {
  const random = prng(0xf00d);
  for (let iteration = 0; iteration < 1500; iteration++) {
    const parts: Buffer[] = [];
    for (let count = 1 + Math.floor(random() * 4); count > 0; count--) parts.push(seeds[randomIndex(random, seeds.length)] as Buffer);
    let stream: Buffer = Buffer.concat(parts);
    stream = (mutations[randomIndex(random, mutations.length)] as Mutation)(stream, random);
    const decoder = new FrameDecoder();
    let position = 0;
    try {
      while (position < stream.length) {
        const size = 1 + Math.floor(random() * 64);
        decoder.push(stream.subarray(position, position + size));
        position += size;
        for (const frame of decoder.frames()) {
          try {
            checkCommand(decodeCommand(frame));
          } catch (error) {
            expectTideError(error, `iteration ${iteration} (decode)`);
          }
        }
      }
    } catch (error) {
      expectTideError(error, `iteration ${iteration} (framing)`);
    }
  }
});

test('pure random bytes never make the decoders throw anything but a FRAME_* TideError', () => {
  const random = prng(42);
  for (let iteration = 0; iteration < 2000; iteration++) {
    const bytes = Buffer.from(Array.from({ length: Math.floor(random() * 96) }, () => Math.floor(random() * 256)));
    if (random() < 0.5 && bytes.length >= 8) bytes.writeUInt32BE(bytes.length - 4, 0); // a plausible length
    try {
      checkCommand(decodeCommand(bytes));
    } catch (error) {
      expectTideError(error, `iteration ${iteration} (decode)`);
    }
    const decoder = new FrameDecoder();
    decoder.push(bytes);
    try {
      for (const frame of decoder.frames()) {
        try {
          checkCommand(decodeCommand(frame));
        } catch (error) {
          expectTideError(error, `iteration ${iteration} (frame decode)`);
        }
      }
    } catch (error) {
      expectTideError(error, `iteration ${iteration} (framing)`);
    }
  }
});

// ---------------------------------------------------------------------------------------------
// Differential: fast paths against general paths

/** What a decode gave: the command, its field and extFields key orders and extFields prototype, or the error. */
function outcome(decode: () => RemotingCommand): unknown {
  try {
    const command = decode();
    const fields = command.extFields;
    return {
      command,
      keys: Object.keys(command),
      fieldKeys: fields === undefined ? null : Object.keys(fields),
      prototypeIsObject: fields === undefined ? null : Object.getPrototypeOf(fields) === Object.prototype,
    };
  } catch (error) {
    if (!(error instanceof TideError)) throw error;
    return { code: error.code, message: error.message };
  }
}

let scannerTook = 0;
let scannerDeclined = 0;

/** The scanner either declines or gives what JSON.parse gives; decodeCommand gives what JSON.parse gives. */
function assertSameAsJsonParse(frame: Buffer, start: number, end: number, context: string): void {
  let scanned: RemotingCommand | undefined;
  try {
    scanned = scanJsonHeader(frame, start, end);
  } catch (error) {
    assert.fail(`${context}: the scanner threw ${error instanceof Error ? error.stack : String(error)}`);
  }
  const expected = outcome(() => parseJsonHeader(frame, start, end));
  if (scanned === undefined) scannerDeclined++;
  else {
    scannerTook++;
    assert.deepStrictEqual(outcome(() => scanned as RemotingCommand), expected, `${context}: ${frame.toString('utf8', start, end)}`);
  }
  // decodeCommand adds the body; the header part must match the general path.
  assert.deepStrictEqual(
    outcome(() => ({ ...decodeCommand(frame.subarray(0, end)) })),
    expected,
    `${context}: decodeCommand on ${frame.toString('utf8', start, end)}`,
  );
}

/** Random JSON header texts in the forms clients send and in many they do not. */
function randomHeaderText(random: () => number): string {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const chance = (probability: number): boolean => random() < probability;
  // Half the headers look like a client's with a rare oddity, half are odd all over.
  const oddity = chance(0.5) ? 0.01 : 0.25;
  const odd = (): boolean => random() < oddity;
  const randomString = (): string => {
    const alphabets = ['abcXYZ019_-.:%', ' !#$&()*+,;<=>?@[]^`{|}~\u007f', '"\\/', '\u0000\u0001\u0002\u0009\u000a\u001f', 'éü中文', '\ud83d\ude00', '\ud800'];
    let text = '';
    for (let length = Math.floor(random() * (chance(0.1) ? 200 : 16)); length > 0; length--) {
      const alphabet = odd() ? pick(alphabets) : (alphabets[0] as string);
      text += alphabet[Math.floor(random() * alphabet.length)];
    }
    return text;
  };
  /** A JSON string literal for `text`, written in one of the ways a writer may choose. */
  const literal = (text: string): string => {
    const standard = JSON.stringify(text);
    if (!odd()) return standard;
    const style = Math.floor(random() * 4);
    let out = '"';
    for (const char of text) {
      const code = char.charCodeAt(0);
      if (style === 0 && char.length === 1) out += `\\u${code.toString(16).padStart(4, '0').toUpperCase()}`; // everything escaped
      else if (style === 1 && char === '/') out += '\\/';
      else if (style === 2 && code < 0x20) out += char; // raw control characters: invalid JSON
      else out += JSON.stringify(char).slice(1, -1);
    }
    return style === 3 ? out : out + '"'; // style 3: unterminated
  };
  const integer = (): string =>
    (odd() ? pick : (items: readonly (() => string)[]) => items[Math.floor(random() * 2)] as () => string)([
      () => String(Math.floor(random() * 1000)),
      () => String(Math.floor(random() * 2 ** 32) - 2 ** 31),
      () => pick(['0', '-1', '2147483647', '-2147483648', '2147483648', '-2147483649', '99999999999']),
      () => String(Math.floor(random() * 2 ** 53)),
      () => pick(['-0', '01', '1.0', '1.5', '1e3', '1E2', '-', '1.', '12345678901234567', '123456789012345', '0.0000001']),
    ])();
  const scalar = (): string => {
    if (odd()) return pick(['null', 'tru', 'nul', '{}', '[]', '{"x":"y"}', '[1,"2"]', '{"a":{"b":null}}']);
    const roll = random();
    if (roll < 0.7) return literal(randomString());
    if (roll < 0.9) return integer();
    return pick(['true', 'false']);
  };
  const extKey = (): string =>
    literal(odd() ? pick(['__proto__', '', randomString()]) : pick(['a', 'b', 'i', 'n', 'topic', 'queueId', 'consumerGroup', 'commitOffset', '0', '7', 'constructor', 'toString']));
  const extFields = (): string => {
    const entries: string[] = [];
    for (let count = Math.floor(random() * 16); count > 0; count--) entries.push(`${extKey()}:${scalar()}`);
    if (entries.length > 1 && odd()) entries.push(entries[0] as string); // a duplicate key
    return `{${entries.join(',')}}`;
  };
  const entries: string[] = [];
  if (!odd()) entries.push(`"code":${odd() ? scalar() : integer()}`);
  if (!odd()) entries.push(`"opaque":${odd() ? scalar() : integer()}`);
  if (chance(0.7)) entries.push(`"flag":${odd() ? scalar() : pick(['0', '1', '2', '3'])}`);
  if (chance(0.7)) entries.push(`"version":${odd() ? scalar() : pick(['121', '479', '317'])}`);
  if (chance(0.8)) entries.push(`"language":${odd() ? scalar() : pick(['"JAVA"', '"GO"', '"NODE_JS"', 'null'])}`);
  if (chance(0.3)) entries.push(`"remark":${odd() ? scalar() : pick(['null', literal(randomString())])}`);
  if (chance(0.85)) entries.push(`"extFields":${odd() ? scalar() : extFields()}`);
  if (chance(0.5)) entries.push('"serializeTypeCurrentRPC":"JSON"');
  if (odd()) entries.push(`${extKey()}:${scalar()}`);
  if (odd() && entries.length > 0) entries.push(entries[0] as string); // a duplicate field
  for (let index = entries.length - 1; index > 0; index--) {
    const other = Math.floor(random() * (index + 1));
    [entries[index], entries[other]] = [entries[other] as string, entries[index] as string];
  }
  let text = `{${entries.join(',')}}`;
  if (odd()) text = text.replace(/,/g, ', '); // whitespace
  if (odd()) text = text.slice(0, Math.floor(random() * text.length)); // cut short
  return text;
}

test('the JSON header scanner and JSON.parse agree on thousands of seeded random headers', () => {
  const random = prng(0xd1ff);
  scannerTook = 0;
  scannerDeclined = 0;
  for (let iteration = 0; iteration < 4000; iteration++) {
    const text = randomHeaderText(random);
    const body = random() < 0.5 ? Buffer.alloc(0) : Buffer.from('"}0123456789 trailing body bytes');
    const frame = jsonFrame(text, body).subarray(4);
    assertSameAsJsonParse(frame, 4, frame.length - body.length, `iteration ${iteration}`);
  }
  assert.ok(scannerTook > 500 && scannerDeclined > 500, `both paths exercised (scanner took ${scannerTook}, declined ${scannerDeclined})`);
});

test('the byte-writing encoder and the string encoder write identical frames for thousands of seeded random commands', () => {
  const random = prng(0xe4c0de);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const text = (): string => {
    const alphabet = pick(['abcXYZ019_-.:% ', 'ab"\\/\u007f', 'a\u0000\u0001\u0002\u0008\u0009\u000a\u000c\u000d\u001f', 'aé中', 'a\ud83d\ude00\ud800\udc00']);
    let out = '';
    for (let length = Math.floor(random() * (random() < 0.02 ? 15_000 : 20)); length > 0; length--) out += alphabet[Math.floor(random() * alphabet.length)];
    return out;
  };
  const int32 = (): number => pick([0, 1, -1, 2147483647, -2147483648, Math.floor(random() * 2 ** 32) - 2 ** 31, Math.floor(random() * 1000)]);
  let roundTrips = 0;
  for (let iteration = 0; iteration < 3000; iteration++) {
    let extFields: Record<string, unknown> | null | undefined = pick([undefined, null, {}]);
    if (random() < 0.8) {
      extFields = {};
      for (let count = Math.floor(random() * 12); count > 0; count--) {
        const key = random() < 0.7 ? pick(['msgId', 'queueId', 'queueOffset', 'MSG_REGION', 'TRACE_ON', 'a', '0', 'x y']) : text();
        const value = pick([text, text, text, () => int32(), () => random() < 0.5, () => undefined, () => null])();
        Object.defineProperty(extFields, key, { value, enumerable: true, writable: true, configurable: true });
      }
    }
    const command = {
      code: int32(),
      language: random() < 0.7 ? 'JAVA' : text(),
      version: int32(),
      opaque: int32(),
      flag: int32(),
      remark: pick([undefined, null, 'text', text()]),
      extFields,
      body: random() < 0.3 ? Buffer.from(text()) : undefined,
    } as unknown as RemotingCommand;
    const opaque = int32();
    const flag = int32();
    const viaString = encodeCommandViaString(command, opaque, flag);
    assert.deepEqual(encodeCommandAs(command, opaque, flag), viaString, `iteration ${iteration}`);
    // The header is also exactly what JSON.stringify writes for the same fields.
    const expectedFields: Record<string, string> = {};
    for (const key in extFields ?? {}) {
      const value = (extFields as Record<string, unknown>)[key];
      if (value !== undefined && value !== null) Object.defineProperty(expectedFields, key, { value: String(value), enumerable: true });
    }
    const headerText = JSON.stringify({
      code: command.code,
      language: command.language,
      version: command.version,
      opaque,
      flag,
      remark: command.remark ?? undefined,
      extFields: extFields === undefined || extFields === null ? undefined : expectedFields,
      serializeTypeCurrentRPC: 'JSON',
    });
    assert.equal(viaString.toString('utf8', 8, 8 + viaString.readInt32BE(4)), headerText, `iteration ${iteration}`);
    if (!/[\ud800-\udfff]/.test(headerText.normalize())) {
      const decoded = decodeCommand(viaString.subarray(4));
      assert.deepEqual({ ...decoded.extFields }, extFields === undefined || extFields === null ? {} : { ...expectedFields });
      roundTrips++;
    }
  }
  assert.ok(roundTrips > 1000, `decoded ${roundTrips} round trips`);
});
