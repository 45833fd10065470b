// Proves the remoting codec round-trips JSON frames, reads hand-built binary and ali-ons-style headers, rejects malformed frames with TideError, and that FrameDecoder reassembles frames however the stream is cut.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isTideError } from '../common/errors.js';
import { Limits } from '../common/limits.js';
import { FrameDecoder, decodeCommand, encodeCommand, encodeCommandAs } from './remoting-codec.js';
import { RemotingFlag, createRequest, type RemotingCommand } from './remoting-command.js';

/** The frame without its totalLen field, as FrameDecoder yields it. */
function afterLength(frame: Buffer): Buffer {
  return frame.subarray(4);
}

function jsonFrame(header: unknown, body: Buffer = Buffer.alloc(0), serializeType = 0): Buffer {
  const headerBytes = Buffer.from(typeof header === 'string' ? header : JSON.stringify(header));
  const prefix = Buffer.alloc(8);
  prefix.writeInt32BE(4 + headerBytes.length + body.length, 0);
  prefix.writeUInt32BE(((serializeType << 24) | headerBytes.length) >>> 0, 4);
  return Buffer.concat([prefix, headerBytes, body]);
}

/** A ROCKETMQ binary header built byte by byte from the reference layout. */
function binaryHeader(fields: { code: number; language: number; version: number; opaque: number; flag: number; remark?: string; ext?: [string, string][] }): Buffer {
  const parts: Buffer[] = [];
  const fixed = Buffer.alloc(13);
  fixed.writeInt16BE(fields.code, 0);
  fixed.writeInt8(fields.language, 2);
  fixed.writeInt16BE(fields.version, 3);
  fixed.writeInt32BE(fields.opaque, 5);
  fixed.writeInt32BE(fields.flag, 9);
  parts.push(fixed);
  const remark = fields.remark === undefined ? Buffer.alloc(0) : Buffer.from(fields.remark);
  const remarkLength = Buffer.alloc(4);
  remarkLength.writeInt32BE(remark.length);
  parts.push(remarkLength, remark);
  const entries: Buffer[] = [];
  for (const [key, value] of fields.ext ?? []) {
    const keyBytes = Buffer.from(key);
    const valueBytes = Buffer.from(value);
    const keyLength = Buffer.alloc(2);
    keyLength.writeInt16BE(keyBytes.length);
    const valueLength = Buffer.alloc(4);
    valueLength.writeInt32BE(valueBytes.length);
    entries.push(keyLength, keyBytes, valueLength, valueBytes);
  }
  const extBytes = Buffer.concat(entries);
  const extLength = Buffer.alloc(4);
  extLength.writeInt32BE(extBytes.length);
  parts.push(extLength, extBytes);
  return Buffer.concat(parts);
}

function binaryFrame(header: Buffer, body: Buffer = Buffer.alloc(0)): Buffer {
  const prefix = Buffer.alloc(8);
  prefix.writeInt32BE(4 + header.length + body.length, 0);
  prefix.writeUInt32BE(((1 << 24) | header.length) >>> 0, 4);
  return Buffer.concat([prefix, header, body]);
}

function assertMalformed(frame: Buffer, pattern?: RegExp): void {
  assert.throws(
    () => decodeCommand(frame),
    (error: unknown) => isTideError(error, 'FRAME_MALFORMED') && (pattern === undefined || pattern.test(error.message)),
  );
}

test('JSON frame round trip keeps every field, writes lengths right and the header in a stable order', () => {
  const command: RemotingCommand = {
    code: 310,
    language: 'JAVA',
    version: 479,
    opaque: 123456,
    flag: 0,
    remark: 'hello',
    extFields: { a: 'group', b: 'TopicTest', e: '3', i: 'TAGS\u0001TagA\u0002KEYS\u0001k1' },
    body: Buffer.from('the body'),
  };
  const frame = encodeCommand(command);
  assert.equal(frame.readInt32BE(0), frame.length - 4);
  const headerLength = frame.readInt32BE(4);
  assert.equal(headerLength >>> 24, 0, 'serialize type JSON');
  const headerText = frame.toString('utf8', 8, 8 + headerLength);
  assert.deepEqual(Object.keys(JSON.parse(headerText)), ['code', 'language', 'version', 'opaque', 'flag', 'remark', 'extFields', 'serializeTypeCurrentRPC']);
  assert.equal(JSON.parse(headerText).serializeTypeCurrentRPC, 'JSON');
  assert.equal(frame.toString('utf8', 8 + headerLength), 'the body');
  const decoded = decodeCommand(afterLength(frame));
  assert.deepEqual({ ...decoded, body: decoded.body?.toString() }, { ...command, body: 'the body' });
});

test('strings needing escapes or UTF-8 survive the hand-written header serializer', () => {
  const tricky = ['quote " and \\ backslash', 'ctl \u0000\u0001\u001f\n\t', 'ünïcödé 中文', 'emoji 😀', 'lone \ud800 surrogate', '', '</script>'];
  for (const text of tricky) {
    const frame = encodeCommand({ code: 1, language: 'JAVA', version: 0, opaque: 7, flag: 1, remark: text, extFields: { [text]: text, plain: 'x' } });
    const headerLength = frame.readInt32BE(4);
    assert.equal(frame.length, 8 + headerLength, 'header length counts UTF-8 bytes');
    const decoded = decodeCommand(afterLength(frame));
    const expected = text;
    assert.equal(decoded.remark, expected);
    assert.equal(decoded.extFields?.[expected], expected);
    assert.equal(decoded.extFields?.plain, 'x');
  }
});

test('a command without remark, extFields or body decodes to undefined fields', () => {
  const request = createRequest(105);
  const decoded = decodeCommand(afterLength(encodeCommand(request)));
  assert.equal(decoded.code, 105);
  assert.equal(decoded.opaque, request.opaque);
  assert.equal(decoded.remark, undefined);
  assert.equal(decoded.extFields, undefined);
  assert.equal(decoded.body, undefined);
});

test('encodeCommandAs overrides opaque and flag without touching the command', () => {
  const request = createRequest(34, { clientID: 'c1' });
  const frame = encodeCommandAs(request, 99, RemotingFlag.ONEWAY);
  const decoded = decodeCommand(afterLength(frame));
  assert.equal(decoded.opaque, 99);
  assert.equal(decoded.flag, RemotingFlag.ONEWAY);
  assert.equal(request.flag, 0);
});

test('extFields values that are not strings are written as strings and undefined ones are left out', () => {
  const extFields = { queueId: 3, unitMode: false, gone: undefined } as unknown as Record<string, string>;
  const decoded = decodeCommand(afterLength(encodeCommand({ ...createRequest(11), extFields })));
  assert.deepEqual({ ...decoded.extFields }, { queueId: '3', unitMode: 'false' });
});

test('ali-ons style headers: numbers and booleans in extFields become strings, nulls are dropped', () => {
  const header = { code: 11, language: 'JAVA', opaque: 5, flag: 0, version: 121, remark: null, extFields: { queueId: 0, commitOffset: 12345678901, suspend: true, subscription: '*', expressionType: null } };
  const decoded = decodeCommand(afterLength(jsonFrame(header, Buffer.from([1, 2, 3]))));
  assert.equal(decoded.code, 11);
  assert.equal(decoded.version, 121);
  assert.equal(decoded.remark, undefined);
  assert.deepEqual({ ...decoded.extFields }, { queueId: '0', commitOffset: '12345678901', suspend: 'true', subscription: '*' });
  assert.deepEqual([...(decoded.body ?? [])], [1, 2, 3]);
});

test('a Java-style JSON header with fields in alphabetical order and without flag decodes', () => {
  const text = '{"code":105,"extFields":{"topic":"T"},"language":"JAVA","opaque":3,"serializeTypeCurrentRPC":"JSON","version":479}';
  const decoded = decodeCommand(afterLength(jsonFrame(text)));
  assert.equal(decoded.code, 105);
  assert.equal(decoded.flag, 0);
  assert.equal(decoded.extFields?.topic, 'T');
});

test('binary (ROCKETMQ) headers built by hand decode field by field', () => {
  const header = binaryHeader({ code: 310, language: 9, version: 317, opaque: -5, flag: 2, remark: 'rémark', ext: [['a', 'group'], ['b', 'Topic中'], ['empty', '']] });
  const decoded = decodeCommand(afterLength(binaryFrame(header, Buffer.from('payload'))));
  assert.equal(decoded.code, 310);
  assert.equal(decoded.language, 'GO');
  assert.equal(decoded.version, 317);
  assert.equal(decoded.opaque, -5);
  assert.equal(decoded.flag, 2);
  assert.equal(decoded.remark, 'rémark');
  assert.deepEqual({ ...decoded.extFields }, { a: 'group', b: 'Topic中', empty: '' });
  assert.equal(decoded.body?.toString(), 'payload');

  const bare = decodeCommand(afterLength(binaryFrame(binaryHeader({ code: 0, language: 99, version: 0, opaque: 1, flag: 1 }))));
  assert.equal(bare.language, 'OTHER', 'an unknown language index is not fatal');
  assert.equal(bare.remark, undefined);
  assert.equal(bare.extFields, undefined);
  assert.equal(bare.body, undefined);
});

test('__proto__ keys in extFields stay plain fields in both header forms', () => {
  const json = decodeCommand(afterLength(jsonFrame('{"code":1,"opaque":1,"extFields":{"__proto__":7,"a":"b"}}')));
  assert.equal(Object.getPrototypeOf(json.extFields), Object.prototype);
  assert.equal(Object.getOwnPropertyDescriptor(json.extFields, '__proto__')?.value, '7');
  const binary = decodeCommand(afterLength(binaryFrame(binaryHeader({ code: 1, language: 0, version: 0, opaque: 1, flag: 0, ext: [['__proto__', 'x']] }))));
  assert.equal(Object.getPrototypeOf(binary.extFields), Object.prototype);
  assert.equal(Object.getOwnPropertyDescriptor(binary.extFields, '__proto__')?.value, 'x');
});

test('malformed frames throw FRAME_MALFORMED', () => {
  assertMalformed(Buffer.alloc(3));
  const tooLongHeader = Buffer.alloc(10);
  tooLongHeader.writeInt32BE(100, 0);
  assertMalformed(tooLongHeader, /exceeds/);
  assertMalformed(afterLength(jsonFrame('{"code":1,')), /valid JSON/);
  assertMalformed(afterLength(jsonFrame('')), /valid JSON/);
  for (const text of ['[1,2]', '42', '"text"', 'null']) assertMalformed(afterLength(jsonFrame(text)), /not a JSON object/);
  assertMalformed(afterLength(jsonFrame({ opaque: 1 })), /code/);
  assertMalformed(afterLength(jsonFrame({ code: 1.5, opaque: 1 })), /code/);
  assertMalformed(afterLength(jsonFrame({ code: 1, opaque: '1' })), /opaque/);
  assertMalformed(afterLength(jsonFrame({ code: 1, opaque: 2 ** 31 })), /opaque/);
  assertMalformed(afterLength(jsonFrame({ code: 1, opaque: 1, flag: 'x' })), /flag/);
  assertMalformed(afterLength(jsonFrame({ code: 1, opaque: 1, language: 3 })), /language/);
  assertMalformed(afterLength(jsonFrame({ code: 1, opaque: 1, remark: 3 })), /remark/);
  assertMalformed(afterLength(jsonFrame({ code: 1, opaque: 1, extFields: [] })), /extFields/);
  assertMalformed(afterLength(jsonFrame({ code: 1, opaque: 1, extFields: { a: { b: 'c' } } })), /not a scalar/);
  assertMalformed(afterLength(jsonFrame({ code: 1, opaque: 1, extFields: { a: ['x'] } })), /not a scalar/);
  assertMalformed(afterLength(jsonFrame({ code: 1, opaque: 1 }, Buffer.alloc(0), 2)), /serialize type/);

  const good = binaryHeader({ code: 1, language: 0, version: 0, opaque: 1, flag: 0, remark: 'abc', ext: [['k', 'v']] });
  assertMalformed(afterLength(binaryFrame(good.subarray(0, 20))), /shorter/);
  const remarkOverrun = Buffer.from(good);
  remarkOverrun.writeInt32BE(1000, 13);
  assertMalformed(afterLength(binaryFrame(remarkOverrun)), /remark/);
  const negativeRemark = Buffer.from(good);
  negativeRemark.writeInt32BE(-1, 13);
  assertMalformed(afterLength(binaryFrame(negativeRemark)), /remark/);
  const extOverrun = Buffer.from(good);
  extOverrun.writeInt32BE(1000, 20);
  assertMalformed(afterLength(binaryFrame(extOverrun)), /extFields length/);
  const keyOverrun = Buffer.from(good);
  keyOverrun.writeUInt16BE(500, 24);
  assertMalformed(afterLength(binaryFrame(keyOverrun)), /key length/);
  const valueOverrun = Buffer.from(good);
  valueOverrun.writeInt32BE(500, 27);
  assertMalformed(afterLength(binaryFrame(valueOverrun)), /value length/);
});

test('encoding a frame over the limit throws FRAME_TOO_LARGE', () => {
  const body = Buffer.alloc(Limits.maxFrameBytes);
  assert.throws(() => encodeCommand({ ...createRequest(310), body }), (error: unknown) => isTideError(error, 'FRAME_TOO_LARGE'));
});

function sampleStream(): { stream: Buffer; commands: RemotingCommand[] } {
  const commands: RemotingCommand[] = [
    { ...createRequest(310, { a: 'g', b: 'T' }), body: Buffer.from('first body') },
    createRequest(34),
    { ...createRequest(11, { queueId: '1' }), remark: 'ümlaut', body: Buffer.alloc(300, 7) },
  ];
  return { stream: Buffer.concat(commands.map((command) => encodeCommand(command))), commands };
}

function drain(decoder: FrameDecoder): RemotingCommand[] {
  return [...decoder.frames()].map((frame) => decodeCommand(frame));
}

function assertSameCommands(actual: RemotingCommand[], expected: RemotingCommand[]): void {
  assert.equal(actual.length, expected.length);
  for (let index = 0; index < expected.length; index++) {
    const want = expected[index] as RemotingCommand;
    const got = actual[index] as RemotingCommand;
    assert.equal(got.code, want.code);
    assert.equal(got.opaque, want.opaque);
    assert.equal(got.remark, want.remark);
    assert.deepEqual({ ...got.extFields }, { ...want.extFields });
    assert.deepEqual(got.body, want.body);
  }
}

test('FrameDecoder returns many frames from one chunk as views without copying', () => {
  const { stream, commands } = sampleStream();
  const decoder = new FrameDecoder();
  decoder.push(stream);
  const frames = [...decoder.frames()];
  assert.equal(frames.length, 3);
  for (const frame of frames) assert.equal(frame.buffer, stream.buffer, 'a frame inside one chunk is a view');
  assertSameCommands(frames.map((frame) => decodeCommand(frame)), commands);
  assert.equal(decoder.bufferedBytes, 0);
  assert.equal(decoder.next(), null);
});

test('FrameDecoder reassembles frames split at every byte boundary', () => {
  const { stream, commands } = sampleStream();
  for (let cut = 1; cut < stream.length; cut++) {
    const decoder = new FrameDecoder();
    decoder.push(stream.subarray(0, cut));
    const got = drain(decoder);
    decoder.push(stream.subarray(cut));
    got.push(...drain(decoder));
    assertSameCommands(got, commands);
    assert.equal(decoder.bufferedBytes, 0);
  }
});

test('FrameDecoder reassembles a stream fed one byte at a time and in three uneven pieces', () => {
  const { stream, commands } = sampleStream();
  const dripped = new FrameDecoder();
  const got: RemotingCommand[] = [];
  for (let index = 0; index < stream.length; index++) {
    dripped.push(stream.subarray(index, index + 1));
    got.push(...drain(dripped));
  }
  assertSameCommands(got, commands);

  for (let first = 1; first < stream.length; first += 7) {
    for (let second = first + 1; second < stream.length; second += 13) {
      const decoder = new FrameDecoder();
      const pieces: RemotingCommand[] = [];
      for (const piece of [stream.subarray(0, first), stream.subarray(first, second), stream.subarray(second)]) {
        decoder.push(piece);
        pieces.push(...drain(decoder));
      }
      assertSameCommands(pieces, commands);
    }
  }
});

test('FrameDecoder keeps a large frame intact when it arrives in tiny and large chunks mixed', () => {
  const body = Buffer.alloc(200_000);
  for (let index = 0; index < body.length; index++) body[index] = (index * 31) & 0xff;
  const command = { ...createRequest(310, { b: 'T' }), body };
  const stream = Buffer.concat([encodeCommand(command), encodeCommand(createRequest(34))]);
  const decoder = new FrameDecoder();
  const got: RemotingCommand[] = [];
  let position = 0;
  let step = 0;
  while (position < stream.length) {
    const size = step++ % 5 === 0 ? 4096 : 1 + (step % 17);
    decoder.push(stream.subarray(position, position + size));
    position += size;
    got.push(...drain(decoder));
  }
  assert.equal(got.length, 2);
  assert.deepEqual(got[0]?.body, body);
  assert.equal(got[1]?.code, 34);
});

test('FrameDecoder refuses a huge or tiny declared length from its 4 bytes alone, and stays failed', () => {
  const huge = new FrameDecoder();
  const prefix = Buffer.alloc(4);
  prefix.writeUInt32BE(1024 * 1024 * 1024);
  huge.push(prefix);
  assert.throws(() => huge.next(), (error: unknown) => isTideError(error, 'FRAME_TOO_LARGE'));
  huge.push(Buffer.alloc(100));
  assert.throws(() => huge.next(), (error: unknown) => isTideError(error, 'FRAME_TOO_LARGE'));

  const negative = new FrameDecoder();
  negative.push(Buffer.from([0xff, 0xff]));
  assert.equal(negative.next(), null);
  negative.push(Buffer.from([0xff, 0xfe]));
  assert.throws(() => negative.next(), (error: unknown) => isTideError(error, 'FRAME_TOO_LARGE'));

  const tiny = new FrameDecoder();
  tiny.push(Buffer.from([0, 0, 0, 3, 1, 2, 3]));
  assert.throws(() => tiny.next(), (error: unknown) => isTideError(error, 'FRAME_MALFORMED'));

  const limited = new FrameDecoder(1000);
  const frame = encodeCommand({ ...createRequest(1), body: Buffer.alloc(2000) });
  limited.push(frame.subarray(0, 6));
  assert.throws(() => limited.next(), (error: unknown) => isTideError(error, 'FRAME_TOO_LARGE'));
});
