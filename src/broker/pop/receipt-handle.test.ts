// Proves receipt handles and the POP answer-header strings have RocketMQ's exact text forms, and that parsing refuses what is not a handle.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  buildReceiptHandle,
  originalTopicOf,
  parseReceiptHandle,
  PopAnswerInfo,
  popRetryTopicOf,
  realTopicOf,
  retryFlagOfTopic,
} from './receipt-handle.js';

test('a handle has eight space-separated fields and parses back', () => {
  const handle = { ckQueueOffset: 10, popTimeMs: 1_700_000_000_123, invisibleTimeMs: 60_000, reviveQueueId: 0, retryFlag: '1' as const, brokerName: 'broker-a', queueId: 3, queueOffset: 12 };
  const text = buildReceiptHandle(handle);
  assert.equal(text, '10 1700000000123 60000 0 1 broker-a 3 12');
  assert.deepEqual(parseReceiptHandle(text), handle);
  assert.deepEqual(parseReceiptHandle('10 1700000000123 60000 999 0 broker-a 3'), { ...handle, reviveQueueId: 999, retryFlag: '0', queueOffset: -1 });
});

test('what is not a handle is refused', () => {
  for (const text of ['', 'x', '1 2 3 4 5 b 6 7 8', '-1 2 3 0 0 b 0 1', '1 2 3 0 9 b 0 1', '1 2 3 0 0 b -1 1', '1 2.5 3 0 0 b 0 1', '1 2 3 0 0 b 0 -4', '99999999999999999 2 3 0 0 b 0 1']) {
    assert.equal(parseReceiptHandle(text), undefined, text);
  }
});

test('pop retry topics: %RETRY%{group}_{topic}, flags and the way back', () => {
  assert.equal(popRetryTopicOf('G', 'T'), '%RETRY%G_T');
  assert.equal(retryFlagOfTopic('T'), '0');
  assert.equal(retryFlagOfTopic('%RETRY%G_T'), '1');
  assert.equal(retryFlagOfTopic('%RETRY%G+T'), '2');
  assert.equal(realTopicOf('T', 'G', '0'), 'T');
  assert.equal(realTopicOf('T', 'G', '1'), '%RETRY%G_T');
  assert.equal(realTopicOf('T', 'G', '2'), '%RETRY%G+T');
  assert.equal(realTopicOf('T', 'G', '7'), undefined);
  assert.equal(originalTopicOf('%RETRY%G_T_x', 'G'), 'T_x');
  assert.equal(originalTopicOf('%RETRY%G+T', 'G'), 'T');
  assert.equal(originalTopicOf('T', 'G'), 'T');
  assert.equal(originalTopicOf('%RETRY%Other_T', 'G'), '%RETRY%Other_T');
});

test('answer infos are joined per queue with ; and keyed by retry flag and queue id', () => {
  const info = new PopAnswerInfo();
  info.addQueue('T', 1, 5, [5, 6, 8]);
  info.addQueue('%RETRY%G_T', 0, 0, [0]);
  assert.equal(info.startOffsetInfo, '0 1 5;1 0 0');
  assert.equal(info.msgOffsetInfo, '0 1 5,6,8;1 0 0');
  assert.equal(info.orderCountInfo, '');
  const order = new PopAnswerInfo();
  order.addOrderCounts('T', 2, [7, 8], [1, 0]);
  assert.equal(order.orderCountInfo, '0 qo2%7 1;0 2 0');
});
