// Proves the PopService API the gRPC gateway calls, on a real broker store with a controlled clock: receipt handles, ack and change-invisible-time, re-delivery when the clock passes the invisible time, the in-flight cap, the broker-wide checkpoint limit (SYSTEM_BUSY), recovery after a crash (no close) and after compaction, and long polling woken by arrivals or aborted.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { silentLogger } from '../../common/logger.js';
import { decodeRecord } from '../../protocol/message-record.js';
import { Broker } from '../broker.js';
import { createBrokerConfig } from '../broker-config.js';
import type { BrokerDeps } from '../broker-deps.js';
import { newTopicConfig } from '../topic-config-manager.js';
import { closePopService, notifyPopMessageArriving, popServiceOf } from './pop-registry.js';
import { createPopService, type PopRequest, type PopServiceOptions } from './pop-service.js';
import { popRequest, sleep, tempPopRoot } from './pop-test-support.js';
import { registerPopHandlers } from './pop-handlers.js';
import { isTideError, ResponseCode } from '../../common/errors.js';
import type { RemotingCommand, RemotingConnection, RequestHandler } from '../../protocol/remoting-command.js';
import { RequestCode } from '../../protocol/request-code.js';

const temp = tempPopRoot();
let broker: Broker;
let deps: BrokerDeps;
let clockMs = 1_800_000_000_000;
const now = (): number => clockMs;

before(async () => {
  broker = new Broker(createBrokerConfig({
    storePathRootDir: temp.root, listenPort: 0, listenHost: '127.0.0.1', brokerIP1: '127.0.0.1',
    mappedFileSizeCommitLog: 4 * 1024 * 1024, consumeQueueEntriesPerFile: 10_000, maxHashSlotNum: 1000, maxIndexNum: 4000,
  }), { logger: silentLogger });
  await broker.start();
  deps = broker.brokerDeps;
});

after(async () => {
  await broker.close();
  temp.remove();
});

function createTopic(topic: string, queueNums = 1): void {
  deps.topicConfigManager.updateTopicConfig(newTopicConfig(topic, { readQueueNums: queueNums, writeQueueNums: queueNums }));
}

function write(topic: string, body: string, queueId = 0): void {
  deps.writer.write({
    topic, queueId, flag: 0, sysFlag: 0, bornTimestamp: Date.now(), bornHost: deps.runtime.storeHost, reconsumeTimes: 0,
    preparedTransactionOffset: 0, body: Buffer.from(body), properties: new Map([['TAGS', 'A']]),
  });
}

function service(name: string, options: PopServiceOptions = {}) {
  return createPopService(deps, { popDir: join(temp.root, name), now, ...options });
}

function request(group: string, topic: string, fields: Partial<PopRequest> = {}): PopRequest {
  return { group, topic, queueId: -1, maxMessages: 32, invisibleTimeMs: 10_000, pollTimeMs: 0, initMode: 'MIN', ...fields };
}

/** The POP handler only watches the connection for its close. */
const fakeConnection = { closed: false, onClose: () => undefined } as unknown as RemotingConnection;

function decodeBody(record: Buffer): string {
  return decodeRecord(record)!.body.toString();
}

/** Lets the revive's waitDurable settle. */
async function settle(): Promise<void> {
  await sleep(20);
}

test('pop, ack, change invisible time and re-delivery follow the clock', async () => {
  createTopic('SvcBasic', 2);
  for (const body of ['a', 'b', 'c']) write('SvcBasic', body);
  write('SvcBasic', 'd', 1);
  const pop = service('svc-basic');
  const first = await pop.pop(request('G', 'SvcBasic'));
  assert.equal(first.status, 'FOUND');
  assert.deepEqual(first.messages.map((message) => decodeBody(message.record)).sort(), ['a', 'b', 'c', 'd']);
  assert.equal(first.popTimeMs, clockMs);
  for (const message of first.messages) {
    assert.equal(message.topic, 'SvcBasic');
    assert.equal(message.reconsumeTimes, 0);
    assert.equal(message.invisibleTimeMs, 10_000);
  }
  assert.equal(pop.inflightMessages('G'), 4);
  const [a, b, c, d] = [...first.messages].sort((left, right) => decodeBody(left.record).localeCompare(decodeBody(right.record)));
  assert.equal(pop.ack('G', 'SvcBasic', a!.receiptHandle), 'OK');
  assert.equal(pop.ack('G', 'SvcBasic', a!.receiptHandle), 'OK', 'idempotent');
  assert.equal(pop.ack('G', 'SvcBasic', d!.receiptHandle), 'OK');
  clockMs += 1000;
  const changed = pop.changeInvisibleTime('G', 'SvcBasic', b!.receiptHandle, 30_000);
  assert.equal(changed.status, 'OK');
  assert.equal(changed.popTimeMs, clockMs);
  assert.equal(pop.ack('G', 'SvcBasic', b!.receiptHandle), 'INVALID_RECEIPT_HANDLE', 'the handle before the change is stale');
  assert.throws(() => pop.changeInvisibleTime('G', 'SvcBasic', changed.receiptHandle!, 5), /invisibleTime/);
  assert.equal(pop.inflightMessages('G'), 2);

  clockMs += 9100;
  pop.tick();
  await settle();
  const second = await pop.pop(request('G', 'SvcBasic'));
  assert.deepEqual(second.messages.map((message) => decodeBody(message.record)), ['c'], 'the un-acked message is back; the changed one is not');
  assert.equal(second.messages[0]!.reconsumeTimes, 1);
  assert.equal(second.messages[0]!.topic, 'SvcBasic');
  assert.equal(pop.ack('G', 'SvcBasic', c!.receiptHandle), 'INVALID_RECEIPT_HANDLE', 'the first delivery\'s handle expired');
  assert.equal(pop.ack('G', 'SvcBasic', second.messages[0]!.receiptHandle), 'OK');

  clockMs += 21_000;
  pop.tick();
  await settle();
  const third = await pop.pop(request('G', 'SvcBasic'));
  assert.deepEqual(third.messages.map((message) => decodeBody(message.record)), ['b']);
  assert.equal(third.messages[0]!.reconsumeTimes, 1);
  assert.equal(pop.ack('G', 'SvcBasic', third.messages[0]!.receiptHandle), 'OK');
  assert.equal(pop.inflightMessages(), 0);
  await pop.close();
});

test('forwardToDeadLetterQueue moves a popped message to %DLQ%group and acks it', async () => {
  createTopic('SvcForward');
  write('SvcForward', 'doomed');
  const pop = service('svc-forward');
  const [message] = (await pop.pop(request('GF', 'SvcForward'))).messages;
  assert.ok(message);
  assert.equal(pop.forwardToDeadLetterQueue('GF', 'SvcForward', message.receiptHandle), 'OK');
  assert.equal(pop.inflightMessages('GF'), 0);
  assert.equal(pop.forwardToDeadLetterQueue('GF', 'SvcForward', message.receiptHandle), 'INVALID_RECEIPT_HANDLE', 'only once');
  const dead = deps.store.getMessages('%DLQ%GF', 0, 0, 32, 1 << 20);
  assert.deepEqual(dead.records.map(decodeBody), ['doomed']);
  assert.equal(deps.topicConfigManager.get('%DLQ%GF')?.readQueueNums, 1);
  await pop.close();
});

test('FIFO: a message given up retryMaxTimes times goes to the DLQ and the queue moves on', async () => {
  createTopic('SvcFifoDlq');
  write('SvcFifoDlq', 'stuck');
  write('SvcFifoDlq', 'next');
  deps.subscriptionGroupManager.update({ ...deps.subscriptionGroupManager.findOrCreate('GFD'), retryMaxTimes: 1 });
  const pop = service('svc-fifo-dlq');
  const fifo = (fields: Partial<PopRequest> = {}) => pop.pop(request('GFD', 'SvcFifoDlq', { fifo: true, maxMessages: 1, invisibleTimeMs: 1000, ...fields }));
  const seen: Array<[string, number]> = [];
  for (let round = 0; round < 3; round++) {
    const result = await fifo();
    assert.equal(result.reviveQueueId, 999);
    for (const message of result.messages) seen.push([decodeBody(message.record), message.reconsumeTimes]);
    assert.equal((await fifo()).status, 'NO_NEW_MSG', 'blocked while in flight');
    clockMs += 1000;
  }
  assert.deepEqual(seen, [['stuck', 0], ['stuck', 1], ['next', 0]], 'two deliveries (retryMaxTimes 1), then the DLQ, then the next message');
  const dead = deps.store.getMessages('%DLQ%GFD', 0, 0, 32, 1 << 20);
  assert.deepEqual(dead.records.map(decodeBody), ['stuck']);
  await pop.close();
});

test('popServiceOf gives every caller of one broker the same service', async () => {
  notifyPopMessageArriving(deps, 'Anything', 0);
  const first = popServiceOf(deps, { popDir: join(temp.root, 'svc-registry'), now });
  assert.equal(popServiceOf(deps), first);
  await closePopService(deps);
  await closePopService(deps);
});

test('past the in-flight cap a pop answers POLLING_FULL', async () => {
  createTopic('SvcCap');
  for (let index = 0; index < 5; index++) write('SvcCap', `m${index}`);
  const pop = service('svc-cap', { maxInflightMessagesPerGroup: 2 });
  const first = await pop.pop(request('G', 'SvcCap'));
  assert.equal(first.messages.length, 2);
  assert.equal((await pop.pop(request('G', 'SvcCap'))).status, 'POLLING_FULL');
  assert.equal(pop.ack('G', 'SvcCap', first.messages[0]!.receiptHandle), 'OK');
  const next = await pop.pop(request('G', 'SvcCap'));
  assert.equal(next.messages.length, 1);
  assert.equal(next.restNum, 2);
  await pop.close();
});

test('a crashed service (never closed) is recovered from its log: same in-flight, same offsets, old handles work', async () => {
  createTopic('SvcCrash');
  for (let index = 0; index < 4; index++) write('SvcCrash', `m${index}`);
  const crashed = service('svc-crash');
  const popped = await crashed.pop(request('G', 'SvcCrash', { maxMessages: 3 }));
  assert.equal(popped.messages.length, 3);
  assert.equal(crashed.ack('G', 'SvcCrash', popped.messages[0]!.receiptHandle), 'OK');
  await sleep(5); // the ack's write happens on the next turn of the event loop
  const recovered = service('svc-crash');
  assert.equal(recovered.inflightMessages('G'), 2);
  assert.equal(recovered.ack('G', 'SvcCrash', popped.messages[1]!.receiptHandle), 'OK');
  const next = await recovered.pop(request('G', 'SvcCrash'));
  assert.deepEqual(next.messages.map((message) => decodeBody(message.record)), ['m3'], 'popped messages are not handed out again');
  assert.equal(recovered.ack('G', 'SvcCrash', next.messages[0]!.receiptHandle), 'OK');
  clockMs += 10_100;
  recovered.tick();
  await settle();
  const back = await recovered.pop(request('G', 'SvcCrash'));
  assert.deepEqual(back.messages.map((message) => decodeBody(message.record)), ['m2']);
  await recovered.close();
  await crashed.close();
});

test('compaction keeps in-flight state across a restart', async () => {
  createTopic('SvcCompact');
  for (let index = 0; index < 40; index++) write('SvcCompact', `m${index}`);
  const first = service('svc-compact', { compactLogBytes: 256 });
  const handles: string[] = [];
  for (let round = 0; round < 20; round++) {
    const result = await first.pop(request('G', 'SvcCompact', { maxMessages: 2 }));
    handles.push(...result.messages.map((message) => message.receiptHandle));
    assert.equal(first.ack('G', 'SvcCompact', result.messages[0]!.receiptHandle), 'OK');
    await sleep(1);
  }
  await first.close();
  const files = readdirSync(join(temp.root, 'svc-compact'));
  assert.equal(files.filter((name) => name.startsWith('snapshot-')).length, 1, files.join());
  assert.equal(files.filter((name) => name.startsWith('log-')).length, 1, files.join());
  const second = service('svc-compact');
  assert.equal(second.inflightMessages('G'), 20);
  assert.equal((await second.pop(request('G', 'SvcCompact'))).status, 'NO_NEW_MSG');
  for (let index = 1; index < handles.length; index += 2) assert.equal(second.ack('G', 'SvcCompact', handles[index]!), 'OK');
  assert.equal(second.inflightMessages('G'), 0);
  await second.close();
});

test('a long poll is woken by an arrival and ends when aborted', async () => {
  createTopic('SvcPoll');
  const pop = service('svc-poll');
  const waiting = pop.pop(request('G', 'SvcPoll', { pollTimeMs: 60_000 }));
  await sleep(10);
  write('SvcPoll', 'late');
  pop.notifyMessageArriving('SvcPoll', 0);
  const result = await waiting;
  assert.equal(result.status, 'FOUND');
  assert.deepEqual(result.messages.map((message) => decodeBody(message.record)), ['late']);
  const controller = new AbortController();
  const aborted = pop.pop(request('G', 'SvcPoll', { pollTimeMs: 60_000, signal: controller.signal }));
  controller.abort();
  assert.equal((await aborted).status, 'NO_NEW_MSG');
  await pop.close();
});

test('past the broker-wide checkpoint limit pops and changes of invisible time answer SYSTEM_BUSY; acks still work', async () => {
  createTopic('SvcLimit', 2);
  for (let index = 0; index < 8; index++) write('SvcLimit', `m${index}`, index % 2);
  const pop = service('svc-limit', { maxCheckpoints: 3 });
  const handlers = new Map<number, RequestHandler>();
  registerPopHandlers(handlers, deps, pop);
  const first = await pop.pop(request('G', 'SvcLimit', { queueId: 0, maxMessages: 1 }));
  const second = await pop.pop(request('H', 'SvcLimit', { queueId: 1, maxMessages: 1 }));
  const third = await pop.pop(request('G', 'SvcLimit', { queueId: 1, maxMessages: 32 }));
  assert.deepEqual([first, second, third].map((result) => result.messages.length), [1, 1, 4]);
  assert.deepEqual(pop.stateStats().checkpoints, 3);
  assert.equal(pop.stateStats().capacity, 3, 'the table never grows past its limit');
  await assert.rejects(pop.pop(request('G', 'SvcLimit')), (error: unknown) => isTideError(error, 'SYSTEM_BUSY'));
  await assert.rejects(pop.pop(request('Other', 'SvcLimit')), (error: unknown) => isTideError(error, 'SYSTEM_BUSY'), 'the limit is per broker, not per group');
  const popAnswer = await new Promise<RemotingCommand>((resolve) => {
    const answer = handlers.get(RequestCode.POP_MESSAGE)!(popRequest('G', 'SvcLimit'), { connection: fakeConnection, reply: resolve });
    assert.equal(answer, null, 'POP_MESSAGE answers through reply');
  });
  assert.equal(popAnswer.code, ResponseCode.SYSTEM_BUSY, 'a remoting client is told to retry later');
  const [handle] = third.messages.map((message) => message.receiptHandle);
  assert.throws(() => pop.changeInvisibleTime('G', 'SvcLimit', handle!, 20_000), (error: unknown) => isTideError(error, 'SYSTEM_BUSY'));
  assert.equal(pop.ack('G', 'SvcLimit', handle!), 'OK', 'the old handle still works after a refused change');
  assert.equal(pop.ack('G', 'SvcLimit', first.messages[0]!.receiptHandle), 'OK');
  assert.equal(pop.stateStats().checkpoints, 2);
  const more = await pop.pop(request('G', 'SvcLimit', { queueId: 0 }));
  assert.equal(more.messages.length, 3, 'room for one checkpoint: one queue read');
  assert.equal(pop.stateStats().checkpoints, 3);
  await pop.close();
  // A restart with a lower limit keeps every checkpoint (nothing promised is dropped) and refuses pops.
  const lower = service('svc-limit', { maxCheckpoints: 1 });
  assert.equal(lower.stateStats().checkpoints, 3);
  assert.equal(lower.inflightMessages('G'), 6);
  await assert.rejects(lower.pop(request('G', 'SvcLimit')), (error: unknown) => isTideError(error, 'SYSTEM_BUSY'));
  for (const message of [...third.messages.slice(1), ...more.messages]) assert.equal(lower.ack('G', 'SvcLimit', message.receiptHandle), 'OK');
  assert.equal(lower.stateStats().checkpoints, 1);
  assert.equal(lower.stateStats().capacity, 1024, 'grown past the limit only as far as replay needed');
  await lower.close();
});
