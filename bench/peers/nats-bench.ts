/**
 * The NATS JetStream side of the race: the workload shape of `tidemq bench`, driven with NATS's own
 * npm client, reported in the same JSON summary (see src/cli/bench/bench-report.ts).
 *
 * - A "topic" with N "queues" is one file-storage stream whose subjects are `<subject>.0 … <subject>.N-1`;
 *   sends go round robin over the subjects, as the remoting producer goes round robin over queues.
 * - produce: `producers` connections, each with `window` JetStream publishes in flight (each acked by
 *   the stream), as fast as possible or at a fixed rate; the same send loop as `tidemq bench`.
 * - consume: one ordered pull consumer (deliver all / new), messages counted as they are yielded.
 *
 *   node dist/bench/peers/nats-bench.js produce --server 127.0.0.1:4222 [--stream BENCH] [--subject bench]
 *        [--queues 8] [--size 1024] [--producers 1] [--window 256] [--duration 10] [--rate 0] [--warmup 0]
 *   node dist/bench/peers/nats-bench.js consume --server … [--from earliest|latest] [--until-caught-up]
 *        [--duration 0] [--messages 0] [--idle-exit 0]
 *
 * Progress lines go to stderr; the JSON summary is the last line on stdout.
 */
import { parseArgs } from 'node:util';
import { jetstream, jetstreamManager, DeliverPolicy, type JetStreamClient } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { monotonicNowNs, readBenchSendTimeNs, WARMUP_BODY } from '../../src/cli/bench/bench-body.js';
import { BenchCounters, BenchMode, buildSummary, loadAverage, ProgressPrinter, type BenchSummary } from '../../src/cli/bench/bench-report.js';
import { runSendLoop } from '../../src/cli/bench/send-loop.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    server: { type: 'string', default: '127.0.0.1:4222' },
    stream: { type: 'string', default: 'BENCH' },
    subject: { type: 'string', default: 'bench' },
    queues: { type: 'string', default: '8' },
    size: { type: 'string', default: '1024' },
    producers: { type: 'string', default: '1' },
    window: { type: 'string', default: '256' },
    duration: { type: 'string', default: '10' },
    rate: { type: 'string', default: '0' },
    messages: { type: 'string', default: '0' },
    warmup: { type: 'string', default: '0' },
    from: { type: 'string', default: 'latest' },
    'until-caught-up': { type: 'boolean', default: false },
    'idle-exit': { type: 'string', default: '0' },
    quiet: { type: 'boolean', default: false },
  },
});

const mode = positionals[0];
const options = {
  server: values.server!,
  stream: values.stream!,
  subject: values.subject!,
  queues: Number(values.queues),
  messageBytes: Number(values.size),
  producers: Number(values.producers),
  window: Number(values.window),
  durationSeconds: Number(values.duration),
  ratePerSecond: Number(values.rate) > 0 ? Number(values.rate) : null,
  messageLimit: Number(values.messages),
  warmupSeconds: Number(values.warmup),
  from: values.from === 'earliest' ? 'earliest' : 'latest',
  untilCaughtUp: values['until-caught-up']!,
  idleExitSeconds: Number(values['idle-exit']),
  quiet: values.quiet!,
};
const log = (line: string): void => void process.stderr.write(`${line}\n`);

function summaryBase(benchMode: BenchMode) {
  const consume = benchMode === BenchMode.CONSUME;
  return {
    mode: benchMode,
    protocol: 'nats-jetstream',
    target: options.server,
    topic: options.stream,
    queues: options.queues,
    messageBytes: options.messageBytes,
    producers: consume ? 0 : options.producers,
    window: consume ? 0 : options.window,
    ratePerSecond: consume ? null : options.ratePerSecond,
  };
}

async function ensureStream(connection: NatsConnection): Promise<void> {
  const manager = await jetstreamManager(connection);
  try {
    await manager.streams.info(options.stream);
  } catch {
    await manager.streams.add({ name: options.stream, subjects: [`${options.subject}.>`], storage: 'file', num_replicas: 1 });
  }
}

async function produce(): Promise<BenchSummary> {
  const connections: NatsConnection[] = [];
  for (let index = 0; index < options.producers; index++) connections.push(await connect({ servers: options.server, name: `bench-${process.pid}-${index}` }));
  try {
    await ensureStream(connections[0]!);
    const clients: JetStreamClient[] = connections.map((connection) => jetstream(connection));
    const subjects = Array.from({ length: options.queues }, (_, index) => `${options.subject}.${index}`);
    let next = 0;
    const counters = new BenchCounters();
    const loadAverageStart = loadAverage();
    const startedAt = new Date();
    log(`nats-bench produce: ${options.server} stream ${options.stream} (${options.queues} subjects), ${options.messageBytes} B, ${options.producers} producers × window ${options.window}, ${options.ratePerSecond === null ? 'max rate' : `${options.ratePerSecond} msgs/s`}, ${options.durationSeconds} s; loadavg ${loadAverageStart.join(' ')}`);
    let progress: ProgressPrinter | undefined;
    const result = await runSendLoop(
      {
        lanes: options.producers,
        window: options.window,
        ratePerSecond: options.ratePerSecond,
        durationMs: options.durationSeconds * 1000,
        messageLimit: options.messageLimit,
        messageBytes: options.messageBytes,
        warmupMs: options.warmupSeconds * 1000,
        drainTimeoutMs: 15_000,
        countAckedBytes: true,
        onMeasureStart: () => {
          if (options.quiet) return;
          progress = new ProgressPrinter(counters, performance.now(), log);
          progress.start();
        },
      },
      counters,
      async (lane, body) => {
        const subject = subjects[next]!;
        next = next + 1 === subjects.length ? 0 : next + 1;
        await clients[lane]!.publish(subject, body, { timeout: 10_000 });
        return undefined;
      },
    );
    progress?.stop();
    return buildSummary({ ...summaryBase(BenchMode.PRODUCE), startedAt, elapsedMs: result.elapsedMs, loadAverageStart }, counters);
  } finally {
    await Promise.all(connections.map((connection) => connection.close().catch(() => undefined)));
  }
}

async function consume(): Promise<BenchSummary> {
  const connection = await connect({ servers: options.server, name: `bench-consumer-${process.pid}` });
  try {
    await ensureStream(connection);
    const manager = await jetstreamManager(connection);
    const lastSequence = (await manager.streams.info(options.stream)).state.last_seq;
    const client = jetstream(connection);
    const consumer = await client.consumers.get(options.stream, {
      deliver_policy: options.from === 'earliest' ? DeliverPolicy.All : DeliverPolicy.New,
    });
    const counters = new BenchCounters();
    const loadAverageStart = loadAverage();
    const startedAt = new Date();
    log(`nats-bench consume: ${options.server} stream ${options.stream} from ${options.from}${options.untilCaughtUp ? ` until sequence ${lastSequence}` : ''}; loadavg ${loadAverageStart.join(' ')}`);
    const messages = await consumer.consume({ max_messages: 1024 });
    log('bench consume: ready');
    let progress: ProgressPrinter | undefined;
    if (!options.quiet) {
      progress = new ProgressPrinter(counters, performance.now(), log);
      progress.start();
    }
    const measureStartMs = performance.now();
    let lastReceiptMs = measureStartMs;
    const stop = (): void => void messages.stop();
    const timer = options.durationSeconds > 0 ? setTimeout(stop, options.durationSeconds * 1000) : undefined;
    const idle = options.idleExitSeconds > 0
      ? setInterval(() => {
          if (counters.received > 0 && performance.now() - lastReceiptMs > options.idleExitSeconds * 1000) stop();
        }, 200)
      : undefined;
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
    if (!(options.untilCaughtUp && (options.from !== 'earliest' || lastSequence === 0))) {
      for await (const message of messages) {
        const nowNs = monotonicNowNs();
        lastReceiptMs = performance.now();
        const body = message.data;
        const sentNs = readBenchSendTimeNs(body);
        // Warm-up messages are neither counted nor timed.
        if (sentNs !== WARMUP_BODY) counters.recordReceipt(sentNs < 0 ? -1 : (nowNs - sentNs) / 1000, body.length);
        if (options.messageLimit > 0 && counters.received >= options.messageLimit) break;
        if (options.untilCaughtUp && message.seq >= lastSequence) break;
      }
    }
    if (timer !== undefined) clearTimeout(timer);
    if (idle !== undefined) clearInterval(idle);
    progress?.stop();
    const endMs = options.untilCaughtUp || options.messageLimit > 0 || options.idleExitSeconds > 0 ? lastReceiptMs : performance.now();
    return buildSummary({ ...summaryBase(BenchMode.CONSUME), startedAt, elapsedMs: endMs - measureStartMs, loadAverageStart }, counters);
  } finally {
    await connection.close().catch(() => undefined);
  }
}

if (mode !== 'produce' && mode !== 'consume') {
  log('usage: nats-bench.js produce|consume [options]');
  process.exit(2);
}
const summary = mode === 'produce' ? await produce() : await consume();
process.stdout.write(`${JSON.stringify(summary)}\n`, () => process.exit(0));
