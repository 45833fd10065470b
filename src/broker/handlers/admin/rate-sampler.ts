/**
 * Per-second rates (putTps, getTransferredTps, topicPutTps, consumeTps) from monotonically growing
 * counters, without a timer: callers record the current total whenever they look, and the rate over a
 * window is measured against the newest sample at least that old. Java samples every second; we sample
 * when an admin request arrives, so a rate covers "since the last sample that is old enough" when
 * requests are sparse. That is what the tools need (an order of magnitude), and costs nothing when
 * nobody asks.
 *
 * Limits: at most `maxKeys` counters (the least recently recorded is dropped past that) and at most
 * `maxSamplesPerKey` samples per counter, spaced at least `minSpacingMs` apart, none older than
 * `maxWindowMs` plus one spacing.
 */
import { assert } from '../../../common/assert.js';

export interface RateSamplerOptions {
  maxKeys: number;
  maxSamplesPerKey: number;
  minSpacingMs: number;
  /** The longest window anyone asks for (Java's longest is 600 s). */
  maxWindowMs: number;
}

interface Sample {
  atMs: number;
  total: number;
}

export const DEFAULT_RATE_SAMPLER_OPTIONS: RateSamplerOptions = {
  maxKeys: 10_000,
  maxSamplesPerKey: 128,
  minSpacingMs: 1000,
  maxWindowMs: 600_000,
};

export class RateSampler {
  /** Map order = recording order, so the first key is the least recently recorded. */
  private readonly series = new Map<string, Sample[]>();

  constructor(private readonly options: RateSamplerOptions = DEFAULT_RATE_SAMPLER_OPTIONS) {
    assert(options.maxKeys > 0 && options.maxSamplesPerKey >= 2 && options.minSpacingMs > 0, 'RateSampler: bad options');
  }

  /** Records the counter's current total. */
  record(key: string, total: number, nowMs: number): void {
    let samples = this.series.get(key);
    if (samples === undefined) {
      if (this.series.size >= this.options.maxKeys) {
        const oldest = this.series.keys().next().value;
        if (oldest !== undefined) this.series.delete(oldest);
      }
      samples = [];
    } else {
      this.series.delete(key);
    }
    this.series.set(key, samples);
    const last = samples[samples.length - 1];
    const previous = samples[samples.length - 2];
    // Keep the newest sample current, but only start a new one once the spacing has passed, so a
    // burst of requests does not push the older samples out.
    if (last !== undefined && previous !== undefined && nowMs - previous.atMs < this.options.minSpacingMs) {
      last.atMs = nowMs;
      last.total = total;
    } else {
      samples.push({ atMs: nowMs, total });
    }
    const horizonMs = nowMs - this.options.maxWindowMs - this.options.minSpacingMs;
    let drop = 0;
    // Always keep one sample older than the longest window so that window can still be measured.
    while (drop + 1 < samples.length && samples[drop + 1]!.atMs <= horizonMs) drop++;
    drop = Math.max(drop, samples.length - this.options.maxSamplesPerKey);
    if (drop > 0) samples.splice(0, drop);
  }

  /** Events per second over about `windowMs` up to the newest sample; 0 without two samples. */
  perSecond(key: string, windowMs: number): number {
    const samples = this.series.get(key);
    if (samples === undefined || samples.length < 2) return 0;
    const newest = samples[samples.length - 1]!;
    let base = samples[0]!;
    for (let index = samples.length - 2; index >= 0; index--) {
      if (newest.atMs - samples[index]!.atMs >= windowMs) {
        base = samples[index]!;
        break;
      }
    }
    const elapsedMs = newest.atMs - base.atMs;
    if (elapsedMs <= 0) return 0;
    return Math.max(0, ((newest.total - base.total) * 1000) / elapsedMs);
  }

  forget(key: string): void {
    this.series.delete(key);
  }
}

/** Java's three-window form: `tps10s tps60s tps600s`. */
export function formatTps(sampler: RateSampler, key: string): string {
  return [10_000, 60_000, 600_000].map((windowMs) => formatDouble(sampler.perSecond(key, windowMs))).join(' ');
}

/** A number as Java's Double.toString writes simple values (`0.0`, `12.5`), at most 4 decimals. */
export function formatDouble(value: number): string {
  const rounded = Math.round(value * 10_000) / 10_000;
  return Number.isInteger(rounded) ? `${rounded}.0` : String(rounded);
}
