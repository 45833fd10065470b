// Proves producer failover across brokers: with one name server and two broker processes (`tidemq namesrv` / `tidemq broker`, or RocketMQ's with TIDEMQ_TEST_TARGET=rocketmq), two producers spread sends over both brokers, and after one broker is SIGKILLed every send still succeeds on the survivor (retry on another broker plus the latency circuit breaker).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Admin, Producer, type SendResult } from '../../src/client/index.js';
import { FAST_CLIENT, makeTempHome, startTestClusterBroker, startTestNameServer, SUITE_TIMEOUT_MS, uniqueName, waitFor, type TestServer } from './client-test-support.js';

describe('producer failover', { timeout: SUITE_TIMEOUT_MS }, () => {
  const homes = [makeTempHome('tidemq-client-ns-'), makeTempHome('tidemq-client-a-'), makeTempHome('tidemq-client-b-')];
  const processes: TestServer[] = [];
  let namesrvAddr = '';
  let brokerB: TestServer;
  const producers: Producer[] = [];
  let admin: Admin;
  const topic = uniqueName('TopicFailover');

  before(async () => {
    const namesrv = await startTestNameServer(homes[0]!.home);
    processes.push(namesrv);
    namesrvAddr = namesrv.namesrvAddr;
    for (const [index, brokerName] of ['broker-a', 'broker-b'].entries()) {
      const broker = await startTestClusterBroker({ home: homes[index + 1]!.home, namesrvAddr, brokerName, properties: { brokerClusterName: 'FailoverCluster' } });
      processes.push(broker);
      if (brokerName === 'broker-b') brokerB = broker;
    }
    admin = new Admin({ namesrvAddr });
    await waitFor('both brokers registered', async () => (await admin.clusterInfo()).clusterAddrTable.FailoverCluster?.length === 2);
    await admin.createTopic(topic, { readQueueNums: 4, writeQueueNums: 4, clusterName: 'FailoverCluster' });
    await waitFor('the route over both brokers', async () => (await admin.topicRoute(topic))?.brokerDatas.length === 2);
    for (let index = 0; index < 2; index++) producers.push(new Producer({ namesrvAddr, group: uniqueName('PGFailover'), sendTimeoutMs: 3000, ...FAST_CLIENT }));
  });

  after(async () => {
    await Promise.all(producers.map((producer) => producer.close()));
    await admin?.close();
    for (const process of processes.reverse()) await process.stop();
    for (const home of homes) home.cleanup();
  });

  it('keeps every send succeeding after one broker is killed', async () => {
    let stop = false;
    const results: { phase: 'before' | 'after'; result: SendResult }[] = [];
    const failures: unknown[] = [];
    let phase: 'before' | 'after' = 'before';
    const loops = producers.map(async (producer, producerIndex) => {
      for (let index = 0; !stop; index++) {
        const sentIn = phase;
        try {
          results.push({ phase: sentIn, result: await producer.send({ topic, body: `p${producerIndex}-${index}` }) });
        } catch (error) {
          failures.push(error);
        }
      }
    });
    await waitFor('sends on both brokers', () => new Set(results.map((entry) => entry.result.queue.brokerName)).size === 2);
    await brokerB.kill();
    phase = 'after';
    const killedAt = results.length;
    await waitFor('200 sends after the kill', () => results.length >= killedAt + 200, 30_000);
    stop = true;
    await Promise.all(loops);
    assert.deepEqual(failures, [], 'no send failed');
    const after = results.filter((entry) => entry.phase === 'after');
    assert.ok(after.length >= 200);
    assert.ok(after.every((entry) => entry.result.status === 'SEND_OK'));
    const lastHundred = after.slice(-100);
    assert.ok(lastHundred.every((entry) => entry.result.queue.brokerName === 'broker-a'), 'the survivor takes the traffic');
  });
});
