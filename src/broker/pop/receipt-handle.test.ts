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

/** The previous parser (split, RegExp and Number per field): the specification the scanner must match. */
function referenceParse(text: string): unknown {
  const integer = (field: string | undefined): number | undefined => {
    if (field === undefined || !/^-?\d{1,16}$/.test(field)) return undefined;
    const value = Number(field);
    return Number.isSafeInteger(value) ? value : undefined;
  };
  if (text.length > 1024) return undefined;
  const fields = text.split(' ');
  if (fields.length !== 7 && fields.length !== 8) return undefined;
  const [ckQueueOffset, popTimeMs, invisibleTimeMs, reviveQueueId, queueId] = [0, 1, 2, 3, 6].map((index) => integer(fields[index]));
  const queueOffset = fields.length === 8 ? integer(fields[7]) : -1;
  const retryFlag = fields[4];
  if (ckQueueOffset === undefined || ckQueueOffset < 0 || popTimeMs === undefined || popTimeMs < 0) return undefined;
  if (invisibleTimeMs === undefined || invisibleTimeMs < 0 || reviveQueueId === undefined || queueId === undefined || queueId < 0) return undefined;
  if (queueOffset === undefined || (fields.length === 8 && queueOffset < 0)) return undefined;
  if (retryFlag !== '0' && retryFlag !== '1' && retryFlag !== '2') return undefined;
  return { ckQueueOffset, popTimeMs, invisibleTimeMs, reviveQueueId, retryFlag, brokerName: fields[5], queueId, queueOffset };
}

test('the scanning parser agrees with the split-and-RegExp one on valid, mutated and random handles', () => {
  const alphabet = '0123456789 -+.ab\u00e9';
  const seeds = ['10 1700000000123 60000 0 1 broker-a 3 12', '0 0 0 -5 2  0', '9007199254740991 1 1 999 0 b 0 9007199254740991', '9007199254740992 1 1 0 0 b 0 1', '-0 1 2 3 0 b 4 5'];
  let state = 12345;
  const random = (limit: number): number => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return state % limit;
  };
  const cases: string[] = [...seeds, ' '.repeat(7), '1 2 3 4 0 b 5 6 ', ` ${seeds[0]}`, 'x'.repeat(1025)];
  for (let round = 0; round < 20_000; round++) {
    const chars = [...seeds[random(seeds.length)]!];
    for (let edit = random(4); edit > 0; edit--) {
      const at = random(chars.length + 1);
      const kind = random(3);
      if (kind === 0) chars.splice(at, 1);
      else if (kind === 1) chars.splice(at, 0, alphabet[random(alphabet.length)]!);
      else chars[at] = alphabet[random(alphabet.length)]!;
    }
    cases.push(chars.join(''));
  }
  for (const text of cases) assert.deepEqual(parseReceiptHandle(text), referenceParse(text), JSON.stringify(text));
});
