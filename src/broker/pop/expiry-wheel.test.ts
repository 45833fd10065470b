// Proves the expiry wheel hands ids out in due order, bucket by bucket, removes any id in O(1) without disturbing the others, grows past its first arrays, and puts past-due ids into the next bucket taken.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ExpiryWheel } from './expiry-wheel.js';

const EARLY = 0;
const LATE = 1;
const PAST = 2;

test('entries come out when due, at most `limit` at a time', () => {
  const wheel = new ExpiryWheel(100, 10_000);
  wheel.add(LATE, 10_500);
  wheel.add(EARLY, 10_150);
  wheel.add(PAST, 1_000);
  assert.equal(wheel.size, 3);
  const out: number[] = [];
  assert.equal(wheel.takeDue(10_098, 10, out), 0, 'a bucket comes out only once all of it is due');
  assert.equal(wheel.takeDue(10_099, 10, out), 1);
  assert.deepEqual(out, [PAST]);
  out.length = 0;
  assert.equal(wheel.takeDue(10_150, 10, out), 0, 'never before its due time');
  assert.equal(wheel.takeDue(10_199, 10, out), 1);
  assert.deepEqual(out, [EARLY]);
  out.length = 0;
  assert.equal(wheel.takeDue(10_500, 10, out), 0);
  assert.equal(wheel.takeDue(10_599, 10, out), 1);
  assert.equal(wheel.has(LATE), false);
  assert.equal(wheel.size, 0);
});

test('removal unlinks one entry of a bucket and leaves the others', () => {
  const wheel = new ExpiryWheel(100, 0);
  for (let id = 0; id < 5; id++) wheel.add(id, 250);
  wheel.remove(1);
  wheel.remove(1);
  wheel.remove(4);
  wheel.remove(0);
  assert.equal(wheel.size, 2);
  const out: number[] = [];
  assert.equal(wheel.takeDue(299, 1, out), 1);
  assert.equal(wheel.takeDue(299, 2, out), 1, 'the rest of a bucket waits for the next call');
  assert.deepEqual(out.sort(), [2, 3]);
  wheel.add(1, 50);
  assert.equal(wheel.takeDue(399, 10, out), 1, 'an entry added past the cursor goes into the first bucket not yet taken');
  assert.throws(() => {
    wheel.add(7, 500);
    wheel.add(7, 600);
  }, /already in the wheel/);
});

test('many ids over many buckets come out exactly once, in bucket order', () => {
  const wheel = new ExpiryWheel(10, 0);
  const ids = 5000;
  for (let id = 0; id < ids; id++) wheel.add(id, (id * 7919) % 1000);
  for (let id = 0; id < ids; id += 3) wheel.remove(id);
  const out: number[] = [];
  let lastDue = -1;
  for (let nowMs = 0; nowMs <= 1010; nowMs += 10) {
    const from = out.length;
    wheel.takeDue(nowMs + 9, ids, out);
    for (const id of out.slice(from)) {
      const due = (id * 7919) % 1000;
      assert.ok(due <= nowMs + 9, 'never early');
      assert.ok(due >= lastDue - 10, 'in bucket order');
    }
    lastDue = nowMs;
  }
  assert.equal(new Set(out).size, out.length);
  assert.deepEqual(out.sort((a, b) => a - b), Array.from({ length: ids }, (_, id) => id).filter((id) => id % 3 !== 0));
  assert.equal(wheel.size, 0);
});
