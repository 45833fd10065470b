// Proves the finished-offset window: offsets finish in any order, progress moves over every finished prefix, the window compacts and grows without losing bits, and skipTo forgets what lies below.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ResolvedOffsets } from './resolved-offsets.js';

test('progress moves only over a finished prefix, whatever the order', () => {
  const resolved = new ResolvedOffsets(10, 8);
  assert.equal(resolved.progress, 10);
  assert.equal(resolved.has(9), true, 'below progress counts as finished');
  assert.equal(resolved.has(10), false);
  resolved.add(12);
  resolved.add(11);
  assert.equal(resolved.progress, 10);
  assert.equal(resolved.has(12), true);
  resolved.add(10);
  assert.equal(resolved.progress, 13);
  resolved.add(5);
  assert.equal(resolved.progress, 13, 'an offset below progress changes nothing');
});

test('the window grows past its first size and compacts, keeping every bit', () => {
  const resolved = new ResolvedOffsets(3, 8);
  const open = new Set([3, 700, 5000, 80_000]);
  for (let offset = 3; offset < 100_000; offset++) if (!open.has(offset)) resolved.add(offset);
  assert.equal(resolved.progress, 3);
  for (let offset = 3; offset < 100_000; offset += 997) assert.equal(resolved.has(offset), !open.has(offset), `offset ${offset}`);
  resolved.add(3);
  assert.equal(resolved.progress, 700);
  resolved.add(700);
  resolved.add(5000);
  assert.equal(resolved.progress, 80_000);
  assert.equal(resolved.has(79_999), true);
  assert.equal(resolved.has(80_001), true);
  resolved.add(80_000);
  assert.equal(resolved.progress, 100_000);
  assert.ok(resolved.windowBytes <= 16 * 1024, `window stays small once compacted (${resolved.windowBytes} bytes)`);
  resolved.add(100_001);
  assert.equal(resolved.progress, 100_000);
  assert.equal(resolved.has(100_001), true);
});

test('skipTo declares everything below finished and keeps later bits', () => {
  const resolved = new ResolvedOffsets(0, 8);
  resolved.add(1_000_000);
  resolved.add(1_000_001);
  resolved.skipTo(999_999);
  assert.equal(resolved.progress, 999_999);
  resolved.skipTo(1_000_000);
  assert.equal(resolved.progress, 1_000_002);
  resolved.skipTo(5);
  assert.equal(resolved.progress, 1_000_002, 'skipTo never moves back');
  const far = new ResolvedOffsets(0, 8);
  far.skipTo(10_000_000);
  assert.equal(far.has(10_000_000), false);
  far.add(10_000_003);
  assert.equal(far.has(10_000_003), true);
  assert.equal(far.progress, 10_000_000);
});
