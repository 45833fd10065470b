// Proves that two `tidemq broker` processes registered with one `tidemq namesrv` serve one topic together (ali-ons spreads sends over both and a consumer gets all), and that after one broker is SIGKILLed the producer's sends keep succeeding on the other and the name server drops the dead broker from the route.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RequestCode } from '../../src/protocol/request-code.js';
import { invokeOnce } from '../support/remoting-probe.js';
import { makeTempHome, startBroker, startNameServer, waitFor, type TideProcess } from '../support/tidemq-process.js';
import {
  closeInnerProducer,
  closeQuietly,
  reportClientErrors,
  createMessage,
  startConsumer,
  startProducer,
  type AliConsumer,
  type AliProducer,
  type AliSendResult,
} from '../compat/ali-ons-client.js';
import { createTopic, getRoute, Received, waitForAllocation, waitForKeys, waitForRoute } from '../compat/compat-helpers.js';

const BROKER_A = 'broker-a';
const BROKER_B = 'broker-b';
const CLUSTER = 'FailoverCluster';
/** ali-ons route refresh, heartbeat and rebalance period in this test. */
const CLIENT_INTERVAL_MS = 1_000;

describe('two brokers behind one name server, one of them killed', { timeout: 85_000 }, () => {
  const homes = [makeTempHome('tidemq-failover-ns-'), makeTempHome('tidemq-failover-a-'), makeTempHome('tidemq-failover-b-')];
  const processes: TideProcess[] = [];
  let namesrvAddr = '';
  const brokerAddrs = new Map<string, string>();
  let brokerB: TideProcess | undefined;
  const clients: Array<AliProducer | AliConsumer> = [];
  const clientErrors: Error[] = [];
  let producer: AliProducer;
  const received = new Received();
  const topic = `TopicFailover_${process.pid}`;

  async function sendAll(keys: string[]): Promise<AliSendResult[]> {
    const results: AliSendResult[] = [];
    for (const key of keys) {
      const result = await producer.send(createMessage(topic, 'TagF', `body of ${key}`, [key]));
      assert.equal(result.sendStatus, 'SEND_OK', `send of ${key}`);
      results.push(result);
    }
    return results;
  }

  before(async () => {
    const namesrv = await startNameServer(homes[0]!.home);
    processes.push(namesrv);
    namesrvAddr = namesrv.namesrvAddr;
    for (const [index, brokerName] of [BROKER_A, BROKER_B].entries()) {
      const broker = await startBroker({
        home: homes[index + 1]!.home,
        namesrvAddr,
        brokerName,
        properties: { brokerClusterName: CLUSTER, brokerId: '0' },
      });
      processes.push(broker);
      brokerAddrs.set(brokerName, broker.brokerAddr);
      if (brokerName === BROKER_B) brokerB = broker;
    }
    await waitFor('both brokers in the cluster info of the name server', async () => {
      const response = await invokeOnce(namesrvAddr, RequestCode.GET_BROKER_CLUSTER_INFO);
      if (response.code !== 0) return undefined;
      const info = JSON.parse(response.body.toString()) as { clusterAddrTable?: Record<string, string[]> };
      const names = [...(info.clusterAddrTable?.[CLUSTER] ?? [])].sort().join(',');
      return names === `${BROKER_A},${BROKER_B}` || undefined;
    });
  });

  after(async () => {
    reportClientErrors(clientErrors);
    for (const client of clients.reverse()) await closeQuietly(client);
    await closeInnerProducer().catch(() => undefined);
    for (const child of processes) await child.kill();
    for (const home of homes) home.cleanup();
  });

  it('serves one topic from both brokers: sends spread over both, the consumer receives all', async () => {
    for (const address of brokerAddrs.values()) await createTopic(address, topic, 4);
    const route = await waitForRoute(namesrvAddr, topic, [BROKER_A, BROKER_B]);
    assert.deepEqual(route.brokerDatas.map((data) => data.brokerAddrs['0']).sort(), [...brokerAddrs.values()].sort());

    producer = await startProducer({ nameSrv: namesrvAddr, producerGroup: `PG_failover_${process.pid}`, intervalMs: CLIENT_INTERVAL_MS, errors: clientErrors });
    clients.push(producer);
    const consumer = await startConsumer({ nameSrv: namesrvAddr, consumerGroup: `CG_failover_${process.pid}`, intervalMs: CLIENT_INTERVAL_MS, errors: clientErrors });
    clients.push(consumer);
    consumer.subscribe(topic, '*', async (message) => { received.add(message); });
    await waitForAllocation([consumer], topic, [8], 8);

    const keys = Array.from({ length: 40 }, (_, index) => `before-kill-${index}`);
    const results = await sendAll(keys);
    const perBroker = new Map<string, number>();
    for (const result of results) perBroker.set(result.messageQueue.brokerName, (perBroker.get(result.messageQueue.brokerName) ?? 0) + 1);
    assert.ok((perBroker.get(BROKER_A) ?? 0) > 0 && (perBroker.get(BROKER_B) ?? 0) > 0, `sends reach both brokers: ${JSON.stringify([...perBroker])}`);
    await waitForKeys('the consumer to receive all 40 from both brokers', keys, [received]);
    const storeHosts = new Set(keys.map((key) => received.byKey.get(key)![0]!.storeHost));
    assert.deepEqual([...storeHosts].sort(), [...brokerAddrs.values()].sort(), 'messages were stored on both brokers');
  });

  it('keeps sending on the surviving broker right after the other is SIGKILLed', async () => {
    assert.ok(producer, 'the first test started the producer');
    await brokerB!.kill();
    const keys = Array.from({ length: 20 }, (_, index) => `after-kill-${index}`);
    const results = await sendAll(keys);
    for (const result of results) assert.equal(result.messageQueue.brokerName, BROKER_A, 'a send after the kill lands on the live broker');
    await waitForKeys('the consumer to receive the sends made after the kill', keys, [received]);
  });

  it('drops the dead broker from the route, after which sends go straight to the live broker', async () => {
    // The Java name server removes a broker as soon as its connection closes, not only after 120 s of silence.
    await waitFor('the name server to drop broker-b from the route', async () => {
      const route = await getRoute(namesrvAddr, topic);
      return route && route.brokerDatas.every((data) => data.brokerName !== BROKER_B) && route.queueDatas.length > 0 ? route : undefined;
    }, 10_000);
    // Give ali-ons two refresh periods to pick the new route up.
    await new Promise((resolveSleep) => setTimeout(resolveSleep, 2 * CLIENT_INTERVAL_MS + 500));
    const keys = Array.from({ length: 10 }, (_, index) => `after-route-${index}`);
    const results = await sendAll(keys);
    for (const result of results) assert.equal(result.messageQueue.brokerName, BROKER_A);
    await waitForKeys('the consumer to receive the sends made after the route change', keys, [received]);
  });
});
