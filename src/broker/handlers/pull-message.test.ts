// Proves the pull header is read as Java sends it (ali-ons' numbers included), store statuses map to RocketMQ's pull answer codes, and a message stored while a pull's read is under way is not missed by its long poll.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isTideError } from '../../common/errors.js';
import { createRequest, type RemotingCommand } from '../../protocol/remoting-command.js';
import { RequestCode } from '../../protocol/request-code.js';
import { messageInput } from '../../store/store-test-support.js';
import { RecordingConnection } from '../test-connection.js';
import { startTestBroker } from '../test-broker.js';
import { newTopicConfig } from '../topic-config-manager.js';
import { createPullMessageHandler, parsePullMessageHeader, pullResponseCode, PullSysFlag } from './pull-message.js';

test('pull header fields, optional ones included', () => {
  const header = parsePullMessageHeader(createRequest(RequestCode.PULL_MESSAGE, {
    consumerGroup: 'CG', topic: 'T', queueId: '3', queueOffset: '42', maxMsgNums: '32', sysFlag: String(PullSysFlag.SUBSCRIPTION | PullSysFlag.SUSPEND),
    commitOffset: '-1', suspendTimeoutMillis: '15000', subscription: "a > 1 AND b = 'x'", subVersion: '1700000000000', expressionType: 'SQL92',
  }));
  assert.deepEqual(header, {
    consumerGroup: 'CG', topic: 'T', queueId: 3, queueOffset: 42, maxMsgNums: 32, sysFlag: 6, commitOffset: -1, suspendTimeoutMillis: 15000,
    subscription: "a > 1 AND b = 'x'", subVersion: 1700000000000, expressionType: 'SQL92', maxMsgBytes: undefined,
  });
  const minimal = parsePullMessageHeader(createRequest(RequestCode.PULL_MESSAGE, {
    consumerGroup: 'CG', topic: 'T', queueId: '0', queueOffset: '0', maxMsgNums: '1', sysFlag: '0', commitOffset: '0', suspendTimeoutMillis: '0',
  }));
  assert.equal(minimal.subVersion, 0);
  assert.equal(minimal.expressionType, undefined, 'no expression type means TAG');
  assert.throws(() => parsePullMessageHeader(createRequest(RequestCode.PULL_MESSAGE, { consumerGroup: 'CG' })), (error: unknown) => isTideError(error, 'INVALID_PARAMETER'));
});

test('store statuses become pull answer codes', () => {
  assert.equal(pullResponseCode('FOUND', 5), 0);
  assert.equal(pullResponseCode('NO_MATCHED_MESSAGE', 5), 20, 'everything examined was filtered out: pull again at once');
  assert.equal(pullResponseCode('NO_MESSAGE_IN_QUEUE', 0), 19);
  assert.equal(pullResponseCode('NO_MESSAGE_IN_QUEUE', 5), 21);
  assert.equal(pullResponseCode('OFFSET_OVERFLOW_ONE', 5), 19);
  assert.equal(pullResponseCode('OFFSET_FOUND_NULL', 5), 19);
  assert.equal(pullResponseCode('OFFSET_OVERFLOW_BADLY', 5), 21);
  assert.equal(pullResponseCode('OFFSET_TOO_SMALL', 5), 21);
});

test('a message stored while a long-polling pull reads is answered at once, not after the suspend time', async (t) => {
  const broker = await startTestBroker(t);
  const deps = broker.brokerDeps;
  deps.topicConfigManager.updateTopicConfig(newTopicConfig('PullRace', { readQueueNums: 1, writeQueueNums: 1 }));
  const replies: RemotingCommand[] = [];
  const context = { connection: new RecordingConnection(), reply: (response: RemotingCommand) => void replies.push(response) };
  const handler = createPullMessageHandler(deps);
  const request = createRequest(RequestCode.PULL_MESSAGE, {
    consumerGroup: 'CG', topic: 'PullRace', queueId: '0', queueOffset: '0', maxMsgNums: '32', sysFlag: String(PullSysFlag.SUBSCRIPTION | PullSysFlag.SUSPEND),
    commitOffset: '0', suspendTimeoutMillis: '20000', subscription: '*', subVersion: '0',
  });
  const answered = Promise.resolve(handler(request, context));
  // The pull's read of the empty queue is under way; the message lands before it settles, so the
  // store's arrival notice comes before the pull could be held.
  deps.store.append(messageInput({ topic: 'PullRace', body: 'arrived' }));
  const response = await answered;
  assert.equal(response?.code, 0, `answered FOUND at once (got ${response?.code ?? 'held'}; replies ${replies.length})`);
  assert.ok(response?.body?.includes('arrived'));
});
