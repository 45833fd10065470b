// Proves the consumer's lazy record decoding agrees with the protocol's decodeRecordAt on every field a ReceivedMessage exposes (IPv4 and IPv6 hosts, V1 and V2 magic, topics other than the queue's, empty properties, retry topics), and that both refuse the same truncated or corrupted records, so a pull answer yields the same messages as before.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { hostAddressToString } from '../protocol/host-address.js';
import { createOffsetMessageId } from '../protocol/message-id.js';
import { decodeRecordAt, encodeRecord, MAGIC_V2, type MessageRecordInput } from '../protocol/message-record.js';
import { decodeMessages, decodeOneMessage, scanRecordAt } from './message-codec.js';
import type { RecordLayout } from './message.js';

const v4 = { ip: Buffer.from([10, 1, 2, 3]), port: 10911 };
const v6 = { ip: Buffer.from('20010db8000000000000000000000001', 'hex'), port: 30911 };

function input(overrides: Partial<MessageRecordInput>): MessageRecordInput {
  return {
    topic: 'TopicA',
    queueId: 3,
    flag: -7,
    sysFlag: 0,
    bornTimestamp: 1_700_000_000_123,
    bornHost: v4,
    storeHost: v4,
    reconsumeTimes: 2,
    preparedTransactionOffset: 2 ** 40 + 5,
    body: Buffer.from('body of the message'),
    properties: 'UNIQ_KEY\u0001AABBCC\u0002TAGS\u0001TagA\u0002KEYS\u0001k1 k2\u0002',
    ...overrides,
  };
}

function records(): Buffer[] {
  const inputs = [
    input({}),
    input({ bornHost: v6 }),
    input({ storeHost: v6, topic: 'Other' }),
    input({ bornHost: v6, storeHost: v6, properties: '' }),
    input({ topic: '%RETRY%group_1', properties: 'RETRY_TOPIC\u0001TopicA\u0002UNIQ_KEY\u0001X\u0002' }),
    input({ topic: 'Tópico', body: Buffer.alloc(0) }),
  ];
  const encoded = inputs.map((item, index) => encodeRecord(item, 100 + index, 2 ** 33 + index * 1000, 1_700_000_001_000 + index));
  // encodeRecord writes V1 (one-byte topic length); a V2 record (two bytes) is built from its bytes.
  const v1 = encoded[0]!;
  const topicAt = v1.length - 2 - Buffer.byteLength(inputs[0]!.properties) - Buffer.byteLength(inputs[0]!.topic) - 1;
  const topicLength = Buffer.alloc(2);
  topicLength.writeUInt16BE(v1[topicAt]!);
  const v2 = Buffer.concat([v1.subarray(0, topicAt), topicLength, v1.subarray(topicAt + 1)]);
  v2.writeInt32BE(v2.length, 0);
  v2.writeInt32BE(MAGIC_V2, 4);
  return [...encoded, v2];
}

describe('ReceivedMessage (lazy decoding)', () => {
  it('exposes what decodeRecordAt decodes', () => {
    const all = records();
    const queue = { topic: 'TopicA', brokerName: 'broker-a', queueId: 3 };
    const messages = decodeMessages(Buffer.concat(all), queue);
    assert.equal(messages.length, all.length);
    for (let index = 0; index < all.length; index++) {
      const record = decodeRecordAt(all[index]!, 0, all[index]!.length)!;
      const message = messages[index]!;
      const topic = record.topic.startsWith('%RETRY%') ? 'TopicA' : record.topic;
      assert.equal(message.topic, topic);
      assert.equal(message.queueOffset, record.queueOffset);
      assert.equal(message.commitLogOffset, record.physicalOffset);
      assert.equal(message.flag, record.flag);
      assert.equal(message.sysFlag, record.sysFlag);
      assert.equal(message.bornTimestamp, record.bornTimestamp);
      assert.equal(message.storeTimestamp, record.storeTimestamp);
      assert.equal(message.reconsumeTimes, record.reconsumeTimes);
      assert.equal(message.preparedTransactionOffset, record.preparedTransactionOffset);
      assert.deepEqual(message.body, record.body);
      assert.equal(message.rawProperties, record.properties);
      assert.equal(message.bornHost, hostAddressToString(record.bornHost));
      assert.equal(message.storeHost, hostAddressToString(record.storeHost));
      assert.equal(message.offsetMsgId, createOffsetMessageId(record.storeHost, record.physicalOffset));
      assert.equal(message.queue, queue);
    }
    assert.equal(messages[0]!.tags, 'TagA');
    assert.deepEqual(messages[0]!.keys, ['k1', 'k2']);
    assert.equal(messages[0]!.msgId, 'AABBCC');
    assert.equal(messages[0]!.topic, queue.topic, 'the queue topic string is reused');
    const one = decodeOneMessage(all[2]!, 'broker-b')!;
    assert.equal(one.topic, 'Other');
    assert.deepEqual(one.queue, { topic: 'Other', brokerName: 'broker-b', queueId: 3 });
  });

  it('refuses exactly the records decodeRecordAt refuses', () => {
    const layout: RecordLayout = { position: 0, bodyStart: 0, bodyLength: 0, topicStart: 0, topicLength: 0, propertiesStart: 0, propertiesLength: 0 };
    for (const record of records()) {
      for (let size = 0; size <= record.length + 2; size++) {
        const source = Buffer.concat([record, Buffer.alloc(2)]);
        let expected: boolean;
        try {
          expected = decodeRecordAt(source, 0, size) !== null;
        } catch {
          expected = false;
        }
        assert.equal(scanRecordAt(source, 0, size, layout), expected, `size ${size} of ${record.length}`);
      }
      // Corrupted length fields inside the record.
      for (let at = 4; at < record.length; at++) {
        const source = Buffer.from(record);
        source[at] = source[at]! ^ 0x80;
        let expected: boolean;
        try {
          expected = decodeRecordAt(source, 0, source.length) !== null;
        } catch {
          expected = false;
        }
        assert.equal(scanRecordAt(source, 0, source.length, layout), expected, `byte ${at} flipped`);
      }
    }
  });
});
