// Proves every lookup of the store against real files: pull statuses and next offsets as RocketMQ answers them, pulls bounded by count and bytes and filtered by tag, min/max offsets, store times, offset by time (lower and upper), and lookup by key with a forced hash collision and time ranges.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { javaStringHashCode } from '../common/java-hash.js';
import { decodeProperties } from '../protocol/message-properties.js';
import { decodeRecord } from '../protocol/message-record.js';
import { MessageStore } from './message-store.js';
import { makeTempDirectory, messageInput, recordingLogger } from './store-test-support.js';

/** A wall clock the test moves by hand, so store times are known. */
function manualClock(startMs: number): { nowMs: () => number; set(ms: number): void } {
  let now = startMs;
  return { nowMs: () => now, set: (ms) => (now = ms) };
}

async function openStore(clock: { nowMs: () => number }) {
  const directory = makeTempDirectory();
  const store = await MessageStore.open(
    { storePathRootDir: directory.path, mappedFileSizeCommitLog: 16 * 1024, consumeQueueEntriesPerFile: 8, maxHashSlotNum: 64, maxIndexNum: 256 },
    { logger: recordingLogger(), wallClockMs: clock.nowMs },
  );
  return {
    store,
    async dispose() {
      await store.close();
      directory.remove();
    },
  };
}

test('pull statuses and nextBeginOffset follow RocketMQ', async () => {
  const clock = manualClock(1_000_000);
  const { store, dispose } = await openStore(clock);
  try {
    assert.deepEqual(store.getMessages('Nope', 0, 5, 32, 1 << 20), { status: 'NO_MESSAGE_IN_QUEUE', records: [], queueOffsets: [], nextBeginOffset: 0, minOffset: 0, maxOffset: 0 });
    for (let index = 0; index < 5; index++) store.append(messageInput({ topic: 'P' }));
    const overflowOne = store.getMessages('P', 0, 5, 32, 1 << 20);
    assert.equal(overflowOne.status, 'OFFSET_OVERFLOW_ONE');
    assert.equal(overflowOne.nextBeginOffset, 5);
    const overflowBadly = store.getMessages('P', 0, 9, 32, 1 << 20);
    assert.equal(overflowBadly.status, 'OFFSET_OVERFLOW_BADLY');
    assert.equal(overflowBadly.nextBeginOffset, 5);
    assert.equal(overflowBadly.maxOffset, 5);
    const found = store.getMessages('P', 0, 3, 32, 1 << 20);
    assert.equal(found.status, 'FOUND');
    assert.deepEqual(found.queueOffsets, [3, 4]);
    assert.equal(found.nextBeginOffset, 5);
    assert.equal(found.minOffset, 0);
    assert.equal(store.getMessages('P', 0, -1, 32, 1 << 20).status, 'OFFSET_TOO_SMALL');
    assert.equal(store.getMessages('P', 0, -1, 32, 1 << 20).nextBeginOffset, 0);
  } finally {
    await dispose();
  }
});

test('pulls are bounded by count and by bytes (at least one message) and filtered by tag', async () => {
  const clock = manualClock(1_000_000);
  const { store, dispose } = await openStore(clock);
  try {
    const sizes: number[] = [];
    for (let index = 0; index < 30; index++) {
      const result = store.append(messageInput({ topic: 'B', body: 'x'.repeat(100), tags: index % 3 === 0 ? 'Red' : 'Blue' }));
      sizes.push(result.size);
    }
    const byCount = store.getMessages('B', 0, 0, 4, 1 << 20);
    assert.deepEqual(byCount.queueOffsets, [0, 1, 2, 3]);
    assert.equal(byCount.nextBeginOffset, 4);

    const threeBytes = sizes[10]! + sizes[11]! + sizes[12]!;
    const byBytes = store.getMessages('B', 0, 10, 32, threeBytes + sizes[13]! - 1);
    assert.deepEqual(byBytes.queueOffsets, [10, 11, 12]);
    assert.equal(byBytes.nextBeginOffset, 13);
    const tiny = store.getMessages('B', 0, 10, 32, 1);
    assert.deepEqual(tiny.queueOffsets, [10], 'one message even when it alone exceeds maxBytes');

    const red = javaStringHashCode('Red');
    const filtered = store.getMessages('B', 0, 0, 5, 1 << 20, { matchesTagsCode: (code) => code === red });
    assert.deepEqual(filtered.queueOffsets, [0, 3, 6, 9, 12]);
    assert.equal(filtered.nextBeginOffset, 13);
    for (const record of filtered.records) assert.equal(decodeProperties(decodeRecord(record)!.properties).get('TAGS'), 'Red');

    // The record-level filter sees the bytes (exact tag check against hash collisions, SQL92).
    const exact = store.getMessages('B', 0, 0, 3, 1 << 20, {
      matchesRecord: (record) => decodeProperties(decodeRecord(record)!.properties).get('TAGS') === 'Blue',
    });
    assert.deepEqual(exact.queueOffsets, [1, 2, 4]);

    const nothing = store.getMessages('B', 0, 1, 32, 1 << 20, { matchesTagsCode: () => false });
    assert.equal(nothing.status, 'NO_MATCHED_MESSAGE');
    assert.equal(nothing.records.length, 0);
    assert.equal(nothing.nextBeginOffset, 30, 'filtered entries are consumed');
    assert.equal(store.stats().getMessageCount, 4 + 3 + 1 + 5 + 3);
  } finally {
    await dispose();
  }
});

test('min/max offsets, earliest time, store time at offset and offset by time', async () => {
  const clock = manualClock(10_000);
  const { store, dispose } = await openStore(clock);
  try {
    assert.equal(store.getEarliestMessageTime('T', 0), -1);
    assert.equal(store.getOffsetInQueueByTime('T', 0, 5), 0);
    // Store times: 10000, 10000, 10010, 10010, 10010, 10020, ... two or three per value.
    const times = [10_000, 10_000, 10_010, 10_010, 10_010, 10_020, 10_030, 10_030, 10_040, 10_050, 10_050, 10_060];
    for (const time of times) {
      clock.set(time);
      store.append(messageInput({ topic: 'T', queueId: 1 }));
    }
    await store.flushCheckpoint(); // half the lookups from files, then more from the write buffer
    for (const time of [10_070, 10_070, 10_080]) {
      clock.set(time);
      store.append(messageInput({ topic: 'T', queueId: 1 }));
      times.push(time);
    }
    assert.equal(store.getMinOffsetInQueue('T', 1), 0);
    assert.equal(store.getMaxOffsetInQueue('T', 1), times.length);
    assert.equal(store.getEarliestMessageTime('T', 1), 10_000);
    for (const [offset, time] of times.entries()) assert.equal(store.getMessageStoreTime('T', 1, offset), time);
    assert.equal(store.getMessageStoreTime('T', 1, times.length), -1);

    const lower = (ms: number) => store.getOffsetInQueueByTime('T', 1, ms, 'lower');
    const upper = (ms: number) => store.getOffsetInQueueByTime('T', 1, ms, 'upper');
    for (let ms = 9_990; ms <= 10_090; ms += 5) {
      const firstAtOrAfter = times.findIndex((time) => time >= ms);
      const expectedLower = firstAtOrAfter < 0 ? times.length : firstAtOrAfter;
      let expectedUpper = -1;
      for (const [offset, time] of times.entries()) if (time <= ms) expectedUpper = offset;
      assert.equal(lower(ms), expectedLower, `lower(${ms})`);
      assert.equal(upper(ms), Math.max(0, expectedUpper), `upper(${ms})`);
    }
    assert.equal(store.getOffsetInQueueByTime('T', 1, 10_010), 2, "the default boundary is 'lower'");
  } finally {
    await dispose();
  }
});

test('lookup by key filters hash collisions, topics and time ranges, newest first', async () => {
  const clock = manualClock(1_700_000_000_000);
  const { store, dispose } = await openStore(clock);
  try {
    // "Aa" and "BB" share a Java hashCode, so `K#Aa` and `K#BB` share an index slot and hash.
    assert.equal(javaStringHashCode('K#Aa'), javaStringHashCode('K#BB'));
    const at = (seconds: number) => 1_700_000_000_000 + seconds * 1000;
    clock.set(at(0));
    const a1 = store.append(messageInput({ topic: 'K', keys: ['Aa'], body: 'a1' }));
    clock.set(at(10));
    store.append(messageInput({ topic: 'K', keys: ['BB'], body: 'b1' }));
    clock.set(at(20));
    const a2 = store.append(messageInput({ topic: 'K', keys: ['x', 'Aa'], body: 'a2' }));
    clock.set(at(30));
    store.append(messageInput({ topic: 'Other', keys: ['Aa'], body: 'other-topic' }));
    clock.set(at(40));
    const unique = store.append(messageInput({ topic: 'K', uniqueKey: 'C0A80001000018B4AAC2', body: 'u' }));

    const all = store.queryMessageByKey('K', 'Aa', 10, 0, Number.MAX_SAFE_INTEGER);
    assert.deepEqual(all.records.map((record) => decodeRecord(record)!.body.toString()), ['a2', 'a1']);
    assert.equal(all.indexLastUpdatePhyoffset, unique.physicalOffset);
    assert.equal(all.indexLastUpdateTimestamp, at(40));
    assert.deepEqual(store.queryMessageByKey('K', 'BB', 10, 0, Number.MAX_SAFE_INTEGER).records.map((record) => decodeRecord(record)!.body.toString()), ['b1']);
    assert.equal(store.queryMessageByKey('K', 'Aa', 1, 0, Number.MAX_SAFE_INTEGER).records.length, 1);
    const early = store.queryMessageByKey('K', 'Aa', 10, at(0), at(15));
    assert.deepEqual(early.records.map((record) => decodeRecord(record)!.physicalOffset), [a1.physicalOffset]);
    const late = store.queryMessageByKey('K', 'Aa', 10, at(15), at(25));
    assert.deepEqual(late.records.map((record) => decodeRecord(record)!.physicalOffset), [a2.physicalOffset]);
    assert.equal(store.queryMessageByKey('K', 'Aa', 10, at(21), at(100)).records.length, 0);
    assert.equal(store.queryMessageByKey('K', 'C0A80001000018B4AAC2', 10, 0, Number.MAX_SAFE_INTEGER).records.length, 1);
    assert.equal(store.queryMessageByKey('K', 'missing', 10, 0, Number.MAX_SAFE_INTEGER).records.length, 0);
    assert.equal(store.queryMessageByKey('Other', 'Aa', 10, 0, Number.MAX_SAFE_INTEGER).records.length, 1);
  } finally {
    await dispose();
  }
});
