// Proves producers are tracked per group and leave on unregister, connection close and silence, and that producers per group and groups are capped with SYSTEM_BUSY.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isTideError } from '../common/errors.js';
import { ProducerManager } from './producer-manager.js';
import { RecordingConnection } from './test-connection.js';

test('register, pick, unregister, close, expire', () => {
  const manager = new ProducerManager({ channelExpiredTimeout: 1000 });
  const a = new RecordingConnection();
  const b = new RecordingConnection();
  const c = new RecordingConnection();
  manager.register('PG', { clientId: 'a', connection: a, language: 'JAVA', version: 401, lastUpdateTimestamp: 5000 });
  manager.register('PG', { clientId: 'b', connection: b, language: 'JAVA', version: 401, lastUpdateTimestamp: 5000 });
  manager.register('PG2', { clientId: 'c', connection: c, language: 'JAVA', version: 401, lastUpdateTimestamp: 0 });
  assert.deepEqual(manager.connectionsOf('PG').map((client) => client.clientId), ['a', 'b']);
  const picked = new Set([manager.pickConnection('PG')?.clientId, manager.pickConnection('PG')?.clientId]);
  assert.deepEqual([...picked].sort(), ['a', 'b'], 'picks rotate over the group');
  manager.unregister('PG', a, 'a');
  manager.onConnectionClosed(b);
  assert.equal(manager.pickConnection('PG'), undefined);
  assert.deepEqual(manager.groupNames(), ['PG2']);
  manager.scanExpired(5000);
  assert.equal(c.closed, true);
  assert.deepEqual(manager.groupNames(), []);
});

test('past maxProducersPerGroup or maxGroups registration is refused with SYSTEM_BUSY', () => {
  const manager = new ProducerManager({ channelExpiredTimeout: 120_000, maxProducersPerGroup: 2, maxGroups: 2 });
  const connections = Array.from({ length: 4 }, () => new RecordingConnection());
  const producer = (index: number) => ({ clientId: `p${index}`, connection: connections[index]!, language: 'JAVA', version: 401, lastUpdateTimestamp: Date.now() });
  manager.register('PG', producer(0));
  manager.register('PG', producer(1));
  assert.throws(() => manager.register('PG', producer(2)), (error: unknown) => isTideError(error, 'SYSTEM_BUSY') && /maxProducersPerGroup=2/.test(error.message));
  assert.deepEqual(manager.connectionsOf('PG').map((client) => client.clientId), ['p0', 'p1']);
  manager.register('PG', producer(1)); // a member's next heartbeat is fine
  manager.register('PG2', producer(2));
  assert.throws(() => manager.register('PG3', producer(3)), (error: unknown) => isTideError(error, 'SYSTEM_BUSY') && /maxProducerGroupCount=2/.test(error.message));
  assert.deepEqual(manager.groupNames(), ['PG', 'PG2']);
  manager.onConnectionClosed(connections[0]!);
  manager.register('PG', producer(3));
  assert.deepEqual(manager.connectionsOf('PG').map((client) => client.clientId), ['p1', 'p3']);
});
