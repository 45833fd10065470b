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
  assert(options.lanes >= 1 && options.window >= 1, 'lanes and window must be at least 1');
  assert(options.ratePerSecond === null || options.ratePerSecond > 0, 'rate must be positive');
  const ringSize = options.lanes * options.window + 1;
  assert(ringSize * options.messageBytes <= MAX_RING_BYTES, `lanes × window × size exceeds ${MAX_RING_BYTES} bytes of bodies`);
  const ring: Buffer[] = [];
  const template = createBenchBody(options.messageBytes);
  for (let index = 0; index < ringSize; index++) ring.push(Buffer.from(template));

  const inFlight = new Int32Array(options.lanes);
  let totalInFlight = 0;
  let sequence = 0;
  let measuring = options.warmupMs <= 0;
  let measureStartMs = 0;
  let stopped = false;
  let measuredIssued = 0;
  let lastSettledMs = 0;
  let nextLane = 0;
  const startNs = monotonicNowNs();

  return new Promise<SendLoopResult>((resolve) => {
    let finishTimer: NodeJS.Timeout | undefined;
    let durationTimer: NodeJS.Timeout | undefined;
    let rateTimer: NodeJS.Timeout | undefined;
    let rateIssued = 0;
    let rateStartNs = 0;

    const finish = (): void => {
      if (finishTimer !== undefined) clearTimeout(finishTimer);
      if (durationTimer !== undefined) clearTimeout(durationTimer);
      if (rateTimer !== undefined) clearTimeout(rateTimer);
      options.signal?.removeEventListener('abort', stop);
      const endMs = totalInFlight === 0 ? lastSettledMs || performance.now() : performance.now();
      resolve({ elapsedMs: Math.max(0, endMs - measureStartMs), measureStartMs });
    };

    const stop = (): void => {
      if (stopped) return;
      stopped = true;
      if (totalInFlight === 0) finish();
      else finishTimer = setTimeout(finish, options.drainTimeoutMs);
    };

    const beginMeasuring = (): void => {
      measuring = true;
      measureStartMs = performance.now();
      options.onMeasureStart?.();
      if (options.durationMs > 0) durationTimer = setTimeout(stop, options.durationMs);
    };

    const issue = (lane: number, intendedNs: number): void => {
      const seq = sequence++;
      const body = ring[seq % ringSize]!;
      const counted = measuring;
      stampBenchBody(body, intendedNs, seq, !counted);
      if (counted) {
        counters.sent++;
        measuredIssued++;
        if (options.messageLimit > 0 && measuredIssued >= options.messageLimit) stopped = true;
      }
      inFlight[lane]!++;
      totalInFlight++;
      send(lane, body).then(
        (status) => {
          if (counted) {
            if (status === undefined || status === 'SEND_OK') counters.recordSendAck((monotonicNowNs() - intendedNs) / 1000, options.countAckedBytes ? body.length : 0);
            else counters.recordError(status);
          }
          settled(lane);
        },
        (error: unknown) => {
          if (counted) counters.recordError(errorCodeOf(error));
          settled(lane);
        },
      );
    };

    const settled = (lane: number): void => {
      inFlight[lane]!--;
      totalInFlight--;
      lastSettledMs = performance.now();
      if (!measuring && monotonicNowNs() - startNs >= options.warmupMs * 1e6) beginMeasuring();
      if (stopped) {
        if (totalInFlight === 0) finish();
        return;
      }
      if (options.ratePerSecond === null) issue(lane, monotonicNowNs());
    };

    /** Fixed rate: issue every message whose intended time has come, as the window allows. */
    const tick = (): void => {
      rateTimer = undefined;
      if (stopped) return;
      if (!measuring && monotonicNowNs() - startNs >= options.warmupMs * 1e6) beginMeasuring();
      const intervalNs = 1e9 / options.ratePerSecond!;
      const now = monotonicNowNs();
      const due = Math.floor((now - rateStartNs) / intervalNs) + 1;
      const capacity = options.lanes * options.window;
      while (rateIssued < due && totalInFlight < capacity && !stopped) {
        // Round robin over lanes with room in their window.
        let lane = nextLane;
        for (let tries = 0; tries < options.lanes && inFlight[lane]! >= options.window; tries++) lane = (lane + 1) % options.lanes;
        nextLane = (lane + 1) % options.lanes;
        issue(lane, rateStartNs + rateIssued * intervalNs);
        rateIssued++;
      }
      if (!stopped) rateTimer = setTimeout(tick, RATE_TICK_MS);
    };

    if (options.signal !== undefined) {
      if (options.signal.aborted) {
        stop();
        return;
      }
      options.signal.addEventListener('abort', stop, { once: true });
    }
    if (measuring) beginMeasuring();
    else setTimeout(() => {
      // A warm-up with no acknowledgement at all (a dead broker) still ends.
      if (!measuring) beginMeasuring();
    }, options.warmupMs).unref();
    if (options.ratePerSecond === null) {
      for (let lane = 0; lane < options.lanes; lane++) for (let slot = 0; slot < options.window && !stopped; slot++) issue(lane, monotonicNowNs());
    } else {
      rateStartNs = monotonicNowNs();
      tick();
    }
  });
}
