// Proves transactional messages from the official Node producer through the gateway onto the broker's transactions: commit delivers, rollback never does, and an open transaction is resolved by the producer's checker answering the broker's check-back (RecoverOrphanedTransactionCommand on the Telemetry stream).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Producer, SimpleConsumer, type MessageView } from 'rocketmq-client-nodejs';
import { clientLogger, createTopic, eventually, receiveAll, startTestBed, type GrpcTestBed } from './grpc-test-support.js';

// TransactionResolution of definition.proto.
const COMMIT = 1;
const ROLLBACK = 2;
const UNKNOWN = 0;

let bed: GrpcTestBed;
let producer: Producer;
let consumer: SimpleConsumer;
const checked: Array<{ messageId: string; body: string; topic: string }> = [];
/** What the checker answers for a body; anything else stays unknown. */
const verdicts = new Map<string, number>();

before(async () => {
  // Halves become checkable after 300 ms and are checked every 300 ms.
  bed = await startTestBed({ broker: { transactionTimeOut: 300, transactionCheckInterval: 300 } });
  createTopic(bed.deps, 'TxTopic', 'TRANSACTION');
  consumer = new SimpleConsumer({ endpoints: bed.endpoints, namespace: '', consumerGroup: 'TxGroup', subscriptions: new Map([['TxTopic', '*']]), awaitDuration: 300, logger: clientLogger });
  await consumer.startup();
  await consumer.receive(1, 5000);
  producer = new Producer({
    endpoints: bed.endpoints,
    namespace: '',
    topics: ['TxTopic'],
    logger: clientLogger,
    checker: {
      async check(message: MessageView) {
        checked.push({ messageId: message.messageId, body: message.body.toString(), topic: message.topic });
        return verdicts.get(message.body.toString()) ?? UNKNOWN;
      },
    },
  });
  await producer.startup();
});

after(async () => {
  await producer?.shutdown().catch(() => {});
  await consumer?.shutdown().catch(() => {});
  await bed.close();
});

test('a committed transaction is delivered, a rolled-back one never', async () => {
  const committed = producer.beginTransaction();
  const committedReceipt = await producer.send({ topic: 'TxTopic', body: Buffer.from('commit-me'), tag: 'tx', keys: ['tx-1'] }, committed);
  assert.ok(committedReceipt.transactionId.length > 0);
  const rolledBack = producer.beginTransaction();
  await producer.send({ topic: 'TxTopic', body: Buffer.from('roll-me-back') }, rolledBack);
  assert.deepEqual(await consumer.receive(32, 5000), [], 'half messages are invisible');
  await committed.commit();
  await rolledBack.rollback();
  const [message] = await receiveAll<MessageView>(consumer, 1, 10_000);
  assert.equal(message!.messageId, committedReceipt.messageId);
  assert.equal(message!.body.toString(), 'commit-me');
  assert.equal(message!.tag, 'tx');
  assert.deepEqual(message!.keys, ['tx-1']);
  assert.deepEqual(await consumer.receive(32, 2000), [], 'the rolled-back half stays away');
});

test('an open transaction is resolved through the check-back', async () => {
  verdicts.set('checked-commit', COMMIT);
  verdicts.set('checked-rollback', ROLLBACK);
  const commitReceipt = await producer.send({ topic: 'TxTopic', body: Buffer.from('checked-commit') }, producer.beginTransaction());
  const rollbackReceipt = await producer.send({ topic: 'TxTopic', body: Buffer.from('checked-rollback') }, producer.beginTransaction());
  // Neither commit nor rollback: the broker asks the producer, which answers through its checker.
  const [message] = await receiveAll<MessageView>(consumer, 1, 15_000);
  assert.equal(message!.messageId, commitReceipt.messageId);
  assert.equal(message!.body.toString(), 'checked-commit');
  const asked = await eventually(() => {
    const ids = new Set(checked.map((entry) => entry.messageId));
    return ids.has(commitReceipt.messageId) && ids.has(rollbackReceipt.messageId) ? checked : undefined;
  }, 10_000, 'both halves checked');
  const first = asked.find((entry) => entry.messageId === commitReceipt.messageId)!;
  assert.equal(first.topic, 'TxTopic', 'the check names the real topic, not the half topic');
  assert.equal(first.body, 'checked-commit');
  assert.deepEqual(await consumer.receive(32, 2000), [], 'the half rolled back by the check stays away');
});
