// Proves consumers join and leave groups by heartbeat, unregister, close and silence, that members are told of changes, and that members per group and groups are capped with SYSTEM_BUSY.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isTideError } from '../common/errors.js';
import { RequestCode } from '../protocol/request-code.js';
import { ConsumerManager } from './consumer-manager.js';
import { buildSubscriptionData } from './subscription-data.js';
import { RecordingConnection } from './test-connection.js';

const settings = { consumeType: 'CONSUME_PASSIVELY', messageModel: 'CLUSTERING', consumeFromWhere: 'CONSUME_FROM_LAST_OFFSET' };

function client(connection: RecordingConnection, clientId: string, lastUpdateTimestamp = Date.now()) {
  return { clientId, connection, language: 'JAVA', version: 401, lastUpdateTimestamp };
}

test('membership changes notify every member', () => {
  const manager = new ConsumerManager({ channelExpiredTimeout: 120_000 });
  const first = new RecordingConnection();
  const second = new RecordingConnection();
  const subscriptions = [buildSubscriptionData('T', 'A || B')];
  assert.equal(manager.register('G', client(first, 'c1'), settings, subscriptions, true), true);
  assert.equal(first.onewayRequests.length, 1);
  assert.equal(manager.register('G', client(first, 'c1'), settings, subscriptions, true), false, 'a repeated heartbeat changes nothing');
  assert.equal(first.onewayRequests.length, 1);

  manager.register('G', client(second, 'c2'), settings, subscriptions, true);
  assert.deepEqual(manager.getGroup('G')?.clientIds(), ['c1', 'c2']);
  const notice = first.onewayRequests[1]!;
  assert.equal(notice.code, RequestCode.NOTIFY_CONSUMER_IDS_CHANGED);
  assert.deepEqual(notice.extFields, { consumerGroup: 'G' });
  assert.equal(manager.findSubscription('G', 'T')?.tagsSet.length, 2);
  assert.deepEqual(manager.groupsOfTopic('T'), ['G']);

  manager.onConnectionClosed(second);
  assert.deepEqual(manager.getGroup('G')?.clientIds(), ['c1']);
  assert.equal(first.onewayRequests.length, 3);
  manager.unregister('G', first, 'c1', true);
  assert.equal(manager.getGroup('G'), undefined, 'an empty group is dropped');
});

test('silent clients expire and broadcasting groups are not notified', () => {
  const manager = new ConsumerManager({ channelExpiredTimeout: 1000 });
  const old = new RecordingConnection();
  const fresh = new RecordingConnection();
  manager.register('B', client(old, 'c1', 0), { ...settings, messageModel: 'BROADCASTING' }, [], true);
  manager.register('B', client(fresh, 'c2', 5000), { ...settings, messageModel: 'BROADCASTING' }, [], true);
  assert.equal(old.onewayRequests.length + fresh.onewayRequests.length, 0);
  manager.scanExpired(5500);
  assert.equal(old.closed, true);
  assert.deepEqual(manager.getGroup('B')?.clientIds(), ['c2']);
});

test('past maxConsumersPerGroup or maxGroups a heartbeat is refused with SYSTEM_BUSY and changes nothing', () => {
  const manager = new ConsumerManager({ channelExpiredTimeout: 120_000, maxConsumersPerGroup: 2, maxGroups: 2 });
  const [a, b, c, d] = [new RecordingConnection(), new RecordingConnection(), new RecordingConnection(), new RecordingConnection()];
  const busy = (error: unknown): boolean => isTideError(error, 'SYSTEM_BUSY') && error.responseCode === 2 && /maxConsumersPerGroup=2/.test(error.message);
  manager.register('G', client(a, 'a'), settings, [], true);
  manager.register('G', client(b, 'b'), settings, [], true);
  const notices = a.onewayRequests.length;
  assert.throws(() => manager.register('G', client(c, 'c'), settings, [buildSubscriptionData('T', '*')], true), busy);
  assert.deepEqual(manager.getGroup('G')?.clientIds(), ['a', 'b'], 'the third consumer is not in the group');
  assert.equal(manager.findSubscription('G', 'T'), undefined, 'its subscriptions were not taken');
  assert.equal(a.onewayRequests.length, notices, 'members were not told of a change that did not happen');
  assert.equal(manager.register('G', client(b, 'b'), settings, [], true), false, 'members already in keep heartbeating');
  manager.register('H', client(c, 'c'), settings, [], true);
  assert.throws(() => manager.register('I', client(d, 'd'), settings, [], true), (error: unknown) => isTideError(error, 'SYSTEM_BUSY') && /maxSubscriptionGroupCount=2/.test(error.message));
  assert.equal(manager.getGroup('I'), undefined);
  manager.onConnectionClosed(a);
  manager.register('G', client(d, 'd'), settings, [], true);
  assert.deepEqual(manager.getGroup('G')?.clientIds(), ['b', 'd'], 'a place freed by a leaving member is taken');
});
