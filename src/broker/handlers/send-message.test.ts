// Proves the send handler: V2 one-letter headers expand to RocketMQ's names, batch bodies split or fail as MESSAGE_ILLEGAL, only TRAN_MSG=true sends (not retried re-sends with a delay level) count as transactional, and, through the handler on a real store, a batch with one entry the store would refuse (properties too large once the broker adds its own, a malformed DELAY) stores none of its entries.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isTideError } from '../../common/errors.js';
import { MessageProperty } from '../../protocol/message-properties.js';
import { decodeRecord } from '../../protocol/message-record.js';
import { createRequest, type RemotingCommand } from '../../protocol/remoting-command.js';
import { RequestCode } from '../../protocol/request-code.js';
import { RecordingConnection } from '../test-connection.js';
import { startTestBroker } from '../test-broker.js';
import { isTransactionalSend } from '../transaction/half-message.js';
import { createSendMessageHandler, decodeBatchBody, parseSendMessageHeader } from './send-message.js';

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

function batchRequest(topic: string, entries: Buffer[]): RemotingCommand {
  const fields = { a: 'PG', b: topic, c: 'TBW102', d: '4', e: '0', f: '0', g: String(Date.now()), h: '0', i: 'WAIT\u0001true\u0002', j: '0', k: 'false', m: 'true' };
  return createRequest(RequestCode.SEND_BATCH_MESSAGE, fields, Buffer.concat(entries));
}

test('a batch with an entry the store would refuse stores none of its entries; a good batch stores all, in order', async (t) => {
  const broker = await startTestBroker(t);
  const deps = broker.brokerDeps;
  const handler = createSendMessageHandler(deps);
  const context = { connection: new RecordingConnection(), reply: () => {} };
  const topic = 'BatchAllOrNothing';
  const stored = (): number => deps.store.getMaxOffsetInQueue(topic, 0);

  // 32 700 bytes of properties pass the batch decoder (int16) but not the store once the broker has
  // added MSG_REGION, TRACE_ON, UNIQ_KEY and CLUSTER; the entry comes last, after two good ones.
  const nearLimit = `KEYS\u0001${'k'.repeat(32_700 - 6)}\u0002`;
  assert.equal(Buffer.byteLength(nearLimit), 32_700);
  const commitLogBefore = deps.store.stats().commitLogMaxOffset;
  await assert.rejects(
    Promise.resolve(handler(batchRequest(topic, [batchEntry('one', ''), batchEntry('two', ''), batchEntry('three', nearLimit)]), context)),
    (error) => isTideError(error, 'MESSAGE_PROPERTIES_TOO_LARGE'),
  );
  await assert.rejects(
    Promise.resolve(handler(batchRequest(topic, [batchEntry('one', ''), batchEntry('two', 'DELAY\u0001soon\u0002')]), context)),
    (error) => isTideError(error, 'MESSAGE_ILLEGAL'),
  );
  assert.equal(stored(), 0, 'no entry of a refused batch is in the queue');
  assert.equal(deps.store.stats().commitLogMaxOffset, commitLogBefore, 'nor in the commit log');

  const response = await handler(batchRequest(topic, [batchEntry('one', 'TAGS\u0001A\u0002'), batchEntry('two', ''), batchEntry('three', '')]), context);
  assert.equal(response?.code, 0, response?.remark);
  assert.equal(response?.extFields?.queueOffset, '0');
  assert.equal(stored(), 3);
  const bodies = deps.store.getMessages(topic, 0, 0, 10, 1 << 20).records.map((record) => decodeRecord(record)!.body.toString());
  assert.deepEqual(bodies, ['one', 'two', 'three']);
});
