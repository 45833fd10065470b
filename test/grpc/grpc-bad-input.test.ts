// Proves bad input is answered with the status codes the clients expect — malformed protobuf, unknown topics, illegal invisible and delivery times, stale receipt handles, type conflicts, reserved keys — while other clients keep working.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Client, credentials, Metadata, status as GrpcStatus, type ServiceError } from '@grpc/grpc-js';
import { Producer, SimpleConsumer, type MessageView } from 'rocketmq-client-nodejs';
import { Code } from '../../src/gateway/grpc/code.js';
import { clientLogger, createTopic, rawClient, receiveAll, sleep, startTestBed, type GrpcTestBed, type RawClient } from './grpc-test-support.js';

let bed: GrpcTestBed;
let raw: RawClient;
let producer: Producer;
let consumer: SimpleConsumer;

type StatusOnly = { status: { code: number; message: string } };

before(async () => {
  bed = await startTestBed({ broker: { autoCreateTopicEnable: false } });
  createTopic(bed.deps, 'BadInputTopic');
  createTopic(bed.deps, 'BadInputDelay', 'DELAY');
  raw = rawClient(bed.endpoints);
  producer = new Producer({ endpoints: bed.endpoints, namespace: '', topics: ['BadInputTopic', 'BadInputDelay'], logger: clientLogger });
  await producer.startup();
  consumer = new SimpleConsumer({ endpoints: bed.endpoints, namespace: '', consumerGroup: 'BadInputGroup', subscriptions: new Map([['BadInputTopic', '*']]), awaitDuration: 300, logger: clientLogger });
  await consumer.startup();
  await consumer.receive(1, 5000);
});

after(async () => {
  await consumer.shutdown().catch(() => {});
  await producer.shutdown().catch(() => {});
  raw.close();
  await bed.close();
});

/** The healthy clients still send and receive (run after each kind of bad input). */
async function stillWorks(label: string): Promise<void> {
  const receipt = await producer.send({ topic: 'BadInputTopic', body: Buffer.from(label) });
  const [message] = await receiveAll<MessageView>(consumer, 1, 10_000);
  assert.equal(message!.messageId, receipt.messageId);
}

function message(topic: string, overrides: Record<string, unknown> = {}, userProperties: Record<string, string> = {}): object {
  return {
    topic: { name: topic },
    user_properties: userProperties,
    system_properties: { message_id: `raw-${Math.random().toString(16).slice(2)}`, message_type: 1, body_encoding: 1, ...overrides },
    body: Buffer.from('raw body'),
  };
}

test('malformed protobuf is answered INTERNAL and the server keeps serving', async () => {
  const client = new Client(bed.endpoints, credentials.createInsecure());
  try {
    for (const garbage of [Buffer.from([0x0a, 0x10, 0x61, 0x62]), Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01])]) {
      const error = await new Promise<ServiceError>((resolve, reject) => {
        client.makeUnaryRequest('/apache.rocketmq.v2.MessagingService/SendMessage', (value: Buffer) => value, (value: Buffer) => value, garbage, new Metadata(), { deadline: Date.now() + 5000 }, (failure, value) => {
          if (failure) resolve(failure);
          else reject(new Error(`expected an error, got ${value?.length} bytes`));
        });
      });
      assert.ok([GrpcStatus.INTERNAL, GrpcStatus.INVALID_ARGUMENT].includes(error.code), `gRPC status ${error.code}`);
    }
  } finally {
    client.close();
  }
  await stillWorks('after garbage');
});

test('unknown topics are TOPIC_NOT_FOUND; system topics and bad names are ILLEGAL_TOPIC', async () => {
  const route = await raw.unary<StatusOnly>('QueryRoute', { topic: { name: 'NoSuchTopic' }, endpoints: { scheme: 1, addresses: [{ host: '127.0.0.1', port: 1 }] } });
  assert.equal(route.status.code, Code.TOPIC_NOT_FOUND);
  const send = await raw.unary<StatusOnly>('SendMessage', { messages: [message('NoSuchTopic')] });
  assert.equal(send.status.code, Code.TOPIC_NOT_FOUND, 'no auto-creation when autoCreateTopicEnable=false');
  const assignment = await raw.unary<StatusOnly>('QueryAssignment', { topic: { name: 'NoSuchTopic' }, group: { name: 'G' } });
  assert.equal(assignment.status.code, Code.TOPIC_NOT_FOUND);
  const system = await raw.unary<StatusOnly>('QueryRoute', { topic: { name: 'RMQ_SYS_TRANS_HALF_TOPIC' } });
  assert.equal(system.status.code, Code.ILLEGAL_TOPIC);
  const badName = await raw.unary<StatusOnly>('QueryRoute', { topic: { name: 'bad/name' } });
  assert.equal(badName.status.code, Code.ILLEGAL_TOPIC);
  const badGroup = await raw.unary<StatusOnly>('QueryAssignment', { topic: { name: 'BadInputTopic' }, group: { name: '' } });
  assert.equal(badGroup.status.code, Code.ILLEGAL_CONSUMER_GROUP);
  await stillWorks('after unknown topics');
});

test('illegal invisible times are ILLEGAL_INVISIBLE_TIME', async () => {
  await assert.rejects(consumer.receive(10, 100), (error: { code?: number }) => error.code === Code.ILLEGAL_INVISIBLE_TIME);
  await assert.rejects(consumer.receive(10, 13 * 60 * 60 * 1000), (error: { code?: number }) => error.code === Code.ILLEGAL_INVISIBLE_TIME);
  const responses = await raw.stream<StatusOnly>('ReceiveMessage', {
    group: { name: 'BadInputGroup' }, message_queue: { topic: { name: 'BadInputTopic' }, id: -1 }, filter_expression: { type: 1, expression: '*' }, batch_size: 1,
  }, 'raw-client-1');
  assert.equal(responses[0]!.status.code, Code.ILLEGAL_INVISIBLE_TIME, 'no invisible duration at all');
  await stillWorks('after illegal invisible times');
});

test('illegal delivery times are ILLEGAL_DELIVERY_TIME', async () => {
  // Beyond the gateway's 1-day limit.
  await assert.rejects(producer.send({ topic: 'BadInputDelay', body: Buffer.from('x'), delay: 2 * 24 * 60 * 60 * 1000 }), (error: { code?: number }) => error.code === Code.ILLEGAL_DELIVERY_TIME);
  await stillWorks('after illegal delivery times');
});

test('a stale or forged receipt handle is INVALID_RECEIPT_HANDLE', async () => {
  const receipt = await producer.send({ topic: 'BadInputTopic', body: Buffer.from('stale') });
  const [first] = await receiveAll<MessageView>(consumer, 1, 10_000, { ack: false, invisibleMs: 1000 });
  assert.equal(first!.messageId, receipt.messageId);
  const [second] = await receiveAll<MessageView>(consumer, 1, 10_000, { ack: false, invisibleMs: 10_000 });
  assert.equal(second!.messageId, receipt.messageId);
  await assert.rejects(consumer.ack(first!), (error: { code?: number }) => error.code === Code.INVALID_RECEIPT_HANDLE, 'the first handle expired');
  await consumer.ack(second!);
  const forged = await raw.unary<StatusOnly & { entries: StatusOnly[] }>('AckMessage', {
    group: { name: 'BadInputGroup' }, topic: { name: 'BadInputTopic' }, entries: [{ message_id: 'x', receipt_handle: 'not-a-handle' }, { message_id: 'y', receipt_handle: 'T1.zz.AAAA' }],
  });
  assert.equal(forged.status.code, Code.INVALID_RECEIPT_HANDLE);
  assert.deepEqual(forged.entries.map((entry) => entry.status.code), [Code.INVALID_RECEIPT_HANDLE, Code.INVALID_RECEIPT_HANDLE]);
  const change = await raw.unary<StatusOnly>('ChangeInvisibleDuration', {
    group: { name: 'BadInputGroup' }, topic: { name: 'BadInputTopic' }, receipt_handle: 'garbage', invisible_duration: { seconds: 5, nanos: 0 }, message_id: 'x',
  });
  assert.equal(change.status.code, Code.INVALID_RECEIPT_HANDLE);
  await sleep(0);
  await stillWorks('after stale handles');
});

test('messages that break the rules are refused with their own codes', async () => {
  const cases: Array<[string, object, number]> = [
    ['FIFO message to a NORMAL topic', message('BadInputTopic', { message_type: 2, message_group: 'g1' }), Code.MESSAGE_PROPERTY_CONFLICT_WITH_TYPE],
    ['NORMAL message to a DELAY topic', message('BadInputDelay'), Code.MESSAGE_PROPERTY_CONFLICT_WITH_TYPE],
    ['a reserved property key', message('BadInputTopic', {}, { UNIQ_KEY: 'mine' }), Code.ILLEGAL_MESSAGE_PROPERTY_KEY],
    ['no message id', message('BadInputTopic', { message_id: '' }), Code.ILLEGAL_MESSAGE_ID],
    ['a tag with |', message('BadInputTopic', { tag: 'a|b' }), Code.ILLEGAL_MESSAGE_TAG],
    ['an empty body', { ...message('BadInputTopic'), body: Buffer.alloc(0) }, Code.MESSAGE_BODY_EMPTY],
    ['a body over maxMessageSize', { ...message('BadInputTopic'), body: Buffer.alloc(4 * 1024 * 1024 + 1) }, Code.MESSAGE_BODY_TOO_LARGE],
  ];
  for (const [label, body, expected] of cases) {
    const response = await raw.unary<StatusOnly>('SendMessage', { messages: [body] });
    assert.equal(response.status.code, expected, `${label}: ${response.status.message}`);
  }
  const empty = await raw.unary<StatusOnly>('SendMessage', { messages: [] });
  assert.equal(empty.status.code, Code.MESSAGE_CORRUPTED);
  await stillWorks('after bad messages');
});

test('client session RPCs need a client id and prior Settings', async () => {
  const noId = await raw.unary<StatusOnly>('Heartbeat', { client_type: 1 });
  assert.equal(noId.status.code, Code.CLIENT_ID_REQUIRED);
  const noSettings = await raw.unary<StatusOnly>('Heartbeat', { client_type: 1 }, 'never-reported-settings');
  assert.equal(noSettings.status.code, Code.UNRECOGNIZED_CLIENT_TYPE);
  const lite = await raw.unary<StatusOnly>('SyncLiteSubscription', { action: 0 });
  assert.equal(lite.status.code, Code.NOT_IMPLEMENTED);
  const recall = await raw.unary<StatusOnly>('RecallMessage', { topic: { name: 'BadInputTopic' }, recall_handle: 'x' }, 'someone');
  assert.equal(recall.status.code, Code.BAD_REQUEST, 'a recall handle that does not decode');
  await stillWorks('after session errors');
});
