// Proves that a failed commit-log write stops the store cleanly: a failure in a write started from
// the completion of a thread-pool write does not take the process down (its waiters get
// STORE_WRITE_FAILED), and records whose write failed or never happened are not handed to readers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FileIo } from './file-io.js';
import { nodeFileIo } from './file-io.js';
import { MessageStore } from './message-store.js';
import { makeTempDirectory, messageInput, recordingLogger } from './store-test-support.js';

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Real file I/O whose pool writes wait until released, and whose writes can be made to fail. */
class HeldWritesIo implements FileIo {
  readonly held: ((failure: Error | null) => void)[] = [];
  failSyncWrites: Error | null = null;

  write(fd: number, buffer: Buffer, offset: number, length: number, position: number): void {
    if (this.failSyncWrites !== null) throw this.failSyncWrites;
    nodeFileIo.write(fd, buffer, offset, length, position);
  }

  writeAsync(fd: number, buffer: Buffer, offset: number, length: number, position: number, callback: (error: Error | null) => void): void {
    this.held.push((failure) => (failure === null ? nodeFileIo.writeAsync!(fd, buffer, offset, length, position, callback) : callback(failure)));
  }

  fdatasync(fd: number, callback: (error: Error | null) => void): void {
    nodeFileIo.fdatasync(fd, callback);
  }
}

const errno = (code: string): Error => Object.assign(new Error(`${code}: injected`), { code });

test('ASYNC_FLUSH: a synchronous write failing after a pool write completes answers STORE_WRITE_FAILED instead of crashing', async () => {
  const directory = makeTempDirectory();
  const io = new HeldWritesIo();
  const store = await MessageStore.open({ storePathRootDir: directory.path, flushDiskType: 'ASYNC_FLUSH', flushIntervalCommitLog: 600_000 }, { fileIo: io, logger: recordingLogger() });
  const uncaught: unknown[] = [];
  const onUncaught = (error: unknown): void => void uncaught.push(error);
  process.on('uncaughtException', onUncaught);
  try {
    // ~100 KiB in one turn: a batch big enough for the thread pool, held there.
    let last = store.append(messageInput({ body: 'x'.repeat(1000) }));
    for (let index = 1; index < 100; index++) last = store.append(messageInput({ body: 'x'.repeat(1000) }));
    const big = store.waitWritten(last.endOffset).then((status) => status, (error: { code?: string }) => error.code);
    await nextTurn();
    assert.equal(io.held.length, 1, 'the big batch is on the pool');
    // A small batch queued behind it is written synchronously when the pool write completes.
    const small = store.append(messageInput({ body: 'small' }));
    const smallStatus = store.waitWritten(small.endOffset).then((status) => status, (error: { code?: string }) => error.code);
    await nextTurn();
    io.failSyncWrites = errno('ENOSPC');
    io.held.shift()!(null);
    // The big batch was written, but the store stopped in the same callback: failing its waiters too
    // is conservative (a retry duplicates), never unsafe.
    assert.ok(['PUT_OK', 'STORE_WRITE_FAILED'].includes((await big)!));
    assert.equal(await smallStatus, 'STORE_WRITE_FAILED');
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.deepEqual(uncaught, []);
    assert.throws(() => store.append(messageInput({ body: 'after' })), { code: 'STORE_WRITE_FAILED' });
  } finally {
    process.off('uncaughtException', onUncaught);
    await store.close().catch(() => undefined);
    directory.remove();
  }
});

test('SYNC_FLUSH: after a failed pool write, neither the failed batch nor the batch queued behind it is readable', async () => {
  const directory = makeTempDirectory();
  const io = new HeldWritesIo();
  const store = await MessageStore.open({ storePathRootDir: directory.path, flushDiskType: 'SYNC_FLUSH' }, { fileIo: io, logger: recordingLogger() });
  try {
    const statuses: Promise<string | undefined>[] = [];
    const appendTurn = (name: string): void => {
      for (let index = 0; index < 3; index++) {
        const result = store.append(messageInput({ topic: 'T', body: `${name}-${index}` }));
        statuses.push(store.waitDurable(result.endOffset).then((status) => status, (error: { code?: string }) => error.code));
      }
    };
    appendTurn('ok');
    await nextTurn();
    io.held.shift()!(null);
    assert.equal(await statuses[2], 'PUT_OK');
    appendTurn('failed');
    await nextTurn();
    appendTurn('queued');
    await nextTurn();
    io.held.shift()!(errno('EIO'));
    const all = await Promise.all(statuses);
    assert.deepEqual(all.slice(0, 3), ['PUT_OK', 'PUT_OK', 'PUT_OK']);
    assert.ok(all.slice(3).every((status) => status === 'STORE_WRITE_FAILED'), `unsafe sends were not acknowledged: ${all.join(',')}`);
    const got = store.getMessages('T', 0, 0, 32, 1 << 20);
    assert.deepEqual(got.records.map((record) => record.toString('latin1').match(/(ok|failed|queued)-\d/)![0]), ['ok-0', 'ok-1', 'ok-2']);
    const beyond = store.getMessages('T', 0, 3, 32, 1 << 20);
    assert.equal(beyond.records.length, 0, 'no record past the failed write is handed out');
  } finally {
    await store.close().catch(() => undefined);
    directory.remove();
  }
});
