// Proves that under SYNC_FLUSH a POP revive keeps a checkpoint (in memory and in the pop log) while the disk has not confirmed its re-stored copies, never stores the copies twice while waiting, drops the checkpoint once they are durable, and after a failed re-store acks only the copies made durable.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, fdatasync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../common/logger.js';
import { decodeRecord } from '../../protocol/message-record.js';
import { nodeFileIo, type FileIo } from '../../store/file-io.js';
import { Broker } from '../broker.js';
import { createBrokerConfig } from '../broker-config.js';
import type { BrokerDeps } from '../broker-deps.js';
import { newTopicConfig } from '../topic-config-manager.js';
import { createPopService, type PopRequest, type PopService } from './pop-service.js';
import { sleep } from './pop-test-support.js';

const SYNC_FLUSH_TIMEOUT_MS = 150;

interface Fixture {
  deps: BrokerDeps;
  root: string;
  /** fdatasyncs of the commit log wait while true. */
  setHang(hang: boolean): void;
  clock: { ms: number };
  service(): PopService;
  /** The in-flight count a PopService sees when it recovers a copy of the pop log as it is on disk now. */
  inflightAfterRestart(group: string): Promise<number>;
}

async function withBroker(maxTopicCount: number, body: (fixture: Fixture) => Promise<void>): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'tidemq-pop-durable-'));
  let hang = false;
  const held: Array<() => void> = [];
  const fileIo: FileIo = {
    write: nodeFileIo.write,
    fdatasync(fd, callback) {
      const run = (): void => fdatasync(fd, callback);
      if (hang) held.push(run);
      else run();
    },
  };
  const broker = new Broker(createBrokerConfig({
    storePathRootDir: root, listenPort: 0, listenHost: '127.0.0.1', brokerIP1: '127.0.0.1',
    mappedFileSizeCommitLog: 4 * 1024 * 1024, consumeQueueEntriesPerFile: 10_000, maxHashSlotNum: 1000, maxIndexNum: 4000,
    flushDiskType: 'SYNC_FLUSH', syncFlushTimeout: SYNC_FLUSH_TIMEOUT_MS, maxTopicCount,
  }), { logger: silentLogger, storeOptions: { fileIo } });
  await broker.start();
  const deps = broker.brokerDeps;
  const clock = { ms: 1_800_000_000_000 };
  const services: PopService[] = [];
  let copies = 0;
  try {
    await body({
      deps,
      root,
      clock,
      setHang(value) {
        hang = value;
        if (!value) for (const run of held.splice(0)) run();
      },
      service() {
        const service = createPopService(deps, { popDir: join(root, 'pop-under-test'), now: () => clock.ms, tickIntervalMs: 50, reviveRetryDelayMs: 1000 });
        services.push(service);
        return service;
      },
      async inflightAfterRestart(group) {
        await sleep(5); // the pop log's flushSoon runs on the next turn
        const copy = join(root, `pop-copy-${copies++}`);
        cpSync(join(root, 'pop-under-test'), copy, { recursive: true });
        const recovered = createPopService(deps, { popDir: copy, now: () => clock.ms });
        const inflight = recovered.inflightMessages(group);
        await recovered.close();
        return inflight;
      },
    });
  } finally {
    hang = false;
    for (const run of held.splice(0)) run();
    for (const service of services) await service.close();
    await broker.close();
    rmSync(root, { recursive: true, force: true });
  }
}

function createTopic(deps: BrokerDeps, topic: string): void {
  deps.topicConfigManager.updateTopicConfig(newTopicConfig(topic, { readQueueNums: 1, writeQueueNums: 1 }));
}

async function writeDurably(deps: BrokerDeps, topic: string, body: string, reconsumeTimes = 0): Promise<void> {
  const written = deps.writer.write({
    topic, queueId: 0, flag: 0, sysFlag: 0, bornTimestamp: Date.now(), bornHost: deps.runtime.storeHost, reconsumeTimes,
    preparedTransactionOffset: 0, body: Buffer.from(body), properties: new Map([['TAGS', 'A']]),
  });
  assert.equal(await deps.store.waitDurable(written.result.endOffset), 'PUT_OK');
}

function request(group: string, topic: string): PopRequest {
  return { group, topic, queueId: -1, maxMessages: 32, invisibleTimeMs: 10_000, pollTimeMs: 0, initMode: 'MIN' };
}

function bodies(deps: BrokerDeps, topic: string): string[] {
  return deps.store.getMessages(topic, 0, 0, 32, 1 << 20).records.map((record) => decodeRecord(record)!.body.toString());
}

async function until(probe: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

test('a revived checkpoint stays until its copy is durable, then goes', async () => {
  await withBroker(10_000, async ({ deps, setHang, clock, service, inflightAfterRestart }) => {
    createTopic(deps, 'Revive');
    await writeDurably(deps, 'Revive', 'one');
    const pop = service();
    const popped = await pop.pop(request('G', 'Revive'));
    assert.equal(popped.messages.length, 1);

    setHang(true);
    clock.ms += 10_100; // past the invisible time and its wheel bucket
    pop.tick();
    // Three syncFlushTimeouts pass with the disk silent.
    await sleep(3 * SYNC_FLUSH_TIMEOUT_MS + 100);
    pop.tick();
    assert.deepEqual(bodies(deps, '%RETRY%G_Revive'), ['one'], 'the copy is written once, not again per timeout');
    assert.equal(pop.inflightMessages('G'), 1, 'the checkpoint is kept while the copy is not durable');
    assert.equal(await inflightAfterRestart('G'), 1, 'the pop log does not say the message was handled');

    setHang(false);
    await until(() => pop.inflightMessages('G') === 0, 'the checkpoint to go once the copy is durable');
    assert.equal(await inflightAfterRestart('G'), 0);
    assert.deepEqual(bodies(deps, '%RETRY%G_Revive'), ['one']);
    const again = await pop.pop(request('G', 'Revive'));
    assert.deepEqual(again.messages.map((message) => [decodeRecord(message.record)!.body.toString(), message.reconsumeTimes]), [['one', 1]]);
  });
});

test('a revive that fails half way acks only the copies it made, once they are durable', async () => {
  // Room for Spare, Half and %RETRY%G_Half: the DLQ copy of the second message is refused at first.
  await withBroker(3, async ({ deps, setHang, clock, service, inflightAfterRestart }) => {
    assert.equal(deps.topicConfigManager.topicCount, 0);
    createTopic(deps, 'Spare');
    createTopic(deps, 'Half');
    await writeDurably(deps, 'Half', 'to-retry');
    await writeDurably(deps, 'Half', 'to-dlq', 16); // reconsumeTimes at retryMaxTimes: the revive sends it to %DLQ%G
    const pop = service();
    assert.equal((await pop.pop(request('G', 'Half'))).messages.length, 2);

    setHang(true);
    clock.ms += 10_100; // past the invisible time and its wheel bucket
    pop.tick();
    await sleep(2 * SYNC_FLUSH_TIMEOUT_MS + 50);
    assert.deepEqual(bodies(deps, '%RETRY%G_Half'), ['to-retry']);
    assert.equal(deps.topicConfigManager.get('%DLQ%G'), undefined, 'the DLQ could not be created (maxTopicCount)');
    assert.equal(pop.inflightMessages('G'), 2, 'nothing is acked while the retry copy is not durable');
    assert.equal(await inflightAfterRestart('G'), 2);

    setHang(false);
    await until(() => pop.inflightMessages('G') === 1, 'the durable retry copy to be acked');
    assert.equal(await inflightAfterRestart('G'), 1);

    // With room for the DLQ, the retried revive stores only the message still un-acked.
    assert.ok(deps.topicConfigManager.deleteTopicConfig('Spare'));
    clock.ms += 1100; // past reviveRetryDelayMs and its wheel bucket
    pop.tick();
    await until(() => pop.inflightMessages('G') === 0, 'the retried revive to finish');
    assert.deepEqual(bodies(deps, '%DLQ%G'), ['to-dlq']);
    assert.deepEqual(bodies(deps, '%RETRY%G_Half'), ['to-retry'], 'the retry copy was not stored twice');
    assert.equal(await inflightAfterRestart('G'), 0);
  });
});
