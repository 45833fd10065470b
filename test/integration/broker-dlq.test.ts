// Proves %DLQ%group is readable like any topic and that RESEND_DLQ_MESSAGE (10001) puts dead-lettered messages back on their original topic (by DLQ queue offset, range, UNIQ_KEY or offsetMsgId) with reconsumeTimes 0 and without retry bookkeeping, while no consumer of the group is online; bad requests are answered with clear codes.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { RESEND_DLQ_MESSAGE } from '../../src/broker/handlers/admin/index.js';
import { createOffsetMessageId } from '../../src/protocol/message-id.js';
import { getProperty } from '../../src/protocol/message-properties.js';
import type { DecodedRecord } from '../../src/protocol/message-record.js';
import { createRequest, type RemotingCommand } from '../../src/protocol/remoting-command.js';
import { RequestCode } from '../../src/protocol/request-code.js';
import type { RemotingClient } from '../../src/remoting/remoting-client.js';
import { heartbeatRequest, newClient, pullRequest, recordsOf, send, startBroker, tempRoot, waitFor, type RunningBroker } from './broker-test-support.js';

let running: RunningBroker;
let admin: RemotingClient;
let removeRoot: () => void;

const GROUP = 'CG-dlq';
const DLQ = `%DLQ%${GROUP}`;
const ORIGIN = 'DlqOrigin';

interface ResentEntry {
  dlqQueueOffset: number;
  dlqMsgId: string;
  topic: string;
  queueId: number;
  queueOffset: number;
  msgId: string;
}

/** The three original messages as first pulled. */
let originals: DecodedRecord[] = [];

before(async () => {
  const temp = tempRoot();
  removeRoot = temp.remove;
  running = await startBroker(temp.root);
  admin = newClient();
});

after(async () => {
  await admin?.close();
  await running?.close();
  removeRoot?.();
});

async function pullFrom(client: RemotingClient, group: string, topic: string, queueId: number, offset: number): Promise<DecodedRecord[]> {
  const answer = await client.invoke(running.address, pullRequest(group, topic, offset, { queueId, subscription: '*' }));
  return answer.code === 0 ? recordsOf(answer) : [];
}

function sendBack(client: RemotingClient, record: DecodedRecord, delayLevel: number, maxReconsumeTimes = 16): Promise<RemotingCommand> {
  return client.invoke(running.address, createRequest(RequestCode.CONSUMER_SEND_MSG_BACK, {
    offset: String(record.physicalOffset), group: GROUP, delayLevel: String(delayLevel), originTopic: record.topic, unitMode: 'false', maxReconsumeTimes: String(maxReconsumeTimes),
  }));
}

function resend(fields: Record<string, string>): Promise<RemotingCommand> {
  return admin.invoke(running.address, createRequest(RESEND_DLQ_MESSAGE, fields));
}

function resentOf(answer: RemotingCommand): ResentEntry[] {
  assert.equal(answer.code, 0, answer.remark);
  const resent = (JSON.parse(answer.body!.toString('utf8')) as { resent: ResentEntry[] }).resent;
  assert.equal(answer.extFields?.resentCount, String(resent.length));
  return resent;
}

async function delivered(entry: ResentEntry): Promise<DecodedRecord> {
  const [record] = await pullFrom(admin, 'CG-check', entry.topic, entry.queueId, entry.queueOffset);
  assert.ok(record, `the re-sent copy at ${entry.topic}/${entry.queueId}/${entry.queueOffset}`);
  return record;
}

test('messages die into %DLQ%group, which any group can read like a topic', async () => {
  const consumer = newClient();
  assert.equal((await consumer.invoke(running.address, heartbeatRequest('10.0.0.7@dlq', GROUP, [ORIGIN]))).code, 0);
  for (let index = 0; index < 3; index++) {
    await send(consumer, running.address, ORIGIN, `body-${index}`, { queueId: 0, tags: 'Job', keys: `job-${index}`, properties: { biz: `b${index}` } });
  }
  originals = await pullFrom(consumer, GROUP, ORIGIN, 0, 0);
  assert.equal(originals.length, 3);
  // Two die at once (delay level -1); the third goes through one retry first and dies on the second failure.
  assert.equal((await sendBack(consumer, originals[0]!, -1)).code, 0);
  assert.equal((await sendBack(consumer, originals[1]!, -1)).code, 0);
  assert.equal((await sendBack(consumer, originals[2]!, 0, 1)).code, 0);
  const [retried] = await waitFor(async () => {
    const records = await pullFrom(consumer, GROUP, `%RETRY%${GROUP}`, 0, 0);
    return records.length > 0 ? records : undefined;
  }, 15_000, 'the retry copy');
  assert.equal(retried!.reconsumeTimes, 1);
  assert.equal((await sendBack(consumer, retried!, 0, 1)).code, 0);
  // The consumer goes away: nothing of the group is online from here on.
  await consumer.close();
  await waitFor(async () => {
    const list = await admin.invoke(running.address, createRequest(RequestCode.GET_CONSUMER_LIST_BY_GROUP, { consumerGroup: GROUP }));
    return list.code !== 0 ? true : undefined;
  }, 5000, 'the group to have no consumer online');

  const dead = await pullFrom(admin, 'CG-dlq-reader', DLQ, 0, 0);
  assert.deepEqual(dead.map((record) => record.body.toString()), ['body-0', 'body-1', 'body-2']);
  assert.deepEqual(dead.map((record) => record.reconsumeTimes), [1, 1, 2]);
  for (const record of dead) assert.equal(getProperty(record.properties, 'RETRY_TOPIC'), ORIGIN);
});

test('re-send by DLQ queue offset: a fresh message on the original topic', async () => {
  const [entry] = resentOf(await resend({ consumerGroup: GROUP, queueOffset: '0' }));
  assert.ok(entry);
  assert.equal(entry.dlqQueueOffset, 0);
  assert.equal(entry.topic, ORIGIN);
  const copy = await delivered(entry);
  assert.equal(copy.body.toString(), 'body-0');
  assert.equal(copy.reconsumeTimes, 0);
  assert.equal(copy.topic, ORIGIN);
  assert.equal(getProperty(copy.properties, 'TAGS'), 'Job');
  assert.equal(getProperty(copy.properties, 'KEYS'), 'job-0');
  assert.equal(getProperty(copy.properties, 'biz'), 'b0');
  assert.equal(getProperty(copy.properties, 'UNIQ_KEY'), getProperty(originals[0]!.properties, 'UNIQ_KEY'), 'the message keeps its id');
  for (const gone of ['RETRY_TOPIC', 'ORIGIN_MESSAGE_ID', 'DELAY', 'MAX_RECONSUME_TIMES']) {
    assert.equal(getProperty(copy.properties, gone), undefined, `${gone} is retry bookkeeping`);
  }
  // The original group consumes it like any new message: a pull from its committed position sees it.
  const again = await pullFrom(admin, GROUP, ORIGIN, entry.queueId, entry.queueOffset);
  assert.equal(again[0]?.body.toString(), 'body-0');
});

test('re-send by UNIQ_KEY, by the DLQ copy’s offsetMsgId, and a whole range', async () => {
  const uniqueKey = getProperty(originals[1]!.properties, 'UNIQ_KEY')!;
  const [byKey] = resentOf(await resend({ consumerGroup: GROUP, msgId: uniqueKey }));
  assert.equal(byKey!.dlqQueueOffset, 1);
  assert.equal((await delivered(byKey!)).body.toString(), 'body-1');

  const [deadThird] = await pullFrom(admin, 'CG-dlq-reader', DLQ, 0, 2);
  const dlqOffsetMsgId = createOffsetMessageId({ ip: Buffer.from(deadThird!.storeHost.ip), port: deadThird!.storeHost.port }, deadThird!.physicalOffset);
  const [byOffsetId] = resentOf(await resend({ consumerGroup: GROUP, msgId: dlqOffsetMsgId }));
  assert.equal(byOffsetId!.dlqMsgId, dlqOffsetMsgId);
  assert.equal(byOffsetId!.dlqQueueOffset, 2);
  assert.equal((await delivered(byOffsetId!)).body.toString(), 'body-2');

  const range = resentOf(await resend({ consumerGroup: GROUP, queueOffset: '0', maxCount: '10' }));
  assert.deepEqual(range.map((entry) => entry.dlqQueueOffset), [0, 1, 2]);
  assert.deepEqual(await Promise.all(range.map(async (entry) => (await delivered(entry)).body.toString())), ['body-0', 'body-1', 'body-2']);
});

test('bad re-send requests are answered, and change nothing', async () => {
  const maxBefore = await admin.invoke(running.address, createRequest(RequestCode.GET_MAX_OFFSET, { topic: ORIGIN, queueId: '0' }));
  const cases: Array<[Record<string, string>, number, RegExp]> = [
    [{ consumerGroup: 'CG-never-failed', queueOffset: '0' }, 17, /has no dead-letter queue/],
    [{ consumerGroup: GROUP }, 29, /exactly one of msgId or queueOffset/],
    [{ consumerGroup: GROUP, queueOffset: '0', msgId: 'x' }, 29, /exactly one/],
    [{ consumerGroup: GROUP, queueOffset: '0', maxCount: '0' }, 29, /maxCount/],
    [{ consumerGroup: GROUP, queueOffset: '-1' }, 29, /negative/],
    [{ consumerGroup: GROUP, queueOffset: '99' }, 22, /offsets 0-2/],
    [{ consumerGroup: GROUP, msgId: 'no-such-key' }, 22, /no message/],
    [{ consumerGroup: 'bad group!', queueOffset: '0' }, 29, /not a valid group name/],
    [{ queueOffset: '0' }, 29, /consumerGroup/],
  ];
  for (const [fields, code, remark] of cases) {
    const answer = await resend(fields);
    assert.equal(answer.code, code, `${JSON.stringify(fields)}: ${answer.remark}`);
    assert.match(answer.remark ?? '', remark, JSON.stringify(fields));
  }
  const maxAfter = await admin.invoke(running.address, createRequest(RequestCode.GET_MAX_OFFSET, { topic: ORIGIN, queueId: '0' }));
  assert.equal(maxAfter.extFields?.offset, maxBefore.extFields?.offset);
});

test('a DLQ message whose original topic was deleted is refused with how to recreate it', async () => {
  const group = 'CG-dlq-gone';
  await send(admin, running.address, 'DlqGoneTopic', 'orphan', { queueId: 0 });
  const [record] = await pullFrom(admin, group, 'DlqGoneTopic', 0, 0);
  const dead = await admin.invoke(running.address, createRequest(RequestCode.CONSUMER_SEND_MSG_BACK, {
    offset: String(record!.physicalOffset), group, delayLevel: '-1', originTopic: 'DlqGoneTopic', unitMode: 'false',
  }));
  assert.equal(dead.code, 0);
  assert.equal((await admin.invoke(running.address, createRequest(RequestCode.DELETE_TOPIC_IN_BROKER, { topic: 'DlqGoneTopic' }))).code, 0);
  const answer = await admin.invoke(running.address, createRequest(RESEND_DLQ_MESSAGE, { consumerGroup: group, queueOffset: '0' }));
  assert.equal(answer.code, 17);
  assert.match(answer.remark ?? '', /updateTopic -t DlqGoneTopic/);
});
