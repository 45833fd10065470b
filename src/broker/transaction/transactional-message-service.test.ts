// Proves the transaction service on a real store: halves stay invisible, commit stores once and a repeated end is a no-op, rollback stores nothing, checks go to a live producer with RocketMQ's header and body, check counts end in discard (or keep), and every state, including a commit whose op record was lost, survives a reopen.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseHostAddress } from '../../protocol/host-address.js';
import { createOffsetMessageId } from '../../protocol/message-id.js';
import { decodeProperties, MessageProperty } from '../../protocol/message-properties.js';
import { decodeRecord, SysFlag, TRANSACTION_TYPE_MASK } from '../../protocol/message-record.js';
import { RequestCode } from '../../protocol/request-code.js';
import { MessageStore } from '../../store/message-store.js';
import { createBrokerConfig, type BrokerConfig } from '../broker-config.js';
import type { OutgoingMessage } from '../message-writer.js';
import { MessageWriter } from '../message-writer.js';
import { ProducerManager } from '../producer-manager.js';
import { RecordingConnection } from '../test-connection.js';
import { TopicConfigManager } from '../topic-config-manager.js';
import { SystemTopic } from '../topic-names.js';
import { committedMessageOf } from './half-message.js';
import { TransactionalMessageService } from './transactional-message-service.js';

const host = parseHostAddress('127.0.0.1', 10911);
const clock = { ms: 1_700_000_000_000 };

interface Harness {
  store: MessageStore;
  writer: MessageWriter;
  producers: ProducerManager;
  service: TransactionalMessageService;
  close(): Promise<void>;
}

async function open(root: string, settings: Record<string, unknown> = {}): Promise<Harness> {
  const config: BrokerConfig = createBrokerConfig({
    storePathRootDir: root,
    brokerIP1: '127.0.0.1',
    mappedFileSizeCommitLog: 1024 * 1024,
    maxHashSlotNum: 64,
    maxIndexNum: 256,
    ...(settings as Partial<BrokerConfig>),
  });
  const store = await MessageStore.open(config, { wallClockMs: () => clock.ms });
  const writer = new MessageWriter(store, [1000, 5000], () => host, () => clock.ms);
  const producers = new ProducerManager({ channelExpiredTimeout: 120_000 });
  const topics = new TopicConfigManager({ ...config });
  const service = new TransactionalMessageService({ store, writer, config, producerManager: producers, topicConfigManager: topics, storeHost: () => host, now: () => clock.ms });
  return {
    store,
    writer,
    producers,
    service,
    close: async () => {
      await service.close();
      await store.close();
    },
  };
}

function transactionalMessage(uniqueKey: string, extra: Record<string, string> = {}): OutgoingMessage {
  return {
    topic: 'Orders',
    queueId: 1,
    flag: 0,
    sysFlag: SysFlag.TRANSACTION_PREPARED,
    bornTimestamp: clock.ms,
    bornHost: host,
    reconsumeTimes: 0,
    preparedTransactionOffset: 0,
    body: Buffer.from(`body-${uniqueKey}`),
    properties: new Map([[MessageProperty.TAGS, 'TagA'], [MessageProperty.UNIQ_KEY, uniqueKey], [MessageProperty.TRAN_MSG, 'true'], [MessageProperty.PGROUP, 'PG'], ...Object.entries(extra)]),
  };
}

function recordsOf(store: MessageStore, topic: string, queueId = 0): ReturnType<typeof decodeRecord>[] {
  return store.getMessages(topic, queueId, 0, 100, 1 << 20).records.map((bytes) => decodeRecord(bytes));
}

function end(service: TransactionalMessageService, half: { queueOffset: number; physicalOffset: number }, commitOrRollback: number, producerGroup = 'PG') {
  return service.endTransaction({ producerGroup, tranStateTableOffset: half.queueOffset, commitLogOffset: half.physicalOffset, commitOrRollback, fromTransactionCheck: false });
}

function withRoot(): { root: string; remove(): void } {
  const root = mkdtempSync(join(tmpdir(), 'tidemq-trans-'));
  return { root, remove: () => rmSync(root, { recursive: true, force: true }) };
}

test('commit stores the real message once; a second commit or a rollback after it changes nothing', async (t) => {
  const { root, remove } = withRoot();
  const harness = await open(root);
  t.after(async () => { await harness.close(); remove(); });
  const { store, service } = harness;

  const half = service.prepare(transactionalMessage('U1'), 'PG');
  assert.equal(recordsOf(store, 'Orders', 1).length, 0, 'a half message is not on its topic');
  const [halfRecord] = recordsOf(store, SystemTopic.TRANS_HALF);
  assert.ok(halfRecord);
  assert.equal(halfRecord.sysFlag & TRANSACTION_TYPE_MASK, SysFlag.TRANSACTION_NOT_TYPE);
  const halfProperties = decodeProperties(halfRecord.properties);
  assert.equal(halfProperties.get(MessageProperty.REAL_TOPIC), 'Orders');
  assert.equal(halfProperties.get(MessageProperty.REAL_QID), '1');
  assert.equal(halfProperties.get(MessageProperty.TRANSACTION_ID), 'U1');

  assert.equal(end(service, half, SysFlag.TRANSACTION_COMMIT).status, 'COMMITTED');
  assert.equal(end(service, half, SysFlag.TRANSACTION_COMMIT).status, 'ALREADY_ENDED');
  assert.equal(end(service, half, SysFlag.TRANSACTION_ROLLBACK).status, 'ALREADY_ENDED');

  const committed = recordsOf(store, 'Orders', 1);
  assert.equal(committed.length, 1);
  const message = committed[0]!;
  assert.equal(message.body.toString(), 'body-U1');
  assert.equal(message.sysFlag & TRANSACTION_TYPE_MASK, SysFlag.TRANSACTION_COMMIT);
  assert.equal(message.preparedTransactionOffset, half.physicalOffset);
  const properties = decodeProperties(message.properties);
  for (const gone of [MessageProperty.REAL_TOPIC, MessageProperty.REAL_QID, MessageProperty.TRAN_MSG]) assert.equal(properties.has(gone), false, gone);
  assert.equal(properties.get(MessageProperty.PGROUP), 'PG');
  assert.equal(properties.get(MessageProperty.UNIQ_KEY), 'U1');
  assert.equal(properties.get(MessageProperty.TAGS), 'TagA');

  const ops = recordsOf(store, SystemTopic.TRANS_OP_HALF);
  assert.equal(ops.length, 1);
  assert.equal(ops[0]!.body.toString(), String(half.queueOffset));
  assert.equal(decodeProperties(ops[0]!.properties).get(MessageProperty.TAGS), 'd');
  assert.equal(service.state().halfProgress, 1);
});

test('rollback stores only an op record; ends that do not match the half are refused', async (t) => {
  const { root, remove } = withRoot();
  const harness = await open(root);
  t.after(async () => { await harness.close(); remove(); });
  const { store, service, writer } = harness;
  const plain = writer.write({ ...transactionalMessage('P'), topic: 'Plain', sysFlag: 0, properties: new Map() }).result;
  const half = service.prepare(transactionalMessage('U2'), 'PG');

  assert.deepEqual(end(service, half, SysFlag.TRANSACTION_COMMIT, 'OtherGroup'), { status: 'REFUSED', remark: 'The producer group wrong' });
  assert.deepEqual(
    service.endTransaction({ producerGroup: 'PG', tranStateTableOffset: half.queueOffset + 1, commitLogOffset: half.physicalOffset, commitOrRollback: SysFlag.TRANSACTION_COMMIT, fromTransactionCheck: false }),
    { status: 'REFUSED', remark: 'The transaction state table offset wrong' },
  );
  assert.equal(end(service, { queueOffset: half.queueOffset, physicalOffset: plain.physicalOffset }, SysFlag.TRANSACTION_COMMIT).status, 'REFUSED', 'a normal message cannot be committed');
  assert.equal(end(service, { queueOffset: half.queueOffset, physicalOffset: 987_654 }, SysFlag.TRANSACTION_COMMIT).status, 'REFUSED');
  assert.equal(service.isFinished(half.queueOffset), false);

  assert.equal(end(service, half, SysFlag.TRANSACTION_ROLLBACK).status, 'ROLLED_BACK');
  assert.equal(end(service, half, SysFlag.TRANSACTION_COMMIT).status, 'ALREADY_ENDED');
  assert.equal(recordsOf(store, 'Orders', 1).length, 0);
  assert.equal(recordsOf(store, SystemTopic.TRANS_OP_HALF).length, 1);
});

test('checks go to a live producer after transactionTimeOut, are counted, and end in a discard after transactionCheckMax', async (t) => {
  const { root, remove } = withRoot();
  const harness = await open(root, { transactionTimeOut: 1000, transactionCheckMax: 2 });
  t.after(async () => { await harness.close(); remove(); });
  const { store, service, producers } = harness;
  const connection = new RecordingConnection();
  producers.register('PG', { clientId: 'producer-1', connection, language: 'JAVA', version: 479, lastUpdateTimestamp: clock.ms });

  const half = service.prepare(transactionalMessage('U3'), 'PG');
  await service.checkOnce();
  assert.equal(connection.onewayRequests.length, 0, 'a young half is not checked');

  clock.ms += 1500;
  await service.checkOnce();
  assert.equal(connection.onewayRequests.length, 1);
  const check = connection.onewayRequests[0]!;
  assert.equal(check.code, RequestCode.CHECK_TRANSACTION_STATE);
  assert.deepEqual(check.extFields, {
    topic: SystemTopic.TRANS_HALF,
    tranStateTableOffset: String(half.queueOffset),
    commitLogOffset: String(half.physicalOffset),
    msgId: 'U3',
    transactionId: 'U3',
    offsetMsgId: createOffsetMessageId(host, half.physicalOffset),
    bname: 'broker-a',
  });
  const body = decodeRecord(check.body!);
  assert.ok(body);
  assert.equal(body.topic, 'Orders');
  assert.equal(body.queueId, 1);
  assert.equal(body.queueOffset, half.queueOffset);
  assert.equal(body.physicalOffset, half.physicalOffset);
  assert.equal(decodeProperties(body.properties).get(MessageProperty.TRANSACTION_CHECK_TIMES), '1');
  assert.equal(service.state().checkTimes.get(half.queueOffset), 1);

  await service.checkOnce();
  assert.equal(connection.onewayRequests.length, 2);
  await service.checkOnce();
  assert.equal(connection.onewayRequests.length, 2, 'no third check: the half is discarded');
  assert.equal(service.isFinished(half.queueOffset), true);
  const kept = recordsOf(store, SystemTopic.TRANS_CHECK_MAX_TIME);
  assert.equal(kept.length, 1, 'the discarded half is kept in TRANS_CHECK_MAX_TIME_TOPIC');
  assert.equal(decodeProperties(kept[0]!.properties).get(MessageProperty.UNIQ_KEY), 'U3');
  assert.equal(end(service, half, SysFlag.TRANSACTION_COMMIT).status, 'ALREADY_ENDED', 'a late commit after the discard stores nothing');
  assert.equal(recordsOf(store, 'Orders', 1).length, 0);
});

test('checks without a live producer are not counted; CHECK_IMMUNITY_TIME_IN_SECONDS delays the first check; keep mode checks past the max', async (t) => {
  const { root, remove } = withRoot();
  const harness = await open(root, { transactionTimeOut: 1000, transactionCheckMax: 1, transactionDiscardAfterCheckMax: false });
  t.after(async () => { await harness.close(); remove(); });
  const { service, producers } = harness;
  const plain = service.prepare(transactionalMessage('U4'), 'PG');
  const immune = service.prepare(transactionalMessage('U5', { [MessageProperty.CHECK_IMMUNITY_TIME_IN_SECONDS]: '10' }), 'PG');
  clock.ms += 2000;
  await service.checkOnce();
  assert.equal(service.state().checkTimes.size, 0, 'nobody to ask, nothing counted');

  const connection = new RecordingConnection();
  producers.register('PG', { clientId: 'producer-2', connection, language: 'JAVA', version: 479, lastUpdateTimestamp: clock.ms });
  await service.checkOnce();
  assert.deepEqual(connection.onewayRequests.map((request) => request.extFields?.tranStateTableOffset), [String(plain.queueOffset)], 'the immune half waits');
  clock.ms += 9000;
  await service.checkOnce();
  await service.checkOnce();
  const asked = connection.onewayRequests.map((request) => Number(request.extFields?.tranStateTableOffset));
  assert.equal(asked.filter((offset) => offset === plain.queueOffset).length, 3, 'keep mode checks past transactionCheckMax');
  assert.equal(asked.filter((offset) => offset === immune.queueOffset).length, 2);
  assert.equal(service.isFinished(plain.queueOffset), false);
});

test('open, committed and rolled-back halves keep their state across a reopen, with or without the progress file', async (t) => {
  const { root, remove } = withRoot();
  let harness = await open(root, { transactionTimeOut: 1000 });
  t.after(async () => { await harness.close(); remove(); });
  const connection = new RecordingConnection();
  harness.producers.register('PG', { clientId: 'producer-3', connection, language: 'JAVA', version: 479, lastUpdateTimestamp: clock.ms });
  const committed = harness.service.prepare(transactionalMessage('C'), 'PG');
  const rolledBack = harness.service.prepare(transactionalMessage('R'), 'PG');
  const open1 = harness.service.prepare(transactionalMessage('O'), 'PG');
  assert.equal(end(harness.service, committed, SysFlag.TRANSACTION_COMMIT).status, 'COMMITTED');
  assert.equal(end(harness.service, rolledBack, SysFlag.TRANSACTION_ROLLBACK).status, 'ROLLED_BACK');
  clock.ms += 1500;
  await harness.service.checkOnce();
  assert.equal(connection.onewayRequests.length, 1);
  await harness.close();

  for (const withFile of [true, false]) {
    if (!withFile) unlinkSync(join(root, 'config', 'transactionProgress.json'));
    harness = await open(root, { transactionTimeOut: 1000 });
    const { service } = harness;
    assert.equal(service.isFinished(committed.queueOffset), true);
    assert.equal(service.isFinished(rolledBack.queueOffset), true);
    assert.equal(service.isFinished(open1.queueOffset), false);
    assert.equal(service.state().checkTimes.get(open1.queueOffset), withFile ? 1 : undefined, 'check counts come from the progress file');
    assert.equal(end(service, committed, SysFlag.TRANSACTION_COMMIT).status, 'ALREADY_ENDED');
    if (!withFile) assert.equal(end(service, open1, SysFlag.TRANSACTION_COMMIT).status, 'COMMITTED');
    await harness.close();
  }
  harness = await open(root);
  assert.deepEqual(recordsOf(harness.store, 'Orders', 1).map((record) => decodeProperties(record!.properties).get(MessageProperty.UNIQ_KEY)), ['C', 'O']);
  assert.equal(harness.service.state().halfProgress, 3);
});

test('a commit whose op record was lost before a restart is found in the key index and never stored twice', async (t) => {
  const { root, remove } = withRoot();
  let harness = await open(root, { transactionTimeOut: 1000 });
  t.after(async () => { await harness.close(); remove(); });
  const viaEnd = harness.service.prepare(transactionalMessage('L1'), 'PG');
  const viaCheck = harness.service.prepare(transactionalMessage('L2'), 'PG');
  // What a crash between the two appends of a commit leaves: the committed message, no op record.
  for (const half of [viaEnd, viaCheck]) {
    const record = decodeRecord(harness.store.readRecord(half.physicalOffset)!)!;
    harness.writer.write(committedMessageOf(record)!);
  }
  await harness.store.close();

  harness = await open(root, { transactionTimeOut: 1000 });
  const { service, store, producers } = harness;
  assert.equal(service.isFinished(viaEnd.queueOffset), false);
  assert.equal(end(service, viaEnd, SysFlag.TRANSACTION_COMMIT).status, 'ALREADY_ENDED');
  const connection = new RecordingConnection();
  producers.register('PG', { clientId: 'producer-4', connection, language: 'JAVA', version: 479, lastUpdateTimestamp: clock.ms });
  clock.ms += 1500;
  await service.checkOnce();
  assert.equal(connection.onewayRequests.length, 0, 'a committed half is not checked');
  assert.equal(service.isFinished(viaCheck.queueOffset), true);
  assert.equal(recordsOf(store, 'Orders', 1).length, 2);
  assert.equal(recordsOf(store, SystemTopic.TRANS_OP_HALF).length, 2, 'the op records are restored');
});

test('the persisted op offset follows the half progress, so a restart replays only recent op records', async (t) => {
  const { root, remove } = withRoot();
  let harness = await open(root);
  t.after(async () => { await harness.close(); remove(); });
  for (const key of ['A', 'B', 'C']) assert.equal(end(harness.service, harness.service.prepare(transactionalMessage(key), 'PG'), SysFlag.TRANSACTION_COMMIT).status, 'COMMITTED');
  // A pass samples (half max 3, op max 3): once the progress reaches 3, op records before 3 are not needed.
  await harness.service.checkOnce();
  const open1 = harness.service.prepare(transactionalMessage('D'), 'PG');
  await harness.close();
  const saved = JSON.parse(readFileSync(join(root, 'config', 'transactionProgress.json'), 'utf8')) as { halfOffset: number; opOffset: number };
  assert.equal(saved.halfOffset, 3);
  assert.equal(saved.opOffset, 3, 'the three op records name only halves below the progress');

  harness = await open(root);
  assert.equal(harness.service.isFinished(open1.queueOffset), false);
  assert.equal(end(harness.service, open1, SysFlag.TRANSACTION_ROLLBACK).status, 'ROLLED_BACK');
  assert.equal(harness.service.state().halfProgress, 4);
});
