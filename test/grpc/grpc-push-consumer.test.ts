// Proves the official Node PushConsumer against the gateway: successes are acked once, failures are redelivered with a rising attempt count and, after the group's maximum attempts, end in %DLQ%group.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ConsumeResult, Producer, PushConsumer, type MessageView } from 'rocketmq-client-nodejs';
import { newSubscriptionGroupConfig } from '../../src/broker/subscription-group-manager.js';
import { decodeProperties } from '../../src/protocol/message-properties.js';
import { decodeRecord } from '../../src/protocol/message-record.js';
import { clientLogger, createTopic, eventually, sleep, startTestBed, type GrpcTestBed } from './grpc-test-support.js';

let bed: GrpcTestBed;
const clients: Array<{ shutdown(): Promise<void> }> = [];

before(async () => {
  bed = await startTestBed();
});

after(async () => {
  for (const client of clients.reverse()) await client.shutdown().catch(() => {});
  await bed.close();
});

function deadLetters(group: string): Array<{ uniqueKey: string; body: string; reconsumeTimes: number }> {
  const topic = `%DLQ%${group}`;
  if (!bed.deps.topicConfigManager.get(topic)) return [];
  const result = bed.deps.store.getMessages(topic, 0, 0, 32, 1 << 20);
  return result.records.map((bytes) => {
    const record = decodeRecord(bytes)!;
    return { uniqueKey: decodeProperties(record.properties).get('UNIQ_KEY') ?? '', body: record.body.toString(), reconsumeTimes: record.reconsumeTimes };
  });
}

test('failed messages are retried up to the maximum attempts, then go to the DLQ; the others are consumed once', async () => {
  const topic = 'PushTopic';
  const group = 'PushGroup';
  createTopic(bed.deps, topic);
  // Two retries: three deliveries in all (Settings tell the client max_attempts = retryMaxTimes + 1).
  bed.deps.subscriptionGroupManager.update(newSubscriptionGroupConfig(group, { retryMaxTimes: 2 }));
  // Start the group at the beginning of each queue, as an admin offset reset would.
  for (let queueId = 0; queueId < 4; queueId++) bed.deps.consumerOffsetManager.commitOffset(group, topic, queueId, 0);

  const attempts = new Map<string, number[]>();
  const consumer = new PushConsumer({
    endpoints: bed.endpoints,
    namespace: '',
    consumerGroup: group,
    subscriptions: new Map([[topic, '*']]),
    logger: clientLogger,
    messageListener: {
      consume(message: MessageView) {
        const body = message.body.toString();
        attempts.set(body, [...(attempts.get(body) ?? []), message.deliveryAttempt ?? 0]);
        return body.startsWith('fail') ? ConsumeResult.FAILURE : ConsumeResult.SUCCESS;
      },
    },
  });
  await consumer.startup();
  clients.push(consumer);
  const producer = new Producer({ endpoints: bed.endpoints, namespace: '', topics: [topic], logger: clientLogger });
  await producer.startup();
  clients.push(producer);

  const ids = new Map<string, string>();
  for (const body of ['ok-1', 'fail-1', 'ok-2', 'fail-2', 'ok-3']) {
    ids.set(body, (await producer.send({ topic, body: Buffer.from(body), tag: 'T', keys: [`key-${body}`] })).messageId);
  }

  const dead = await eventually(() => {
    const letters = deadLetters(group);
    return letters.length >= 2 ? letters : undefined;
  }, 30_000, 'both failing messages in the DLQ');
  assert.deepEqual(dead.map((letter) => letter.body).sort(), ['fail-1', 'fail-2']);
  for (const letter of dead) assert.equal(letter.uniqueKey, ids.get(letter.body), 'the DLQ copy keeps the message id');

  await sleep(1500); // Nothing more may arrive: the DLQ is the end.
  for (const body of ['ok-1', 'ok-2', 'ok-3']) assert.deepEqual(attempts.get(body), [1], `${body} is consumed once`);
  for (const body of ['fail-1', 'fail-2']) assert.deepEqual(attempts.get(body), [1, 2, 3], `${body} is delivered three times`);
  assert.equal(deadLetters(group).length, 2);
});

test('a message the listener holds past the invisible time is renewed by the gateway, not redelivered', async () => {
  const renewBed = await startTestBed({ gateway: { autoRenew: { invisibleTimeMs: 1000, renewAheadMs: 500, checkIntervalMs: 100 } } });
  const topic = 'RenewTopic';
  const group = 'RenewGroup';
  createTopic(renewBed.deps, topic);
  for (let queueId = 0; queueId < 4; queueId++) renewBed.deps.consumerOffsetManager.commitOffset(group, topic, queueId, 0);
  const deliveries: number[] = [];
  const consumer = new PushConsumer({
    endpoints: renewBed.endpoints,
    namespace: '',
    consumerGroup: group,
    subscriptions: new Map([[topic, '*']]),
    logger: clientLogger,
    messageListener: {
      async consume(message: MessageView) {
        deliveries.push(message.deliveryAttempt ?? 0);
        await sleep(2500); // Over twice the 1 s invisible time.
        return ConsumeResult.SUCCESS;
      },
    },
  });
  const producer = new Producer({ endpoints: renewBed.endpoints, namespace: '', topics: [topic], logger: clientLogger });
  try {
    await consumer.startup();
    await producer.startup();
    await producer.send({ topic, body: Buffer.from('slow') });
    await eventually(() => (deliveries.length > 0 ? true : undefined), 10_000, 'the first delivery');
    await sleep(3500); // The listener finishes and acks; a lapsed message would have been delivered again.
    assert.deepEqual(deliveries, [1]);
  } finally {
    await consumer.shutdown().catch(() => {});
    await producer.shutdown().catch(() => {});
    await renewBed.close();
  }
});
