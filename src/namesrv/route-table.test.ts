// Proves the route table merges brokers into routes, expires silent brokers on a fake clock, and applies perm, delete and cluster queries like RocketMQ's name server.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RouteTable, type BrokerRegistration } from './route-table.js';
import { createTopicConfig, Perm, type DataVersion, type TopicConfig } from '../protocol/route-data.js';
import { isTideError } from '../common/errors.js';

function registration(
  brokerName: string,
  brokerAddr: string,
  configs: TopicConfig[],
  overrides: Partial<BrokerRegistration> = {},
  dataVersion: DataVersion = { stateVersion: 0, timestamp: 1, counter: 1 },
): BrokerRegistration {
  const topicConfigTable: Record<string, TopicConfig> = {};
  for (const config of configs) topicConfigTable[config.topicName] = config;
  return {
    clusterName: 'DefaultCluster',
    brokerAddr,
    brokerName,
    brokerId: 0,
    haServerAddr: brokerAddr.replace(/:\d+$/, ':10912'),
    enableActingMaster: false,
    topicConfigWrapper: { topicConfigTable, dataVersion },
    ...overrides,
  };
}

const topic = (name: string, queues: number, perm: number = Perm.READ | Perm.WRITE): TopicConfig =>
  createTopicConfig(name, { readQueueNums: queues, writeQueueNums: queues, perm });

test('two brokers serving one topic merge into one route', () => {
  const table = new RouteTable();
  assert.deepEqual(table.registerBroker(registration('broker-a', '10.0.0.1:10911', [topic('T', 8), topic('OnlyA', 2)]), 1000), {});
  table.registerBroker(registration('broker-b', '10.0.0.2:10911', [topic('T', 4)]), 1000);
  const route = table.pickupTopicRouteData('T');
  assert.ok(route);
  assert.deepEqual(
    route.queueDatas.map((queueData) => [queueData.brokerName, queueData.writeQueueNums, queueData.perm]),
    [['broker-a', 8, 6], ['broker-b', 4, 6]],
  );
  assert.deepEqual(route.brokerDatas.map((brokerData) => [brokerData.brokerName, brokerData.brokerAddrs]), [
    ['broker-a', { 0: '10.0.0.1:10911' }],
    ['broker-b', { 0: '10.0.0.2:10911' }],
  ]);
  assert.deepEqual(table.pickupTopicRouteData('OnlyA')?.brokerDatas.map((brokerData) => brokerData.brokerName), ['broker-a']);
  assert.equal(table.pickupTopicRouteData('Nope'), undefined);
  assert.deepEqual(table.getAllTopicList().topicList, ['OnlyA', 'T']);
});

test('a slave joins the broker name, learns its master and does not rewrite queue data', () => {
  const table = new RouteTable();
  table.registerBroker(registration('broker-a', '10.0.0.1:10911', [topic('T', 8)]), 1000);
  const slaveResult = table.registerBroker(
    registration('broker-a', '10.0.0.9:10911', [topic('T', 1, Perm.READ)], { brokerId: 1, haServerAddr: '10.0.0.9:10912' }),
    1000,
  );
  assert.deepEqual(slaveResult, { haServerAddr: '10.0.0.1:10912', masterAddr: '10.0.0.1:10911' });
  const route = table.pickupTopicRouteData('T')!;
  assert.deepEqual(route.brokerDatas[0]!.brokerAddrs, { 0: '10.0.0.1:10911', 1: '10.0.0.9:10911' });
  assert.equal(route.queueDatas[0]!.writeQueueNums, 8);
});

test('queue data is rewritten only when the data version changes', () => {
  const table = new RouteTable();
  table.registerBroker(registration('broker-a', '10.0.0.1:10911', [topic('T', 8)]), 1000);
  // Same data version: the name server keeps what it has (e.g. a wiped write perm).
  table.wipeWritePermOfBroker('broker-a');
  table.registerBroker(registration('broker-a', '10.0.0.1:10911', [topic('T', 8)]), 2000);
  assert.equal(table.pickupTopicRouteData('T')!.queueDatas[0]!.perm, Perm.READ);
  // New data version: the broker's config wins again.
  table.registerBroker(registration('broker-a', '10.0.0.1:10911', [topic('T', 16)], {}, { stateVersion: 0, timestamp: 2, counter: 2 }), 3000);
  assert.deepEqual(table.pickupTopicRouteData('T')!.queueDatas[0], { brokerName: 'broker-a', readQueueNums: 16, writeQueueNums: 16, perm: 6, topicSysFlag: 0 });
  assert.equal(table.isBrokerTopicConfigChanged('DefaultCluster', '10.0.0.1:10911', { stateVersion: 0, timestamp: 2, counter: 2 }), false);
  assert.equal(table.isBrokerTopicConfigChanged('DefaultCluster', '10.0.0.1:10911', { stateVersion: 0, timestamp: 2, counter: 3 }), true);
});

test('unregistering the last address of a broker name removes its queues and empty topics', () => {
  const table = new RouteTable();
  table.registerBroker(registration('broker-a', '10.0.0.1:10911', [topic('T', 8), topic('OnlyA', 2)]), 1000);
  table.registerBroker(registration('broker-b', '10.0.0.2:10911', [topic('T', 4)]), 1000);
  table.unregisterBroker({ clusterName: 'DefaultCluster', brokerAddr: '10.0.0.1:10911', brokerName: 'broker-a', brokerId: 0 });
  assert.equal(table.pickupTopicRouteData('OnlyA'), undefined);
  assert.deepEqual(table.pickupTopicRouteData('T')!.queueDatas.map((queueData) => queueData.brokerName), ['broker-b']);
  assert.deepEqual(table.getClusterInfo().clusterAddrTable, { DefaultCluster: ['broker-b'] });
  assert.deepEqual(Object.keys(table.getClusterInfo().brokerAddrTable), ['broker-b']);
});

test('liveness: silent brokers expire after their own heartbeat timeout on a fake clock', () => {
  const table = new RouteTable();
  table.registerBroker(registration('broker-a', '10.0.0.1:10911', [topic('T', 8)]), 0);
  table.registerBroker(registration('broker-b', '10.0.0.2:10911', [topic('T', 4)], { heartbeatTimeoutMs: 10_000 }), 0);
  assert.deepEqual(table.scanNotActiveBrokers(10_000), []);
  assert.deepEqual(table.scanNotActiveBrokers(10_001), ['10.0.0.2:10911']);
  // A refresh (QUERY_DATA_VERSION) keeps broker-a alive past the default 120 s.
  table.touchBroker('DefaultCluster', '10.0.0.1:10911', 100_000);
  assert.deepEqual(table.scanNotActiveBrokers(200_000), []);
  assert.deepEqual(table.scanNotActiveBrokers(220_001), ['10.0.0.1:10911']);
  assert.equal(table.pickupTopicRouteData('T'), undefined);
  assert.equal(table.liveBrokers().length, 0);
  assert.deepEqual(table.getClusterInfo(), { brokerAddrTable: {}, clusterAddrTable: {} });
});

test('closing the connection a broker registered on unregisters it', () => {
  const table = new RouteTable();
  table.registerBroker(registration('broker-a', '10.0.0.1:10911', [topic('T', 8)], { connectionId: 7 }), 0);
  table.registerBroker(registration('broker-b', '10.0.0.2:10911', [topic('T', 8)], { connectionId: 8 }), 0);
  assert.deepEqual(table.unregisterConnection(7), ['10.0.0.1:10911']);
  assert.deepEqual(table.pickupTopicRouteData('T')!.brokerDatas.map((brokerData) => brokerData.brokerName), ['broker-b']);
});

test('wipe and add write perm count the topics of one broker name', () => {
  const table = new RouteTable();
  table.registerBroker(registration('broker-a', '10.0.0.1:10911', [topic('T', 8), topic('U', 8, Perm.READ)]), 0);
  table.registerBroker(registration('broker-b', '10.0.0.2:10911', [topic('T', 8)]), 0);
  assert.equal(table.wipeWritePermOfBroker('broker-a'), 2);
  const perms = (): Array<[string, number]> => table.pickupTopicRouteData('T')!.queueDatas.map((queueData) => [queueData.brokerName, queueData.perm]);
  assert.deepEqual(perms(), [['broker-a', Perm.READ], ['broker-b', 6]]);
  assert.equal(table.addWritePermOfBroker('broker-a'), 2);
  assert.deepEqual(perms(), [['broker-a', 6], ['broker-b', 6]]);
  assert.equal(table.pickupTopicRouteData('U')!.queueDatas[0]!.perm, 6);
  assert.equal(table.wipeWritePermOfBroker('nobody'), 0);
});

test('delete topic everywhere or only in one cluster', () => {
  const table = new RouteTable();
  table.registerBroker(registration('broker-a', '10.0.0.1:10911', [topic('T', 8), topic('U', 8)]), 0);
  table.registerBroker(registration('broker-x', '10.0.1.1:10911', [topic('T', 8)], { clusterName: 'Other' }), 0);
  table.deleteTopic('T', 'Other');
  assert.deepEqual(table.pickupTopicRouteData('T')!.queueDatas.map((queueData) => queueData.brokerName), ['broker-a']);
  table.deleteTopic('T', 'Missing');
  assert.ok(table.pickupTopicRouteData('T'));
  table.deleteTopic('T');
  assert.equal(table.pickupTopicRouteData('T'), undefined);
  assert.deepEqual(table.getAllTopicList().topicList, ['U']);
});

test('clusters: cluster info, topics by cluster and the system topic list', () => {
  const table = new RouteTable();
  table.registerBroker(registration('broker-a', '10.0.0.1:10911', [topic('T', 8)]), 0);
  table.registerBroker(registration('broker-b', '10.0.0.2:10911', [topic('U', 8)]), 0);
  table.registerBroker(registration('broker-x', '10.0.1.1:10911', [topic('V', 8)], { clusterName: 'Other' }), 0);
  const info = table.getClusterInfo();
  assert.deepEqual(info.clusterAddrTable, { DefaultCluster: ['broker-a', 'broker-b'], Other: ['broker-x'] });
  assert.deepEqual(info.brokerAddrTable['broker-x'], { cluster: 'Other', brokerName: 'broker-x', brokerAddrs: { 0: '10.0.1.1:10911' }, enableActingMaster: false });
  assert.deepEqual(table.getTopicsByCluster('DefaultCluster').topicList, ['T', 'U']);
  assert.deepEqual(table.getTopicsByCluster('Other').topicList, ['V']);
  assert.deepEqual(table.getTopicsByCluster('Nope').topicList, []);
  const system = table.getSystemTopicList();
  assert.deepEqual(system.topicList, ['DefaultCluster', 'Other', 'broker-a', 'broker-b', 'broker-x']);
  assert.equal(system.brokerAddr, '10.0.0.1:10911');
});

test('a slave promoted to master moves its address to id 0; a stale re-registration is ignored', () => {
  const table = new RouteTable();
  table.registerBroker(registration('broker-a', '10.0.0.1:10911', [topic('T', 8)], {}, { stateVersion: 5, timestamp: 1, counter: 1 }), 0);
  table.registerBroker(registration('broker-a', '10.0.0.9:10911', [topic('T', 8)], { brokerId: 1 }), 0);
  table.unregisterBroker({ clusterName: 'DefaultCluster', brokerAddr: '10.0.0.1:10911', brokerName: 'broker-a', brokerId: 0 });
  table.registerBroker(registration('broker-a', '10.0.0.9:10911', [topic('T', 8)], { brokerId: 0 }, { stateVersion: 6, timestamp: 2, counter: 2 }), 0);
  assert.deepEqual(table.pickupTopicRouteData('T')!.brokerDatas[0]!.brokerAddrs, { 0: '10.0.0.9:10911' });
  // The old master comes back with an older state version: it does not take id 0 back.
  const stale = table.registerBroker(registration('broker-a', '10.0.0.1:10911', [topic('T', 8)], {}, { stateVersion: 5, timestamp: 1, counter: 1 }), 0);
  assert.equal(stale, null);
  assert.deepEqual(table.pickupTopicRouteData('T')!.brokerDatas[0]!.brokerAddrs, { 0: '10.0.0.9:10911' });
});

test('acting master: the lowest slave is shown as master once the master is gone', () => {
  const table = new RouteTable({ supportActingMaster: true });
  table.registerBroker(registration('broker-a', '10.0.0.1:10911', [topic('T', 8)], { enableActingMaster: true }), 0);
  table.registerBroker(registration('broker-a', '10.0.0.9:10911', [topic('T', 8)], { brokerId: 2, enableActingMaster: true }), 0);
  table.unregisterBroker({ clusterName: 'DefaultCluster', brokerAddr: '10.0.0.1:10911', brokerName: 'broker-a', brokerId: 0 });
  const route = table.pickupTopicRouteData('T')!;
  assert.equal(route.queueDatas[0]!.perm, Perm.READ);
  assert.deepEqual(route.brokerDatas[0]!.brokerAddrs, { 0: '10.0.0.9:10911' });
});

test('limits: brokers and topics past the configured maximum are refused with SYSTEM_BUSY', () => {
  const table = new RouteTable({ maxBrokerCount: 1, maxTopicCount: 2 });
  table.registerBroker(registration('broker-a', '10.0.0.1:10911', [topic('T', 8)]), 0);
  assert.throws(() => table.registerBroker(registration('broker-b', '10.0.0.2:10911', [topic('T', 8)]), 0), (error: unknown) => isTideError(error, 'SYSTEM_BUSY'));
  assert.throws(
    () => table.registerBroker(registration('broker-a', '10.0.0.1:10911', [topic('T', 8), topic('U', 1), topic('V', 1)]), 0),
    (error: unknown) => isTideError(error, 'SYSTEM_BUSY'),
  );
  assert.deepEqual(table.getAllTopicList().topicList, ['T']);
});
