// Proves recovery on real files after a simulated crash: the torn tail and stray segments are cut, records past the checkpoint are re-dispatched into consume queues and the key index, queue offsets continue, and a record with a flipped byte is never handed out (cut on recovery, refused on read).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, existsSync, openSync, readFileSync, readSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { isTideError } from '../common/errors.js';
import { decodeRecord } from '../protocol/message-record.js';
import { MessageStore } from './message-store.js';
import type { AppendResult } from './types.js';
import { makeTempDirectory, messageInput, recordingLogger } from './store-test-support.js';

const SEGMENT_BYTES = 8192;

function configFor(root: string) {
  return {
    storePathRootDir: root,
    mappedFileSizeCommitLog: SEGMENT_BYTES,
    consumeQueueEntriesPerFile: 8,
    flushIntervalConsumeQueue: 600_000,
    maxHashSlotNum: 64,
    maxIndexNum: 256,
  };
}

function segmentPath(root: string, physicalOffset: number): string {
  const start = physicalOffset - (physicalOffset % SEGMENT_BYTES);
  return join(root, 'commitlog', String(start).padStart(20, '0'));
}

function writeAt(path: string, bytes: Buffer, position: number): void {
  const fd = openSync(path, 'r+');
  writeSync(fd, bytes, 0, bytes.length, position);
  closeSync(fd);
}

function appendBatch(store: MessageStore, prefix: string, count: number): AppendResult[] {
  const results = [];
  for (let index = 0; index < count; index++) {
    results.push(store.append(messageInput({ topic: 'R', queueId: index % 2, body: `${prefix}-${index}-${'p'.repeat(index * 7)}`, keys: [`${prefix}-key-${index}`] })));
  }
  return results;
}

test('after a crash the torn tail is cut, the tail past the checkpoint is re-dispatched and offsets continue', async () => {
  const directory = makeTempDirectory();
  const root = directory.path;
  const store = await MessageStore.open(configFor(root), { logger: recordingLogger() });
  const before = appendBatch(store, 'one', 20);
  await store.flushCheckpoint();
  const checkpointOffset = before[before.length - 1]!.endOffset;
  const after = appendBatch(store, 'two', 15);
  await new Promise((resolve) => setImmediate(resolve)); // written to the page cache, consume queues not flushed
  await store.simulateCrash();
  assert.ok(existsSync(join(root, 'abort')));

  // A torn write at the end: the first 60 bytes of a record header, then zeros, then garbage.
  const end = after[after.length - 1]!.endOffset;
  const activeSegment = segmentPath(root, end);
  const relativeEnd = end % SEGMENT_BYTES;
  const someRecord = Buffer.alloc(after[0]!.size);
  const fd = openSync(segmentPath(root, after[0]!.physicalOffset), 'r');
  readSync(fd, someRecord, 0, someRecord.length, after[0]!.physicalOffset % SEGMENT_BYTES);
  closeSync(fd);
  writeAt(activeSegment, someRecord.subarray(0, 60), relativeEnd);
  writeAt(activeSegment, Buffer.from('garbage garbage garbage'), Math.min(relativeEnd + 300, SEGMENT_BYTES - 30));
  // A stray later segment full of junk must not survive either.
  const strayPath = segmentPath(root, end + 2 * SEGMENT_BYTES);
  writeFileSync(strayPath, Buffer.alloc(SEGMENT_BYTES, 0x5a));

  const logger = recordingLogger();
  const reopened = await MessageStore.open(configFor(root), { logger });
  try {
    const report = reopened.recovery;
    assert.equal(report.abnormal, true);
    assert.equal(report.startOffset, checkpointOffset, 'the scan starts at the checkpoint, not at the beginning');
    assert.equal(report.recordsRedispatched, 15);
    assert.equal(report.endOffset, end);
    assert.equal(report.corruptOffset, end, 'the torn record is reported');
    assert.ok(logger.errors.length >= 1);
    assert.equal(existsSync(strayPath), false);
    assert.ok(existsSync(`${strayPath}.orphan`), 'the stray is moved aside, not deleted');
    const tail = readFileSync(activeSegment).subarray(relativeEnd);
    assert.ok(tail.every((byte) => byte === 0), 'nothing is left past the recovered end');

    const all = [...before, ...after];
    for (const [index, result] of all.entries()) {
      const record = decodeRecord(reopened.readRecord(result.physicalOffset)!);
      assert.equal(record?.physicalOffset, result.physicalOffset);
      const expectedQueue = index < 20 ? index % 2 : (index - 20) % 2;
      assert.equal(record?.queueId, expectedQueue);
    }
    for (const queueId of [0, 1]) {
      const inQueue = [...before.filter((_, index) => index % 2 === queueId), ...after.filter((_, index) => index % 2 === queueId)];
      assert.equal(reopened.getMaxOffsetInQueue('R', queueId), inQueue.length);
      for (const [queueOffset, result] of inQueue.entries()) {
        assert.deepEqual(reopened.getConsumeQueueEntry('R', queueId, queueOffset), { physicalOffset: result.physicalOffset, size: result.size, tagsCode: 0 });
        assert.equal(result.queueOffset, queueOffset);
      }
    }
    assert.equal(reopened.queryMessageByKey('R', 'two-key-14', 5, 0, Number.MAX_SAFE_INTEGER).records.length, 1, 'keys past the checkpoint are indexed again');
    assert.equal(reopened.queryMessageByKey('R', 'one-key-3', 5, 0, Number.MAX_SAFE_INTEGER).records.length, 1);

    const next = reopened.append(messageInput({ topic: 'R', queueId: 1 }));
    assert.equal(next.physicalOffset, end);
    assert.equal(next.queueOffset, 10 + 7);
  } finally {
    await reopened.close();
  }

  // After the repaired store closes cleanly, the next open has nothing to scan.
  const third = await MessageStore.open(configFor(root), { logger: recordingLogger() });
  try {
    assert.equal(third.recovery.abnormal, false);
    assert.equal(third.recovery.recordsRedispatched, 0);
    assert.equal(third.getMaxOffsetInQueue('R', 1), 18);
  } finally {
    await third.close();
    directory.remove();
  }
});

test('a crash before any checkpoint rebuilds every queue from the start of the log', async () => {
  const directory = makeTempDirectory();
  const store = await MessageStore.open(configFor(directory.path), { logger: recordingLogger() });
  const results = appendBatch(store, 'only', 30);
  await new Promise((resolve) => setImmediate(resolve));
  await store.simulateCrash();
  const reopened = await MessageStore.open(configFor(directory.path), { logger: recordingLogger() });
  try {
    assert.equal(reopened.recovery.startOffset, 0);
    assert.equal(reopened.recovery.recordsRedispatched, 30);
    assert.equal(reopened.recovery.corruptOffset, null);
    assert.equal(reopened.getMaxOffsetInQueue('R', 0) + reopened.getMaxOffsetInQueue('R', 1), 30);
    const pulled = reopened.getMessages('R', 0, 0, 100, 1 << 20);
    assert.deepEqual(pulled.records.map((record) => decodeRecord(record)!.physicalOffset), results.filter((_, index) => index % 2 === 0).map((result) => result.physicalOffset));
  } finally {
    await reopened.close();
    directory.remove();
  }
});

/** Flips one byte inside the body of the record holding `marker`. */
function flipByteInBody(root: string, result: AppendResult, marker: string): void {
  const path = segmentPath(root, result.physicalOffset);
  const bytes = readFileSync(path);
  const at = bytes.indexOf(marker, result.physicalOffset % SEGMENT_BYTES);
  assert.ok(at >= 0);
  writeAt(path, Buffer.from([bytes[at]! ^ 0x01]), at);
}

test('a flipped byte in a record below the checkpoint is caught on read and never handed out', async () => {
  const directory = makeTempDirectory();
  const root = directory.path;
  const store = await MessageStore.open(configFor(root), { logger: recordingLogger() });
  const results: AppendResult[] = [];
  for (let index = 0; index < 6; index++) results.push(store.append(messageInput({ topic: 'F', body: `FLIP-${index}`, keys: [`flip-${index}`] })));
  await store.close();
  flipByteInBody(root, results[2]!, 'FLIP-2');
  flipByteInBody(root, results[5]!, 'FLIP-5');

  const logger = recordingLogger();
  const reopened = await MessageStore.open(configFor(root), { logger });
  try {
    assert.throws(() => reopened.readRecord(results[2]!.physicalOffset), (error) => isTideError(error, 'STORE_CORRUPT'));
    const pulled = reopened.getMessages('F', 0, 0, 32, 1 << 20);
    assert.deepEqual(pulled.queueOffsets, [0, 1, 3, 4], 'corrupt records are skipped, the rest delivered');
    assert.equal(pulled.nextBeginOffset, 6);
    assert.ok(logger.errors.length >= 2, 'the corruption is logged');
    const alone = reopened.getMessages('F', 0, 5, 1, 1 << 20);
    assert.equal(alone.status, 'OFFSET_FOUND_NULL');
    assert.equal(alone.nextBeginOffset, 6, 'a consumer moves past it instead of stalling');
    assert.equal(reopened.queryMessageByKey('F', 'flip-2', 5, 0, Number.MAX_SAFE_INTEGER).records.length, 0);
    assert.equal(reopened.queryMessageByKey('F', 'flip-3', 5, 0, Number.MAX_SAFE_INTEGER).records.length, 1);
  } finally {
    await reopened.close();
    directory.remove();
  }
});

test('a flipped byte in a record past the checkpoint is caught by recovery, which cuts the log there', async () => {
  const directory = makeTempDirectory();
  const root = directory.path;
  const store = await MessageStore.open(configFor(root), { logger: recordingLogger() });
  const kept = appendBatch(store, 'kept', 4);
  await store.flushCheckpoint();
  const tail: AppendResult[] = [];
  for (let index = 0; index < 5; index++) tail.push(store.append(messageInput({ topic: 'R', queueId: 0, body: `TAIL-${index}` })));
  await new Promise((resolve) => setImmediate(resolve));
  await store.simulateCrash();
  flipByteInBody(root, tail[2]!, 'TAIL-2');

  const logger = recordingLogger();
  const reopened = await MessageStore.open(configFor(root), { logger });
  try {
    assert.equal(reopened.recovery.corruptOffset, tail[2]!.physicalOffset);
    assert.equal(reopened.recovery.endOffset, tail[2]!.physicalOffset);
    assert.ok(logger.errors.some((entry) => JSON.stringify(entry).includes('CRC')), 'the CRC failure is logged');
    assert.equal(reopened.readRecord(tail[2]!.physicalOffset), null);
    assert.equal(reopened.readRecord(tail[3]!.physicalOffset), null);
    assert.ok(reopened.readRecord(tail[1]!.physicalOffset));
    // Queue 0 had kept[0], kept[2] and TAIL-0, TAIL-1 before the cut.
    assert.equal(reopened.getMaxOffsetInQueue('R', 0), 4);
    const pulled = reopened.getMessages('R', 0, 0, 32, 1 << 20);
    assert.deepEqual(pulled.records.map((record) => decodeRecord(record)!.physicalOffset), [kept[0]!.physicalOffset, kept[2]!.physicalOffset, tail[0]!.physicalOffset, tail[1]!.physicalOffset]);
    const next = reopened.append(messageInput({ topic: 'R', queueId: 0 }));
    assert.equal(next.physicalOffset, tail[2]!.physicalOffset);
    assert.equal(next.queueOffset, 4);
  } finally {
    await reopened.close();
    directory.remove();
  }
});

test('a record torn inside its properties (which the body CRC does not cover) is cut by recovery', async () => {
  const directory = makeTempDirectory();
  const root = directory.path;
  const store = await MessageStore.open(configFor(root), { logger: recordingLogger() });
  const bare = store.append(messageInput({ topic: 'R', body: 'no-properties' }));
  const results = appendBatch(store, 'props', 3);
  await new Promise((resolve) => setImmediate(resolve));
  await store.simulateCrash();
  const last = results[2]!;
  writeAt(segmentPath(root, last.physicalOffset), Buffer.alloc(3), (last.endOffset % SEGMENT_BYTES) - 3);

  const logger = recordingLogger();
  const reopened = await MessageStore.open(configFor(root), { logger });
  try {
    assert.equal(reopened.recovery.corruptOffset, last.physicalOffset);
    assert.equal(reopened.recovery.endOffset, last.physicalOffset);
    assert.ok(reopened.readRecord(bare.physicalOffset), 'a record without properties ends in zeros legitimately');
    assert.ok(reopened.readRecord(results[1]!.physicalOffset));
    assert.equal(reopened.readRecord(last.physicalOffset), null);
  } finally {
    await reopened.close();
    directory.remove();
  }
});
