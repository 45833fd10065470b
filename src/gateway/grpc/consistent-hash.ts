/**
 * Guava's `Hashing.consistentHash(long, int)` (a linear congruential generator walking bucket jumps),
 * which the RocketMQ proxy uses to map a FIFO message group to a queue: `consistentHash(group.hashCode(),
 * writeQueueCount)`. Using the same function keeps a message group on the same queue whether its
 * messages come through a Java proxy or through TideMQ, and moves few groups when queues are added.
 */
import { javaStringHashCode } from '../../common/java-hash.js';

const MULTIPLIER = 2862933555777941757n;
const MASK_64 = (1n << 64n) - 1n;
const TWO_POW_31 = 2 ** 31;
const INT_MAX = 2 ** 31 - 1;
const INT_MIN = -(2 ** 31);

/** Java's `(int) double`: truncation, saturating at the int range, NaN → 0. */
function toJavaInt(value: number): number {
  if (Number.isNaN(value)) return 0;
  if (value >= INT_MAX) return INT_MAX;
  if (value <= INT_MIN) return INT_MIN;
  return Math.trunc(value);
}

/** `input` is a Java long: a safe integer or a bigint (for the full 64-bit range). */
export function consistentHash(input: number | bigint, buckets: number): number {
  if (!Number.isInteger(buckets) || buckets <= 0) throw new RangeError(`buckets must be positive: ${buckets}`);
  let state = BigInt.asUintN(64, BigInt(input));
  let candidate = 0;
  for (;;) {
    state = (MULTIPLIER * state + 1n) & MASK_64;
    const nextDouble = (Number(state >> 33n) + 1) / TWO_POW_31;
    const next = toJavaInt((candidate + 1) / nextDouble);
    if (next >= 0 && next < buckets) candidate = next;
    else return candidate;
  }
}

/** The queue of a FIFO message group among `queueCount` writable queues. */
export function queueOfMessageGroup(messageGroup: string, queueCount: number): number {
  return consistentHash(javaStringHashCode(messageGroup), queueCount);
}
