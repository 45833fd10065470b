// Proves 5.x timer messages against a real broker over the remoting protocol: TIMER_DELIVER_MS, TIMER_DELAY_SEC and TIMER_DELAY_MS delivered on time and never early, horizon and malformed values refused with 13, a delay level winning over a timer request, recall before the time (and its refusals), and delivery exactly once across a broker restart.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { getProperty } from '../../src/protocol/message-properties.js';
import type { DecodedRecord } from '../../src/protocol/message-record.js';
import { createRequest } from '../../src/protocol/remoting-command.js';
import { RequestCode } from '../../src/protocol/request-code.js';
import type { RemotingClient } from '../../src/remoting/remoting-client.js';
import { decodeRecallHandle, recallHandleFor } from '../../src/broker/timer/recall-handle.js';
import { newClient, pullRequest, recordsOf, send, sendV2Request, startBroker, tempRoot, waitFor, type RunningBroker } from './broker-test-support.js';

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

async function pullAll(broker: RunningBroker, topic: string, via: RemotingClient = client): Promise<DecodedRecord[]> {
  const response = await via.invoke(broker.address, pullRequest('CG-timer', topic, 0, { subscription: '*', maxMsgNums: 64 }));
  return response.code === 0 ? recordsOf(response) : [];
}

function recallRequest(topic: string, recallHandle: string) {
  return createRequest(RequestCode.RECALL_MESSAGE, { producerGroup: 'PG', topic, recallHandle, brokerName: 'broker-a' });
}

test('each timer property is delivered at its time, never before', async () => {
  const sentAtMs = Date.now();
  const deliverAt = sentAtMs + 2000;
  const answers = await Promise.all([
    send(client, running.address, 'TimerT', 'deliver-ms', { properties: { TIMER_DELIVER_MS: String(deliverAt), UNIQ_KEY: 'TIMER-A' } }),
    send(client, running.address, 'TimerT', 'delay-sec', { properties: { TIMER_DELAY_SEC: '2', UNIQ_KEY: 'TIMER-B' } }),
    send(client, running.address, 'TimerT', 'delay-ms', { properties: { TIMER_DELAY_MS: '1500', UNIQ_KEY: 'TIMER-C' } }),
  ]);
  const answeredAtMs = Date.now();
  for (const answer of answers) {
    const handle = decodeRecallHandle(answer.extFields?.recallHandle);
    assert.ok(handle, 'the send answer carries a recall handle');
    assert.equal(handle.topic, 'TimerT');
    assert.equal(handle.brokerName, 'broker-a');
  }
  assert.equal((await pullAll(running, 'TimerT')).length, 0, 'nothing is visible before its time');
  const records = await waitFor(async () => {
    const found = await pullAll(running, 'TimerT');
    return found.length === 3 ? found : undefined;
  }, 15_000, 'the three timer messages');
  const byBody = new Map(records.map((record) => [record.body.toString(), record]));
  const lowerBound = { 'deliver-ms': deliverAt, 'delay-sec': sentAtMs + 2000, 'delay-ms': sentAtMs + 1500 } as Record<string, number>;
  const upperBound = { 'deliver-ms': deliverAt, 'delay-sec': answeredAtMs + 2000, 'delay-ms': answeredAtMs + 1500 } as Record<string, number>;
  for (const [body, record] of byBody) {
    const outMs = Number(getProperty(record.properties, 'TIMER_OUT_MS'));
    assert.ok(outMs >= lowerBound[body]! && outMs <= upperBound[body]!, `${body}: parked until ${outMs - sentAtMs} ms after the send`);
    assert.ok(record.storeTimestamp >= outMs, `${body} delivered ${record.storeTimestamp - outMs} ms after its time, not before`);
    assert.equal(record.topic, 'TimerT');
    assert.equal(record.queueId, 0);
    assert.equal(getProperty(record.properties, 'REAL_TOPIC'), undefined);
  }
  assert.equal(byBody.get('delay-ms')!.queueOffset, 0, 'delivered in time order');
});

test('a time beyond the horizon and malformed timer properties are refused with 13', async () => {
  const refusals: Array<[Record<string, string>, RegExp]> = [
    [{ TIMER_DELAY_SEC: '3456001' }, /timerMaxDelaySec=3456000/],
    [{ TIMER_DELIVER_MS: String(Date.now() + 41 * 86_400_000) }, /beyond the broker's maximum/],
    [{ TIMER_DELAY_MS: 'soon' }, /TIMER_DELAY_MS="soon" is not an integer/],
    [{ TIMER_DELIVER_MS: '1.5e12' }, /TIMER_DELIVER_MS/],
  ];
  for (const [properties, remark] of refusals) {
    const response = await client.invoke(running.address, sendV2Request('TimerRefused', 'x', { properties }));
    assert.equal(response.code, 13, JSON.stringify(properties));
    assert.match(response.remark ?? '', remark);
  }
  const accepted = await send(client, running.address, 'TimerRefused', 'at the horizon', { properties: { TIMER_DELAY_SEC: '3456000' } });
  assert.ok(accepted.extFields?.recallHandle, 'exactly 40 days is accepted');
  const parked = await client.invoke(running.address, createRequest(RequestCode.GET_MAX_OFFSET, { topic: 'rmq_sys_wheel_timer', queueId: '0' }));
  assert.equal(parked.code, 0);
});

test('a delay level wins over a timer request, whose properties are dropped', async () => {
  const sentAtMs = Date.now();
  const answer = await send(client, running.address, 'TimerVsDelay', 'level', { properties: { DELAY: '1', TIMER_DELIVER_MS: String(sentAtMs + 60_000) } });
  assert.equal(answer.extFields?.recallHandle, undefined, 'only timer messages get a recall handle');
  const [record] = await waitFor(async () => {
    const found = await pullAll(running, 'TimerVsDelay');
    return found.length > 0 ? found : undefined;
  }, 10_000, 'the delay-level message');
  assert.ok(record!.storeTimestamp - sentAtMs < 30_000, 'delivered by its 1 s level, not the 60 s timer');
  assert.equal(getProperty(record!.properties, 'TIMER_DELIVER_MS'), undefined);
  assert.equal(getProperty(record!.properties, 'TIMER_OUT_MS'), undefined);
});

test('a recall before the time stops the delivery; late, forged and foreign handles are refused', async () => {
  const recalled = await send(client, running.address, 'TimerRecall', 'recalled', { properties: { TIMER_DELAY_MS: '1500', UNIQ_KEY: 'RECALL-ME' } });
  await send(client, running.address, 'TimerRecall', 'control', { properties: { TIMER_DELAY_MS: '2500' } });
  const handle = recalled.extFields!.recallHandle!;
  const answer = await client.invoke(running.address, recallRequest('TimerRecall', handle));
  assert.equal(answer.code, 0, answer.remark);
  assert.equal(answer.extFields?.msgId, 'RECALL-ME');
  assert.equal((await client.invoke(running.address, recallRequest('TimerRecall', handle))).code, 0, 'recalling twice is harmless');

  assert.equal((await client.invoke(running.address, recallRequest('TimerRecall', 'not-a-handle!'))).code, 604);
  const wrongTopic = await client.invoke(running.address, recallRequest('TimerT', handle));
  assert.equal(wrongTopic.code, 604);
  assert.match(wrongTopic.remark ?? '', /topic not match/);
  const foreign = recallHandleFor('TimerRecall', 'broker-z', Date.now() + 5000, 'X');
  assert.equal((await client.invoke(running.address, recallRequest('TimerRecall', foreign))).code, 604);
  const past = recallHandleFor('TimerRecall', 'broker-a', Date.now() - 1000, 'X');
  const late = await client.invoke(running.address, recallRequest('TimerRecall', past));
  assert.equal(late.code, 604);
  assert.match(late.remark ?? '', /timestamp invalid/);
  assert.equal((await client.invoke(running.address, recallRequest('NoSuchTopicForRecall', handle))).code, 17);

  const records = await waitFor(async () => {
    const found = await pullAll(running, 'TimerRecall');
    return found.length > 0 ? found : undefined;
  }, 10_000, 'the control message');
  assert.deepEqual(records.map((record) => record.body.toString()), ['control'], 'the recalled message, due first, never came');
});

test('timer messages parked before a restart are delivered once after it', async (t) => {
  const temp = tempRoot();
  t.after(() => temp.remove());
  let broker = await startBroker(temp.root);
  let other = newClient();
  for (let index = 0; index < 5; index++) {
    await send(other, broker.address, 'TimerRestart', `r${index}`, { properties: { TIMER_DELAY_MS: String(1500 + index * 200) } });
  }
  await broker.close();
  await other.close();
  broker = await startBroker(temp.root);
  other = newClient();
  t.after(async () => {
    await other.close();
    await broker.close();
  });
  const records = await waitFor(async () => {
    const found = await pullAll(broker, 'TimerRestart', other);
    return found.length === 5 ? found : undefined;
  }, 15_000, 'the five messages after the restart');
  assert.deepEqual(records.map((record) => record.body.toString()), ['r0', 'r1', 'r2', 'r3', 'r4']);
  await new Promise((resolve) => setTimeout(resolve, 1000));
  assert.equal((await pullAll(broker, 'TimerRestart', other)).length, 5, 'nothing delivered twice');
});
