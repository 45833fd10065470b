// Proves the writer parks delay-level messages in SCHEDULE_TOPIC_XXXX with the delivery time as tags code (also as recovery recomputes it) and tags others by the Java hash of TAGS.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
