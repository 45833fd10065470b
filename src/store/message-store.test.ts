// Proves the store's basic contract on real files: appends round-trip through readRecord and getMessages (even before the batch write), names are validated before touching the disk, transactions and listeners follow RocketMQ, and a clean close reopens intact.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isTideError } from '../common/errors.js';
import { decodeProperties } from '../protocol/message-properties.js';
import { SysFlag, decodeRecord } from '../protocol/message-record.js';
import { MessageStore } from './message-store.js';
import { makeTempDirectory, messageInput, recordingLogger } from './store-test-support.js';

const smallIndex = { maxHashSlotNum: 64, maxIndexNum: 256 };

async function withStore(
  body: (store: MessageStore, root: string) => Promise<void> | void,
  config: Record<string, unknown> = {},
): Promise<void> {
  const directory = makeTempDirectory();
  const store = await MessageStore.open({ storePathRootDir: directory.path, mappedFileSizeCommitLog: 64 * 1024, ...smallIndex, ...config }, { logger: recordingLogger() });
  try {
    await body(store, directory.path);
  } finally {
    await store.close();
    directory.remove();
  }
}

test('append then read round-trips every field, before and after the batch write', async () => {
  await withStore(async (store) => {
    const input = messageInput({ topic: 'Orders', queueId: 2, body: 'payload-1', tags: 'TagA', keys: ['order-1'], uniqueKey: 'U1' });
    const result = store.append(input);
    assert.equal(result.physicalOffset, 0);
    assert.equal(result.queueOffset, 0);
    assert.equal(result.endOffset, result.size);

    // Same turn of the event loop: the record is still in the write buffer.
    const early = store.readRecord(result.physicalOffset);
    assert.ok(early);
    const pulledEarly = store.getMessages('Orders', 2, 0, 32, 1 << 20);
    assert.equal(pulledEarly.status, 'FOUND');
    assert.deepEqual(pulledEarly.records[0], early);

    await new Promise((resolve) => setImmediate(resolve));
    const late = store.readRecord(result.physicalOffset);
    assert.deepEqual(late, early);
    const decoded = decodeRecord(late!);
    assert.ok(decoded);
    assert.equal(decoded.topic, 'Orders');
    assert.equal(decoded.queueId, 2);
    assert.equal(decoded.queueOffset, 0);
    assert.equal(decoded.physicalOffset, 0);
    assert.equal(decoded.storeTimestamp, result.storeTimestamp);
    assert.equal(decoded.body.toString(), 'payload-1');
    assert.equal(decodeProperties(decoded.properties).get('TAGS'), 'TagA');

    const second = store.append(messageInput({ topic: 'Orders', queueId: 2, body: 'payload-2' }));
    assert.equal(second.physicalOffset, result.endOffset);
    assert.equal(second.queueOffset, 1);
    assert.equal(store.getMaxOffsetInQueue('Orders', 2), 2);
    assert.equal(store.readRecord(second.physicalOffset + 1), null, 'an offset inside a record is not a record');
    assert.equal(store.readRecord(10 ** 12), null);
    assert.deepEqual(store.getConsumeQueueEntry('Orders', 2, 1), { physicalOffset: second.physicalOffset, size: second.size, tagsCode: 0 });
    assert.equal(store.stats().putMessageCount, 2);
  });
});

test('queue offsets are per topic and queue; listQueues and onMessageArrived report them', async () => {
  const directory = makeTempDirectory();
  const arrived: string[] = [];
  const store = await MessageStore.open(
    { storePathRootDir: directory.path, mappedFileSizeCommitLog: 64 * 1024, ...smallIndex },
    { logger: recordingLogger(), onMessageArrived: (topic, queueId, queueOffset, tagsCode) => arrived.push(`${topic}/${queueId}@${queueOffset}#${tagsCode}`) },
  );
  try {
    store.append(messageInput({ topic: 'A', queueId: 0, tagsCode: 5 }));
    store.append(messageInput({ topic: 'A', queueId: 1, tagsCode: -7 }));
    store.append(messageInput({ topic: 'A', queueId: 0, tagsCode: 9 }));
    store.append(messageInput({ topic: '%RETRY%group-1', queueId: 0 }));
    assert.deepEqual(arrived, ['A/0@0#5', 'A/1@0#-7', 'A/0@1#9', '%RETRY%group-1/0@0#0']);
    assert.deepEqual([...store.listQueues().entries()].sort(), [['%RETRY%group-1', [0]], ['A', [0, 1]]]);
  } finally {
    await store.close();
    directory.remove();
  }
});

test('prepared and rolled-back transaction records stay out of the consume queues', async () => {
  await withStore((store) => {
    const prepared = store.append(messageInput({ topic: 'Tx', sysFlag: SysFlag.TRANSACTION_PREPARED, keys: ['half'] }));
    assert.equal(prepared.queueOffset, 0);
    assert.equal(store.getMaxOffsetInQueue('Tx', 0), 0);
    assert.ok(store.readRecord(prepared.physicalOffset));
    const committed = store.append(messageInput({ topic: 'Tx', sysFlag: SysFlag.TRANSACTION_COMMIT }));
    assert.equal(committed.queueOffset, 0);
    assert.equal(store.getMaxOffsetInQueue('Tx', 0), 1);
    assert.equal(store.getConsumeQueueEntry('Tx', 0, 0)?.physicalOffset, committed.physicalOffset);
    const rolledBack = store.append(messageInput({ topic: 'Tx', sysFlag: SysFlag.TRANSACTION_ROLLBACK, keys: ['gone'] }));
    assert.equal(store.getMaxOffsetInQueue('Tx', 0), 1);
    assert.equal(store.queryMessageByKey('Tx', 'gone', 10, 0, Number.MAX_SAFE_INTEGER).records.length, 0);
    assert.ok(store.readRecord(rolledBack.physicalOffset));
  });
});

test('bad topic names and queue ids are refused before anything touches the disk', async () => {
  await withStore((store, root) => {
    const before = readdirSync(join(root, 'commitlog'));
    for (const topic of ['../x', '..', 'a/b', '', 'x'.repeat(300), 'white space']) {
      assert.throws(() => store.append(messageInput({ topic })), (error) => isTideError(error, 'TOPIC_NAME_INVALID'), topic);
    }
    for (const queueId of [-1, 65_536, 1.5, Number.NaN]) {
      assert.throws(() => store.append(messageInput({ queueId })), (error) => isTideError(error, 'QUEUE_ID_INVALID'), String(queueId));
    }
    assert.equal(existsSync(join(root, 'x')), false);
    assert.equal(existsSync(join(root, '..', 'x')), false);
    assert.deepEqual(readdirSync(join(root, 'consumequeue')), []);
    assert.deepEqual(readdirSync(join(root, 'commitlog')), before);
    assert.equal(store.stats().commitLogMaxOffset, 0);
    // Reads of such names find nothing and create nothing.
    assert.equal(store.getMessages('../x', 0, 0, 1, 1024).status, 'NO_MESSAGE_IN_QUEUE');
    store.deleteTopic('../x');
    assert.deepEqual(readdirSync(join(root, 'consumequeue')), []);
  });
});

test('oversized bodies and properties are refused with their codes', async () => {
  await withStore((store) => {
    assert.throws(() => store.append(messageInput({ body: Buffer.alloc(2048) })), (error) => isTideError(error, 'MESSAGE_BODY_TOO_LARGE'));
    const input = messageInput();
    input.properties = `KEYS\u0001${'k'.repeat(40_000)}\u0002`;
    assert.throws(() => store.append(input), (error) => isTideError(error, 'MESSAGE_PROPERTIES_TOO_LARGE'));
    assert.equal(store.stats().commitLogMaxOffset, 0);
  }, { maxMessageSize: 1024 });
});

test('a clean close reopens with every record, queue and key, and offsets continue', async () => {
  const directory = makeTempDirectory();
  const config = { storePathRootDir: directory.path, mappedFileSizeCommitLog: 8192, consumeQueueEntriesPerFile: 16, ...smallIndex };
  const first = await MessageStore.open(config, { logger: recordingLogger() });
  const written = [];
  for (let index = 0; index < 60; index++) {
    written.push(first.append(messageInput({ topic: 'Reopen', queueId: index % 3, body: `body-${index}`, keys: [`key-${index}`] })));
  }
  await first.close();
  assert.equal(existsSync(join(directory.path, 'abort')), false);
  assert.equal(existsSync(join(directory.path, 'lock')), false);

  const second = await MessageStore.open(config, { logger: recordingLogger() });
  try {
    assert.equal(second.recovery.abnormal, false);
    assert.equal(second.recovery.recordsRedispatched, 0, 'a clean checkpoint leaves nothing to scan');
    assert.equal(second.stats().commitLogMaxOffset, written[59]!.endOffset);
    for (let queueId = 0; queueId < 3; queueId++) assert.equal(second.getMaxOffsetInQueue('Reopen', queueId), 20);
    for (const [index, result] of written.entries()) {
      const record = decodeRecord(second.readRecord(result.physicalOffset)!);
      assert.equal(record?.body.toString(), `body-${index}`);
    }
    const pulled = second.getMessages('Reopen', 1, 0, 100, 1 << 20);
    assert.equal(pulled.records.length, 20);
    assert.deepEqual(pulled.records.map((record) => decodeRecord(record)!.body.toString()), written.map((_, index) => `body-${index}`).filter((_, index) => index % 3 === 1));
    assert.equal(second.queryMessageByKey('Reopen', 'key-31', 5, 0, Number.MAX_SAFE_INTEGER).records.length, 1);
    const next = second.append(messageInput({ topic: 'Reopen', queueId: 1 }));
    assert.equal(next.queueOffset, 20);
    assert.equal(next.physicalOffset >= written[59]!.endOffset, true);
  } finally {
    await second.close();
    directory.remove();
  }
});

test('deleteTopic removes its queues; a new append starts the topic over', async () => {
  await withStore(async (store, root) => {
    store.append(messageInput({ topic: 'Doomed', queueId: 0 }));
    store.append(messageInput({ topic: 'Doomed', queueId: 1 }));
    store.append(messageInput({ topic: 'Kept', queueId: 0 }));
    await store.flushCheckpoint();
    assert.ok(existsSync(join(root, 'consumequeue', 'Doomed', '0')));
    store.deleteTopic('Doomed');
    assert.equal(store.getMaxOffsetInQueue('Doomed', 0), 0);
    assert.equal(store.getMessages('Doomed', 0, 0, 10, 1 << 20).status, 'NO_MESSAGE_IN_QUEUE');
    assert.deepEqual([...store.listQueues().keys()], ['Kept']);
    await store.flushCheckpoint();
    assert.deepEqual(readdirSync(join(root, 'consumequeue')), ['Kept']);
    assert.equal(store.append(messageInput({ topic: 'Doomed', queueId: 0 })).queueOffset, 0);
  });
});

test('a store is locked while open: same process, or a lock file naming another live process', async () => {
  const directory = makeTempDirectory();
  const config = { storePathRootDir: directory.path, mappedFileSizeCommitLog: 8192, ...smallIndex };
  try {
    const store = await MessageStore.open(config, { logger: recordingLogger() });
    await assert.rejects(MessageStore.open(config, { logger: recordingLogger() }), (error) => isTideError(error, 'STORE_LOCKED'));
    await store.close();

    writeFileSync(join(directory.path, 'lock'), `${process.ppid}\n`);
    await assert.rejects(MessageStore.open(config, { logger: recordingLogger() }), (error) => isTideError(error, 'STORE_LOCKED'));

    // A pid above any pid_max names no process: the lock is stale and taken over.
    writeFileSync(join(directory.path, 'lock'), '999999999\n');
    const reopened = await MessageStore.open(config, { logger: recordingLogger() });
    await reopened.close();
  } finally {
    directory.remove();
  }
});

test('appends after close are refused with STORE_CLOSED', async () => {
  const directory = makeTempDirectory();
  const store = await MessageStore.open({ storePathRootDir: directory.path, mappedFileSizeCommitLog: 8192, ...smallIndex }, { logger: recordingLogger() });
  await store.close();
  assert.throws(() => store.append(messageInput()), (error) => isTideError(error, 'STORE_CLOSED'));
  directory.remove();
});
