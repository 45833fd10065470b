// Proves the writer parks delay-level messages in SCHEDULE_TOPIC_XXXX and timer messages in rmq_sys_wheel_timer with the delivery time as tags code (also as recovery recomputes it), applies RocketMQ's precedence and horizon rules, and tags others by the Java hash of TAGS.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isTideError } from '../common/errors.js';
import { javaStringHashCode } from '../common/java-hash.js';
import { parseHostAddress } from '../protocol/host-address.js';
import { decodeRecord } from '../protocol/message-record.js';
import { getProperty } from '../protocol/message-properties.js';
import { MessageStore } from '../store/message-store.js';
import { MessageWriter, recoveredTagsCode } from './message-writer.js';

test('delay levels park, tags hash, recovery agrees', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'tidemq-writer-'));
  let now = 1_700_000_000_000;
  const store = await MessageStore.open({ storePathRootDir: root, mappedFileSizeCommitLog: 1024 * 1024 }, { wallClockMs: () => now });
  t.after(async () => {
    await store.close();
    rmSync(root, { recursive: true, force: true });
  });
  const levels = [1000, 5000, 10_000];
  const host = parseHostAddress('127.0.0.1', 10911);
  const writer = new MessageWriter(store, levels, () => host, () => now);
  const base = { queueId: 2, flag: 0, sysFlag: 0, bornTimestamp: now, bornHost: host, reconsumeTimes: 0, preparedTransactionOffset: 0, body: Buffer.from('b') };

  const plain = writer.write({ ...base, topic: 'T', properties: new Map([['TAGS', 'TagA']]) });
  assert.equal(plain.topic, 'T');
  assert.equal(store.getConsumeQueueEntry('T', 2, 0)?.tagsCode, javaStringHashCode('TagA'));

  const delayed = writer.write({ ...base, topic: 'T', properties: new Map([['TAGS', 'TagA'], ['DELAY', '2']]) });
  assert.equal(delayed.topic, 'SCHEDULE_TOPIC_XXXX');
  assert.equal(delayed.queueId, 1);
  assert.equal(store.getConsumeQueueEntry('SCHEDULE_TOPIC_XXXX', 1, 0)?.tagsCode, now + 5000);
  const record = decodeRecord(store.readRecord(delayed.result.physicalOffset)!)!;
  assert.equal(getProperty(record.properties, 'REAL_TOPIC'), 'T');
  assert.equal(getProperty(record.properties, 'REAL_QID'), '2');
  const recovered = recoveredTagsCode(record, levels);
  assert.ok(Math.abs(recovered - (now + 5000)) < 1000, `recovery recomputes the delivery time (${recovered - now})`);
  assert.equal(recoveredTagsCode(decodeRecord(store.readRecord(plain.result.physicalOffset)!)!, levels), javaStringHashCode('TagA'));

  now += 1;
  const clamped = writer.write({ ...base, topic: 'T', properties: new Map([['DELAY', '99']]) });
  assert.equal(clamped.queueId, 2, 'levels above the maximum are clamped');
  assert.equal(getProperty(decodeRecord(store.readRecord(clamped.result.physicalOffset)!)!.properties, 'DELAY'), '3');
  assert.throws(() => writer.write({ ...base, topic: 'T', properties: new Map([['DELAY', 'soon']]) }), /DELAY/);
});

test('timer requests park in rmq_sys_wheel_timer; DELAY wins; past times, TIMER_OUT_MS and transactions are not parked', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'tidemq-writer-timer-'));
  let now = 1_700_000_000_000;
  const store = await MessageStore.open({ storePathRootDir: root, mappedFileSizeCommitLog: 1024 * 1024 }, { wallClockMs: () => now });
  t.after(async () => {
    await store.close();
    rmSync(root, { recursive: true, force: true });
  });
  const host = parseHostAddress('127.0.0.1', 10911);
  const writer = new MessageWriter(store, [1000, 5000], () => host, () => now);
  const base = { topic: 'T', queueId: 3, flag: 0, sysFlag: 0, bornTimestamp: now, bornHost: host, reconsumeTimes: 0, preparedTransactionOffset: 0, body: Buffer.from('b') };
  const propertiesOf = (physicalOffset: number) => decodeRecord(store.readRecord(physicalOffset)!)!.properties;

  const parked = writer.write({ ...base, properties: new Map([['UNIQ_KEY', 'U1'], ['TAGS', 'A'], ['TIMER_DELAY_SEC', '10']]) });
  assert.equal(parked.topic, 'rmq_sys_wheel_timer');
  assert.equal(parked.queueId, 0);
  assert.deepEqual(parked.timer, { realTopic: 'T', deliverMs: now + 10_000, uniqueKey: 'U1' });
  assert.equal(store.getConsumeQueueEntry('rmq_sys_wheel_timer', 0, 0)?.tagsCode, now + 10_000, 'the tags code is the delivery time');
  const parkedProperties = propertiesOf(parked.result.physicalOffset);
  assert.equal(getProperty(parkedProperties, 'TIMER_OUT_MS'), String(now + 10_000));
  assert.equal(getProperty(parkedProperties, 'REAL_TOPIC'), 'T');
  assert.equal(getProperty(parkedProperties, 'REAL_QID'), '3');
  assert.equal(recoveredTagsCode(decodeRecord(store.readRecord(parked.result.physicalOffset)!)!, [1000]), now + 10_000, 'recovery rebuilds the same tags code');

  const both = writer.write({ ...base, properties: new Map([['DELAY', '2'], ['TIMER_DELIVER_MS', String(now + 99_000)], ['TIMER_DELAY_MS', '5']]) });
  assert.equal(both.topic, 'SCHEDULE_TOPIC_XXXX', 'a delay level wins');
  assert.equal(both.timer, undefined);
  assert.equal(getProperty(propertiesOf(both.result.physicalOffset), 'TIMER_DELIVER_MS'), undefined, 'the timer request is dropped');
  assert.equal(getProperty(propertiesOf(both.result.physicalOffset), 'TIMER_DELAY_MS'), undefined);

  assert.equal(writer.write({ ...base, properties: new Map([['TIMER_DELIVER_MS', String(now - 1)]]) }).topic, 'T', 'a past time is stored at once');
  assert.equal(writer.write({ ...base, properties: new Map([['TIMER_DELAY_MS', '5000'], ['TIMER_OUT_MS', String(now)]]) }).topic, 'T', 'a message the timer delivers is never parked again');
  assert.equal(writer.write({ ...base, sysFlag: 0x4, properties: new Map([['TIMER_DELAY_MS', '5000']]) }).topic, 'T', 'a prepared half is parked only when committed');

  assert.throws(() => writer.write({ ...base, properties: new Map([['TIMER_DELAY_SEC', 'x']]) }), (error: unknown) => isTideError(error, 'MESSAGE_ILLEGAL') && /TIMER_DELAY_SEC/.test(error.message));
  assert.throws(() => writer.write({ ...base, properties: new Map([['TIMER_DELAY_SEC', String(3_456_001)]]) }), /timerMaxDelaySec=3456000/, 'the default horizon is 40 days');
  writer.setTimerPolicy({ enabled: () => true, maxDelayMs: () => 60_000 });
  assert.throws(() => writer.write({ ...base, properties: new Map([['TIMER_DELAY_SEC', '61']]) }), /timerMaxDelaySec=60/);
  writer.setTimerPolicy({ enabled: () => false, maxDelayMs: () => 60_000 });
  assert.throws(() => writer.write({ ...base, properties: new Map([['TIMER_DELAY_SEC', '1']]) }), (error: unknown) => isTideError(error) && error.responseCode === 1);
  assert.equal(store.getMaxOffsetInQueue('rmq_sys_wheel_timer', 0), 1, 'refused messages store nothing');
});
