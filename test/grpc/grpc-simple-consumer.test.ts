// Proves the official Node SimpleConsumer's receive / ack / changeInvisibleDuration against the gateway: acked messages stay gone, unacked ones come back after their invisible time with the delivery attempt raised.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Producer, SimpleConsumer, type MessageView } from 'rocketmq-client-nodejs';
import { newSubscriptionGroupConfig } from '../../src/broker/subscription-group-manager.js';
import { clientLogger, createTopic, receiveAll, sleep, startTestBed, type GrpcTestBed } from './grpc-test-support.js';

let bed: GrpcTestBed;
let producer: Producer;
const clients: Array<{ shutdown(): Promise<void> }> = [];

before(async () => {
  bed = await startTestBed();
  for (const topic of ['AckTopic', 'InvisibleTopic', 'ChangeTopic']) createTopic(bed.deps, topic);
  producer = new Producer({ endpoints: bed.endpoints, namespace: '', topics: ['AckTopic', 'InvisibleTopic', 'ChangeTopic'], logger: clientLogger });
  await producer.startup();
  clients.push(producer);
});

after(async () => {
  for (const client of clients.reverse()) await client.shutdown().catch(() => {});
  await bed.close();
});

async function consumerFor(group: string, topic: string): Promise<SimpleConsumer> {
  const consumer = new SimpleConsumer({ endpoints: bed.endpoints, namespace: '', consumerGroup: group, subscriptions: new Map([[topic, '*']]), awaitDuration: 300, logger: clientLogger });
  await consumer.startup();
  clients.push(consumer);
  await consumer.receive(1, 5000);
  return consumer;
}

test('acked messages do not come back', async () => {
  const consumer = await consumerFor('AckGroup', 'AckTopic');
  for (let index = 0; index < 5; index++) await producer.send({ topic: 'AckTopic', body: Buffer.from(`ack-${index}`) });
  const received = await receiveAll<MessageView>(consumer, 5, 10_000, { invisibleMs: 1000 });
  assert.equal(new Set(received.map((message) => message.body.toString())).size, 5);
  await sleep(1400); // Past the invisible time: nothing may come back.
  assert.deepEqual(await consumer.receive(32, 1000), []);
});

test('an unacked message comes back after its invisible time with the delivery attempt raised', async () => {
  const consumer = await consumerFor('InvisibleGroup', 'InvisibleTopic');
  const receipt = await producer.send({ topic: 'InvisibleTopic', body: Buffer.from('again') });
  const [first] = await receiveAll<MessageView>(consumer, 1, 10_000, { ack: false, invisibleMs: 1000 });
  assert.equal(first!.messageId, receipt.messageId);
  assert.equal(first!.deliveryAttempt, 1);
  assert.deepEqual(await consumer.receive(32, 1000), [], 'invisible while its invisible time runs');
  const [second] = await receiveAll<MessageView>(consumer, 1, 10_000, { ack: false, invisibleMs: 5000 });
  assert.equal(second!.messageId, receipt.messageId);
  assert.equal(second!.body.toString(), 'again');
  assert.equal(second!.deliveryAttempt, 2);
  await consumer.ack(second!);
  await sleep(1200);
  assert.deepEqual(await consumer.receive(32, 1000), [], 'acked on its second delivery');
});

test('changeInvisibleDuration shortens and extends the invisible time', async () => {
  const consumer = await consumerFor('ChangeGroup', 'ChangeTopic');
  const receipt = await producer.send({ topic: 'ChangeTopic', body: Buffer.from('change') });
  const [message] = await receiveAll<MessageView>(consumer, 1, 10_000, { ack: false, invisibleMs: 60_000 });
  // Shorten from 60 s to 1 s: it comes back soon.
  await consumer.changeInvisibleDuration(message!, 1000);
  const [again] = await receiveAll<MessageView>(consumer, 1, 10_000, { ack: false, invisibleMs: 1000 });
  assert.equal(again!.messageId, receipt.messageId);
  assert.equal(again!.deliveryAttempt, 2);
  // Extend from 1 s to 60 s: it stays away well past the original 1 s, and the new handle acks it.
  await consumer.changeInvisibleDuration(again!, 60_000);
  await sleep(1400);
  assert.deepEqual(await consumer.receive(32, 1000), []);
  await consumer.ack(again!);
});

test('a FIFO group gets the next message of a message group only after the previous one is acked', async () => {
  createTopic(bed.deps, 'OrderedTopic', 'FIFO', 2);
  bed.deps.subscriptionGroupManager.update(newSubscriptionGroupConfig('OrderedGroup', { consumeMessageOrderly: true }));
  for (let queueId = 0; queueId < 2; queueId++) bed.deps.consumerOffsetManager.commitOffset('OrderedGroup', 'OrderedTopic', queueId, 0);
  const fifoProducer = new Producer({ endpoints: bed.endpoints, namespace: '', topics: ['OrderedTopic'], logger: clientLogger });
  await fifoProducer.startup();
  clients.push(fifoProducer);
  for (let index = 0; index < 3; index++) await fifoProducer.send({ topic: 'OrderedTopic', body: Buffer.from(`step-${index}`), messageGroup: 'order-7' });
  const consumer = new SimpleConsumer({ endpoints: bed.endpoints, namespace: '', consumerGroup: 'OrderedGroup', subscriptions: new Map([['OrderedTopic', '*']]), awaitDuration: 300, logger: clientLogger });
  await consumer.startup();
  clients.push(consumer);
  const seen: string[] = [];
  while (seen.length < 3) {
    const batch = await receiveAll<MessageView>(consumer, 1, 10_000, { ack: false, invisibleMs: 20_000 });
    for (const message of batch) seen.push(message.body.toString());
    // While the batch is not acked, nothing later of the group is handed out.
    assert.deepEqual(await consumer.receive(32, 20_000), []);
    for (const message of batch) await consumer.ack(message);
  }
  assert.deepEqual(seen, ['step-0', 'step-1', 'step-2']);
});
