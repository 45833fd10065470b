// Proves one store underneath both protocols: messages sent over gRPC are pulled by remoting clients and remoting sends are received over gRPC, with keys, tags, user properties and ids (message_id = UNIQ_KEY) intact.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Producer, SimpleConsumer, type MessageView } from 'rocketmq-client-nodejs';
import { decodeProperties, encodeProperties } from '../../src/protocol/message-properties.js';
import { decodeRecords } from '../../src/protocol/message-record.js';
import { createRequest } from '../../src/protocol/remoting-command.js';
import { RequestCode } from '../../src/protocol/request-code.js';
import { RemotingClient } from '../../src/remoting/remoting-client.js';
import { deflateSync } from 'node:zlib';
import { clientLogger, createTopic, receiveAll, startTestBed, type GrpcTestBed } from './grpc-test-support.js';

let bed: GrpcTestBed;
let remoting: RemotingClient;
const clients: Array<{ shutdown(): Promise<void> }> = [];

before(async () => {
  bed = await startTestBed();
  remoting = new RemotingClient({ requestTimeoutMs: 10_000 });
});

after(async () => {
  for (const client of clients.reverse()) await client.shutdown().catch(() => {});
  await remoting.close();
  await bed.close();
});

/** SEND_MESSAGE_V2 as the Java client sends it. */
async function remotingSend(topic: string, body: Buffer, properties: Record<string, string>, queueId: number, sysFlag = 0): Promise<void> {
  const response = await remoting.invoke(bed.brokerAddress, createRequest(RequestCode.SEND_MESSAGE_V2, {
    a: 'RemotingPG', b: topic, c: 'TBW102', d: '4', e: String(queueId), f: String(sysFlag), g: String(Date.now()), h: '0',
    i: encodeProperties({ WAIT: 'true', ...properties }), j: '0', k: 'false',
  }, body));
  assert.equal(response.code, 0, response.remark);
}

async function remotingPullAll(group: string, topic: string, queues: number): Promise<ReturnType<typeof decodeRecords>> {
  const records: ReturnType<typeof decodeRecords> = [];
  for (let queueId = 0; queueId < queues; queueId++) {
    const response = await remoting.invoke(bed.brokerAddress, createRequest(RequestCode.PULL_MESSAGE, {
      consumerGroup: group, topic, queueId: String(queueId), queueOffset: '0', maxMsgNums: '32', sysFlag: '4',
      commitOffset: '0', suspendTimeoutMillis: '0', subscription: '*', subVersion: '0', expressionType: 'TAG',
    }));
    // 0 = found, 19/20 = nothing there.
    assert.ok([0, 19, 20].includes(response.code), `pull answered ${response.code} ${response.remark}`);
    if (response.code === 0 && response.body) records.push(...decodeRecords(response.body));
  }
  return records;
}

test('messages sent over gRPC are pulled over remoting with their id, keys, tag and properties', async () => {
  createTopic(bed.deps, 'GrpcToRemoting');
  const producer = new Producer({ endpoints: bed.endpoints, namespace: '', topics: ['GrpcToRemoting'], logger: clientLogger });
  await producer.startup();
  clients.push(producer);
  const sent = new Map<string, number>();
  for (let index = 0; index < 4; index++) {
    const receipt = await producer.send({
      topic: 'GrpcToRemoting', body: Buffer.from(`g2r-${index}`), tag: 'TagX', keys: [`k${index}`, 'shared'],
      properties: new Map([['origin', 'grpc'], ['n', String(index)]]),
    });
    sent.set(receipt.messageId, index);
  }
  const records = await remotingPullAll('RemotingReader', 'GrpcToRemoting', 4);
  assert.equal(records.length, 4);
  for (const record of records) {
    const properties = decodeProperties(record.properties);
    const index = sent.get(properties.get('UNIQ_KEY') ?? '');
    assert.notEqual(index, undefined, 'UNIQ_KEY is the gRPC message id');
    assert.equal(record.body.toString(), `g2r-${index}`);
    assert.equal(properties.get('TAGS'), 'TagX');
    assert.equal(properties.get('KEYS'), `k${index} shared`);
    assert.equal(properties.get('origin'), 'grpc');
    assert.equal(properties.get('n'), String(index));
  }
  // And the keys are indexed: QUERY_MESSAGE by key finds them, as the admin tools do.
  const query = await remoting.invoke(bed.brokerAddress, createRequest(RequestCode.QUERY_MESSAGE, {
    topic: 'GrpcToRemoting', key: 'shared', maxNum: '32', beginTimestamp: '0', endTimestamp: String(Date.now() + 60_000),
  }));
  assert.equal(query.code, 0, query.remark);
  assert.equal(decodeRecords(query.body!).length, 4);
});

test('messages sent over remoting are received over gRPC with message_id = UNIQ_KEY, keys, tag and properties', async () => {
  createTopic(bed.deps, 'RemotingToGrpc');
  const consumer = new SimpleConsumer({ endpoints: bed.endpoints, namespace: '', consumerGroup: 'GrpcReader', subscriptions: new Map([['RemotingToGrpc', '*']]), awaitDuration: 300, logger: clientLogger });
  await consumer.startup();
  clients.push(consumer);
  await consumer.receive(1, 5000);
  const uniqueKeys = ['7F00000100002A9F0000000000000001', '7F00000100002A9F0000000000000002'];
  await remotingSend('RemotingToGrpc', Buffer.from('r2g-0'), { UNIQ_KEY: uniqueKeys[0]!, TAGS: 'TagR', KEYS: 'a b', color: 'red' }, 1);
  // A body the Java producer compressed with zlib (COMPRESSED flag): gRPC clients get it inflated.
  await remotingSend('RemotingToGrpc', deflateSync(Buffer.from('r2g-1 compressed')), { UNIQ_KEY: uniqueKeys[1]!, TAGS: 'TagR', color: 'green' }, 2, 0x1);
  // Without UNIQ_KEY the broker creates one: the gRPC id is that one.
  await remotingSend('RemotingToGrpc', Buffer.from('r2g-2'), { TAGS: 'TagR' }, 3);

  const received = await receiveAll<MessageView>(consumer, 3, 10_000);
  const byBody = new Map(received.map((message) => [message.body.toString(), message]));
  const first = byBody.get('r2g-0')!;
  assert.equal(first.messageId, uniqueKeys[0]);
  assert.equal(first.tag, 'TagR');
  assert.deepEqual(first.keys, ['a', 'b']);
  assert.deepEqual(Object.fromEntries(first.properties), { color: 'red' });
  assert.equal(first.topic, 'RemotingToGrpc');
  const second = byBody.get('r2g-1 compressed');
  assert.ok(second, 'the zlib body arrives inflated');
  assert.equal(second.messageId, uniqueKeys[1]);
  assert.equal(second.corrupted, undefined, 'the digest matches the delivered body');
  const third = byBody.get('r2g-2')!;
  const stored = (await remotingPullAll('Checker', 'RemotingToGrpc', 4)).find((record) => record.body.toString() === 'r2g-2')!;
  assert.equal(third.messageId, decodeProperties(stored.properties).get('UNIQ_KEY'));
});

test('gRPC clients appear in the admin connection lists like remoting clients', async () => {
  createTopic(bed.deps, 'AdminVisible');
  const consumer = new SimpleConsumer({ endpoints: bed.endpoints, namespace: '', consumerGroup: 'VisibleGroup', subscriptions: new Map([['AdminVisible', 'TagA || TagB']]), awaitDuration: 300, logger: clientLogger });
  await consumer.startup();
  clients.push(consumer);
  const producer = new Producer({ endpoints: bed.endpoints, namespace: '', topics: ['AdminVisible'], logger: clientLogger });
  await producer.startup();
  clients.push(producer);
  const consumers = await remoting.invoke(bed.brokerAddress, createRequest(RequestCode.GET_CONSUMER_CONNECTION_LIST, { consumerGroup: 'VisibleGroup' }));
  assert.equal(consumers.code, 0, consumers.remark);
  const consumerBody = consumers.body!.toString();
  assert.ok(consumerBody.includes(consumer.clientId), 'the gRPC consumer is listed');
  assert.ok(consumerBody.includes('CONSUME_ACTIVELY'), 'as an active (simple) consumer');
  assert.ok(consumerBody.includes('TagA || TagB'), 'with its subscription');
  // gRPC producers have no group; like the RocketMQ proxy, the gateway files them under the topic.
  const producers = await remoting.invoke(bed.brokerAddress, createRequest(RequestCode.GET_PRODUCER_CONNECTION_LIST, { producerGroup: 'AdminVisible' }));
  assert.equal(producers.code, 0, producers.remark);
  assert.ok(producers.body!.toString().includes(producer.clientId));
  await consumer.shutdown();
  const gone = await remoting.invoke(bed.brokerAddress, createRequest(RequestCode.GET_CONSUMER_CONNECTION_LIST, { consumerGroup: 'VisibleGroup' }));
  assert.equal(gone.code, 206, 'a terminated client leaves the group');
});
