/**
 * The four contestants of the race behind one interface: how to start one on a store directory in a
 * flush mode, create the benchmark topic, probe for the first accepted send, and which process runs
 * the benchmark workload against it.
 *
 * - tidemq: `tidemq start` (name server and broker in one process), broker.conf as RocketMQ's.
 * - rocketmq: Apache RocketMQ 5.x from Maven Central via test/support/rocketmq-process.ts; the name
 *   server runs for the whole system run, the broker is what is measured (pid, start, RSS).
 * - nats: Debian's nats-server with JetStream file storage via bench/peers/nats-process.ts.
 * - baseline: bench/race/baseline-server.ts, the minimal append-and-acknowledge mark.
 */
import { spawn } from 'node:child_process';
import { writeFileSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { Producer } from '../../src/client/producer.js';
import { ensureBenchTopic } from '../../src/cli/bench/bench-topic.js';
import { startNatsServer } from '../peers/nats-process.js';
import { startStandalone } from '../../test/support/tidemq-process.js';
import { ROCKETMQ_BROKER_DEFAULTS, startRocketMqBroker, startRocketMqNameServer, type RocketMqNameServer } from '../../test/support/rocketmq-process.js';

const DIST_ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');
export const TIDEMQ_CLI = join(DIST_ROOT, 'src/cli/tidemq.js');
const NATS_BENCH = join(DIST_ROOT, 'bench/peers/nats-bench.js');
const BASELINE_SERVER = join(DIST_ROOT, 'bench/race/baseline-server.js');

export type FlushMode = 'ASYNC_FLUSH' | 'SYNC_FLUSH';
export type SystemName = 'tidemq' | 'rocketmq' | 'nats' | 'baseline';

/**
 * Store settings both remoting brokers get, so neither wins on file geometry: RocketMQ's test-support
 * defaults (64 MiB commit-log files, small key index) and the same disk thresholds.
 */
export const SHARED_BROKER_PROPERTIES: Readonly<Record<string, string>> = {
  mappedFileSizeCommitLog: ROCKETMQ_BROKER_DEFAULTS.mappedFileSizeCommitLog!,
  maxHashSlotNum: ROCKETMQ_BROKER_DEFAULTS.maxHashSlotNum!,
  maxIndexNum: ROCKETMQ_BROKER_DEFAULTS.maxIndexNum!,
  autoCreateTopicEnable: 'true',
};

export interface RunningSystem {
  pid: number;
  /** Name server (remoting) or server URL (NATS). */
  address: string;
  stop(): Promise<void>;
}

export interface BenchArgs {
  mode: 'produce' | 'consume';
  topic: string;
  queues: number;
  size: number;
  producers: number;
  window: number;
  durationSeconds: number;
  rate: number;
  messages: number;
  warmupSeconds: number;
  from: 'earliest' | 'latest';
  untilCaughtUp: boolean;
  idleExitSeconds: number;
}

export interface SystemAdapter {
  name: SystemName;
  /** Whether it serves consumers (the baseline does not). */
  consumes: boolean;
  /** Flush modes it really has; others are skipped (or reported as not available). */
  flushModes: readonly FlushMode[];
  /** Notes for the report (versions, what a mode means there). */
  notes: string[];
  /** Starts what must not count toward the broker's start time (RocketMQ's separate name server). */
  prepare?(dataDir: string): Promise<void>;
  start(home: string, flush: FlushMode): Promise<RunningSystem>;
  createTopic(running: RunningSystem, topic: string, queues: number): Promise<void>;
  /** Sends until one is accepted; resolves with Date.now() of that acknowledgement. */
  firstAcceptedSend(running: RunningSystem, timeoutMs: number): Promise<number>;
  benchCommand(running: RunningSystem, args: BenchArgs): { command: string; args: string[] };
  /** Ends what outlives one broker (RocketMQ's name server). */
  close(): Promise<void>;
}

function remotingBenchArgs(address: string, args: BenchArgs): string[] {
  return [
    TIDEMQ_CLI, 'bench', args.mode, '-n', address, '-t', args.topic, '-q', String(args.queues), '-s', String(args.size),
    '-c', String(args.producers), '-w', String(args.window), '-d', String(args.durationSeconds), '-r', String(args.rate),
    '--messages', String(args.messages), '--warmup', String(args.warmupSeconds), '--from', args.from,
    '--idle-exit', String(args.idleExitSeconds), '--no-create-topic', '--pull-batch', '32',
    ...(args.untilCaughtUp ? ['--until-caught-up'] : []),
  ];
}

export async function remotingFirstSend(namesrvAddr: string, timeoutMs: number): Promise<number> {
  const producer = new Producer({ namesrvAddr, requestTimeoutMs: 1000, sendTimeoutMs: 2000, faultTolerance: false, retryTimesWhenSendFailed: 0 });
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      try {
        const result = await producer.send({ topic: 'RaceStartProbe', body: 'probe' });
        if (result.status === 'SEND_OK') return Date.now();
      } catch (error) {
        if (Date.now() > deadline) throw error;
      }
      await new Promise((resolveSleep) => setTimeout(resolveSleep, 10));
    }
  } finally {
    await producer.close().catch(() => undefined);
  }
}

function writeConf(path: string, properties: Record<string, string>): void {
  writeFileSync(path, Object.entries(properties).map(([key, value]) => `${key}=${value}`).join('\n') + '\n');
}

export function tidemqAdapter(): SystemAdapter {
  return {
    name: 'tidemq',
    consumes: true,
    flushModes: ['ASYNC_FLUSH', 'SYNC_FLUSH'],
    notes: ['TideMQ: `tidemq start` (name server and broker in one Node process).'],
    async start(home, flush) {
      mkdirSync(home, { recursive: true });
      const confPath = join(home, 'broker.conf');
      writeConf(confPath, { ...SHARED_BROKER_PROPERTIES, flushDiskType: flush });
      const started = await startStandalone(home, ['-c', confPath]);
      return { pid: started.child.pid ?? -1, address: started.namesrvAddr, stop: async () => void (await started.stop()) };
    },
    createTopic: (running, topic, queues) => ensureBenchTopic(running.address, topic, queues),
    firstAcceptedSend: (running, timeoutMs) => remotingFirstSend(running.address, timeoutMs),
    benchCommand: (running, args) => ({ command: process.execPath, args: remotingBenchArgs(running.address, args) }),
    close: async () => undefined,
  };
}

export function rocketmqAdapter(): SystemAdapter {
  let nameServer: RocketMqNameServer | undefined;
  return {
    name: 'rocketmq',
    consumes: true,
    flushModes: ['ASYNC_FLUSH', 'SYNC_FLUSH'],
    notes: ['Apache RocketMQ 5.3.3 name server + broker (Maven Central jars, scripts/rocketmq-server.sh), broker heap -Xms256m -Xmx512m, G1; the broker JVM is what is measured.'],
    async prepare(dataDir) {
      nameServer ??= await startRocketMqNameServer({ home: join(dataDir, 'rocketmq-namesrv') });
    },
    async start(home, flush) {
      nameServer ??= await startRocketMqNameServer({ home: join(home, '..', 'rocketmq-namesrv') });
      const broker = await startRocketMqBroker({ home, namesrvAddr: nameServer.namesrvAddr, flushDiskType: flush, properties: { ...SHARED_BROKER_PROPERTIES } });
      return { pid: broker.pid, address: nameServer.namesrvAddr, stop: () => broker.stop() };
    },
    createTopic: (running, topic, queues) => ensureBenchTopic(running.address, topic, queues),
    firstAcceptedSend: (running, timeoutMs) => remotingFirstSend(running.address, timeoutMs),
    benchCommand: (running, args) => ({ command: process.execPath, args: remotingBenchArgs(running.address, args) }),
    async close() {
      await nameServer?.stop();
      nameServer = undefined;
    },
  };
}

export function natsAdapter(): SystemAdapter {
  const notes: string[] = [];
  let syncAlwaysSupported: boolean | undefined;
  const adapter: SystemAdapter = {
    name: 'nats',
    consumes: true,
    flushModes: ['ASYNC_FLUSH', 'SYNC_FLUSH'],
    notes,
    async start(home, flush) {
      const server = await startNatsServer({ home, syncAlways: flush === 'SYNC_FLUSH' });
      if (syncAlwaysSupported === undefined) {
        syncAlwaysSupported = server.syncAlwaysSupported;
        notes.push(
          `NATS JetStream: nats-server ${server.version} (Debian), file storage, one stream with one subject per "queue", ordered pull consumer.` +
            (server.syncAlwaysSupported ? ' SYNC_FLUSH = `sync_interval: always`.' : ` nats-server ${server.version} has no \`sync_interval\` (added in 2.10), so it cannot fsync every write: its SYNC_FLUSH column repeats its only mode.`),
        );
        if (!server.syncAlwaysSupported) adapter.flushModes = ['ASYNC_FLUSH'];
      }
      return { pid: server.pid, address: server.url, stop: () => server.stop() };
    },
    async createTopic(running, topic) {
      const connection = await connect({ servers: running.address });
      try {
        const manager = await jetstreamManager(connection);
        await manager.streams.add({ name: topic, subjects: [`${topic.toLowerCase()}.>`], storage: 'file', num_replicas: 1 });
      } finally {
        await connection.close();
      }
    },
    async firstAcceptedSend(running, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        try {
          const connection = await connect({ servers: running.address, timeout: 1000 });
          try {
            const manager = await jetstreamManager(connection);
            await manager.streams.add({ name: 'RaceStartProbe', subjects: ['racestartprobe'], storage: 'file', num_replicas: 1 });
            await jetstream(connection).publish('racestartprobe', 'probe');
            return Date.now();
          } finally {
            await connection.close();
          }
        } catch (error) {
          if (Date.now() > deadline) throw error;
          await new Promise((resolveSleep) => setTimeout(resolveSleep, 10));
        }
      }
    },
    benchCommand: (running, args) => ({
      command: process.execPath,
      args: [
        NATS_BENCH, args.mode, '--server', running.address, '--stream', args.topic, '--subject', args.topic.toLowerCase(),
        '--queues', String(args.queues), '--size', String(args.size), '--producers', String(args.producers), '--window', String(args.window),
        '--duration', String(args.durationSeconds), '--rate', String(args.rate), '--messages', String(args.messages),
        '--warmup', String(args.warmupSeconds), '--from', args.from, '--idle-exit', String(args.idleExitSeconds),
        ...(args.untilCaughtUp ? ['--until-caught-up'] : []),
      ],
    }),
    close: async () => undefined,
  };
  return adapter;
}

export function baselineAdapter(queues: number): SystemAdapter {
  return {
    name: 'baseline',
    consumes: false,
    flushModes: ['ASYNC_FLUSH', 'SYNC_FLUSH'],
    notes: ['Baseline: bench/race/baseline-server.ts, one Node process that appends request frames to a file with one writev per batch (SYNC_FLUSH: + one fdatasync) and acknowledges; no index, no consume.'],
    async start(home, flush) {
      mkdirSync(home, { recursive: true });
      const child = spawn(process.execPath, [BASELINE_SERVER, '--dir', home, '--port', '0', '--flush', flush === 'SYNC_FLUSH' ? 'sync' : 'async', '--queues', String(queues)], { stdio: ['ignore', 'pipe', 'inherit'] });
      const exited = new Promise<void>((resolveExit) => child.once('exit', () => resolveExit()));
      const port = await new Promise<number>((resolvePort, rejectPort) => {
        let output = '';
        child.stdout!.on('data', (chunk: Buffer) => {
          output += chunk.toString();
          const match = /baseline listening on [\d.]+:(\d+)/.exec(output);
          if (match !== null) resolvePort(Number(match[1]));
        });
        child.once('exit', (code) => rejectPort(new Error(`baseline server exited with ${code}: ${output}`)));
      });
      return {
        pid: child.pid ?? -1,
        address: `127.0.0.1:${port}`,
        async stop() {
          child.kill('SIGTERM');
          await exited;
        },
      };
    },
    createTopic: async () => undefined,
    firstAcceptedSend: (running, timeoutMs) => remotingFirstSend(running.address, timeoutMs),
    benchCommand: (running, args) => ({ command: process.execPath, args: remotingBenchArgs(running.address, args) }),
    close: async () => undefined,
  };
}
