// Proves POP state survives a broker restart: in-flight messages are neither lost nor released early (they come back at popTime + invisibleTime of the original pop), acked ones stay acked, unpopped ones are handed out, and a blocked FIFO queue stays blocked.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { ResponseCode } from '../../src/common/errors.js';
import { createRequest, type RemotingCommand } from '../../src/protocol/remoting-command.js';
import { RequestCode } from '../../src/protocol/request-code.js';
import { RemotingClient } from '../../src/remoting/remoting-client.js';
import {
  ackRequest,
  clientMessages,
  popRequest,
  sendRequest,
  sleep,
  startPopBroker,
  tempPopRoot,
  type ClientMessage,
  type PopBroker,
  type PopRequestOptions,
} from '../../src/broker/pop/pop-test-support.js';

const temp = tempPopRoot();
const client = new RemotingClient({ requestTimeoutMs: 10_000 });
let running: PopBroker | undefined;

after(async () => {
  await client.close();
  await running?.close();
  temp.remove();
});

async function invoke(request: RemotingCommand): Promise<RemotingCommand> {
  return client.invoke(running!.address, request);
}

async function pop(group: string, topic: string, options: PopRequestOptions = {}): Promise<{ response: RemotingCommand; messages: ClientMessage[] }> {
  const response = await invoke(popRequest(group, topic, options));
  return { response, messages: response.code === 0 ? clientMessages(response, group, topic, options.order) : [] };
}

const bodies = (messages: ClientMessage[]): string[] => messages.map((message) => message.record.body.toString());

test('in-flight, acked and unpopped messages across a restart', async () => {
  running = await startPopBroker(temp.root);
  for (const topic of ['PopRestart', 'PopRestartFifo']) {
    const created = await invoke(createRequest(RequestCode.UPDATE_AND_CREATE_TOPIC, {
      topic, defaultTopic: 'TBW102', readQueueNums: '1', writeQueueNums: '1', perm: '6', topicFilterType: 'SINGLE_TAG', topicSysFlag: '0', order: 'false',
    }));
    assert.equal(created.code, 0);
  }
  for (const body of ['A', 'B', 'C']) assert.equal((await invoke(sendRequest('PopRestart', body))).code, 0);
  for (const body of ['f0', 'f1']) assert.equal((await invoke(sendRequest('PopRestartFifo', body))).code, 0);

  const invisibleTimeMs = 3000;
  const popped = await pop('G-restart', 'PopRestart', { maxMsgNums: 2, invisibleTimeMs });
  assert.deepEqual(bodies(popped.messages), ['A', 'B']);
  const popTimeMs = Number(popped.response.extFields!.popTime);
  const [messageA] = popped.messages;
  assert.equal((await invoke(ackRequest('G-restart', 'PopRestart', 0, messageA!.record.queueOffset, messageA!.extraInfo))).code, 0);
  const fifo = await pop('G-restart', 'PopRestartFifo', { order: true, maxMsgNums: 1, invisibleTimeMs });
  assert.deepEqual(bodies(fifo.messages), ['f0']);
  const fifoPopTimeMs = Number(fifo.response.extFields!.popTime);

  await running.close();
  running = await startPopBroker(temp.root);

  // Timing-independent checks: whatever comes back carries the popTime it was handed out at, and B
  // (and f0) may only come back at or after the original popTime + invisibleTime.
  const seen: Array<{ body: string; popTimeMs: number; reconsumeTimes: number }> = [];
  const fifoSeen: Array<{ body: string; popTimeMs: number; reconsumeTimes: number }> = [];
  const deadline = Date.now() + invisibleTimeMs + 8000;
  while ((seen.length < 2 || fifoSeen.length < 1) && Date.now() < deadline) {
    const normal = await pop('G-restart', 'PopRestart', { invisibleTimeMs: 30_000 });
    for (const message of normal.messages) seen.push({ body: message.record.body.toString(), popTimeMs: Number(normal.response.extFields!.popTime), reconsumeTimes: message.record.reconsumeTimes });
    if (fifoSeen.length === 0) {
      const fifoPop = await pop('G-restart', 'PopRestartFifo', { order: true, maxMsgNums: 1, invisibleTimeMs: 30_000 });
      for (const message of fifoPop.messages) fifoSeen.push({ body: message.record.body.toString(), popTimeMs: Number(fifoPop.response.extFields!.popTime), reconsumeTimes: message.reconsumeTimes });
    }
    await sleep(100);
  }
  assert.deepEqual(seen.map((message) => message.body).sort(), ['B', 'C'], 'B comes back once, C (never popped) is handed out, A (acked) never');
  const returned = seen.find((message) => message.body === 'B')!;
  assert.ok(returned.popTimeMs >= popTimeMs + invisibleTimeMs, 'B is not released before the invisible time of the original pop');
  assert.equal(returned.reconsumeTimes, 1);
  assert.deepEqual(fifoSeen.map((message) => message.body), ['f0'], 'the FIFO queue hands out f0 again, not f1');
  assert.ok(fifoSeen[0]!.popTimeMs >= fifoPopTimeMs + invisibleTimeMs, 'and only after its invisible time');
  assert.equal(fifoSeen[0]!.reconsumeTimes, 1);
  const none = await pop('G-restart', 'PopRestart');
  assert.equal(none.response.code, ResponseCode.POLLING_TIMEOUT, 'A never comes back');
});
