// Proves a broker registers its topics with the name server at start, announces an auto-created topic at once, and unregisters on close.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../../src/common/logger.js';
import { NameServer } from '../../src/namesrv/namesrv.js';
import { createRequest } from '../../src/protocol/remoting-command.js';
import { RequestCode } from '../../src/protocol/request-code.js';
import { newClient, send, startBroker, tempRoot, waitFor } from './broker-test-support.js';

test('registration, topic announcement and unregistration', async (t) => {
  const temp = tempRoot();
  const nameServer = new NameServer({ port: 0, host: '127.0.0.1', logger: silentLogger });
  const namesrvPort = await nameServer.start();
  const namesrvAddr = `127.0.0.1:${namesrvPort}`;
  const running = await startBroker(temp.root, { namesrvAddr, brokerName: 'broker-it' });
  const client = newClient();
  t.after(async () => {
    await client.close();
    await running.close();
    await nameServer.close();
    temp.remove();
  });
  const route = async (topic: string) => {
    const response = await client.invoke(namesrvAddr, createRequest(RequestCode.GET_ROUTEINFO_BY_TOPIC, { topic }));
    return response.code === 0 ? (JSON.parse(response.body!.toString()) as { brokerDatas: Array<{ brokerName: string; brokerAddrs: Record<string, string> }>; queueDatas: Array<{ writeQueueNums: number; perm: number }> }) : undefined;
  };
  const defaultRoute = await route('TBW102');
  assert.ok(defaultRoute, 'TBW102 is registered at start');
  assert.equal(defaultRoute.brokerDatas[0]!.brokerName, 'broker-it');
  assert.equal(defaultRoute.brokerDatas[0]!.brokerAddrs['0'], running.address);
  assert.equal(await route('Fresh'), undefined);

  await send(client, running.address, 'Fresh', 'hello');
  const fresh = await waitFor(() => route('Fresh'), 5000, 'the new topic route');
  assert.equal(fresh.queueDatas[0]!.writeQueueNums, 4);
  assert.equal(fresh.queueDatas[0]!.perm, 6);

  await running.close();
  assert.equal(await route('Fresh'), undefined, 'unregistered on close');
});
