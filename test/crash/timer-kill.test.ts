// Proves timer messages (and 4.x delay-level messages) survive kill -9 of a spawned `tidemq start` while deliveries are under way, twice: after the restarts every message is delivered exactly once and none before its time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { getProperty } from '../../src/protocol/message-properties.js';
import type { DecodedRecord } from '../../src/protocol/message-record.js';
import type { RemotingClient } from '../../src/remoting/remoting-client.js';
import { newClient, pullRequest, recordsOf, send } from '../integration/broker-test-support.js';
import { makeTempHome, startStandalone, waitFor, type TideProcess } from '../support/tidemq-process.js';

const TOPIC = 'TimerKill';
const DELAY_TOPIC = 'DelayLevelKill';
const MESSAGES = 30;
const DELAYED = 10;

async function deliveredSoFar(client: RemotingClient, brokerAddr: string, topic = TOPIC): Promise<DecodedRecord[]> {
  const records: DecodedRecord[] = [];
  for (let offset = 0; ;) {
    const response = await client.invoke(brokerAddr, pullRequest('CG-timer-kill', topic, offset, { subscription: '*', maxMsgNums: 32 }));
    if (response.code !== 0) return records;
    const batch = recordsOf(response);
    if (batch.length === 0) return records;
    records.push(...batch);
    offset = batch[batch.length - 1]!.queueOffset + 1;
  }
}

test('kill -9 during timer deliveries loses nothing and repeats nothing', { timeout: 120_000 }, async (t) => {
  const { home, cleanup } = makeTempHome('tidemq-timer-kill-');
  const client = newClient();
  let tidemq: TideProcess & { brokerAddr: string } = await startStandalone(home);
  t.after(async () => {
    await client.close();
    await tidemq.kill();
    cleanup();
  });

  const sentAtMs = Date.now();
  for (let index = 0; index < MESSAGES; index++) {
    await send(client, tidemq.brokerAddr, TOPIC, `m${index}`, { properties: { UNIQ_KEY: `TIMER-KILL-${index}`, TIMER_DELAY_MS: String(1500 + index * 150) } });
  }
  // Delay levels 1 (1 s) and 2 (5 s): delivered before and after the kills.
  for (let index = 0; index < DELAYED; index++) {
    await send(client, tidemq.brokerAddr, DELAY_TOPIC, `d${index}`, { properties: { UNIQ_KEY: `DELAY-KILL-${index}`, DELAY: String(1 + (index % 2)) } });
  }
  // The auto-created topics' config is written asynchronously; the test is about the messages.
  await waitFor('topics.json to name the topics', () => {
    const topics = readFileSync(join(home, 'store', 'config', 'topics.json'), 'utf8');
    return topics.includes(`"${TOPIC}"`) && topics.includes(`"${DELAY_TOPIC}"`);
  });

  for (const killAfter of [5, 15]) {
    await waitFor(`${killAfter} deliveries`, async () => (await deliveredSoFar(client, tidemq.brokerAddr)).length >= killAfter, 30_000, 20);
    await tidemq.kill();
    tidemq = await startStandalone(home);
  }

  const records = await waitFor('every message after the kills', async () => {
    const found = await deliveredSoFar(client, tidemq.brokerAddr);
    return found.length >= MESSAGES ? found : undefined;
  }, 60_000);
  await new Promise((resolve) => setTimeout(resolve, 1500));
  const final = await deliveredSoFar(client, tidemq.brokerAddr);
  const keys = final.map((record) => getProperty(record.properties, 'UNIQ_KEY'));
  assert.equal(new Set(keys).size, final.length, `no message twice: ${keys.join(',')}`);
  assert.equal(final.length, MESSAGES, 'every message delivered');
  assert.ok(records.length >= MESSAGES);
  for (const record of final) {
    const outMs = Number(getProperty(record.properties, 'TIMER_OUT_MS'));
    assert.ok(outMs >= sentAtMs + 1500, 'parked for at least its delay');
    assert.ok(record.storeTimestamp >= outMs, `${record.body.toString()} delivered ${record.storeTimestamp - outMs} ms after its time`);
  }
  const delayed = await waitFor('every delay-level message', async () => {
    const found = await deliveredSoFar(client, tidemq.brokerAddr, DELAY_TOPIC);
    return found.length >= DELAYED ? found : undefined;
  }, 30_000);
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const delayedKeys = (await deliveredSoFar(client, tidemq.brokerAddr, DELAY_TOPIC)).map((record) => getProperty(record.properties, 'UNIQ_KEY'));
  assert.equal(delayedKeys.length, DELAYED, `each delay-level message once: ${delayedKeys.join(',')}`);
  assert.equal(new Set(delayedKeys).size, DELAYED);
  assert.ok(delayed.every((record) => record.storeTimestamp - record.bornTimestamp >= 900), 'none before its level');
});
