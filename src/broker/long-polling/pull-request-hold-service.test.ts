// Proves held pulls wake on a matching arrival (not on a filtered one), expire through the shared sweep, respect the cap and drop closed connections.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { RecordingConnection } from '../test-connection.js';
import { PullRequestHoldService, type HeldPullRequest } from './pull-request-hold-service.js';

test('arrival, filter, expiry, cap and close', async () => {
  let now = 0;
  let maxOffset = 0;
  const service = new PullRequestHoldService({ maxHeldRequests: 3, sweepIntervalMs: 1000, recheckIntervalMs: 10_000, maxOffsetOf: () => maxOffset, now: () => now });
  const woken: string[] = [];
  const connection = new RecordingConnection();
  const request = (name: string, overrides: Partial<HeldPullRequest> = {}): HeldPullRequest => ({
    topic: 'T', queueId: 0, queueOffset: 5, connection, deadlineMs: 15_000, wake: () => woken.push(name), ...overrides,
  });
  assert.ok(service.hold(request('plain')));
  assert.ok(service.hold(request('tagA', { filter: { matchesTagsCode: (code) => code === 65 } })));
  assert.ok(service.hold(request('otherQueue', { queueId: 1, deadlineMs: 2000 })));
  assert.equal(service.hold(request('over the cap')), false);
  assert.equal(service.size, 3);

  service.notifyMessageArriving('T', 0, 4, 66);
  await nextTurn();
  assert.deepEqual(woken, [], 'an older offset wakes nobody');
  service.notifyMessageArriving('T', 0, 5, 66);
  assert.deepEqual(woken, [], 'wakes run on a later turn, not inside the append');
  await nextTurn();
  assert.deepEqual(woken, ['plain'], 'the filtered request keeps waiting');
  service.notifyMessageArriving('T', 0, 6, 65);
  await nextTurn();
  assert.deepEqual(woken, ['plain', 'tagA']);

  now = 2500;
  service.sweep();
  assert.deepEqual(woken, ['plain', 'tagA', 'otherQueue'], 'expired');
  assert.equal(service.size, 0);

  const closing = new RecordingConnection();
  service.hold(request('closed', { connection: closing }));
  service.onConnectionClosed(closing);
  assert.equal(service.size, 0);

  service.hold(request('grown', { deadlineMs: 1_000_000 }));
  maxOffset = 9;
  now = 20_000;
  service.sweep();
  assert.deepEqual(woken.at(-1), 'grown', 'the periodic re-check wakes requests whose queue grew');
  service.hold(request('at close', { deadlineMs: 1_000_000 }));
  service.stop();
  assert.deepEqual(woken.at(-1), 'at close', 'stop answers what is held');
});
