// Proves queue locks are exclusive per group, renewable by their owner and free again after their lease.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { QueueLockManager } from './queue-lock-manager.js';

test('lock, renew, expire, unlock', () => {
  let now = 0;
  const locks = new QueueLockManager(60_000, () => now);
  const q0 = { topic: 'T', brokerName: 'b', queueId: 0 };
  const q1 = { topic: 'T', brokerName: 'b', queueId: 1 };
  assert.deepEqual(locks.tryLockBatch('G', [q0, q1], 'c1'), [q0, q1]);
  assert.deepEqual(locks.tryLockBatch('G', [q0, q1], 'c2'), [], 'held by c1');
  assert.deepEqual(locks.tryLockBatch('G2', [q0], 'c2'), [q0], 'another group is independent');
  assert.equal(locks.isLockAllExpired('G'), false);
  now = 50_000;
  assert.deepEqual(locks.tryLockBatch('G', [q0], 'c1'), [q0], 'renewed');
  now = 70_000;
  assert.deepEqual(locks.tryLockBatch('G', [q1], 'c2'), [q1], 'q1 expired and is taken over');
  assert.deepEqual(locks.tryLockBatch('G', [q0], 'c2'), [], 'q0 was renewed at 50 s');
  locks.unlockBatch('G', [q0], 'c2');
  assert.equal(locks.isLocked('G', q0, 'c1'), true, 'only the owner unlocks');
  locks.unlockBatch('G', [q0], 'c1');
  assert.deepEqual(locks.tryLockBatch('G', [q0], 'c2'), [q0]);
  now = 200_000;
  assert.equal(locks.isLockAllExpired('G'), true);
  locks.removeExpired();
});
