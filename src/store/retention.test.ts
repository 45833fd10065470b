// Proves retention on real files: old segments are deleted by age, the oldest go first while the (simulated) disk is above diskMaxUsedSpaceRatio, the active segment always stays, consume-queue files and minimum offsets follow, and above diskSpaceRefuseRatio appends answer DISK_FULL until space is back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { isTideError } from '../common/errors.js';
import { MessageStore } from './message-store.js';
import type { AppendResult } from './types.js';
import { makeTempDirectory, messageInput, recordingLogger } from './store-test-support.js';

const SEGMENT_BYTES = 4096;

function configFor(root: string) {
  return {
    storePathRootDir: root,
    mappedFileSizeCommitLog: SEGMENT_BYTES,
    consumeQueueEntriesPerFile: 4,
    fileReservedTime: 72,
    diskMaxUsedSpaceRatio: 75,
    diskSpaceRefuseRatio: 90,
    cleanResourceInterval: 600_000,
    maxHashSlotNum: 64,
    maxIndexNum: 256,
  };
}

function fillSegments(store: MessageStore, segments: number): AppendResult[] {
  const results: AppendResult[] = [];
  while (store.stats().commitLogMaxOffset < segments * SEGMENT_BYTES) {
    results.push(store.append(messageInput({ topic: 'Old', body: 'z'.repeat(300), keys: [`k${results.length}`] })));
  }
  return results;
}

function segmentNames(root: string): string[] {
  return readdirSync(join(root, 'commitlog')).sort();
}

test('segments older than fileReservedTime are deleted oldest first; queues and pulls follow', async () => {
  const directory = makeTempDirectory();
  const root = directory.path;
  const store = await MessageStore.open(configFor(root), { logger: recordingLogger() });
  try {
    const results = fillSegments(store, 5);
    await store.flushCheckpoint();
    await new Promise((resolve) => setImmediate(resolve)); // the next segment is pre-created now
    const names = segmentNames(root);
    // Age the three oldest segments (and the fourth only a little: it must stay).
    const tenDaysAgo = (Date.now() - 10 * 24 * 3_600_000) / 1000;
    for (const name of names.slice(0, 3)) utimesSync(join(root, 'commitlog', name), tenDaysAgo, tenDaysAgo);
    const report = await store.cleanExpiredFiles();
    assert.equal(report.deletedSegments, 3);
    assert.deepEqual(segmentNames(root), names.slice(3));
    const minPhysicalOffset = 3 * SEGMENT_BYTES;
    assert.equal(store.stats().commitLogMinOffset, minPhysicalOffset);

    const firstKept = results.findIndex((result) => result.physicalOffset >= minPhysicalOffset);
    assert.equal(store.getMinOffsetInQueue('Old', 0), firstKept);
    assert.equal(store.getMaxOffsetInQueue('Old', 0), results.length);
    assert.ok(report.deletedConsumeQueueFiles >= 1);
    const queueFiles = readdirSync(join(root, 'consumequeue', 'Old', '0'));
    assert.equal(Number(queueFiles.sort()[0]) / 20, Math.floor(firstKept / 4) * 4, 'queue files wholly below the minimum are gone');

    const tooSmall = store.getMessages('Old', 0, 0, 10, 1 << 20);
    assert.equal(tooSmall.status, 'OFFSET_TOO_SMALL');
    assert.equal(tooSmall.nextBeginOffset, firstKept);
    const found = store.getMessages('Old', 0, firstKept, 10, 1 << 20);
    assert.equal(found.status, 'FOUND');
    assert.equal(found.queueOffsets[0], firstKept);
    assert.equal(store.readRecord(results[0]!.physicalOffset), null);
    assert.equal(store.getEarliestMessageTime('Old', 0), results[firstKept]!.storeTimestamp);
    assert.equal(store.queryMessageByKey('Old', 'k0', 5, 0, Number.MAX_SAFE_INTEGER).records.length, 0);

    // Nothing is old any more: another run deletes nothing.
    assert.equal((await store.cleanExpiredFiles()).deletedSegments, 0);
  } finally {
    await store.close();
  }
  const reopened = await MessageStore.open(configFor(root), { logger: recordingLogger() });
  try {
    assert.equal(reopened.stats().commitLogMinOffset, 3 * SEGMENT_BYTES);
    assert.ok(reopened.getMinOffsetInQueue('Old', 0) > 0, 'minimum queue offsets are found again at open');
  } finally {
    await reopened.close();
    directory.remove();
  }
});

test('above diskMaxUsedSpaceRatio the oldest segments go until usage is under; the active one stays', async () => {
  const directory = makeTempDirectory();
  const root = directory.path;
  // Simulated disk: every segment file costs 5 % on top of 60 %.
  const usage = () => 60 + 5 * segmentNames(root).length;
  const store = await MessageStore.open({ ...configFor(root), diskSpaceRefuseRatio: 99 }, { logger: recordingLogger(), diskUsage: usage });
  try {
    fillSegments(store, 6);
    await new Promise((resolve) => setImmediate(resolve));
    const before = segmentNames(root);
    assert.ok(usage() > 75);
    const report = await store.cleanExpiredFiles();
    assert.ok(report.deletedSegments >= 1);
    assert.ok(report.diskUsedPercent <= 75, `usage ${report.diskUsedPercent}`);
    const after = segmentNames(root);
    assert.deepEqual(after, before.slice(before.length - after.length), 'the oldest went first');
    assert.equal(store.stats().diskUsedPercent, report.diskUsedPercent);
  } finally {
    await store.close();
    directory.remove();
  }
});

test('above diskSpaceRefuseRatio appends answer DISK_FULL until usage drops', async () => {
  const directory = makeTempDirectory();
  let usagePercent = 50;
  const store = await MessageStore.open(configFor(directory.path), { logger: recordingLogger(), diskUsage: () => usagePercent });
  try {
    store.append(messageInput());
    usagePercent = 95;
    await store.cleanExpiredFiles();
    assert.throws(() => store.append(messageInput()), (error) => isTideError(error, 'DISK_FULL'));
    assert.equal(store.stats().diskUsedPercent, 95);
    // Reads still work while writes are refused.
    assert.equal(store.getMessages('TopicTest', 0, 0, 10, 1 << 20).records.length, 1);
    usagePercent = 60;
    await store.cleanExpiredFiles();
    assert.equal(store.append(messageInput()).queueOffset, 1);
  } finally {
    await store.close();
    directory.remove();
  }
});
