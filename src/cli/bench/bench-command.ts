/**
 * Registers `tidemq bench produce | consume | e2e` on the CLI. Progress goes to stderr, one line a
 * second; the JSON summary is the only thing printed on stdout (and optionally written to a file).
 */
import { writeFileSync } from 'node:fs';
import { InvalidArgumentError, type Command } from 'commander';
import type { BenchSummary } from './bench-report.js';
import type { RemotingBenchOptions } from './remoting-bench.js';

function positiveInteger(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed <= 0) throw new InvalidArgumentError('must be a positive integer');
  return parsed;
}

function nonNegativeNumber(value: string): number {
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed < 0) throw new InvalidArgumentError('must be a number ≥ 0');
  return parsed;
}

function startingPoint(value: string): 'earliest' | 'latest' {
  if (value !== 'earliest' && value !== 'latest') throw new InvalidArgumentError('must be earliest or latest');
  return value;
}

interface BenchFlags {
  namesrv: string;
  topic: string;
  queues: number;
  size: number;
  producers: number;
  window: number;
  duration: number;
  rate: number;
  messages: number;
  warmup: number;
  createTopic: boolean;
  group?: string;
  from: 'earliest' | 'latest';
  untilCaughtUp: boolean;
  idleExit: number;
  pullBatch: number;
  sendTimeout: number;
  quiet: boolean;
  json?: string;
}

function addCommonOptions(command: Command): Command {
  return command
    .option('-n, --namesrv <addr>', 'name server address host:port', '127.0.0.1:9876')
    .option('-t, --topic <name>', 'topic', 'BenchTopic')
    .option('-q, --queues <n>', 'queues of the topic (created when missing)', positiveInteger, 8)
    .option('-s, --size <bytes>', 'message body size', positiveInteger, 1024)
    .option('-c, --producers <n>', 'producer clients, one connection each', positiveInteger, 1)
    .option('-w, --window <n>', 'sends in flight per producer', positiveInteger, 256)
    .option('-d, --duration <s>', 'seconds to run (0 = until another limit stops it)', nonNegativeNumber, 10)
    .option('-r, --rate <msgs/s>', 'fixed total send rate (0 = as fast as possible)', nonNegativeNumber, 0)
    .option('--messages <n>', 'stop after this many messages (0 = no limit)', nonNegativeNumber, 0)
    .option('--warmup <s>', 'seconds of sending before measuring starts', nonNegativeNumber, 0)
    .option('--no-create-topic', 'do not create the topic (it must exist with --queues queues)')
    .option('-g, --group <name>', 'consumer group (default: a fresh name per run)')
    .option('--from <where>', 'consume: earliest or latest', startingPoint, 'latest')
    .option('--until-caught-up', 'consume: stop when the queues reach the max offsets they had at the start', false)
    .option('--idle-exit <s>', 'consume: stop after this many seconds without a message (0 = never)', nonNegativeNumber, 0)
    .option('--pull-batch <n>', 'consume: messages per pull', positiveInteger, 32)
    .option('--send-timeout <ms>', 'timeout of one send, retries included', positiveInteger, 10_000)
    .option('--quiet', 'no progress lines', false)
    .option('--json <file>', 'also write the JSON summary to this file');
}

function toOptions(flags: BenchFlags): RemotingBenchOptions {
  return {
    namesrvAddr: flags.namesrv,
    topic: flags.topic,
    queues: flags.queues,
    messageBytes: flags.size,
    producers: flags.producers,
    window: flags.window,
    ratePerSecond: flags.rate > 0 ? flags.rate : null,
    durationSeconds: flags.duration,
    messageLimit: Math.floor(flags.messages),
    warmupSeconds: flags.warmup,
    createTopic: flags.createTopic,
    group: flags.group,
    from: flags.from,
    untilCaughtUp: flags.untilCaughtUp,
    idleExitSeconds: flags.idleExit,
    pullBatchSize: flags.pullBatch,
    sendTimeoutMs: flags.sendTimeout,
    quiet: flags.quiet,
  };
}

/** Prints the summary, then exits: client timers must not keep a finished run alive. */
function reportAndExit(summary: BenchSummary, flags: BenchFlags): void {
  const line = JSON.stringify(summary);
  if (flags.json !== undefined) writeFileSync(flags.json, `${line}\n`);
  process.stdout.write(`${line}\n`, () => process.exit(0));
}

/** The client is loaded only when a bench command runs, so `tidemq start` does not pay for it at boot. */
const loadRunners = (): Promise<typeof import('./remoting-bench.js')> => import('./remoting-bench.js');

/** Adds the `bench` command and its three subcommands to `program`. */
export function registerBenchCommand(program: Command): void {
  const bench = program.command('bench').description('benchmark a TideMQ or RocketMQ broker over the remoting protocol');
  addCommonOptions(bench.command('produce').description('send as fast as possible (or at --rate) and measure acknowledgements')).action(async (flags: BenchFlags) => {
    reportAndExit(await (await loadRunners()).runProduceBench(toOptions(flags)), flags);
  });
  addCommonOptions(bench.command('consume').description('consume the topic and measure throughput and send-to-receipt latency')).action(async (flags: BenchFlags) => {
    reportAndExit(await (await loadRunners()).runConsumeBench(toOptions(flags)), flags);
  });
  addCommonOptions(bench.command('e2e').description('produce and consume in one process; latency from send to receipt')).action(async (flags: BenchFlags) => {
    reportAndExit(await (await loadRunners()).runE2eBench(toOptions(flags)), flags);
  });
}
