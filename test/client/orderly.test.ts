// Proves orderly consumption against a real broker: every sharding key's messages are processed exactly in send order, including a failure retried in place, a consumer restart (offsets committed and locks released at drain) and a second consumer joining (the queue lock is handed over).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Admin, Producer, PushConsumer } from '../../src/client/index.js';
import { FAST_CLIENT, FAST_CONSUMER, sleep, startTestBroker, uniqueName, waitFor, type Standalone, SUITE_TIMEOUT_MS } from './client-test-support.js';

const KEYS = 8;

describe('orderly PushConsumer', { timeout: SUITE_TIMEOUT_MS }, () => {
  let broker: Standalone;
  let producer: Producer;
  let admin: Admin;
  const consumers: PushConsumer[] = [];

  before(async () => {
    broker = await startTestBroker();
    producer = new Producer({ namesrvAddr: broker.namesrvAddr, ...FAST_CLIENT });
    admin = new Admin({ namesrvAddr: broker.namesrvAddr });
  });

  after(async () => {
    await Promise.all(consumers.map((item) => item.close().catch(() => undefined)));
    await producer?.close();
    await admin?.close();
    await broker?.stop();
  });

  it('keeps per-key order across a failure, a restart and a rebalance', async () => {
    const topic = uniqueName('TopicOrderly');
    const group = uniqueName('GroupOrderly');
    const nextSeq = new Array<number>(KEYS).fill(0);
    async function sendRound(perKey: number): Promise<void> {
      // One send at a time per key keeps the send order the queue order.
      await Promise.all(
        Array.from({ length: KEYS }, async (_, key) => {
          for (let index = 0; index < perKey; index++) {
            const seq = nextSeq[key]!++;
            await producer.sendOrderly({ topic, body: `${key}:${seq}` }, `key-${key}`);
          }
        }),
      );
    }
    await producer.send({ topic, body: 'create' }, { queue: { topic, brokerName: 'broker-a', queueId: 0 } });
    await waitFor('route', () => admin.topicRoute(topic));

    const log: { key: number; seq: number; consumer: string; reconsumeTimes: number }[] = [];
    let failedOnce = false;
    const start = async (name: string): Promise<PushConsumer> => {
      const member = new PushConsumer({ namesrvAddr: broker.namesrvAddr, group, orderly: true, consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET', ...FAST_CONSUMER });
      consumers.push(member);
      await member.subscribe(topic).run(async (message) => {
        if (message.text() === 'create') return;
        const [key, seq] = message.text().split(':').map(Number) as [number, number];
        if (key === 3 && seq === 5 && !failedOnce) {
          failedOnce = true;
          throw new Error('fail once, in place');
        }
        log.push({ key, seq, consumer: name, reconsumeTimes: message.reconsumeTimes });
        await sleep(1);
      });
      return member;
    };

    const first = await start('first');
    await sendRound(15);
    await waitFor('the first round', () => log.length >= KEYS * 15, 20_000);
    await first.drain();

    const second = await start('second');
    await sendRound(15);
    await waitFor('the second round', () => log.length >= KEYS * 30, 20_000);

    const sending = sendRound(20);
    const third = await start('third');
    await sending;
    await waitFor('every message', () => log.length >= KEYS * 50, 30_000);
    await waitFor('both members to own queues', () => second.assignment().some((queue) => queue.topic === topic) && third.assignment().some((queue) => queue.topic === topic), 20_000);
    await sendRound(10);
    await waitFor('the last round', () => log.length >= KEYS * 60, 20_000);

    for (let key = 0; key < KEYS; key++) {
      const sequence = log.filter((entry) => entry.key === key).map((entry) => entry.seq);
      assert.deepEqual(sequence, Array.from({ length: 60 }, (_, index) => index), `key ${key} was processed once each, in order`);
    }
    assert.ok(failedOnce);
    assert.equal(log.find((entry) => entry.key === 3 && entry.seq === 5)!.reconsumeTimes, 1, 'the failed message was retried in place');
    const processors = new Set(log.slice(KEYS * 50).map((entry) => entry.consumer));
    assert.deepEqual([...processors].sort(), ['second', 'third'], 'after the rebalance both members consume');
    assert.ok(log.slice(0, KEYS * 15).every((entry) => entry.consumer === 'first'));
  });
});
