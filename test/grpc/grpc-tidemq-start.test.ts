// Proves `tidemq start` serves RocketMQ 5.x clients on its gRPC port: the official Node producer sends
// through it and the official SimpleConsumer receives and acks the same message, with an auto-created topic.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Producer, SimpleConsumer, type MessageView } from 'rocketmq-client-nodejs';
import { makeTempHome, startStandalone, type TideProcess } from '../support/tidemq-process.js';
import { clientLogger, receiveAll } from './grpc-test-support.js';
import { createTopic as createTopicOverRemoting } from '../compat/compat-helpers.js';

let tide: TideProcess & { namesrvAddr: string; brokerAddr: string; grpcAddr: string };
const home = makeTempHome('tidemq-grpc-start-');
const clients: Array<{ shutdown(): Promise<void> }> = [];

before(async () => {
  tide = await startStandalone(home.home);
});

after(async () => {
  for (const client of clients.reverse()) await client.shutdown().catch(() => {});
  await tide?.stop();
  home.cleanup();
});

test('a 5.x producer and simple consumer work against tidemq start', async () => {
  await createTopicOverRemoting(tide.brokerAddr, 'GrpcStartTopic', 4);
  const consumer = new SimpleConsumer({
    endpoints: tide.grpcAddr, namespace: '', consumerGroup: 'GrpcStartGroup',
    subscriptions: new Map([['GrpcStartTopic', '*']]), awaitDuration: 5000, logger: clientLogger,
  });
  await consumer.startup();
  clients.push(consumer);
  await consumer.receive(1, 15_000); // The group's first pop fixes where it starts.
  const producer = new Producer({ endpoints: tide.grpcAddr, namespace: '', topics: ['GrpcStartTopic'], logger: clientLogger });
  await producer.startup();
  clients.push(producer);
  const receipt = await producer.send({ topic: 'GrpcStartTopic', body: Buffer.from('over grpc'), tag: 'g', keys: ['grpc-key'] });
  const [message] = await receiveAll<MessageView>(consumer, 1, 20_000, { ack: false, invisibleMs: 15_000 });
  assert.equal(message!.messageId, receipt.messageId);
  assert.equal(message!.body.toString(), 'over grpc');
  assert.deepEqual(message!.keys, ['grpc-key']);
  await consumer.ack(message!);
});
