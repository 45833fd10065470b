// Proves bad requests get clear error answers (missing fields 29, `../x` refused, 5 MiB body 13, unknown code 3, bad bodies) while the broker keeps serving and stores nothing for them.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createRequest } from '../../src/protocol/remoting-command.js';
import { RequestCode } from '../../src/protocol/request-code.js';
import type { RemotingClient } from '../../src/remoting/remoting-client.js';
import { newClient, pullRequest, send, sendV2Request, startBroker, tempRoot, type RunningBroker } from './broker-test-support.js';

let running: RunningBroker;
let client: RemotingClient;
let removeRoot: () => void;

before(async () => {
  const temp = tempRoot();
  removeRoot = temp.remove;
  running = await startBroker(temp.root, { autoCreateSubscriptionGroup: true });
  client = newClient();
});

after(async () => {
  await client?.close();
  await running?.close();
  removeRoot?.();
});

test('missing or malformed header fields answer INVALID_PARAMETER naming the field', async () => {
  const noTopic = sendV2Request('T', 'x');
  delete noTopic.extFields!.b;
  const answer = await client.invoke(running.address, noTopic);
  assert.equal(answer.code, 29);
  assert.match(answer.remark ?? '', /topic/);
  assert.doesNotMatch(answer.remark ?? '', /at .*\.js/, 'no stack trace');

  const badNumber = sendV2Request('T', 'x');
  badNumber.extFields!.e = 'zero';
  assert.equal((await client.invoke(running.address, badNumber)).code, 29);

  const noHeader = await client.invoke(running.address, createRequest(RequestCode.PULL_MESSAGE));
  assert.equal(noHeader.code, 29);
  assert.equal((await client.invoke(running.address, createRequest(RequestCode.QUERY_CONSUMER_OFFSET, { topic: 'T' }))).code, 29);
  assert.equal((await client.invoke(running.address, createRequest(RequestCode.HEART_BEAT, undefined, Buffer.from('{not json')))).code, 29);
  assert.equal((await client.invoke(running.address, createRequest(RequestCode.LOCK_BATCH_MQ, undefined, Buffer.from('[]')))).code, 29);
  const batch = sendV2Request('BatchBad', Buffer.from([0, 0, 0, 99, 1, 2, 3]));
  batch.code = RequestCode.SEND_BATCH_MESSAGE;
  assert.equal((await client.invoke(running.address, batch)).code, 13, 'a torn batch body is MESSAGE_ILLEGAL');
});

test('topic names that could leave the store are refused and create nothing', async () => {
  for (const topic of ['../x', '..', 'a/b', 'x'.repeat(300), '']) {
    const answer = await client.invoke(running.address, sendV2Request(topic, 'x'));
    assert.equal(answer.code, 29, `topic ${JSON.stringify(topic)}: ${answer.remark}`);
  }
  const pull = await client.invoke(running.address, pullRequest('CG', '../x', 0, { subscription: '*' }));
  assert.equal(pull.code, 29);
  assert.equal(existsSync(join(running.root, '..', 'x')), false);
  const queues = existsSync(join(running.root, 'consumequeue')) ? readdirSync(join(running.root, 'consumequeue')) : [];
  assert.ok(!queues.some((name) => name.includes('.')), `consume queues: ${queues}`);
});

test('a 5 MiB body is MESSAGE_ILLEGAL, system topics refuse sends, unknown codes are not supported', async () => {
  const big = await client.invoke(running.address, sendV2Request('BigTopic', Buffer.alloc(5 * 1024 * 1024, 1)));
  assert.equal(big.code, 13);
  assert.equal((await client.invoke(running.address, sendV2Request('SCHEDULE_TOPIC_XXXX', 'x'))).code, 16);
  assert.equal((await client.invoke(running.address, sendV2Request('T', 'x', { queueId: 9999 }))).code, 29, 'queue id out of range');
  const unknown = await client.invoke(running.address, createRequest(99_999));
  assert.equal(unknown.code, 3);
  const timer = await client.invoke(running.address, sendV2Request('T', 'x', { properties: { TIMER_DELAY_SEC: 'abc' } }));
  assert.equal(timer.code, 13, 'a malformed delivery time is MESSAGE_ILLEGAL');
  assert.match(timer.remark ?? '', /TIMER_DELAY_SEC/);
  const sql = await client.invoke(running.address, createRequest(RequestCode.PULL_MESSAGE, {
    consumerGroup: 'CG', topic: 'T', queueId: '0', queueOffset: '0', maxMsgNums: '32', sysFlag: '4', commitOffset: '0',
    suspendTimeoutMillis: '0', subscription: 'a > AND', subVersion: '0', expressionType: 'SQL92',
  }));
  assert.equal(sql.code, 23, 'a malformed SQL92 expression is SUBSCRIPTION_PARSE_FAILED');
  // After all that the broker still works.
  await send(client, running.address, 'StillFine', 'ok');
  assert.equal((await client.invoke(running.address, pullRequest('CG', 'StillFine', 0, { subscription: '*' }))).code, 0);
});

test('auto-creation off: unknown topics and groups are refused with how to create them', async (t) => {
  const temp = tempRoot();
  const strict = await startBroker(temp.root, { autoCreateTopicEnable: false, autoCreateSubscriptionGroup: false });
  const strictClient = newClient();
  t.after(async () => {
    await strictClient.close();
    await strict.close();
    temp.remove();
  });
  const answer = await strictClient.invoke(strict.address, sendV2Request('Unknown', 'x'));
  assert.equal(answer.code, 17);
  assert.match(answer.remark ?? '', /updateTopic/);
  const pull = await strictClient.invoke(strict.address, pullRequest('UnknownGroup', 'SELF_TEST_TOPIC', 0, { subscription: '*' }));
  assert.equal(pull.code, 26);
});
