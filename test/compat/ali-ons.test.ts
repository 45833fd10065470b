// Proves that ali-ons@3.12.0, a RocketMQ remoting client nobody here wrote, works unchanged against a real `tidemq start`: keyed and tagged sends, clustering and broadcasting consumption, offset resume after a restart, retry with rising reconsumeTimes into the DLQ, and query by key / view by offsetMsgId.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeOffsetMessageId } from '../../src/protocol/message-id.js';
import { hostAddressToString } from '../../src/protocol/host-address.js';
import { makeTempHome, startStandalone, waitFor, type TideProcess } from '../support/tidemq-process.js';
import {
  ACTION_RETRY,
  closeInnerProducer,
  closeQuietly,
  reportClientErrors,
  createMessage,
  startConsumer,
  startProducer,
  type AliConsumer,
  type AliProducer,
  type AliSendResult,
  type ConsumerSettings,
} from './ali-ons-client.js';
import {
  autoCreateTopicBySend,
  createTopic,
  getMaxOffset,
  getRoute,
  keysOf,
  propertiesOf,
  queryMessagesByKey,
  Received,
  viewMessage,
  waitForAllocation,
  waitForKeys,
} from './compat-helpers.js';

const ONE_SECOND_LEVELS = new Array<string>(18).fill('1s').join(' ');

describe('ali-ons against tidemq start', { timeout: 85_000 }, () => {
  const temp = makeTempHome('tidemq-ali-ons-');
  let tide: (TideProcess & { namesrvAddr: string; brokerAddr: string }) | undefined;
  let producer: AliProducer;
  const clients: Array<AliConsumer | AliProducer> = [];
  const clientErrors: Error[] = [];
  const run = `${process.pid}`;

  async function consumer(settings: Omit<ConsumerSettings, 'nameSrv' | 'errors'>): Promise<AliConsumer> {
    const started = await startConsumer({ ...settings, nameSrv: tide!.namesrvAddr, errors: clientErrors });
    clients.push(started);
    return started;
  }

  async function createTopicAndWait(topic: string): Promise<void> {
    await createTopic(tide!.brokerAddr, topic, 4);
    await waitFor(`the name server to route ${topic}`, async () => {
      const route = await getRoute(tide!.namesrvAddr, topic);
      return route && route.queueDatas.length > 0 ? route : undefined;
    });
  }

  async function sendKeyed(topic: string, keys: string[], tagOf: (index: number) => string): Promise<AliSendResult[]> {
    const results: AliSendResult[] = [];
    for (const [index, key] of keys.entries()) {
      const result = await producer.send(createMessage(topic, tagOf(index), `body of ${key}`, [key]));
      assert.equal(result.sendStatus, 'SEND_OK', `send of ${key}`);
      results.push(result);
    }
    return results;
  }

  before(async () => {
    const confPath = join(temp.home, 'broker.conf');
    // Every delay level is 1 s so retries come back quickly.
    writeFileSync(confPath, `messageDelayLevel=${ONE_SECOND_LEVELS}\n`);
    tide = await startStandalone(temp.home, ['-c', confPath]);
    producer = await startProducer({ nameSrv: tide.namesrvAddr, producerGroup: `PG_compat_${run}`, errors: clientErrors });
    clients.push(producer);
  });

  after(async () => {
    reportClientErrors(clientErrors);
    for (const client of clients.reverse()) await closeQuietly(client);
    await closeInnerProducer().catch(() => undefined);
    if (tide) {
      const stopped = await Promise.race([tide.stop().then(() => true), new Promise<false>((resolveWait) => setTimeout(() => resolveWait(false), 5_000))]);
      if (!stopped) await tide.kill();
    }
    temp.cleanup();
  });

  it('sends keyed, tagged messages to an auto-created topic and answers with offsetMsgIds of this broker', async () => {
    // ali-ons cannot auto-create a topic itself: its route lookup throws on TOPIC_NOT_EXIST (17) instead of
    // falling back to TBW102 as the Java client does. So a first send with defaultTopic=TBW102 creates it.
    const topic = `TopicAuto_${run}`;
    await autoCreateTopicBySend(tide!.brokerAddr, topic);
    const route = await waitFor(`the name server to route the auto-created ${topic}`, async () => {
      const found = await getRoute(tide!.namesrvAddr, topic);
      return found && found.queueDatas.length > 0 ? found : undefined;
    });
    assert.equal(route.queueDatas[0]!.writeQueueNums, 4, 'defaultTopicQueueNums decides the queue count');
    const results = await sendKeyed(topic, ['auto-1', 'auto-2', 'auto-3'], () => 'TagA');
    for (const result of results) {
      const decoded = decodeOffsetMessageId(result.msgId);
      assert.ok(decoded, `msgId ${result.msgId} is not an offsetMsgId`);
      assert.equal(hostAddressToString(decoded.host), tide!.brokerAddr, 'offsetMsgId names the broker that stored it');
      assert.equal(result.messageQueue.topic, topic);
      assert.ok(result.messageQueue.queueId >= 0 && result.messageQueue.queueId < 4);
    }
  });

  let clusteringResults: AliSendResult[] = [];
  const clusteringTopic = `TopicCluster_${run}`;

  it('shares the queues of a topic between two clustering consumers of one group, which together receive everything', async () => {
    await createTopicAndWait(clusteringTopic);
    const group = `CG_cluster_${run}`;
    const first = new Received();
    const second = new Received();
    const consumerA = await consumer({ consumerGroup: group });
    consumerA.subscribe(clusteringTopic, '*', async (message) => { first.add(message); });
    const consumerB = await consumer({ consumerGroup: group });
    consumerB.subscribe(clusteringTopic, '*', async (message) => { second.add(message); });
    await waitForAllocation([consumerA, consumerB], clusteringTopic, [2, 2], 4);

    const keys = Array.from({ length: 40 }, (_, index) => `cluster-${index}`);
    clusteringResults = await sendKeyed(clusteringTopic, keys, (index) => (index % 2 === 0 ? 'TagA' : 'TagB'));
    assert.equal(new Set(clusteringResults.map((result) => result.messageQueue.queueId)).size, 4, 'sends spread over all 4 queues');

    await waitForKeys('both consumers together to receive all 40', keys, [first, second]);
    assert.ok(first.deliveries > 0, 'consumer A received some messages');
    assert.ok(second.deliveries > 0, 'consumer B received some messages');
    for (const [index, key] of keys.entries()) {
      const message = (first.byKey.get(key) ?? second.byKey.get(key))![0]!;
      assert.equal(message.body.toString(), `body of ${key}`);
      assert.equal(message.tags, index % 2 === 0 ? 'TagA' : 'TagB');
      assert.equal(message.topic, clusteringTopic);
    }
  });

  it('finds a message by key (QUERY_MESSAGE) and by its offsetMsgId (VIEW_MESSAGE_BY_ID)', async () => {
    assert.equal(clusteringResults.length, 40, 'the clustering test produced the messages');
    const sent = clusteringResults[7]!;
    const records = await waitFor('the key index to return cluster-7', async () => {
      const found = await queryMessagesByKey(tide!.brokerAddr, clusteringTopic, 'cluster-7');
      return found.length > 0 ? found : undefined;
    });
    assert.equal(records.length, 1);
    assert.equal(records[0]!.body.toString(), 'body of cluster-7');
    assert.equal(propertiesOf(records[0]!).get('TAGS'), 'TagB');

    const decoded = decodeOffsetMessageId(sent.msgId);
    assert.ok(decoded);
    const viewed = await viewMessage(hostAddressToString(decoded.host), decoded.physicalOffset);
    assert.equal(viewed.topic, clusteringTopic);
    assert.deepEqual(keysOf(viewed), ['cluster-7']);
    assert.equal(viewed.body.toString(), 'body of cluster-7');
    // ali-ons hands the answer's extFields through as strings.
    assert.equal(viewed.queueId, Number(sent.messageQueue.queueId));
    assert.equal(viewed.queueOffset, Number(sent.queueOffset));
    assert.equal(viewed.physicalOffset, decoded.physicalOffset);
  });

  it('delivers every message to each of two broadcasting consumers, filtered by a "TagA || TagB" subscription', async () => {
    const topic = `TopicBroadcast_${run}`;
    await createTopicAndWait(topic);
    const group = `CG_broadcast_${run}`;
    const sinks = [new Received(), new Received()];
    const consumers: AliConsumer[] = [];
    for (const sink of sinks) {
      const started = await consumer({ consumerGroup: group, broadcast: true });
      started.subscribe(topic, 'TagA || TagB', async (message) => { sink.add(message); });
      consumers.push(started);
    }
    await waitForAllocation(consumers, topic, [4, 4], 4);

    const keys = Array.from({ length: 20 }, (_, index) => `broadcast-${index}`);
    await sendKeyed(topic, keys, (index) => (index % 2 === 0 ? 'TagA' : 'TagB'));
    await sendKeyed(topic, ['broadcast-filtered'], () => 'TagC');
    const marker = ['broadcast-after-filter'];
    await sendKeyed(topic, marker, () => 'TagA');

    for (const [index, sink] of sinks.entries()) {
      await waitForKeys(`broadcasting consumer ${index} to receive all 21`, [...keys, ...marker], [sink]);
      // ali-ons also drops unmatched tags itself, so this checks the subscription end to end, not the broker's filter alone.
      assert.equal(sink.has('broadcast-filtered'), false, 'a TagC message does not reach a TagA || TagB subscriber');
    }
  });

  it('resumes a restarted clustering consumer from its committed offset: nothing lost, old messages not replayed', async () => {
    const topic = `TopicResume_${run}`;
    await createTopicAndWait(topic);
    const group = `CG_resume_${run}`;
    const before = new Received();
    const firstRun = await consumer({ consumerGroup: group });
    firstRun.subscribe(topic, '*', async (message) => { before.add(message); });
    await waitForAllocation([firstRun], topic, [4], 4);
    const oldKeys = Array.from({ length: 20 }, (_, index) => `resume-old-${index}`);
    await sendKeyed(topic, oldKeys, () => 'TagA');
    await waitForKeys('the first run to consume the old batch', oldKeys, [before]);
    await firstRun.close();
    clients.splice(clients.indexOf(firstRun), 1);

    const newKeys = Array.from({ length: 20 }, (_, index) => `resume-new-${index}`);
    await sendKeyed(topic, newKeys, () => 'TagA');

    // CONSUME_FROM_FIRST_OFFSET: without a committed offset the second run would replay everything.
    const afterRestart = new Received();
    const secondRun = await consumer({ consumerGroup: group, consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET' });
    secondRun.subscribe(topic, '*', async (message) => { afterRestart.add(message); });
    await waitForKeys('the restarted consumer to receive the new batch', newKeys, [afterRestart]);
    const replayed = oldKeys.filter((key) => afterRestart.has(key));
    assert.ok(replayed.length <= oldKeys.length / 4, `at most a few old messages come again (at-least-once), got ${replayed.length}: ${replayed.join(', ')}`);
  });

  it('redelivers a message whose handler asks for a retry with reconsumeTimes + 1, then parks it in %DLQ%group', async () => {
    const topic = `TopicRetry_${run}`;
    await createTopicAndWait(topic);
    const group = `CG_retry_${run}`;
    const maxReconsumeTimes = 2;
    const attempts: Array<{ reconsumeTimes: number; topic: string }> = [];
    const ok = new Received();
    const retrying = await consumer({ consumerGroup: group, maxReconsumeTimes });
    retrying.subscribe(topic, '*', async (message) => {
      if (message.keys === 'retry-me') {
        attempts.push({ reconsumeTimes: message.reconsumeTimes, topic: message.topic });
        // ali-ons honours ACTION_RETRY only for first deliveries: its %RETRY% subscription wrapper drops the
        // handler's return value, so a redelivered message must throw to be retried again.
        if (message.reconsumeTimes === 0) return ACTION_RETRY;
        throw new Error(`failing ${message.keys} on purpose (attempt ${attempts.length})`);
      }
      ok.add(message);
      return undefined;
    });
    await waitForAllocation([retrying], topic, [4], 4);
    await sendKeyed(topic, ['retry-me'], () => 'TagR');
    await sendKeyed(topic, ['no-retry'], () => 'TagR');
    await waitForKeys('the plain message', ['no-retry'], [ok]);

    await waitFor(`${maxReconsumeTimes + 1} deliveries of the failing message`, () => attempts.length >= maxReconsumeTimes + 1 || undefined, 30_000)
      .catch((error: Error) => { throw new Error(`${error.message}; seen ${JSON.stringify(attempts)}`); });
    assert.deepEqual(attempts.map((attempt) => attempt.reconsumeTimes).slice(0, 3), [0, 1, 2], 'each redelivery raises reconsumeTimes by one');
    assert.ok(attempts.every((attempt) => attempt.topic === topic), 'ali-ons restores the original topic from RETRY_TOPIC');

    const dlqTopic = `%DLQ%${group}`;
    const dlqRecords = await waitFor('the message in the DLQ (QUERY_MESSAGE by key)', async () => {
      const found = await queryMessagesByKey(tide!.brokerAddr, dlqTopic, 'retry-me');
      return found.length > 0 ? found : undefined;
    }, 15_000);
    assert.equal(dlqRecords.length, 1, 'exactly one copy reaches the DLQ');
    const dead = dlqRecords[0]!;
    assert.equal(dead.body.toString(), 'body of retry-me');
    assert.equal(dead.reconsumeTimes, maxReconsumeTimes + 1, 'the DLQ copy counts the last failed attempt (Java: stored reconsumeTimes + 1)');
    assert.equal(propertiesOf(dead).get('RETRY_TOPIC'), topic);
    assert.equal(await getMaxOffset(tide!.brokerAddr, dlqTopic, 0), 1, '%DLQ%group has one queue holding the message');
    assert.equal(attempts.length, maxReconsumeTimes + 1, 'no delivery after the message went to the DLQ');
  });

  it('a start-delivery time (ali-ons setStartDeliverTime) is delivered no earlier than asked', async () => {
    const topic = `TopicDeliverAt_${run}`;
    await createTopicAndWait(topic);
    const arrivals = new Map<string, number>();
    const delayed = await consumer({ consumerGroup: `CG_deliver_${run}` });
    delayed.subscribe(topic, '*', async (message) => {
      if (message.keys && !arrivals.has(message.keys)) arrivals.set(message.keys, Date.now());
    });
    await waitForAllocation([delayed], topic, [4], 4);
    const deliverAt = Date.now() + 3000;
    const message = createMessage(topic, 'TagD', 'later', ['deliver-later']);
    (message as unknown as { setStartDeliverTime(ms: number): void }).setStartDeliverTime(deliverAt);
    const result = await producer.send(message);
    assert.equal(result.sendStatus, 'SEND_OK');
    await sendKeyed(topic, ['deliver-now'], () => 'TagD');
    await waitFor('the delayed message', () => arrivals.get('deliver-later'), 20_000);
    assert.ok(arrivals.get('deliver-now')! < deliverAt, 'a plain message is not held back');
    assert.ok(arrivals.get('deliver-later')! >= deliverAt, `delivered ${deliverAt - arrivals.get('deliver-later')!} ms early`);
  });
});
