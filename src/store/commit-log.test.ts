// Proves the commit-log segment layout on disk: 20-digit names, full-size files, records that never span two segments, BLANK markers that fill each segment's tail, and records too large for a segment refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { isTideError } from '../common/errors.js';
import { BLANK_MAGIC, MAGIC_V1, checkRecord, decodeRecord } from '../protocol/message-record.js';
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
