// Proves the broker side of ordered consumption: a queue lock is granted to one client at a time, only its owner unlocks it, a crashed owner's queues pass to another consumer only after the lease, the lock owner survives a broker restart, and two orderly consumers driven through LOCK → PULL → commit consume every key in send order across a consumer crash and a broker restart.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequest } from '../../src/protocol/remoting-command.js';
import { RequestCode } from '../../src/protocol/request-code.js';
import type { RemotingClient } from '../../src/remoting/remoting-client.js';
import { newClient, pullRequest, recordsOf, send, startBroker, tempRoot, type RunningBroker } from './broker-test-support.js';

const LEASE_MS = 3000;
const GROUP = 'CG-order';
const TOPIC = 'OrderTopic';
const QUEUES = [0, 1, 2, 3];
const KEYS = Array.from({ length: 8 }, (_, index) => `k${index}`);

let running: RunningBroker;
let root: { root: string; remove(): void };
/** Successful consumptions, in the order they happened, as `key:seq`. */
const consumed: string[] = [];

/** The sharding of a partitioned-order producer: the same key always goes to the same queue. */
function queueOfKey(key: string): number {
  return Number(key.slice(1)) % QUEUES.length;
}

async function sendSequence(client: RemotingClient, from: number, to: number): Promise<void> {
  for (let seq = from; seq < to; seq++) {
    for (const key of KEYS) await send(client, running.address, TOPIC, `${key}:${seq}`, { queueId: queueOfKey(key), keys: key });
  }
}

/** An orderly consumer reduced to its broker calls, as RocketMQ's orderly push consumer makes them. */
class OrderlyConsumer {
  readonly client = newClient();

  constructor(readonly clientId: string) {}

  private lockBody(queueIds: readonly number[]): Buffer {
    return Buffer.from(JSON.stringify({ consumerGroup: GROUP, clientId: this.clientId, onlyThisBroker: true, mqSet: queueIds.map((queueId) => ({ topic: TOPIC, brokerName: running.config.brokerName, queueId })) }));
  }

  /** LOCK_BATCH_MQ: the queue ids now held. */
  async lock(queueIds: readonly number[] = QUEUES): Promise<number[]> {
    const answer = await this.client.invoke(running.address, createRequest(RequestCode.LOCK_BATCH_MQ, undefined, this.lockBody(queueIds)));
    assert.equal(answer.code, 0, answer.remark);
    const body = JSON.parse(answer.body!.toString('utf8')) as { lockOKMQSet: Array<{ queueId: number }> };
    return body.lockOKMQSet.map((queue) => queue.queueId).sort();
  }

  async unlock(queueIds: readonly number[] = QUEUES): Promise<void> {
    const answer = await this.client.invoke(running.address, createRequest(RequestCode.UNLOCK_BATCH_MQ, undefined, this.lockBody(queueIds)));
    assert.equal(answer.code, 0, answer.remark);
  }

  async committedOffset(queueId: number): Promise<number> {
    const answer = await this.client.invoke(running.address, createRequest(RequestCode.QUERY_CONSUMER_OFFSET, { consumerGroup: GROUP, topic: TOPIC, queueId: String(queueId) }));
    if (answer.code === 22) return 0;
    assert.equal(answer.code, 0, answer.remark);
    return Number(answer.extFields!.offset);
  }

  async commit(queueId: number, offset: number): Promise<void> {
    const answer = await this.client.invoke(running.address, createRequest(RequestCode.UPDATE_CONSUMER_OFFSET, { consumerGroup: GROUP, topic: TOPIC, queueId: String(queueId), commitOffset: String(offset) }));
    assert.equal(answer.code, 0, answer.remark);
  }

  /**
   * Consumes up to `limit` messages of each locked queue from the committed offset, committing after
   * each one, as an orderly consumer does; returns how many it consumed. Stops at queues it does not hold.
   */
  async consume(queueIds: readonly number[], limit: number): Promise<number> {
    let count = 0;
    for (const queueId of queueIds) {
      const offset = await this.committedOffset(queueId);
      const answer = await this.client.invoke(running.address, pullRequest(GROUP, TOPIC, offset, { queueId, subscription: '*', maxMsgNums: 32 }));
      if (answer.code !== 0) continue;
      for (const record of recordsOf(answer).slice(0, limit)) {
        consumed.push(record.body.toString());
        await this.commit(queueId, record.queueOffset + 1);
        count++;
      }
    }
    return count;
  }

  /** The messages a crashed consumer had pulled but not consumed (they must come back to the next owner). */
  async pullWithoutConsuming(queueId: number): Promise<number> {
    const answer = await this.client.invoke(running.address, pullRequest(GROUP, TOPIC, await this.committedOffset(queueId), { queueId, subscription: '*' }));
    return answer.code === 0 ? recordsOf(answer).length : 0;
  }

  close(): Promise<void> {
    return this.client.close();
  }
}

const consumers: OrderlyConsumer[] = [];
function consumer(clientId: string): OrderlyConsumer {
  const created = new OrderlyConsumer(clientId);
  consumers.push(created);
  return created;
}

before(async () => {
  root = tempRoot();
  running = await startBroker(root.root, { rebalanceLockMaxLiveTime: LEASE_MS });
});

after(async () => {
  for (const each of consumers) await each.close().catch(() => undefined);
  await running?.close();
  root?.remove();
});

test('one owner per queue, even when two clients ask at the same moment; only the owner unlocks', async () => {
  const a = consumer('10.0.0.1@A');
  const b = consumer('10.0.0.2@B');
  const [byA, byB] = await Promise.all([a.lock(), b.lock()]);
  assert.deepEqual([...byA, ...byB].sort(), QUEUES, 'every queue went to exactly one of them');
  assert.equal(byA.filter((queueId) => byB.includes(queueId)).length, 0);
  await a.unlock(byB);
  assert.deepEqual(await a.lock(byB), [], 'an unlock by a client that does not own the queue is ignored');
  await b.unlock(byB);
  assert.deepEqual(await a.lock(), QUEUES, 'released by its owner, the queue is free');
  assert.deepEqual(await b.lock(), []);
  assert.deepEqual(await a.lock(), QUEUES, 'the owner renews');
});

test('ordered consumption survives a consumer crash (lease) and a broker restart (persisted owner)', async () => {
  const producer = newClient();
  const [a, b] = [consumers[0]!, consumers[1]!];
  try {
    await sendSequence(producer, 0, 10);

    // A holds every queue, consumes 7 messages of each, has more pulled in memory, renews its lock as
    // its client does periodically, and crashes: no unlock.
    assert.deepEqual(await a.lock(), QUEUES);
    assert.equal(await a.consume(QUEUES, 7), 28);
    for (const queueId of QUEUES) assert.ok((await a.pullWithoutConsuming(queueId)) > 0);
    const lockSentAtMs = Date.now();
    assert.deepEqual(await a.lock(), QUEUES);
    await a.close();

    // B is refused until the crashed owner's lease is over, and never before.
    const attempts: Array<{ answeredAtMs: number; locked: number[] }> = [];
    for (;;) {
      const locked = await b.lock();
      attempts.push({ answeredAtMs: Date.now(), locked });
      if (locked.length === QUEUES.length) break;
      assert.deepEqual(locked, [], 'the queues pass together, when the lease runs out');
      assert.ok(attempts.length < 200, 'the lease never ran out');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.deepEqual(attempts[0]!.locked, [], 'right after the crash the queues are still locked');
    assert.ok(attempts.at(-1)!.answeredAtMs >= lockSentAtMs + LEASE_MS, 'granted only after the lease of the crashed owner');

    // B resumes at the committed offsets: the messages A pulled but never consumed come next.
    assert.equal(await b.consume(QUEUES, 6), 24);

    // The broker restarts; the lock owner is kept, so a newcomer cannot take B's queues meanwhile.
    await running.close();
    running = await startBroker(root.root, { rebalanceLockMaxLiveTime: LEASE_MS });
    const c = consumer('10.0.0.3@C');
    assert.deepEqual(await c.lock(), [], 'B still owns the queues after the restart');
    await c.unlock();
    assert.deepEqual(await b.lock(), QUEUES, 'B renews at once');

    await sendSequence(producer, 10, 15);
    let total = 0;
    for (let round = 0; round < 10; round++) {
      assert.deepEqual(await b.lock(), QUEUES);
      const count = await b.consume(QUEUES, 32);
      total += count;
      if (count === 0) break;
    }
    assert.equal(total, KEYS.length * 15 - 28 - 24);
  } finally {
    await producer.close();
  }

  // Every key was consumed completely, in send order, never a message before an earlier one of its key.
  const byKey = new Map<string, number[]>();
  for (const entry of consumed) {
    const [key, seq] = entry.split(':');
    byKey.set(key!, [...(byKey.get(key!) ?? []), Number(seq)]);
  }
  assert.deepEqual([...byKey.keys()].sort(), [...KEYS].sort());
  for (const [key, seqs] of byKey) assert.deepEqual(seqs, Array.from({ length: 15 }, (_, index) => index), `order of ${key}`);
});
