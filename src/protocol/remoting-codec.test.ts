// Proves the remoting codec round-trips JSON frames, reads hand-built binary and ali-ons-style headers, rejects malformed frames with TideError, that its JSON fast paths take the headers real clients send and agree with the general paths, and that FrameDecoder reassembles frames however the stream is cut.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isTideError } from '../common/errors.js';
import { Limits } from '../common/limits.js';
import { FrameDecoder, decodeCommand, encodeCommand, encodeCommandAs, encodeCommandViaString, parseJsonHeader, scanJsonHeader } from './remoting-codec.js';
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

/** The command through the scanner (undefined if it declines) and through JSON.parse, for one JSON header text. */
function bothDecoders(headerText: string): { scanned: RemotingCommand | undefined; parsed: RemotingCommand } {
  const frame = afterLength(jsonFrame(headerText));
  const end = frame.length;
  return { scanned: scanJsonHeader(frame, 4, end), parsed: parseJsonHeader(frame, 4, end) };
}

/** Field order, extFields key order and prototype included: what deepEqual alone does not check. */
function assertIdentical(actual: RemotingCommand, expected: RemotingCommand): void {
  assert.deepEqual(Object.keys(actual), Object.keys(expected));
  assert.deepStrictEqual(actual, expected);
  if (expected.extFields !== undefined) {
    assert.deepEqual(Object.keys(actual.extFields ?? {}), Object.keys(expected.extFields));
    assert.equal(Object.getPrototypeOf(actual.extFields), Object.getPrototypeOf(expected.extFields));
  }
}

const SEND_PROPERTIES = 'KEYS\u0001order-42\u0002UNIQ_KEY\u00017F0000011A2B18B4AAC2595A1B2C0000\u0002WAIT\u0001true\u0002TAGS\u0001TagA\u0002';

test('the header scanner takes the SEND_MESSAGE_V2 headers of ali-ons, the Java client and TideMQ, and agrees with JSON.parse', () => {
  const aliOns = JSON.stringify({
    code: 310,
    language: 'JAVA',
    opaque: 9,
    flag: 0,
    version: 121,
    extFields: { a: 'group', b: 'Topic', c: 'TBW102', d: 4, e: 3, f: 0, g: 1700000000123, h: 0, i: SEND_PROPERTIES, j: 0, k: false },
  });
  const javaFields = { a: 'group', b: 'Topic', c: 'TBW102', d: '4', e: '3', f: '0', g: '1700000000123', h: '0', i: SEND_PROPERTIES, j: '0', k: 'false', l: '16', m: 'false', n: 'broker-a' };
  const java = `{"code":310,"extFields":${JSON.stringify(javaFields)},"flag":0,"language":"JAVA","opaque":9,"serializeTypeCurrentRPC":"JSON","version":479}`;
  const tideFrame = encodeCommand({ ...createRequest(310, javaFields), opaque: 9 });
  const tide = tideFrame.toString('latin1', 8);
  const pull = '{"code":11,"extFields":{"commitOffset":"0","consumerGroup":"cg","maxMsgNums":"32","queueId":"1","queueOffset":"-1","subscription":"*","suspendTimeoutMillis":"15000","sysFlag":"3","topic":"T"},"flag":0,"language":"JAVA","opaque":-7,"remark":null,"serializeTypeCurrentRPC":"JSON","version":479}';
  for (const text of [aliOns, java, tide, pull]) {
    const { scanned, parsed } = bothDecoders(text);
    assert.ok(scanned !== undefined, `scanner declined ${text}`);
    assertIdentical(scanned, parsed);
  }
  const ali = bothDecoders(aliOns).scanned as RemotingCommand;
  assert.equal(ali.extFields?.i, SEND_PROPERTIES);
  assert.equal(ali.extFields?.g, '1700000000123');
  assert.equal(ali.extFields?.k, 'false');
  assert.equal(ali.version, 121);
  assert.equal((bothDecoders(pull).scanned as RemotingCommand).opaque, -7);
});

test('the header scanner unescapes every JSON escape itself and agrees with JSON.parse', () => {
  const text = '{"code":1,"opaque":2,"language":"J\\u0041VA","remark":"q\\" b\\\\ s\\/ \\b\\f\\n\\r\\t \\u00e9\\u00FF \\u0000","extFields":{"k":"\\u0001x\\u0002","e":""}}';
  const { scanned, parsed } = bothDecoders(text);
  assert.ok(scanned !== undefined);
  assertIdentical(scanned, parsed);
  assert.equal(scanned.language, 'JAVA');
  assert.equal(scanned.remark, 'q" b\\ s/ \b\f\n\r\t éÿ \u0000');
  assert.equal(scanned.extFields?.k, '\u0001x\u0002');
});

test('the header scanner hands unusual headers to JSON.parse, which decodes them or rejects them the same way', () => {
  const declined = [
    '{ "code":1,"opaque":2}', // whitespace
    '{"code":1,"opaque":2,"remark":"ümlaut"}', // UTF-8 bytes
    '{"code":1,"opaque":2,"remark":"\\u4e2d"}', // an escape beyond latin1
    '{"code":1,"opaque":2,"remark":"\\ud83d\\ude00"}', // a surrogate pair
    '{"code":1,"opaque":2,"extFields":{"a":null,"b":"1","a":"2"}}', // null, then the key again
    '{"code":1,"opaque":2,"extFields":{"k\\u0031":"v"}}', // an escaped key
    '{"code":1,"opaque":2,"extFields":{"__proto__":"x"}}',
    '{"code":1,"opaque":2,"extFields":{"n":1.5,"m":1e3}}', // fractions and exponents
    '{"code":1,"opaque":2,"extFields":{"big":12345678901234567}}', // beyond 15 digits
    '{"code":1,"opaque":2,"extFields":{"z":-0}}',
    '{"code":1.0,"opaque":2}',
    '{"code":-0,"opaque":2}',
    '{"code":1,"opaque":2,"extFields":{"a":"1"},"extFields":{"b":"2"}}',
    '{"code":1,"opaque":2,"extra":{"nested":[1]}}',
    '{"code":1,"opaque":2,"flag":null,"version":null,"language":null}',
    '{"code":1,"opaque":2,"extFields":null}',
  ];
  for (const text of declined) {
    const { scanned, parsed } = bothDecoders(text);
    assert.equal(scanned, undefined, `scanner took ${text}`);
    assertIdentical(decodeCommand(afterLength(jsonFrame(text))), parsed);
  }
  const rejected = [
    '{"code":1,"opaque":2', // cut short
    '{"code":1,"opaque":2,}',
    '{"code":01,"opaque":2}',
    '{"code":1,"opaque":2147483648}',
    '{"code":1,"opaque":"2"}',
    '{"opaque":2}',
    '{"code":1,"opaque":2,"remark":"raw \u0001 control"}',
    '{"code":1,"opaque":2,"remark":"bad \\x escape"}',
    '{"code":1,"opaque":2,"remark":"\\u12"}',
    '{"code":1,"opaque":2,"extFields":{"a":{}}}',
    '{"code":1,"opaque":2} trailing',
    '{"code":1,"opaque":2}}',
    '{}',
  ];
  for (const text of rejected) {
    const frame = afterLength(jsonFrame(text));
    assert.equal(scanJsonHeader(frame, 4, frame.length), undefined, `scanner took ${text}`);
    let expected: unknown;
    assert.throws(() => parseJsonHeader(frame, 4, frame.length), (error: unknown) => ((expected = error), isTideError(error, 'FRAME_MALFORMED')));
    assert.throws(() => decodeCommand(frame), (error: unknown) => isTideError(error, 'FRAME_MALFORMED') && error.message === (expected as Error).message);
  }
});

test('the scanner never reads a string past its header into the body', () => {
  // The body continues what would be an unterminated string or number in the header.
  for (const [header, body] of [
    ['{"code":1,"opaque":2,"remark":"abc}', 'def"}'],
    ['{"code":1,"opaque":2,"remark":"a\\u0001}', 'b"}'],
    ['{"code":1,"opaque":2,"version":1}', '2}'],
    ['{"code":1,"opaque":2,"remark":nu}', 'll}'],
  ] as const) {
    const frame = afterLength(jsonFrame(header, Buffer.from(body)));
    const end = 4 + Buffer.byteLength(header);
    const scanned = scanJsonHeader(frame, 4, end);
    if (scanned !== undefined) assertIdentical(scanned, parseJsonHeader(frame, 4, end));
    else assert.throws(() => parseJsonHeader(frame, 4, end), (error: unknown) => isTideError(error, 'FRAME_MALFORMED'));
  }
});

test('the byte-writing encoder produces exactly the string encoder bytes, escapes included, and falls back for non-ASCII', () => {
  const commands: RemotingCommand[] = [
    { code: 0, language: 'JAVA', version: 479, opaque: 5, flag: 1, extFields: { msgId: '0A0000010000A8B0000000000001E240', queueId: '3', queueOffset: '123456', MSG_REGION: 'DefaultRegion', TRACE_ON: 'true' } },
    { code: -2147483648, language: 'GO', version: 2147483647, opaque: -1, flag: 0, remark: 'ctl \u0000\u0001\u001f\b\t\n\f\r "q" \\ / \u007f', extFields: { [SEND_PROPERTIES]: SEND_PROPERTIES } },
    { code: 1, language: 'JAVA', version: 0, opaque: 0, flag: 0, remark: 'ünïcödé', extFields: { a: 'b' } },
    { code: 1, language: 'JAVA', version: 0, opaque: 0, flag: 0, remark: 'lone \ud800', extFields: {} },
    { code: 1, language: 'x'.repeat(20_000), version: 0, opaque: 0, flag: 0, remark: null as unknown as undefined, extFields: null as unknown as undefined },
    { ...createRequest(310, { a: 'g' }), body: Buffer.from('body bytes') },
  ];
  for (const command of commands) {
    const fast = encodeCommandAs(command, command.opaque, command.flag);
    assert.deepEqual(fast, encodeCommandViaString(command, command.opaque, command.flag));
    const decoded = decodeCommand(afterLength(fast));
    assert.equal(decoded.remark, command.remark ?? undefined);
    assert.equal(decoded.language, command.language);
  }
});

test('the encoder reuses the start of the last header only while code, language and version stay the same', () => {
  const answer: RemotingCommand = { code: 0, language: 'JAVA', version: 479, opaque: 1, flag: 1, extFields: { queueId: '1' } };
  const others: RemotingCommand[] = [
    { ...answer, code: 12345, language: 'ümlaut' }, // fails after rewriting the start: the string path takes it
    { ...answer, version: 7 },
    { ...answer, language: 'GO' },
    { ...answer, code: -3 },
  ];
  for (const other of others) {
    for (const command of [answer, answer, other, other, answer]) {
      assert.deepEqual(encodeCommandAs(command, 42, 1), encodeCommandViaString(command, 42, 1));
    }
  }
});

test('an extFields value whose toString encodes another command does not disturb the frame being written', () => {
  const inner: RemotingCommand = { code: 7, language: 'JAVA', version: 1, opaque: 3, flag: 0, extFields: { x: 'inner' } };
  let innerFrame: Buffer | undefined;
  const sneaky = { toString: () => ((innerFrame = encodeCommand(inner)), 'sneaky') };
  const outer = { code: 9, language: 'JAVA', version: 2, opaque: 4, flag: 0, extFields: { a: 'first', b: sneaky, c: 'last' } } as unknown as RemotingCommand;
  const frame = encodeCommand(outer);
  assert.deepEqual({ ...decodeCommand(afterLength(frame)).extFields }, { a: 'first', b: 'sneaky', c: 'last' });
  assert.deepEqual({ ...decodeCommand(afterLength(innerFrame as Buffer)).extFields }, { x: 'inner' });
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
