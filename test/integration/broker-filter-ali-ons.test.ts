// Proves ali-ons@3.12.0, a client nobody here wrote, subscribes with SQL92 (`{ expressionType: 'SQL92', subString }`) against a real `tidemq start` and receives exactly the messages whose user properties match, filtered on the broker.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { closeInnerProducer, closeQuietly, createMessage, startConsumer, startProducer, type AliConsumer, type AliMessage, type AliProducer } from '../compat/ali-ons-client.js';
import { createTopic, getRoute } from '../compat/compat-helpers.js';
import { makeTempHome, startStandalone, waitFor, type TideProcess } from '../support/tidemq-process.js';

const temp = makeTempHome('tidemq-filter-ali-ons-');
let tide: (TideProcess & { namesrvAddr: string; brokerAddr: string }) | undefined;
let producer: AliProducer | undefined;
let consumer: AliConsumer | undefined;
const errors: Error[] = [];

before(async () => {
  tide = await startStandalone(temp.home);
});

after(async () => {
  await closeQuietly(consumer);
  await closeQuietly(producer);
  await closeInnerProducer().catch(() => undefined);
  await tide?.kill();
  temp.cleanup();
});

test('an ali-ons SQL92 subscription receives only the matching messages', { timeout: 60_000 }, async () => {
  const topic = `SqlAliOns_${process.pid}`;
  await createTopic(tide!.brokerAddr, topic, 2);
  await waitFor(`a route for ${topic}`, async () => {
    const route = await getRoute(tide!.namesrvAddr, topic);
    return route && route.queueDatas.length > 0 ? route : undefined;
  });
  const received: AliMessage[] = [];
  consumer = await startConsumer({ nameSrv: tide!.namesrvAddr, consumerGroup: `CG_sql_ali_${process.pid}`, errors });
  // ali-ons takes an object for SQL92; the typed wrapper only declares the string form.
  const sql92 = { expressionType: 'SQL92', subString: "level > 5 AND color IN ('red', 'blue')" } as unknown as string;
  consumer.subscribe(topic, sql92, async (message) => {
    received.push(message);
  });
  const sender = await startProducer({ nameSrv: tide!.namesrvAddr, producerGroup: `PG_sql_ali_${process.pid}`, errors });
  producer = sender;
  const colors = ['red', 'green', 'blue'];
  const expected: string[] = [];
  for (let level = 0; level < 12; level++) {
    const color = colors[level % 3]!;
    const message = createMessage(topic, 'TagSql', `m${level}`);
    message.properties.level = String(level);
    message.properties.color = color;
    const result = await sender.send(message);
    assert.equal(result.sendStatus, 'SEND_OK');
    if (level > 5 && color !== 'green') expected.push(`m${level}`);
  }
  await waitFor('the matching messages', () => (received.length >= expected.length ? true : undefined), 30_000);
  // A little longer, so a wrongly delivered message would show up too.
  await new Promise((resolve) => setTimeout(resolve, 500));
  assert.deepEqual(received.map((message) => message.body.toString()).sort(), [...expected].sort());
  for (const message of received) assert.ok(Number(message.properties.level) > 5);
});
