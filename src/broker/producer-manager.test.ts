// Proves producers are tracked per group and leave on unregister, connection close and silence.
import { test } from 'node:test';
import assert from 'node:assert/strict';
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
