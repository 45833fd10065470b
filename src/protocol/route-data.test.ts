// Proves the route, cluster, topic-config and register-broker codecs read Java's literal bodies (plain and compressed) and reject bad shapes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deflateSync } from 'node:zlib';
import { isTideError } from '../common/errors.js';
import {
  createTopicConfig,
  decodeClusterInfo,
  decodeDataVersion,
  decodeKvTable,
  decodeRegisterBrokerBody,
  decodeTopicConfigSerializeWrapper,
  decodeTopicList,
  decodeTopicRouteData,
  encodeKvTable,
  encodeRegisterBrokerBody,
  encodeTopicRouteData,
  Perm,
  permToString,
  type RegisterBrokerBody,
  type TopicRouteData,
} from './route-data.js';

const isInvalid = (error: unknown): boolean => isTideError(error, 'INVALID_PARAMETER');

test('a route encodes to the standard JSON Java clients read, quoted broker ids and sorted fields', () => {
  const route: TopicRouteData = {
    brokerDatas: [{ brokerAddrs: { 0: '10.0.0.1:10911' }, brokerName: 'broker-a', cluster: 'DefaultCluster', enableActingMaster: false }],
    filterServerTable: {},
    queueDatas: [{ brokerName: 'broker-a', perm: 6, readQueueNums: 8, writeQueueNums: 8, topicSysFlag: 0 }],
  };
  assert.equal(
    encodeTopicRouteData(route).toString(),
    '{"brokerDatas":[{"brokerAddrs":{"0":"10.0.0.1:10911"},"brokerName":"broker-a","cluster":"DefaultCluster","enableActingMaster":false}],' +
      '"filterServerTable":{},"queueDatas":[{"brokerName":"broker-a","perm":6,"readQueueNums":8,"topicSysFlag":0,"writeQueueNums":8}]}',
  );
  assert.deepEqual(decodeTopicRouteData(encodeTopicRouteData(route)), route);
});

test('decodes an old Java route with unquoted broker ids and an orderTopicConf', () => {
  const java =
    '{"brokerDatas":[{"brokerAddrs":{0:"10.0.0.1:10911",1:"10.0.0.2:10911"},"brokerName":"broker-a","cluster":"DefaultCluster"}],' +
    '"filterServerTable":{},"orderTopicConf":"broker-a:4","queueDatas":[{"brokerName":"broker-a","perm":6,"readQueueNums":4,"topicSynFlag":1,"writeQueueNums":4}]}';
  const route = decodeTopicRouteData(Buffer.from(java));
  assert.deepEqual(route.brokerDatas[0]!.brokerAddrs, { 0: '10.0.0.1:10911', 1: '10.0.0.2:10911' });
  assert.equal(route.brokerDatas[0]!.enableActingMaster, false);
  assert.equal(route.orderTopicConf, 'broker-a:4');
  assert.equal(route.queueDatas[0]!.topicSysFlag, 1);
});

test('route and cluster decoders reject bad shapes with INVALID_PARAMETER', () => {
  for (const bad of ['', '[]', '{"queueDatas":{}}', '{"queueDatas":[{"brokerName":"b","perm":"x","readQueueNums":1,"writeQueueNums":1}]}', '{"brokerDatas":[{"brokerName":"b","cluster":"c","brokerAddrs":{"x":"a"}}]}', '{"brokerDatas":[{"brokerName":"","cluster":"c"}]}']) {
    assert.throws(() => decodeTopicRouteData(Buffer.from(bad)), isInvalid, bad);
  }
  assert.throws(() => decodeClusterInfo(Buffer.from('{"clusterAddrTable":{"c":"notalist"}}')), isInvalid);
});

test('cluster info, topic list and KV table decode the Java forms', () => {
  const info = decodeClusterInfo(
    '{"brokerAddrTable":{"broker-a":{"brokerAddrs":{0:"10.0.0.1:10911"},"brokerName":"broker-a","cluster":"DefaultCluster","enableActingMaster":false}},"clusterAddrTable":{"DefaultCluster":["broker-a"]}}',
  );
  assert.deepEqual(info.clusterAddrTable, { DefaultCluster: ['broker-a'] });
  assert.equal(info.brokerAddrTable['broker-a']!.brokerAddrs['0'], '10.0.0.1:10911');
  assert.deepEqual(decodeTopicList('{"brokerAddr":"10.0.0.1:10911","topicList":["A","B"]}'), { topicList: ['A', 'B'], brokerAddr: '10.0.0.1:10911' });
  assert.equal(encodeKvTable({ T: 'broker-a:4' }).toString(), '{"table":{"T":"broker-a:4"}}');
  assert.deepEqual(decodeKvTable(encodeKvTable({ T: 'broker-a:4' })), { T: 'broker-a:4' });
  assert.deepEqual(decodeDataVersion('{"counter":3,"stateVersion":0,"timestamp":1700000000000}'), { counter: 3, stateVersion: 0, timestamp: 1700000000000 });
});

test('a plain RegisterBrokerBody as a 5.x Java broker sends it decodes, ignoring mapping fields', () => {
  const java =
    '{"filterServerList":[],"topicConfigSerializeWrapper":{"dataVersion":{"counter":2,"stateVersion":0,"timestamp":1700000000000},' +
    '"mappingDataVersion":{"counter":0,"stateVersion":0,"timestamp":1700000000000},"topicConfigTable":{"TopicTest":{"attributes":{},"order":false,"perm":6,' +
    '"readQueueNums":4,"topicFilterType":"SINGLE_TAG","topicName":"TopicTest","topicSysFlag":0,"writeQueueNums":4},"%RETRY%G":{"order":false,"perm":6,"readQueueNums":1,' +
    '"topicFilterType":"SINGLE_TAG","topicName":"%RETRY%G","topicSysFlag":0,"writeQueueNums":1}},"topicQueueMappingInfoMap":{}}}';
  const body = decodeRegisterBrokerBody(Buffer.from(java), false);
  assert.deepEqual(body.filterServerList, []);
  assert.deepEqual(body.topicConfigSerializeWrapper.dataVersion, { counter: 2, stateVersion: 0, timestamp: 1700000000000 });
  assert.deepEqual(body.topicConfigSerializeWrapper.topicConfigTable.TopicTest, createTopicConfig('TopicTest', { readQueueNums: 4, writeQueueNums: 4 }));
  assert.deepEqual(body.topicConfigSerializeWrapper.topicConfigTable['%RETRY%G']!.attributes, {});
  assert.throws(() => decodeRegisterBrokerBody(Buffer.from('{"topicConfigSerializeWrapper":{"topicConfigTable":{"T":{"topicName":"T","perm":"rw"}}}}'), false), isInvalid);
  assert.throws(() => decodeRegisterBrokerBody(undefined, false), isInvalid);
});

/** Builds a compressed body byte by byte in Java's layout, independent of our encoder. */
function javaCompressedBody(topicLines: string[], withMappingTrailer: boolean): Buffer {
  const parts: Buffer[] = [];
  const int = (value: number): void => {
    const bytes = Buffer.alloc(4);
    bytes.writeInt32BE(value);
    parts.push(bytes);
  };
  const block = (text: string): void => {
    const bytes = Buffer.from(text);
    int(bytes.length);
    parts.push(bytes);
  };
  block('{"counter":7,"stateVersion":0,"timestamp":1700000000000}');
  int(topicLines.length);
  for (const line of topicLines) block(line);
  block('[]');
  if (withMappingTrailer) int(0);
  return deflateSync(Buffer.concat(parts), { level: 9 });
}

test('a compressed RegisterBrokerBody in the 5.x layout (attributes, mapping trailer) decodes', () => {
  const bytes = javaCompressedBody(['TopicTest 4 4 6 SINGLE_TAG {"+message.type":"FIFO"}', 'TBW102 8 8 7 SINGLE_TAG {}'], true);
  const body = decodeRegisterBrokerBody(bytes, true);
  const table = body.topicConfigSerializeWrapper.topicConfigTable;
  assert.equal(body.topicConfigSerializeWrapper.dataVersion.counter, 7);
  assert.deepEqual(table.TopicTest, createTopicConfig('TopicTest', { readQueueNums: 4, writeQueueNums: 4, attributes: { '+message.type': 'FIFO' } }));
  assert.equal(table.TBW102!.perm, 7);
});

test('a compressed RegisterBrokerBody in the 4.x layout (5 fields, no trailer) decodes', () => {
  const body = decodeRegisterBrokerBody(javaCompressedBody(['TopicTest 4 4 6 SINGLE_TAG'], false), true);
  assert.equal(body.topicConfigSerializeWrapper.topicConfigTable.TopicTest!.readQueueNums, 4);
  assert.deepEqual(body.topicConfigSerializeWrapper.topicConfigTable.TopicTest!.attributes, {});
});

test('our compressed encoder round-trips and broken compressed bodies are rejected', () => {
  const body: RegisterBrokerBody = {
    topicConfigSerializeWrapper: {
      dataVersion: { counter: 1, stateVersion: 0, timestamp: 5 },
      topicConfigTable: { A: createTopicConfig('A', { perm: Perm.READ }) },
    },
    filterServerList: [],
  };
  assert.deepEqual(decodeRegisterBrokerBody(encodeRegisterBrokerBody(body, true), true), body);
  assert.deepEqual(decodeRegisterBrokerBody(encodeRegisterBrokerBody(body), false), body);
  assert.throws(() => decodeRegisterBrokerBody(Buffer.from('not zlib'), true), isInvalid);
  // A valid zlib stream whose first length field points past the end.
  assert.throws(() => decodeRegisterBrokerBody(deflateSync(Buffer.from([0, 0, 0, 99, 1, 2])), true), isInvalid);
  assert.throws(() => decodeRegisterBrokerBody(javaCompressedBody(['TopicTest 4 4'], false), true), isInvalid);
});

test('perm helpers', () => {
  assert.equal(permToString(Perm.READ | Perm.WRITE), 'RW-');
  assert.equal(permToString(Perm.READ | Perm.INHERIT), 'R-X');
  assert.throws(() => decodeTopicConfigSerializeWrapper('{"topicConfigTable":{"A":{"readQueueNums":1}}}'), isInvalid);
});
