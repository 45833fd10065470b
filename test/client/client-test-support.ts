/**
 * Shared setup of the client tests: a real `tidemq start` (or namesrv + brokers) on ephemeral ports
 * with small store files and one-second delay levels, client options with short timers, and helpers
 * to wait for conditions and collect messages.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempHome, startStandalone, type TideProcess } from '../support/tidemq-process.js';
import { PullConsumer, type MessageQueue, type ReceivedMessage } from '../../src/client/index.js';

export { waitFor, makeTempHome } from '../support/tidemq-process.js';

/** Every delay level is one second, so retries (level 3 + n) come back quickly. */
export const FAST_DELAY_LEVELS = Array.from({ length: 18 }, () => '1s').join(' ');

/** broker.conf lines that keep a test broker small and quick. */
export const SMALL_BROKER_PROPERTIES: Record<string, string> = {
  mappedFileSizeCommitLog: String(16 * 1024 * 1024),
  consumeQueueEntriesPerFile: '10000',
  maxHashSlotNum: '1000',
  maxIndexNum: '4000',
  messageDelayLevel: FAST_DELAY_LEVELS,
  scheduleTickIntervalMs: '50',
  pullHoldSweepIntervalMs: '50',
};

/** Client timers short enough for tests. */
export const FAST_CLIENT = {
  routeRefreshIntervalMs: 500,
  heartbeatIntervalMs: 1000,
} as const;

export const FAST_CONSUMER = {
  ...FAST_CLIENT,
  rebalanceIntervalMs: 500,
  persistOffsetIntervalMs: 500,
  lockRenewIntervalMs: 1000,
  pullSuspendMs: 2000,
  pullRetryDelayMs: 200,
  suspendCurrentQueueTimeMs: 200,
} as const;

export interface Standalone {
  namesrvAddr: string;
  brokerAddr: string;
  process: TideProcess;
  stop(): Promise<void>;
}

export function writeConf(home: string, properties: Record<string, string>): string {
  const path = join(home, 'test-broker.conf');
  writeFileSync(path, Object.entries(properties).map(([key, value]) => `${key}=${value}`).join('\n') + '\n');
  return path;
}

/** `tidemq start` with SMALL_BROKER_PROPERTIES (plus `extra`) in a temp home removed by stop(). */
export async function startTestBroker(extra: Record<string, string> = {}): Promise<Standalone> {
  const { home, cleanup } = makeTempHome('tidemq-client-');
  const conf = writeConf(home, { ...SMALL_BROKER_PROPERTIES, ...extra });
  const started = await startStandalone(home, ['-c', conf]);
  return {
    namesrvAddr: started.namesrvAddr,
    brokerAddr: started.brokerAddr,
    process: started,
    async stop() {
      await started.stop();
      cleanup();
    },
  };
}

let counter = 0;
/** A topic or group name unique within this process. */
export function uniqueName(prefix: string): string {
  counter++;
  return `${prefix}_${process.pid}_${counter}`;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Reads `count` messages from the start of `queues` with a throwaway pull consumer. */
export async function readMessages(namesrvAddr: string, queues: readonly MessageQueue[], count: number, timeoutMs = 15_000): Promise<ReceivedMessage[]> {
  const consumer = new PullConsumer({ namesrvAddr, group: uniqueName('ReaderGroup'), consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET', autoCommit: false, pullSuspendMs: 500, ...FAST_CLIENT });
  try {
    await consumer.assign(queues);
    const messages: ReceivedMessage[] = [];
    const deadline = Date.now() + timeoutMs;
    while (messages.length < count && Date.now() < deadline) messages.push(...(await consumer.poll({ timeoutMs: 500 })));
    return messages;
  } finally {
    await consumer.close();
  }
}
