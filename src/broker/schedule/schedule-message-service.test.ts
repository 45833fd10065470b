// Proves delay-level deliveries are exactly once across a simulated kill -9: deliveries the saved progress does not cover are found in the real topic and not repeated, and later messages still go out.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseHostAddress } from '../../protocol/host-address.js';
import { decodeRecord } from '../../protocol/message-record.js';
import { MessageStore } from '../../store/message-store.js';
import { MessageWriter, recoveredTagsCode } from '../message-writer.js';
import { ScheduleMessageService } from './schedule-message-service.js';

const HOST = parseHostAddress('127.0.0.1', 10911);
const LEVELS = [1000, 2000];

test('a kill after deliveries the progress file does not know repeats none of them', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'tidemq-schedule-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const clock = { now: 1_700_000_000_000 };
  const open = async () => {
    const store = await MessageStore.open(
      { storePathRootDir: root, mappedFileSizeCommitLog: 1024 * 1024, flushDiskType: 'SYNC_FLUSH', maxHashSlotNum: 1000, maxIndexNum: 10_000 },
      { wallClockMs: () => clock.now, tagsCodeOf: (record) => recoveredTagsCode(record, LEVELS) },
    );
    const writer = new MessageWriter(store, LEVELS, () => HOST, () => clock.now);
    const service = new ScheduleMessageService({ store, writer, storePathRootDir: root, tickIntervalMs: 3_600_000, persistIntervalMs: 3_600_000, now: () => clock.now });
    return { store, writer, service };
  };
  const park = (writer: MessageWriter, key: string, level: number) => writer.write({
    topic: 'T', queueId: 0, flag: 0, sysFlag: 0, bornTimestamp: clock.now, bornHost: HOST, reconsumeTimes: 0, preparedTransactionOffset: 0,
    body: Buffer.from(key), properties: new Map([['UNIQ_KEY', key], ['DELAY', String(level)]]),
  });
  const bodies = (store: MessageStore) => store.getMessages('T', 0, 0, 100, 1 << 24).records.map((bytes) => decodeRecord(bytes)!.body.toString());

  let opened = await open();
  for (const key of ['a', 'b', 'c']) park(opened.writer, key, 1);
  park(opened.writer, 'later', 2);
  await opened.service.persist();
  clock.now += 1100;
  opened.service.tick();
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(bodies(opened.store), ['a', 'b', 'c']);
  await opened.store.simulateCrash();

  opened = await open();
  t.after(async () => {
    await opened.service.close();
    await opened.store.close();
  });
  assert.deepEqual(opened.service.offsetTable().get(1) ?? 0, 0, 'the saved progress predates the deliveries');
  park(opened.writer, 'd', 1);
  clock.now += 1100;
  opened.service.tick();
  assert.deepEqual(bodies(opened.store), ['a', 'b', 'c', 'd', 'later'], 'a, b and c are not delivered again');
  await opened.service.persist();
  assert.equal(opened.service.offsetTable().get(1), 4);
});
