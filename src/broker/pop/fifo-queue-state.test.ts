// Proves the FIFO pop state machine: a batch blocks its queue until acked or invisible time passes, re-deliveries come earliest first with their count raised, acked messages never return, and the state survives its log record.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FifoQueueState } from './fifo-queue-state.js';

test('a batch blocks until acked; the consume offset moves past it and past filtered messages', () => {
  const state = new FifoQueueState(10);
  assert.equal(state.isBlocked(0, undefined), false);
  state.startBatch([10, 12], 14, 1000, 500, 'a1');
  assert.equal(state.isBlocked(1200, undefined), true);
  assert.equal(state.isBlocked(1200, 'a1'), false, 'a retry of the same attempt is not blocked');
  assert.equal(state.ack(12, 1000), 'ACKED');
  assert.equal(state.consumeOffset, 10);
  assert.equal(state.ack(10, 999), 'STALE', 'an ack must carry the pop time of the latest delivery');
  assert.equal(state.ack(10, 1000), 'ACKED');
  assert.equal(state.inBatch, false);
  assert.equal(state.consumeOffset, 14);
  assert.equal(state.ack(10, 1000), 'ALREADY_DONE');
  state.skipTo(20);
  assert.equal(state.consumeOffset, 20);
});

test('expired messages are handed out again earliest first, acked ones never', () => {
  const state = new FifoQueueState(0);
  state.startBatch([0, 1, 2], 3, 1000, 500, undefined);
  assert.equal(state.ack(1, 1000), 'ACKED');
  assert.equal(state.isBlocked(1600, undefined), false);
  const again = state.redeliverable(1);
  assert.deepEqual(again.map((entry) => entry.queueOffset), [0]);
  state.redeliver(again[0]!, 1600, 500, false, undefined);
  assert.equal(again[0]!.deliveries, 2);
  assert.equal(state.isBlocked(1700, undefined), true);
  assert.equal(state.changeVisibleTime(0, 1600, 5000), true);
  assert.equal(state.changeVisibleTime(0, 1000, 5000), false);
  const restored = FifoQueueState.fromRecord(state.toRecord(7));
  assert.deepEqual(restored.entries, state.entries);
  assert.equal(restored.consumeOffset, 0);
  assert.equal(restored.endOffset, 3);
  restored.giveUp(restored.entries[0]!);
  assert.deepEqual(restored.redeliverable(5).map((entry) => entry.queueOffset), [2]);
  assert.equal(restored.consumeOffset, 2);
});
