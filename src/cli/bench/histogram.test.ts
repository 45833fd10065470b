// Proves the benchmark's log-linear histogram reports percentiles within its stated relative error, keeps buckets contiguous, clamps outliers and merges exactly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LatencyHistogram } from './histogram.js';

test('small values are exact and percentiles follow ranks', () => {
  const histogram = new LatencyHistogram();
  for (let value = 1; value <= 100; value++) histogram.record(value);
  assert.equal(histogram.count, 100);
  assert.equal(histogram.min, 1);
  assert.equal(histogram.max, 100);
  assert.equal(histogram.mean, 50.5);
  assert.equal(histogram.valueAtPercentile(50), 50);
  assert.equal(histogram.valueAtPercentile(99), 99);
  assert.equal(histogram.valueAtPercentile(100), 100);
});

test('bucket indices are contiguous and each bucket ends where the next begins', () => {
  const histogram = new LatencyHistogram({ subBucketBits: 5, highestTrackableValue: 1 << 20 });
  let previousIndex = -1;
  for (let value = 0; value <= 1 << 20; value++) {
    const index = histogram.indexOf(value);
    assert.ok(index === previousIndex || index === previousIndex + 1, `index jumps at ${value}`);
    if (index !== previousIndex && value > 0) assert.equal(histogram.highestEquivalentValue(previousIndex), value - 1);
    previousIndex = index;
  }
});

test('percentiles of a wide distribution stay within the relative error bound', () => {
  const histogram = new LatencyHistogram();
  const values: number[] = [];
  let seed = 12345;
  for (let index = 0; index < 50_000; index++) {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    // Log-uniform between 1 µs and ~100 s, like real latency tails.
    const value = Math.round(Math.exp((seed / 2 ** 31) * Math.log(1e8)));
    values.push(value);
    histogram.record(value);
  }
  values.sort((left, right) => left - right);
  const bound = 2 ** (1 - histogram.subBucketBits);
  for (const percentile of [50, 90, 99, 99.9]) {
    const exact = values[Math.ceil((percentile / 100) * values.length) - 1]!;
    const reported = histogram.valueAtPercentile(percentile);
    assert.ok(reported >= exact, `p${percentile}: ${reported} < ${exact}`);
    assert.ok((reported - exact) / exact <= bound, `p${percentile}: ${reported} vs ${exact} beyond ${bound}`);
  }
});

test('values past the trackable range are clamped and counted, not lost', () => {
  const histogram = new LatencyHistogram({ highestTrackableValue: 10_000 });
  histogram.record(5);
  histogram.record(1e9);
  histogram.record(-3);
  assert.equal(histogram.count, 3);
  assert.equal(histogram.clampedCount, 1);
  assert.equal(histogram.max, 10_000);
  assert.equal(histogram.min, 0);
  assert.equal(histogram.valueAtPercentile(100), 10_000);
});

test('add merges two histograms into the same counts as recording everything in one', () => {
  const left = new LatencyHistogram();
  const right = new LatencyHistogram();
  const both = new LatencyHistogram();
  for (let value = 0; value < 5000; value += 7) {
    (value % 2 === 0 ? left : right).record(value * 13);
    both.record(value * 13);
  }
  left.add(right);
  assert.equal(left.count, both.count);
  assert.equal(left.min, both.min);
  assert.equal(left.max, both.max);
  assert.equal(left.mean, both.mean);
  for (const percentile of [1, 50, 90, 99, 99.9, 100]) assert.equal(left.valueAtPercentile(percentile), both.valueAtPercentile(percentile));
  left.reset();
  assert.equal(left.count, 0);
  assert.equal(left.valueAtPercentile(50), 0);
  assert.deepEqual(left.summaryMs(), { count: 0, min: 0, mean: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0 });
});

test('summaryMs reports microsecond samples as milliseconds', () => {
  const histogram = new LatencyHistogram();
  histogram.record(1500);
  const summary = histogram.summaryMs();
  assert.equal(summary.count, 1);
  assert.equal(summary.min, 1.5);
  assert.ok(summary.p50 >= 1.5 && summary.p50 < 1.52);
});
