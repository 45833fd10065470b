// Proves the send handler's pure parts: V2 one-letter headers expand to RocketMQ's names, batch bodies split or fail as MESSAGE_ILLEGAL without partial results, and only TRAN_MSG=true sends (not retried re-sends with a delay level) count as transactional.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isTideError } from '../../common/errors.js';
import { MessageProperty } from '../../protocol/message-properties.js';
import { createRequest } from '../../protocol/remoting-command.js';
import { RequestCode } from '../../protocol/request-code.js';
import { isTransactionalSend } from '../transaction/half-message.js';
import { decodeBatchBody, parseSendMessageHeader } from './send-message.js';

function batchEntry(body: string, properties: string, flag = 0): Buffer {
  const bodyBytes = Buffer.from(body);
  const propertyBytes = Buffer.from(properties);
  const entry = Buffer.alloc(20 + bodyBytes.length + 2 + propertyBytes.length);
  entry.writeInt32BE(entry.length, 0);
  entry.writeInt32BE(flag, 12);
  entry.writeInt32BE(bodyBytes.length, 16);
  bodyBytes.copy(entry, 20);
  entry.writeInt16BE(propertyBytes.length, 20 + bodyBytes.length);
  propertyBytes.copy(entry, 22 + bodyBytes.length);
  return entry;
}

test('SEND_MESSAGE_V2 headers expand to the full names; batch is implied by code 320', () => {
  const fields = { a: 'PG', b: 'T', c: 'TBW102', d: '4', e: '-1', f: '4', g: '1700000000000', h: '3', i: 'TRAN_MSG\u0001true\u0002', j: '0', k: 'false', l: '16' };
  const v2 = parseSendMessageHeader(createRequest(RequestCode.SEND_MESSAGE_V2, fields));
  assert.equal(v2.producerGroup, 'PG');
  assert.equal(v2.queueId, -1);
  assert.equal(v2.sysFlag, 4);
  assert.equal(v2.maxReconsumeTimes, 16);
  assert.equal(v2.batch, false);
  assert.equal(parseSendMessageHeader(createRequest(RequestCode.SEND_BATCH_MESSAGE, fields)).batch, true);
  assert.throws(() => parseSendMessageHeader(createRequest(RequestCode.SEND_MESSAGE, fields)), (error) => isTideError(error, 'INVALID_PARAMETER'));
});

test('batch bodies split into entries; a truncated or inconsistent body is MESSAGE_ILLEGAL', () => {
  const body = Buffer.concat([batchEntry('one', 'TAGS\u0001A\u0002', 7), batchEntry('', '')]);
  const entries = decodeBatchBody(body);
  assert.deepEqual(entries.map((entry) => [entry.body.toString(), entry.properties, entry.flag]), [['one', 'TAGS\u0001A\u0002', 7], ['', '', 0]]);
  const illegal = (error: unknown): boolean => isTideError(error, 'MESSAGE_ILLEGAL');
  assert.throws(() => decodeBatchBody(Buffer.alloc(0)), illegal);
  assert.throws(() => decodeBatchBody(body.subarray(0, body.length - 1)), illegal);
  const lying = Buffer.from(body);
  lying.writeInt32BE(10_000, 16);
  assert.throws(() => decodeBatchBody(lying), illegal);
});

test('TRAN_MSG=true makes a send transactional, except a retried message re-sent with a delay level', () => {
  assert.equal(isTransactionalSend(new Map([[MessageProperty.TRAN_MSG, 'true']]), 0), true);
  assert.equal(isTransactionalSend(new Map([[MessageProperty.TRAN_MSG, 'TRUE']]), 0), true);
  assert.equal(isTransactionalSend(new Map([[MessageProperty.TRAN_MSG, 'false']]), 0), false);
  assert.equal(isTransactionalSend(new Map(), 0), false);
  assert.equal(isTransactionalSend(new Map([[MessageProperty.TRAN_MSG, 'true'], [MessageProperty.DELAY, '3']]), 2), false);
  assert.equal(isTransactionalSend(new Map([[MessageProperty.TRAN_MSG, 'true'], [MessageProperty.DELAY, '3']]), 0), true);
});
