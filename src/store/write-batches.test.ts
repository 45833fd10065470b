// Proves the asynchronous write path of the commit log: records are readable while their batch is queued or being written, more appends in one turn than the write buffers hold drain synchronously without losing or reordering a byte, roll-overs inside queued batches land in the right segments, waiters are answered only once their bytes are written, and everything reads back identical after a reopen.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeRecord } from '../protocol/message-record.js';
import { MessageStore } from './message-store.js';
import { TestFileIo, makeTempDirectory, messageInput, recordingLogger } from './store-test-support.js';
import type { FlushDiskType } from './store-config.js';

const SEGMENT_BYTES = 256 * 1024;

function config(path: string, flushDiskType: FlushDiskType) {
  return { storePathRootDir: path, mappedFileSizeCommitLog: SEGMENT_BYTES, flushDiskType, flushIntervalConsumeQueue: 600_000, maxHashSlotNum: 64, maxIndexNum: 8192 };
}

for (const flushDiskType of ['ASYNC_FLUSH', 'SYNC_FLUSH'] as const) {
  test(`${flushDiskType}: thousands of appends in one turn (drains, roll-overs) read back identical, before and after a reopen`, async () => {
    const directory = makeTempDirectory();
    const io = new TestFileIo();
    const store = await MessageStore.open(config(directory.path, flushDiskType), { fileIo: io, logger: recordingLogger() });
    const bodies: string[] = [];
    const results = [];
    try {
      // 3,000 records of ~1.1 KiB = 3.3 MiB in one synchronous loop: 13 segments of 256 KiB, far more
      // than the four write buffers hold, so batches drain synchronously while writes are in flight.
      for (let index = 0; index < 3000; index++) {
        const body = `${index}:`.padEnd(1000 + (index % 97), String.fromCharCode(97 + (index % 26)));
        bodies.push(body);
        results.push(store.append(messageInput({ body, queueId: index % 3 })));
        // Readable at once, whether its batch is active, queued, being written or written.
        if (index % 250 === 0) assert.equal(decodeRecord(store.readRecord(results[index]!.physicalOffset)!)!.body.toString(), body);
      }
      for (let index = 0; index < results.length; index += 37) {
        assert.equal(decodeRecord(store.readRecord(results[index]!.physicalOffset)!)!.body.toString(), bodies[index]);
      }
      const statuses = await Promise.all(results.map((result) => store.waitDurable(result.endOffset)));
      assert.ok(statuses.every((status) => status === 'PUT_OK'));
      const last = results[results.length - 1]!;
      assert.ok(store.stats().flushedOffset >= (flushDiskType === 'SYNC_FLUSH' ? last.endOffset : 0));
      assert.ok(io.writeCount >= 13, 'at least one write per segment');
    } finally {
      await store.close();
    }
    const reopened = await MessageStore.open(config(directory.path, flushDiskType), { logger: recordingLogger() });
    try {
      assert.equal(reopened.recovery.abnormal, false);
      for (let queueId = 0; queueId < 3; queueId++) {
        assert.equal(reopened.getMaxOffsetInQueue('TopicTest', queueId), 1000);
        let queueOffset = 0;
        while (queueOffset < 1000) {
          const got = reopened.getMessages('TopicTest', queueId, queueOffset, 32, 1024 * 1024);
          assert.equal(got.status, 'FOUND');
          for (const [position, record] of got.records.entries()) {
            const index = (queueOffset + position) * 3 + queueId;
            assert.equal(decodeRecord(record)!.body.toString(), bodies[index]);
            assert.equal(got.queueOffsets[position], queueOffset + position);
          }
          queueOffset = got.nextBeginOffset;
        }
      }
    } finally {
      await reopened.close();
      directory.remove();
    }
  });
}

test('SYNC_FLUSH: waitWritten and waitDurable are answered only after the asynchronous write of the bytes completed', async () => {
  const directory = makeTempDirectory();
  let writesStarted = 0;
  let writesCompleted = 0;
  const io = new TestFileIo();
  const realWriteAsync = io.writeAsync.bind(io);
  io.writeAsync = (fd, buffer, offset, length, position, callback) => {
    writesStarted++;
    realWriteAsync(fd, buffer, offset, length, position, (error) => {
      // Let a few turns pass so an early answer would show.
      setTimeout(() => {
        writesCompleted++;
        callback(error);
      }, 20);
    });
  };
  const store = await MessageStore.open(config(directory.path, 'SYNC_FLUSH'), { fileIo: io, logger: recordingLogger() });
  try {
    const result = store.append(messageInput({ body: 'slow disk' }));
    assert.equal(await store.waitWritten(result.endOffset), 'PUT_OK');
    assert.equal(writesStarted, 1);
    assert.equal(writesCompleted, 1, 'answered after the write completed, not when it started');
    const syncsBefore = io.fdatasyncCount;
    const second = store.append(messageInput({ body: 'slow disk, durable' }));
    assert.equal(await store.waitDurable(second.endOffset), 'PUT_OK');
    assert.equal(writesCompleted, 2);
    assert.ok(io.fdatasyncCount > syncsBefore, 'and the fdatasync ran after the write');
  } finally {
    await store.close();
    directory.remove();
  }
});
