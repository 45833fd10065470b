// Proves every admin request handler of a real broker answers over TCP with the codes and fastjson bodies RocketMQ's tools expect.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Broker } from '../../src/broker/broker.js';
import { brokerConfigFromProperties } from '../../src/broker/broker-config.js';
import { ResponseCode } from '../../src/common/errors.js';
import { silentLogger } from '../../src/common/logger.js';
import { fastJsonEntries, parseFastJson, type FastJsonValue } from '../../src/protocol/fastjson.js';
import { encodeProperties, MessageProperty } from '../../src/protocol/message-properties.js';
import { createRequest, createResponse, type RemotingCommand, type RequestHandler } from '../../src/protocol/remoting-command.js';
import { RequestCode } from '../../src/protocol/request-code.js';
import { RemotingClient } from '../../src/remoting/remoting-client.js';

const TOPIC = 'AdminTopic';
const GROUP = 'AdminGroup';
const PRODUCER_GROUP = 'AdminProducer';
const CLIENT_ID = '127.0.0.1@admin-test';
const QUEUES = 4;

let home = '';
let broker: Broker;
let brokerAddr = '';
/** The "admin tool": a plain connection with no client role. */
let admin: RemotingClient;
/** The "consumer": its connection carries the heartbeat, so broker → client pushes arrive here. */
let consumer: RemotingClient;
const pushes: RemotingCommand[] = [];

type Json = Record<string, FastJsonValue>;

function call(code: number, extFields: Record<string, string> = {}, body?: Buffer, client: RemotingClient = admin): Promise<RemotingCommand> {
  return client.invoke(brokerAddr, createRequest(code, extFields, body), 5000);
}

async function ok(code: number, extFields: Record<string, string> = {}, body?: Buffer): Promise<RemotingCommand> {
  const response = await call(code, extFields, body);
  assert.equal(response.code, ResponseCode.SUCCESS, `code ${code} answered ${response.code}: ${response.remark}`);
  return response;
}

function bodyOf(response: RemotingCommand): Json {
  assert.ok(response.body && response.body.length > 0, 'the answer has a body');
  const parsed = parseFastJson(response.body);
  assert.ok(parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) && !(parsed instanceof Map), 'the body is a JSON object');
  return parsed;
}

/** Entries of a MessageQueue-keyed map, which must use fastjson's object keys. */
function mqEntries(value: FastJsonValue | undefined): Array<{ topic: string; queueId: number; brokerName: string; value: Json }> {
  assert.ok(value instanceof Map, 'a MessageQueue-keyed map is written with object keys');
  return fastJsonEntries(value).map(([key, entryValue]) => {
    const mq = key as Json;
    return { topic: mq.topic as string, queueId: mq.queueId as number, brokerName: mq.brokerName as string, value: entryValue as Json };
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function send(queueId: number, count: number, keys = 'k'): Promise<void> {
  for (let index = 0; index < count; index++) {
    const response = await call(RequestCode.SEND_MESSAGE, {
      producerGroup: PRODUCER_GROUP, topic: TOPIC, defaultTopic: 'TBW102', defaultTopicQueueNums: '4', queueId: String(queueId),
      sysFlag: '0', bornTimestamp: String(Date.now()), flag: '0',
      properties: encodeProperties({ [MessageProperty.KEYS]: keys, [MessageProperty.TAGS]: 'TagA' }),
    }, Buffer.from(`message ${queueId}-${index}`));
    assert.equal(response.code, ResponseCode.SUCCESS, `send answered ${response.code}: ${response.remark}`);
  }
}

function commit(queueId: number, offset: number): Promise<RemotingCommand> {
  return ok(RequestCode.UPDATE_CONSUMER_OFFSET, { consumerGroup: GROUP, topic: TOPIC, queueId: String(queueId), commitOffset: String(offset) });
}

before(async () => {
  home = mkdtempSync(join(tmpdir(), 'tidemq-broker-admin-'));
  const { config } = brokerConfigFromProperties({
    storePathRootDir: home, listenPort: '0', brokerIP1: '127.0.0.1', listenHost: '127.0.0.1', mappedFileSizeCommitLog: String(4 * 1024 * 1024),
  });
  broker = new Broker(config, { logger: silentLogger });
  brokerAddr = (await broker.start()).brokerAddr;
  admin = new RemotingClient();
  const consumerHandlers = new Map<number, RequestHandler>([
    [RequestCode.RESET_CONSUMER_CLIENT_OFFSET, (request) => { pushes.push(request); return null; }],
    [RequestCode.NOTIFY_CONSUMER_IDS_CHANGED, () => null],
    [RequestCode.GET_CONSUMER_RUNNING_INFO, (request) => createResponse(request, ResponseCode.SUCCESS, undefined, undefined,
      Buffer.from(JSON.stringify({ properties: { askedFor: request.extFields?.clientId ?? '' } })))],
  ]);
  consumer = new RemotingClient({ handlers: consumerHandlers });
});

after(async () => {
  await admin?.close();
  await consumer?.close();
  await broker?.close();
  rmSync(home, { recursive: true, force: true });
});

test('UPDATE_AND_CREATE_TOPIC creates a topic with attributes; GET_TOPIC_CONFIG and GET_ALL_TOPIC_CONFIG show it', async () => {
  await ok(RequestCode.UPDATE_AND_CREATE_TOPIC, {
    topic: TOPIC, defaultTopic: 'TBW102', readQueueNums: String(QUEUES), writeQueueNums: String(QUEUES), perm: '6',
    topicFilterType: 'SINGLE_TAG', topicSysFlag: '0', order: 'false', attributes: '+message.type=NORMAL,+owner=admin-test',
  });
  const config = bodyOf(await ok(RequestCode.GET_TOPIC_CONFIG, { topic: TOPIC }));
  assert.deepEqual(config, {
    attributes: { 'message.type': 'NORMAL', owner: 'admin-test' }, order: false, perm: 6, readQueueNums: QUEUES,
    topicFilterType: 'SINGLE_TAG', topicName: TOPIC, topicSysFlag: 0, writeQueueNums: QUEUES,
  });
  const all = await ok(RequestCode.GET_ALL_TOPIC_CONFIG);
  const wrapper = bodyOf(all);
  const table = wrapper.topicConfigTable as Json;
  assert.equal((table[TOPIC] as Json).readQueueNums, QUEUES);
  assert.ok(table.TBW102, 'system topics are listed too');
  assert.equal(typeof (wrapper.dataVersion as Json).counter, 'number');
  assert.equal(all.extFields?.totalTopicNum, String(Object.keys(table).length));

  // Updating changes and deletes attributes relative to the stored ones.
  await ok(RequestCode.UPDATE_AND_CREATE_TOPIC, {
    topic: TOPIC, readQueueNums: String(QUEUES), writeQueueNums: String(QUEUES), perm: '6', attributes: '-owner,+message.type=FIFO',
  });
  assert.deepEqual(bodyOf(await ok(RequestCode.GET_TOPIC_CONFIG, { topic: TOPIC })).attributes, { 'message.type': 'FIFO' });
});

test('UPDATE_AND_CREATE_TOPIC refuses bad names, numbers, attributes and system topics', async () => {
  const base = { topic: 'Fine', readQueueNums: '4', writeQueueNums: '4', perm: '6' };
  const cases: Array<[Record<string, string>, RegExp]> = [
    [{ ...base, topic: '../escape' }, /invalid/],
    [{ topic: 'Fine', writeQueueNums: '4', perm: '6' }, /<readQueueNums>/],
    [{ ...base, writeQueueNums: 'many' }, /<writeQueueNums>/],
    [{ ...base, readQueueNums: '100000' }, /<readQueueNums>/],
    [{ ...base, perm: '99' }, /<perm>/],
    [{ ...base, topicFilterType: 'SQL' }, /<topicFilterType>/],
    [{ ...base, attributes: '-owner' }, /<attributes>/],
    [{ ...base, topic: 'TBW102' }, /system topic/],
    [{ ...base, topic: 'SCHEDULE_TOPIC_XXXX' }, /system topic/],
  ];
  for (const [fields, remark] of cases) {
    const response = await call(RequestCode.UPDATE_AND_CREATE_TOPIC, fields);
    assert.equal(response.code, ResponseCode.INVALID_PARAMETER, JSON.stringify(fields));
    assert.match(response.remark ?? '', remark, JSON.stringify(fields));
  }
  assert.equal((await call(RequestCode.GET_TOPIC_CONFIG, { topic: 'Fine' })).code, ResponseCode.TOPIC_NOT_EXIST);
});

test('GET_TOPIC_STATS_INFO reports min/max offsets and last store time per MessageQueue object key', async () => {
  await send(0, 3);
  await send(1, 2);
  const response = await ok(RequestCode.GET_TOPIC_STATS_INFO, { topic: TOPIC });
  assert.match(response.body!.toString(), /\{"brokerName":"broker-a","queueId":0,"topic":"AdminTopic"\}:\{/);
  const stats = bodyOf(response);
  const rows = mqEntries(stats.offsetTable).sort((left, right) => left.queueId - right.queueId);
  assert.deepEqual(rows.map((row) => [row.topic, row.brokerName, row.queueId, row.value.minOffset, row.value.maxOffset]), [
    [TOPIC, 'broker-a', 0, 0, 3], [TOPIC, 'broker-a', 1, 0, 2], [TOPIC, 'broker-a', 2, 0, 0], [TOPIC, 'broker-a', 3, 0, 0],
  ]);
  assert.ok((rows[0]!.value.lastUpdateTimestamp as number) > 0);
  assert.equal(rows[2]!.value.lastUpdateTimestamp, 0);
  assert.equal(typeof stats.topicPutTps, 'number');
  const missing = await call(RequestCode.GET_TOPIC_STATS_INFO, { topic: 'NoSuchTopic' });
  assert.equal(missing.code, ResponseCode.TOPIC_NOT_EXIST);
});

test('heartbeat, commits and the consumer views: consume stats, connections, consume-by-who, time span, all offsets', async () => {
  const heartbeat = {
    clientID: CLIENT_ID,
    producerDataSet: [{ groupName: PRODUCER_GROUP }],
    consumerDataSet: [{
      groupName: GROUP, consumeType: 'CONSUME_PASSIVELY', messageModel: 'CLUSTERING', consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET', unitMode: false,
      subscriptionDataSet: [{ classFilterMode: false, topic: TOPIC, subString: '*', tagsSet: [], codeSet: [], subVersion: 1, expressionType: 'TAG' }],
    }],
  };
  const answer = await call(RequestCode.HEART_BEAT, {}, Buffer.from(JSON.stringify(heartbeat)), consumer);
  assert.equal(answer.code, ResponseCode.SUCCESS);
  await commit(0, 2);
  await commit(1, 2);

  const stats = bodyOf(await ok(RequestCode.GET_CONSUME_STATS, { consumerGroup: GROUP }));
  const rows = mqEntries(stats.offsetTable).sort((left, right) => left.queueId - right.queueId);
  assert.deepEqual(rows.map((row) => [row.queueId, row.value.brokerOffset, row.value.consumerOffset, row.value.pullOffset]), [
    [0, 3, 2, 2], [1, 2, 2, 2], [2, 0, 0, 0], [3, 0, 0, 0],
  ]);
  assert.ok((rows[0]!.value.lastTimestamp as number) > 0, 'lastTimestamp is the store time of the last consumed message');
  assert.equal(rows[2]!.value.lastTimestamp, 0);
  assert.equal(typeof stats.consumeTps, 'number');
  // topicList limits the answer to the named topics, even ones the group never committed on.
  const listed = bodyOf(await ok(RequestCode.GET_CONSUME_STATS, { consumerGroup: GROUP, topicList: `${TOPIC};SELF_TEST_TOPIC` }));
  assert.deepEqual(new Set(mqEntries(listed.offsetTable).map((row) => row.topic)), new Set([TOPIC, 'SELF_TEST_TOPIC']));

  const connections = bodyOf(await ok(RequestCode.GET_CONSUMER_CONNECTION_LIST, { consumerGroup: GROUP }));
  const connectionSet = connections.connectionSet as Json[];
  assert.equal(connectionSet.length, 1);
  assert.equal(connectionSet[0]!.clientId, CLIENT_ID);
  assert.equal(connectionSet[0]!.language, 'JAVA');
  assert.match(connectionSet[0]!.clientAddr as string, /^127\.0\.0\.1:\d+$/);
  assert.equal(((connections.subscriptionTable as Json)[TOPIC] as Json).subString, '*');
  assert.equal(connections.messageModel, 'CLUSTERING');
  assert.equal(connections.consumeFromWhere, 'CONSUME_FROM_FIRST_OFFSET');
  const offline = await call(RequestCode.GET_CONSUMER_CONNECTION_LIST, { consumerGroup: 'NobodyHere' });
  assert.equal(offline.code, ResponseCode.CONSUMER_NOT_ONLINE);
  assert.match(offline.remark ?? '', /NobodyHere/);

  const producers = bodyOf(await ok(RequestCode.GET_PRODUCER_CONNECTION_LIST, { producerGroup: PRODUCER_GROUP }));
  assert.deepEqual((producers.connectionSet as Json[]).map((connection) => connection.clientId), [CLIENT_ID]);
  assert.equal((await call(RequestCode.GET_PRODUCER_CONNECTION_LIST, { producerGroup: 'NoProducer' })).code, ResponseCode.SYSTEM_ERROR);

  const byWho = bodyOf(await ok(RequestCode.QUERY_TOPIC_CONSUME_BY_WHO, { topic: TOPIC }));
  assert.deepEqual(byWho.groupList, [GROUP]);

  const span = bodyOf(await ok(RequestCode.QUERY_CONSUME_TIME_SPAN, { topic: TOPIC, group: GROUP }));
  const spans = (span.consumeTimeSpanSet as Json[]).sort((left, right) => ((left.messageQueue as Json).queueId as number) - ((right.messageQueue as Json).queueId as number));
  assert.equal(spans.length, QUEUES);
  assert.deepEqual(spans[0]!.messageQueue, { brokerName: 'broker-a', queueId: 0, topic: TOPIC });
  assert.ok((spans[0]!.minTimeStamp as number) > 0 && (spans[0]!.maxTimeStamp as number) >= (spans[0]!.minTimeStamp as number));
  assert.ok((spans[0]!.delayTime as number) >= 0);
  assert.equal(spans[1]!.delayTime, 0, 'queue 1 is fully consumed');

  const allOffsets = await ok(RequestCode.GET_ALL_CONSUMER_OFFSET);
  assert.match(allOffsets.body!.toString(), /"AdminTopic@AdminGroup":\{0:2,1:2\}/, 'integer keys are unquoted, as fastjson writes them');
  const offsetTable = bodyOf(allOffsets).offsetTable as Json;
  assert.deepEqual(offsetTable[`${TOPIC}@${GROUP}`], { 0: 2, 1: 2 });
});

test('GET_CONSUMER_RUNNING_INFO is relayed to the consumer and its answer comes back', async () => {
  const relayed = await ok(RequestCode.GET_CONSUMER_RUNNING_INFO, { consumerGroup: GROUP, clientId: CLIENT_ID, jstackEnable: 'false' });
  assert.deepEqual(JSON.parse(relayed.body!.toString()), { properties: { askedFor: CLIENT_ID } });
  const missing = await call(RequestCode.GET_CONSUMER_RUNNING_INFO, { consumerGroup: GROUP, clientId: 'someone-else' });
  assert.equal(missing.code, ResponseCode.SYSTEM_ERROR);
  assert.match(missing.remark ?? '', /not online/);
});

test('INVOKE_BROKER_TO_RESET_OFFSET moves committed offsets to a timestamp and pushes the reset to the consumer', async () => {
  await sleep(5);
  const boundaryMs = Date.now();
  await sleep(5);
  await send(0, 2);
  await send(2, 1);
  await commit(0, 5);
  await commit(2, 1);

  const response = await ok(RequestCode.INVOKE_BROKER_TO_RESET_OFFSET, { group: GROUP, topic: TOPIC, timestamp: String(boundaryMs), isForce: 'true' });
  const reset = mqEntries(bodyOf(response).offsetTable).sort((left, right) => left.queueId - right.queueId);
  // Queue 0 holds 3 old + 2 new messages, queue 1 only old ones, queue 2 one new one, queue 3 none.
  assert.deepEqual(reset.map((row) => [row.queueId, row.value]), [[0, 3], [1, 2], [2, 0], [3, 0]]);
  for (const [queueId, expected] of [[0, 3], [1, 2], [2, 0], [3, 0]] as const) {
    const query = await ok(RequestCode.QUERY_CONSUMER_OFFSET, { consumerGroup: GROUP, topic: TOPIC, queueId: String(queueId) });
    assert.equal(query.extFields?.offset, String(expected), `queue ${queueId} committed offset`);
  }
  const stats = bodyOf(await ok(RequestCode.GET_CONSUME_STATS, { consumerGroup: GROUP, topic: TOPIC }));
  assert.equal(mqEntries(stats.offsetTable).find((row) => row.queueId === 0)!.value.consumerOffset, 3);

  // The online consumer was told (oneway RESET_CONSUMER_CLIENT_OFFSET with a ResetOffsetBody).
  for (let attempt = 0; pushes.length === 0 && attempt < 100; attempt++) await sleep(20);
  assert.equal(pushes.length, 1);
  const push = pushes[0]!;
  assert.deepEqual({ topic: push.extFields?.topic, group: push.extFields?.group, timestamp: push.extFields?.timestamp, isForce: push.extFields?.isForce },
    { topic: TOPIC, group: GROUP, timestamp: String(boundaryMs), isForce: 'true' });
  assert.equal(mqEntries(bodyOf(push).offsetTable).find((row) => row.queueId === 0)!.value, 3);

  // Without isForce an offset only moves back: resetting to the end keeps the current offsets.
  const toEnd = bodyOf(await ok(RequestCode.INVOKE_BROKER_TO_RESET_OFFSET, { group: GROUP, topic: TOPIC, timestamp: '-1', isForce: 'false' }));
  assert.equal(mqEntries(toEnd.offsetTable).find((row) => row.queueId === 0)!.value, 3);
  // With isForce, to the end of every queue.
  const forced = bodyOf(await ok(RequestCode.INVOKE_BROKER_TO_RESET_OFFSET, { group: GROUP, topic: TOPIC, timestamp: '-1', isForce: 'true' }));
  assert.deepEqual(mqEntries(forced.offsetTable).sort((left, right) => left.queueId - right.queueId).map((row) => row.value), [5, 2, 1, 0]);
  // One queue to an explicit offset, which must lie within the queue.
  const one = bodyOf(await ok(RequestCode.INVOKE_BROKER_TO_RESET_OFFSET, { group: GROUP, topic: TOPIC, timestamp: '0', isForce: 'true', queueId: '0', offset: '1' }));
  assert.deepEqual(mqEntries(one.offsetTable).map((row) => [row.queueId, row.value]), [[0, 1]]);
  const outside = await call(RequestCode.INVOKE_BROKER_TO_RESET_OFFSET, { group: GROUP, topic: TOPIC, timestamp: '0', isForce: 'true', queueId: '0', offset: '99' });
  assert.equal(outside.code, ResponseCode.INVALID_PARAMETER);
  assert.equal((await call(RequestCode.INVOKE_BROKER_TO_RESET_OFFSET, { group: 'UnknownGroup', topic: TOPIC, timestamp: '0', isForce: 'true' })).code,
    ResponseCode.SUBSCRIPTION_GROUP_NOT_EXIST);
  assert.equal((await call(RequestCode.INVOKE_BROKER_TO_RESET_OFFSET, { group: GROUP, topic: 'NoSuchTopic', timestamp: '0' })).code, ResponseCode.TOPIC_NOT_EXIST);
});

test('GET_BROKER_RUNTIME_INFO reports the KVTable keys the tools parse', async () => {
  const table = bodyOf(await ok(RequestCode.GET_BROKER_RUNTIME_INFO)).table as Record<string, string>;
  assert.equal(table.brokerVersionDesc, 'V5_3_3');
  assert.equal(table.brokerVersion, '479');
  assert.ok(Number(table.msgPutTotalTodayNow) >= 8, `msgPutTotalTodayNow=${table.msgPutTotalTodayNow}`);
  assert.ok(Number(table.commitLogMaxOffset) > Number(table.commitLogMinOffset));
  assert.ok(Number(table.earliestMessageTimeStamp) > 0);
  assert.match(table.putTps!, /^\d+(\.\d+)? \d+(\.\d+)? \d+(\.\d+)?$/);
  assert.match(table.getTransferredTps!, /^\d+(\.\d+)? \d+(\.\d+)? \d+(\.\d+)?$/);
  assert.match(table.runtime!, /^\[ \d+ days, \d+ hours, \d+ minutes, \d+ seconds \]$/);
  assert.match(table.commitLogDirCapacity!, /^Total : [\d.]+ \w+, Free : [\d.]+ \w+\.$/);
  const numeric = ['bootTimestamp', 'msgPutTotalYesterdayMorning', 'msgPutTotalTodayMorning', 'msgGetTotalYesterdayMorning', 'msgGetTotalTodayMorning',
    'msgGetTotalTodayNow', 'commitLogDiskRatio', 'consumeQueueDiskRatio', 'dispatchBehindBytes', 'pageCacheLockTimeMills', 'sendThreadPoolQueueSize',
    'pullThreadPoolQueueSize', 'queryThreadPoolQueueSize', 'sendThreadPoolQueueCapacity', 'putMessageTimesTotal', 'putMessageSizeTotal',
    'putMessageAverageSize', 'startAcceptSendRequestTimeStamp', 'remainTransientStoreBufferNumbs', 'timerReadBehind', 'timerEnqueueTps'];
  for (const key of numeric) assert.ok(table[key] !== undefined && Number.isFinite(Number(table[key])), `${key}=${table[key]}`);
  assert.equal(Number(table.bootTimestamp), broker.brokerDeps.runtime.bootTimestampMs);
});

test('GET_BROKER_CONFIG answers properties text and a version; UPDATE_BROKER_CONFIG takes whitelisted keys only', async () => {
  const before = await ok(RequestCode.GET_BROKER_CONFIG);
  const text = before.body!.toString();
  assert.match(text, /^brokerName=broker-a$/m);
  assert.match(text, /^brokerClusterName=DefaultCluster$/m);
  assert.match(text, /^defaultQueryMaxNum=32$/m);
  const version = JSON.parse(before.extFields!.version!) as { counter: number; timestamp: number };
  assert.equal(typeof version.timestamp, 'number');

  // CVE-2023-33246: path and program settings are never writable remotely.
  for (const body of ['storePathRootDir=/tmp/evil', 'rocketmqHome=-c $@|sh . echo pwned', 'brokerConfigPath=/tmp/x', 'defaultQueryMaxNum=7\nlistenPort=1']) {
    const refused = await call(RequestCode.UPDATE_BROKER_CONFIG, {}, Buffer.from(body));
    assert.equal(refused.code, ResponseCode.NO_PERMISSION, body);
    assert.match(refused.remark ?? '', /whitelist/);
  }
  assert.equal(broker.config.storePathRootDir, home);
  assert.equal(broker.config.defaultQueryMaxNum, 32, 'a refused request changes nothing, not even its whitelisted keys');

  const bad = await call(RequestCode.UPDATE_BROKER_CONFIG, {}, Buffer.from('defaultQueryMaxNum=lots'));
  assert.equal(bad.code, ResponseCode.INVALID_PARAMETER);
  const tooBig = await call(RequestCode.UPDATE_BROKER_CONFIG, {}, Buffer.from(`maxMessageSize=${64 * 1024 * 1024}`));
  assert.equal(tooBig.code, ResponseCode.INVALID_PARAMETER);

  await ok(RequestCode.UPDATE_BROKER_CONFIG, {}, Buffer.from('defaultQueryMaxNum=7\ntraceOn : false\n'));
  const afterUpdate = await ok(RequestCode.GET_BROKER_CONFIG);
  assert.match(afterUpdate.body!.toString(), /^defaultQueryMaxNum=7$/m);
  assert.match(afterUpdate.body!.toString(), /^traceOn=false$/m);
  assert.equal(broker.config.defaultQueryMaxNum, 7);
  assert.ok((JSON.parse(afterUpdate.extFields!.version!) as { counter: number }).counter > version.counter);
});

test('subscription groups: create, get, get all, delete with cleanOffset', async () => {
  const group = 'AdminCreatedGroup';
  const config = { groupName: group, consumeEnable: false, consumeBroadcastEnable: true, retryQueueNums: 1, retryMaxTimes: 5, brokerId: 0, whichBrokerWhenConsumeSlowly: 1 };
  await ok(RequestCode.UPDATE_AND_CREATE_SUBSCRIPTIONGROUP, {}, Buffer.from(JSON.stringify(config)));
  const stored = bodyOf(await ok(RequestCode.GET_SUBSCRIPTIONGROUP_CONFIG, { group }));
  assert.equal(stored.groupName, group);
  assert.equal(stored.consumeEnable, false);
  assert.equal(stored.retryMaxTimes, 5);
  assert.deepEqual(stored.groupRetryPolicy, { type: 'CUSTOMIZED' });
  const all = bodyOf(await ok(RequestCode.GET_ALL_SUBSCRIPTIONGROUP_CONFIG));
  assert.ok((all.subscriptionGroupTable as Json)[group]);
  assert.ok((all.subscriptionGroupTable as Json)[GROUP], 'groups created by heartbeats are listed');
  assert.ok(all.forbiddenTable !== undefined && all.dataVersion !== undefined);

  const badName = await call(RequestCode.UPDATE_AND_CREATE_SUBSCRIPTIONGROUP, {}, Buffer.from(JSON.stringify({ groupName: 'bad/name' })));
  assert.equal(badName.code, ResponseCode.INVALID_PARAMETER);
  assert.equal((await call(RequestCode.UPDATE_AND_CREATE_SUBSCRIPTIONGROUP, {}, Buffer.from('{not json'))).code, ResponseCode.INVALID_PARAMETER);

  await ok(RequestCode.UPDATE_CONSUMER_OFFSET, { consumerGroup: group, topic: TOPIC, queueId: '0', commitOffset: '1' });
  await ok(RequestCode.DELETE_SUBSCRIPTIONGROUP, { groupName: group, cleanOffset: 'true' });
  assert.equal((await call(RequestCode.GET_SUBSCRIPTIONGROUP_CONFIG, { group })).code, ResponseCode.SUBSCRIPTION_GROUP_NOT_EXIST);
  assert.equal(broker.brokerDeps.consumerOffsetManager.queryOffset(group, TOPIC, 0), -1, 'cleanOffset dropped the offsets');
});

test('GET_ALL_DELAY_OFFSET answers the delay-level progress table', async () => {
  const body = bodyOf(await ok(RequestCode.GET_ALL_DELAY_OFFSET));
  assert.ok(body.offsetTable !== undefined && body.dataVersion !== undefined);
  for (const [level, offset] of fastJsonEntries(body.offsetTable)) {
    assert.ok(Number(level) >= 1 && typeof offset === 'number');
  }
});

test('missing or malformed header fields are INVALID_PARAMETER naming the field', async () => {
  const cases: Array<[number, Record<string, string>, string]> = [
    [RequestCode.GET_TOPIC_CONFIG, {}, 'topic'],
    [RequestCode.GET_TOPIC_STATS_INFO, {}, 'topic'],
    [RequestCode.DELETE_TOPIC_IN_BROKER, {}, 'topic'],
    [RequestCode.GET_CONSUME_STATS, {}, 'consumerGroup'],
    [RequestCode.GET_CONSUMER_CONNECTION_LIST, {}, 'consumerGroup'],
    [RequestCode.GET_PRODUCER_CONNECTION_LIST, {}, 'producerGroup'],
    [RequestCode.GET_SUBSCRIPTIONGROUP_CONFIG, {}, 'group'],
    [RequestCode.DELETE_SUBSCRIPTIONGROUP, {}, 'groupName'],
    [RequestCode.QUERY_TOPIC_CONSUME_BY_WHO, {}, 'topic'],
    [RequestCode.QUERY_CONSUME_TIME_SPAN, { topic: TOPIC }, 'group'],
    [RequestCode.INVOKE_BROKER_TO_RESET_OFFSET, { group: GROUP, topic: TOPIC }, 'timestamp'],
    [RequestCode.INVOKE_BROKER_TO_RESET_OFFSET, { group: GROUP, topic: TOPIC, timestamp: 'yesterday' }, 'timestamp'],
    [RequestCode.GET_CONSUMER_RUNNING_INFO, { consumerGroup: GROUP }, 'clientId'],
  ];
  for (const [code, fields, field] of cases) {
    const response = await call(code, fields);
    assert.equal(response.code, ResponseCode.INVALID_PARAMETER, `code ${code} ${JSON.stringify(fields)}: ${response.remark}`);
    assert.ok((response.remark ?? '').includes(`<${field}>`), `code ${code} remark names ${field}: ${response.remark}`);
  }
});

test('DELETE_TOPIC_IN_BROKER removes the config, the offsets and the consume queues', async () => {
  assert.ok(broker.brokerDeps.store.getMaxOffsetInQueue(TOPIC, 0) > 0);
  await ok(RequestCode.DELETE_TOPIC_IN_BROKER, { topic: TOPIC });
  assert.equal((await call(RequestCode.GET_TOPIC_CONFIG, { topic: TOPIC })).code, ResponseCode.TOPIC_NOT_EXIST);
  assert.equal(broker.brokerDeps.consumerOffsetManager.queryOffset(GROUP, TOPIC, 0), -1);
  assert.equal(broker.brokerDeps.store.getMaxOffsetInQueue(TOPIC, 0), 0);
  assert.ok(!broker.brokerDeps.store.listQueues().has(TOPIC));
  assert.doesNotMatch((await ok(RequestCode.GET_ALL_CONSUMER_OFFSET)).body!.toString(), /AdminTopic@/);
  const system = await call(RequestCode.DELETE_TOPIC_IN_BROKER, { topic: 'TBW102' });
  assert.equal(system.code, ResponseCode.INVALID_PARAMETER);
  assert.ok(broker.brokerDeps.topicConfigManager.get('TBW102'), 'system topics stay');
});
