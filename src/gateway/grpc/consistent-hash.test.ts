// Proves the FIFO queue choice is Guava's consistentHash, by its published golden values, and that it stays in range.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { consistentHash, queueOfMessageGroup } from './consistent-hash.js';

test('matches Guava consistentHash golden values', () => {
  const golden100 = [0, 55, 62, 8, 45, 59, 86, 97, 82, 59, 73, 37, 17, 56, 86, 21, 90, 37, 38, 83];
  golden100.forEach((expected, input) => assert.equal(consistentHash(input, 100), expected));
  assert.equal(consistentHash(10863919174838991n, 11), 6);
  assert.equal(consistentHash(2016238256797177309n, 11), 3);
  assert.equal(consistentHash(1673758223894951030n, 11), 5);
  assert.equal(consistentHash(2, 100001), 80343);
  assert.equal(consistentHash(2201, 100001), 22152);
  assert.equal(consistentHash(2202, 100001), 15018);
});

test('message groups map to a stable queue in range, negative hash codes included', () => {
  for (const group of ['order-1', 'order-2', 'Aa', 'BB', '', 'a-much-longer-message-group-name-😀']) {
    const queue = queueOfMessageGroup(group, 8);
    assert.ok(queue >= 0 && queue < 8);
    assert.equal(queueOfMessageGroup(group, 8), queue);
  }
  assert.equal(queueOfMessageGroup('anything', 1), 0);
  assert.throws(() => consistentHash(1, 0), RangeError);
});
