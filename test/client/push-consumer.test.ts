// Proves the push consumer against a real `tidemq start`: clustering members share the queues and together get every message, broadcasting members each get all with offsets in a local file, a failing handler gets the message back with reconsumeTimes + 1, tag and SQL92 filters, consumeFromWhere for new groups, the async iterator, flow control, and offsets committed at drain.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import diagnosticsChannel from 'node:diagnostics_channel';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Admin, DiagnosticsChannelName, MQClientError, Producer, PushConsumer, type MessageQueue, type ReceivedMessage } from '../../src/client/index.js';
import { queueKey } from '../../src/client/message-queue.js';
import { FAST_CLIENT, FAST_CONSUMER, sleep, startTestBroker, uniqueName, waitFor, type Standalone, SUITE_TIMEOUT_MS } from './client-test-support.js';

describe('PushConsumer', { timeout: SUITE_TIMEOUT_MS }, () => {
  let broker: Standalone;
  let producer: Producer;
  let admin: Admin;
  const consumers: PushConsumer[] = [];
  const offsetDir = mkdtempSync(join(tmpdir(), 'tidemq-client-offsets-'));

  function consumer(options: Partial<ConstructorParameters<typeof PushConsumer>[0]> & { group: string }): PushConsumer {
    const created = new PushConsumer({ namesrvAddr: broker.namesrvAddr, ...FAST_CONSUMER, offsetStoreDir: offsetDir, ...options });
    consumers.push(created);
    return created;
  }

  async function createTopic(topic: string): Promise<MessageQueue[]> {
    await producer.send({ topic, body: 'create' });
    return waitFor(`route of ${topic}`, async () => {
      const route = await admin.topicRoute(topic);
      return route === undefined ? undefined : [0, 1, 2, 3].map((queueId) => ({ topic, brokerName: 'broker-a', queueId }));
    });
  }

  async function sendMany(topic: string, count: number, prefix: string, tags?: (index: number) => string): Promise<string[]> {
    const bodies = Array.from({ length: count }, (_, index) => `${prefix}-${index}`);
    await Promise.all(bodies.map((body, index) => producer.send({ topic, body, tags: tags?.(index) })));
    return bodies;
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
    rmSync(offsetDir, { recursive: true, force: true });
  });

  it('shares queues among clustering members and delivers every message', async () => {
    const topic = uniqueName('TopicCluster');
    const group = uniqueName('GroupCluster');
    const queues = await createTopic(topic);
    const received = [new Set<string>(), new Set<string>()];
    const first = consumer({ group, consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET' }).subscribe(topic);
    const second = consumer({ group, consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET' }).subscribe(topic);
    await first.run((message) => void received[0]!.add(message.text()));
    await second.run((message) => void received[1]!.add(message.text()));
    const split = await waitFor('both members to own queues', () => {
      const a = first.assignment().filter((queue) => queue.topic === topic).map(queueKey);
      const b = second.assignment().filter((queue) => queue.topic === topic).map(queueKey);
      return a.length > 0 && b.length > 0 && a.length + b.length === queues.length ? { a, b } : undefined;
    });
    assert.equal(new Set([...split.a, ...split.b]).size, queues.length, 'the members own disjoint queues covering the topic');
    const sent = await sendMany(topic, 200, 'c');
    await waitFor('all messages', () => sent.every((body) => received[0]!.has(body) || received[1]!.has(body)));
    assert.ok(received[0]!.size > 0 && received[1]!.size > 0, 'both members consumed');
  });

  it('gives every broadcasting member every message and keeps offsets in a local file', async () => {
    const topic = uniqueName('TopicBroadcast');
    const group = uniqueName('GroupBroadcast');
    await createTopic(topic);
    const members = [consumer({ group, messageModel: 'BROADCASTING' }), consumer({ group, messageModel: 'BROADCASTING' })];
    const received = members.map(() => new Set<string>());
    for (const [index, member] of members.entries()) {
      member.subscribe(topic);
      await member.run((message) => void received[index]!.add(message.text()));
    }
    for (const member of members) assert.equal(member.assignment().filter((queue) => queue.topic === topic).length, 4);
    await sleep(300);
    const sent = await sendMany(topic, 50, 'b');
    await waitFor('every member to get every message', () => received.every((set) => sent.every((body) => set.has(body))));
    const file = members[0]!.offsetFile!;
    await members[0]!.drain();
    assert.ok(existsSync(file));
    const stored = JSON.parse(readFileSync(file, 'utf8')) as { offsets: { topic: string; offset: number }[] };
    const total = stored.offsets.filter((entry) => entry.topic === topic).reduce((sum, entry) => sum + entry.offset, 0);
    assert.ok(total >= 51, `offsets in the file cover what was consumed (${total})`);
  });

  it('retries a failed message with reconsumeTimes + 1', async () => {
    const topic = uniqueName('TopicRetry');
    const group = uniqueName('GroupRetry');
    await createTopic(topic);
    const attempts: { body: string; reconsumeTimes: number; topic: string }[] = [];
    const member = consumer({ group }).subscribe(topic);
    await member.run((message) => {
      if (message.text() === 'create') return;
      attempts.push({ body: message.text(), reconsumeTimes: message.reconsumeTimes, topic: message.topic });
      if (message.reconsumeTimes === 0) throw new Error('fail the first time');
    });
    await sleep(300);
    await producer.send({ topic, body: 'flaky' });
    await waitFor('the retry', () => attempts.length >= 2, 20_000);
    assert.deepEqual(attempts.slice(0, 2), [
      { body: 'flaky', reconsumeTimes: 0, topic },
      { body: 'flaky', reconsumeTimes: 1, topic },
    ]);
  });

  it('filters by tag', async () => {
    const topic = uniqueName('TopicTags');
    const group = uniqueName('GroupTags');
    await createTopic(topic);
    const received: ReceivedMessage[] = [];
    await consumer({ group }).subscribe(topic, 'TagA || TagC').run((message) => void received.push(message));
    await sleep(300);
    const tags = ['TagA', 'TagB', 'TagC', 'TagD'];
    await sendMany(topic, 40, 't', (index) => tags[index % 4]!);
    await waitFor('tagged messages', () => received.length >= 20);
    await sleep(300);
    assert.equal(received.length, 20);
    assert.ok(received.every((message) => message.tags === 'TagA' || message.tags === 'TagC'));
  });

  it('filters by SQL92 when the broker supports it', async (context) => {
    const topic = uniqueName('TopicSql');
    const group = uniqueName('GroupSql');
    await createTopic(topic);
    const pullErrors: unknown[] = [];
    const onPull = (payload: unknown): void => {
      const event = payload as { group?: string; error?: unknown };
      if (event.group === group && event.error !== undefined) pullErrors.push(event.error);
    };
    diagnosticsChannel.subscribe(DiagnosticsChannelName.PULL, onPull);
    try {
      const received: ReceivedMessage[] = [];
      // A broker without SQL92 support refuses the subscription's CHECK_CLIENT_CONFIG, so run() rejects.
      const refusal = await consumer({ group }).subscribe(topic, 'level > 5', 'SQL92').run((message) => void received.push(message)).then(() => undefined, (error: unknown) => error);
      if (refusal !== undefined) {
        assert.ok(refusal instanceof MQClientError);
        context.skip(`broker does not support SQL92 filtering: ${refusal.message}`);
        return;
      }
      await Promise.all(Array.from({ length: 10 }, (_, index) => producer.send({ topic, body: `s${index}`, properties: { level: String(index) } })));
      const outcome = await waitFor('SQL92 messages or a refusal', () => (received.length >= 4 ? 'received' : pullErrors.length > 0 ? 'refused' : undefined));
      if (outcome === 'refused') {
        const error = pullErrors[0];
        assert.ok(error instanceof MQClientError);
        context.skip(`broker does not support SQL92 filtering: ${error.message}`);
        return;
      }
      await sleep(300);
      assert.deepEqual(received.map((message) => message.text()).sort(), ['s6', 's7', 's8', 's9']);
    } finally {
      diagnosticsChannel.unsubscribe(DiagnosticsChannelName.PULL, onPull);
    }
  });

  it('starts new groups where consumeFromWhere says', async () => {
    const topic = uniqueName('TopicWhere');
    const queue: MessageQueue = { topic, brokerName: 'broker-a', queueId: 0 };
    await producer.send({ topic, body: 'old-0' }, { queue });
    await producer.send({ topic, body: 'old-1' }, { queue });
    await sleep(50);
    const middleMs = Date.now();
    await sleep(50);
    await producer.send({ topic, body: 'mid-0' }, { queue });
    const seen = { last: [] as string[], first: [] as string[], timestamp: [] as string[] };
    await consumer({ group: uniqueName('GroupLast'), consumeFromWhere: 'CONSUME_FROM_LAST_OFFSET', setZeroIfNotFound: false }).subscribe(topic).run((message) => void seen.last.push(message.text()));
    await consumer({ group: uniqueName('GroupFirst'), consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET', setZeroIfNotFound: false }).subscribe(topic).run((message) => void seen.first.push(message.text()));
    await consumer({ group: uniqueName('GroupTime'), consumeFromWhere: 'CONSUME_FROM_TIMESTAMP', consumeTimestamp: middleMs, setZeroIfNotFound: false }).subscribe(topic).run((message) => void seen.timestamp.push(message.text()));
    await producer.send({ topic, body: 'new-0' }, { queue });
    await waitFor('every group to see the new message', () => seen.last.includes('new-0') && seen.first.includes('new-0') && seen.timestamp.includes('new-0'));
    assert.deepEqual(seen.last, ['new-0']);
    assert.deepEqual(seen.first, ['old-0', 'old-1', 'mid-0', 'new-0']);
    assert.deepEqual(seen.timestamp, ['mid-0', 'new-0']);
  });

  it('consumes with for await and stops when the loop is left', async () => {
    const topic = uniqueName('TopicIterate');
    const group = uniqueName('GroupIterate');
    await createTopic(topic);
    const member = consumer({ group, consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET' }).subscribe(topic);
    const sent = await sendMany(topic, 30, 'i');
    const got = new Set<string>();
    for await (const message of member) {
      if (message.text() !== 'create') got.add(message.text());
      if (sent.every((body) => got.has(body))) break;
    }
    assert.equal(got.size, 30);
    assert.equal(member.stopping, true, 'leaving the loop closed the consumer');
    const stats = await Promise.all([0, 1, 2, 3].map((queueId) => admin.consumerOffset(group, { topic, brokerName: 'broker-a', queueId })));
    const maxima = await Promise.all([0, 1, 2, 3].map((queueId) => admin.maxOffset({ topic, brokerName: 'broker-a', queueId })));
    assert.deepEqual(stats, maxima, 'consumed offsets were committed at close');
  });

  it('bounds the messages cached per queue', async () => {
    const topic = uniqueName('TopicFlow');
    const group = uniqueName('GroupFlow');
    const queue: MessageQueue = { topic, brokerName: 'broker-a', queueId: 0 };
    await producer.send({ topic, body: 'create' }, { queue });
    await Promise.all(Array.from({ length: 150 }, (_, index) => producer.send({ topic, body: `f${index}` }, { queue })));
    let pulled = 0;
    let consumed = 0;
    let worst = 0;
    const member = consumer({ group, consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET', pullBatchSize: 10, pullThresholdForQueue: 20, concurrency: 4 });
    const onPull = (payload: unknown): void => {
      const event = payload as { clientId?: string; found?: number };
      if (event.clientId === member.clientId) pulled += event.found ?? 0;
    };
    diagnosticsChannel.subscribe(DiagnosticsChannelName.PULL, onPull);
    try {
      await member.subscribe(topic).run(async () => {
        worst = Math.max(worst, pulled - consumed);
        await sleep(5);
        consumed++;
      });
      await waitFor('all 151 messages', () => consumed >= 151, 30_000);
    } finally {
      diagnosticsChannel.unsubscribe(DiagnosticsChannelName.PULL, onPull);
    }
    assert.ok(worst <= 20 + 10 + 1, `at most threshold + one batch cached, saw ${worst}`);
    await member.drain();
    assert.equal(await admin.consumerOffset(group, queue), 151, 'drain committed the final offset');
  });
});
