// Proves the allocation strategies: AVERAGE reproduces RocketMQ's contiguous blocks, STICKY is balanced, agreed on by every member and moves fewer queues than AVERAGE when a member joins, and NEARBY_ZONE keeps zones local unless a zone has no consumer.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { allocateAveragely, allocateNearbyZone, allocateSticky, type AllocateContext, type AllocateStrategy } from './allocate-strategies.js';
import { queueKey, type MessageQueue } from './message-queue.js';

function queues(count: number, brokers = ['broker-a']): MessageQueue[] {
  const list: MessageQueue[] = [];
  for (const brokerName of brokers) for (let queueId = 0; queueId < count; queueId++) list.push({ topic: 'T', brokerName, queueId });
  return list;
}

function context(all: MessageQueue[], clientIds: string[], clientId: string, zones: Record<string, string> = {}): AllocateContext {
  return {
    group: 'G',
    clientId,
    queues: all,
    clientIds,
    zoneOfBroker: (brokerName) => zones[brokerName],
    zoneOfClient: (id) => id.split('@')[2],
  };
}

function allocateAll(strategy: AllocateStrategy, all: MessageQueue[], clientIds: string[], zones: Record<string, string> = {}): Map<string, MessageQueue[]> {
  return new Map(clientIds.map((id) => [id, strategy(context(all, clientIds, id, zones))]));
}

function assertPartition(all: MessageQueue[], allocation: Map<string, MessageQueue[]>): void {
  const owned = [...allocation.values()].flat().map(queueKey);
  assert.equal(new Set(owned).size, owned.length, 'no queue is owned twice');
  assert.deepEqual(new Set(owned), new Set(all.map(queueKey)), 'every queue is owned');
}

describe('AVERAGE', () => {
  it('gives contiguous blocks, the first queues%clients clients one more', () => {
    const all = queues(8);
    const allocation = allocateAll(allocateAveragely, all, ['c0', 'c1', 'c2']);
    assert.deepEqual(allocation.get('c0')!.map((queue) => queue.queueId), [0, 1, 2]);
    assert.deepEqual(allocation.get('c1')!.map((queue) => queue.queueId), [3, 4, 5]);
    assert.deepEqual(allocation.get('c2')!.map((queue) => queue.queueId), [6, 7]);
  });

  it('leaves clients beyond the queue count idle and unknown clients nothing', () => {
    const all = queues(2);
    const allocation = allocateAll(allocateAveragely, all, ['c0', 'c1', 'c2']);
    assert.deepEqual([...allocation.values()].map((list) => list.length), [1, 1, 0]);
    assert.deepEqual(allocateAveragely(context(all, ['c0'], 'stranger')), []);
  });
});

describe('STICKY', () => {
  it('partitions the queues with counts differing by at most one', () => {
    for (const [queueCount, clientCount] of [[8, 3], [16, 5], [3, 4], [12, 12], [1, 2]] as const) {
      const all = queues(queueCount, ['broker-a', 'broker-b']);
      const clientIds = Array.from({ length: clientCount }, (_, index) => `10.0.0.${index}@pid#${index}`);
      const allocation = allocateAll(allocateSticky, all, clientIds);
      assertPartition(all, allocation);
      const counts = [...allocation.values()].map((list) => list.length);
      assert.ok(Math.max(...counts) - Math.min(...counts) <= 1, `balanced for ${queueCount * 2} queues / ${clientCount} clients: ${counts}`);
    }
  });

  it('moves fewer queues than AVERAGE when a client joins', () => {
    const all = queues(32, ['broker-a', 'broker-b']);
    const before = Array.from({ length: 5 }, (_, index) => `10.0.0.${index}@pid#${index}`);
    const after = [...before, '10.0.0.9@pid#9'].sort();
    const moved = (strategy: AllocateStrategy): number => {
      const first = allocateAll(strategy, all, before);
      const second = allocateAll(strategy, all, after);
      let count = 0;
      for (const [id, owned] of first) {
        const still = new Set((second.get(id) ?? []).map(queueKey));
        count += owned.filter((queue) => !still.has(queueKey(queue))).length;
      }
      return count;
    };
    const sticky = moved(allocateSticky);
    const average = moved(allocateAveragely);
    assert.ok(sticky < average, `sticky moved ${sticky}, average moved ${average}`);
    assert.ok(sticky <= 20, `sticky moved ${sticky} of 64 queues for one new member`);
  });
});

describe('NEARBY_ZONE', () => {
  const zones = { 'broker-a': 'z1', 'broker-b': 'z2', 'broker-c': 'z3' };
  const all = queues(4, ['broker-a', 'broker-b', 'broker-c']);
  const clientIds = ['10.0.0.1@i1@z1', '10.0.0.2@i2@z1', '10.0.0.3@i3@z2'];

  it('keeps each zone’s queues in the zone and shares a zone without consumers among all', () => {
    const allocation = allocateAll((ctx) => allocateNearbyZone(ctx), all, clientIds, zones);
    assertPartition(all, allocation);
    for (const [id, owned] of allocation) {
      const zone = id.split('@')[2];
      for (const queue of owned) {
        const brokerZone = zones[queue.brokerName as keyof typeof zones];
        assert.ok(brokerZone === zone || brokerZone === 'z3', `${id} in ${zone} got ${queueKey(queue)} of ${brokerZone}`);
      }
    }
    assert.equal(allocation.get('10.0.0.3@i3@z2')!.filter((queue) => queue.brokerName === 'broker-b').length, 4, 'the only z2 consumer takes all of z2');
    const z3Owners = new Set([...allocation].filter(([, owned]) => owned.some((queue) => queue.brokerName === 'broker-c')).map(([id]) => id));
    assert.ok(z3Owners.size >= 2, 'z3, which has no consumer, is shared');
  });
});
