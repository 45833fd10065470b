// Proves that the remoting decoders, fed thousands of seeded mutations of valid frames, either return a well-typed command or throw a TideError FRAME_MALFORMED/FRAME_TOO_LARGE, never another exception.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TideError } from '../../src/common/errors.js';
import { FrameDecoder, decodeCommand, encodeCommand } from '../../src/protocol/remoting-codec.js';
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
