// Proves the RPCs the Node SDK does not exercise, through a bare gRPC client: PullMessage (with long polling), UpdateOffset / GetOffset / QueryOffset, and ForwardMessageToDeadLetterQueue.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Code } from '../../src/gateway/grpc/code.js';
import { createTopic, rawClient, sleep, startTestBed, type GrpcTestBed, type RawClient } from './grpc-test-support.js';

let bed: GrpcTestBed;
let raw: RawClient;

type StatusOnly = { status: { code: number; message: string } };
interface StreamItem {
  status?: { code: number };
  message?: { body: Buffer; system_properties: { message_id: string; receipt_handle?: string; queue_offset?: number } };
  next_offset?: number;
  content?: string;
}

before(async () => {
  bed = await startTestBed();
  raw = rawClient(bed.endpoints);
});

after(async () => {
  raw.close();
  await bed.close();
});

function message(topic: string, body: string): object {
  return { topic: { name: topic }, system_properties: { message_id: `raw-${body}`, message_type: 1, body_encoding: 1 }, body: Buffer.from(body) };
}

async function send(topic: string, body: string): Promise<void> {
  const response = await raw.unary<StatusOnly>('SendMessage', { messages: [message(topic, body)] });
  assert.equal(response.status.code, Code.OK, response.status.message);
}

const queue = (topic: string, id = 0): object => ({ topic: { name: topic }, id });

test('offsets: committed offsets round-trip, and queue offsets are queried by policy', async () => {
  createTopic(bed.deps, 'OffsetTopic', 'NORMAL', 1);
  const none = await raw.unary<StatusOnly>('GetOffset', { group: { name: 'OffsetGroup' }, message_queue: queue('OffsetTopic') });
  assert.equal(none.status.code, Code.OFFSET_NOT_FOUND);
  const updated = await raw.unary<StatusOnly>('UpdateOffset', { group: { name: 'OffsetGroup' }, message_queue: queue('OffsetTopic'), offset: 2 });
  assert.equal(updated.status.code, Code.OK);
  const got = await raw.unary<StatusOnly & { offset: number }>('GetOffset', { group: { name: 'OffsetGroup' }, message_queue: queue('OffsetTopic') });
  assert.deepEqual([got.status.code, got.offset], [Code.OK, 2]);
  assert.equal(bed.deps.consumerOffsetManager.queryOffset('OffsetGroup', 'OffsetTopic', 0), 2, 'the same table remoting consumers use');
  const before = Date.now();
  for (let index = 0; index < 3; index++) await send('OffsetTopic', `offset-${index}`);
  const beginning = await raw.unary<StatusOnly & { offset: number }>('QueryOffset', { message_queue: queue('OffsetTopic'), query_offset_policy: 0 });
  const end = await raw.unary<StatusOnly & { offset: number }>('QueryOffset', { message_queue: queue('OffsetTopic'), query_offset_policy: 1 });
  const byTime = await raw.unary<StatusOnly & { offset: number }>('QueryOffset', { message_queue: queue('OffsetTopic'), query_offset_policy: 2, timestamp: { seconds: Math.floor(before / 1000) - 1, nanos: 0 } });
  assert.deepEqual([beginning.offset, end.offset, byTime.offset], [0, 3, 0]);
  const badQueue = await raw.unary<StatusOnly>('GetOffset', { group: { name: 'OffsetGroup' }, message_queue: queue('OffsetTopic', 9) });
  assert.equal(badQueue.status.code, Code.BAD_REQUEST);
});

test('PullMessage streams status, messages and the next offset, and long-polls for new ones', async () => {
  createTopic(bed.deps, 'PullTopic', 'NORMAL', 1);
  for (let index = 0; index < 3; index++) await send('PullTopic', `pull-${index}`);
  const pull = (offset: number, longPollingMs = 0) => raw.stream<StreamItem>('PullMessage', {
    group: { name: 'PullGroup' }, message_queue: queue('PullTopic'), offset, batch_size: 32,
    filter_expression: { type: 1, expression: '*' }, long_polling_timeout: { seconds: Math.floor(longPollingMs / 1000), nanos: (longPollingMs % 1000) * 1_000_000 },
  });
  const found = await pull(0);
  assert.equal(found[0]!.status?.code, Code.OK);
  assert.deepEqual(found.filter((item) => item.message).map((item) => item.message!.body.toString()), ['pull-0', 'pull-1', 'pull-2']);
  assert.equal(found[found.length - 1]!.next_offset, 3);
  const empty = await pull(3, 300);
  assert.equal(empty[0]!.status?.code, Code.MESSAGE_NOT_FOUND);
  assert.equal(empty[empty.length - 1]!.next_offset, 3);
  // A held pull is answered with the message that arrives while it waits.
  const held = pull(3, 2500);
  await sleep(200);
  await send('PullTopic', 'pull-3');
  const woken = await held;
  assert.equal(woken[0]!.status?.code, Code.OK);
  assert.equal(woken[1]!.message?.body.toString(), 'pull-3');
  assert.equal(woken[woken.length - 1]!.next_offset, 4);
});

test('ForwardMessageToDeadLetterQueue moves a received message to %DLQ%group for good', async () => {
  createTopic(bed.deps, 'ForwardTopic', 'NORMAL', 1);
  bed.deps.consumerOffsetManager.commitOffset('ForwardGroup', 'ForwardTopic', 0, 0);
  await send('ForwardTopic', 'forward-me');
  const receive = () => raw.stream<StreamItem>('ReceiveMessage', {
    group: { name: 'ForwardGroup' }, message_queue: queue('ForwardTopic', -1), filter_expression: { type: 1, expression: '*' }, batch_size: 8,
    invisible_duration: { seconds: 1, nanos: 0 }, long_polling_timeout: { seconds: 0, nanos: 300_000_000 },
  }, 'raw-forwarder');
  const received = await receive();
  assert.equal(received[0]!.status?.code, Code.OK);
  const delivered = received[1]!.message!;
  assert.equal(delivered.body.toString(), 'forward-me');
  assert.ok(received[received.length - 1]!.content === 'delivery_timestamp', 'the stream ends with the delivery timestamp');
  const forwarded = await raw.unary<StatusOnly>('ForwardMessageToDeadLetterQueue', {
    group: { name: 'ForwardGroup' }, topic: { name: 'ForwardTopic' }, receipt_handle: delivered.system_properties.receipt_handle, message_id: delivered.system_properties.message_id,
    delivery_attempt: 1, max_delivery_attempts: 1,
  }, 'raw-forwarder');
  assert.equal(forwarded.status.code, Code.OK, forwarded.status.message);
  const dead = bed.deps.store.getMessages('%DLQ%ForwardGroup', 0, 0, 32, 1 << 20);
  assert.equal(dead.records.length, 1);
  assert.ok(dead.records[0]!.includes(Buffer.from('forward-me')));
  await sleep(1300); // Past the 1 s invisible time: it was acked, so it does not come back.
  const again = await receive();
  assert.equal(again[0]!.status?.code, Code.MESSAGE_NOT_FOUND);
});
