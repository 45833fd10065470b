// Proves every name server request code answers like RocketMQ's name server when its handler is called directly, bad headers included.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { crc32 } from 'node:zlib';
import { ResponseCode } from '../../common/errors.js';
import { silentLogger } from '../../common/logger.js';
import { createRequest, RemotingFlag, type RemotingCommand, type RemotingConnection, type RequestContext } from '../../protocol/remoting-command.js';
import { RequestCode } from '../../protocol/request-code.js';
import {
  createTopicConfig,
  decodeClusterInfo,
  decodeDataVersion,
  decodeKvTable,
  decodeTopicList,
  decodeTopicRouteData,
  encodeDataVersion,
  encodeRegisterBrokerBody,
  Perm,
  type TopicConfig,
} from '../../protocol/route-data.js';
import { KvConfig } from '../kv-config.js';
import { NamesrvSettings } from '../namesrv-settings.js';
import { RouteTable } from '../route-table.js';
import { createNamesrvHandlerTable } from './handler-table.js';

function connection(id: number): RemotingConnection {
  return {
    id,
    remoteAddress: '127.0.0.1:50000',
    localAddress: '127.0.0.1:9876',
    closed: false,
    invoke: () => Promise.reject(new Error('not used')),
    invokeOneway: () => false,
    close: () => {},
    onClose: () => {},
  };
}

function setup() {
  let nowMs = 1_000_000;
  const routeTable = new RouteTable();
  const kvConfig = new KvConfig();
  const settings = new NamesrvSettings();
  const table = createNamesrvHandlerTable({ routeTable, kvConfig, settings, now: () => nowMs, logger: silentLogger });
  const call = async (request: RemotingCommand, connectionId = 1): Promise<RemotingCommand> => {
    const handler = table.get(request.code);
    assert.ok(handler, `no handler for ${request.code}`);
    const context: RequestContext = { connection: connection(connectionId), reply: () => {} };
    const response = await handler(request, context);
    assert.ok(response);
    assert.equal(response.opaque, request.opaque);
    assert.equal(response.flag & RemotingFlag.RESPONSE, RemotingFlag.RESPONSE);
    return response;
  };
  return { routeTable, kvConfig, settings, call, advance: (ms: number) => (nowMs += ms) };
}

function registerRequest(brokerName: string, brokerAddr: string, configs: TopicConfig[], fields: Record<string, string> = {}, compressed = false): RemotingCommand {
  const topicConfigTable: Record<string, TopicConfig> = {};
  for (const config of configs) topicConfigTable[config.topicName] = config;
  const body = encodeRegisterBrokerBody({ topicConfigSerializeWrapper: { topicConfigTable, dataVersion: { stateVersion: 0, timestamp: 5, counter: 1 } }, filterServerList: [] }, compressed);
  return createRequest(
    RequestCode.REGISTER_BROKER,
    {
      brokerName,
      brokerAddr,
      clusterName: 'DefaultCluster',
      haServerAddr: brokerAddr.replace(/:\d+$/, ':10912'),
      brokerId: '0',
      enableActingMaster: 'false',
      compressed: String(compressed),
      bodyCrc32: String(crc32(body) & 0x7fffffff),
      ...fields,
    },
    body,
  );
}

test('register (plain and compressed) then read the route, cluster info and topic lists', async () => {
  const { call } = setup();
  const registered = await call(registerRequest('broker-a', '10.0.0.1:10911', [createTopicConfig('T', { readQueueNums: 8, writeQueueNums: 8 })]));
  assert.equal(registered.code, ResponseCode.SUCCESS);
  assert.equal(registered.body, undefined);
  assert.equal((await call(registerRequest('broker-b', '10.0.0.2:10911', [createTopicConfig('T', { readQueueNums: 4, writeQueueNums: 4 })], {}, true))).code, ResponseCode.SUCCESS);

  // Java brokers deflate with compressedRegister=true but still say compressed=false.
  const javaStyle = registerRequest('broker-c', '10.0.0.3:10911', [createTopicConfig('J')], {}, true);
  assert.equal((await call({ ...javaStyle, extFields: { ...javaStyle.extFields!, compressed: 'false' } })).code, ResponseCode.SUCCESS);

  const route = await call(createRequest(RequestCode.GET_ROUTEINFO_BY_TOPIC, { topic: 'T' }));
  assert.equal(route.code, ResponseCode.SUCCESS);
  assert.match(route.body!.toString(), /"brokerAddrs":\{"0":"10\.0\.0\.1:10911"\}/);
  const decoded = decodeTopicRouteData(route.body);
  assert.deepEqual(decoded.queueDatas.map((queueData) => [queueData.brokerName, queueData.readQueueNums]), [['broker-a', 8], ['broker-b', 4]]);

  const cluster = decodeClusterInfo((await call(createRequest(RequestCode.GET_BROKER_CLUSTER_INFO))).body);
  assert.deepEqual(cluster.clusterAddrTable, { DefaultCluster: ['broker-a', 'broker-b', 'broker-c'] });
  assert.deepEqual(decodeTopicList((await call(createRequest(RequestCode.GET_ALL_TOPIC_LIST_FROM_NAMESERVER))).body).topicList, ['J', 'T']);
  assert.deepEqual(decodeTopicList((await call(createRequest(RequestCode.GET_TOPICS_BY_CLUSTER, { cluster: 'DefaultCluster' }))).body).topicList, ['J', 'T']);
  const system = decodeTopicList((await call(createRequest(RequestCode.GET_SYSTEM_TOPIC_LIST_FROM_NS))).body);
  assert.deepEqual(system, { topicList: ['DefaultCluster', 'broker-a', 'broker-b', 'broker-c'], brokerAddr: '10.0.0.1:10911' });
});

test('unknown topic answers 17 with the Java remark; a bad topic name answers 29', async () => {
  const { call } = setup();
  const missing = await call(createRequest(RequestCode.GET_ROUTEINFO_BY_TOPIC, { topic: 'Nope' }));
  assert.equal(missing.code, ResponseCode.TOPIC_NOT_EXIST);
  assert.equal(missing.remark, 'No topic route info in name server for the topic: Nope');
  for (const fields of [{}, { topic: '' }, { topic: '../etc' }, { topic: 'x'.repeat(300) }] as Array<Record<string, string>>) {
    const bad = await call(createRequest(RequestCode.GET_ROUTEINFO_BY_TOPIC, fields));
    assert.equal(bad.code, ResponseCode.INVALID_PARAMETER, JSON.stringify(fields));
    assert.match(bad.remark ?? '', /topic/);
  }
});

test('register: missing or malformed header fields answer 29 naming the field; a bad CRC answers 1', async () => {
  const { call, routeTable } = setup();
  const good = registerRequest('broker-a', '10.0.0.1:10911', [createTopicConfig('T')]);
  for (const [field, value] of [['brokerName', undefined], ['brokerAddr', 'nohost'], ['clusterName', ''], ['brokerId', 'zero'], ['haServerAddr', undefined], ['heartbeatTimeoutMillis', '5']] as const) {
    const fields = { ...good.extFields! };
    if (value === undefined) delete fields[field];
    else fields[field] = value;
    const response = await call({ ...good, extFields: fields });
    assert.equal(response.code, ResponseCode.INVALID_PARAMETER, field);
    assert.match(response.remark ?? '', new RegExp(field));
  }
  const badCrc = await call({ ...good, extFields: { ...good.extFields!, bodyCrc32: '12345' } });
  assert.deepEqual([badCrc.code, badCrc.remark], [ResponseCode.SYSTEM_ERROR, 'crc32 not match']);
  const badBody = await call({ ...good, body: Buffer.from('{"topicConfigSerializeWrapper":[]}'), extFields: { ...good.extFields!, bodyCrc32: '0' } });
  assert.equal(badBody.code, ResponseCode.INVALID_PARAMETER);
  const badTopic = await call(registerRequest('broker-a', '10.0.0.1:10911', [createTopicConfig('bad/topic')]));
  assert.equal(badTopic.code, ResponseCode.INVALID_PARAMETER);
  assert.equal(routeTable.liveBrokers().length, 0);
});

test('a slave learns its master; the answer carries the ORDER_TOPIC_CONFIG table and routes carry orderTopicConf', async () => {
  const { call } = setup();
  assert.equal((await call(createRequest(RequestCode.PUT_KV_CONFIG, { namespace: 'ORDER_TOPIC_CONFIG', key: 'T', value: 'broker-a:8' }))).code, ResponseCode.SUCCESS);
  const master = await call(registerRequest('broker-a', '10.0.0.1:10911', [createTopicConfig('T')]));
  assert.deepEqual(decodeKvTable(master.body), { T: 'broker-a:8' });
  assert.deepEqual(master.extFields, {});
  const slave = await call(registerRequest('broker-a', '10.0.0.9:10911', [createTopicConfig('T')], { brokerId: '1' }));
  assert.deepEqual(slave.extFields, { haServerAddr: '10.0.0.1:10912', masterAddr: '10.0.0.1:10911' });
  const route = decodeTopicRouteData((await call(createRequest(RequestCode.GET_ROUTEINFO_BY_TOPIC, { topic: 'T' }))).body);
  assert.equal(route.orderTopicConf, 'broker-a:8');
});

test('query data version reports changes and keeps the broker alive; unregister removes it', async () => {
  const { call, routeTable, advance } = setup();
  await call(registerRequest('broker-a', '10.0.0.1:10911', [createTopicConfig('T')]));
  const identity = { brokerName: 'broker-a', brokerAddr: '10.0.0.1:10911', clusterName: 'DefaultCluster', brokerId: '0' };
  const same = await call(createRequest(RequestCode.QUERY_DATA_VERSION, identity, encodeDataVersion({ stateVersion: 0, timestamp: 5, counter: 1 })));
  assert.equal(same.extFields?.changed, 'false');
  assert.deepEqual(decodeDataVersion(same.body), { stateVersion: 0, timestamp: 5, counter: 1 });
  advance(100_000);
  const changed = await call(createRequest(RequestCode.QUERY_DATA_VERSION, identity, encodeDataVersion({ stateVersion: 0, timestamp: 6, counter: 2 })));
  assert.equal(changed.extFields?.changed, 'true');
  assert.equal(routeTable.liveBrokers()[0]!.lastUpdateTimestampMs, 1_100_000);
  assert.equal((await call(createRequest(RequestCode.QUERY_DATA_VERSION, identity))).code, ResponseCode.INVALID_PARAMETER);
  assert.equal((await call(createRequest(RequestCode.UNREGISTER_BROKER, { ...identity, brokerId: undefined as unknown as string }))).code, ResponseCode.INVALID_PARAMETER);
  assert.equal((await call(createRequest(RequestCode.UNREGISTER_BROKER, identity))).code, ResponseCode.SUCCESS);
  assert.equal((await call(createRequest(RequestCode.GET_ROUTEINFO_BY_TOPIC, { topic: 'T' }))).code, ResponseCode.TOPIC_NOT_EXIST);
});

test('wipe/add write perm answer their counts; delete topic removes the route', async () => {
  const { call } = setup();
  await call(registerRequest('broker-a', '10.0.0.1:10911', [createTopicConfig('T'), createTopicConfig('U')]));
  const wiped = await call(createRequest(RequestCode.WIPE_WRITE_PERM_OF_BROKER, { brokerName: 'broker-a' }));
  assert.deepEqual(wiped.extFields, { wipeTopicCount: '2' });
  const route = decodeTopicRouteData((await call(createRequest(RequestCode.GET_ROUTEINFO_BY_TOPIC, { topic: 'T' }))).body);
  assert.equal(route.queueDatas[0]!.perm, Perm.READ);
  assert.deepEqual((await call(createRequest(RequestCode.ADD_WRITE_PERM_OF_BROKER, { brokerName: 'broker-a' }))).extFields, { addTopicCount: '2' });
  assert.equal((await call(createRequest(RequestCode.WIPE_WRITE_PERM_OF_BROKER, {}))).code, ResponseCode.INVALID_PARAMETER);
  assert.equal((await call(createRequest(RequestCode.DELETE_TOPIC_IN_NAMESRV, { topic: 'T', clusterName: 'DefaultCluster' }))).code, ResponseCode.SUCCESS);
  assert.equal((await call(createRequest(RequestCode.GET_ROUTEINFO_BY_TOPIC, { topic: 'T' }))).code, ResponseCode.TOPIC_NOT_EXIST);
  assert.equal((await call(createRequest(RequestCode.DELETE_TOPIC_IN_NAMESRV, {}))).code, ResponseCode.INVALID_PARAMETER);
});

test('KV config requests: put, get, list, delete, not found', async () => {
  const { call } = setup();
  assert.equal((await call(createRequest(RequestCode.PUT_KV_CONFIG, { namespace: 'ns', key: 'k', value: 'v' }))).code, ResponseCode.SUCCESS);
  assert.deepEqual((await call(createRequest(RequestCode.GET_KV_CONFIG, { namespace: 'ns', key: 'k' }))).extFields, { value: 'v' });
  assert.deepEqual(decodeKvTable((await call(createRequest(RequestCode.GET_KVLIST_BY_NAMESPACE, { namespace: 'ns' }))).body), { k: 'v' });
  assert.equal((await call(createRequest(RequestCode.DELETE_KV_CONFIG, { namespace: 'ns', key: 'k' }))).code, ResponseCode.SUCCESS);
  const missing = await call(createRequest(RequestCode.GET_KV_CONFIG, { namespace: 'ns', key: 'k' }));
  assert.deepEqual([missing.code, missing.remark], [ResponseCode.QUERY_NOT_FOUND, 'No config item, Namespace: ns Key: k']);
  assert.equal((await call(createRequest(RequestCode.GET_KVLIST_BY_NAMESPACE, { namespace: 'ns' }))).code, ResponseCode.QUERY_NOT_FOUND);
  const noValue = await call(createRequest(RequestCode.PUT_KV_CONFIG, { namespace: 'ns', key: 'k' }));
  assert.equal(noValue.code, ResponseCode.INVALID_PARAMETER);
  assert.match(noValue.remark ?? '', /value/);
});

test('namesrv config: get as properties, update only whitelisted keys', async () => {
  const { call, settings } = setup();
  const config = await call(createRequest(RequestCode.GET_NAMESRV_CONFIG));
  assert.match(config.body!.toString(), /^scanNotActiveBrokerInterval=10000$/m);
  const update = (text: string) => call(createRequest(RequestCode.UPDATE_NAMESRV_CONFIG, {}, Buffer.from(text)));
  assert.equal((await update('enableAllTopicList=false')).code, ResponseCode.SUCCESS);
  assert.equal(settings.values.enableAllTopicList, false);
  const disabled = await call(createRequest(RequestCode.GET_ALL_TOPIC_LIST_FROM_NAMESERVER));
  assert.deepEqual([disabled.code, disabled.remark], [ResponseCode.SYSTEM_ERROR, 'disable']);
  const refused = await update('configStorePath=/tmp/evil\nrocketmqHome=/tmp');
  assert.equal(refused.code, ResponseCode.NO_PERMISSION);
  assert.match(refused.remark ?? '', /configStorePath/);
  assert.equal((await update('scanNotActiveBrokerInterval=abc')).code, ResponseCode.INVALID_PARAMETER);
  assert.equal((await call(createRequest(RequestCode.UPDATE_NAMESRV_CONFIG, {}, Buffer.from([0xff, 0xfe])))).code, ResponseCode.INVALID_PARAMETER);
});

test('oneway requests get no answer, even on error', async () => {
  const { routeTable } = setup();
  const table = createNamesrvHandlerTable({ routeTable, kvConfig: new KvConfig(), settings: new NamesrvSettings(), now: () => 0, logger: silentLogger });
  const request = { ...createRequest(RequestCode.GET_ROUTEINFO_BY_TOPIC, {}), flag: RemotingFlag.ONEWAY };
  assert.equal(await table.get(RequestCode.GET_ROUTEINFO_BY_TOPIC)!(request, { connection: connection(1), reply: () => {} }), null);
});
