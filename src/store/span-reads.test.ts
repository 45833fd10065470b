// Proves the batched pull reads: getMessages (one read per run of nearby records) and getMessagesAsync (reads on the thread pool, or synchronously near the end of the log) give exactly the records, offsets and statuses a record-by-record scan gives, for contiguous and interleaved queues, with tag and record filters, count and byte limits, records still in the write buffers, and a corrupt record in the middle of a run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { javaStringHashCode } from '../common/java-hash.js';
import { decodeProperties } from '../protocol/message-properties.js';
import { decodeRecord } from '../protocol/message-record.js';
import { offsetFileName } from './file-names.js';
import { MessageStore } from './message-store.js';
import { makeTempDirectory, messageInput, recordingLogger } from './store-test-support.js';
import type { GetMessageResult, MessageFilter } from './types.js';

const SEGMENT_BYTES = 64 * 1024;

function writeAt(path: string, bytes: Buffer, position: number): void {
  const fd = openSync(path, 'r+');
  try {
    writeSync(fd, bytes, 0, bytes.length, position);
  } finally {
    closeSync(fd);
  }
}

function config(path: string) {
  return { storePathRootDir: path, mappedFileSizeCommitLog: SEGMENT_BYTES, consumeQueueEntriesPerFile: 50, maxHashSlotNum: 64, maxIndexNum: 4096 };
}

/** The expected answer, record by record: what a scan one entry at a time gives. */
function expected(store: MessageStore, topic: string, queueId: number, from: number, maxCount: number, maxBytes: number, filter: MessageFilter | undefined): number[] {
  const offsets: number[] = [];
  let bytes = 0;
  const maxOffset = store.getMaxOffsetInQueue(topic, queueId);
  for (let queueOffset = from; queueOffset < maxOffset && queueOffset < from + 800; queueOffset++) {
    const entry = store.getConsumeQueueEntry(topic, queueId, queueOffset)!;
    if (offsets.length > 0 && (offsets.length >= maxCount || bytes + entry.size > maxBytes)) break;
    if (filter?.matchesTagsCode !== undefined && !filter.matchesTagsCode(entry.tagsCode)) continue;
    const record = store.readRecord(entry.physicalOffset);
    if (record === null || (filter?.matchesRecord !== undefined && !filter.matchesRecord(record))) continue;
    offsets.push(queueOffset);
    bytes += entry.size;
  }
  return offsets;
}

function comparable(result: GetMessageResult) {
  return { ...result, records: result.records.map((record) => record.toString('hex')) };
}

test('batched and asynchronous pulls answer exactly like a record-by-record scan', async () => {
  const directory = makeTempDirectory();
  const store = await MessageStore.open(config(directory.path), { logger: recordingLogger() });
  try {
    // Queue 0 of topic C is written back to back (one run per read); queues 0-2 of topic I interleave.
    for (let index = 0; index < 150; index++) store.append(messageInput({ topic: 'C', body: `c${index}`.repeat(1 + (index % 40)), tags: index % 4 === 0 ? 'Red' : 'Blue' }));
    for (let index = 0; index < 300; index++) store.append(messageInput({ topic: 'I', queueId: index % 3, body: `i${index}`.repeat(1 + (index % 50)), tags: index % 5 === 0 ? 'Red' : 'Blue' }));
    await store.flushCheckpoint();
    // A tail still in the write buffers.
    for (let index = 150; index < 170; index++) store.append(messageInput({ topic: 'C', body: `c${index}`, tags: 'Blue' }));
    const red = javaStringHashCode('Red');
    const filters: (MessageFilter | undefined)[] = [
      undefined,
      { matchesTagsCode: (code) => code === red },
      { matchesRecord: (record) => decodeRecord(record)!.body.length % 2 === 0 },
      { matchesTagsCode: (code) => code !== red, matchesRecord: (record) => decodeProperties(decodeRecord(record)!.properties).get('TAGS') === 'Blue' },
    ];
    let pulls = 0;
    for (const [topic, queueId] of [['C', 0], ['I', 0], ['I', 2]] as const) {
      const maxOffset = store.getMaxOffsetInQueue(topic, queueId);
      for (const filter of filters) {
        for (const [maxCount, maxBytes] of [[32, 1 << 20], [7, 1 << 20], [32, 3000], [1, 1], [64, 20_000]] as const) {
          for (let from = 0; from < maxOffset; from += 23) {
            const sync = store.getMessages(topic, queueId, from, maxCount, maxBytes, filter);
            const asynchronous = await store.getMessagesAsync(topic, queueId, from, maxCount, maxBytes, filter);
            assert.deepEqual(comparable(asynchronous), comparable(sync));
            // Windows near the end of the log read synchronously, the older ones on the pool.
            const mixed = await store.getMessagesAsync(topic, queueId, from, maxCount, maxBytes, filter, Math.floor(store.stats().commitLogMaxOffset / 2));
            assert.deepEqual(comparable(mixed), comparable(sync));
            assert.deepEqual(sync.queueOffsets, expected(store, topic, queueId, from, maxCount, maxBytes, filter), `${topic}/${queueId} from ${from} count ${maxCount} bytes ${maxBytes}`);
            for (const [position, record] of sync.records.entries()) {
              const entry = store.getConsumeQueueEntry(topic, queueId, sync.queueOffsets[position]!)!;
              assert.deepEqual(record, store.readRecord(entry.physicalOffset));
            }
            pulls++;
          }
        }
      }
    }
    assert.ok(pulls > 300);
  } finally {
    await store.close();
    directory.remove();
  }
});

test('a corrupt record inside a run is skipped and logged by both pulls; its neighbours are delivered', async () => {
  const directory = makeTempDirectory();
  const store = await MessageStore.open(config(directory.path), { logger: recordingLogger() });
  const results = [];
  for (let index = 0; index < 8; index++) results.push(store.append(messageInput({ topic: 'F', body: `FLIP-${index}-payload` })));
  await store.close();
  const path = join(directory.path, 'commitlog', offsetFileName(0));
  const bytes = readFileSync(path);
  const at = bytes.indexOf('FLIP-3-payload', results[3]!.physicalOffset);
  writeAt(path, Buffer.from([bytes[at]! ^ 0x01]), at);
  const logger = recordingLogger();
  const reopened = await MessageStore.open(config(directory.path), { logger });
  try {
    const sync = reopened.getMessages('F', 0, 0, 32, 1 << 20);
    const asynchronous = await reopened.getMessagesAsync('F', 0, 0, 32, 1 << 20);
    assert.deepEqual(sync.queueOffsets, [0, 1, 2, 4, 5, 6, 7]);
    assert.deepEqual(comparable(asynchronous), comparable(sync));
    assert.equal(logger.errors.length, 2, 'logged once by each pull');
    const next = await reopened.getMessagesAsync('F', 0, 3, 1, 1 << 20);
    assert.deepEqual(next.queueOffsets, [4], 'the pull moves past the corrupt record');
    assert.equal(next.nextBeginOffset, 5);
  } finally {
    await reopened.close();
    directory.remove();
  }
});

test('getMessagesAsync on a closed store rejects with STORE_CLOSED', async () => {
  const directory = makeTempDirectory();
  const store = await MessageStore.open(config(directory.path), { logger: recordingLogger() });
  store.append(messageInput({ topic: 'Z' }));
  await store.close();
  await assert.rejects(store.getMessagesAsync('Z', 0, 0, 32, 1 << 20), /closed/);
  directory.remove();
});

test('getMessagesForPull uses the asynchronous read of a MessageStore and the synchronous one of any other store', async () => {
  const { getMessagesForPull } = await import('./message-store.js');
  const directory = makeTempDirectory();
  const store = await MessageStore.open(config(directory.path), { logger: recordingLogger() });
  try {
    for (let index = 0; index < 5; index++) store.append(messageInput({ topic: 'P', body: `p${index}` }));
    const pulled = await getMessagesForPull(store, 'P', 0, 1, 3, 1 << 20);
    assert.deepEqual(pulled.queueOffsets, [1, 2, 3]);
    let syncCalls = 0;
    const double = new Proxy(store, {
      get(target, property) {
        if (property === 'getMessages') return (...args: Parameters<MessageStore['getMessages']>) => (syncCalls++, target.getMessages(...args));
        const value = Reflect.get(target, property, target) as unknown;
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
      getPrototypeOf: () => Object.prototype,
    });
    assert.deepEqual((await getMessagesForPull(double, 'P', 0, 0, 2, 1 << 20)).queueOffsets, [0, 1]);
    assert.equal(syncCalls, 1);
  } finally {
    await store.close();
    directory.remove();
  }
});
