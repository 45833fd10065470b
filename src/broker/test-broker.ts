/**
 * A small real broker for handler tests: a temp store (1 MiB commit-log segments, a small key index),
 * listening on a free loopback port, closed and deleted when the test ends. Not used by production
 * code.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { silentLogger } from '../common/logger.js';
import { Broker } from './broker.js';
import { createBrokerConfig, type BrokerConfig } from './broker-config.js';

export async function startTestBroker(t: TestContext, overrides: Partial<BrokerConfig> = {}): Promise<Broker> {
  const root = mkdtempSync(join(tmpdir(), 'tidemq-handler-test-'));
  const broker = new Broker(createBrokerConfig({
    storePathRootDir: root, listenPort: 0, listenHost: '127.0.0.1', brokerIP1: '127.0.0.1', mappedFileSizeCommitLog: 1024 * 1024, maxHashSlotNum: 1000, maxIndexNum: 4000,
    ...overrides,
  }), { logger: silentLogger });
  await broker.start();
  t.after(async () => {
    await broker.close();
    rmSync(root, { recursive: true, force: true });
  });
  return broker;
}
