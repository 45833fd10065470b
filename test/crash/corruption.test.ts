// Proves that a record whose body was damaged on disk (one flipped byte in a middle segment) is caught
// by its CRC and reported through the logger, is never handed out by readRecord or getMessages, and
// that the records stored before it stay readable and byte-identical.
import assert from 'node:assert/strict';
import { mkdtempSync, openSync, readSync, rmSync, writeFileSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { isTideError } from '../../src/common/errors.js';
import { MessageStore } from '../../src/store/message-store.js';
import type { AppendResult } from '../../src/store/types.js';
import { capturingLogger } from './crash-harness.js';
import { buildAppendInput } from './crash-workload.js';
import { listCommitLogSegments } from './power-cut.js';
import { checkWorkloadRecord } from './store-verifier.js';

const SEGMENT_BYTES = 64 * 1024;
const MESSAGES = 400;
/** Offset of BODY's first byte in a record with IPv4 hosts: the fixed header (84) plus BODY's length (4). */
const BODY_POSITION_IPV4 = 88;

interface Written {
  seq: number;
  result: AppendResult;
  bodyLength: number;
}

async function writeStore(storeDir: string): Promise<Written[]> {
  const store = await MessageStore.open({ storePathRootDir: storeDir, mappedFileSizeCommitLog: SEGMENT_BYTES, consumeQueueEntriesPerFile: 1000 });
  const written: Written[] = [];
  for (let seq = 0; seq < MESSAGES; seq++) {
    const input = buildAppendInput(1, seq);
    written.push({ seq, result: store.append(input), bodyLength: input.body.length });
  }
  await store.close();
  return written;
}

/** Flips one byte in the middle of the body of a record in a middle segment; returns that record. */
function corruptMiddleRecord(storeDir: string, written: readonly Written[]): Written {
  const segments = listCommitLogSegments(storeDir);
  assert.ok(segments.length >= 3, `expected several segments, got ${segments.length}`);
  const middle = segments[Math.floor(segments.length / 2)]!;
  const inMiddle = written.filter((entry) => entry.result.physicalOffset >= middle.baseOffset && entry.result.physicalOffset < middle.baseOffset + SEGMENT_BYTES && entry.bodyLength >= 16);
  assert.ok(inMiddle.length >= 3);
  const target = inMiddle[Math.floor(inMiddle.length / 2)]!;
  const position = target.result.physicalOffset - middle.baseOffset + BODY_POSITION_IPV4 + Math.floor(target.bodyLength / 2);
  const fd = openSync(middle.path, 'r+');
  try {
    const byte = Buffer.alloc(1);
    readSync(fd, byte, 0, 1, position);
    byte[0] = byte[0]! ^ 0x5a;
    writeSync(fd, byte, 0, 1, position);
  } finally {
    closeSync(fd);
  }
  return target;
}

async function checkReopened(storeDir: string, written: readonly Written[], target: Written, log: (line: string) => void): Promise<void> {
  const errors: string[] = [];
  const store = await MessageStore.open({ storePathRootDir: storeDir, mappedFileSizeCommitLog: SEGMENT_BYTES, consumeQueueEntriesPerFile: 1000 }, { logger: capturingLogger(errors) });
  try {
    const noFailure = (text: string): void => assert.fail(text);
    // readRecord never hands out the damaged record.
    let targetRead: string;
    try {
      const record = store.readRecord(target.result.physicalOffset);
      assert.equal(record, null, 'readRecord returned the damaged record');
      targetRead = 'null';
    } catch (error) {
      assert.ok(isTideError(error, 'STORE_CORRUPT'), `readRecord threw ${String(error)}`);
      targetRead = 'STORE_CORRUPT';
    }

    // Every other record is either intact or (only after the damage, if recovery cut the log there) absent.
    let missingAfter = 0;
    for (const entry of written) {
      if (entry === target) continue;
      let record: Buffer | null = null;
      try {
        record = store.readRecord(entry.result.physicalOffset);
      } catch (error) {
        assert.ok(isTideError(error, 'STORE_CORRUPT'), `readRecord threw ${String(error)}`);
      }
      if (record === null) {
        assert.ok(entry.result.physicalOffset > target.result.physicalOffset, `r1-s${entry.seq} before the damaged record is gone`);
        missingAfter++;
        continue;
      }
      const checked = checkWorkloadRecord(record, noFailure, `r1-s${entry.seq}`);
      assert.equal(checked?.seq, entry.seq);
      assert.equal(checked?.physicalOffset, entry.result.physicalOffset);
    }

    // getMessages over the damaged record's queue skips it or stops at it, but never returns it.
    const input = buildAppendInput(1, target.seq);
    const maxOffset = store.getMaxOffsetInQueue(input.topic, input.queueId);
    let returned = 0;
    for (let queueOffset = store.getMinOffsetInQueue(input.topic, input.queueId); queueOffset < maxOffset; ) {
      let records: Buffer[] = [];
      let nextOffset = queueOffset + 1;
      try {
        const result = store.getMessages(input.topic, input.queueId, queueOffset, 32, 4 * 1024 * 1024);
        records = result.records;
        if (result.records.length > 0 || result.nextBeginOffset > queueOffset) nextOffset = Math.max(result.nextBeginOffset, queueOffset + 1);
      } catch (error) {
        assert.ok(isTideError(error, 'STORE_CORRUPT'), `getMessages threw ${String(error)}`);
      }
      for (const record of records) {
        const checked = checkWorkloadRecord(record, noFailure, `${input.topic}/${input.queueId}@${queueOffset}`);
        assert.notEqual(checked?.seq, target.seq, 'getMessages returned the damaged record');
        returned++;
      }
      queueOffset = nextOffset;
    }
    assert.ok(errors.length >= 1, 'the damaged record was not reported through logger.error');
    log(`damaged r1-s${target.seq} at ${target.result.physicalOffset}: readRecord -> ${targetRead}; ${returned} records of its queue served; ${missingAfter} later records unreadable; logged: ${errors[0]}`);
  } finally {
    await store.close();
  }
}

test('a flipped body byte is caught after a clean shutdown', async (t) => {
  const storeDir = mkdtempSync(join(tmpdir(), 'tidemq-corruption-'));
  try {
    const written = await writeStore(storeDir);
    const target = corruptMiddleRecord(storeDir, written);
    await checkReopened(storeDir, written, target, (line) => t.diagnostic(line));
  } finally {
    rmSync(storeDir, { recursive: true, force: true });
  }
});

test('a flipped body byte is caught after an unclean shutdown', async (t) => {
  const storeDir = mkdtempSync(join(tmpdir(), 'tidemq-corruption-'));
  try {
    const written = await writeStore(storeDir);
    const target = corruptMiddleRecord(storeDir, written);
    // The abort marker is what a crashed store leaves behind: the next open recovers abnormally.
    writeFileSync(join(storeDir, 'abort'), '');
    await checkReopened(storeDir, written, target, (line) => t.diagnostic(line));
  } finally {
    rmSync(storeDir, { recursive: true, force: true });
  }
});

test('a flipped body byte is caught by a recovery scan over the whole log', async (t) => {
  const storeDir = mkdtempSync(join(tmpdir(), 'tidemq-corruption-'));
  try {
    const written = await writeStore(storeDir);
    const target = corruptMiddleRecord(storeDir, written);
    // Without a checkpoint and with the abort marker, recovery must scan (and CRC-check) every record.
    writeFileSync(join(storeDir, 'abort'), '');
    rmSync(join(storeDir, 'checkpoint'));
    await checkReopened(storeDir, written, target, (line) => t.diagnostic(line));
  } finally {
    rmSync(storeDir, { recursive: true, force: true });
  }
});
