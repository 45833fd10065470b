// Proves transactional messages end to end on a real broker over TCP: a commit is delivered once (even when repeated), a rollback never, an open half is checked back with a live producer that commits it, a half nobody answers is discarded after transactionCheckMax checks, and a new producer of the group answers for one that died.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { BrokerConfig } from '../../src/broker/broker-config.js';
import { SystemTopic } from '../../src/broker/topic-names.js';
import type { RemotingClient } from '../../src/remoting/remoting-client.js';
import { newClient, sendV2Request, startBroker, tempRoot, waitFor, type RunningBroker } from './broker-test-support.js';
import { bodiesIn, checkingProducer, COMMIT, endTransactionRequest, producerHeartbeat, ROLLBACK, sendHalf, sleep, UNKNOWN } from './broker-transaction-support.js';

/** Short enough for a fast test, long enough that a loaded machine still ends transactions before checks. */
const TRANSACTION_SETTINGS = { transactionTimeOut: 800, transactionCheckInterval: 200, transactionCheckMax: 3 };
const CHECK_WAIT_MS = 20_000;

let running: RunningBroker;
let client: RemotingClient;
let removeRoot: () => void;
const producers: RemotingClient[] = [];

before(async () => {
  const temp = tempRoot();
  removeRoot = temp.remove;
  running = await startBroker(temp.root, TRANSACTION_SETTINGS as Partial<BrokerConfig>);
  client = newClient();
});

after(async () => {
  for (const producer of producers) await producer.close();
  await client?.close();
  await running?.close();
  removeRoot?.();
});

test('commit delivers once: the half is invisible until then, and a repeated commit or a late rollback changes nothing', async () => {
  const half = await sendHalf(client, running.address, 'TxCommit', 'paid-order');
  assert.match(half.offsetMsgId, /^[0-9A-F]{32}$/);
  assert.ok(half.transactionId.length > 0, 'the send answer carries the transactionId');
  assert.deepEqual(await bodiesIn(client, running.address, 'TxCommit'), [], 'consumers do not see a half message');
  assert.deepEqual(await bodiesIn(client, running.address, SystemTopic.TRANS_HALF), ['paid-order'], 'it is parked in the half topic');

  // The Java client ends a transaction oneway; wait for its effect.
  await client.invokeOneway(running.address, endTransactionRequest(half, COMMIT));
  await waitFor(async () => ((await bodiesIn(client, running.address, 'TxCommit')).length > 0 ? true : undefined), 10_000, 'the committed message');
  const again = await client.invoke(running.address, endTransactionRequest(half, COMMIT));
  assert.equal(again.code, 0, again.remark);
  const late = await client.invoke(running.address, endTransactionRequest(half, ROLLBACK, 'PG-tx', true));
  assert.equal(late.code, 0, late.remark);
  assert.deepEqual(await bodiesIn(client, running.address, 'TxCommit'), ['paid-order']);
});

test('rollback is never delivered; ends that do not match the half are refused with RocketMQ remarks', async () => {
  const half = await sendHalf(client, running.address, 'TxRollback', 'cancelled-order');
  const wrongGroup = await client.invoke(running.address, endTransactionRequest(half, COMMIT, 'SomeoneElse'));
  assert.equal(wrongGroup.code, 1);
  assert.equal(wrongGroup.remark, 'The producer group wrong');
  const wrongOffset = await client.invoke(running.address, endTransactionRequest({ ...half, queueOffset: half.queueOffset + 100 }, COMMIT));
  assert.equal(wrongOffset.code, 1);
  assert.equal(wrongOffset.remark, 'The transaction state table offset wrong');

  const rollback = await client.invoke(running.address, endTransactionRequest(half, ROLLBACK));
  assert.equal(rollback.code, 0, rollback.remark);
  const commitAfter = await client.invoke(running.address, endTransactionRequest(half, COMMIT));
  assert.equal(commitAfter.code, 0);
  // Several check passes later, still nothing: a rolled-back half is never checked or delivered.
  await sleep(TRANSACTION_SETTINGS.transactionTimeOut + 3 * TRANSACTION_SETTINGS.transactionCheckInterval);
  assert.deepEqual(await bodiesIn(client, running.address, 'TxRollback'), []);
});

test('transactional batches are refused', async () => {
  const request = sendV2Request('TxBatch', Buffer.alloc(0), { properties: { TRAN_MSG: 'true', PGROUP: 'PG-tx' } });
  request.code = 320;
  request.extFields!.m = 'true';
  const entry = Buffer.alloc(22);
  entry.writeInt32BE(22, 0);
  request.body = entry;
  const response = await client.invoke(running.address, request);
  assert.equal(response.code, 13, response.remark);
  assert.match(response.remark ?? '', /transactional/);
});

test('an open half is checked back with a live producer, which commits it', async () => {
  const { client: producer, checks } = await checkingProducer(running.address, 'PG-check', () => COMMIT);
  producers.push(producer);
  const half = await sendHalf(producer, running.address, 'TxChecked', 'checked-order', 'PG-check');
  await client.invoke(running.address, endTransactionRequest(half, UNKNOWN, 'PG-check'));
  await waitFor(async () => ((await bodiesIn(client, running.address, 'TxChecked')).length > 0 ? true : undefined), CHECK_WAIT_MS, 'the checked transaction to be committed');
  assert.deepEqual(await bodiesIn(client, running.address, 'TxChecked'), ['checked-order']);
  const check = checks.find((seen) => seen.transactionId === half.transactionId);
  assert.ok(check, 'the producer was asked');
  assert.equal(check.tranStateTableOffset, half.queueOffset);
  assert.equal(check.commitLogOffset, half.commitLogOffset);
  assert.equal(check.bodyTopic, 'TxChecked', 'the check body carries the real topic');
  assert.equal(check.checkTimes, 1);
  // A check answered after the commit (the producer answers every check) never delivers twice.
  await sleep(TRANSACTION_SETTINGS.transactionTimeOut + 3 * TRANSACTION_SETTINGS.transactionCheckInterval);
  assert.deepEqual(await bodiesIn(client, running.address, 'TxChecked'), ['checked-order']);
});

test('a half nobody answers is discarded after transactionCheckMax checks and kept in TRANS_CHECK_MAX_TIME_TOPIC', async () => {
  const { client: producer, checks } = await checkingProducer(running.address, 'PG-silent', () => undefined);
  producers.push(producer);
  const half = await sendHalf(producer, running.address, 'TxSilent', 'forgotten-order', 'PG-silent');
  const discarded = await waitFor(async () => {
    const kept = await bodiesIn(client, running.address, SystemTopic.TRANS_CHECK_MAX_TIME);
    return kept.includes('forgotten-order') ? kept : undefined;
  }, CHECK_WAIT_MS, 'the discarded half in TRANS_CHECK_MAX_TIME_TOPIC');
  assert.ok(discarded);
  const mine = checks.filter((seen) => seen.transactionId === half.transactionId);
  assert.deepEqual(mine.map((seen) => seen.checkTimes), [1, 2, 3]);
  await sleep(3 * TRANSACTION_SETTINGS.transactionCheckInterval);
  assert.equal(checks.filter((seen) => seen.transactionId === half.transactionId).length, 3, 'no check after the discard');
  const lateCommit = await producer.invoke(running.address, endTransactionRequest(half, COMMIT, 'PG-silent'));
  assert.equal(lateCommit.code, 0);
  assert.deepEqual(await bodiesIn(client, running.address, 'TxSilent'), [], 'a discarded transaction is not delivered by a late commit');
});

test('when the producer dies mid-transaction, a new producer of the same group answers the check', async () => {
  const dying = newClient();
  await dying.invoke(running.address, producerHeartbeat('127.0.0.1@dying', 'PG-failover'));
  const half = await sendHalf(dying, running.address, 'TxFailover', 'orphan-order', 'PG-failover');
  await dying.close();

  const { client: successor, checks } = await checkingProducer(running.address, 'PG-failover', () => COMMIT);
  producers.push(successor);
  await waitFor(async () => ((await bodiesIn(client, running.address, 'TxFailover')).length > 0 ? true : undefined), CHECK_WAIT_MS, 'the successor to commit the orphan');
  assert.deepEqual(await bodiesIn(client, running.address, 'TxFailover'), ['orphan-order']);
  assert.ok(checks.some((seen) => seen.transactionId === half.transactionId));
});
