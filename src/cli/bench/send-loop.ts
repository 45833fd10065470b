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
 * Each of the `lanes * window` sends that may be in flight has a slot: its body buffer, what the send
 * function made of it once (`slotData`, for example a reusable message object), and the callbacks
 * its send settles with, made once per slot rather than per send. Free slots wait on a stack; a slot,
 * and so its body, is reused only after its send settled, even when sends settle out of order.
 */
import { assert } from '../../common/assert.js';
import { createBenchBody, monotonicNowNs, performanceMsAt, stampBenchBody } from './bench-body.js';
import { errorCodeOf, type BenchCounters } from './bench-report.js';

/** What a send resolves with: a status, or an object with one (`SEND_OK`/undefined = success, anything else counts as an error of that code). */
export type SendOutcome = string | undefined | { readonly status: string };

/** Sends one body on `lane`; `slotData` is what `prepareSlot` made of this body buffer (undefined without it). */
export type SendFunction<T = undefined> = (lane: number, body: Buffer, slotData: T) => PromiseLike<SendOutcome>;

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

/**
 * Runs the loop. `prepareSlot` is called once per slot with its body buffer; what it returns is
 * passed to every send of that body (the buffer's contents change between sends, the buffer does not).
 */
export function runSendLoop<T = undefined>(options: SendLoopOptions, counters: BenchCounters, send: SendFunction<T>, prepareSlot?: (body: Buffer) => T): Promise<SendLoopResult> {
  return new SendLoop<T>(options, counters, send, prepareSlot).run();
}

/** One send that may be in flight, reused from send to send. */
class SendSlot<T> {
  lane = 0;
  intendedNs = 0;
  counted = false;
  readonly onSettled: (outcome: SendOutcome) => void;
  readonly onFailed: (error: unknown) => void;

  constructor(
    loop: SendLoop<T>,
    readonly body: Buffer,
    readonly data: T,
  ) {
    this.onSettled = (outcome) => loop.acknowledged(this, outcome);
    this.onFailed = (error) => loop.failed(this, error);
  }
}

/** One run of the loop; the state lives in fields and slots, so a send allocates nothing here. */
class SendLoop<T> {
  /** Free slots, used as a stack. */
  private readonly freeSlots: SendSlot<T>[] = [];
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
  /** monotonicNowNs() when the last send settled (0: none yet). */
  private lastSettledNs = 0;
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
    private readonly send: SendFunction<T>,
    prepareSlot: ((body: Buffer) => T) | undefined,
  ) {
    assert(options.lanes >= 1 && options.window >= 1, 'lanes and window must be at least 1');
    assert(options.ratePerSecond === null || options.ratePerSecond > 0, 'rate must be positive');
    this.capacity = options.lanes * options.window;
    assert(this.capacity * options.messageBytes <= MAX_RING_BYTES, `lanes × window × size exceeds ${MAX_RING_BYTES} bytes of bodies`);
    const template = createBenchBody(options.messageBytes);
    for (let index = 0; index < this.capacity; index++) {
      const body = Buffer.from(template);
      this.freeSlots.push(new SendSlot<T>(this, body, prepareSlot === undefined ? (undefined as T) : prepareSlot(body)));
    }
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

  private checkWarmup(nowNs = monotonicNowNs()): void {
    if (!this.measuring && nowNs - this.startNs >= this.options.warmupMs * 1e6) this.beginMeasuring();
  }

  private beginMeasuring(): void {
    this.measuring = true;
    this.measureStartMs = performance.now();
    this.counters.markMeasureStart();
    this.options.onMeasureStart?.();
    if (this.options.durationMs > 0) this.durationTimer = setTimeout(() => this.stop(), this.options.durationMs);
  }

  private issue(lane: number, intendedNs: number): void {
    // The window keeps at most `capacity` sends in flight, and there are that many slots.
    const slot = this.freeSlots.pop()!;
    const sequence = this.sequence++;
    const counted = this.measuring;
    stampBenchBody(slot.body, intendedNs, sequence, !counted);
    if (counted) {
      this.counters.sent++;
      this.measuredIssued++;
    }
    slot.lane = lane;
    slot.intendedNs = intendedNs;
    slot.counted = counted;
    this.inFlight[lane]!++;
    this.totalInFlight++;
    let sending: PromiseLike<SendOutcome>;
    try {
      sending = this.send(lane, slot.body, slot.data);
    } catch (error) {
      sending = Promise.reject(error);
    }
    sending.then(slot.onSettled, slot.onFailed);
    if (counted && this.options.messageLimit > 0 && this.measuredIssued >= this.options.messageLimit) this.stop();
  }

  acknowledged(slot: SendSlot<T>, outcome: SendOutcome): void {
    // One clock reading serves the latency, the warm-up check and the next send's intended time.
    const nowNs = monotonicNowNs();
    if (slot.counted) {
      const status = typeof outcome === 'object' ? outcome.status : outcome;
      if (status === undefined || status === 'SEND_OK') this.counters.recordSendAck((nowNs - slot.intendedNs) / 1000, this.options.countAckedBytes ? slot.body.length : 0);
      else this.counters.recordError(status);
    }
    this.release(slot, nowNs);
  }

  failed(slot: SendSlot<T>, error: unknown): void {
    if (slot.counted) this.counters.recordError(errorCodeOf(error));
    this.release(slot, monotonicNowNs());
  }

  private release(slot: SendSlot<T>, nowNs: number): void {
    this.freeSlots.push(slot);
    this.settled(slot.lane, nowNs);
  }

  private settled(lane: number, nowNs: number): void {
    this.inFlight[lane]!--;
    this.totalInFlight--;
    this.lastSettledNs = nowNs;
    this.checkWarmup(nowNs);
    if (this.stopped) {
      if (this.totalInFlight === 0) this.finish();
      return;
    }
    if (this.options.ratePerSecond === null) this.issue(lane, nowNs);
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
    const endMs = this.totalInFlight === 0 && this.lastSettledNs > 0 ? performanceMsAt(this.lastSettledNs) : performance.now();
    this.resolveRun({ elapsedMs: Math.max(0, endMs - this.measureStartMs), measureStartMs: this.measureStartMs });
  }
}
