/**
 * The wheel: a ring of `slotCount` slots of `slotMs` each. The slot of a time t is
 * floor(t / slotMs) mod slotCount; it remembers which lap it is on (the slot's start time) and the
 * position of the newest timer-log record of that lap, whose `prevPosition` chain leads to the older
 * ones (timer-log.ts). A record for a new lap replaces the slot (the old lap was delivered: the timer
 * never takes in a record further ahead than the ring spans). Only this table lives in memory; the
 * records stay in the log until their slot comes near.
 *
 * Snapshot file `<root>/timer/timerwheel`, replaced atomically (temp file + fsync + rename):
 *
 *  offset  size  field (big-endian; 64-bit values as two 32-bit halves)
 *  0       4     magic 0x54574831 ("TWH1")
 *  4       4     slotCount
 *  8       4     slotMs
 *  12      4     segmentCount
 *  16      8     coveredPosition: every log record before this position is in the table
 *  24      4     CRC32 (zlib) of bytes 32..end
 *  28      4     reserved, 0
 *  32      16 × slotCount     per slot: startMs i64 (-1 = never used), headPosition i64 (-1 = none)
 *  …       16 × segmentCount  per timer-log segment: start i64, maxEffectiveMs i64
 *
 * A snapshot that fails its checks, or was written for another slot size, is ignored: recovery then
 * replays the whole log, which is slower but gives the same table.
 */
import { crc32 } from 'node:zlib';
import { assert } from '../../common/assert.js';
import { readInt64, writeInt64 } from '../../protocol/message-record.js';

const MAGIC = 0x54574831;
const HEADER_BYTES = 32;
const SLOT_BYTES = 16;
const SEGMENT_BYTES = 16;

export interface WheelSnapshot {
  wheel: TimerWheel;
  coveredPosition: number;
  segments: { start: number; maxEffectiveMs: number }[];
}

function clampToSafe(value: number): number {
  if (value === Number.POSITIVE_INFINITY) return Number.MAX_SAFE_INTEGER;
  if (value === Number.NEGATIVE_INFINITY) return Number.MIN_SAFE_INTEGER;
  return value;
}

export class TimerWheel {
  private readonly startMs: Float64Array;
  private readonly headPosition: Float64Array;

  constructor(readonly slotCount: number, readonly slotMs: number) {
    assert(Number.isSafeInteger(slotCount) && slotCount > 0 && Number.isSafeInteger(slotMs) && slotMs > 0, 'wheel size must be positive');
    this.startMs = new Float64Array(slotCount).fill(-1);
    this.headPosition = new Float64Array(slotCount).fill(-1);
  }

  /** Milliseconds the ring covers before a slot is reused. */
  get spanMs(): number {
    return this.slotCount * this.slotMs;
  }

  slotStartOf(timeMs: number): number {
    return Math.floor(timeMs / this.slotMs) * this.slotMs;
  }

  private indexOf(slotStartMs: number): number {
    const index = Math.floor(slotStartMs / this.slotMs) % this.slotCount;
    return index < 0 ? index + this.slotCount : index;
  }

  /** Makes `position` the newest record of the slot of `effectiveMs`; returns the previous newest (-1 for none). */
  link(effectiveMs: number, position: number): number {
    const slotStart = this.slotStartOf(effectiveMs);
    const index = this.indexOf(slotStart);
    const previous = this.startMs[index] === slotStart ? this.headPosition[index]! : -1;
    this.startMs[index] = slotStart;
    this.headPosition[index] = position;
    return previous;
  }

  /** Position of the newest record of the slot starting at `slotStartMs`, or -1. */
  head(slotStartMs: number): number {
    const index = this.indexOf(slotStartMs);
    return this.startMs[index] === slotStartMs ? this.headPosition[index]! : -1;
  }

  encodeSnapshot(coveredPosition: number, segments: readonly { start: number; maxEffectiveMs: number }[]): Buffer {
    const bytes = Buffer.alloc(HEADER_BYTES + this.slotCount * SLOT_BYTES + segments.length * SEGMENT_BYTES);
    bytes.writeUInt32BE(MAGIC, 0);
    bytes.writeUInt32BE(this.slotCount, 4);
    bytes.writeUInt32BE(this.slotMs, 8);
    bytes.writeUInt32BE(segments.length, 12);
    writeInt64(bytes, coveredPosition, 16);
    let at = HEADER_BYTES;
    for (let index = 0; index < this.slotCount; index++, at += SLOT_BYTES) {
      writeInt64(bytes, this.startMs[index]!, at);
      writeInt64(bytes, this.headPosition[index]!, at + 8);
    }
    for (const segment of segments) {
      writeInt64(bytes, segment.start, at);
      writeInt64(bytes, clampToSafe(segment.maxEffectiveMs), at + 8);
      at += SEGMENT_BYTES;
    }
    bytes.writeUInt32BE(crc32(bytes.subarray(HEADER_BYTES)), 24);
    return bytes;
  }

  /** The snapshot in `bytes` if it is intact and made for this slot size, else null. */
  static decodeSnapshot(bytes: Buffer, slotMs: number, minimumSlotCount: number): WheelSnapshot | null {
    if (bytes.length < HEADER_BYTES || bytes.readUInt32BE(0) !== MAGIC) return null;
    const slotCount = bytes.readUInt32BE(4);
    const segmentCount = bytes.readUInt32BE(12);
    if (bytes.readUInt32BE(8) !== slotMs || slotCount < minimumSlotCount) return null;
    if (bytes.length !== HEADER_BYTES + slotCount * SLOT_BYTES + segmentCount * SEGMENT_BYTES) return null;
    if (bytes.readUInt32BE(24) !== crc32(bytes.subarray(HEADER_BYTES))) return null;
    const wheel = new TimerWheel(slotCount, slotMs);
    let at = HEADER_BYTES;
    for (let index = 0; index < slotCount; index++, at += SLOT_BYTES) {
      wheel.startMs[index] = readInt64(bytes, at);
      wheel.headPosition[index] = readInt64(bytes, at + 8);
    }
    const segments: { start: number; maxEffectiveMs: number }[] = [];
    for (let index = 0; index < segmentCount; index++, at += SEGMENT_BYTES) {
      segments.push({ start: readInt64(bytes, at), maxEffectiveMs: readInt64(bytes, at + 8) });
    }
    return { wheel, coveredPosition: readInt64(bytes, 16), segments };
  }
}
