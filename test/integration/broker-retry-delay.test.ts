// Proves delay-level messages are delivered to their topic when due, send-back parks a copy in %RETRY%group with reconsumeTimes+1, and after the maximum the message lands in %DLQ%group.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequest } from '../../src/protocol/remoting-command.js';
import { RequestCode } from '../../src/protocol/request-code.js';
import { getProperty } from '../../src/protocol/message-properties.js';
import type { DecodedRecord } from '../../src/protocol/message-record.js';
import type { RemotingClient } from '../../src/remoting/remoting-client.js';
import { newClient, pullRequest, recordsOf, send, startBroker, tempRoot, waitFor, type RunningBroker } from './broker-test-support.js';

let running: RunningBroker;
let client: RemotingClient;
let removeRoot: () => void;

before(async () => {
  const temp = tempRoot();
  removeRoot = temp.remove;
  running = await startBroker(temp.root);
  client = newClient();
});

after(async () => {
  await client?.close();
  await running?.close();
  removeRoot?.();
});

async function pullAll(group: string, topic: string, fromOffset = 0): Promise<DecodedRecord[] | undefined> {
  const response = await client.invoke(running.address, pullRequest(group, topic, fromOffset, { subscription: '*' }));
  return response.code === 0 ? recordsOf(response) : undefined;
}

test('a delay-level message reaches its topic only when due', async () => {
  const sentAtMs = Date.now();
  const answer = await send(client, running.address, 'Delayed', 'later', { properties: { DELAY: '3' }, tags: 'D' });
  assert.equal(answer.extFields?.queueId, '0');
  const immediately = await client.invoke(running.address, pullRequest('CG-delay', 'Delayed', 0, { subscription: '*' }));
  assert.notEqual(immediately.code, 0, 'not visible before its delivery time');
  const records = await waitFor(() => pullAll('CG-delay', 'Delayed'), 10_000, 'the delayed message');
  assert.ok(Date.now() - sentAtMs >= 900, 'delivered after the 1 s level delay');
  assert.equal(records[0]!.body.toString(), 'later');
  assert.equal(records[0]!.topic, 'Delayed');
  assert.equal(getProperty(records[0]!.properties, 'DELAY'), undefined);
  assert.equal(getProperty(records[0]!.properties, 'REAL_TOPIC'), undefined);
  assert.equal(getProperty(records[0]!.properties, 'TAGS'), 'D');
  const delayOffsets = await client.invoke(running.address, createRequest(RequestCode.GET_MAX_OFFSET, { topic: 'SCHEDULE_TOPIC_XXXX', queueId: '2' }));
  assert.equal(delayOffsets.extFields?.offset, '1', 'it was parked in the level-3 schedule queue');
});

test('send-back to %RETRY% with reconsumeTimes+1, then to %DLQ% after the maximum', async () => {
  // A group allowing 2 retries, through a heartbeat-created group updated by the client's header maximum.
  const original = await send(client, running.address, 'Work', 'job', { tags: 'W', keys: 'job-1' });
  const [message] = (await pullAll('CG-retry', 'Work'))!;
  assert.ok(message);
  const sendBack = (offset: number, delayLevel = 0) => client.invoke(running.address, createRequest(RequestCode.CONSUMER_SEND_MSG_BACK, {
    offset: String(offset), group: 'CG-retry', delayLevel: String(delayLevel), originMsgId: original.extFields!.msgId!, originTopic: 'Work', unitMode: 'false', maxReconsumeTimes: '2',
  }));
  assert.equal((await sendBack(message.physicalOffset)).code, 0);

  let retryOffset = 0;
  let current = message;
  for (let attempt = 1; attempt <= 2; attempt++) {
    const retried = await waitFor(() => pullAll('CG-retry', '%RETRY%CG-retry', retryOffset), 15_000, `retry ${attempt}`);
    const copy = retried[0]!;
    assert.equal(copy.reconsumeTimes, attempt);
    assert.equal(copy.body.toString(), 'job');
    assert.equal(getProperty(copy.properties, 'RETRY_TOPIC'), 'Work');
    assert.equal(getProperty(copy.properties, 'ORIGIN_MESSAGE_ID'), original.extFields!.msgId);
    assert.equal(getProperty(copy.properties, 'TAGS'), 'W');
    retryOffset = copy.queueOffset + 1;
    current = copy;
    if (attempt < 2) assert.equal((await sendBack(copy.physicalOffset)).code, 0);
  }
  // reconsumeTimes 2 ≥ maxReconsumeTimes 2: the next send-back goes to the DLQ at once.
  assert.equal((await sendBack(current.physicalOffset)).code, 0);
  const dead = await waitFor(() => pullAll('CG-dlq-reader', '%DLQ%CG-retry'), 5000, 'the DLQ copy');
  assert.equal(dead[0]!.reconsumeTimes, 3);
  assert.equal(dead[0]!.body.toString(), 'job');
  assert.equal(getProperty(dead[0]!.properties, 'ORIGIN_MESSAGE_ID'), original.extFields!.msgId);

  // A negative delay level sends straight to the DLQ.
  const second = await send(client, running.address, 'Work', 'job2');
  const [secondMessage] = (await pullAll('CG-retry', 'Work', 1))!;
  assert.ok(second && secondMessage);
  assert.equal((await sendBack(secondMessage.physicalOffset, -1)).code, 0);
  const deadAgain = await waitFor(async () => {
    const records = await pullAll('CG-dlq-reader', '%DLQ%CG-retry');
    return records && records.length === 2 ? records : undefined;
  }, 5000, 'the second DLQ copy');
  assert.equal(deadAgain[1]!.body.toString(), 'job2');
  assert.equal(deadAgain[1]!.reconsumeTimes, 1);
});

test('a %RETRY% send over the maximum goes to the DLQ (client fallback path)', async () => {
  const answer = await send(client, running.address, '%RETRY%CG-fallback', 'too often', { reconsumeTimes: 5, maxReconsumeTimes: 3, properties: { RETRY_TOPIC: 'Work' } });
  assert.equal(answer.code, 0);
  const records = await waitFor(() => pullAll('CG-x', '%DLQ%CG-fallback'), 5000, 'the DLQ message');
  assert.equal(records[0]!.body.toString(), 'too often');
  const bad = await client.invoke(running.address, createRequest(RequestCode.CONSUMER_SEND_MSG_BACK, { offset: '999999999', group: 'CG-retry', delayLevel: '0' }));
  assert.equal(bad.code, 1, 'an offset with no message is a SYSTEM_ERROR');
});

test('a delayed message survives a restart, and held pulls are answered when the broker closes', async (t) => {
  const temp = tempRoot();
  t.after(() => temp.remove());
  const levels = Array.from({ length: 18 }, () => '2s').join(' ');
  let restartable = await startBroker(temp.root, { messageDelayLevel: levels });
  let other = newClient();
  await send(other, restartable.address, 'Restart', 'parked', { properties: { DELAY: '1' } });
  const held = other.invoke(restartable.address, pullRequest('CG-r', 'Restart', 0, { subscription: '*', suspend: true, suspendTimeoutMillis: 60_000 }), 30_000);
  await new Promise((resolve) => setTimeout(resolve, 100));
  await restartable.close();
  const answered = await held;
  assert.equal(answered.code, 19, 'the held pull is answered PULL_NOT_FOUND at close, not dropped');
  await other.close();

  restartable = await startBroker(temp.root, { messageDelayLevel: levels });
  other = newClient();
  t.after(async () => {
    await other.close();
    await restartable.close();
  });
  const pullRestart = async () => {
    const response = await other.invoke(restartable.address, pullRequest('CG-r', 'Restart', 0, { subscription: '*' }));
    return response.code === 0 ? recordsOf(response) : undefined;
  };
  const records = await waitFor(pullRestart, 10_000, 'the delayed message after the restart');
  assert.equal(records[0]!.body.toString(), 'parked');
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.equal((await pullRestart())!.length, 1, 'delivered once');
});
