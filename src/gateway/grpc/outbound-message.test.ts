// Proves a stored record becomes the gRPC Message clients check: ids, user vs system properties, type, digest of the delivered body, and inflated zlib bodies.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { deflateSync, gzipSync } from 'node:zlib';
import { encodeProperties } from '../../protocol/message-properties.js';
import { decodeRecord, encodeRecord } from '../../protocol/message-record.js';
import { md5Hex, toMessagePb } from './outbound-message.js';
import { DigestType, Encoding, MessageType } from './proto-types.js';

function record(properties: Record<string, string>, body: Buffer, sysFlag = 0) {
  const bytes = encodeRecord({
    topic: 'T', queueId: 2, flag: 0, sysFlag, bornTimestamp: 1_700_000_000_123,
    bornHost: { ip: Buffer.from([10, 0, 0, 1]), port: 4000 }, storeHost: { ip: Buffer.from([10, 0, 0, 2]), port: 10911 },
    reconsumeTimes: 2, preparedTransactionOffset: 0, body, properties: encodeProperties(properties),
  }, 7, 4096, 1_700_000_000_999);
  return decodeRecord(bytes)!;
}

const OPTIONS = { maxInflatedBodyBytes: 1 << 20 };

test('ids, properties, type, times, hosts and attempt', () => {
  const message = toMessagePb({
    record: record({ UNIQ_KEY: 'U1', TAGS: 'A', KEYS: 'k1 k2', color: 'red', __SHARDINGKEY: 'g', MSG_REGION: 'r', CLUSTER: 'c', PGROUP: 'T', TRACE_CONTEXT: 'tc' }, Buffer.from('hi')),
    topic: 'T', queueId: 2, queueOffset: 7, reconsumeTimes: 2, receiptHandle: 'H',
  }, OPTIONS);
  const system = message.system_properties;
  assert.deepEqual(message.user_properties, { color: 'red' });
  assert.equal(system.message_id, 'U1');
  assert.equal(system.tag, 'A');
  assert.deepEqual(system.keys, ['k1', 'k2']);
  assert.equal(system.message_type, MessageType.FIFO);
  assert.equal(system.message_group, 'g');
  assert.equal(system.trace_context, 'tc');
  assert.equal(system.receipt_handle, 'H');
  assert.equal(system.delivery_attempt, 3);
  assert.equal(system.queue_offset, 7);
  assert.deepEqual(system.born_timestamp, { seconds: 1_700_000_000, nanos: 123_000_000 });
  assert.equal(system.born_host, '10.0.0.1:4000');
  assert.equal(system.store_host, '10.0.0.2:10911');
  assert.deepEqual(system.body_digest, { type: DigestType.MD5, checksum: createHash('md5').update('hi').digest('hex').toUpperCase() });
});

test('without UNIQ_KEY the id is the offsetMsgId; DLQ origin and delivery time come along', () => {
  const message = toMessagePb({
    record: record({ TIMER_DELIVER_MS: '1700000005000', DLQ_ORIGIN_TOPIC: 'Orig', DLQ_ORIGIN_MESSAGE_ID: 'M0' }, Buffer.from('x')),
    topic: '%DLQ%G', queueId: 0, queueOffset: 0, reconsumeTimes: 0,
  }, OPTIONS);
  assert.equal(message.system_properties.message_id, '0A00000200002A9F0000000000001000');
  assert.equal(message.system_properties.message_type, MessageType.DELAY);
  assert.deepEqual(message.system_properties.delivery_timestamp, { seconds: 1_700_000_005, nanos: 0 });
  assert.deepEqual(message.system_properties.dead_letter_queue, { topic: 'Orig', message_id: 'M0' });
  assert.equal(message.topic.name, '%DLQ%G');
});

test('compressed bodies: gzip goes out as GZIP, zlib is inflated, digests match what is sent', () => {
  const gzip = toMessagePb({ record: record({}, gzipSync(Buffer.from('zipped')), 0x1), topic: 'T', queueId: 0, queueOffset: 0, reconsumeTimes: 0 }, OPTIONS);
  assert.equal(gzip.system_properties.body_encoding, Encoding.GZIP);
  assert.equal(gzip.system_properties.body_digest!.checksum, md5Hex(gzip.body));
  const zlib = toMessagePb({ record: record({}, deflateSync(Buffer.from('deflated')), 0x1 | 0x300), topic: 'T', queueId: 0, queueOffset: 0, reconsumeTimes: 0 }, OPTIONS);
  assert.equal(zlib.system_properties.body_encoding, Encoding.IDENTITY);
  assert.equal(zlib.body.toString(), 'deflated');
  assert.equal(zlib.system_properties.body_digest!.checksum, md5Hex(Buffer.from('deflated')));
  const bomb = toMessagePb({ record: record({}, deflateSync(Buffer.alloc(1 << 21)), 0x1), topic: 'T', queueId: 0, queueOffset: 0, reconsumeTimes: 0 }, OPTIONS);
  assert.ok(bomb.body.length < 1 << 20, 'an over-large inflation is not performed');
});
