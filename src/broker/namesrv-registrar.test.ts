// Proves over real sockets that a broker registers with every name server (a dead one does not stop the others) and that clients read its route back from each.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type AddressInfo } from 'node:net';
import { ResponseCode } from '../common/errors.js';
import { createRequest } from '../protocol/remoting-command.js';
import { RequestCode } from '../protocol/request-code.js';
import { createTopicConfig, decodeTopicRouteData, type TopicConfig } from '../protocol/route-data.js';
import { RemotingClient } from '../remoting/remoting-client.js';
import { NameServer } from '../namesrv/namesrv.js';
import { NamesrvRegistrar } from './namesrv-registrar.js';

/** A port nothing listens on: bound once, then released. */
async function deadAddress(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `127.0.0.1:${port}`;
}

const identity = { clusterName: 'DefaultCluster', brokerName: 'broker-a', brokerId: 0, brokerAddr: '127.0.0.1:10911', haServerAddr: '127.0.0.1:10912' };

test('registers with two name servers, skipping a dead one, and the route reads back from both', async () => {
  const first = new NameServer({ port: 0, host: '127.0.0.1' });
  const second = new NameServer({ port: 0, host: '127.0.0.1' });
  const brokerClient = new RemotingClient({ requestTimeoutMs: 2_000, connectTimeoutMs: 2_000 });
  const reader = new RemotingClient();
  try {
    const addresses = [`127.0.0.1:${await first.start()}`, await deadAddress(), `127.0.0.1:${await second.start()}`];
    let topics: TopicConfig[] = [createTopicConfig('TopicTest', { readQueueNums: 4, writeQueueNums: 4 })];
    const registrar = new NamesrvRegistrar({ client: brokerClient, namesrvAddresses: () => addresses, brokerIdentity: identity, topicConfigs: () => topics });
    await registrar.start();
    registrar.stop();

    const readRoute = async (address: string, topic: string) => {
      const response = await reader.invoke(address, createRequest(RequestCode.GET_ROUTEINFO_BY_TOPIC, { topic }));
      return response.code === ResponseCode.SUCCESS ? decodeTopicRouteData(response.body) : response.code;
    };
    for (const address of [addresses[0]!, addresses[2]!]) {
      const route = await readRoute(address, 'TopicTest');
      assert.notEqual(typeof route, 'number', address);
      assert.deepEqual(route, {
        brokerDatas: [{ cluster: 'DefaultCluster', brokerName: 'broker-a', brokerAddrs: { 0: '127.0.0.1:10911' }, enableActingMaster: false }],
        queueDatas: [{ brokerName: 'broker-a', readQueueNums: 4, writeQueueNums: 4, perm: 6, topicSysFlag: 0 }],
        filterServerTable: {},
      });
    }

    // A changed table gets a new DataVersion, so the name servers take the new queue counts.
    topics = [createTopicConfig('TopicTest', { readQueueNums: 8, writeQueueNums: 8 }), createTopicConfig('Other')];
    const registrations = await registrar.registerNow();
    assert.deepEqual(registrations.map((registration) => registration.namesrvAddr), [addresses[0], addresses[2]]);
    for (const address of [addresses[0]!, addresses[2]!]) {
      const route = await readRoute(address, 'TopicTest');
      assert.ok(typeof route !== 'number');
      assert.equal(route.queueDatas[0]!.writeQueueNums, 8);
      assert.notEqual(await readRoute(address, 'Other'), ResponseCode.TOPIC_NOT_EXIST);
    }

    await registrar.unregister();
    for (const address of [addresses[0]!, addresses[2]!]) assert.equal(await readRoute(address, 'TopicTest'), ResponseCode.TOPIC_NOT_EXIST);
  } finally {
    await Promise.all([brokerClient.close(), reader.close()]);
    await Promise.all([first.close(), second.close()]);
  }
});

test('a slave registration returns its master; compressed bodies register too', async () => {
  const namesrv = new NameServer({ port: 0, host: '127.0.0.1' });
  const client = new RemotingClient();
  try {
    const addresses = [`127.0.0.1:${await namesrv.start()}`];
    const topics = () => ({ topicConfigTable: { T: createTopicConfig('T') }, dataVersion: { stateVersion: 0, timestamp: 1, counter: 1 } });
    const master = new NamesrvRegistrar({ client, namesrvAddresses: () => addresses, brokerIdentity: identity, topicConfigs: topics, compressed: true });
    const slave = new NamesrvRegistrar({
      client,
      namesrvAddresses: () => addresses,
      brokerIdentity: { ...identity, brokerId: 1, brokerAddr: '127.0.0.1:20911', haServerAddr: '127.0.0.1:20912' },
      topicConfigs: topics,
    });
    assert.deepEqual(await master.registerNow(), [{ namesrvAddr: addresses[0] }]);
    assert.deepEqual(await slave.registerNow(), [{ namesrvAddr: addresses[0], masterAddr: '127.0.0.1:10911', haServerAddr: '127.0.0.1:10912' }]);
    const route = decodeTopicRouteData((await client.invoke(addresses[0]!, createRequest(RequestCode.GET_ROUTEINFO_BY_TOPIC, { topic: 'T' }))).body);
    assert.deepEqual(route.brokerDatas[0]!.brokerAddrs, { 0: '127.0.0.1:10911', 1: '127.0.0.1:20911' });
  } finally {
    await client.close();
    await namesrv.close();
  }
});
