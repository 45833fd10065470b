/**
 * RocketMQ's send circuit breaker (MQFaultStrategy + LatencyFaultToleranceImpl): every send records
 * how long the broker took; a slow answer, or a failure (counted as `isolationLatencyMs`), makes the
 * broker "not available" for a while, and queue selection skips it until then. Latencies map to
 * pauses through two tables: the pause of the largest `latencyMaxMs[i]` the latency reaches is
 * `notAvailableDurationMs[i]` (defaults: under 550 ms no pause, ≥ 550 ms 30 s, … ≥ 15 s 10 min).
 * Pure bookkeeping with an injectable clock; no timers.
 */
import { assert } from '../common/assert.js';

export interface FaultToleranceOptions {
  latencyMaxMs?: readonly number[];
  notAvailableDurationMs?: readonly number[];
  /** The latency a failed send counts as. Default 30 000 ms (→ a 10-minute pause with the defaults). */
  isolationLatencyMs?: number;
  now?: () => number;
}

export const DEFAULT_LATENCY_MAX_MS: readonly number[] = [50, 100, 550, 1000, 2000, 3000, 15_000];
export const DEFAULT_NOT_AVAILABLE_DURATION_MS: readonly number[] = [0, 0, 30_000, 60_000, 120_000, 180_000, 600_000];

interface FaultItem {
  latencyMs: number;
  availableAfterMs: number;
}

/** Most brokers tracked; beyond it, the entry that became available longest ago is forgotten. */
const MAX_TRACKED_BROKERS = 10_000;

export class LatencyFaultTolerance {
  private readonly latencyMaxMs: readonly number[];
  private readonly notAvailableDurationMs: readonly number[];
  private readonly isolationLatencyMs: number;
  private readonly now: () => number;
  private readonly items = new Map<string, FaultItem>();

  constructor(options: FaultToleranceOptions = {}) {
    this.latencyMaxMs = options.latencyMaxMs ?? DEFAULT_LATENCY_MAX_MS;
    this.notAvailableDurationMs = options.notAvailableDurationMs ?? DEFAULT_NOT_AVAILABLE_DURATION_MS;
    assert(this.latencyMaxMs.length === this.notAvailableDurationMs.length, 'latencyMaxMs and notAvailableDurationMs must have the same length');
    this.isolationLatencyMs = options.isolationLatencyMs ?? 30_000;
    this.now = options.now ?? Date.now;
  }

  /** How long a broker that answered in `latencyMs` is avoided. */
  pauseFor(latencyMs: number): number {
    for (let index = this.latencyMaxMs.length - 1; index >= 0; index--) {
      if (latencyMs >= this.latencyMaxMs[index]!) return this.notAvailableDurationMs[index]!;
    }
    return 0;
  }

  /** Records a send to `brokerName` that took `latencyMs`; `failed` counts it as isolationLatencyMs. */
  update(brokerName: string, latencyMs: number, failed: boolean): void {
    const effective = failed ? Math.max(latencyMs, this.isolationLatencyMs) : latencyMs;
    const pauseMs = this.pauseFor(effective);
    const existing = this.items.get(brokerName);
    if (existing === undefined && pauseMs === 0) return;
    if (existing === undefined && this.items.size >= MAX_TRACKED_BROKERS) this.evictOne();
    this.items.set(brokerName, { latencyMs: effective, availableAfterMs: this.now() + pauseMs });
  }

  isAvailable(brokerName: string): boolean {
    const item = this.items.get(brokerName);
    return item === undefined || this.now() >= item.availableAfterMs;
  }

  /** The broker whose pause ends first (the least bad choice when every broker is paused). */
  pickOneAtLeast(): string | undefined {
    let best: string | undefined;
    let bestAfterMs = Number.POSITIVE_INFINITY;
    for (const [name, item] of this.items) {
      if (item.availableAfterMs < bestAfterMs) {
        best = name;
        bestAfterMs = item.availableAfterMs;
      }
    }
    return best;
  }

  remove(brokerName: string): void {
    this.items.delete(brokerName);
  }

  private evictOne(): void {
    const name = this.pickOneAtLeast();
    if (name !== undefined) this.items.delete(name);
  }
}
