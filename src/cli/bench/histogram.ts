/**
 * A latency histogram in the manner of HdrHistogram: log-linear buckets, fixed memory, constant-time
 * recording, and a bounded relative error on every percentile it reports.
 *
 * Layout. Values are non-negative integers (the benchmark records microseconds). Values below
 * 2^subBucketBits are counted exactly, one bucket each. Above that, each power-of-two range
 * [2^k, 2^(k+1)) is split into 2^(subBucketBits-1) equal buckets, so a bucket is at most
 * 2^(1-subBucketBits) of its values wide: with the default 8 bits, under 0.8 %. Bucket index:
 *
 *   value < 2^s:  index = value
 *   otherwise:    m = floor(log2(value)), shift = m - s + 1,
 *                 index = (shift + 1) * 2^(s-1) + (value >> shift) - 2^(s-1)
 *
 * where s = subBucketBits. Values above `highestTrackableValue` are clamped into the top bucket and
 * counted in `clampedCount`, so a broken run still reports something rather than growing memory.
 * A percentile answers the highest value equivalent to its bucket (like HdrHistogram), never less
 * than what was recorded.
 */
import { assert } from '../../common/assert.js';

/** Summary of a histogram in milliseconds (values recorded in microseconds), as the JSON report shows it. */
export interface LatencySummaryMs {
  count: number;
  min: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
}

export interface HistogramOptions {
  /** Bits of precision per power of two; the relative error is at most 2^(1-bits). Default 8. */
  subBucketBits?: number;
  /** Largest value kept apart from the others; larger ones are clamped. Default 2^36 (≈ 19 h in µs). */
  highestTrackableValue?: number;
}

const UINT32_LIMIT = 2 ** 32;

export class LatencyHistogram {
  readonly subBucketBits: number;
  readonly highestTrackableValue: number;
  /** Float64 counts: a run can pass 2^32 samples, and doubles are exact up to 2^53. */
  private readonly counts: Float64Array;
  private readonly halfSubBuckets: number;
  private totalCount = 0;
  private sum = 0;
  private minValue = Number.POSITIVE_INFINITY;
  private maxValue = 0;
  private clamped = 0;

  constructor(options: HistogramOptions = {}) {
    this.subBucketBits = options.subBucketBits ?? 8;
    this.highestTrackableValue = options.highestTrackableValue ?? 2 ** 36;
    assert(Number.isInteger(this.subBucketBits) && this.subBucketBits >= 2 && this.subBucketBits <= 16, 'subBucketBits must be 2..16');
    assert(Number.isInteger(this.highestTrackableValue) && this.highestTrackableValue >= 2 ** this.subBucketBits, 'highestTrackableValue too small');
    assert(this.highestTrackableValue <= 2 ** 52, 'highestTrackableValue must stay exact in a double');
    this.halfSubBuckets = 2 ** (this.subBucketBits - 1);
    this.counts = new Float64Array(this.indexOf(this.highestTrackableValue) + 1);
  }

  /** Samples recorded (clamped ones included). */
  get count(): number {
    return this.totalCount;
  }

  /** Samples above highestTrackableValue, counted in the top bucket. */
  get clampedCount(): number {
    return this.clamped;
  }

  get min(): number {
    return this.totalCount === 0 ? 0 : this.minValue;
  }

  get max(): number {
    return this.maxValue;
  }

  get mean(): number {
    return this.totalCount === 0 ? 0 : this.sum / this.totalCount;
  }

  /** Bucket index of a value (0 ≤ value ≤ highestTrackableValue). */
  indexOf(value: number): number {
    const subBucketCount = 2 * this.halfSubBuckets;
    if (value < subBucketCount) return value;
    if (value < UINT32_LIMIT) {
      // The common case (values under 71 minutes in µs): integer operations only.
      const shift = 31 - Math.clz32(value) - this.subBucketBits + 1;
      return (shift + 1) * this.halfSubBuckets + (value >>> shift) - this.halfSubBuckets;
    }
    // Math.clz32 works on 32 bits; values past 2^32 take the float path, still exact for integers.
    const shift = Math.floor(Math.log2(value)) - this.subBucketBits + 1;
    return (shift + 1) * this.halfSubBuckets + Math.floor(value / 2 ** shift) - this.halfSubBuckets;
  }

  /** The highest value that falls into bucket `index`. */
  highestEquivalentValue(index: number): number {
    const subBucketCount = 2 * this.halfSubBuckets;
    if (index < subBucketCount) return index;
    const shift = Math.floor(index / this.halfSubBuckets) - 1;
    const subBucket = (index % this.halfSubBuckets) + this.halfSubBuckets;
    return (subBucket + 1) * 2 ** shift - 1;
  }

  /** Records one value (rounded to an integer; negatives count as 0). */
  record(value: number): void {
    let integer = value > 0 ? Math.round(value) : 0;
    if (integer > this.highestTrackableValue) {
      this.clamped++;
      integer = this.highestTrackableValue;
    }
    this.counts[this.indexOf(integer)]!++;
    this.totalCount++;
    this.sum += integer;
    if (integer < this.minValue) this.minValue = integer;
    if (integer > this.maxValue) this.maxValue = integer;
  }

  /**
   * The value at or below which `percentile` % of the samples fall (0 < percentile ≤ 100), as the
   * highest value of its bucket, capped at the largest value recorded. 0 for an empty histogram.
   */
  valueAtPercentile(percentile: number): number {
    assert(percentile > 0 && percentile <= 100, 'percentile must be in (0, 100]');
    if (this.totalCount === 0) return 0;
    const rank = Math.max(1, Math.ceil((percentile / 100) * this.totalCount));
    let seen = 0;
    for (let index = 0; index < this.counts.length; index++) {
      seen += this.counts[index]!;
      if (seen >= rank) return Math.min(this.highestEquivalentValue(index), this.maxValue);
    }
    return this.maxValue;
  }

  /** Adds every sample of `other` (same geometry) to this histogram. */
  add(other: LatencyHistogram): void {
    assert(other.subBucketBits === this.subBucketBits && other.highestTrackableValue === this.highestTrackableValue, 'histograms differ in geometry');
    for (let index = 0; index < this.counts.length; index++) this.counts[index]! += other.counts[index]!;
    this.totalCount += other.totalCount;
    this.sum += other.sum;
    this.clamped += other.clamped;
    if (other.totalCount > 0) {
      if (other.minValue < this.minValue) this.minValue = other.minValue;
      if (other.maxValue > this.maxValue) this.maxValue = other.maxValue;
    }
  }

  reset(): void {
    this.counts.fill(0);
    this.totalCount = 0;
    this.sum = 0;
    this.minValue = Number.POSITIVE_INFINITY;
    this.maxValue = 0;
    this.clamped = 0;
  }

  /** The report form: microsecond samples shown as milliseconds with three decimals. */
  summaryMs(): LatencySummaryMs {
    const ms = (micros: number): number => Math.round(micros) / 1000;
    return {
      count: this.totalCount,
      min: ms(this.min),
      mean: ms(this.mean),
      p50: ms(this.valueAtPercentile(50)),
      p90: ms(this.valueAtPercentile(90)),
      p99: ms(this.valueAtPercentile(99)),
      p999: ms(this.valueAtPercentile(99.9)),
      max: ms(this.max),
    };
  }
}
