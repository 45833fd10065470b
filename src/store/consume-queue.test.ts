// Proves the consume-queue files hold RocketMQ's 20-byte entries (offset, size, tags code including negative Java hashes) in files named by their start byte offset, readable across files and before and after they are written, and that a store of 50 queues with maxOpenConsumeQueueFiles=4 appends, pulls, flushes and reopens correctly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { javaStringHashCode } from '../common/java-hash.js';
import { decodeRecord, readInt64 } from '../protocol/message-record.js';
import { MessageStore } from './message-store.js';
import { makeTempDirectory, messageInput, recordingLogger } from './store-test-support.js';

const ENTRIES_PER_FILE = 8;

test('entries carry offset, size and tags code, in files of entriesPerFile × 20 bytes', async () => {
  const directory = makeTempDirectory();
  const config = { storePathRootDir: directory.path, mappedFileSizeCommitLog: 64 * 1024, consumeQueueEntriesPerFile: ENTRIES_PER_FILE, maxHashSlotNum: 64, maxIndexNum: 256 };
  const store = await MessageStore.open(config, { logger: recordingLogger() });
  const negativeTag = 'TagWithNegativeHash-zz';
  assert.ok(javaStringHashCode(negativeTag) < 0, 'the test needs a tag whose Java hash is negative');
  const tagsCodes = [0, javaStringHashCode('TagA'), javaStringHashCode(negativeTag), -1, -(2 ** 31), 2 ** 31 - 1, 1_900_000_000_000];
  const results = [];
  for (let index = 0; index < 20; index++) {
    const tagsCode = tagsCodes[index % tagsCodes.length]!;
    results.push(store.append(messageInput({ topic: 'CQ', queueId: 7, body: `m${index}`, tagsCode })));
    store.append(messageInput({ topic: 'Other', queueId: 0 }));
  }
  try {
    // Pending entries (not yet written) read the same as written ones.
    for (const [index, result] of results.entries()) {
      assert.deepEqual(store.getConsumeQueueEntry('CQ', 7, index), { physicalOffset: result.physicalOffset, size: result.size, tagsCode: tagsCodes[index % tagsCodes.length] });
    }
    assert.equal(store.getConsumeQueueEntry('CQ', 7, 20), null);
    assert.equal(store.getConsumeQueueEntry('CQ', 7, -1), null);
    await store.flushCheckpoint();
    for (const [index, result] of results.entries()) {
      assert.deepEqual(store.getConsumeQueueEntry('CQ', 7, index), { physicalOffset: result.physicalOffset, size: result.size, tagsCode: tagsCodes[index % tagsCodes.length] });
    }
    // A pull spanning the three files returns all entries in order.
    const pulled = store.getMessages('CQ', 7, 0, 100, 1 << 20);
    assert.deepEqual(pulled.queueOffsets, results.map((_, index) => index));
  } finally {
    await store.close();
  }

  const queueDirectory = join(directory.path, 'consumequeue', 'CQ', '7');
  const fileBytes = ENTRIES_PER_FILE * 20;
  assert.deepEqual(readdirSync(queueDirectory).sort(), ['00000000000000000000', '00000000000000000160', '00000000000000000320']);
  const raw = Buffer.concat(readdirSync(queueDirectory).sort().map((name) => readFileSync(join(queueDirectory, name))));
  assert.equal(raw.length, fileBytes * 2 + 4 * 20, 'full files, then the part of the last one written');
  for (const [index, result] of results.entries()) {
    const at = index * 20;
    assert.equal(readInt64(raw, at), result.physicalOffset);
    assert.equal(raw.readInt32BE(at + 8), result.size);
    assert.equal(readInt64(raw, at + 12), tagsCodes[index % tagsCodes.length]);
  }
  // A negative int tags code is stored sign-extended to 64 bits, as Java's long.
  const negativeAt = 2 * 20 + 12;
  assert.equal(raw.readInt32BE(negativeAt), -1);
  assert.equal(raw.readInt32BE(negativeAt + 4), javaStringHashCode(negativeTag));

  const reopened = await MessageStore.open(config, { logger: recordingLogger() });
  try {
    assert.equal(reopened.getMaxOffsetInQueue('CQ', 7), 20);
    assert.equal(reopened.getMinOffsetInQueue('CQ', 7), 0);
    assert.equal(reopened.getConsumeQueueEntry('CQ', 7, 19)?.physicalOffset, results[19]!.physicalOffset);
    assert.equal(reopened.append(messageInput({ topic: 'CQ', queueId: 7 })).queueOffset, 20);
  } finally {
    await reopened.close();
    directory.remove();
  }
});

test('50 queues with maxOpenConsumeQueueFiles=4: appends, pulls, flushes and a reopen see every message', async () => {
  const directory = makeTempDirectory();
  // maxOpenConsumeQueueFiles is a broker setting the store reads from the config it is opened with.
  const config = {
    storePathRootDir: directory.path, mappedFileSizeCommitLog: 256 * 1024, consumeQueueEntriesPerFile: ENTRIES_PER_FILE, maxHashSlotNum: 64, maxIndexNum: 256,
    maxOpenConsumeQueueFiles: 4,
  };
  const QUEUES = 50;
  const PER_QUEUE = 20; // three files per queue
  const topicOf = (queue: number): string => `Many${queue % 5}`;
  const bodyOf = (queue: number, index: number): string => `q${queue}-m${index}`;
  const store = await MessageStore.open(config, { logger: recordingLogger() });
  try {
    for (let index = 0; index < PER_QUEUE; index++) {
      for (let queue = 0; queue < QUEUES; queue++) {
        assert.equal(store.append(messageInput({ topic: topicOf(queue), queueId: queue, body: bodyOf(queue, index), tags: `T${queue}` })).queueOffset, index);
      }
      if (index === PER_QUEUE / 2) await store.flushCheckpoint();
    }
    await store.flushCheckpoint();
    for (let queue = QUEUES - 1; queue >= 0; queue--) {
      const pulled = store.getMessages(topicOf(queue), queue, 0, PER_QUEUE, 1 << 20);
      assert.deepEqual(pulled.records.map((record) => decodeRecord(record)?.body.toString()), Array.from({ length: PER_QUEUE }, (_, index) => bodyOf(queue, index)));
      assert.equal(store.getConsumeQueueEntry(topicOf(queue), queue, PER_QUEUE - 1)?.tagsCode, javaStringHashCode(`T${queue}`));
    }
  } finally {
    await store.close();
  }
  const reopened = await MessageStore.open(config, { logger: recordingLogger() });
  try {
    for (let queue = 0; queue < QUEUES; queue += 7) {
      assert.equal(reopened.getMaxOffsetInQueue(topicOf(queue), queue), PER_QUEUE);
      const [last] = reopened.getMessages(topicOf(queue), queue, PER_QUEUE - 1, 1, 1 << 20).records;
      assert.equal(decodeRecord(last!)?.body.toString(), bodyOf(queue, PER_QUEUE - 1));
      assert.equal(reopened.append(messageInput({ topic: topicOf(queue), queueId: queue })).queueOffset, PER_QUEUE);
    }
  } finally {
    await reopened.close();
    directory.remove();
  }
});
