// Proves the lazily sampled rates: windows measured against old-enough samples, bounded memory, Java's tps text form.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatDouble, formatTps, RateSampler } from './rate-sampler.js';

test('rate over a window uses the newest sample at least that old', () => {
  const sampler = new RateSampler({ maxKeys: 10, maxSamplesPerKey: 100, minSpacingMs: 1000, maxWindowMs: 600_000 });
  sampler.record('put', 0, 0);
  sampler.record('put', 100, 50_000);
  sampler.record('put', 200, 60_000);
  // 10 s window: 50 s → 60 s, 100 events.
  assert.equal(sampler.perSecond('put', 10_000), 10);
  // 60 s window: no sample that old besides the first → 0 s → 60 s.
  assert.equal(sampler.perSecond('put', 60_000), 200 / 60);
  assert.equal(sampler.perSecond('unknown', 10_000), 0);
});

test('samples closer than the spacing replace the newest one', () => {
  const sampler = new RateSampler({ maxKeys: 10, maxSamplesPerKey: 3, minSpacingMs: 1000, maxWindowMs: 600_000 });
  sampler.record('k', 0, 0);
  sampler.record('k', 10, 2000);
  for (let atMs = 2100; atMs < 2900; atMs += 100) sampler.record('k', 20, atMs);
  assert.equal(sampler.perSecond('k', 1000), 20 / 2.8);
});

test('keys and samples are bounded', () => {
  const sampler = new RateSampler({ maxKeys: 2, maxSamplesPerKey: 2, minSpacingMs: 1, maxWindowMs: 10 });
  sampler.record('a', 0, 0);
  sampler.record('b', 0, 0);
  sampler.record('c', 0, 0);
  sampler.record('c', 5, 1000);
  assert.equal(sampler.perSecond('a', 1), 0, 'the least recently recorded key was dropped');
  for (let index = 0; index < 100; index++) sampler.record('c', index, 2000 + index * 10);
  // Only the last two samples remain: 10 ms apart, one event.
  assert.equal(sampler.perSecond('c', 1), 100);
});

test('tps text has three windows in Java double form', () => {
  const sampler = new RateSampler();
  assert.equal(formatTps(sampler, 'none'), '0.0 0.0 0.0');
  assert.equal(formatDouble(12.5), '12.5');
  assert.equal(formatDouble(3), '3.0');
  assert.equal(formatDouble(1 / 3), '0.3333');
});
