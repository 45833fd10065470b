// Proves the pull consumer against a real broker: assigned queues are polled in offset order, seek rewinds and skips ahead, commit stores the consumed offsets on the broker, and subscribe shares a topic's queues among the group's members.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Admin, MQClientError, Producer, PullConsumer, type MessageQueue, type ReceivedMessage } from '../../src/client/index.js';
import { queueKey } from '../../src/client/message-queue.js';
import { FAST_CLIENT, startTestBroker, uniqueName, waitFor, type Standalone, SUITE_TIMEOUT_MS } from './client-test-support.js';

describe('PullConsumer', { timeout: SUITE_TIMEOUT_MS }, () => {
  let broker: Standalone;
  let producer: Producer;
  let admin: Admin;
  const consumers: PullConsumer[] = [];

  function pullConsumer(group: string, extra: Partial<ConstructorParameters<typeof PullConsumer>[0]> = {}): PullConsumer {
    const created = new PullConsumer({ namesrvAddr: broker.namesrvAddr, group, consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET', pullSuspendMs: 500, rebalanceIntervalMs: 500, ...FAST_CLIENT, ...extra });
    consumers.push(created);
    return created;
  }

  async function pollUntil(consumer: PullConsumer, count: number): Promise<ReceivedMessage[]> {
    const messages: ReceivedMessage[] = [];
    const deadline = Date.now() + 15_000;
    while (messages.length < count && Date.now() < deadline) messages.push(...(await consumer.poll({ timeoutMs: 300 })));
    return messages;
  }

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

  it('assigns, polls, seeks and commits', async () => {
    const topic = uniqueName('TopicPull');
    const group = uniqueName('GroupPull');
    const queues: MessageQueue[] = [0, 1].map((queueId) => ({ topic, brokerName: 'broker-a', queueId }));
    for (let index = 0; index < 20; index++) await producer.send({ topic, body: `q${index % 2}-${Math.floor(index / 2)}` }, { queue: queues[index % 2]! });
    const consumer = pullConsumer(group, { autoCommit: false });
    assert.deepEqual((await consumer.fetchQueues(topic)).length, 4);
    await consumer.assign(queues);
    const first = await pollUntil(consumer, 20);
    assert.equal(first.length, 20);
    for (const queue of queues) {
      const offsets = first.filter((message) => message.queue.queueId === queue.queueId).map((message) => message.queueOffset);
      assert.deepEqual(offsets, Array.from({ length: 10 }, (_, index) => index), `queue ${queue.queueId} in offset order`);
    }
    assert.equal(await consumer.committed(queues[0]!), -1, 'nothing committed yet');
    await consumer.commit();
    assert.equal(await admin.consumerOffset(group, queues[0]!), 10);
    assert.equal(await admin.consumerOffset(group, queues[1]!), 10);

    await consumer.seek(queues[0]!, 4);
    const again = await pollUntil(consumer, 6);
    assert.deepEqual(again.map((message) => message.text()), ['q0-4', 'q0-5', 'q0-6', 'q0-7', 'q0-8', 'q0-9']);
    await consumer.seekToBeginning(queues[1]!);
    assert.equal((await pollUntil(consumer, 10))[0]!.text(), 'q1-0');
    await assert.rejects(consumer.seek(queues[0]!, 1000), (error: unknown) => error instanceof MQClientError && error.code === 'ILLEGAL_ARGUMENT');
    await consumer.commit(new Map([[queues[0]!, 7]]));
    assert.equal(await admin.consumerOffset(group, queues[0]!), 7);

    await producer.send({ topic, body: 'late' }, { queue: queues[0]! });
    await consumer.seekToEnd(queues[0]!);
    assert.deepEqual(await consumer.poll({ timeoutMs: 300 }), [], 'seekToEnd skips everything stored');
  });

  it('shares a subscribed topic among the group and commits at close', async () => {
    const topic = uniqueName('TopicPullSub');
    const group = uniqueName('GroupPullSub');
    await producer.send({ topic, body: 'create' });
    await waitFor('route', () => admin.topicRoute(topic));
    const members = [pullConsumer(group).subscribe(topic), pullConsumer(group).subscribe(topic)];
    await Promise.all(members.map((member) => member.start()));
    await waitFor('a split of the queues', () => {
      const owned = members.map((member) => member.assignment().map(queueKey));
      return owned.every((list) => list.length === 2) && new Set(owned.flat()).size === 4;
    });
    await Promise.all(Array.from({ length: 40 }, (_, index) => producer.send({ topic, body: `s${index}` })));
    const received = new Set<string>();
    const deadline = Date.now() + 15_000;
    while (received.size < 41 && Date.now() < deadline) {
      for (const member of members) for (const message of await member.poll({ timeoutMs: 200 })) received.add(message.text());
    }
    assert.equal(received.size, 41);
    await Promise.all(members.map((member) => member.close()));
    const stats = await Promise.all([0, 1, 2, 3].map((queueId) => admin.consumerOffset(group, { topic, brokerName: 'broker-a', queueId })));
    const maxima = await Promise.all([0, 1, 2, 3].map((queueId) => admin.maxOffset({ topic, brokerName: 'broker-a', queueId })));
    assert.deepEqual(stats, maxima, 'autoCommit committed at close');
  });
});
