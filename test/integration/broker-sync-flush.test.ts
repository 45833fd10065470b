// Proves that under SYNC_FLUSH a send is answered SUCCESS only after fdatasync, FLUSH_DISK_TIMEOUT (10) when the disk does not confirm in time, and at once with WAIT=false.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fdatasync } from 'node:fs';
import { nodeFileIo, type FileIo } from '../../src/store/file-io.js';
import { silentLogger } from '../../src/common/logger.js';
import { Broker } from '../../src/broker/broker.js';
import { createBrokerConfig } from '../../src/broker/broker-config.js';
import { newClient, sendV2Request, tempRoot } from './broker-test-support.js';

test('SYNC_FLUSH answers follow the disk', async (t) => {
  const temp = tempRoot();
  let hang = false;
  let syncCalls = 0;
  const held: Array<() => void> = [];
  const fileIo: FileIo = {
    write: nodeFileIo.write,
    fdatasync(fd, callback) {
      syncCalls++;
      const run = (): void => fdatasync(fd, callback);
      if (hang) held.push(run);
      else run();
    },
  };
  const config = createBrokerConfig({
    storePathRootDir: temp.root, listenPort: 0, listenHost: '127.0.0.1', brokerIP1: '127.0.0.1',
    mappedFileSizeCommitLog: 1024 * 1024, flushDiskType: 'SYNC_FLUSH', syncFlushTimeout: 300,
  });
  const broker = new Broker(config, { logger: silentLogger, storeOptions: { fileIo } });
  const { brokerAddr } = await broker.start();
  const client = newClient();
  t.after(async () => {
    hang = false;
    for (const run of held.splice(0)) run();
    await client.close();
    await broker.close();
    temp.remove();
  });

  const callsBefore = syncCalls;
  const ok = await client.invoke(brokerAddr, sendV2Request('Durable', 'one'));
  assert.equal(ok.code, 0, ok.remark);
  assert.ok(syncCalls > callsBefore, 'an fdatasync ran before the answer');

  hang = true;
  const late = await client.invoke(brokerAddr, sendV2Request('Durable', 'two'));
  assert.equal(late.code, 10, 'FLUSH_DISK_TIMEOUT, never SUCCESS');
  assert.ok(late.extFields?.msgId, 'the answer still says where the message is');
  assert.equal(late.extFields?.queueOffset, '1');
  const noWait = await client.invoke(brokerAddr, sendV2Request('Durable', 'three', { properties: { WAIT: 'false' } }));
  assert.equal(noWait.code, 0, 'WAIT=false does not wait for the disk');

  hang = false;
  for (const run of held.splice(0)) run();
  const again = await client.invoke(brokerAddr, sendV2Request('Durable', 'four'));
  assert.equal(again.code, 0, again.remark);
});
