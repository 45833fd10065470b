// Proves the producer against a real `tidemq start`: send results (ids, queue, offset, status), many sends in flight on one connection, oneway, batches with consecutive offsets, ordered sends by sharding key and by selector, delay levels, delivery times and transactions where the broker supports them, zlib compression that consumers undo, and the tidemq:client:send diagnostics events.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import diagnosticsChannel from 'node:diagnostics_channel';
import { Admin, DiagnosticsChannelName, MQClientError, Producer, type MessageQueue } from '../../src/client/index.js';
import { decodeOffsetMessageId } from '../../src/protocol/message-id.js';
import { hostAddressToString } from '../../src/protocol/host-address.js';
import { SysFlag } from '../../src/protocol/message-record.js';
import { FAST_CLIENT, readMessages, startTestBroker, uniqueName, waitFor, type Standalone, SUITE_TIMEOUT_MS } from './client-test-support.js';

describe('Producer', { timeout: SUITE_TIMEOUT_MS }, () => {
  let broker: Standalone;
  let producer: Producer;
  let admin: Admin;

  before(async () => {
    broker = await startTestBroker();
    producer = new Producer({ namesrvAddr: broker.namesrvAddr, group: uniqueName('PG'), ...FAST_CLIENT });
    admin = new Admin({ namesrvAddr: broker.namesrvAddr });
  });

  after(async () => {
    await producer?.close();
    await admin?.close();
    await broker?.stop();
  });

  it('sends and reports where the message was stored', async () => {
    const topic = uniqueName('TopicSend');
    const result = await producer.send({ topic, body: 'hello', tags: 'TagA', keys: ['order-1'], properties: { color: 'blue' } });
    assert.equal(result.status, 'SEND_OK');
    assert.match(result.msgId, /^[0-9A-F]{32}$/);
    assert.equal(result.queue.topic, topic);
    assert.equal(result.queue.brokerName, 'broker-a');
    assert.equal(result.queueOffset, 0);
    const decoded = decodeOffsetMessageId(result.offsetMsgId);
    assert.ok(decoded !== null);
    assert.equal(hostAddressToString(decoded.host), broker.brokerAddr);
    const stored = await admin.viewMessage(result.offsetMsgId);
    assert.equal(stored.text(), 'hello');
    assert.equal(stored.msgId, result.msgId);
    assert.equal(stored.tags, 'TagA');
    assert.deepEqual(stored.keys, ['order-1']);
    assert.equal(stored.properties.color, 'blue');
  });

  it('keeps thousands of sends in flight on one connection', async () => {
    const topic = uniqueName('TopicMany');
    await producer.send({ topic, body: 'warm-up' });
    const results = await Promise.all(Array.from({ length: 2000 }, (_, index) => producer.send({ topic, body: `m${index}` })));
    assert.ok(results.every((result) => result.status === 'SEND_OK'));
    const byQueue = new Map<number, number[]>();
    for (const result of results) byQueue.set(result.queue.queueId, [...(byQueue.get(result.queue.queueId) ?? []), result.queueOffset]);
    assert.ok(byQueue.size > 1, 'sends are spread over queues');
    const total = [...byQueue.values()].reduce((sum, offsets) => sum + offsets.length, 0);
    assert.equal(total, 2000);
    for (const offsets of byQueue.values()) assert.equal(new Set(offsets).size, offsets.length, 'no two sends share an offset');
  });

  it('sends oneway', async () => {
    const topic = uniqueName('TopicOneway');
    const queue: MessageQueue = { topic, brokerName: 'broker-a', queueId: 0 };
    await producer.send({ topic, body: 'create' }, { queue });
    for (let index = 0; index < 50; index++) await producer.sendOneway({ topic, body: `oneway-${index}` }, { queue });
    const messages = await readMessages(broker.namesrvAddr, [queue], 51);
    assert.deepEqual(messages.slice(1).map((message) => message.text()), Array.from({ length: 50 }, (_, index) => `oneway-${index}`));
  });

  it('sends a batch with consecutive offsets', async () => {
    const topic = uniqueName('TopicBatch');
    const result = await producer.sendBatch(Array.from({ length: 10 }, (_, index) => ({ topic, body: `b${index}`, tags: 'B', keys: `key-${index}` })));
    assert.equal(result.status, 'SEND_OK');
    assert.equal(result.msgIds.length, 10);
    assert.equal(result.offsetMsgIds.length, 10);
    assert.equal(result.msgId, result.msgIds.join(','));
    const messages = await readMessages(broker.namesrvAddr, [result.queue], 10);
    assert.deepEqual(messages.map((message) => message.queueOffset), Array.from({ length: 10 }, (_, index) => result.queueOffset + index));
    assert.deepEqual(messages.map((message) => message.text()), Array.from({ length: 10 }, (_, index) => `b${index}`));
    assert.deepEqual(messages.map((message) => message.msgId), result.msgIds);
    assert.equal(messages[3]!.keys[0], 'key-3');
    await assert.rejects(producer.sendBatch([{ topic, body: 'a' }, { topic: `${topic}x`, body: 'b' }]), (error: unknown) => error instanceof MQClientError && error.code === 'ILLEGAL_ARGUMENT');
  });

  it('keeps per-key order with sharding keys and selectors', async () => {
    const topic = uniqueName('TopicOrdered');
    await producer.send({ topic, body: 'create' });
    const queuesOfKey = new Map<string, Set<number>>();
    for (let index = 0; index < 40; index++) {
      const key = `order-${index % 4}`;
      const result = await producer.sendOrderly({ topic, body: `${key}:${index}` }, key);
      queuesOfKey.set(key, (queuesOfKey.get(key) ?? new Set()).add(result.queue.queueId));
    }
    for (const [key, queues] of queuesOfKey) assert.equal(queues.size, 1, `${key} always goes to one queue`);
    const selected = await producer.send({ topic, body: 'picked' }, { queueSelector: (queues) => queues[queues.length - 1]! });
    const all = await producer.queues(topic);
    assert.equal(selected.queue.queueId, all[all.length - 1]!.queueId);
    const queueIds = [...new Set([...queuesOfKey.values()].flatMap((set) => [...set]))];
    const messages = await readMessages(broker.namesrvAddr, queueIds.map((queueId) => ({ topic, brokerName: 'broker-a', queueId })), 41);
    for (let key = 0; key < 4; key++) {
      const sequence = messages.map((message) => message.text()).filter((text) => text.startsWith(`order-${key}:`)).map((text) => Number(text.split(':')[1]));
      assert.deepEqual(sequence, [...sequence].sort((left, right) => left - right), `order of order-${key}`);
      assert.equal(sequence.length, 10);
    }
  });

  it('delays by level', async () => {
    const topic = uniqueName('TopicDelay');
    const queue: MessageQueue = { topic, brokerName: 'broker-a', queueId: 0 };
    await producer.send({ topic, body: 'create' }, { queue });
    const result = await producer.send({ topic, body: 'later', delayLevel: 1 }, { queue });
    assert.equal(result.status, 'SEND_OK');
    const messages = await readMessages(broker.namesrvAddr, [queue], 2);
    const delayed = messages.find((message) => message.text() === 'later');
    assert.ok(delayed, 'the delayed message arrives on its topic');
    assert.equal(delayed.msgId, result.msgId);
    assert.ok(delayed.storeTimestamp - delayed.bornTimestamp >= 900, 'stored on the topic only after its delay');
  });

  it('delivers at a given time when the broker has timers', async (context) => {
    const topic = uniqueName('TopicTimer');
    const queue: MessageQueue = { topic, brokerName: 'broker-a', queueId: 0 };
    await producer.send({ topic, body: 'create' }, { queue });
    let result;
    try {
      result = await producer.send({ topic, body: 'timed', deliverAt: Date.now() + 1500 }, { queue });
    } catch (error) {
      if (error instanceof MQClientError && /timer/i.test(error.message)) {
        context.skip(`broker does not support delivery times (TIMER_DELIVER_MS): ${error.message}`);
        return;
      }
      throw error;
    }
    const messages = await readMessages(broker.namesrvAddr, [queue], 2);
    const timed = messages.find((message) => message.text() === 'timed');
    assert.ok(timed);
    assert.equal(timed.msgId, result.msgId);
  });

  it('compresses large bodies and consumers get them back', async () => {
    const topic = uniqueName('TopicZip');
    const queue: MessageQueue = { topic, brokerName: 'broker-a', queueId: 0 };
    const body = Buffer.from('compressible payload '.repeat(3000));
    await producer.send({ topic, body }, { queue });
    await producer.send({ topic, body: Buffer.alloc(100, 0x41) }, { queue });
    const [large, small] = await readMessages(broker.namesrvAddr, [queue], 2);
    assert.ok(large && small);
    assert.ok((large.sysFlag & SysFlag.COMPRESSED) !== 0, 'stored compressed');
    assert.deepEqual(large.body, body);
    assert.equal(small.sysFlag & SysFlag.COMPRESSED, 0);
    const stats = await admin.viewMessage(large.offsetMsgId);
    assert.deepEqual(stats.body, body);
  });

  it('runs transactions when the broker supports them', async (context) => {
    const topic = uniqueName('TopicTx');
    // The checker answers with each transaction's real local outcome, as an application must: a broker
    // may check any half message whose end it has not recorded yet (RocketMQ 5 writes rollback/commit
    // op records in batches, every transactionOpBatchInterval), not only the ones left UNKNOWN.
    const txProducer = new Producer({
      namesrvAddr: broker.namesrvAddr, group: uniqueName('TxGroup'), ...FAST_CLIENT,
      checkTransaction: (message) => (message.text() === 'tx-rollback' ? 'ROLLBACK' : 'COMMIT'),
    });
    try {
      await txProducer.send({ topic, body: 'create' }, { queue: { topic, brokerName: 'broker-a', queueId: 0 } });
      let committed;
      try {
        committed = await txProducer.sendInTransaction({ topic, body: 'tx-commit' }, () => 'COMMIT');
      } catch (error) {
        if (error instanceof MQClientError && error.code === 'TRANSACTION_NOT_SUPPORTED') {
          context.skip(`broker refuses transactional messages: ${error.message}`);
          return;
        }
        throw error;
      }
      assert.equal(committed.localTransactionState, 'COMMIT');
      const rolledBack = await txProducer.sendInTransaction({ topic, body: 'tx-rollback' }, () => 'ROLLBACK');
      assert.equal(rolledBack.localTransactionState, 'ROLLBACK');
      const unknown = await txProducer.sendInTransaction({ topic, body: 'tx-checked' }, () => 'UNKNOWN');
      assert.equal(unknown.localTransactionState, 'UNKNOWN');
      const queues = await txProducer.queues(topic);
      const seen = await waitFor('committed and checked transactional messages', async () => {
        const messages = await readMessages(broker.namesrvAddr, queues, 3, 3000);
        const texts = messages.map((message) => message.text());
        return texts.includes('tx-commit') && texts.includes('tx-checked') ? texts : undefined;
      }, 40_000, 500);
      assert.ok(!seen.includes('tx-rollback'));
    } finally {
      await txProducer.close();
    }
  });

  it('publishes every send on tidemq:client:send', async () => {
    const topic = uniqueName('TopicTraced');
    const events: { topic: string; messages: number; result?: { msgId: string }; error?: unknown }[] = [];
    const listener = (payload: unknown): void => {
      const event = payload as (typeof events)[number];
      if (event.topic === topic) events.push(event);
    };
    diagnosticsChannel.subscribe(DiagnosticsChannelName.SEND, listener);
    try {
      const result = await producer.send({ topic, body: 'traced' });
      await producer.sendBatch([{ topic, body: 'a' }, { topic, body: 'b' }]);
      await producer.send({ topic, body: '' }).catch(() => undefined);
      assert.equal(events.length, 3);
      assert.equal(events[0]!.result!.msgId, result.msgId);
      assert.equal(events[1]!.messages, 2);
      assert.ok(events[2]!.error instanceof MQClientError);
    } finally {
      diagnosticsChannel.unsubscribe(DiagnosticsChannelName.SEND, listener);
    }
  });

  it('rejects what it cannot send, with typed errors', async () => {
    await assert.rejects(producer.send({ topic: 'bad topic!', body: 'x' }), (error: unknown) => error instanceof MQClientError && error.code === 'TOPIC_NAME_INVALID');
    await assert.rejects(producer.send({ topic: uniqueName('T'), body: '' }), (error: unknown) => error instanceof MQClientError && error.code === 'ILLEGAL_ARGUMENT');
    await assert.rejects(producer.send({ topic: uniqueName('T'), body: Buffer.alloc(4 * 1024 * 1024 + 1) }), (error: unknown) => error instanceof MQClientError && error.code === 'MESSAGE_BODY_TOO_LARGE');
  });
});
