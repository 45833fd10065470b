// Proves transaction state survives kill -9 of a spawned `tidemq start`: after the restart the committed message is delivered once, the rolled-back one never, the open half can still be committed, and repeating a finished END_TRANSACTION stores nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempHome, startStandalone, waitFor } from '../support/tidemq-process.js';
import { newClient } from './broker-test-support.js';
import { bodiesIn, COMMIT, endTransactionRequest, ROLLBACK, sendHalf } from './broker-transaction-support.js';

test('kill -9 keeps committed, rolled-back and open transactions in their state', { timeout: 120_000 }, async (t) => {
  const { home, cleanup } = makeTempHome('tidemq-tx-kill-');
  const client = newClient();
  let tidemq = await startStandalone(home);
  t.after(async () => {
    await client.close();
    await tidemq.kill();
    cleanup();
  });

  const committed = await sendHalf(client, tidemq.brokerAddr, 'TxKill', 'committed', 'PG-kill');
  const rolledBack = await sendHalf(client, tidemq.brokerAddr, 'TxKill', 'rolled-back', 'PG-kill');
  const open = await sendHalf(client, tidemq.brokerAddr, 'TxKill', 'open', 'PG-kill');
  assert.equal((await client.invoke(tidemq.brokerAddr, endTransactionRequest(committed, COMMIT, 'PG-kill'))).code, 0);
  assert.equal((await client.invoke(tidemq.brokerAddr, endTransactionRequest(rolledBack, ROLLBACK, 'PG-kill'))).code, 0);
  assert.deepEqual(await bodiesIn(client, tidemq.brokerAddr, 'TxKill'), ['committed']);
  // The auto-created topic's config is written asynchronously; killing before it lands would lose the
  // topic itself (not its messages), which is not what this test is about.
  await waitFor('topics.json to name the topic', () => readFileSync(join(home, 'store', 'config', 'topics.json'), 'utf8').includes('"TxKill"'));
  await tidemq.kill();

  tidemq = await startStandalone(home);
  const after = await waitFor('the restarted broker to serve the topic', async () => {
    const bodies = await bodiesIn(client, tidemq.brokerAddr, 'TxKill');
    return bodies.length > 0 ? bodies : undefined;
  });
  assert.deepEqual(after, ['committed'], 'delivered once, rollback stays invisible');

  for (const finished of [committed, rolledBack]) {
    const again = await client.invoke(tidemq.brokerAddr, endTransactionRequest(finished, COMMIT, 'PG-kill'));
    assert.equal(again.code, 0, again.remark);
  }
  const commitOpen = await client.invoke(tidemq.brokerAddr, endTransactionRequest(open, COMMIT, 'PG-kill'));
  assert.equal(commitOpen.code, 0, commitOpen.remark);
  assert.deepEqual(await bodiesIn(client, tidemq.brokerAddr, 'TxKill'), ['committed', 'open']);
});
