// Proves the send circuit breaker: slow or failed brokers are paused for the tabled duration, and queue selection avoids them (and the broker that just failed) while another broker is available.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LatencyFaultTolerance } from './latency-fault-tolerance.js';
import { TopicPublishInfo } from './topic-publish-info.js';

describe('LatencyFaultTolerance', () => {
  it('pauses brokers by latency and failure, and forgets the pause when it ends', () => {
    let nowMs = 1_000_000;
    const faults = new LatencyFaultTolerance({ now: () => nowMs });
    assert.equal(faults.pauseFor(40), 0);
    assert.equal(faults.pauseFor(600), 30_000);
    assert.equal(faults.pauseFor(20_000), 600_000);
    faults.update('fast', 10, false);
    faults.update('slow', 1500, false);
    faults.update('dead', 5, true);
    assert.equal(faults.isAvailable('fast'), true);
    assert.equal(faults.isAvailable('slow'), false);
    assert.equal(faults.isAvailable('dead'), false);
    assert.equal(faults.pickOneAtLeast(), 'slow', 'the pause that ends first');
    nowMs += 60_001;
    assert.equal(faults.isAvailable('slow'), true);
    assert.equal(faults.isAvailable('dead'), false);
    faults.update('dead', 5, false);
    assert.equal(faults.isAvailable('dead'), true, 'a good answer clears the pause');
  });
});

describe('TopicPublishInfo.selectQueueAvoidingFaults', () => {
  const queues = ['broker-a', 'broker-b'].flatMap((brokerName) => [0, 1, 2, 3].map((queueId) => ({ topic: 'T', brokerName, queueId })));

  it('skips paused brokers and the broker to avoid', () => {
    const faults = new LatencyFaultTolerance({ now: () => 0 });
    const info = new TopicPublishInfo('T', queues, false);
    faults.update('broker-a', 0, true);
    for (let index = 0; index < 20; index++) assert.equal(info.selectQueueAvoidingFaults(faults)!.brokerName, 'broker-b');
    const healthy = new LatencyFaultTolerance({ now: () => 0 });
    for (let index = 0; index < 20; index++) assert.equal(info.selectQueueAvoidingFaults(healthy, 'broker-b')!.brokerName, 'broker-a');
  });

  it('still answers when every broker is paused', () => {
    const faults = new LatencyFaultTolerance({ now: () => 0 });
    faults.update('broker-a', 0, true);
    faults.update('broker-b', 2000, false);
    const info = new TopicPublishInfo('T', queues, false);
    assert.equal(info.selectQueueAvoidingFaults(faults)!.brokerName, 'broker-b', 'the least bad broker');
  });
});
