// Proves the expiry wheel hands entries out in due order, bucket by bucket, removes any entry in O(1) without disturbing the others, and puts past-due entries into the next bucket taken.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ExpiryWheel, type WheelEntry } from './expiry-wheel.js';

class Entry implements WheelEntry {
  wheelBucket = -1;
  wheelIndex = -1;
  constructor(readonly name: string) {}
}

test('entries come out when due, at most `limit` at a time', () => {
  const wheel = new ExpiryWheel<Entry>(100, 10_000);
  const early = new Entry('early');
  const late = new Entry('late');
  const past = new Entry('past');
  wheel.add(late, 10_500);
  wheel.add(early, 10_150);
  wheel.add(past, 1_000);
  assert.equal(wheel.size, 3);
  const out: Entry[] = [];
  assert.equal(wheel.takeDue(10_098, 10, out), 0, 'a bucket comes out only once all of it is due');
  assert.equal(wheel.takeDue(10_099, 10, out), 1);
  assert.deepEqual(out.map((entry) => entry.name), ['past']);
  out.length = 0;
  assert.equal(wheel.takeDue(10_150, 10, out), 0, 'never before its due time');
  assert.equal(wheel.takeDue(10_199, 10, out), 1);
  assert.deepEqual(out.map((entry) => entry.name), ['early']);
  out.length = 0;
  assert.equal(wheel.takeDue(10_500, 10, out), 0);
  assert.equal(wheel.takeDue(10_599, 10, out), 1);
  assert.equal(out[0]!.wheelBucket, -1);
  assert.equal(wheel.size, 0);
});

test('removal swaps the last entry of the bucket into place', () => {
  const wheel = new ExpiryWheel<Entry>(100, 0);
  const entries = Array.from({ length: 5 }, (_, index) => new Entry(`e${index}`));
  for (const entry of entries) wheel.add(entry, 250);
  wheel.remove(entries[1]!);
  wheel.remove(entries[1]!);
  wheel.remove(entries[4]!);
  assert.equal(wheel.size, 3);
  const out: Entry[] = [];
  assert.equal(wheel.takeDue(299, 2, out), 2);
  assert.equal(wheel.takeDue(299, 2, out), 1, 'the rest of a bucket waits for the next call');
  assert.deepEqual(out.map((entry) => entry.name).sort(), ['e0', 'e2', 'e3']);
  wheel.add(entries[1]!, 50);
  assert.equal(wheel.takeDue(399, 10, out), 1, 'an entry added past the cursor goes into the first bucket not yet taken');
});
