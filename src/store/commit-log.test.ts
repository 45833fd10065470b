// Proves the commit-log segment layout on disk: 20-digit names, full-size files, records that never span two segments, BLANK markers that fill each segment's tail, records too large for a segment refused, and a roll-over whose next segment cannot be created refused with no state changed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, readdirSync, rmdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { isTideError } from '../common/errors.js';
import { BLANK_MAGIC, MAGIC_V1, checkRecord, decodeRecord } from '../protocol/message-record.js';
import { offsetFileName } from './file-names.js';
import { MessageStore } from './message-store.js';
import { makeTempDirectory, messageInput, recordingLogger } from './store-test-support.js';

const SEGMENT_BYTES = 4096;

test('records roll over to the next segment behind a BLANK marker and never span files', async () => {
  const directory = makeTempDirectory();
  const store = await MessageStore.open(
    { storePathRootDir: directory.path, mappedFileSizeCommitLog: SEGMENT_BYTES, maxHashSlotNum: 64, maxIndexNum: 256 },
    { logger: recordingLogger() },
  );
  const results = [];
  try {
    // Sizes that leave odd remainders, including records that fit with exactly 8 bytes to spare.
    for (let index = 0; index < 60; index++) {
      results.push(store.append(messageInput({ body: 'b'.repeat(37 + ((index * 97) % 700)) })));
    }
    for (const result of results) {
      const segmentStart = result.physicalOffset - (result.physicalOffset % SEGMENT_BYTES);
      assert.ok(result.endOffset + 8 <= segmentStart + SEGMENT_BYTES, `record at ${result.physicalOffset} leaves room for a BLANK marker`);
    }
    const rolled = results.filter((result) => result.physicalOffset % SEGMENT_BYTES === 0 && result.physicalOffset > 0);
    assert.ok(rolled.length >= 3, 'several roll-overs happened');
  } finally {
    await store.close();
  }

  const commitLogDirectory = join(directory.path, 'commitlog');
  const names = readdirSync(commitLogDirectory).sort();
  const lastEnd = results[results.length - 1]!.endOffset;
  const expectedSegments = Math.floor(lastEnd / SEGMENT_BYTES) + 1;
  assert.deepEqual(names, Array.from({ length: expectedSegments }, (_, index) => String(index * SEGMENT_BYTES).padStart(20, '0')));

  let recordIndex = 0;
  for (const name of names) {
    assert.equal(statSync(join(commitLogDirectory, name)).size, SEGMENT_BYTES, 'segments are full length');
    const bytes = readFileSync(join(commitLogDirectory, name));
    const segmentStart = Number(name);
    let position = 0;
    for (;;) {
      const check = checkRecord(bytes, position, SEGMENT_BYTES - position, true);
      if (check.kind === 'end') break;
      if (check.kind === 'blank') {
        assert.equal(bytes.readInt32BE(position + 4), BLANK_MAGIC);
        assert.equal(position + check.size, SEGMENT_BYTES, 'the BLANK marker covers the rest of the segment');
        assert.ok(bytes.subarray(position + 8).every((byte) => byte === 0));
        break;
      }
      assert.equal(check.kind, 'record');
      if (check.kind !== 'record') break;
      assert.equal(bytes.readInt32BE(position + 4), MAGIC_V1);
      const record = decodeRecord(bytes, position);
      assert.equal(record?.physicalOffset, segmentStart + position);
      assert.equal(record?.physicalOffset, results[recordIndex]!.physicalOffset);
      recordIndex++;
      position += check.size;
    }
  }
  assert.equal(recordIndex, results.length, 'every record found in order, in exactly one segment');
  directory.remove();
});

test('a record larger than a segment can hold is refused', async () => {
  const directory = makeTempDirectory();
  const store = await MessageStore.open(
    { storePathRootDir: directory.path, mappedFileSizeCommitLog: SEGMENT_BYTES, maxHashSlotNum: 64, maxIndexNum: 256 },
    { logger: recordingLogger() },
  );
  try {
    assert.throws(() => store.append(messageInput({ body: Buffer.alloc(SEGMENT_BYTES) })), (error) => isTideError(error, 'MESSAGE_BODY_TOO_LARGE'));
    // The largest record that fits (size + 8 = segment) is accepted at the start of a segment.
    const probe = store.append(messageInput({ body: Buffer.alloc(0) }));
    const overhead = probe.size;
    const big = store.append(messageInput({ body: Buffer.alloc(SEGMENT_BYTES - 8 - overhead) }));
    assert.equal(big.physicalOffset, SEGMENT_BYTES);
    assert.equal(big.size, SEGMENT_BYTES - 8);
    assert.ok(store.readRecord(big.physicalOffset));
  } finally {
    await store.close();
    directory.remove();
  }
});

test('with warmMappedFileEnable segments are pre-written with zeros, and zeros still read as the end', async () => {
  const directory = makeTempDirectory();
  const config = { storePathRootDir: directory.path, mappedFileSizeCommitLog: SEGMENT_BYTES, warmMappedFileEnable: true, maxHashSlotNum: 64, maxIndexNum: 256 };
  const store = await MessageStore.open(config, { logger: recordingLogger() });
  const results = [];
  try {
    for (let index = 0; index < 30; index++) {
      results.push(store.append(messageInput({ body: `warm-${index}-${'w'.repeat(400)}` })));
      // Let the background preparation run between appends, as it would between requests.
      await new Promise((resolve) => setImmediate(resolve));
    }
    assert.ok(results[29]!.physicalOffset >= 2 * SEGMENT_BYTES, 'the test crosses segments');
  } finally {
    await store.close();
  }
  for (const name of readdirSync(join(directory.path, 'commitlog'))) {
    assert.equal(statSync(join(directory.path, 'commitlog', name)).size, SEGMENT_BYTES);
  }
  const reopened = await MessageStore.open(config, { logger: recordingLogger() });
  try {
    assert.equal(reopened.stats().commitLogMaxOffset, results[29]!.endOffset);
    for (const [index, result] of results.entries()) {
      assert.equal(decodeRecord(reopened.readRecord(result.physicalOffset)!)?.body.toString().startsWith(`warm-${index}-`), true);
    }
  } finally {
    await reopened.close();
    directory.remove();
  }
});

test('reopening with a different segment size is refused instead of misreading the log', async () => {
  const directory = makeTempDirectory();
  const config = { storePathRootDir: directory.path, mappedFileSizeCommitLog: SEGMENT_BYTES, maxHashSlotNum: 64, maxIndexNum: 256 };
  const store = await MessageStore.open(config, { logger: recordingLogger() });
  for (let index = 0; index < 40; index++) store.append(messageInput({ body: 'q'.repeat(300) }));
  await store.close();
  await assert.rejects(MessageStore.open({ ...config, mappedFileSizeCommitLog: 2 * SEGMENT_BYTES }, { logger: recordingLogger() }), (error) => isTideError(error, 'STORE_CORRUPT'));
  // The failed open released the lock and changed nothing.
  const reopened = await MessageStore.open(config, { logger: recordingLogger() });
  assert.equal(reopened.recovery.abnormal, false);
  assert.equal(reopened.getMaxOffsetInQueue('TopicTest', 0), 40);
  await reopened.close();
  directory.remove();
});

test('a roll-over whose next segment cannot be created is refused (retriable) and changes nothing; it works once creation does', async () => {
  const directory = makeTempDirectory();
  const config = { storePathRootDir: directory.path, mappedFileSizeCommitLog: SEGMENT_BYTES, flushIntervalConsumeQueue: 600_000, maxHashSlotNum: 64, maxIndexNum: 256 };
  const logger = recordingLogger();
  const store = await MessageStore.open(config, { logger });
  const commitLogDirectory = join(directory.path, 'commitlog');
  // A directory where the third segment's file must go: creating that segment fails with EISDIR,
  // as it would with EMFILE or ENOSPC, both in the background preparation and at the roll-over.
  const blockedSegment = join(commitLogDirectory, offsetFileName(2 * SEGMENT_BYTES));
  const bodyOf = (index: number): string => `roll-${index}-${'r'.repeat(300)}`;
  const stored = [];
  try {
    let index = 0;
    // Fill segment 0 and roll into segment 1; block segment 2 before its preparation can run.
    while (stored.length === 0 || stored[stored.length - 1]!.physicalOffset < SEGMENT_BYTES) stored.push(store.append(messageInput({ body: bodyOf(index++) })));
    mkdirSync(blockedSegment);
    for (let turn = 0; turn < 3; turn++) await new Promise((resolve) => setImmediate(resolve));
    assert.ok(logger.warnings.length > 0, 'the failed background preparation is logged');

    let refusals = 0;
    while (refusals < 3) {
      const before = store.stats();
      const queueBefore = store.getMaxOffsetInQueue('TopicTest', 0);
      try {
        stored.push(store.append(messageInput({ body: bodyOf(index) })));
        index++;
        assert.ok(stored[stored.length - 1]!.endOffset <= 2 * SEGMENT_BYTES, 'nothing lands past segment 1 while segment 2 cannot exist');
        continue;
      } catch (error) {
        assert.ok(isTideError(error, 'STORE_WRITE_FAILED'), `a TideError, got ${String(error)}`);
        assert.equal((error as { retriable: boolean }).retriable, true);
      }
      refusals++;
      assert.deepEqual(store.stats(), before, 'a refused roll-over changes no offset');
      assert.equal(store.getMaxOffsetInQueue('TopicTest', 0), queueBefore);
      assert.equal(statSync(join(commitLogDirectory, offsetFileName(SEGMENT_BYTES))).size, SEGMENT_BYTES, 'segment 1 never grows past its size');
    }
    assert.equal(await store.waitDurable(stored[stored.length - 1]!.endOffset), 'PUT_OK', 'the store is not failed: what it holds is still written');

    rmdirSync(blockedSegment);
    const rolled = store.append(messageInput({ body: bodyOf(index++) }));
    assert.equal(rolled.physicalOffset, 2 * SEGMENT_BYTES, 'the retried roll-over starts segment 2');
    stored.push(rolled);
    for (let more = 0; more < 5; more++) stored.push(store.append(messageInput({ body: bodyOf(index++) })));
    assert.equal(await store.waitDurable(stored[stored.length - 1]!.endOffset), 'PUT_OK');
  } finally {
    await store.close();
  }
  for (const name of readdirSync(commitLogDirectory)) assert.equal(statSync(join(commitLogDirectory, name)).size, SEGMENT_BYTES, `${name} is full length`);

  const reopened = await MessageStore.open(config, { logger: recordingLogger() });
  try {
    assert.equal(reopened.getMaxOffsetInQueue('TopicTest', 0), stored.length);
    for (const [position, result] of stored.entries()) {
      assert.equal(decodeRecord(reopened.readRecord(result.physicalOffset)!)?.body.toString(), bodyOf(position));
    }
    const next = reopened.append(messageInput({ body: 'after reopen' }));
    assert.equal(next.physicalOffset, stored[stored.length - 1]!.endOffset);
  } finally {
    await reopened.close();
    directory.remove();
  }
});
