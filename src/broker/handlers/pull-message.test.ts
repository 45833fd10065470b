// Proves the pull header is read as Java sends it (ali-ons' numbers included) and store statuses map to RocketMQ's pull answer codes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isTideError } from '../../common/errors.js';
import { createRequest } from '../../protocol/remoting-command.js';
import { RequestCode } from '../../protocol/request-code.js';
import { parsePullMessageHeader, pullResponseCode, PullSysFlag } from './pull-message.js';

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
