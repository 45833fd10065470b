/**
 * What every benchmark run reports: one progress line a second (on stderr) and one JSON summary (the
 * last line on stdout). `tidemq bench` and the NATS peer (bench/peers/nats-bench.ts) share this, so
 * the race compares like with like.
 */
import os from 'node:os';
import { LatencyHistogram, type LatencySummaryMs } from './histogram.js';

export const BenchMode = {
  PRODUCE: 'produce',
  CONSUME: 'consume',
  E2E: 'e2e',
} as const;
export type BenchMode = (typeof BenchMode)[keyof typeof BenchMode];

export interface BenchSummary {
  tool: 'tidemq-bench';
  mode: BenchMode;
  /** What was measured: `remoting` (TideMQ, RocketMQ, the baseline) or `nats-jetstream`. */
  protocol: string;
  target: string;
  topic: string;
  queues: number;
  messageBytes: number;
  producers: number;
  /** In-flight sends allowed per producer. */
  window: number;
  /** Fixed send rate in messages/s, or null for as fast as possible. */
  ratePerSecond: number | null;
  startedAt: string;
  durationSeconds: number;
  /** Acknowledged sends (produce), received messages (consume), or received messages (e2e). */
  messages: number;
  messagesPerSecond: number;
  /** 10^6 bytes of message bodies per second. */
  megabytesPerSecond: number;
  sent: number;
  acknowledged: number;
  received: number;
  errorCount: number;
  /** Failure code → count (the client's error code, or the peer's). */
  errors: Record<string, number>;
  /** From the send call to the broker's acknowledgement. */
  sendLatencyMs?: LatencySummaryMs;
  /** From the send time in the body to receipt by the consumer. */
  e2eLatencyMs?: LatencySummaryMs;
  loadAverage: { start: number[]; end: number[] };
  /**
   * CPU time (user + system, all threads) this process spent while measuring, per message counted in
   * `messages`. Less sensitive to other tenants of the machine than the rates: it says what each
   * message costs the client, which on a shared machine is CPU the broker cannot use.
   */
  cpuMicrosPerMessage?: number;
  pid: number;
}

/** Running totals of one benchmark process; the hot path only touches plain fields. */
export class BenchCounters {
  sent = 0;
  acknowledged = 0;
  received = 0;
  /** Body bytes acknowledged (produce) or received (consume). */
  bytes = 0;
  errorCount = 0;
  readonly errors = new Map<string, number>();
  /**
   * µs. Each sample is recorded once, in the interval histogram; the progress printer folds an
   * interval into the totals when it is over (endInterval), and the whole-run views add the two.
   */
  readonly sendLatencyInterval = new LatencyHistogram();
  readonly e2eLatencyInterval = new LatencyHistogram();
  private readonly sendLatencyBefore = new LatencyHistogram();
  private readonly e2eLatencyBefore = new LatencyHistogram();
  /** process.cpuUsage() when measuring began and ended (undefined until then). */
  private cpuAtStart: NodeJS.CpuUsage | undefined;
  private cpuAtEnd: NodeJS.CpuUsage | undefined;

  /** Marks the start of the measured part of the run (again: restarts it). */
  markMeasureStart(): void {
    this.cpuAtStart = process.cpuUsage();
    this.cpuAtEnd = undefined;
  }

  /** Marks its end; the first call counts. */
  markMeasureEnd(): void {
    if (this.cpuAtStart !== undefined && this.cpuAtEnd === undefined) this.cpuAtEnd = process.cpuUsage(this.cpuAtStart);
  }

  /** User + system CPU µs between the marks (up to now when the end is not marked), or undefined. */
  measuredCpuMicros(): number | undefined {
    if (this.cpuAtStart === undefined) return undefined;
    const used = this.cpuAtEnd ?? process.cpuUsage(this.cpuAtStart);
    return used.user + used.system;
  }

  recordSendAck(latencyMicros: number, bodyBytes: number): void {
    this.acknowledged++;
    this.bytes += bodyBytes;
    this.sendLatencyInterval.record(latencyMicros);
  }

  recordReceipt(e2eMicros: number, bodyBytes: number): void {
    this.received++;
    this.bytes += bodyBytes;
    if (e2eMicros >= 0) {
      this.e2eLatencyInterval.record(e2eMicros);
    }
  }

  /** Send latencies of the whole run (a new histogram: the totals plus the current interval). */
  get sendLatency(): LatencyHistogram {
    return merged(this.sendLatencyBefore, this.sendLatencyInterval);
  }

  /** End-to-end latencies of the whole run (a new histogram). */
  get e2eLatency(): LatencyHistogram {
    return merged(this.e2eLatencyBefore, this.e2eLatencyInterval);
  }

  /** Ends a progress interval: its samples join the totals and the interval histograms start empty. */
  endInterval(): void {
    this.sendLatencyBefore.add(this.sendLatencyInterval);
    this.sendLatencyInterval.reset();
    this.e2eLatencyBefore.add(this.e2eLatencyInterval);
    this.e2eLatencyInterval.reset();
  }

  /** Forgets every end-to-end latency so far (e2e drops the receipts of warm-up messages). */
  resetE2eLatency(): void {
    this.e2eLatencyBefore.reset();
    this.e2eLatencyInterval.reset();
  }

  recordError(code: string): void {
    this.errorCount++;
    this.errors.set(code, (this.errors.get(code) ?? 0) + 1);
  }
}

function merged(before: LatencyHistogram, interval: LatencyHistogram): LatencyHistogram {
  const whole = new LatencyHistogram({ subBucketBits: before.subBucketBits, highestTrackableValue: before.highestTrackableValue });
  whole.add(before);
  whole.add(interval);
  return whole;
}

export function loadAverage(): number[] {
  return os.loadavg().map((value) => Math.round(value * 100) / 100);
}

/** The code a failure is counted under: the client's stable code when it has one. */
export function errorCodeOf(error: unknown): string {
  if (typeof error === 'object' && error !== null) {
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string' || typeof code === 'number') return String(code);
    const name = (error as { name?: unknown }).name;
    if (typeof name === 'string') return name;
  }
  return 'UNKNOWN';
}

/**
 * Prints one line a second: elapsed time, rates over the last interval, interval latency
 * percentiles, and errors so far. Lines go to stderr so stdout carries only the JSON summary.
 */
export class ProgressPrinter {
  private timer: NodeJS.Timeout | undefined;
  private lastMs = 0;
  private lastSent = 0;
  private lastAcknowledged = 0;
  private lastReceived = 0;
  private lastBytes = 0;

  constructor(
    private readonly counters: BenchCounters,
    private readonly startMs: number,
    private readonly write: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
  ) {}

  start(intervalMs = 1000): void {
    this.lastMs = performance.now();
    this.timer = setInterval(() => this.print(), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  print(): void {
    const now = performance.now();
    const seconds = Math.max(1e-3, (now - this.lastMs) / 1000);
    const counters = this.counters;
    const parts = [`[${((now - this.startMs) / 1000).toFixed(0).padStart(4)}s]`];
    if (counters.sent > 0 || counters.acknowledged > 0) {
      parts.push(`sent ${rate(counters.sent - this.lastSent, seconds)}/s`, `acked ${rate(counters.acknowledged - this.lastAcknowledged, seconds)}/s`);
      const send = counters.sendLatencyInterval;
      if (send.count > 0) parts.push(`ack p50 ${ms(send.valueAtPercentile(50))} p99 ${ms(send.valueAtPercentile(99))}`);
    }
    if (counters.received > 0 || this.lastReceived > 0) {
      parts.push(`received ${rate(counters.received - this.lastReceived, seconds)}/s`);
      const e2e = counters.e2eLatencyInterval;
      if (e2e.count > 0) parts.push(`e2e p50 ${ms(e2e.valueAtPercentile(50))} p99 ${ms(e2e.valueAtPercentile(99))}`);
    }
    parts.push(`${((counters.bytes - this.lastBytes) / seconds / 1e6).toFixed(1)} MB/s`, `errors ${counters.errorCount}`);
    this.write(parts.join('  '));
    counters.endInterval();
    this.lastMs = now;
    this.lastSent = counters.sent;
    this.lastAcknowledged = counters.acknowledged;
    this.lastReceived = counters.received;
    this.lastBytes = counters.bytes;
  }
}

function rate(count: number, seconds: number): string {
  return Math.round(count / seconds).toString().padStart(7);
}

function ms(micros: number): string {
  return `${(micros / 1000).toFixed(2)}ms`;
}

export interface SummaryInput {
  mode: BenchMode;
  protocol: string;
  target: string;
  topic: string;
  queues: number;
  messageBytes: number;
  producers: number;
  window: number;
  ratePerSecond: number | null;
  startedAt: Date;
  elapsedMs: number;
  loadAverageStart: number[];
}

/** Builds the JSON summary from the counters at the end of a run. */
export function buildSummary(input: SummaryInput, counters: BenchCounters): BenchSummary {
  const seconds = Math.max(1e-3, input.elapsedMs / 1000);
  const messages = input.mode === BenchMode.PRODUCE ? counters.acknowledged : counters.received;
  const summary: BenchSummary = {
    tool: 'tidemq-bench',
    mode: input.mode,
    protocol: input.protocol,
    target: input.target,
    topic: input.topic,
    queues: input.queues,
    messageBytes: input.messageBytes,
    producers: input.producers,
    window: input.window,
    ratePerSecond: input.ratePerSecond,
    startedAt: input.startedAt.toISOString(),
    durationSeconds: Math.round(seconds * 1000) / 1000,
    messages,
    messagesPerSecond: Math.round(messages / seconds),
    megabytesPerSecond: Math.round((counters.bytes / seconds / 1e6) * 100) / 100,
    sent: counters.sent,
    acknowledged: counters.acknowledged,
    received: counters.received,
    errorCount: counters.errorCount,
    errors: Object.fromEntries(counters.errors),
    loadAverage: { start: input.loadAverageStart, end: loadAverage() },
    pid: process.pid,
  };
  const cpuMicros = counters.measuredCpuMicros();
  if (cpuMicros !== undefined && messages > 0) summary.cpuMicrosPerMessage = Math.round((cpuMicros / messages) * 100) / 100;
  const sendLatency = counters.sendLatency;
  const e2eLatency = counters.e2eLatency;
  if (sendLatency.count > 0) summary.sendLatencyMs = sendLatency.summaryMs();
  if (e2eLatency.count > 0) summary.e2eLatencyMs = e2eLatency.summaryMs();
  return summary;
}
