// Proves a real broker filters pulls by SQL92 on message properties (subscription in the pull header or from a heartbeat, long polling included), answers malformed expressions with SUBSCRIPTION_PARSE_FAILED (23) and the error position in heartbeat, CHECK_CLIENT_CONFIG and pull, refuses SQL92 when enablePropertyFilter=false, and separates the colliding tags "Aa" and "BB".
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { getProperty } from '../../src/protocol/message-properties.js';
import { createRequest, type RemotingCommand } from '../../src/protocol/remoting-command.js';
import { RequestCode } from '../../src/protocol/request-code.js';
import type { RemotingClient } from '../../src/remoting/remoting-client.js';
import { newClient, recordsOf, send, startBroker, tempRoot, type RunningBroker } from './broker-test-support.js';

const CHECK_CLIENT_CONFIG = 46;

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

interface FilterPull {
  group: string;
  topic: string;
  queueOffset: number;
  /** Sent in the header (sysFlag subscription bit) when set; otherwise the heartbeat's subscription counts. */
  subscription?: string;
  expressionType?: string;
  subVersion?: number;
  suspendMs?: number;
}

function filterPull(options: FilterPull): RemotingCommand {
  let sysFlag = 0;
  if (options.subscription !== undefined) sysFlag |= 4;
  if (options.suspendMs !== undefined) sysFlag |= 2;
  const fields: Record<string, string> = {
    consumerGroup: options.group,
    topic: options.topic,
    queueId: '0',
    queueOffset: String(options.queueOffset),
    maxMsgNums: '32',
    sysFlag: String(sysFlag),
    commitOffset: '0',
    suspendTimeoutMillis: String(options.suspendMs ?? 0),
    subVersion: String(options.subVersion ?? 0),
    expressionType: options.expressionType ?? 'SQL92',
  };
  if (options.subscription !== undefined) fields.subscription = options.subscription;
  return createRequest(RequestCode.PULL_MESSAGE, fields);
}

/** Pulls from offset 0 until the end of the queue; returns the bodies delivered and the answer codes seen. */
async function pullAll(options: Omit<FilterPull, 'queueOffset'>): Promise<{ bodies: string[]; codes: number[] }> {
  const bodies: string[] = [];
  const codes: number[] = [];
  let offset = 0;
  for (let round = 0; round < 100; round++) {
    const answer = await client.invoke(running.address, filterPull({ ...options, queueOffset: offset }));
    codes.push(answer.code);
    if (answer.code === 19) break;
    assert.ok(answer.code === 0 || answer.code === 20, `pull answered ${answer.code}: ${answer.remark}`);
    for (const record of recordsOf(answer)) bodies.push(record.body.toString());
    offset = Number(answer.extFields!.nextBeginOffset);
  }
  return { bodies, codes };
}

function heartbeat(clientId: string, group: string, topic: string, subString: string, expressionType: string, subVersion: number): RemotingCommand {
  const body = {
    clientID: clientId,
    producerDataSet: [],
    consumerDataSet: [{
      groupName: group, consumeType: 'CONSUME_PASSIVELY', messageModel: 'CLUSTERING', consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET', unitMode: false,
      subscriptionDataSet: [{ classFilterMode: false, topic, subString, tagsSet: [], codeSet: [], subVersion, expressionType }],
    }],
  };
  return createRequest(RequestCode.HEART_BEAT, undefined, Buffer.from(JSON.stringify(body)));
}

async function sendLevels(topic: string, count: number): Promise<void> {
  for (let level = 0; level < count; level++) {
    const properties: Record<string, string> = { level: String(level), region: level % 2 === 0 ? 'eu-west' : 'us-east' };
    await send(client, running.address, topic, `m${level}`, { tags: level % 3 === 0 ? 'A' : 'B', properties });
  }
}

test('SQL92 in the pull header filters on user and system properties', async () => {
  const topic = 'SqlHeaderTopic';
  await sendLevels(topic, 12);
  const cases: Array<[string, string[]]> = [
    ['level > 5', ['m6', 'm7', 'm8', 'm9', 'm10', 'm11']],
    ['level BETWEEN 3 AND 5', ['m3', 'm4', 'm5']],
    ["region = 'eu-west' AND level >= 8", ['m8', 'm10']],
    ["TAGS = 'A'", ['m0', 'm3', 'm6', 'm9']],
    ["region STARTSWITH 'us' AND level IN ('1', '11')", ['m1', 'm11']],
    ['missing IS NULL AND level < 2', ['m0', 'm1']],
    ['missing = 1 OR level = 4', ['m4']],
  ];
  for (const [expression, expected] of cases) {
    const { bodies } = await pullAll({ group: 'CG-sql-header', topic, subscription: expression });
    assert.deepEqual(bodies, expected, expression);
  }
  const nothing = await pullAll({ group: 'CG-sql-header', topic, subscription: 'level > 100' });
  assert.deepEqual(nothing.bodies, []);
  assert.equal(nothing.codes[0], 20, 'nothing matched: PULL_RETRY_IMMEDIATELY past the filtered messages');
});

test('SQL92 from a heartbeat subscription filters pulls without the subscription bit', async () => {
  const topic = 'SqlHeartbeatTopic';
  await sendLevels(topic, 6);
  const beat = await client.invoke(running.address, heartbeat('10.0.0.9@sql', 'CG-sql-hb', topic, 'level <= 1 OR level = 5', 'SQL92', 1000));
  assert.equal(beat.code, 0, beat.remark);
  const { bodies } = await pullAll({ group: 'CG-sql-hb', topic, subVersion: 1000 });
  assert.deepEqual(bodies, ['m0', 'm1', 'm5']);
  const stale = await client.invoke(running.address, filterPull({ group: 'CG-sql-hb', topic, queueOffset: 0, subVersion: 2000 }));
  assert.equal(stale.code, 25, 'a newer subVersion than the broker knows is SUBSCRIPTION_NOT_LATEST');
});

test('a held SQL92 pull is answered by a matching arrival', async () => {
  const topic = 'SqlLongPollTopic';
  await send(client, running.address, topic, 'early', { properties: { level: '1' } });
  const held = client.invoke(running.address, filterPull({ group: 'CG-sql-poll', topic, queueOffset: 1, subscription: 'level > 5', suspendMs: 20_000 }));
  await new Promise((resolve) => setTimeout(resolve, 100));
  await send(client, running.address, topic, 'wanted', { properties: { level: '9' } });
  const answer = await held;
  assert.equal(answer.code, 0, answer.remark);
  assert.deepEqual(recordsOf(answer).map((record) => record.body.toString()), ['wanted']);
});

test('malformed expressions answer 23 with where the error is, in heartbeat, CHECK_CLIENT_CONFIG and pull', async () => {
  const topic = 'SqlBadTopic';
  await send(client, running.address, topic, 'x', { properties: { level: '1' } });
  const position = /line 1, column 8 \(offset 7\)/;

  const beat = await client.invoke(running.address, heartbeat('10.0.0.9@bad', 'CG-sql-bad', topic, 'level >> 5', 'SQL92', 1));
  assert.equal(beat.code, 23);
  assert.match(beat.remark ?? '', position);
  assert.match(beat.remark ?? '', /group CG-sql-bad to topic SqlBadTopic/);
  // The rest of the heartbeat still registered the consumer, so its pulls explain the same error.
  const viaHeartbeat = await client.invoke(running.address, filterPull({ group: 'CG-sql-bad', topic, queueOffset: 0, subVersion: 1 }));
  assert.equal(viaHeartbeat.code, 23);
  assert.match(viaHeartbeat.remark ?? '', position);

  const inHeader = await client.invoke(running.address, filterPull({ group: 'CG-sql-bad2', topic, queueOffset: 0, subscription: 'level >> 5' }));
  assert.equal(inHeader.code, 23);
  assert.match(inHeader.remark ?? '', position);
  const unknownType = await client.invoke(running.address, filterPull({ group: 'CG-sql-bad2', topic, queueOffset: 0, subscription: 'a', expressionType: 'XPATH' }));
  assert.equal(unknownType.code, 23);
  assert.match(unknownType.remark ?? '', /unknown expression type/);

  const checkBody = (subString: string): Buffer => Buffer.from(JSON.stringify({ clientId: 'c', group: 'CG-check', subscriptionData: { topic, subString, expressionType: 'SQL92', subVersion: 1, tagsSet: [], codeSet: [], classFilterMode: false } }));
  const badCheck = await client.invoke(running.address, createRequest(CHECK_CLIENT_CONFIG, undefined, checkBody("level > 'x'")));
  assert.equal(badCheck.code, 23);
  assert.match(badCheck.remark ?? '', /'x' cannot be compared with ">".*line 1, column 9 \(offset 8\)/);
  const goodCheck = await client.invoke(running.address, createRequest(CHECK_CLIENT_CONFIG, undefined, checkBody('level > 1')));
  assert.equal(goodCheck.code, 0, goodCheck.remark);

  // The broker still serves everyone else.
  assert.deepEqual((await pullAll({ group: 'CG-sql-ok', topic, subscription: 'level = 1' })).bodies, ['x']);
});

test('tags "Aa" and "BB" share a hash code; the broker still delivers only the subscribed one', async () => {
  const topic = 'TagCollisionTopic';
  for (let index = 0; index < 6; index++) await send(client, running.address, topic, `t${index}`, { tags: index % 2 === 0 ? 'Aa' : 'BB' });
  await send(client, running.address, topic, 'untagged');
  await send(client, running.address, topic, 't-C', { tags: 'C' });
  const tagPull = (subscription: string) => pullAll({ group: 'CG-tags', topic, subscription, expressionType: 'TAG' });
  assert.deepEqual((await tagPull('Aa')).bodies, ['t0', 't2', 't4']);
  assert.deepEqual((await tagPull('BB')).bodies, ['t1', 't3', 't5']);
  assert.deepEqual((await tagPull('BB || C')).bodies, ['t1', 't3', 't5', 't-C']);
  assert.deepEqual((await tagPull('*')).bodies, ['t0', 't1', 't2', 't3', 't4', 't5', 'untagged', 't-C']);
  const none = await tagPull('D');
  assert.deepEqual(none.bodies, []);
  assert.equal(none.codes[0], 20);
  // The records handed out carry their tag, so a client re-checking them agrees.
  const answer = await client.invoke(running.address, filterPull({ group: 'CG-tags', topic, queueOffset: 0, subscription: 'Aa', expressionType: 'TAG' }));
  assert.ok(recordsOf(answer).every((record) => getProperty(record.properties, 'TAGS') === 'Aa'));
});

test('with enablePropertyFilter=false SQL92 is refused with how to enable it', async (t) => {
  const temp = tempRoot();
  const strict = await startBroker(temp.root, { enablePropertyFilter: false });
  t.after(async () => {
    await strict.close();
    temp.remove();
  });
  await send(client, strict.address, 'SqlOffTopic', 'x', { properties: { level: '1' } });
  const pull = await client.invoke(strict.address, filterPull({ group: 'CG-off', topic: 'SqlOffTopic', queueOffset: 0, subscription: 'level = 1' }));
  assert.equal(pull.code, 23);
  assert.match(pull.remark ?? '', /enablePropertyFilter=true/);
  const check = await client.invoke(strict.address, createRequest(CHECK_CLIENT_CONFIG, undefined, Buffer.from(JSON.stringify({ subscriptionData: { topic: 'SqlOffTopic', subString: 'level = 1', expressionType: 'SQL92' } }))));
  assert.equal(check.code, 1, 'Java answers SYSTEM_ERROR here and its consumer refuses to start');
  const tags = await client.invoke(strict.address, filterPull({ group: 'CG-off', topic: 'SqlOffTopic', queueOffset: 0, subscription: '*', expressionType: 'TAG' }));
  assert.equal(tags.code, 0, 'TAG subscriptions are unaffected');
});
