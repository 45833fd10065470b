// Proves every transaction state survives a broker restart (in-process close and reopen on the same store): committed stays delivered once, rolled back stays undelivered, an open half is checked by the new broker and committed, and a half's check count carries over to its discard.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { BrokerConfig } from '../../src/broker/broker-config.js';
import { SystemTopic } from '../../src/broker/topic-names.js';
import { newClient, startBroker, tempRoot, waitFor } from './broker-test-support.js';
import { bodiesIn, checkingProducer, COMMIT, endTransactionRequest, ROLLBACK, sendHalf, type CheckSeen } from './broker-transaction-support.js';

const SETTINGS = { transactionTimeOut: 800, transactionCheckInterval: 200, transactionCheckMax: 2 } as Partial<BrokerConfig>;
const WAIT_MS = 20_000;

test('committed, rolled-back, open and half-checked transactions keep their state across a restart', async (t) => {
  const temp = tempRoot();
  const client = newClient();
  let broker = await startBroker(temp.root, SETTINGS);
  t.after(async () => {
    await client.close();
    await broker.close();
    temp.remove();
  });

  const committed = await sendHalf(client, broker.address, 'TxRestart', 'committed', 'PG-restart');
  const rolledBack = await sendHalf(client, broker.address, 'TxRestart', 'rolled-back', 'PG-restart');
  const open = await sendHalf(client, broker.address, 'TxRestart', 'open', 'PG-restart');
  assert.equal((await client.invoke(broker.address, endTransactionRequest(committed, COMMIT, 'PG-restart'))).code, 0);
  assert.equal((await client.invoke(broker.address, endTransactionRequest(rolledBack, ROLLBACK, 'PG-restart'))).code, 0);
  // A half checked once (nobody answers) before the restart: with transactionCheckMax=2 it gets one more check after.
  // The producer goes away as soon as it is asked, so exactly one check is counted before the restart.
  let closeSilent = (): void => {};
  const silent = await checkingProducer(broker.address, 'PG-silent-restart', () => {
    closeSilent();
    return undefined;
  });
  closeSilent = () => void silent.client.close();
  const halfChecked = await sendHalf(client, broker.address, 'TxRestartSilent', 'half-checked', 'PG-silent-restart');
  await waitFor(async () => (silent.checks.some((seen) => seen.transactionId === halfChecked.transactionId) ? true : undefined), WAIT_MS, 'the first check');
  assert.deepEqual(await bodiesIn(client, broker.address, 'TxRestart'), ['committed']);
  await broker.close();

  broker = await startBroker(temp.root, SETTINGS);
  assert.deepEqual(await bodiesIn(client, broker.address, 'TxRestart'), ['committed'], 'nothing delivered or lost by the restart');
  // Re-ending a finished transaction after the restart is still a no-op.
  assert.equal((await client.invoke(broker.address, endTransactionRequest(committed, COMMIT, 'PG-restart'))).code, 0);
  assert.equal((await client.invoke(broker.address, endTransactionRequest(rolledBack, COMMIT, 'PG-restart'))).code, 0);

  const seenAfter: CheckSeen[] = [];
  const producer = await checkingProducer(broker.address, 'PG-restart', (check) => {
    seenAfter.push(check);
    return check.transactionId === open.transactionId ? COMMIT : undefined;
  });
  const silentAgain = await checkingProducer(broker.address, 'PG-silent-restart', () => undefined);
  t.after(() => Promise.all([producer.client.close(), silentAgain.client.close()]));
  await waitFor(async () => ((await bodiesIn(client, broker.address, 'TxRestart')).includes('open') ? true : undefined), WAIT_MS, 'the open transaction to be checked and committed');
  assert.deepEqual(await bodiesIn(client, broker.address, 'TxRestart'), ['committed', 'open']);
  assert.ok(seenAfter.every((seen) => seen.transactionId === open.transactionId), 'only the open half is checked');

  await waitFor(async () => ((await bodiesIn(client, broker.address, SystemTopic.TRANS_CHECK_MAX_TIME)).includes('half-checked') ? true : undefined), WAIT_MS, 'the half-checked transaction to be discarded');
  const checksAfter = silentAgain.checks.filter((seen) => seen.transactionId === halfChecked.transactionId);
  assert.deepEqual(checksAfter.map((seen) => seen.checkTimes), [2], 'the check count survived the restart');
});
