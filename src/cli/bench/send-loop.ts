/**
 * The producing half of every benchmark, independent of the protocol: `lanes` senders (one client
 * connection each), at most `window` sends in flight per lane, either as fast as acknowledgements
 * come back or at a fixed rate, for a duration or a message count.
 *
 * At a fixed rate each message has an intended send time (start + i / rate). Its latency, and the
 * time stamped into its body, are measured from that intended time, not from when the window let it
 * go: a stalled broker then shows up as latency instead of silently lowering the offered load
 * (the "coordinated omission" correction of wrk2 and HdrHistogram).
 *
 * Bodies come from a ring of `lanes * window + 1` buffers. A buffer is reused only after the send
 * that last used it settled, which the window guarantees, so no body is changed under a send.
 */
import { assert } from '../../common/assert.js';
import { createBenchBody, monotonicNowNs, stampBenchBody } from './bench-body.js';
import { errorCodeOf, type BenchCounters } from './bench-report.js';

/** Sends one body on `lane`; resolves with a status (`SEND_OK`/undefined = success, anything else counts as an error of that code). */
export type SendFunction = (lane: number, body: Buffer) => Promise<string | undefined>;

export interface SendLoopOptions {
  lanes: number;
  window: number;
  /** Messages per second over all lanes; null = as fast as possible. */
  ratePerSecond: number | null;
  /** Stop issuing after this long (measured from the end of the warm-up); 0 = no time limit. */
  durationMs: number;
  /** Stop after this many measured messages; 0 = no limit. */
  messageLimit: number;
  messageBytes: number;
  /** Sends before this is over are not counted. */
  warmupMs: number;
  /** How long to wait for sends in flight after the last one was issued. */
  drainTimeoutMs: number;
  /** Whether acknowledged bytes count toward the throughput (false when receipts are counted instead). */
  countAckedBytes: boolean;
  /** Called once the warm-up is over and measuring starts. */
  onMeasureStart?: () => void;
  signal?: AbortSignal;
}

export interface SendLoopResult {
  /** From the end of the warm-up until the last send settled. */
  elapsedMs: number;
  /** performance.now() when measuring began. */
  measureStartMs: number;
}

/** Most memory the body ring may take. */
const MAX_RING_BYTES = 1024 * 1024 * 1024;
/** The fixed-rate ticker: how often due messages are issued. */
const RATE_TICK_MS = 1;

export function runSendLoop(options: SendLoopOptions, counters: BenchCounters, send: SendFunction): Promise<SendLoopResult> {
  return new SendLoop(options, counters, send).run();
}

/** One run of the loop; the state lives in fields so the hot path allocates one closure pair per send. */
class SendLoop {
  private readonly ring: Buffer[] = [];
  private readonly inFlight: Int32Array;
  private readonly capacity: number;
  private readonly startNs = monotonicNowNs();
  private totalInFlight = 0;
  private sequence = 0;
  private measuring: boolean;
  private measureStartMs = 0;
  private stopped = false;
  private finished = false;
  private measuredIssued = 0;
  private lastSettledMs = 0;
  private nextLane = 0;
  private rateIssued = 0;
  private rateStartNs = 0;
  private finishTimer: NodeJS.Timeout | undefined;
  private durationTimer: NodeJS.Timeout | undefined;
  private rateTimer: NodeJS.Timeout | undefined;
  private resolveRun: (result: SendLoopResult) => void = () => undefined;
  private readonly onAbort = (): void => this.stop();

  constructor(
    private readonly options: SendLoopOptions,
    private readonly counters: BenchCounters,
    private readonly send: SendFunction,
  ) {
    assert(options.lanes >= 1 && options.window >= 1, 'lanes and window must be at least 1');
    assert(options.ratePerSecond === null || options.ratePerSecond > 0, 'rate must be positive');
    this.capacity = options.lanes * options.window;
    const ringSize = this.capacity + 1;
    assert(ringSize * options.messageBytes <= MAX_RING_BYTES, `lanes × window × size exceeds ${MAX_RING_BYTES} bytes of bodies`);
    const template = createBenchBody(options.messageBytes);
    for (let index = 0; index < ringSize; index++) this.ring.push(Buffer.from(template));
    this.inFlight = new Int32Array(options.lanes);
    this.measuring = options.warmupMs <= 0;
  }

  run(): Promise<SendLoopResult> {
    const promise = new Promise<SendLoopResult>((resolve) => {
      this.resolveRun = resolve;
    });
    const { signal } = this.options;
    if (signal !== undefined) {
      if (signal.aborted) {
        this.stop();
        return promise;
      }
      signal.addEventListener('abort', this.onAbort, { once: true });
    }
    if (this.measuring) this.beginMeasuring();
    // A warm-up with no acknowledgement at all (a dead broker) still ends.
    else setTimeout(() => this.checkWarmup(), this.options.warmupMs).unref();
    if (this.options.ratePerSecond === null) {
      for (let lane = 0; lane < this.options.lanes; lane++) {
        for (let slot = 0; slot < this.options.window && !this.stopped; slot++) this.issue(lane, monotonicNowNs());
      }
    } else {
      this.rateStartNs = monotonicNowNs();
      this.tick();
    }
    return promise;
  }

  private checkWarmup(): void {
    if (!this.measuring && monotonicNowNs() - this.startNs >= this.options.warmupMs * 1e6) this.beginMeasuring();
  }

  private beginMeasuring(): void {
    this.measuring = true;
    this.measureStartMs = performance.now();
    this.counters.markMeasureStart();
    this.options.onMeasureStart?.();
    if (this.options.durationMs > 0) this.durationTimer = setTimeout(() => this.stop(), this.options.durationMs);
  }

  private issue(lane: number, intendedNs: number): void {
    const sequence = this.sequence++;
    const body = this.ring[sequence % this.ring.length]!;
    const counted = this.measuring;
    stampBenchBody(body, intendedNs, sequence, !counted);
    if (counted) {
      this.counters.sent++;
      this.measuredIssued++;
    }
    this.inFlight[lane]!++;
    this.totalInFlight++;
    this.send(lane, body).then(
      (status) => {
        if (counted) {
          if (status === undefined || status === 'SEND_OK') this.counters.recordSendAck((monotonicNowNs() - intendedNs) / 1000, this.options.countAckedBytes ? body.length : 0);
          else this.counters.recordError(status);
        }
        this.settled(lane);
      },
      (error: unknown) => {
        if (counted) this.counters.recordError(errorCodeOf(error));
        this.settled(lane);
      },
    );
    if (counted && this.options.messageLimit > 0 && this.measuredIssued >= this.options.messageLimit) this.stop();
  }

  private settled(lane: number): void {
    this.inFlight[lane]!--;
    this.totalInFlight--;
    this.lastSettledMs = performance.now();
    this.checkWarmup();
    if (this.stopped) {
      if (this.totalInFlight === 0) this.finish();
      return;
    }
    if (this.options.ratePerSecond === null) this.issue(lane, monotonicNowNs());
  }

  /** Fixed rate: issue every message whose intended time has come, as the window allows. */
  private tick(): void {
    this.rateTimer = undefined;
    if (this.stopped) return;
    this.checkWarmup();
    const intervalNs = 1e9 / this.options.ratePerSecond!;
    const due = Math.floor((monotonicNowNs() - this.rateStartNs) / intervalNs) + 1;
    const lanes = this.options.lanes;
    while (this.rateIssued < due && this.totalInFlight < this.capacity && !this.stopped) {
      // Round robin over lanes with room in their window.
      let lane = this.nextLane;
      for (let tries = 0; tries < lanes && this.inFlight[lane]! >= this.options.window; tries++) lane = (lane + 1) % lanes;
      this.nextLane = (lane + 1) % lanes;
      this.issue(lane, this.rateStartNs + this.rateIssued * intervalNs);
      this.rateIssued++;
    }
    if (!this.stopped) this.rateTimer = setTimeout(() => this.tick(), RATE_TICK_MS);
  }

  /** Stops issuing; sends in flight get drainTimeoutMs to settle. */
  private stop(): void {
    this.stopped = true;
    if (this.totalInFlight === 0) this.finish();
    else this.finishTimer ??= setTimeout(() => this.finish(), this.options.drainTimeoutMs);
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.counters.markMeasureEnd();
    clearTimeout(this.finishTimer);
    clearTimeout(this.durationTimer);
    clearTimeout(this.rateTimer);
    this.options.signal?.removeEventListener('abort', this.onAbort);
    const endMs = this.totalInFlight === 0 ? this.lastSettledMs || performance.now() : performance.now();
    this.resolveRun({ elapsedMs: Math.max(0, endMs - this.measureStartMs), measureStartMs: this.measureStartMs });
  }
}
