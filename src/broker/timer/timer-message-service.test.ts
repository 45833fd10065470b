// Proves the timer against a real store on a controlled clock: never early, far-future messages copied forward and delivered once, memory holding only the near future, and exactly-once delivery across close/reopen, a simulated kill, a lost checkpoint, and recalls.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseHostAddress } from '../../protocol/host-address.js';
import { getProperty } from '../../protocol/message-properties.js';
import { decodeRecord, type DecodedRecord } from '../../protocol/message-record.js';
import { MessageStore } from '../../store/message-store.js';
import { MessageWriter, recoveredTagsCode } from '../message-writer.js';
import { TimerMessageService } from './timer-message-service.js';
import type { TimerSettings } from './timer-settings.js';

const HOST = parseHostAddress('127.0.0.1', 10911);
const START_MS = 1_700_000_000_000;
const SETTINGS: Partial<TimerSettings> = {
  timerTickIntervalMs: 3_600_000, // the test drives tick() itself
  timerSlotMs: 1000,
  timerLookaheadMs: 2000,
  timerRollWindowMs: 20_000,
  timerFlushIntervalMs: 60_000, // durable steps come from runUntil or a running-low intent
  timerLogSegmentBytes: 64 * 32,
};

interface Clock { now: number }

interface Opened {
  store: MessageStore;
  writer: MessageWriter;
  timer: TimerMessageService;
}

async function open(root: string, clock: Clock): Promise<Opened> {
  const store = await MessageStore.open(
    { storePathRootDir: root, mappedFileSizeCommitLog: 4 * 1024 * 1024, flushDiskType: 'SYNC_FLUSH', consumeQueueEntriesPerFile: 10_000, maxHashSlotNum: 1000, maxIndexNum: 20_000 },
    { wallClockMs: () => clock.now, tagsCodeOf: (record) => recoveredTagsCode(record, [1000]) },
  );
  const writer = new MessageWriter(store, [1000], () => HOST, () => clock.now);
  const timer = new TimerMessageService({ store, writer, storePathRootDir: root, now: () => clock.now, settings: SETTINGS });
  timer.start();
  return { store, writer, timer };
}

async function close(opened: Opened): Promise<void> {
  await opened.timer.close();
  await opened.store.close();
}

function park(opened: Opened, key: string, delayMs: number, topic = 'T'): number {
  const written = opened.writer.write({
    topic, queueId: 0, flag: 0, sysFlag: 0, bornTimestamp: START_MS, bornHost: HOST, reconsumeTimes: 0, preparedTransactionOffset: 0,
    body: Buffer.from(key), properties: new Map([['UNIQ_KEY', key], ['TIMER_DELAY_MS', String(delayMs)]]),
  });
  assert.equal(written.topic, 'rmq_sys_wheel_timer');
  return written.timer!.deliverMs;
}

/** Moves the clock to `toMs` in steps, letting the timer and the store do their work at each step. */
async function runUntil(opened: Opened, clock: Clock, toMs: number, stepMs = 500): Promise<void> {
  while (clock.now < toMs) {
    clock.now = Math.min(toMs, clock.now + stepMs);
    opened.timer.tick();
    await opened.store.flushCheckpoint();
    await opened.timer.persistNow();
    opened.timer.tick();
  }
}

function delivered(store: MessageStore, topic = 'T'): DecodedRecord[] {
  const result = store.getMessages(topic, 0, 0, 10_000, 64 * 1024 * 1024);
  return result.records.map((bytes) => decodeRecord(bytes)!);
}

function tempRoot(t: { after(fn: () => void): void }): string {
  const root = mkdtempSync(join(tmpdir(), 'tidemq-timer-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  return root;
}

test('never early, in time order, far-future messages copied forward, only the near future in memory', async (t) => {
  const root = tempRoot(t);
  const clock = { now: START_MS };
  const opened = await open(root, clock);
  t.after(() => close(opened));
  const due = new Map<string, number>();
  for (const [key, delayMs] of [['m1500', 1500], ['m3000', 3000], ['m10000', 10_000], ['m65000', 65_000], ['m2999', 2999]] as const) due.set(key, park(opened, key, delayMs));
  // Far-future load: 300 messages spread over 300 s stay on disk.
  for (let index = 0; index < 300; index++) park(opened, `far-${index}`, 100_000 + index * 1000, 'Far');
  await opened.store.flushCheckpoint();
  opened.timer.tick();
  assert.ok(opened.timer.stats().loadedEntries <= 5, `only entries due within the lookahead are in memory (${opened.timer.stats().loadedEntries})`);
  assert.equal(opened.timer.stats().timerLogBytes, 305 * 64, 'every parked message is in the timer log');

  await runUntil(opened, clock, START_MS + 70_000);
  const records = delivered(opened.store);
  assert.deepEqual(records.map((record) => record.body.toString()), ['m1500', 'm2999', 'm3000', 'm10000', 'm65000']);
  for (const record of records) {
    const key = record.body.toString();
    assert.ok(record.storeTimestamp >= due.get(key)!, `${key} delivered at +${record.storeTimestamp - START_MS} ms, due at +${due.get(key)! - START_MS}`);
    assert.ok(record.storeTimestamp - due.get(key)! <= 1000, `${key} delivered within a second of its time`);
    assert.equal(getProperty(record.properties, 'TIMER_OUT_MS'), String(due.get(key)));
    assert.equal(getProperty(record.properties, 'REAL_TOPIC'), undefined);
  }
  assert.equal(getProperty(records[4]!.properties, 'TIMER_ROLL_TIMES'), '3', 'the 65 s message was copied forward three times (20 s window)');
  assert.ok(opened.timer.stats().rolled >= 3);
  assert.equal(delivered(opened.store, 'Far').length, 0);
  assert.ok(opened.timer.stats().loadedEntries <= 2);
});

test('exactly once across a clean restart, a simulated kill -9 and a lost checkpoint', async (t) => {
  const root = tempRoot(t);
  const clock = { now: START_MS };
  let opened = await open(root, clock);
  const due = new Map<string, number>();
  for (let index = 1; index <= 20; index++) due.set(`k${index}`, park(opened, `k${index}`, index * 1000));
  await runUntil(opened, clock, START_MS + 5500);
  assert.equal(delivered(opened.store).length, 5);

  // A delivery after the last durable progress (the intent, 8.5 s, is not running low yet), then a
  // kill: the delivered record is in the commit log, the timer's checkpoint does not know it.
  clock.now += 1200;
  opened.timer.tick();
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(delivered(opened.store).length, 6);
  await opened.timer.abandon();
  await opened.store.simulateCrash();

  opened = await open(root, clock);
  await runUntil(opened, clock, START_MS + 12_500);
  let keys = delivered(opened.store).map((record) => record.body.toString());
  assert.equal(keys.length, 12, `deliveries after the kill are not repeated: ${keys.join(',')}`);
  assert.equal(opened.timer.stats().deduplicated, 1, 'the unsure entries were checked against the real topic');
  await close(opened);

  opened = await open(root, clock);
  await runUntil(opened, clock, START_MS + 15_500);
  await close(opened);
  rmSync(join(root, 'timer'), { recursive: true, force: true });
  opened = await open(root, clock);
  t.after(() => close(opened));
  await runUntil(opened, clock, START_MS + 22_000);
  keys = delivered(opened.store).map((record) => record.body.toString());
  assert.deepEqual(keys, Array.from({ length: 20 }, (_, index) => `k${index + 1}`), 'each once, in order, after a restart and a rebuild');
  for (const record of delivered(opened.store)) assert.ok(record.storeTimestamp >= due.get(record.body.toString())!);
});

test('a recall before the time drops the message, survives a restart, and is refused after delivery', async (t) => {
  const root = tempRoot(t);
  const clock = { now: START_MS };
  let opened = await open(root, clock);
  const keep = park(opened, 'keep', 2000);
  const drop = park(opened, 'drop', 4000);
  const late = park(opened, 'late', 1000);
  assert.equal(await opened.timer.recall('drop', drop), 'RECALLED');
  assert.equal(await opened.timer.recall('never-parked', drop), 'RECALLED', 'like RocketMQ, an unknown message is recalled silently');
  await runUntil(opened, clock, START_MS + 1500);
  assert.equal(await opened.timer.recall('late', late), 'ALREADY_DELIVERED');
  await close(opened);
  opened = await open(root, clock);
  t.after(() => close(opened));
  await runUntil(opened, clock, START_MS + 6000);
  assert.deepEqual(delivered(opened.store).map((record) => record.body.toString()), ['late', 'keep']);
  assert.ok(keep < drop);
  assert.equal(opened.timer.stats().recalled, 1);
});
