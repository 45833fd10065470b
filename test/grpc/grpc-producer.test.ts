// Proves the official Node producer's normal, FIFO and delayed messages reach a consumer intact through the gateway, with the server choosing queues and honouring topic message types.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Producer, SimpleConsumer, type MessageView } from 'rocketmq-client-nodejs';
import { clientLogger, createTopic, receiveAll, startTestBed, type GrpcTestBed } from './grpc-test-support.js';

let bed: GrpcTestBed;
const clients: Array<{ shutdown(): Promise<void> }> = [];

before(async () => {
  bed = await startTestBed();
});

after(async () => {
  for (const client of clients.reverse()) await client.shutdown().catch(() => {});
  await bed.close();
});

async function producerFor(...topics: string[]): Promise<Producer> {
  const producer = new Producer({ endpoints: bed.endpoints, namespace: '', topics, logger: clientLogger });
  await producer.startup();
  clients.push(producer);
  return producer;
}

async function consumerFor(group: string, topic: string, filter = '*'): Promise<SimpleConsumer> {
  const consumer = new SimpleConsumer({ endpoints: bed.endpoints, namespace: '', consumerGroup: group, subscriptions: new Map([[topic, filter]]), awaitDuration: 300, logger: clientLogger });
  await consumer.startup();
  clients.push(consumer);
  await consumer.receive(1, 5000); // The group's first pop fixes where it starts.
  return consumer;
}

test('normal messages keep body, tag, keys, user properties and message id', async () => {
  createTopic(bed.deps, 'NormalTopic');
  const consumer = await consumerFor('NormalGroup', 'NormalTopic');
  const producer = await producerFor('NormalTopic');
  const sent = new Map<string, number>();
  for (let index = 0; index < 6; index++) {
    const receipt = await producer.send({
      topic: 'NormalTopic',
      body: Buffer.from(`normal-${index}`),
      tag: index % 2 === 0 ? 'even' : 'odd',
      keys: [`key-${index}`, `order-${index}`],
      properties: new Map([['color', 'blue'], ['index', String(index)]]),
    });
    sent.set(receipt.messageId, index);
  }
  const received = await receiveAll<MessageView>(consumer, 6, 10_000);
  assert.equal(new Set(received.map((message) => message.messageId)).size, 6);
  for (const message of received) {
    const index = sent.get(message.messageId);
    assert.notEqual(index, undefined, `unknown message id ${message.messageId}`);
    assert.equal(message.body.toString(), `normal-${index}`);
    assert.equal(message.topic, 'NormalTopic');
    assert.equal(message.tag, index! % 2 === 0 ? 'even' : 'odd');
    assert.deepEqual(message.keys, [`key-${index}`, `order-${index}`]);
    assert.deepEqual(Object.fromEntries(message.properties), { color: 'blue', index: String(index) });
    assert.equal(message.corrupted, undefined);
    assert.equal(message.deliveryAttempt, 1);
    assert.ok(!message.messageGroup, 'no message group');
  }
});

test('a tag filter delivers only matching messages', async () => {
  createTopic(bed.deps, 'TagTopic');
  const consumer = await consumerFor('TagGroup', 'TagTopic', 'wanted');
  const producer = await producerFor('TagTopic');
  for (let index = 0; index < 4; index++) {
    await producer.send({ topic: 'TagTopic', body: Buffer.from(`tag-${index}`), tag: index < 2 ? 'wanted' : 'other' });
  }
  const received = await receiveAll<MessageView>(consumer, 2, 10_000);
  assert.deepEqual(received.map((message) => message.body.toString()).sort(), ['tag-0', 'tag-1']);
  assert.deepEqual(await consumer.receive(32, 5000), []);
});

test('FIFO messages of one group land in one queue, in order, and are received in order', async () => {
  createTopic(bed.deps, 'FifoTopic', 'FIFO', 8);
  const consumer = await consumerFor('FifoGroup', 'FifoTopic');
  const producer = await producerFor('FifoTopic');
  const receipts = new Map<string, Array<{ offset: number }>>();
  for (let index = 0; index < 10; index++) {
    const group = index % 2 === 0 ? 'order-A' : 'order-B';
    const receipt = await producer.send({ topic: 'FifoTopic', body: Buffer.from(`${group}:${index}`), messageGroup: group });
    receipts.set(group, [...(receipts.get(group) ?? []), { offset: receipt.offset }]);
  }
  for (const offsets of receipts.values()) {
    const values = offsets.map((entry) => entry.offset);
    assert.deepEqual(values, [...values].sort((left, right) => left - right), 'queue offsets rise within a message group');
    assert.equal(new Set(values).size, values.length);
  }
  const received = await receiveAll<MessageView>(consumer, 10, 15_000);
  for (const group of ['order-A', 'order-B']) {
    const bodies = received.filter((message) => message.messageGroup === group).map((message) => Number(message.body.toString().split(':')[1]));
    assert.deepEqual(bodies, [...bodies].sort((left, right) => left - right), `${group} arrives in send order`);
    assert.equal(bodies.length, 5);
  }
  // Every message of a group sits in the same queue of the store.
  const queuesPerGroup = new Map<string, Set<number>>();
  for (let queueId = 0; queueId < 8; queueId++) {
    const result = bed.deps.store.getMessages('FifoTopic', queueId, 0, 32, 1 << 20);
    for (const record of result.records) {
      const group = record.toString('latin1').includes('order-A') ? 'order-A' : 'order-B';
      queuesPerGroup.set(group, new Set([...(queuesPerGroup.get(group) ?? []), queueId]));
    }
  }
  assert.equal(queuesPerGroup.get('order-A')?.size, 1);
  assert.equal(queuesPerGroup.get('order-B')?.size, 1);
});

test('a NORMAL topic advertises only NORMAL, so the client refuses FIFO and delayed messages', async () => {
  createTopic(bed.deps, 'OnlyNormalTopic');
  const producer = await producerFor('OnlyNormalTopic');
  await assert.rejects(producer.send({ topic: 'OnlyNormalTopic', body: Buffer.from('x'), messageGroup: 'g' }), /accept message types/);
  await assert.rejects(producer.send({ topic: 'OnlyNormalTopic', body: Buffer.from('x'), delay: 1000 }), /accept message types/);
});

test('a delayed message is delivered at its delivery time, not before, and carries that time', async () => {
  createTopic(bed.deps, 'DelayTopic', 'DELAY');
  const consumer = await consumerFor('DelayGroup', 'DelayTopic');
  const producer = await producerFor('DelayTopic');
  const deliverAt = new Date(Date.now() + 1500);
  const receipt = await producer.send({ topic: 'DelayTopic', body: Buffer.from('later'), deliveryTimestamp: deliverAt });
  assert.ok(receipt.recallHandle.length > 0, 'a timer message can be recalled');
  assert.deepEqual(await consumer.receive(32, 5000), [], 'not visible right away');
  const [message] = await receiveAll<MessageView>(consumer, 1, 15_000);
  const receivedAt = Date.now();
  assert.equal(message!.messageId, receipt.messageId);
  assert.equal(message!.body.toString(), 'later');
  assert.equal(message!.deliveryTimestamp?.getTime(), deliverAt.getTime(), 'the delivery time travels with the message');
  assert.ok(receivedAt >= deliverAt.getTime(), 'not delivered before its delivery time');
});

test('a recalled delayed message is never delivered', async () => {
  createTopic(bed.deps, 'RecallTopic', 'DELAY');
  const consumer = await consumerFor('RecallGroup', 'RecallTopic');
  const producer = await producerFor('RecallTopic');
  const recalled = await producer.send({ topic: 'RecallTopic', body: Buffer.from('recalled'), delay: 1500 });
  const kept = await producer.send({ topic: 'RecallTopic', body: Buffer.from('kept'), delay: 1500 });
  const receipt = await producer.recallMessage('RecallTopic', recalled.recallHandle);
  assert.equal(receipt.messageId, recalled.messageId);
  const [message] = await receiveAll<MessageView>(consumer, 1, 15_000);
  assert.equal(message!.messageId, kept.messageId);
  assert.deepEqual(await consumer.receive(32, 2000), [], 'the recalled one never comes');
});
