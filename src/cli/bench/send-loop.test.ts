// Proves the bench send loop keeps at most window sends in flight per lane, never hands a body buffer to a second send while the first is in flight (even when sends settle out of order), passes each slot's prepared data with its body, and counts acknowledgements, error statuses and rejections.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BenchCounters } from './bench-report.js';
import { runSendLoop, type SendOutcome } from './send-loop.js';

describe('runSendLoop', () => {
  it('reuses a body only after its send settled, with out-of-order settlement', async () => {
    const counters = new BenchCounters();
    const inFlightBodies = new Set<Buffer>();
    const pending: { settle: () => void }[] = [];
    const perLane = [0, 0];
    let maxPerLane = 0;
    let calls = 0;
    const prepared = new Map<Buffer, { body: Buffer }>();
    const result = runSendLoop<{ body: Buffer }>(
      { lanes: 2, window: 4, ratePerSecond: null, durationMs: 0, messageLimit: 400, messageBytes: 32, warmupMs: 0, drainTimeoutMs: 1000, countAckedBytes: true },
      counters,
      (lane, body, data) => {
        assert.equal(data.body, body, 'slot data belongs to its body');
        assert.ok(!inFlightBodies.has(body), 'a body was handed out while still in flight');
        inFlightBodies.add(body);
        perLane[lane]!++;
        maxPerLane = Math.max(maxPerLane, perLane[lane]!);
        const call = calls++;
        return new Promise<SendOutcome>((resolve, reject) => {
          pending.push({
            settle: () => {
              inFlightBodies.delete(body);
              perLane[lane]!--;
              if (call % 50 === 7) reject(Object.assign(new Error('boom'), { code: 'BOOM' }));
              else if (call % 50 === 9) resolve({ status: 'FLUSH_DISK_TIMEOUT' });
              else resolve(call % 2 === 0 ? { status: 'SEND_OK' } : undefined);
            },
          });
        });
      },
      (body) => {
        const data = { body };
        prepared.set(body, data);
        return data;
      },
    );
    // Settle in a scrambled order: always the second-newest pending send first.
    while (calls < 400 || pending.length > 0) {
      await new Promise((resolve) => setImmediate(resolve));
      while (pending.length > 0) pending.splice(Math.max(0, pending.length - 2), 1)[0]!.settle();
    }
    await result;
    assert.equal(prepared.size, 8, 'one slot per possible in-flight send');
    assert.ok(maxPerLane <= 4, `lane window exceeded: ${maxPerLane}`);
    assert.equal(counters.sent, 400);
    assert.equal(counters.acknowledged + counters.errorCount, 400);
    assert.equal(counters.errors.get('BOOM'), 8);
    assert.equal(counters.errors.get('FLUSH_DISK_TIMEOUT'), 8);
    assert.equal(counters.sendLatency.count, counters.acknowledged);
  });
});
