// Proves the admin client against a real broker: cluster info, topic create/update/list/stats/delete, group create/list/delete, consume stats and lag, offset reset by timestamp (followed by an online consumer), and message lookup by offset id, by unique key, by key and by queue offset. Operations the broker answers REQUEST_CODE_NOT_SUPPORTED are skipped with that reason.
import { after, before, describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { Admin, MQClientError, Producer, PullConsumer, PushConsumer, type MessageQueue } from '../../src/client/index.js';
import { FAST_CLIENT, FAST_CONSUMER, sleep, startTestBroker, uniqueName, waitFor, type Standalone, SUITE_TIMEOUT_MS } from './client-test-support.js';

/** Runs `body`; a REQUEST_CODE_NOT_SUPPORTED answer skips the test instead of failing it. */
async function unlessUnsupported(context: TestContext, body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (error) {
    if (error instanceof MQClientError && error.code === 'REQUEST_CODE_NOT_SUPPORTED') {
      context.skip(`broker does not support it: ${error.message}`);
      return;
    }
    throw error;
  }
}

describe('Admin', { timeout: SUITE_TIMEOUT_MS }, () => {
  let broker: Standalone;
  let producer: Producer;
  let admin: Admin;

  before(async () => {
    broker = await startTestBroker();
    producer = new Producer({ namesrvAddr: broker.namesrvAddr, ...FAST_CLIENT });
    admin = new Admin({ namesrvAddr: broker.namesrvAddr });
  });

  after(async () => {
    await producer?.close();
    await admin?.close();
    await broker?.stop();
  });

  it('reads cluster info', async () => {
    const info = await admin.clusterInfo();
    assert.deepEqual(info.clusterAddrTable.DefaultCluster, ['broker-a']);
    assert.equal(info.brokerAddrTable['broker-a']!.brokerAddrs['0'], broker.brokerAddr);
    const runtime = await admin.brokerRuntimeInfo(broker.brokerAddr).catch((error: unknown) => error);
    if (!(runtime instanceof MQClientError)) assert.equal(typeof runtime, 'object');
  });

  it('creates, updates, lists, measures and deletes topics', (context) =>
    unlessUnsupported(context, async () => {
      const topic = uniqueName('TopicAdmin');
      await admin.createTopic(topic, { readQueueNums: 6, writeQueueNums: 6 });
      const route = await waitFor('route of the new topic', () => admin.topicRoute(topic));
      assert.equal(route.queueDatas[0]!.writeQueueNums, 6);
      assert.ok((await admin.listTopics()).includes(topic));
      await producer.send({ topic, body: 'one' }, { queue: { topic, brokerName: 'broker-a', queueId: 2 } });
      const stats = await admin.topicStats(topic);
      assert.equal(stats.length, 6);
      assert.equal(stats.find((item) => item.queue.queueId === 2)!.maxOffset, 1);
      await admin.updateTopic(topic, { readQueueNums: 8, writeQueueNums: 8 });
      await waitFor('the updated route', async () => (await admin.topicRoute(topic))?.queueDatas[0]?.writeQueueNums === 8);
      await admin.deleteTopic(topic);
      await waitFor('the route to go', async () => (await admin.topicRoute(topic)) === undefined);
    }));

  it('creates, lists and deletes groups', (context) =>
    unlessUnsupported(context, async () => {
      const group = uniqueName('GroupAdmin');
      await admin.createGroup(group, { retryMaxTimes: 3 });
      const groups = await admin.listGroups();
      assert.equal(groups.get(group)?.retryMaxTimes, 3);
      await admin.deleteGroup(group);
      assert.equal((await admin.listGroups()).has(group), false);
    }));

  it('reports consume stats and lag, and resets offsets by time for an online consumer', (context) =>
    unlessUnsupported(context, async () => {
      const topic = uniqueName('TopicLag');
      const group = uniqueName('GroupLag');
      const queue: MessageQueue = { topic, brokerName: 'broker-a', queueId: 0 };
      for (let index = 0; index < 10; index++) await producer.send({ topic, body: `l${index}` }, { queue });
      const reader = new PullConsumer({ namesrvAddr: broker.namesrvAddr, group, consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET', autoCommit: false, pullBatchSize: 4, ...FAST_CLIENT });
      await reader.assign([queue]);
      const polled = await reader.poll({ maxMessages: 4 });
      assert.equal(polled.length, 4);
      await reader.commit();
      await reader.close();
      const stats = await admin.consumeStats(group, topic);
      const row = stats.queues.find((item) => item.queue.queueId === 0)!;
      assert.equal(row.brokerOffset, 10);
      assert.equal(row.consumerOffset, 4);
      assert.equal(row.lag, 6);
      assert.equal(stats.totalLag, 6);

      const received: string[] = [];
      const live = new PushConsumer({ namesrvAddr: broker.namesrvAddr, group, ...FAST_CONSUMER });
      try {
        await live.subscribe(topic).run((message) => void received.push(message.text()));
        await waitFor('the online consumer to catch up', () => received.length >= 6);
        await sleep(600);
        const reset = await admin.resetOffsetByTimestamp(group, topic, 0);
        assert.equal(reset.get([...reset.keys()].find((item) => item.queueId === 0)!), 0);
        await waitFor('redelivery after the reset', () => received.filter((text) => text === 'l0').length >= 1, 15_000);
        assert.ok(received.includes('l0'), 'the consumer followed the reset to offset 0');
      } finally {
        await live.close();
      }
    }));

  it('finds messages by offset id, unique key, key and queue offset', async () => {
    const topic = uniqueName('TopicLookup');
    const queue: MessageQueue = { topic, brokerName: 'broker-a', queueId: 1 };
    await producer.send({ topic, body: 'first' }, { queue });
    const sent = await producer.send({ topic, body: 'needle', keys: ['order-42', 'customer-7'], tags: 'T' }, { queue });
    const viewed = await admin.viewMessage(sent.offsetMsgId);
    assert.equal(viewed.text(), 'needle');
    const byId = await waitFor('the index entry', () => admin.queryMessageById(topic, sent.msgId));
    assert.equal(byId.offsetMsgId, sent.offsetMsgId);
    const byKey = await admin.queryMessagesByKey(topic, 'customer-7');
    assert.deepEqual(byKey.map((message) => message.text()), ['needle']);
    assert.deepEqual(await admin.queryMessagesByKey(topic, 'no-such-key'), []);
    const atOffset = await admin.messageAtOffset(queue, sent.queueOffset);
    assert.equal(atOffset?.text(), 'needle');
    assert.equal(await admin.messageAtOffset(queue, 99), undefined);
    assert.equal(await admin.consumerOffset(uniqueName('NoGroup'), queue), -1);
    assert.equal(await admin.maxOffset(queue), 2);
    assert.equal(await admin.minOffset(queue), 0);
  });
});
