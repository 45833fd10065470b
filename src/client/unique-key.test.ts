// Proves the producer's UNIQ_KEY generator writes exactly the keys of the protocol's generator (same prefix, time field and counter, across milliseconds, month starts and counter wrap-around), and that keys stay unique within a millisecond.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { UniqueKeyGenerator as ProtocolGenerator } from '../protocol/message-id.js';
import { UniqueKeyGenerator } from './unique-key.js';

/** The protocol generator's key with its random bytes replaced by `random` (its prefix is private). */
function protocolKey(generator: ProtocolGenerator, nowMs: number, ipBytes: number, random: Buffer): string {
  const key = generator.next(nowMs);
  const randomAt = (ipBytes + 2) * 2;
  return key.slice(0, randomAt) + random.toString('hex').toUpperCase() + key.slice(randomAt + 8);
}

describe('UniqueKeyGenerator (client)', () => {
  it('matches the protocol generator key for key, over time and counter wrap-around', () => {
    const random = randomBytes(4);
    for (const ip of [Buffer.from([192, 168, 7, 21]), Buffer.alloc(16, 0xfe)]) {
      const ours = new UniqueKeyGenerator(ip, random);
      const theirs = new ProtocolGenerator(ip);
      // A month boundary (local time), many keys in one millisecond, and time going back a little.
      const monthEnd = new Date(2026, 10, 1).getTime();
      const times = [monthEnd - 2, monthEnd - 1, monthEnd, monthEnd, monthEnd + 1, monthEnd + 86_400_000 * 27, monthEnd + 5];
      for (let round = 0; round < 70_000; round++) {
        const nowMs = times[round % times.length]! + Math.floor(round / 1000);
        assert.equal(ours.next(nowMs), protocolKey(theirs, nowMs, ip.length, random));
      }
    }
  });

  it('gives different keys to every call within one millisecond', () => {
    const generator = new UniqueKeyGenerator();
    const keys = new Set<string>();
    for (let index = 0; index < 10_000; index++) keys.add(generator.next(1_800_000_000_000));
    assert.equal(keys.size, 10_000);
    assert.match([...keys][0]!, /^[0-9A-F]{32}$/);
  });
});
