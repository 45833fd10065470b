// Proves the struct-of-arrays checkpoint table finds checkpoints by (queue, start offset, pop time) through growth, removal and slot reuse, keeps the in-flight counts right, and never grows past its limit except when told to (log replay).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CheckpointTable, NO_CHECKPOINT } from './checkpoint-table.js';

test('add, find, ack and remove over thousands of checkpoints', () => {
  const table = new CheckpointTable(100_000);
  const queueA = table.getOrCreateQueue('G', 'T', 'T', 0).queue;
  const queueB = table.getOrCreateQueue('H', 'T', 'T', 1).queue;
  const count = 5000;
  const slots: number[] = [];
  for (let index = 0; index < count; index++) {
    const queue = index % 2 === 0 ? queueA : queueB;
    slots.push(table.add(queue, 2 ** 40 + index, 1_700_000_000_000 + (index % 7), 60_000, 1 + (index % 32), null));
  }
  assert.equal(table.size, count);
  assert.ok(table.capacity >= count && table.capacity < count * 2);
  for (let index = 0; index < count; index++) {
    const queue = index % 2 === 0 ? queueA : queueB;
    assert.equal(table.get(queue, 2 ** 40 + index, 1_700_000_000_000 + (index % 7)), slots[index]);
    assert.equal(table.get(queue === queueA ? queueB : queueA, 2 ** 40 + index, 1_700_000_000_000 + (index % 7)), NO_CHECKPOINT, 'another queue');
    assert.equal(table.get(queue, 2 ** 40 + index, 1_700_000_000_000 + (index % 7) + 1), NO_CHECKPOINT, 'another pop time');
  }
  let expected = 0;
  for (let index = 0; index < count; index++) expected += 1 + (index % 32);
  assert.equal(table.inflightMessages, expected);
  // Ack every checkpoint's first message; remove every other checkpoint.
  for (let index = 0; index < count; index++) {
    assert.equal(table.ack(slots[index]!, 1), 1);
    assert.equal(table.ack(slots[index]!, 1), 0, 'an ack is counted once');
  }
  assert.equal(table.inflightMessages, expected - count);
  for (let index = 0; index < count; index += 2) table.remove(slots[index]!);
  assert.equal(table.size, count / 2);
  assert.equal(table.inflightOf('G'), 0);
  for (let index = 1; index < count; index += 2) {
    assert.equal(table.get(queueB, 2 ** 40 + index, 1_700_000_000_000 + (index % 7)), slots[index]);
    assert.equal(table.isAcked(slots[index]!, 0), true);
    assert.equal(table.offsetAt(slots[index]!, 3), 2 ** 40 + index + 3);
  }
  // Freed slots are reused before the table grows.
  const capacity = table.capacity;
  for (let index = 0; index < count / 2; index++) table.add(queueA, index, 5, 1000, 1, null);
  assert.equal(table.capacity, capacity);
  let live = 0;
  table.forEach(() => live++);
  assert.equal(live, count);
});

test('offsets that are not contiguous and stale bits live in side maps', () => {
  const table = new CheckpointTable(10);
  const queue = table.getOrCreateQueue('G', 'T', 'T', 0).queue;
  const slot = table.add(queue, 100, 1, 1000, 3, Uint32Array.from([0, 5, 9]));
  assert.equal(table.indexOf(slot, 105), 1);
  assert.equal(table.indexOf(slot, 101), -1);
  assert.equal(table.offsetAt(slot, 2), 109);
  assert.deepEqual([...table.diffsOf(slot)!], [0, 5, 9]);
  table.markChanged(slot, 2);
  assert.equal(table.isChanged(slot, 2), true);
  assert.equal(table.isChanged(slot, 1), false);
  table.remove(slot);
  const reused = table.add(queue, 200, 1, 1000, 2, null);
  assert.equal(reused, slot);
  assert.equal(table.diffsOf(reused), null, 'a reused slot does not inherit side data');
  assert.equal(table.isChanged(reused, 2), false);
  assert.equal(table.indexOf(reused, 201), 1);
});

test('the table refuses to pass its limit unless replaying', () => {
  const table = new CheckpointTable(3);
  const queue = table.getOrCreateQueue('G', 'T', 'T', 0).queue;
  for (let index = 0; index < 3; index++) table.add(queue, index, 1, 1000, 1, null);
  assert.equal(table.hasRoomFor(1), false);
  assert.throws(() => table.add(queue, 10, 1, 1000, 1, null), /more than 3 pop checkpoints/);
  table.add(queue, 11, 1, 1000, 1, null, 0, true);
  assert.equal(table.size, 4);
  assert.ok(table.capacity <= 1024);
});

test('an emptied table gives its memory back and starts again from nothing', () => {
  const table = new CheckpointTable(100_000);
  const queue = table.getOrCreateQueue('G', 'T', 'T', 0).queue;
  const slots = Array.from({ length: 3000 }, (_, index) => table.add(queue, index, 7, 1000, 1, null));
  assert.ok(table.capacityBytes > 3000 * 40);
  for (const slot of slots) table.remove(slot);
  assert.equal(table.size, 0);
  assert.equal(table.capacityBytes, 0);
  assert.equal(table.inflightMessages, 0);
  const slot = table.add(queue, 5, 7, 1000, 2, null);
  assert.equal(table.get(queue, 5, 7), slot);
  assert.equal(table.get(queue, 4, 7), NO_CHECKPOINT);
});
