// Proves queue locks are exclusive per group, renewable only by their owner, released only by their owner, free again after their lease, and that owners written to the lock file keep their queues for one lease after a restart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync, mkdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { QueueLockManager } from './queue-lock-manager.js';

const q0 = { topic: 'T', brokerName: 'b', queueId: 0 };
const q1 = { topic: 'T', brokerName: 'b', queueId: 1 };

test('lock, renew, expire, unlock', () => {
  let now = 0;
  const locks = new QueueLockManager(60_000, () => now);
  assert.deepEqual(locks.tryLockBatch('G', [q0, q1], 'c1'), [q0, q1]);
  assert.deepEqual(locks.tryLockBatch('G', [q0, q1], 'c2'), [], 'held by c1');
  assert.deepEqual(locks.tryLockBatch('G2', [q0], 'c2'), [q0], 'another group is independent');
  assert.equal(locks.isLockAllExpired('G'), false);
  now = 50_000;
  assert.deepEqual(locks.tryLockBatch('G', [q0], 'c1'), [q0], 'renewed');
  now = 60_000;
  assert.deepEqual(locks.tryLockBatch('G', [q1], 'c2'), [], 'exactly at the end of the lease it is still held');
  now = 70_000;
  assert.deepEqual(locks.tryLockBatch('G', [q1], 'c2'), [q1], 'q1 expired and is taken over');
  assert.equal(locks.ownerOf('G', q1), 'c2');
  assert.deepEqual(locks.tryLockBatch('G', [q0], 'c2'), [], 'q0 was renewed at 50 s');
  locks.unlockBatch('G', [q0], 'c2');
  assert.equal(locks.isLocked('G', q0, 'c1'), true, 'only the owner unlocks');
  locks.unlockBatch('G', [q0], 'c1');
  assert.equal(locks.ownerOf('G', q0), undefined);
  assert.deepEqual(locks.tryLockBatch('G', [q0], 'c2'), [q0]);
  now = 200_000;
  assert.equal(locks.isLockAllExpired('G'), true);
  locks.removeExpired();
  assert.equal(locks.ownerOf('G', q0), undefined);
});

test('owners survive a restart through the lock file, each with a fresh lease', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'tidemq-locks-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const path = join(root, 'config', 'queueLocks.json');
  let now = 1_000;
  const before = new QueueLockManager(60_000, () => now);
  before.attachPersistence(path);
  assert.deepEqual(before.tryLockBatch('G', [q0, q1], 'c1'), [q0, q1]);
  await before.persist();
  assert.ok(existsSync(path));

  // A renewal changes no owner and writes nothing.
  rmSync(path);
  now = 2_000;
  before.tryLockBatch('G', [q0], 'c1');
  await before.persist();
  assert.equal(existsSync(path), false, 'renewals are not written');
  before.unlockBatch('G', [q1], 'c1');
  await before.persist();
  assert.deepEqual(JSON.parse(readFileSync(path, 'utf8')), { version: 1, locks: { G: [{ topic: 'T', brokerName: 'b', queueId: 0, clientId: 'c1' }] } });

  // "Restart" long after: the recorded owner still gets a full lease from the moment of loading.
  now = 10_000_000;
  const after = new QueueLockManager(60_000, () => now);
  after.attachPersistence(path);
  after.attachPersistence(path);
  assert.equal(after.ownerOf('G', q0), 'c1');
  assert.deepEqual(after.tryLockBatch('G', [q0, q1], 'c2'), [q1], 'q0 stays with its recorded owner; q1 was unlocked before');
  assert.deepEqual(after.tryLockBatch('G', [q0], 'c1'), [q0], 'the owner renews at once');
  now += 60_001;
  assert.deepEqual(after.tryLockBatch('G', [q0], 'c3'), [q0], 'an owner that does not come back loses the queue after one lease');
  assert.throws(() => after.attachPersistence(join(root, 'other.json')), /already persist/);
});

test('a malformed lock file is ignored', () => {
  const root = mkdtempSync(join(tmpdir(), 'tidemq-locks-'));
  try {
    mkdirSync(join(root, 'config'));
    for (const content of ['not json', '[]', '{"locks":[]}', '{"locks":{"G":[{"topic":"T"}]}}']) {
      const path = join(root, 'config', 'queueLocks.json');
      writeFileSync(path, content);
      const locks = new QueueLockManager(60_000);
      locks.attachPersistence(path);
      assert.deepEqual(locks.tryLockBatch('G', [q0], 'c2'), [q0], content);
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
