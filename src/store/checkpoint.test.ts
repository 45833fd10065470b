// Proves the checkpoint file keeps RocketMQ's timestamp fields at their offsets, round-trips TideMQ's consistent offset, and is treated as absent when any byte of it is damaged.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readInt64 } from '../protocol/message-record.js';
import { CHECKPOINT_FILE_BYTES, readCheckpoint, writeCheckpoint } from './checkpoint.js';
import { makeTempDirectory } from './store-test-support.js';

test('checkpoint round trip, RocketMQ field offsets, and damage detection', async () => {
  const directory = makeTempDirectory();
  const path = join(directory.path, 'checkpoint');
  try {
    assert.equal(readCheckpoint(path), null);
    const checkpoint = { physicMsgTimestamp: 1_700_000_000_001, logicsMsgTimestamp: 1_700_000_000_002, indexMsgTimestamp: 1_700_000_000_003, consistentOffset: 2 ** 40 + 12_345 };
    await writeCheckpoint(path, checkpoint);
    const bytes = readFileSync(path);
    assert.equal(bytes.length, CHECKPOINT_FILE_BYTES);
    assert.equal(readInt64(bytes, 0), checkpoint.physicMsgTimestamp);
    assert.equal(readInt64(bytes, 8), checkpoint.logicsMsgTimestamp);
    assert.equal(readInt64(bytes, 16), checkpoint.indexMsgTimestamp);
    assert.equal(readInt64(bytes, 24), 0);
    assert.equal(readInt64(bytes, 32), 0);
    assert.deepEqual(readCheckpoint(path), checkpoint);
    for (const position of [3, 20, 41, 50, 57]) {
      const damaged = Buffer.from(bytes);
      damaged[position]! ^= 0x10;
      writeFileSync(path, damaged);
      assert.equal(readCheckpoint(path), null, `damage at byte ${position}`);
    }
    writeFileSync(path, bytes.subarray(0, 30));
    assert.equal(readCheckpoint(path), null, 'a short file');
  } finally {
    directory.remove();
  }
});
