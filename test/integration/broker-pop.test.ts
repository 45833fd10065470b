// Proves POP over real sockets: acked messages never come back, un-acked ones come back after their invisible time with reconsumeTimes + 1, change-invisible-time extends and shortens, batch ack, the DLQ after retryMaxTimes, FIFO blocking, long polling, stale receipt handles and RocketMQ's error answers.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ResponseCode } from '../../src/common/errors.js';
import { getProperty } from '../../src/protocol/message-properties.js';
import { decodeRecords } from '../../src/protocol/message-record.js';
import { createRequest, type RemotingCommand } from '../../src/protocol/remoting-command.js';
import { RequestCode } from '../../src/protocol/request-code.js';
import { RemotingClient } from '../../src/remoting/remoting-client.js';
import {
  ackRequest,
  changeInvisibleTimeRequest,
  clientMessages,
  popRequest,
  sendRequest,
  sleep,
  startPopBroker,
  tempPopRoot,
  type ClientMessage,
  type PopBroker,
  type PopRequestOptions,
} from '../../src/broker/pop/pop-test-support.js';

let running: PopBroker;
let client: RemotingClient;
let removeRoot: () => void;

before(async () => {
  const temp = tempPopRoot();
  removeRoot = temp.remove;
  running = await startPopBroker(temp.root);
  client = new RemotingClient({ requestTimeoutMs: 10_000 });
});

after(async () => {
  await client?.close();
  await running?.close();
  removeRoot?.();
});

async function createTopic(topic: string, queueNums = 1): Promise<void> {
  const response = await client.invoke(running.address, createRequest(RequestCode.UPDATE_AND_CREATE_TOPIC, {
    topic, defaultTopic: 'TBW102', readQueueNums: String(queueNums), writeQueueNums: String(queueNums), perm: '6', topicFilterType: 'SINGLE_TAG', topicSysFlag: '0', order: 'false',
  }));
  assert.equal(response.code, 0, response.remark);
}

async function send(topic: string, body: string, options: { tags?: string; queueId?: number } = {}): Promise<void> {
  const response = await client.invoke(running.address, sendRequest(topic, body, options));
  assert.equal(response.code, 0, response.remark);
}

async function pop(group: string, topic: string, options: PopRequestOptions = {}): Promise<{ response: RemotingCommand; messages: ClientMessage[] }> {
  const response = await client.invoke(running.address, popRequest(group, topic, options), 15_000);
  const messages = response.code === 0 ? clientMessages(response, group, topic, options.order) : [];
  return { response, messages };
}

async function ack(group: string, message: ClientMessage): Promise<RemotingCommand> {
  return client.invoke(running.address, ackRequest(group, message.ackTopic, message.record.queueId, message.record.queueOffset, message.extraInfo));
}

/** Pops until something comes (or the deadline passes); returns the answer's popTime too. */
async function popUntilFound(group: string, topic: string, timeoutMs: number, options: PopRequestOptions = {}): Promise<ClientMessage[]> {
  return (await popUntilFoundWithTime(group, topic, timeoutMs, options)).messages;
}

async function popUntilFoundWithTime(group: string, topic: string, timeoutMs: number, options: PopRequestOptions = {}): Promise<{ messages: ClientMessage[]; popTimeMs: number }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { response, messages } = await pop(group, topic, options);
    if (messages.length > 0) return { messages, popTimeMs: Number(response.extFields?.popTime) };
    if (Date.now() > deadline) return { messages: [], popTimeMs: 0 };
    await sleep(100);
  }
}

// The tests use their own topics and groups, so they run at the same time.
describe('POP over remoting', { concurrency: true }, () => {
  // Timing-independent: whatever a pop returns during a message's invisible time must not be that
  // message; a re-delivery carries a popTime at or after the first popTime + invisibleTime.
  test('popped and acked messages never come back; un-acked ones return once with reconsumeTimes + 1', async () => {
    await createTopic('PopBasic');
    for (const body of ['m0', 'm1', 'm2']) await send('PopBasic', body);
    const first = await pop('G-basic', 'PopBasic', { invisibleTimeMs: 1000 });
    assert.equal(first.response.code, 0);
    assert.deepEqual(first.messages.map((message) => message.record.body.toString()), ['m0', 'm1', 'm2']);
    const firstPopTimeMs = Number(first.response.extFields?.popTime);
    assert.ok(firstPopTimeMs > 0);
    assert.equal(first.response.extFields?.invisibleTime, '1000');
    assert.equal(first.response.extFields?.reviveQid, '0');
    for (const message of first.messages.slice(0, 2)) assert.equal((await ack('G-basic', message)).code, 0);

    const again = await popUntilFoundWithTime('G-basic', 'PopBasic', 5000);
    assert.deepEqual(again.messages.map((message) => message.record.body.toString()), ['m2'], 'only the un-acked message comes back');
    assert.ok(again.popTimeMs >= firstPopTimeMs + 1000, 'and only after its invisible time');
    const [retried] = again.messages;
    assert.equal(retried!.record.topic, 'PopBasic', 'the client sees the original topic');
    assert.equal(retried!.record.reconsumeTimes, 1);
    assert.equal(retried!.ackTopic, '%RETRY%G-basic_PopBasic');
    assert.equal(getProperty(retried!.record.properties, '1ST_POP_TIME'), String(firstPopTimeMs));
    assert.equal((await ack('G-basic', retried!)).code, 0);
    assert.equal((await ack('G-basic', retried!)).code, 0, 'acks are idempotent');

    await sleep(1500);
    const none = await pop('G-basic', 'PopBasic');
    assert.equal(none.response.code, ResponseCode.POLLING_TIMEOUT, 'acked messages never come back');
    assert.equal(none.response.extFields?.restNum, '0');
  });

  test('change invisible time extends and shortens the invisible time', async () => {
    await createTopic('PopChange');
    await send('PopChange', 'longer');
    await send('PopChange', 'shorter');
    const popped = await pop('G-change', 'PopChange', { invisibleTimeMs: 1000 });
    const [longer, shorter] = popped.messages;
    assert.ok(longer && shorter);
    const extend = await client.invoke(running.address, changeInvisibleTimeRequest('G-change', 'PopChange', 0, longer.record.queueOffset, longer.extraInfo, 4000));
    assert.equal(extend.code, 0, extend.remark);
    assert.equal(extend.extFields?.invisibleTime, '4000');
    assert.ok(Number(extend.extFields?.popTime) >= Number(popped.response.extFields?.popTime));
    // Shorten the second one after hiding it longer first: the new time counts from now.
    const hideLonger = await client.invoke(running.address, changeInvisibleTimeRequest('G-change', 'PopChange', 0, shorter.record.queueOffset, shorter.extraInfo, 30_000));
    assert.equal(hideLonger.code, 0);
    const newHandle = [shorter.record.queueOffset, hideLonger.extFields!.popTime, 30_000, 0, 0, 'broker-a', 0, shorter.record.queueOffset].join(' ');
    const shorten = await client.invoke(running.address, changeInvisibleTimeRequest('G-change', 'PopChange', 0, shorter.record.queueOffset, newHandle, 1000));
    assert.equal(shorten.code, 0, shorten.remark);

    const { messages: back, popTimeMs: backAtMs } = await popUntilFoundWithTime('G-change', 'PopChange', 3000);
    assert.deepEqual(back.map((message) => message.record.body.toString()), ['shorter'], 'the shortened one is back first; the extended one stays hidden');
    assert.ok(backAtMs >= Number(shorten.extFields!.popTime) + 1000);
    assert.equal((await ack('G-change', back[0]!)).code, 0);
    const stale = await client.invoke(running.address, changeInvisibleTimeRequest('G-change', 'PopChange', 0, longer.record.queueOffset, longer.extraInfo, 2000));
    assert.equal(stale.code, ResponseCode.NO_MESSAGE, 'the handle replaced by a change is stale');
    const { messages: later, popTimeMs: laterAtMs } = await popUntilFoundWithTime('G-change', 'PopChange', 6000);
    assert.deepEqual(later.map((message) => message.record.body.toString()), ['longer']);
    assert.ok(laterAtMs >= Number(extend.extFields!.popTime) + 4000, 'the extended one comes back only after its new invisible time');
    assert.equal(later[0]!.record.reconsumeTimes, 1);
  });

  test('batch ack acks every message named in its bit sets', async () => {
    await createTopic('PopBatch');
    for (let index = 0; index < 5; index++) await send('PopBatch', `b${index}`);
    const popped = await pop('G-batch', 'PopBatch', { invisibleTimeMs: 1000 });
    assert.equal(popped.messages.length, 5);
    const fields = popped.messages[0]!.extraInfo.split(' ');
    const startOffset = Number(fields[0]);
    let bits = 0;
    for (const message of popped.messages.slice(0, 4)) bits |= 1 << (message.record.queueOffset - startOffset);
    const body = { brokerName: 'broker-a', acks: [{ c: 'G-batch', t: 'PopBatch', r: '0', so: startOffset, q: 0, rq: 0, pt: Number(fields[1]), it: 1000, b: Buffer.from([bits]).toString('base64') }] };
    const response = await client.invoke(running.address, createRequest(RequestCode.BATCH_ACK_MESSAGE, undefined, Buffer.from(JSON.stringify(body))));
    assert.equal(response.code, 0, response.remark);
    const back = await popUntilFound('G-batch', 'PopBatch', 5000);
    assert.deepEqual(back.map((message) => message.record.body.toString()), ['b4']);
  });

  test('after retryMaxTimes re-deliveries the message goes to %DLQ%group', async () => {
    await createTopic('PopDlq');
    const groupConfig = { groupName: 'G-dlq', consumeEnable: true, retryQueueNums: 1, retryMaxTimes: 1 };
    const created = await client.invoke(running.address, createRequest(RequestCode.UPDATE_AND_CREATE_SUBSCRIPTIONGROUP, undefined, Buffer.from(JSON.stringify(groupConfig))));
    assert.equal(created.code, 0, created.remark);
    await send('PopDlq', 'poison', { tags: 'P' });
    const attempts: number[] = [];
    for (let attempt = 0; attempt < 2; attempt++) {
      const messages = await popUntilFound('G-dlq', 'PopDlq', 5000, { invisibleTimeMs: 1000 });
      assert.equal(messages.length, 1, `delivery ${attempt + 1}`);
      attempts.push(messages[0]!.record.reconsumeTimes);
    }
    assert.deepEqual(attempts, [0, 1]);
    const pullDlq = async (): Promise<RemotingCommand> => client.invoke(running.address, createRequest(RequestCode.PULL_MESSAGE, {
      consumerGroup: 'G-dlq-reader', topic: '%DLQ%G-dlq', queueId: '0', queueOffset: '0', maxMsgNums: '32', sysFlag: '4', commitOffset: '0', suspendTimeoutMillis: '0', subscription: '*', subVersion: '0', expressionType: 'TAG',
    }));
    let dead: RemotingCommand | undefined;
    for (let tries = 0; tries < 50 && dead === undefined; tries++) {
      const response = await pullDlq();
      if (response.code === 0) dead = response;
      else await sleep(100);
    }
    assert.ok(dead, 'the message reached the DLQ');
    const [record] = decodeRecords(dead.body!);
    assert.equal(record!.body.toString(), 'poison');
    assert.equal(getProperty(record!.properties, 'TAGS'), 'P');
    assert.equal(getProperty(record!.properties, 'DLQ_ORIGIN_TOPIC'), 'PopDlq');
    const none = await pop('G-dlq', 'PopDlq');
    assert.equal(none.response.code, ResponseCode.POLLING_TIMEOUT, 'the DLQ-ed message is not popped again');
  });

  test('FIFO pop blocks a queue until its message is acked or its invisible time passes', async () => {
    await createTopic('PopFifo');
    for (const body of ['f0', 'f1', 'f2']) await send('PopFifo', body);
    const first = await pop('G-fifo', 'PopFifo', { order: true, maxMsgNums: 1, invisibleTimeMs: 1000 });
    assert.deepEqual(first.messages.map((message) => message.record.body.toString()), ['f0']);
    assert.equal(first.response.extFields?.reviveQid, '999');
    const firstPopTimeMs = Number(first.response.extFields?.popTime);
    // Until f0's invisible time has passed, pops get nothing; then f0 again (never f1 before f0 is done).
    const { messages: again, popTimeMs } = await popUntilFoundWithTime('G-fifo', 'PopFifo', 5000, { order: true, maxMsgNums: 1, invisibleTimeMs: 1000 });
    assert.deepEqual(again.map((message) => message.record.body.toString()), ['f0'], 'the same message comes back after its invisible time');
    assert.ok(popTimeMs >= firstPopTimeMs + 1000, 'and not before');
    assert.equal(again[0]!.reconsumeTimes, 1, 'with its attempt count raised (orderCountInfo)');
    assert.equal((await ack('G-fifo', first.messages[0]!)).code, ResponseCode.NO_MESSAGE, 'the first delivery\'s handle is stale');
    assert.equal((await ack('G-fifo', again[0]!)).code, 0);
    const next = await pop('G-fifo', 'PopFifo', { order: true, maxMsgNums: 2, invisibleTimeMs: 1000 });
    assert.deepEqual(next.messages.map((message) => message.record.body.toString()), ['f1', 'f2']);
    assert.equal(next.messages[0]!.reconsumeTimes, 0);
  });

  test('a long-polling pop is answered when a message arrives', async () => {
    await createTopic('PopLong');
    const waiting = pop('G-long', 'PopLong', { pollTimeMs: 8000, invisibleTimeMs: 5000 });
    await sleep(300);
    await send('PopLong', 'late');
    const { response, messages } = await waiting;
    assert.equal(response.code, 0);
    assert.deepEqual(messages.map((message) => message.record.body.toString()), ['late']);
    const empty = await pop('G-long', 'PopLong', { pollTimeMs: 300 });
    assert.equal(empty.response.code, ResponseCode.POLLING_TIMEOUT, 'an empty long poll ends with POLLING_TIMEOUT');
  });

  test('a stale or forged receipt handle is refused; TAG filters apply', async () => {
    await createTopic('PopStale');
    await send('PopStale', 'x', { tags: 'A' });
    await send('PopStale', 'y', { tags: 'B' });
    const { messages } = await pop('G-stale', 'PopStale', { exp: 'B', invisibleTimeMs: 1000 });
    assert.deepEqual(messages.map((message) => message.record.body.toString()), ['y']);
    const forged = messages[0]!.extraInfo.replace(/^(\d+) (\d+)/, (_, start: string, popTime: string) => `${start} ${Number(popTime) - 100_000}`);
    assert.equal((await client.invoke(running.address, ackRequest('G-stale', 'PopStale', 0, messages[0]!.record.queueOffset, forged))).code, ResponseCode.NO_MESSAGE);
    const back = await popUntilFound('G-stale', 'PopStale', 5000, { exp: 'B' });
    assert.equal(back.length, 1);
    assert.equal((await ack('G-stale', messages[0]!)).code, ResponseCode.NO_MESSAGE, 'the first handle expired when the message came back');
    assert.equal((await ack('G-stale', back[0]!)).code, 0);
    assert.equal(running.pop.ack('G-stale', 'PopStale', 'not a handle'), 'INVALID_RECEIPT_HANDLE');
  });

  test('bad requests get RocketMQ answers', async () => {
    await createTopic('PopBad', 2);
    assert.equal((await pop('G-bad', 'PopBad', { invisibleTimeMs: 10 })).response.code, ResponseCode.INVALID_PARAMETER, 'invisible time out of range');
    assert.equal((await pop('G-bad', 'PopBad', { maxMsgNums: 33 })).response.code, ResponseCode.INVALID_PARAMETER, 'more than 32 messages');
    assert.equal((await pop('G-bad', 'PopBad', { queueId: 2 })).response.code, ResponseCode.INVALID_PARAMETER, 'queue id past the topic');
    assert.equal((await pop('G-bad', 'NoSuchTopic')).response.code, ResponseCode.TOPIC_NOT_EXIST);
    const missing = await client.invoke(running.address, createRequest(RequestCode.POP_MESSAGE, { consumerGroup: 'G-bad', topic: 'PopBad' }));
    assert.equal(missing.code, ResponseCode.INVALID_PARAMETER);
    const badQueue = await client.invoke(running.address, ackRequest('G-bad', 'PopBad', 5, 0, '0 1 1000 0 0 broker-a 5 0'));
    assert.equal(badQueue.code, ResponseCode.MESSAGE_ILLEGAL);
    const badBody = await client.invoke(running.address, createRequest(RequestCode.BATCH_ACK_MESSAGE, undefined, Buffer.from('{')));
    assert.equal(badBody.code, ResponseCode.INVALID_PARAMETER);
  });
});
