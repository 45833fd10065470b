/**
 * The body every benchmark message carries, so a consumer in another process can measure the time
 * from send to receipt. Layout (big-endian), then filler up to the message size:
 *
 *  offset  size  field
 *  0       4     magic: 0x54424D31 ("TBM1") for a measured message, 0x54424D30 ("TBM0") for one sent
 *                during the producer's warm-up (consumers skip those, so warm-up never counts)
 *  4       4     send time, high 32 bits   } nanoseconds on the machine's monotonic clock
 *  8       4     send time, low 32 bits    } (process.hrtime.bigint(), CLOCK_MONOTONIC)
 *  12      4     sequence number within the sending process (wraps at 2^32)
 *  16      ..    filler: pseudo-random bytes, so compression cannot shrink the payload
 *
 * CLOCK_MONOTONIC is shared by every process on one Linux machine, which is the only setting the
 * benchmark claims to measure; across machines the latency would be meaningless. Bodies shorter than
 * 16 bytes carry no timestamp and are only counted.
 */
import { assert } from '../../common/assert.js';

export const BENCH_BODY_MAGIC = 0x54424d31;
export const BENCH_BODY_WARMUP_MAGIC = 0x54424d30;
export const BENCH_BODY_HEADER_BYTES = 16;

/**
 * process.hrtime.bigint() minus performance.now() in ns: both read CLOCK_MONOTONIC (libuv's
 * uv_hrtime), performance.now() from the process's start, so the sum below is the same clock.
 */
const PERFORMANCE_ORIGIN_NS = Number(process.hrtime.bigint()) - performance.now() * 1e6;

/**
 * Nanoseconds on the shared monotonic clock, as a double (to well below a microsecond for ~100 days
 * of uptime). Read through performance.now(), which returns a plain number, instead of
 * hrtime.bigint(), which allocates a BigInt on every call: the bench reads the clock twice a message.
 */
export function monotonicNowNs(): number {
  return PERFORMANCE_ORIGIN_NS + performance.now() * 1e6;
}

/** The performance.now() reading of this process that corresponds to `monotonicNs`. */
export function performanceMsAt(monotonicNs: number): number {
  return (monotonicNs - PERFORMANCE_ORIGIN_NS) / 1e6;
}

/** A body of `sizeBytes` with pseudo-random filler and room for the header. */
export function createBenchBody(sizeBytes: number, seed = 1): Buffer {
  assert(Number.isInteger(sizeBytes) && sizeBytes > 0, 'message size must be a positive integer');
  const body = Buffer.allocUnsafe(sizeBytes);
  let state = seed >>> 0 || 1;
  for (let index = 0; index < sizeBytes; index++) {
    // xorshift32: cheap and incompressible enough for deflate.
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    body[index] = state & 0xff;
  }
  return body;
}

const TWO_POW_32 = 2 ** 32;

/** Big-endian low 32 bits of `value` at `at`. */
function putUint32(target: Buffer, at: number, value: number): void {
  const word = value >>> 0;
  target[at] = word >>> 24;
  target[at + 1] = (word >>> 16) & 0xff;
  target[at + 2] = (word >>> 8) & 0xff;
  target[at + 3] = word & 0xff;
}

/** Writes the header into `body` (no-op for bodies shorter than the header). */
export function stampBenchBody(body: Buffer, sendTimeNs: number, sequence: number, warmup = false): void {
  if (body.length < BENCH_BODY_HEADER_BYTES) return;
  // Byte stores rather than writeUInt32BE: this runs for every message and the range is checked above.
  putUint32(body, 0, warmup ? BENCH_BODY_WARMUP_MAGIC : BENCH_BODY_MAGIC);
  const high = Math.floor(sendTimeNs / TWO_POW_32);
  putUint32(body, 4, high);
  putUint32(body, 8, sendTimeNs - high * TWO_POW_32);
  putUint32(body, 12, sequence);
}

/** What readBenchSendTimeNs answers for a body without a benchmark header. */
export const NO_SEND_TIME = -1;
/** What readBenchSendTimeNs answers for a warm-up message. */
export const WARMUP_BODY = -2;

/** The send time in a stamped body; NO_SEND_TIME without a header, WARMUP_BODY for a warm-up message. */
export function readBenchSendTimeNs(body: Uint8Array): number {
  if (body.length < BENCH_BODY_HEADER_BYTES) return NO_SEND_TIME;
  const view = Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const magic = view.readUInt32BE(0);
  if (magic === BENCH_BODY_WARMUP_MAGIC) return WARMUP_BODY;
  if (magic !== BENCH_BODY_MAGIC) return NO_SEND_TIME;
  return view.readUInt32BE(4) * 2 ** 32 + view.readUInt32BE(8);
}
