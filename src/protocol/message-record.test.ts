// Proves the commit-log record codec round-trips every field in both magic versions and both host forms.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseHostAddress } from './host-address.js';
import { checkRecord, decodeRecord, encodeRecord, MAGIC_V1, MAGIC_V2, SysFlag, type MessageRecordInput } from './message-record.js';
import { decodeProperties, encodeProperties, getProperty, indexKeysOf } from './message-properties.js';
import { createOffsetMessageId, decodeOffsetMessageId } from './message-id.js';

function input(overrides: Partial<MessageRecordInput> = {}): MessageRecordInput {
  return {
    topic: 'TopicTest',
    queueId: 3,
    flag: 7,
    sysFlag: SysFlag.COMPRESSED,
    bornTimestamp: 1_700_000_000_123,
    bornHost: parseHostAddress('10.0.0.5', 50123),
    storeHost: parseHostAddress('192.168.1.2', 10911),
    reconsumeTimes: 2,
    preparedTransactionOffset: 0,
    body: Buffer.from('hello world'),
    properties: encodeProperties({ TAGS: 'TagA', KEYS: 'k1 k2', UNIQ_KEY: 'ABC' }),
    ...overrides,
  };
}

test('V1 record round trip keeps every field', () => {
  const source = input();
  const bytes = encodeRecord(source, 42, 2 ** 40 + 17, 1_700_000_000_999);
  assert.equal(bytes.readInt32BE(4), MAGIC_V1);
  const decoded = decodeRecord(bytes);
  assert.ok(decoded);
  assert.equal(decoded.totalSize, bytes.length);
  assert.equal(decoded.topic, 'TopicTest');
  assert.equal(decoded.queueId, 3);
  assert.equal(decoded.flag, 7);
  assert.equal(decoded.queueOffset, 42);
  assert.equal(decoded.physicalOffset, 2 ** 40 + 17);
  assert.equal(decoded.sysFlag, SysFlag.COMPRESSED);
  assert.equal(decoded.bornTimestamp, 1_700_000_000_123);
  assert.equal(decoded.storeTimestamp, 1_700_000_000_999);
  assert.deepEqual([...decoded.bornHost.ip], [10, 0, 0, 5]);
  assert.equal(decoded.bornHost.port, 50123);
  assert.deepEqual([...decoded.storeHost.ip], [192, 168, 1, 2]);
  assert.equal(decoded.reconsumeTimes, 2);
  assert.equal(decoded.body.toString(), 'hello world');
  assert.equal(decodeProperties(decoded.properties).get('KEYS'), 'k1 k2');
  assert.deepEqual(checkRecord(bytes, 0, bytes.length, true), { kind: 'record', size: bytes.length });
});

test('V2 magic for topics over 127 bytes and IPv6 hosts', () => {
  const topic = `%RETRY%${'g'.repeat(200)}`;
  const bytes = encodeRecord(input({ topic, bornHost: parseHostAddress('::1', 1), storeHost: parseHostAddress('fe80::1:2', 10911) }), 0, 0, 5);
  assert.equal(bytes.readInt32BE(4), MAGIC_V2);
  const decoded = decodeRecord(bytes);
  assert.ok(decoded);
  assert.equal(decoded.topic, topic);
  assert.equal(decoded.sysFlag & SysFlag.BORNHOST_V6, SysFlag.BORNHOST_V6);
  assert.equal(decoded.sysFlag & SysFlag.STOREHOST_V6, SysFlag.STOREHOST_V6);
  assert.equal(decoded.bornHost.ip.length, 16);
  assert.equal(decoded.storeHost.ip.readUInt16BE(0), 0xfe80);
  assert.equal(decoded.storeTimestamp, 5);
  assert.equal(decoded.body.toString(), 'hello world');
});

test('a flipped body byte fails the CRC check; a truncated record is corrupt', () => {
  const bytes = encodeRecord(input(), 0, 0, 1);
  const bodyAt = bytes.indexOf('hello');
  bytes[bodyAt] ^= 0xff;
  assert.equal(checkRecord(bytes, 0, bytes.length, true).kind, 'corrupt');
  assert.equal(checkRecord(bytes, 0, bytes.length, false).kind, 'record');
  assert.equal(checkRecord(bytes, 0, bytes.length - 3, false).kind, 'corrupt');
  assert.equal(checkRecord(Buffer.alloc(64), 0, 64, true).kind, 'end');
});

test('properties helpers and offset message ids', () => {
  const encoded = encodeProperties({ KEYS: 'a b', XKEYS: 'no', UNIQ_KEY: 'U1' });
  assert.equal(getProperty(encoded, 'KEYS'), 'a b');
  assert.equal(getProperty(encoded, 'EYS'), undefined);
  assert.deepEqual(indexKeysOf(encoded), ['a', 'b', 'U1']);
  const id = createOffsetMessageId(parseHostAddress('127.0.0.1', 10911), 123456789012);
  assert.equal(id.length, 32);
  assert.equal(id, id.toUpperCase());
  const back = decodeOffsetMessageId(id);
  assert.ok(back);
  assert.equal(back.physicalOffset, 123456789012);
  assert.equal(back.host.port, 10911);
  assert.equal(decodeOffsetMessageId('../../etc'), null);
});

test('writeRecord writes non-ASCII, short ASCII and long ASCII strings, negative fields and large offsets exactly', async () => {
  const { prepareRecord, writeRecord } = await import('./message-record.js');
  const cases: Partial<MessageRecordInput>[] = [
    { properties: encodeProperties({ TAGS: 'é😀', KEYS: 'ключ' }) },
    { properties: encodeProperties({ A: 'b' }) },
    { properties: encodeProperties({ TAGS: 'x'.repeat(300), UNIQ_KEY: 'y'.repeat(32) }) },
    { properties: '' },
    { topic: `T${'ü'.repeat(100)}`, flag: -1, reconsumeTimes: 2 ** 31 - 1, preparedTransactionOffset: 2 ** 52 + 3 },
  ];
  for (const overrides of cases) {
    const source = input(overrides);
    const prepared = prepareRecord(source);
    const target = Buffer.alloc(prepared.size + 10, 0xee);
    assert.equal(writeRecord(prepared, target, 5, 2 ** 45 + 1, 2 ** 50 + 7, 1_700_000_000_999), prepared.size);
    assert.equal(target[4], 0xee);
    assert.equal(target[5 + prepared.size], 0xee);
    const decoded = decodeRecord(target.subarray(5, 5 + prepared.size));
    assert.ok(decoded);
    assert.equal(decoded.topic, source.topic);
    assert.equal(decoded.properties, source.properties);
    assert.equal(decoded.flag, source.flag);
    assert.equal(decoded.reconsumeTimes, source.reconsumeTimes);
    assert.equal(decoded.preparedTransactionOffset, source.preparedTransactionOffset);
    assert.equal(decoded.queueOffset, 2 ** 45 + 1);
    assert.equal(decoded.physicalOffset, 2 ** 50 + 7);
    assert.equal(decoded.body.toString(), 'hello world');
    assert.throws(() => writeRecord(prepared, target, 11, 0, 0, 0), RangeError);
  }
});
