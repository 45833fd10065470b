// Proves a real broker stores messages sent with codes 10, 310 (also with ali-ons' numeric header values) and 320, and serves them by pull, long polling, tag filter, key query, id view and offset look-ups.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequest } from '../../src/protocol/remoting-command.js';
import { RequestCode } from '../../src/protocol/request-code.js';
import { decodeOffsetMessageId } from '../../src/protocol/message-id.js';
import { encodeProperties, getProperty } from '../../src/protocol/message-properties.js';
import { hostAddressToString } from '../../src/protocol/host-address.js';
import type { RemotingClient } from '../../src/remoting/remoting-client.js';
import { newClient, pullRequest, rawJsonRequest, recordsOf, send, sendV2Request, startBroker, tempRoot, type RunningBroker } from './broker-test-support.js';

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

test('SEND_MESSAGE (10) and SEND_MESSAGE_V2 (310) answer msgId, queueId, queueOffset; pull returns the records', async () => {
  const v1 = createRequest(RequestCode.SEND_MESSAGE, {
    producerGroup: 'PG', topic: 'SendPull', defaultTopic: 'TBW102', defaultTopicQueueNums: '4', queueId: '1', sysFlag: '0',
    bornTimestamp: String(Date.now()), flag: '7', properties: encodeProperties({ TAGS: 'A', KEYS: 'k1 k2', WAIT: 'true' }), reconsumeTimes: '0', unitMode: 'false',
  }, Buffer.from('first'));
  const first = await client.invoke(running.address, v1);
  assert.equal(first.code, 0, first.remark);
  assert.equal(first.extFields?.queueId, '1');
  assert.equal(first.extFields?.queueOffset, '0');
  assert.equal(first.extFields?.MSG_REGION, 'DefaultRegion');
  assert.equal(first.extFields?.TRACE_ON, 'true');
  const decodedId = decodeOffsetMessageId(first.extFields!.msgId!);
  assert.ok(decodedId);
  assert.equal(hostAddressToString(decodedId.host), running.address, 'the offsetMsgId names this broker');

  const second = await send(client, running.address, 'SendPull', 'second', { queueId: 1, tags: 'B' });
  assert.equal(second.extFields?.queueOffset, '1');

  const pulled = await client.invoke(running.address, pullRequest('CG-pull', 'SendPull', 0, { queueId: 1, subscription: '*' }));
  assert.equal(pulled.code, 0, pulled.remark);
  assert.equal(pulled.extFields?.nextBeginOffset, '2');
  assert.equal(pulled.extFields?.minOffset, '0');
  assert.equal(pulled.extFields?.maxOffset, '2');
  assert.equal(pulled.extFields?.suggestWhichBrokerId, '0');
  const records = recordsOf(pulled);
  assert.deepEqual(records.map((record) => record.body.toString()), ['first', 'second']);
  assert.equal(records[0]!.flag, 7);
  assert.equal(getProperty(records[0]!.properties, 'CLUSTER'), 'DefaultCluster');
  assert.ok(getProperty(records[0]!.properties, 'UNIQ_KEY'), 'the broker adds a UNIQ_KEY');
  assert.equal(records[0]!.physicalOffset, decodedId.physicalOffset);

  const filtered = await client.invoke(running.address, pullRequest('CG-pull', 'SendPull', 0, { queueId: 1, subscription: 'B' }));
  assert.deepEqual(recordsOf(filtered).map((record) => record.body.toString()), ['second']);

  const none = await client.invoke(running.address, pullRequest('CG-pull', 'SendPull', 2, { queueId: 1, subscription: '*' }));
  assert.equal(none.code, 19, 'PULL_NOT_FOUND at the end of the queue');
  const moved = await client.invoke(running.address, pullRequest('CG-pull', 'SendPull', 50, { queueId: 1, subscription: '*' }));
  assert.equal(moved.code, 21, 'PULL_OFFSET_MOVED past the end');
  assert.equal(moved.extFields?.nextBeginOffset, '2');
  const emptyQueue = await client.invoke(running.address, pullRequest('CG-pull', 'SendPull', 0, { queueId: 2, subscription: '*' }));
  assert.equal(emptyQueue.code, 19);
});

test('ali-ons style: raw JSON numbers and booleans in a V2 header', async () => {
  const answer = await rawJsonRequest(running.address, {
    code: 310, language: 'JAVA', version: 121, opaque: 77, flag: 0,
    extFields: { a: 'PG', b: 'AliOnsTopic', c: 'TBW102', d: 4, e: 0, f: 0, g: Date.now(), h: 0, i: encodeProperties({ TAGS: 'T', KEYS: 'ali-key' }), j: 0, k: false, l: 16 },
  }, Buffer.from('from ali-ons'));
  assert.equal(answer.header.code, 0, String(answer.header.remark));
  assert.equal(answer.header.opaque, 77);
  const extFields = answer.header.extFields as Record<string, string>;
  assert.equal(extFields.queueId, '0');
  assert.equal(extFields.queueOffset, '0');
  assert.match(extFields.msgId!, /^[0-9A-F]{32}$/);
});

test('SEND_BATCH_MESSAGE (320) stores each entry at consecutive offsets', async () => {
  const entries = ['b1', 'b2', 'b3'].map((body, index) => {
    const properties = Buffer.from(encodeProperties({ KEYS: `batch-${index}` }));
    const bytes = Buffer.from(body);
    const entry = Buffer.alloc(20 + bytes.length + 2 + properties.length);
    entry.writeInt32BE(entry.length, 0);
    entry.writeInt32BE(0, 4);
    entry.writeInt32BE(0, 8);
    entry.writeInt32BE(index, 12);
    entry.writeInt32BE(bytes.length, 16);
    bytes.copy(entry, 20);
    entry.writeInt16BE(properties.length, 20 + bytes.length);
    properties.copy(entry, 22 + bytes.length);
    return entry;
  });
  const request = sendV2Request('BatchTopic', Buffer.concat(entries), { queueId: 0 });
  request.code = RequestCode.SEND_BATCH_MESSAGE;
  request.extFields!.m = 'true';
  const answer = await client.invoke(running.address, request);
  assert.equal(answer.code, 0, answer.remark);
  assert.equal(answer.extFields?.msgId?.split(',').length, 3);
  assert.equal(answer.extFields?.queueOffset, '0');
  const pulled = await client.invoke(running.address, pullRequest('CG-batch', 'BatchTopic', 0, { subscription: '*' }));
  const records = recordsOf(pulled);
  assert.deepEqual(records.map((record) => [record.body.toString(), record.queueOffset, record.flag]), [['b1', 0, 0], ['b2', 1, 1], ['b3', 2, 2]]);
  assert.ok(records.every((record) => getProperty(record.properties, 'UNIQ_KEY')), 'each entry gets its own UNIQ_KEY');
});

test('a held pull is answered with the message as soon as it is sent', async () => {
  await send(client, running.address, 'LongPoll', 'warm-up');
  const startedMs = Date.now();
  const held = client.invoke(running.address, pullRequest('CG-long', 'LongPoll', 1, { subscription: '*', suspend: true, suspendTimeoutMillis: 20_000 }), 30_000);
  let answered = false;
  void held.then(() => { answered = true; });
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.equal(answered, false, 'the pull is held while nothing arrives');
  await send(client, running.address, 'LongPoll', 'wake up');
  const response = await held;
  assert.equal(response.code, 0, response.remark);
  assert.deepEqual(recordsOf(response).map((record) => record.body.toString()), ['wake up']);
  assert.ok(Date.now() - startedMs < 15_000, 'answered by the arrival, not by the 20 s suspend timeout');

  const expired = await client.invoke(running.address, pullRequest('CG-long', 'LongPoll', 2, { subscription: '*', suspend: true, suspendTimeoutMillis: 200 }));
  assert.equal(expired.code, 19, 'a held pull that sees nothing answers PULL_NOT_FOUND when its time is up');

  // A message the filter rejects does not answer a held tag pull early.
  const tagged = client.invoke(running.address, pullRequest('CG-long2', 'LongPoll', 2, { subscription: 'Wanted', suspend: true, suspendTimeoutMillis: 20_000 }), 30_000);
  await new Promise((resolve) => setTimeout(resolve, 200));
  await send(client, running.address, 'LongPoll', 'unwanted', { tags: 'Other' });
  await send(client, running.address, 'LongPoll', 'wanted', { tags: 'Wanted' });
  const taggedResponse = await tagged;
  const bodies = recordsOf(taggedResponse).map((record) => record.body.toString());
  assert.ok(taggedResponse.code === 0 ? bodies.includes('wanted') && !bodies.includes('unwanted') : taggedResponse.code === 20, `code ${taggedResponse.code} bodies ${bodies}`);
});

test('QUERY_MESSAGE by key and unique key, VIEW_MESSAGE_BY_ID by offset', async () => {
  const sent = await send(client, running.address, 'QueryTopic', 'find me', { keys: 'order-42 other', tags: 'Q' });
  const query = (key: string, unique = false) => {
    const fields: Record<string, string> = { topic: 'QueryTopic', key, maxNum: '32', beginTimestamp: '0', endTimestamp: String(Date.now() + 60_000) };
    // Java's tools send Long.MAX_VALUE as "no end" (mqadmin queryMsgByKey, unique-key lookups).
    if (unique) Object.assign(fields, { _UNIQUE_KEY_QUERY: 'true', endTimestamp: '9223372036854775807' });
    return client.invoke(running.address, createRequest(RequestCode.QUERY_MESSAGE, fields));
  };
  const byKey = await query('order-42');
  assert.equal(byKey.code, 0, byKey.remark);
  assert.ok(byKey.extFields?.indexLastUpdateTimestamp);
  assert.ok(byKey.extFields?.indexLastUpdatePhyoffset);
  const records = recordsOf(byKey);
  assert.deepEqual(records.map((record) => record.body.toString()), ['find me']);
  const uniqueKey = getProperty(records[0]!.properties, 'UNIQ_KEY')!;
  const byUnique = await query(uniqueKey, true);
  assert.equal(recordsOf(byUnique).length, 1);
  const missing = await query('no-such-key');
  assert.equal(missing.code, 22);

  const id = decodeOffsetMessageId(sent.extFields!.msgId!)!;
  const view = await client.invoke(running.address, createRequest(RequestCode.VIEW_MESSAGE_BY_ID, { topic: 'QueryTopic', offset: String(id.physicalOffset) }));
  assert.equal(view.code, 0, view.remark);
  assert.equal(recordsOf(view)[0]!.body.toString(), 'find me');
  const badView = await client.invoke(running.address, createRequest(RequestCode.VIEW_MESSAGE_BY_ID, { offset: String(id.physicalOffset + 10_000_000) }));
  assert.equal(badView.code, 1);
});

test('offset look-ups: max, min, earliest store time and search by timestamp', async () => {
  const beforeMs = Date.now();
  await send(client, running.address, 'TimeTopic', 'm0');
  await new Promise((resolve) => setTimeout(resolve, 30));
  const middleMs = Date.now();
  await new Promise((resolve) => setTimeout(resolve, 30));
  await send(client, running.address, 'TimeTopic', 'm1');
  const ask = (code: number, extra: Record<string, string> = {}) => client.invoke(running.address, createRequest(code, { topic: 'TimeTopic', queueId: '0', ...extra }));
  assert.equal((await ask(RequestCode.GET_MAX_OFFSET)).extFields?.offset, '2');
  assert.equal((await ask(RequestCode.GET_MIN_OFFSET)).extFields?.offset, '0');
  const earliest = Number((await ask(RequestCode.GET_EARLIEST_MSG_STORETIME)).extFields?.timestamp);
  assert.ok(earliest >= beforeMs - 5 && earliest <= middleMs);
  assert.equal((await ask(RequestCode.SEARCH_OFFSET_BY_TIMESTAMP, { timestamp: String(middleMs), boundaryType: 'LOWER' })).extFields?.offset, '1');
  assert.equal((await ask(RequestCode.SEARCH_OFFSET_BY_TIMESTAMP, { timestamp: String(middleMs), boundaryType: 'UPPER' })).extFields?.offset, '0');
});
