/**
 * `tidemq bench produce | consume | e2e` over RocketMQ's remoting protocol with TideMQ's own client,
 * so the same runs drive TideMQ, Apache RocketMQ and the baseline server.
 *
 * - produce: `producers` Producer instances (one connection each), `window` sends in flight on each,
 *   as fast as possible or at `rate` messages/s in total.
 * - consume: one PullConsumer assigned every queue of the topic, starting at the earliest or the
 *   latest offset; the send time stamped in each body gives the end-to-end latency.
 * - e2e: both in one process: the consumer starts at the end of the queues, then the producer runs.
 */
import { Admin } from '../../client/admin.js';
import type { Message } from '../../client/message.js';
import type { MessageQueue } from '../../client/message-queue.js';
import { Producer } from '../../client/producer.js';
import { PullConsumer } from '../../client/pull-consumer.js';
import { monotonicNowNs, readBenchSendTimeNs, WARMUP_BODY } from './bench-body.js';
import { BenchCounters, BenchMode, buildSummary, loadAverage, ProgressPrinter, type BenchSummary } from './bench-report.js';
import { ensureBenchTopic } from './bench-topic.js';
import { runSendLoop } from './send-loop.js';

export interface RemotingBenchOptions {
  namesrvAddr: string;
  topic: string;
  queues: number;
  messageBytes: number;
  producers: number;
  window: number;
  /** messages/s over all producers; null = as fast as possible. */
  ratePerSecond: number | null;
  durationSeconds: number;
  /** Stop after this many messages (0 = no limit). */
  messageLimit: number;
  warmupSeconds: number;
  createTopic: boolean;
  /** Consumer group; default a fresh name per run, so no stored offset interferes. */
  group?: string;
  from: 'earliest' | 'latest';
  /** consume: stop once every queue reached the max offset it had when consuming began. */
  untilCaughtUp: boolean;
  /** consume: stop after this long without a message once one arrived (0 = never). */
  idleExitSeconds: number;
  pullBatchSize: number;
  sendTimeoutMs: number;
  quiet: boolean;
  /** Where progress lines and notices go (default stderr). */
  log?: (line: string) => void;
}

const DEFAULT_LOG = (line: string): void => void process.stderr.write(`${line}\n`);
/** Sends still in flight when the run ends get this long to settle. */
const DRAIN_TIMEOUT_MS = 15_000;
/** poll() waits at most this long, so stop conditions are checked often. */
const POLL_WAIT_MS = 200;
/** e2e: after the last send, wait this long at most for the consumer to catch up. */
const E2E_DRAIN_MS = 10_000;

function createProducers(options: RemotingBenchOptions): Producer[] {
  const producers: Producer[] = [];
  for (let index = 0; index < options.producers; index++) {
    producers.push(
      new Producer({
        namesrvAddr: options.namesrvAddr,
        group: `bench_producer_${process.pid}`,
        instanceName: `bench-${process.pid}-${index}`,
        compressOverBytes: 0,
        sendTimeoutMs: options.sendTimeoutMs,
        requestTimeoutMs: options.sendTimeoutMs,
        // One broker: the circuit breaker could only pause the one target and distort the run.
        faultTolerance: false,
      }),
    );
  }
  return producers;
}

async function produceWith(options: RemotingBenchOptions, counters: BenchCounters, countAckedBytes: boolean, onMeasureStart?: () => void): Promise<{ elapsedMs: number; measureStartMs: number }> {
  const producers = createProducers(options);
  try {
    // Fetch routes and open connections before the clock starts.
    await Promise.all(producers.map((producer) => producer.queues(options.topic)));
    const topic = options.topic;
    return await runSendLoop<Message>(
      {
        lanes: options.producers,
        window: options.window,
        ratePerSecond: options.ratePerSecond,
        durationMs: options.durationSeconds * 1000,
        messageLimit: options.messageLimit,
        messageBytes: options.messageBytes,
        warmupMs: options.warmupSeconds * 1000,
        drainTimeoutMs: DRAIN_TIMEOUT_MS,
        countAckedBytes,
        onMeasureStart,
      },
      counters,
      // The real Producer.send a user calls; each slot's message object is reused, since its body
      // buffer is (the loop stamps it before every send and never while that send is in flight).
      (lane, _body, message) => producers[lane]!.send(message),
      (body): Message => ({ topic, body }),
    );
  } finally {
    await Promise.all(producers.map((producer) => producer.close().catch(() => undefined)));
  }
}

export async function runProduceBench(options: RemotingBenchOptions): Promise<BenchSummary> {
  const log = options.log ?? DEFAULT_LOG;
  if (options.createTopic) await ensureBenchTopic(options.namesrvAddr, options.topic, options.queues);
  const counters = new BenchCounters();
  const loadAverageStart = loadAverage();
  const startedAt = new Date();
  log(`bench produce: ${options.namesrvAddr} topic ${options.topic} (${options.queues} queues), ${options.messageBytes} B, ${options.producers} producers × window ${options.window}, ${options.ratePerSecond === null ? 'max rate' : `${options.ratePerSecond} msgs/s`}, ${options.durationSeconds} s; loadavg ${loadAverageStart.join(' ')}`);
  let progress: ProgressPrinter | undefined;
  const result = await produceWith(options, counters, true, () => {
    if (options.quiet) return;
    progress = new ProgressPrinter(counters, performance.now(), log);
    progress.start();
  });
  progress?.stop();
  return buildSummary(
    { ...summaryBase(options, BenchMode.PRODUCE), startedAt, elapsedMs: result.elapsedMs, loadAverageStart },
    counters,
  );
}

function summaryBase(options: RemotingBenchOptions, mode: BenchMode) {
  return {
    mode,
    protocol: 'remoting',
    target: options.namesrvAddr,
    topic: options.topic,
    queues: options.queues,
    messageBytes: options.messageBytes,
    producers: mode === BenchMode.CONSUME ? 0 : options.producers,
    window: mode === BenchMode.CONSUME ? 0 : options.window,
    ratePerSecond: mode === BenchMode.CONSUME ? null : options.ratePerSecond,
  };
}

/** Tells when every queue reached the max offset it had when consuming began. */
class CatchUpTracker {
  /** Queues with messages still to read. */
  pendingQueues = 0;
  readonly totalMessages: number;
  private readonly reached = new Map<number, boolean>();

  constructor(private readonly targets: ReadonlyMap<number, number>) {
    let total = 0;
    for (const [queueId, target] of targets) {
      total += target;
      this.reached.set(queueId, target <= 0);
      if (target > 0) this.pendingQueues++;
    }
    this.totalMessages = total;
  }

  track(queue: MessageQueue, queueOffset: number): void {
    const target = this.targets.get(queue.queueId);
    if (target === undefined || this.reached.get(queue.queueId) === true || queueOffset + 1 < target) return;
    this.reached.set(queue.queueId, true);
    this.pendingQueues--;
  }
}

interface ConsumerHandle {
  /** Resolves when the consume loop stopped, with the time the last message arrived (performance.now()). */
  done: Promise<{ lastReceiptMs: number; measureStartMs: number }>;
  stop(): void;
  close(): Promise<void>;
}

/** Assigns every queue of the topic, seeks to where the run starts, and polls until told to stop. */
async function startConsumer(options: RemotingBenchOptions, counters: BenchCounters, log: (line: string) => void): Promise<ConsumerHandle> {
  const group = options.group ?? `bench_consumer_${process.pid}_${Date.now().toString(36)}`;
  const consumer = new PullConsumer({
    namesrvAddr: options.namesrvAddr,
    group,
    autoCommit: false,
    consumeFromWhere: options.from === 'earliest' ? 'CONSUME_FROM_FIRST_OFFSET' : 'CONSUME_FROM_LAST_OFFSET',
    setZeroIfNotFound: false,
    pullBatchSize: options.pullBatchSize,
    pullThresholdForAll: Math.max(10_000, options.pullBatchSize * options.queues * 4),
    pullThresholdForQueue: Math.max(1000, options.pullBatchSize * 4),
  });
  const queues = await consumer.fetchQueues(options.topic);
  await consumer.assign(queues);
  await consumer.start();
  const admin = new Admin({ namesrvAddr: options.namesrvAddr });
  const targets = new Map<number, number>();
  try {
    for (const queue of queues) {
      if (options.from === 'earliest') await consumer.seekToBeginning(queue);
      else await consumer.seekToEnd(queue);
      if (options.untilCaughtUp) targets.set(queue.queueId, await admin.maxOffset(queue));
    }
  } finally {
    await admin.close();
  }
  const catchUp = new CatchUpTracker(targets);
  if (options.untilCaughtUp) log(`bench consume: catching up on ${catchUp.totalMessages} messages in ${queues.length} queues`);
  let stopped = false;
  const measureStartMs = performance.now();
  counters.markMeasureStart();
  let lastReceiptMs = measureStartMs;
  const done = (async () => {
    if (options.untilCaughtUp && catchUp.pendingQueues === 0) return { lastReceiptMs, measureStartMs };
    while (!stopped) {
      const messages = await consumer.poll({ timeoutMs: POLL_WAIT_MS, maxMessages: 1024 });
      if (messages.length === 0) {
        if (options.idleExitSeconds > 0 && counters.received > 0 && performance.now() - lastReceiptMs > options.idleExitSeconds * 1000) break;
        continue;
      }
      const nowNs = monotonicNowNs();
      lastReceiptMs = performance.now();
      for (const message of messages) {
        if (catchUp.pendingQueues > 0) catchUp.track(message.queue, message.queueOffset);
        const sentNs = readBenchSendTimeNs(message.body);
        // Warm-up messages are neither counted nor timed.
        if (sentNs !== WARMUP_BODY) counters.recordReceipt(sentNs < 0 ? -1 : (nowNs - sentNs) / 1000, message.body.length);
      }
      if (options.messageLimit > 0 && counters.received >= options.messageLimit) break;
      if (options.untilCaughtUp && catchUp.pendingQueues === 0) break;
    }
    counters.markMeasureEnd();
    return { lastReceiptMs, measureStartMs };
  })();
  return {
    done,
    stop: () => {
      stopped = true;
    },
    close: () => consumer.close(),
  };
}

export async function runConsumeBench(options: RemotingBenchOptions): Promise<BenchSummary> {
  const log = options.log ?? DEFAULT_LOG;
  const counters = new BenchCounters();
  const loadAverageStart = loadAverage();
  const startedAt = new Date();
  log(`bench consume: ${options.namesrvAddr} topic ${options.topic} from ${options.from}${options.untilCaughtUp ? ' until caught up' : ''}; loadavg ${loadAverageStart.join(' ')}`);
  const consumer = await startConsumer(options, counters, log);
  // The race waits for this line before it starts producing.
  log('bench consume: ready');
  let progress: ProgressPrinter | undefined;
  if (!options.quiet) {
    progress = new ProgressPrinter(counters, performance.now(), log);
    progress.start();
  }
  const timer = options.durationSeconds > 0 ? setTimeout(() => consumer.stop(), options.durationSeconds * 1000) : undefined;
  const onSignal = (): void => consumer.stop();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let elapsedMs: number;
  try {
    const result = await consumer.done;
    const endMs = options.untilCaughtUp || options.messageLimit > 0 || options.idleExitSeconds > 0 ? result.lastReceiptMs : performance.now();
    elapsedMs = endMs - result.measureStartMs;
  } finally {
    if (timer !== undefined) clearTimeout(timer);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    progress?.stop();
    await consumer.close();
  }
  return buildSummary({ ...summaryBase(options, BenchMode.CONSUME), startedAt, elapsedMs, loadAverageStart }, counters);
}

export async function runE2eBench(options: RemotingBenchOptions): Promise<BenchSummary> {
  const log = options.log ?? DEFAULT_LOG;
  if (options.createTopic) await ensureBenchTopic(options.namesrvAddr, options.topic, options.queues);
  const counters = new BenchCounters();
  const loadAverageStart = loadAverage();
  const startedAt = new Date();
  log(`bench e2e: ${options.namesrvAddr} topic ${options.topic} (${options.queues} queues), ${options.messageBytes} B, ${options.producers} producers × window ${options.window}, ${options.ratePerSecond === null ? 'max rate' : `${options.ratePerSecond} msgs/s`}, ${options.durationSeconds} s; loadavg ${loadAverageStart.join(' ')}`);
  const consumer = await startConsumer({ ...options, from: 'latest', untilCaughtUp: false, messageLimit: 0, idleExitSeconds: 0 }, counters, log);
  let progress: ProgressPrinter | undefined;
  let measureStartMs = performance.now();
  try {
    const result = await produceWith(options, counters, false, () => {
      // Receipts of warm-up messages are dropped: measuring starts with a clean slate.
      counters.received = 0;
      counters.bytes = 0;
      counters.resetE2eLatency();
      measureStartMs = performance.now();
      if (options.quiet) return;
      progress = new ProgressPrinter(counters, performance.now(), log);
      progress.start();
    });
    const deadline = performance.now() + E2E_DRAIN_MS;
    while (counters.received < counters.acknowledged && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    const elapsedMs = Math.max(result.elapsedMs, performance.now() - measureStartMs);
    return buildSummary({ ...summaryBase(options, BenchMode.E2E), startedAt, elapsedMs, loadAverageStart }, counters);
  } finally {
    progress?.stop();
    consumer.stop();
    await consumer.done.catch(() => undefined);
    await consumer.close();
  }
}
