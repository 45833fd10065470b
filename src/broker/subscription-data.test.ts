// Proves TAG subscriptions parse like Java's FilterAPI, filter by hash code then by exact tag, SQL92 subscriptions keep their expression, and heartbeat bodies are validated.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isTideError } from '../common/errors.js';
import { javaStringHashCode } from '../common/java-hash.js';
import { parseHostAddress } from '../protocol/host-address.js';
import { encodeProperties } from '../protocol/message-properties.js';
import { encodeRecord } from '../protocol/message-record.js';
import { buildSubscriptionData, createTagFilter, parseHeartbeatData } from './subscription-data.js';

function recordWithTag(tag: string): Buffer {
  const host = parseHostAddress('127.0.0.1', 1);
  return encodeRecord({ topic: 'T', queueId: 0, flag: 0, sysFlag: 0, bornTimestamp: 1, bornHost: host, storeHost: host, reconsumeTimes: 0, preparedTransactionOffset: 0, body: Buffer.from('x'), properties: encodeProperties({ TAGS: tag }) }, 0, 0, 1);
}

test('tag expressions and filters', () => {
  assert.equal(buildSubscriptionData('T', undefined).subString, '*');
  assert.equal(buildSubscriptionData('T', ' * ').subString, '*');
  assert.equal(createTagFilter(buildSubscriptionData('T', '*')), undefined);
  const subscription = buildSubscriptionData('T', 'Aa || TagB ||  ');
  assert.deepEqual(subscription.tagsSet, ['Aa', 'TagB']);
  assert.deepEqual(subscription.codeSet, [javaStringHashCode('Aa'), javaStringHashCode('TagB')]);
  const filter = createTagFilter(subscription)!;
  // "Aa" and "BB" share a Java hash code: the cheap check lets BB through, the exact check does not.
  assert.equal(filter.matchesTagsCode!(javaStringHashCode('BB')), true);
  assert.equal(filter.matchesRecord!(recordWithTag('BB')), false);
  assert.equal(filter.matchesRecord!(recordWithTag('Aa')), true);
  assert.equal(filter.matchesTagsCode!(0), false, 'untagged messages do not match a tag subscription');
  assert.equal(filter.matchesRecord!(recordWithTag('Aa').subarray(0, 50)), false, 'a truncated record never matches');
});

test('SQL92 subscriptions keep their expression as written', () => {
  const sql = buildSubscriptionData('T', " a > 1 AND b = '*' ", 'SQL92', 7);
  assert.deepEqual(sql, { topic: 'T', subString: " a > 1 AND b = '*' ", tagsSet: [], codeSet: [], subVersion: 7, expressionType: 'SQL92', classFilterMode: false });
  assert.equal(buildSubscriptionData('T', undefined, 'SQL92').subString, '', 'no expression is an empty (malformed) one, not "everything"');
  assert.equal(createTagFilter(sql), undefined, 'the TAG filter does not apply to SQL92');
});

test('heartbeat bodies', () => {
  const body = Buffer.from(JSON.stringify({
    clientID: '10.0.0.5@1#2',
    producerDataSet: [{ groupName: 'PG' }],
    consumerDataSet: [{ groupName: 'CG', consumeType: 'CONSUME_PASSIVELY', messageModel: 'CLUSTERING', consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET', unitMode: false,
      subscriptionDataSet: [{ classFilterMode: false, topic: 'T', subString: 'A || B', tagsSet: ['A', 'B'], codeSet: [65, 66], subVersion: 17, expressionType: 'TAG' }] }],
  }));
  const heartbeat = parseHeartbeatData(body);
  assert.equal(heartbeat.clientID, '10.0.0.5@1#2');
  assert.equal(heartbeat.consumerDataSet[0]!.subscriptionDataSet[0]!.subVersion, 17);
  assert.deepEqual(heartbeat.consumerDataSet[0]!.subscriptionDataSet[0]!.codeSet, [65, 66]);
  assert.equal(heartbeat.heartbeatFingerprint, 0);
  for (const bad of ['', 'not json', '[]', '{}', '{"clientID":"c","consumerDataSet":{}}', '{"clientID":"c","consumerDataSet":[{"groupName":"G","subscriptionDataSet":[{}]}]}']) {
    assert.throws(() => parseHeartbeatData(Buffer.from(bad)), (error: unknown) => isTideError(error, 'INVALID_PARAMETER'), bad);
  }
});
