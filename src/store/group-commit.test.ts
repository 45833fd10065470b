// Proves the flush services through a counting, failing and stalling FileIo: SYNC_FLUSH group commit shares fdatasyncs among waiters, stalls answer FLUSH_DISK_TIMEOUT, write and fsync failures reject waiters and stop the store reporting anything durable, the waiter limit answers SYSTEM_BUSY, ASYNC_FLUSH answers only once the turn's one write has handed the bytes to the kernel (never while they sit in the process), and waitWritten does the same under SYNC_FLUSH while an fdatasync hangs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isTideError } from '../common/errors.js';
import { MessageStore } from './message-store.js';
import { TestFileIo, makeTempDirectory, messageInput, recordingLogger } from './store-test-support.js';
import type { StoreConfig } from './store-config.js';

async function openSyncStore(io: TestFileIo, config: Partial<StoreConfig> = {}) {
  const directory = makeTempDirectory();
  const logger = recordingLogger();
  const store = await MessageStore.open(
    {
      storePathRootDir: directory.path,
      mappedFileSizeCommitLog: 64 * 1024,
      flushDiskType: 'SYNC_FLUSH',
      // Keep the consume-queue flush out of the way; these tests are about the commit log.
      flushIntervalConsumeQueue: 600_000,
      maxHashSlotNum: 64,
      maxIndexNum: 256,
      ...config,
    },
    { fileIo: io, logger },
  );
  return { store, logger, directory };
}

test('SYNC_FLUSH: concurrent waiters share fdatasyncs; arrivals during one share the next', async () => {
  const io = new TestFileIo();
  const { store, directory } = await openSyncStore(io);
  try {
    const baseline = io.fdatasyncCount;
    const waits = [];
    for (let index = 0; index < 256; index++) {
      const result = store.append(messageInput({ body: `m${index}` }));
      waits.push(store.waitDurable(result.endOffset).then((status) => ({ status, endOffset: result.endOffset, flushed: store.stats().flushedOffset })));
    }
    const settled = await Promise.all(waits);
    for (const outcome of settled) {
      assert.equal(outcome.status, 'PUT_OK');
      assert.ok(outcome.flushed >= outcome.endOffset, 'resolved only once durable');
    }
    const used = io.fdatasyncCount - baseline;
    assert.ok(used >= 1 && used < 256, `256 waiters used ${used} fdatasyncs`);

    // Hold the next fdatasync; everything that arrives meanwhile must wait for one more, not many.
    io.holdSyncs = true;
    const order: string[] = [];
    const first = store.append(messageInput({ body: 'first' }));
    const firstWait = store.waitDurable(first.endOffset).then((status) => order.push(`first:${status}`));
    while (io.heldCount === 0) await new Promise((resolve) => setImmediate(resolve));
    const syncsBefore = io.fdatasyncCount;
    const laterWaits = [];
    for (let index = 0; index < 100; index++) {
      const result = store.append(messageInput({ body: `later${index}` }));
      laterWaits.push(store.waitDurable(result.endOffset).then((status) => order.push(`later:${status}`)));
    }
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(io.fdatasyncCount, syncsBefore, 'no second fdatasync starts while one runs');
    assert.equal(store.stats().flushedOffset < first.endOffset, true);
    io.release();
    await Promise.all([firstWait, ...laterWaits]);
    assert.equal(order[0], 'first:PUT_OK');
    assert.equal(order.length, 101);
    assert.ok(order.every((entry) => entry.endsWith(':PUT_OK')));
    assert.equal(io.fdatasyncCount, syncsBefore + 1, 'the 100 late waiters shared one fdatasync');
  } finally {
    await store.close();
    directory.remove();
  }
});

test('SYNC_FLUSH: a stalled fdatasync answers FLUSH_DISK_TIMEOUT, and later waits succeed once it completes', async () => {
  const io = new TestFileIo();
  const { store, directory } = await openSyncStore(io, { syncFlushTimeout: 30 });
  try {
    io.holdSyncs = true;
    const results = [];
    for (let index = 0; index < 5; index++) results.push(store.append(messageInput({ body: `slow${index}` })));
    const statuses = await Promise.all(results.map((result) => store.waitDurable(result.endOffset)));
    assert.deepEqual(statuses, Array(5).fill('FLUSH_DISK_TIMEOUT'));
    assert.equal(store.stats().flushedOffset, 0);
    io.release();
    const next = store.append(messageInput({ body: 'after' }));
    // On a loaded machine even this real fdatasync may outlast 30 ms; either answer is honest.
    assert.ok(['PUT_OK', 'FLUSH_DISK_TIMEOUT'].includes(await store.waitDurable(next.endOffset)));
    while (store.stats().flushedOffset < next.endOffset) await new Promise((resolve) => setTimeout(resolve, 1));
    assert.equal(await store.waitDurable(next.endOffset), 'PUT_OK');
    assert.equal(await store.waitDurable(results[4]!.endOffset), 'PUT_OK');
  } finally {
    await store.close();
    directory.remove();
  }
});

test('SYNC_FLUSH: bytes whose waiter timed out are still synced, with no further appends', async () => {
  const io = new TestFileIo();
  const { store, directory } = await openSyncStore(io, { syncFlushTimeout: 20 });
  try {
    io.holdSyncs = true;
    const first = store.append(messageInput({ body: 'first' }));
    const firstWait = store.waitDurable(first.endOffset);
    while (io.heldCount === 0) await new Promise((resolve) => setImmediate(resolve));
    const second = store.append(messageInput({ body: 'second' })); // arrives while the first sync runs
    assert.deepEqual(await Promise.all([firstWait, store.waitDurable(second.endOffset)]), ['FLUSH_DISK_TIMEOUT', 'FLUSH_DISK_TIMEOUT']);
    io.release();
    // Nobody waits any more, yet the second record must become durable on its own.
    for (let spins = 0; spins < 2000 && store.stats().flushedOffset < second.endOffset; spins++) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    assert.equal(store.stats().flushedOffset, second.endOffset);
  } finally {
    await store.close();
    directory.remove();
  }
});

test('SYNC_FLUSH: an fdatasync failure rejects waiters, refuses later appends and never reports durability again', async () => {
  const io = new TestFileIo();
  const { store, logger, directory } = await openSyncStore(io);
  try {
    const good = store.append(messageInput({ body: 'good' }));
    assert.equal(await store.waitDurable(good.endOffset), 'PUT_OK');
    const durableBefore = store.stats().flushedOffset;

    io.failSyncs = Object.assign(new Error('EIO: simulated fdatasync failure'), { code: 'EIO' });
    const doomed = [store.append(messageInput({ body: 'lost-1' })), store.append(messageInput({ body: 'lost-2' }))];
    const outcomes = await Promise.allSettled(doomed.map((result) => store.waitDurable(result.endOffset)));
    for (const outcome of outcomes) {
      assert.equal(outcome.status, 'rejected');
      assert.ok(isTideError(outcome.status === 'rejected' ? outcome.reason : null, 'STORE_WRITE_FAILED'));
    }
    assert.throws(() => store.append(messageInput({ body: 'refused' })), (error) => isTideError(error, 'STORE_WRITE_FAILED'));
    await assert.rejects(store.waitDurable(doomed[1]!.endOffset), (error) => isTideError(error, 'STORE_WRITE_FAILED'));
    io.failSyncs = null; // even if the disk recovers, the store does not claim durability again
    await new Promise((resolve) => setTimeout(resolve, 5));
    assert.equal(store.stats().flushedOffset, durableBefore);
    assert.ok(logger.errors.length > 0, 'the failure is logged');
  } finally {
    await store.close();
    directory.remove();
  }
});

test('a failed batch write rejects waiters and refuses later appends; the store reopens by recovery', async () => {
  const io = new TestFileIo();
  const { store, directory } = await openSyncStore(io);
  const config = { storePathRootDir: directory.path, mappedFileSizeCommitLog: 64 * 1024, maxHashSlotNum: 64, maxIndexNum: 256 };
  const kept = store.append(messageInput({ body: 'kept' }));
  try {
    assert.equal(await store.waitDurable(kept.endOffset), 'PUT_OK');
    io.failWrites = Object.assign(new Error('ENOSPC: simulated'), { code: 'ENOSPC' });
    const lost = store.append(messageInput({ body: 'lost' }));
    await assert.rejects(store.waitDurable(lost.endOffset), (error) => isTideError(error, 'STORE_WRITE_FAILED'));
    assert.throws(() => store.append(messageInput()), (error) => isTideError(error, 'STORE_WRITE_FAILED'));
  } finally {
    await store.close();
  }
  const reopened = await MessageStore.open(config, { logger: recordingLogger() });
  try {
    assert.equal(reopened.recovery.abnormal, true, 'a failed store does not claim a clean shutdown');
    assert.equal(reopened.getMaxOffsetInQueue('TopicTest', 0), 1);
    assert.ok(reopened.readRecord(kept.physicalOffset));
  } finally {
    await reopened.close();
    directory.remove();
  }
});

test('SYNC_FLUSH: past maxPendingSyncAppends waiters, appends answer SYSTEM_BUSY', async () => {
  const io = new TestFileIo();
  const { store, directory } = await openSyncStore(io, { maxPendingSyncAppends: 4 });
  try {
    io.holdSyncs = true;
    const waits = [];
    for (let index = 0; index < 4; index++) {
      const result = store.append(messageInput());
      waits.push(store.waitDurable(result.endOffset));
    }
    assert.throws(() => store.append(messageInput()), (error) => isTideError(error, 'SYSTEM_BUSY'));
    while (io.heldCount === 0) await new Promise((resolve) => setImmediate(resolve));
    io.release();
    assert.deepEqual(await Promise.all(waits), Array(4).fill('PUT_OK'));
    store.append(messageInput()); // room again
  } finally {
    await store.close();
    directory.remove();
  }
});

async function openAsyncStore(io: TestFileIo) {
  const directory = makeTempDirectory();
  const store = await MessageStore.open(
    { storePathRootDir: directory.path, mappedFileSizeCommitLog: 64 * 1024, flushIntervalCommitLog: 5, flushIntervalConsumeQueue: 600_000, maxHashSlotNum: 64, maxIndexNum: 256 },
    { fileIo: io, logger: recordingLogger() },
  );
  return { store, directory };
}

test('ASYNC_FLUSH: waitDurable answers once the one write of the turn has run, not before; the interval flush makes data durable', async () => {
  const io = new TestFileIo();
  const { store, directory } = await openAsyncStore(io);
  try {
    io.holdSyncs = true; // even with the disk stalled
    const writesBefore = io.writeCount;
    const results = [];
    for (let index = 0; index < 200; index++) results.push(store.append(messageInput({ body: `batch${index}` })));
    assert.equal(io.writeCount, writesBefore, 'appends only fill the buffer');
    // Every waiter of the turn resolves, and each sees its bytes already handed to the kernel.
    const writesSeen = await Promise.all(results.map((result) => store.waitDurable(result.endOffset).then((status) => ({ status, writes: io.writeCount - writesBefore }))));
    for (const seen of writesSeen) assert.deepEqual(seen, { status: 'PUT_OK', writes: 1 }, '200 appends, one write, before any answer');
    assert.equal(await store.waitDurable(results[0]!.endOffset), 'PUT_OK', 'an offset already written answers at once');
    io.release();
    const last = results[results.length - 1]!;
    while (store.stats().flushedOffset < last.endOffset) await new Promise((resolve) => setTimeout(resolve, 2));
    assert.ok(io.fdatasyncCount >= 1);
  } finally {
    await store.close();
    directory.remove();
  }
});

test('ASYNC_FLUSH: a failed write rejects the waiters of its turn with STORE_WRITE_FAILED instead of answering PUT_OK', async () => {
  const io = new TestFileIo();
  const { store, directory } = await openAsyncStore(io);
  try {
    io.failWrites = Object.assign(new Error('EIO: simulated write failure'), { code: 'EIO' });
    const results = [store.append(messageInput({ body: 'lost-1' })), store.append(messageInput({ body: 'lost-2' }))];
    const outcomes = await Promise.allSettled(results.map((result) => store.waitDurable(result.endOffset)));
    for (const outcome of outcomes) {
      assert.ok(outcome.status === 'rejected' && isTideError(outcome.reason, 'STORE_WRITE_FAILED'), 'rejected, never PUT_OK');
    }
  } finally {
    await store.close();
    directory.remove();
  }
});

test('ASYNC_FLUSH: a simulated crash before the write-out answers STORE_CLOSED, never PUT_OK', async () => {
  const io = new TestFileIo();
  const { store, directory } = await openAsyncStore(io);
  try {
    const result = store.append(messageInput({ body: 'in the buffer only' }));
    const waiting = store.waitDurable(result.endOffset);
    await store.simulateCrash();
    await assert.rejects(waiting, (error) => isTideError(error, 'STORE_CLOSED'));
  } finally {
    directory.remove();
  }
});

test('SYNC_FLUSH: waitWritten (WAIT=false) answers after the write even while an fdatasync hangs', async () => {
  const io = new TestFileIo();
  const { store, directory } = await openSyncStore(io, { syncFlushTimeout: 60_000 });
  try {
    io.holdSyncs = true;
    const first = store.append(messageInput({ body: 'first' }));
    const durable = store.waitDurable(first.endOffset);
    while (io.heldCount === 0) await new Promise((resolve) => setImmediate(resolve));
    const writesBefore = io.writeCount;
    const second = store.append(messageInput({ body: 'second' }));
    assert.equal(await store.waitWritten(second.endOffset), 'PUT_OK');
    assert.equal(io.writeCount, writesBefore + 1, 'written while the fdatasync still runs');
    assert.ok(store.stats().flushedOffset < first.endOffset, 'nothing was reported durable');
    io.release();
    assert.equal(await durable, 'PUT_OK');
    assert.equal(await store.waitDurable(second.endOffset), 'PUT_OK');
  } finally {
    await store.close();
    directory.remove();
  }
});
