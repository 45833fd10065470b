// Smoke: the official Node producer and simple consumer talk to the gateway end to end.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Producer, SimpleConsumer } from 'rocketmq-client-nodejs';
import { clientLogger, createTopic, startTestBed } from './grpc-test-support.js';

test('send and receive one message', async () => {
  const bed = await startTestBed();
  try {
    createTopic(bed.deps, 'SmokeTopic');
    const consumer = new SimpleConsumer({ endpoints: bed.endpoints, namespace: '', consumerGroup: 'SmokeGroup', subscriptions: new Map([['SmokeTopic', '*']]), awaitDuration: 1000, logger: clientLogger });
    await consumer.startup();
    assert.deepEqual(await consumer.receive(10, 5000), []);
    const producer = new Producer({ endpoints: bed.endpoints, namespace: '', topics: ['SmokeTopic'], logger: clientLogger });
    await producer.startup();
    const receipt = await producer.send({ topic: 'SmokeTopic', body: Buffer.from('hello'), tag: 'TagA', keys: ['k1'] });
    console.log('sent', receipt.messageId, receipt.offset);
    const messages = await consumer.receive(10, 5000);
    console.log(messages.map((m) => [m.messageId, m.body.toString(), m.tag, m.keys]));
    assert.equal(messages.length, 1);
    await consumer.ack(messages[0]!);
    await producer.shutdown();
    await consumer.shutdown();
  } finally {
    await bed.close();
  }
});
