// Proves the client's wire encodings: properties strings, batch bodies (read back by the broker's own batch decoder), zlib compression of large bodies and its reversal on decode, and the restoring of the original topic of retried messages.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decodeBatchBody } from '../broker/handlers/send-message.js';
import { decodeProperties } from '../protocol/message-properties.js';
import { encodeRecord, SysFlag } from '../protocol/message-record.js';
import { CompressionFlag, decodeMessages, encodeBatchBody, encodeMessageProperties, maybeCompress } from './message-codec.js';
import { MQClientError } from './client-errors.js';

const host = { ip: Buffer.from([127, 0, 0, 1]), port: 10911 };

function record(topic: string, body: Buffer, sysFlag: number, properties: string, queueOffset: number): Buffer {
  return encodeRecord(
    { topic, queueId: 1, flag: 7, sysFlag, bornTimestamp: 1_700_000_000_000, bornHost: host, storeHost: host, reconsumeTimes: 2, preparedTransactionOffset: 0, body, properties },
    queueOffset,
    1000 + queueOffset * 500,
    1_700_000_000_500,
  );
}

describe('encodeMessageProperties', () => {
  it('writes system and user properties that decode back', () => {
    const text = encodeMessageProperties(
      { topic: 'T', body: 'x', tags: 'TagA', keys: ['k1', 'k2'], delayLevel: 3, deliverAt: 1_800_000_000_000, shardingKey: 'order-9', properties: { color: 'blue' } },
      'UNIQ1',
      'TRAN_MSG\u0001true\u0002',
    );
    assert.deepEqual(Object.fromEntries(decodeProperties(text)), {
      UNIQ_KEY: 'UNIQ1',
      WAIT: 'true',
      TAGS: 'TagA',
      KEYS: 'k1 k2',
      DELAY: '3',
      TIMER_DELIVER_MS: '1800000000000',
      __SHARDINGKEY: 'order-9',
      color: 'blue',
      TRAN_MSG: 'true',
    });
  });

  it('refuses separator characters', () => {
    assert.throws(() => encodeMessageProperties({ topic: 'T', body: 'x', tags: 'a\u0001b' }, 'U'), (error: unknown) => error instanceof MQClientError && error.code === 'ILLEGAL_ARGUMENT');
    assert.throws(() => encodeMessageProperties({ topic: 'T', body: 'x', properties: { 'k\u0002': 'v' } }, 'U'), MQClientError);
  });
});

describe('encodeBatchBody', () => {
  it('produces what the broker’s batch decoder reads', () => {
    const entries = [
      { body: Buffer.from('first'), flag: 1, properties: encodeMessageProperties({ topic: 'T', body: 'first', tags: 'A' }, 'U1') },
      { body: Buffer.alloc(3000, 0x61), flag: 2, properties: encodeMessageProperties({ topic: 'T', body: 'x', keys: 'ünïcode' }, 'U2') },
    ];
    const decoded = decodeBatchBody(encodeBatchBody(entries));
    assert.equal(decoded.length, 2);
    assert.equal(decoded[0]!.body.toString(), 'first');
    assert.equal(decoded[0]!.flag, 1);
    assert.equal(decodeProperties(decoded[0]!.properties).get('TAGS'), 'A');
    assert.equal(decoded[1]!.body.length, 3000);
    assert.equal(decodeProperties(decoded[1]!.properties).get('KEYS'), 'ünïcode');
  });
});

describe('compression', () => {
  it('deflates bodies from the threshold on and decode inflates them', () => {
    const small = maybeCompress(Buffer.alloc(4095, 0x41), 4096, 5);
    assert.equal(small.sysFlag, 0);
    const original = Buffer.from('hello compressed world '.repeat(400));
    const compressed = maybeCompress(original, 4096, 5);
    assert.equal(compressed.sysFlag, SysFlag.COMPRESSED | CompressionFlag.ZLIB);
    assert.ok(compressed.body.length < original.length);
    const bytes = Buffer.concat([
      record('T', compressed.body, compressed.sysFlag, 'UNIQ_KEY\u0001AB\u0002TAGS\u0001Z\u0002', 5),
      record('T', Buffer.from('plain'), 0, 'UNIQ_KEY\u0001CD\u0002', 6),
    ]);
    const messages = decodeMessages(bytes, { topic: 'T', brokerName: 'b', queueId: 1 });
    assert.equal(messages.length, 2);
    assert.deepEqual(messages[0]!.body, original);
    assert.equal(messages[0]!.tags, 'Z');
    assert.equal(messages[0]!.msgId, 'AB');
    assert.equal(messages[0]!.queueOffset, 5);
    assert.equal(messages[0]!.reconsumeTimes, 2);
    assert.equal(messages[1]!.text(), 'plain');
    assert.equal(messages[1]!.offsetMsgId, '7F00000100002A9F0000000000000FA0');
  });

  it('keeps incompressible bodies raw', () => {
    const random = Buffer.alloc(8192);
    for (let index = 0; index < random.length; index++) random[index] = (index * 2654435761) >>> 24;
    const result = maybeCompress(random, 4096, 5);
    if (result.sysFlag === 0) assert.equal(result.body, random);
  });
});

describe('retried messages', () => {
  it('come back under their original topic', () => {
    const bytes = record('%RETRY%G', Buffer.from('again'), 0, 'RETRY_TOPIC\u0001Orders\u0002UNIQ_KEY\u0001X\u0002', 0);
    const [message] = decodeMessages(bytes, { topic: '%RETRY%G', brokerName: 'b', queueId: 0 });
    assert.equal(message!.topic, 'Orders');
    assert.equal(message!.queue.topic, '%RETRY%G');
  });
});
