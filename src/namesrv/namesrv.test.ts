// Proves the NameServer over real sockets: unknown codes, dropping a broker when its connection closes or it goes silent, and KV config surviving a restart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ResponseCode } from '../common/errors.js';
import { createRequest } from '../protocol/remoting-command.js';
import { RequestCode } from '../protocol/request-code.js';
import { createTopicConfig, encodeRegisterBrokerBody } from '../protocol/route-data.js';
import { RemotingClient } from '../remoting/remoting-client.js';
import { NameServer } from './namesrv.js';

function registerRequest(brokerAddr: string) {
  const body = encodeRegisterBrokerBody({
    topicConfigSerializeWrapper: { topicConfigTable: { T: createTopicConfig('T') }, dataVersion: { stateVersion: 0, timestamp: 1, counter: 1 } },
    filterServerList: [],
  });
  return createRequest(RequestCode.REGISTER_BROKER, { brokerName: 'broker-a', brokerAddr, clusterName: 'C', haServerAddr: '', brokerId: '0', heartbeatTimeoutMillis: '30000' }, body);
}

test('unknown codes are not supported; a broker whose connection closes is dropped', async () => {
  const namesrv = new NameServer({ port: 0, host: '127.0.0.1' });
  const reader = new RemotingClient();
  try {
    const address = `127.0.0.1:${await namesrv.start()}`;
    const unknown = await reader.invoke(address, createRequest(99_999));
    assert.equal(unknown.code, ResponseCode.REQUEST_CODE_NOT_SUPPORTED);

    const broker = new RemotingClient();
    assert.equal((await broker.invoke(address, registerRequest('127.0.0.1:10911'))).code, ResponseCode.SUCCESS);
    assert.equal((await reader.invoke(address, createRequest(RequestCode.GET_ROUTEINFO_BY_TOPIC, { topic: 'T' }))).code, ResponseCode.SUCCESS);
    await broker.close();
    // The close is seen by the server asynchronously; a request on another connection after it
    // has been processed observes the result. Poll on answers, not on time.
    let code: number = ResponseCode.SUCCESS;
    for (let attempt = 0; attempt < 1_000 && code === ResponseCode.SUCCESS; attempt++) {
      code = (await reader.invoke(address, createRequest(RequestCode.GET_ROUTEINFO_BY_TOPIC, { topic: 'T' }))).code;
      if (code === ResponseCode.SUCCESS) await new Promise((resolve) => setTimeout(resolve, 5));
    }
    assert.equal(code, ResponseCode.TOPIC_NOT_EXIST);
  } finally {
    await reader.close();
    await namesrv.close();
  }
});

test('a silent broker is dropped by the liveness scan (driven by an injected clock)', async () => {
  let nowMs = 1_000_000;
  const namesrv = new NameServer({ port: 0, host: '127.0.0.1', now: () => nowMs });
  const client = new RemotingClient();
  try {
    const address = `127.0.0.1:${await namesrv.start()}`;
    assert.equal((await client.invoke(address, registerRequest('127.0.0.1:10911'))).code, ResponseCode.SUCCESS);
    nowMs += 30_000;
    assert.deepEqual(namesrv.scanNotActiveBrokers(), []);
    nowMs += 1;
    assert.deepEqual(namesrv.scanNotActiveBrokers(), ['127.0.0.1:10911']);
    assert.equal((await client.invoke(address, createRequest(RequestCode.GET_ROUTEINFO_BY_TOPIC, { topic: 'T' }))).code, ResponseCode.TOPIC_NOT_EXIST);
  } finally {
    await client.close();
    await namesrv.close();
  }
});

test('KV config put over the wire survives a name server restart', async () => {
  const home = await mkdtemp(join(tmpdir(), 'tidemq-namesrv-'));
  const kvConfigPath = join(home, 'namesrv', 'kvConfig.json');
  const client = new RemotingClient();
  try {
    const first = new NameServer({ port: 0, host: '127.0.0.1', kvConfigPath });
    const firstAddress = `127.0.0.1:${await first.start()}`;
    const put = createRequest(RequestCode.PUT_KV_CONFIG, { namespace: 'ORDER_TOPIC_CONFIG', key: 'T', value: 'broker-a:4' });
    assert.equal((await client.invoke(firstAddress, put)).code, ResponseCode.SUCCESS);
    await first.close();

    const second = new NameServer({ port: 0, host: '127.0.0.1', kvConfigPath });
    try {
      const secondAddress = `127.0.0.1:${await second.start()}`;
      const get = await client.invoke(secondAddress, createRequest(RequestCode.GET_KV_CONFIG, { namespace: 'ORDER_TOPIC_CONFIG', key: 'T' }));
      assert.deepEqual([get.code, get.extFields?.value], [ResponseCode.SUCCESS, 'broker-a:4']);
    } finally {
      await second.close();
    }
  } finally {
    await client.close();
    await rm(home, { recursive: true, force: true });
  }
});
