// Proves the timer's files on disk: log records survive reopen and chain per slot, a torn tail is found by its CRC, whole delivered segments are deleted, and the wheel snapshot, checkpoint and recall file round-trip and reject damage.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RecallTombstones } from './recall-tombstones.js';
import { decodeTimerCheckpoint, encodeTimerCheckpoint } from './timer-checkpoint.js';
import { TIMER_LOG_RECORD_BYTES, TimerLog, type TimerLogRecord } from './timer-log.js';
import { TimerWheel } from './timer-wheel.js';

function tempDir(t: { after(fn: () => void): void }): string {
  const directory = mkdtempSync(join(tmpdir(), 'tidemq-timer-log-'));
  t.after(() => rmSync(directory, { recursive: true, force: true }));
  return directory;
}

function record(effectiveMs: number, queueOffset: number, prevPosition = -1): TimerLogRecord {
  return { effectiveMs, deliverMs: effectiveMs + 5, physicalOffset: queueOffset * 100, size: 90, queueOffset, prevPosition };
}

test('records chain per slot through the wheel and survive reopen', (t) => {
  const directory = tempDir(t);
  const segmentBytes = TIMER_LOG_RECORD_BYTES * 4;
  const wheel = new TimerWheel(10, 1000);
  let log = TimerLog.open(directory, segmentBytes);
  for (let index = 0; index < 10; index++) {
    const effectiveMs = 5000 + (index % 2) * 1000 + index;
    const position = log.endPosition;
    log.append(record(effectiveMs, index, wheel.link(effectiveMs, position)));
  }
  assert.equal(log.read(0)?.queueOffset, 0, 'readable before writeOut');
  log.writeOut();
  log.close();
  log = TimerLog.open(directory, segmentBytes);
  t.after(() => log.close());
  assert.equal(log.endPosition, 10 * TIMER_LOG_RECORD_BYTES);
  assert.equal(log.segmentTable().length, 3, 'four records per segment');
  const chain = (slotStartMs: number): number[] => {
    const offsets: number[] = [];
    for (let position = wheel.head(slotStartMs); position >= 0; position = log.read(position)!.prevPosition) offsets.push(log.read(position)!.queueOffset);
    return offsets;
  };
  assert.deepEqual(chain(5000), [8, 6, 4, 2, 0], 'newest first');
  assert.deepEqual(chain(6000), [9, 7, 5, 3, 1]);
  assert.equal(wheel.head(15000), -1, 'the same slot index one lap later is empty');
  const seen: number[] = [];
  assert.equal(log.scan(0, (entry) => seen.push(entry.queueOffset)), 10 * TIMER_LOG_RECORD_BYTES);
  assert.deepEqual(seen, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
});

test('a torn tail stops the scan; truncate cuts there; delivered segments are deleted', async (t) => {
  const directory = tempDir(t);
  const segmentBytes = TIMER_LOG_RECORD_BYTES * 4;
  let log = TimerLog.open(directory, segmentBytes);
  for (let index = 0; index < 10; index++) log.append(record(1000 * index, index));
  log.writeOut();
  await log.sync();
  log.close();
  // Half a record of garbage after the last full one (a write cut by a crash), then a record with a bad CRC.
  const lastSegment = join(directory, '00000000000000000512');
  appendFileSync(lastSegment, Buffer.alloc(TIMER_LOG_RECORD_BYTES, 7));
  log = TimerLog.open(directory, segmentBytes);
  t.after(() => log.close());
  const end = log.scan(0, () => undefined);
  assert.equal(end, 10 * TIMER_LOG_RECORD_BYTES, 'the bad record is where the scan stops');
  log.truncate(end);
  assert.equal(statSync(lastSegment).size, 2 * TIMER_LOG_RECORD_BYTES);
  assert.equal(log.read(end), null);
  log.append(record(99_000, 10));
  log.writeOut();
  assert.equal(log.read(end)?.queueOffset, 10, 'appends continue at the cut');
  await log.sync();
  assert.equal(log.deleteSegmentsBefore(4000), 1, 'records 0..3 are all before 4000');
  assert.equal(log.startPosition, segmentBytes);
  assert.equal(log.deleteSegmentsBefore(Number.MAX_SAFE_INTEGER), 1, 'the segment written to is never deleted');
  assert.equal(log.read(0), null);
});

test('wheel snapshot, checkpoint and recalls round-trip and reject damage', async (t) => {
  const directory = tempDir(t);
  const wheel = new TimerWheel(8, 100);
  wheel.link(250, 64);
  wheel.link(260, 128);
  const bytes = wheel.encodeSnapshot(192, [{ start: 0, maxEffectiveMs: 260 }]);
  const decoded = TimerWheel.decodeSnapshot(bytes, 100, 8)!;
  assert.equal(decoded.coveredPosition, 192);
  assert.equal(decoded.wheel.head(200), 128);
  assert.deepEqual(decoded.segments, [{ start: 0, maxEffectiveMs: 260 }]);
  assert.equal(TimerWheel.decodeSnapshot(bytes, 1000, 8), null, 'another slot size');
  assert.equal(TimerWheel.decodeSnapshot(bytes, 100, 9), null, 'fewer slots than needed');
  bytes[40]! ^= 1;
  assert.equal(TimerWheel.decodeSnapshot(bytes, 100, 8), null, 'CRC');

  const checkpoint = { deliveredUpToMs: 10, intentUpToMs: 20, enqueueOffset: 3, recheckBelowQueueOffset: 0 };
  const encoded = encodeTimerCheckpoint(checkpoint);
  assert.deepEqual(decodeTimerCheckpoint(encoded), checkpoint);
  encoded[20]! ^= 1;
  assert.equal(decodeTimerCheckpoint(encoded), null);

  const path = join(directory, 'recalls');
  let recalls = new RecallTombstones(path, 10, 0);
  await recalls.add('KEY-1', 5000);
  await recalls.add('KEY-2', 100);
  await recalls.add('KEY-3', 6000);
  assert.equal(recalls.has('KEY-1', 5000), true);
  assert.equal(recalls.has('KEY-1', 5001), false, 'a recall names one delivery time');
  await recalls.close();
  writeFileSync(path, Buffer.concat([readFileSync(path), Buffer.from([0, 0, 0, 1, 0, 0])]));
  recalls = new RecallTombstones(path, 2, 1000);
  assert.equal(recalls.size, 2, 'the torn record is dropped, the one due before 1000 is compacted away');
  assert.equal(recalls.has('KEY-3', 6000), true);
  assert.throws(() => recalls.add('KEY-4', 7000), /timerMaxPendingRecalls/);
  recalls.prune(5500);
  assert.equal(recalls.has('KEY-1', 5000), false);
  await recalls.close();
});
