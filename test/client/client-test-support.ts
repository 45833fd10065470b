/**
 * Shared setup of the client tests: a real broker on ephemeral ports with small store files and
 * one-second delay levels, client options with short timers, and helpers to wait for conditions and
 * collect messages.
 *
 * The same suite runs against two systems. By default the broker is `tidemq start` (or `tidemq namesrv`
 * + `tidemq broker` for cluster tests). With TIDEMQ_TEST_TARGET=rocketmq it is Apache RocketMQ 5.x
 * (NamesrvStartup + BrokerStartup JVMs, see test/support/rocketmq-process.ts; `npm run test:rocketmq`),
 * so a difference between the two shows up as a test that passes on one and fails on the other.
 * Both expose a name server and a broker `broker-a` in `DefaultCluster`.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempHome, startBroker, startNameServer, startStandalone, type TideProcess } from '../support/tidemq-process.js';
import { startRocketMq, startRocketMqBroker, startRocketMqNameServer, BROKER_JVM_OPTIONS, NAMESRV_JVM_OPTIONS } from '../support/rocketmq-process.js';
import { PullConsumer, type MessageQueue, type ReceivedMessage } from '../../src/client/index.js';

export { waitFor, makeTempHome } from '../support/tidemq-process.js';

export type TestTarget = 'tidemq' | 'rocketmq';

function readTarget(): TestTarget {
  const value = process.env.TIDEMQ_TEST_TARGET ?? 'tidemq';
  if (value !== 'tidemq' && value !== 'rocketmq') throw new Error(`TIDEMQ_TEST_TARGET must be tidemq or rocketmq, not ${value}`);
  return value;
}

/** Which system the client suite runs against (TIDEMQ_TEST_TARGET, default tidemq). */
export const TEST_TARGET: TestTarget = readTarget();

/**
 * Timeout of a suite (its hooks included). A RocketMQ name server plus broker need 10-25 s to boot on
 * two cores and a broker ~10 s to shut down gracefully, where `tidemq start` needs well under a second.
 */
export const SUITE_TIMEOUT_MS = TEST_TARGET === 'rocketmq' ? 300_000 : 60_000;

/** Every delay level is one second, so retries (level 3 + n) come back quickly. */
export const FAST_DELAY_LEVELS = Array.from({ length: 18 }, () => '1s').join(' ');

/**
 * Transaction check-back settings (same names in both systems): a check pass every second over half
 * messages older than two seconds, instead of every 30 s over those older than 6 s.
 */
const FAST_TRANSACTION_CHECKS: Record<string, string> = {
  transactionCheckInterval: '1000',
  transactionTimeOut: '2000',
};

/** broker.conf lines that keep a test broker small and quick. */
export const SMALL_BROKER_PROPERTIES: Record<string, string> = {
  mappedFileSizeCommitLog: String(16 * 1024 * 1024),
  consumeQueueEntriesPerFile: '10000',
  maxHashSlotNum: '1000',
  maxIndexNum: '4000',
  messageDelayLevel: FAST_DELAY_LEVELS,
  scheduleTickIntervalMs: '50',
  pullHoldSweepIntervalMs: '50',
  ...FAST_TRANSACTION_CHECKS,
};

/**
 * The same for RocketMQ, in its property names (it has no consumeQueueEntriesPerFile, tick or sweep
 * settings: delays tick every 100 ms and held pulls wake on arrival). RocketMQ 5 writes the op record
 * of a commit/rollback in batches, every transactionOpBatchInterval (default 3 s); a half message
 * whose op record is still unwritten when it reaches transactionTimeOut is checked back even though
 * the producer already ended it. So the batch interval must stay well below the timeout.
 */
export const ROCKETMQ_SMALL_BROKER_PROPERTIES: Record<string, string> = {
  mappedFileSizeCommitLog: String(16 * 1024 * 1024),
  mappedFileSizeConsumeQueue: String(10_000 * 20),
  maxHashSlotNum: '1000',
  maxIndexNum: '4000',
  messageDelayLevel: FAST_DELAY_LEVELS,
  ...FAST_TRANSACTION_CHECKS,
  transactionOpBatchInterval: '200',
};

/** JVM flags for test JVMs: C1 only, since a test JVM lives seconds and boot time dominates. */
const TEST_BROKER_JVM_OPTIONS = [...BROKER_JVM_OPTIONS, '-XX:TieredStopAtLevel=1'];
const TEST_NAMESRV_JVM_OPTIONS = [...NAMESRV_JVM_OPTIONS, '-XX:TieredStopAtLevel=1'];

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
  target: TestTarget;
  /** The `tidemq start` process (undefined when the target is RocketMQ). */
  process?: TideProcess;
  stop(): Promise<void>;
}

export function writeConf(home: string, properties: Record<string, string>): string {
  const path = join(home, 'test-broker.conf');
  writeFileSync(path, Object.entries(properties).map(([key, value]) => `${key}=${value}`).join('\n') + '\n');
  return path;
}

/**
 * A name server plus broker `broker-a` with the small-broker properties of the target (plus `extra`,
 * in RocketMQ property names), in a temp home removed by stop().
 */
export async function startTestBroker(extra: Record<string, string> = {}): Promise<Standalone> {
  const { home, cleanup } = makeTempHome(`tidemq-client-${TEST_TARGET}-`);
  try {
    if (TEST_TARGET === 'rocketmq') {
      const started = await startRocketMq({ home, brokerProperties: { ...ROCKETMQ_SMALL_BROKER_PROPERTIES, ...extra }, brokerJvmOptions: TEST_BROKER_JVM_OPTIONS, namesrvJvmOptions: TEST_NAMESRV_JVM_OPTIONS });
      return {
        namesrvAddr: started.namesrvAddr,
        brokerAddr: started.brokerAddr,
        target: TEST_TARGET,
        // SIGKILL: the data is thrown away, and RocketMQ's graceful shutdown takes ~10 s per broker.
        async stop() {
          await started.kill();
          cleanup();
        },
      };
    }
    const conf = writeConf(home, { ...SMALL_BROKER_PROPERTIES, ...extra });
    const started = await startStandalone(home, ['-c', conf]);
    return {
      namesrvAddr: started.namesrvAddr,
      brokerAddr: started.brokerAddr,
      target: TEST_TARGET,
      process: started,
      async stop() {
        await started.stop();
        cleanup();
      },
    };
  } catch (error) {
    cleanup();
    throw error;
  }
}

/** A process of a test cluster, whichever the target. */
export interface TestServer {
  /** Graceful stop (SIGTERM), waiting for exit. */
  stop(): Promise<void>;
  /** SIGKILL, waiting for exit. */
  kill(): Promise<void>;
}

/** A lone name server (files in `home`), for tests that run several brokers. */
export async function startTestNameServer(home: string): Promise<TestServer & { namesrvAddr: string }> {
  if (TEST_TARGET === 'rocketmq') {
    const started = await startRocketMqNameServer({ home, jvmOptions: TEST_NAMESRV_JVM_OPTIONS });
    return { namesrvAddr: started.namesrvAddr, stop: () => started.stop(), kill: () => started.kill() };
  }
  const started = await startNameServer(home);
  return { namesrvAddr: started.namesrvAddr, stop: async () => void (await started.stop()), kill: () => started.kill() };
}

/** A broker named `brokerName` registered with `namesrvAddr`, with the target's small-broker properties plus `properties`. */
export async function startTestClusterBroker(options: { home: string; namesrvAddr: string; brokerName: string; properties?: Record<string, string> }): Promise<TestServer & { brokerAddr: string }> {
  if (TEST_TARGET === 'rocketmq') {
    const started = await startRocketMqBroker({
      home: options.home,
      namesrvAddr: options.namesrvAddr,
      properties: { ...ROCKETMQ_SMALL_BROKER_PROPERTIES, ...options.properties, brokerName: options.brokerName },
      jvmOptions: TEST_BROKER_JVM_OPTIONS,
    });
    return { brokerAddr: started.brokerAddr, stop: () => started.stop(), kill: () => started.kill() };
  }
  const started = await startBroker({ home: options.home, namesrvAddr: options.namesrvAddr, brokerName: options.brokerName, properties: { ...SMALL_BROKER_PROPERTIES, ...options.properties } });
  return { brokerAddr: started.brokerAddr, stop: async () => void (await started.stop()), kill: () => started.kill() };
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
