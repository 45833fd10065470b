// Proves that a push consumer checks its SQL92 subscriptions with CHECK_CLIENT_CONFIG (46) before starting: a malformed expression rejects run() and the for-await iterator with SUBSCRIPTION_PARSE_FAILED (response code 23) and leaves nothing registered, a broker without property filtering refuses SQL92 outright, and a valid expression still consumes.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Admin, BrokerError, MQClientError, Producer, PushConsumer, type ReceivedMessage } from '../../src/client/index.js';
import { FAST_CLIENT, FAST_CONSUMER, startTestBroker, uniqueName, waitFor, type Standalone, SUITE_TIMEOUT_MS } from './client-test-support.js';

const MALFORMED = 'level >>> 5 AND';

describe('PushConsumer SQL92 subscription check', { timeout: SUITE_TIMEOUT_MS }, () => {
  let broker: Standalone;
  let producer: Producer;
  let admin: Admin;
  const consumers: PushConsumer[] = [];

  function consumer(group: string, namesrvAddr = broker.namesrvAddr): PushConsumer {
    const created = new PushConsumer({ namesrvAddr, group, ...FAST_CONSUMER });
    consumers.push(created);
    return created;
  }

  async function createTopic(topic: string, target: Producer = producer): Promise<void> {
    await target.send({ topic, body: 'create' });
  }

  function assertParseFailure(error: unknown): void {
    assert.ok(error instanceof BrokerError, `a BrokerError, got ${String(error)}`);
    assert.equal(error.code, 'SUBSCRIPTION_PARSE_FAILED');
    assert.equal(error.responseCode, 23);
    assert.equal(error.address, broker.brokerAddr);
  }

  before(async () => {
    // RocketMQ filters by properties only when asked to; TideMQ does by default. Both get the same setting.
    broker = await startTestBroker({ enablePropertyFilter: 'true' });
    producer = new Producer({ namesrvAddr: broker.namesrvAddr, ...FAST_CLIENT });
    admin = new Admin({ namesrvAddr: broker.namesrvAddr });
  });

  after(async () => {
    await Promise.all(consumers.map((item) => item.close().catch(() => undefined)));
    await producer?.close();
    await admin?.close();
    await broker?.stop();
  });

  it('rejects run() when the broker cannot parse the expression, and registers nothing', async () => {
    const topic = uniqueName('TopicBadSql');
    const group = uniqueName('GroupBadSql');
    await createTopic(topic);
    const refused = consumer(group).subscribe(topic, MALFORMED, 'SQL92');
    let handled = 0;
    const error = await refused.run(() => void handled++).then(() => undefined, (failure: unknown) => failure);
    assertParseFailure(error);
    assert.match((error as Error).message, /level >>> 5/);
    assert.equal(handled, 0);
    const connections = await admin.consumerConnections(group).then(() => undefined, (failure: unknown) => failure);
    assert.ok(connections instanceof MQClientError, 'no member of the group is registered with the broker');
    await refused.close();
  });

  it('makes the for-await iterator throw the same refusal', async () => {
    const topic = uniqueName('TopicBadSqlIter');
    await createTopic(topic);
    const refused = consumer(uniqueName('GroupBadSqlIter')).subscribe(topic, MALFORMED, 'SQL92');
    let error: unknown;
    try {
      for await (const message of refused) assert.fail(`no message expected, got ${message.msgId}`);
    } catch (failure) {
      error = failure;
    }
    assertParseFailure(error);
  });

  it('accepts a valid expression and filters with it', async () => {
    const topic = uniqueName('TopicGoodSql');
    await createTopic(topic);
    const received: ReceivedMessage[] = [];
    await consumer(uniqueName('GroupGoodSql')).subscribe(topic, 'level > 5', 'SQL92').run((message) => void received.push(message));
    await waitFor('the consumer to own queues', () => consumers.at(-1)!.assignment().some((queue) => queue.topic === topic));
    for (let index = 0; index < 10; index++) await producer.send({ topic, body: `s${index}`, properties: { level: String(index) } });
    await waitFor('the matching messages', () => received.length >= 4);
    assert.deepEqual(received.map((message) => message.text()).sort(), ['s6', 's7', 's8', 's9']);
  });

  it('is refused by a broker that does not filter by properties', async () => {
    const plain = await startTestBroker({ enablePropertyFilter: 'false' });
    const plainProducer = new Producer({ namesrvAddr: plain.namesrvAddr, ...FAST_CLIENT });
    try {
      const topic = uniqueName('TopicNoFilter');
      await createTopic(topic, plainProducer);
      const error = await consumer(uniqueName('GroupNoFilter'), plain.namesrvAddr)
        .subscribe(topic, 'level > 5', 'SQL92')
        .run(() => undefined)
        .then(() => undefined, (failure: unknown) => failure);
      assert.ok(error instanceof BrokerError, `a BrokerError, got ${String(error)}`);
      assert.equal(error.responseCode, 1, error.message);
      assert.equal(error.address, plain.brokerAddr);
    } finally {
      await plainProducer.close();
      await plain.stop();
    }
  });
});
