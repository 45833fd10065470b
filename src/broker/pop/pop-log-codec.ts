/**
 * The records of the pop log (`<storePathRootDir>/pop/`, files managed by pop-log.ts): everything the
 * broker must remember about POP consumption across a restart. All integers are big-endian; 64-bit
 * fields are written as two 32-bit halves (offsets and times are plain numbers, safe up to 2^53).
 *
 * Every record is one frame:
 *
 *   int32 payloadLength | uint32 crc32(payload) | payload
 *   payload = uint8 type | fields
 *
 * | type | name       | fields |
 * |------|------------|--------|
 * | 1    | QUEUE      | u32 queueRef, i32 queueId, u16 groupLength, group (UTF-8), u16 topicLength, topic (UTF-8; the topic the messages sit in, so a pop retry topic for re-deliveries) |
 * | 2    | OFFSET     | u32 queueRef, i64 popOffset (next queue offset to hand out) |
 * | 3    | CHECKPOINT | u32 queueRef, i64 startOffset, i64 popTimeMs, u32 invisibleTimeMs, i64 nextPopOffset (-1 = unchanged), u32 ackedBits, u8 count (1-32), u8 contiguous (1 = offsets start..start+count-1), then count × u32 (offset - startOffset) when not contiguous |
 * | 4    | ACK        | u32 queueRef, i64 startOffset, i64 popTimeMs, u32 bits (messages of that checkpoint acked now; bit i = i-th message) |
 * | 5    | DONE       | u32 queueRef, i64 startOffset, i64 popTimeMs (the checkpoint's un-acked messages were re-stored: it is gone) |
 * | 6    | FIFO       | u32 queueRef, i64 consumeOffset, u8 entryCount, then when entryCount > 0: i64 endOffset, u16 attemptIdLength, attemptId (UTF-8), entryCount × (i64 queueOffset, i64 popTimeMs, i64 visibleAtMs, u32 deliveries, u8 acked) — the whole state of one FIFO queue; the last one wins |
 *
 * A checkpoint is named by (queueRef, startOffset, popTimeMs), which is also what a receipt handle
 * carries. A frame whose length runs past the end of the file or whose CRC does not match ends the
 * file: recovery keeps what came before and truncates the rest (a torn tail).
 */
import { crc32 } from 'node:zlib';
import { assert } from '../../common/assert.js';
import { readInt64 } from '../../protocol/message-record.js';

export const PopLogRecordType = {
  QUEUE: 1,
  OFFSET: 2,
  CHECKPOINT: 3,
  ACK: 4,
  DONE: 5,
  FIFO: 6,
} as const;

/** Messages per checkpoint: the acked bits fit in one u32 (RocketMQ pops at most 32 at a time). */
export const MAX_CHECKPOINT_MESSAGES = 32;
const FRAME_HEADER_BYTES = 8;
/** No record comes near this; a larger length is corruption. */
const MAX_PAYLOAD_BYTES = 64 * 1024;

export interface QueueRecord {
  type: typeof PopLogRecordType.QUEUE;
  queueRef: number;
  queueId: number;
  group: string;
  topic: string;
}

export interface OffsetRecord {
  type: typeof PopLogRecordType.OFFSET;
  queueRef: number;
  popOffset: number;
}

export interface CheckpointRecord {
  type: typeof PopLogRecordType.CHECKPOINT;
  queueRef: number;
  startOffset: number;
  popTimeMs: number;
  invisibleTimeMs: number;
  nextPopOffset: number;
  ackedBits: number;
  count: number;
  /** offset - startOffset of each message; null = contiguous. */
  diffs: Uint32Array | null;
}

export interface AckRecord {
  type: typeof PopLogRecordType.ACK;
  queueRef: number;
  startOffset: number;
  popTimeMs: number;
  bits: number;
}

export interface DoneRecord {
  type: typeof PopLogRecordType.DONE;
  queueRef: number;
  startOffset: number;
  popTimeMs: number;
}

export interface FifoEntryRecord {
  queueOffset: number;
  popTimeMs: number;
  visibleAtMs: number;
  deliveries: number;
  acked: boolean;
}

export interface FifoRecord {
  type: typeof PopLogRecordType.FIFO;
  queueRef: number;
  consumeOffset: number;
  endOffset: number;
  attemptId: string;
  entries: FifoEntryRecord[];
}

export type PopLogRecord = QueueRecord | OffsetRecord | CheckpointRecord | AckRecord | DoneRecord | FifoRecord;

const TWO_POW_32 = 2 ** 32;

/** Stores the low 32 bits of `value` big-endian at `position` (the caller made room). */
function putUint32(target: Buffer, position: number, value: number): void {
  target[position] = value >>> 24;
  target[position + 1] = (value >>> 16) & 0xff;
  target[position + 2] = (value >>> 8) & 0xff;
  target[position + 3] = value & 0xff;
}

/** CRC-32 (the IEEE polynomial, reflected: what zlib.crc32 computes) by bytes, for short frames. */
const CRC_TABLE = (() => {
  const table = new Int32Array(256);
  for (let byte = 0; byte < 256; byte++) {
    let crc = byte;
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1;
    table[byte] = crc;
  }
  return table;
})();
/** Below this many bytes a table loop beats zlib.crc32's call and the subarray it needs. */
const SMALL_FRAME_BYTES = 128;

/** zlib.crc32 of bytes[from, to), as an unsigned number. Exported for its test. */
export function frameCrc32(bytes: Buffer, from: number, to: number): number {
  if (to - from >= SMALL_FRAME_BYTES) return crc32(bytes.subarray(from, to)) >>> 0;
  let crc = -1;
  for (let index = from; index < to; index++) crc = CRC_TABLE[(crc ^ bytes[index]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ -1) >>> 0;
}

/** A growable byte buffer records are encoded into (the log's pending writes, a snapshot). */
export class FrameEncoder {
  buffer: Buffer;
  length = 0;
  private frameStart = -1;

  constructor(initialBytes = 64 * 1024) {
    this.buffer = Buffer.allocUnsafe(initialBytes);
  }

  reset(): void {
    assert(this.frameStart < 0, 'reset inside a frame');
    this.length = 0;
  }

  bytes(): Buffer {
    return this.buffer.subarray(0, this.length);
  }

  private ensure(extraBytes: number): void {
    if (this.length + extraBytes <= this.buffer.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.length + extraBytes));
    this.buffer.copy(grown, 0, 0, this.length);
    this.buffer = grown;
  }

  /** Starts a frame; `maxFieldBytes` is the most its fields (after the type byte) will take. */
  begin(type: number, maxFieldBytes: number): void {
    assert(this.frameStart < 0, 'nested frame');
    // The type byte is reserved here too: the callers count only their fields (before, the last
    // byte of a record could land past the buffer when a frame ended exactly at its end).
    this.ensure(FRAME_HEADER_BYTES + 1 + maxFieldBytes);
    this.frameStart = this.length;
    this.length += FRAME_HEADER_BYTES;
    this.buffer[this.length++] = type;
  }

  end(): void {
    const start = this.frameStart;
    assert(start >= 0, 'end without begin');
    // The writers store into the room begin() reserved and do not check each byte against the end.
    assert(this.length <= this.buffer.length, 'a pop log record outgrew the room reserved for it');
    const payloadLength = this.length - start - FRAME_HEADER_BYTES;
    putUint32(this.buffer, start, payloadLength);
    putUint32(this.buffer, start + 4, frameCrc32(this.buffer, start + FRAME_HEADER_BYTES, this.length));
    this.frameStart = -1;
  }

  u8(value: number): void {
    this.buffer[this.length++] = value & 0xff;
  }

  u16(value: number): void {
    assert(value >= 0 && value <= 0xffff, `u16 out of range: ${value}`);
    this.buffer[this.length] = value >>> 8;
    this.buffer[this.length + 1] = value & 0xff;
    this.length += 2;
  }

  // The integer writers store bytes directly: Buffer.write*Int32BE range-checks every call, and an
  // ack writes six of them (an ACK frame per acked message).
  u32(value: number): void {
    putUint32(this.buffer, this.length, value >>> 0);
    this.length += 4;
  }

  i32(value: number): void {
    putUint32(this.buffer, this.length, value | 0);
    this.length += 4;
  }

  /** Two 32-bit halves, big-endian; exact for safe integers (offsets and times), negatives included. */
  i64(value: number): void {
    const high = Math.floor(value / TWO_POW_32);
    putUint32(this.buffer, this.length, high | 0);
    putUint32(this.buffer, this.length + 4, value - high * TWO_POW_32);
    this.length += 8;
  }

  text(value: string, maxBytes: number): void {
    const written = this.buffer.write(value, this.length + 2, maxBytes, 'utf8');
    this.buffer.writeUInt16BE(written, this.length);
    this.length += 2 + written;
  }
}

export function encodeQueue(encoder: FrameEncoder, queueRef: number, queueId: number, group: string, topic: string): void {
  const groupBytes = Buffer.byteLength(group, 'utf8');
  const topicBytes = Buffer.byteLength(topic, 'utf8');
  assert(groupBytes <= 0xffff && topicBytes <= 0xffff, 'group or topic name too long for the pop log');
  encoder.begin(PopLogRecordType.QUEUE, 12 + groupBytes + topicBytes);
  encoder.u32(queueRef);
  encoder.i32(queueId);
  encoder.text(group, groupBytes);
  encoder.text(topic, topicBytes);
  encoder.end();
}

export function encodeOffset(encoder: FrameEncoder, queueRef: number, popOffset: number): void {
  encoder.begin(PopLogRecordType.OFFSET, 12);
  encoder.u32(queueRef);
  encoder.i64(popOffset);
  encoder.end();
}

export function encodeCheckpoint(
  encoder: FrameEncoder,
  queueRef: number,
  startOffset: number,
  popTimeMs: number,
  invisibleTimeMs: number,
  nextPopOffset: number,
  ackedBits: number,
  count: number,
  diffs: Uint32Array | null,
): void {
  assert(count >= 1 && count <= MAX_CHECKPOINT_MESSAGES, `checkpoint of ${count} messages`);
  encoder.begin(PopLogRecordType.CHECKPOINT, 42 + count * 4);
  encoder.u32(queueRef);
  encoder.i64(startOffset);
  encoder.i64(popTimeMs);
  encoder.u32(invisibleTimeMs);
  encoder.i64(nextPopOffset);
  encoder.u32(ackedBits);
  encoder.u8(count);
  encoder.u8(diffs === null ? 1 : 0);
  if (diffs !== null) for (let index = 0; index < count; index++) encoder.u32(diffs[index]!);
  encoder.end();
}

export function encodeAck(encoder: FrameEncoder, queueRef: number, startOffset: number, popTimeMs: number, bits: number): void {
  encoder.begin(PopLogRecordType.ACK, 24);
  encoder.u32(queueRef);
  encoder.i64(startOffset);
  encoder.i64(popTimeMs);
  encoder.u32(bits);
  encoder.end();
}

export function encodeDone(encoder: FrameEncoder, queueRef: number, startOffset: number, popTimeMs: number): void {
  encoder.begin(PopLogRecordType.DONE, 20);
  encoder.u32(queueRef);
  encoder.i64(startOffset);
  encoder.i64(popTimeMs);
  encoder.end();
}

export function encodeFifo(encoder: FrameEncoder, queueRef: number, consumeOffset: number, endOffset: number, attemptId: string, entries: readonly FifoEntryRecord[]): void {
  assert(entries.length <= 255, 'FIFO batch too large for the pop log');
  const attemptBytes = Math.min(Buffer.byteLength(attemptId, 'utf8'), 1024);
  encoder.begin(PopLogRecordType.FIFO, 24 + attemptBytes + entries.length * 29);
  encoder.u32(queueRef);
  encoder.i64(consumeOffset);
  encoder.u8(entries.length);
  if (entries.length > 0) {
    encoder.i64(endOffset);
    encoder.text(attemptId, attemptBytes);
    for (const entry of entries) {
      encoder.i64(entry.queueOffset);
      encoder.i64(entry.popTimeMs);
      encoder.i64(entry.visibleAtMs);
      encoder.u32(entry.deliveries);
      encoder.u8(entry.acked ? 1 : 0);
    }
  }
  encoder.end();
}

/** Reads fields of one payload; throws RangeError past its end (caught as corruption). */
class PayloadReader {
  constructor(private readonly source: Buffer, public at: number, private readonly end: number) {}

  private need(bytes: number): void {
    if (this.at + bytes > this.end) throw new RangeError('pop log record overruns its frame');
  }

  u8(): number {
    this.need(1);
    return this.source[this.at++]!;
  }

  u16(): number {
    this.need(2);
    const value = this.source.readUInt16BE(this.at);
    this.at += 2;
    return value;
  }

  u32(): number {
    this.need(4);
    const value = this.source.readUInt32BE(this.at);
    this.at += 4;
    return value;
  }

  i32(): number {
    this.need(4);
    const value = this.source.readInt32BE(this.at);
    this.at += 4;
    return value;
  }

  i64(): number {
    this.need(8);
    const value = readInt64(this.source, this.at);
    this.at += 8;
    return value;
  }

  text(): string {
    const length = this.u16();
    this.need(length);
    const value = this.source.toString('utf8', this.at, this.at + length);
    this.at += length;
    return value;
  }

  get done(): boolean {
    return this.at === this.end;
  }
}

function decodePayload(reader: PayloadReader): PopLogRecord | undefined {
  const type = reader.u8();
  switch (type) {
    case PopLogRecordType.QUEUE:
      return { type, queueRef: reader.u32(), queueId: reader.i32(), group: reader.text(), topic: reader.text() };
    case PopLogRecordType.OFFSET:
      return { type, queueRef: reader.u32(), popOffset: reader.i64() };
    case PopLogRecordType.CHECKPOINT: {
      const queueRef = reader.u32();
      const startOffset = reader.i64();
      const popTimeMs = reader.i64();
      const invisibleTimeMs = reader.u32();
      const nextPopOffset = reader.i64();
      const ackedBits = reader.u32();
      const count = reader.u8();
      const contiguous = reader.u8() === 1;
      if (count < 1 || count > MAX_CHECKPOINT_MESSAGES) return undefined;
      let diffs: Uint32Array | null = null;
      if (!contiguous) {
        diffs = new Uint32Array(count);
        for (let index = 0; index < count; index++) diffs[index] = reader.u32();
      }
      return { type, queueRef, startOffset, popTimeMs, invisibleTimeMs, nextPopOffset, ackedBits, count, diffs };
    }
    case PopLogRecordType.ACK:
      return { type, queueRef: reader.u32(), startOffset: reader.i64(), popTimeMs: reader.i64(), bits: reader.u32() };
    case PopLogRecordType.DONE:
      return { type, queueRef: reader.u32(), startOffset: reader.i64(), popTimeMs: reader.i64() };
    case PopLogRecordType.FIFO: {
      const queueRef = reader.u32();
      const consumeOffset = reader.i64();
      const count = reader.u8();
      const entries: FifoEntryRecord[] = [];
      let endOffset = consumeOffset;
      let attemptId = '';
      if (count > 0) {
        endOffset = reader.i64();
        attemptId = reader.text();
        for (let index = 0; index < count; index++) {
          entries.push({ queueOffset: reader.i64(), popTimeMs: reader.i64(), visibleAtMs: reader.i64(), deliveries: reader.u32(), acked: reader.u8() === 1 });
        }
      }
      return { type, queueRef, consumeOffset, endOffset, attemptId, entries };
    }
    default:
      return undefined;
  }
}

/**
 * Decodes the frames of `source` in order, calling `onRecord` for each. Returns the number of bytes
 * of whole, valid frames: the first torn or corrupt frame ends the scan.
 */
export function decodeFrames(source: Buffer, onRecord: (record: PopLogRecord) => void): number {
  let position = 0;
  while (position + FRAME_HEADER_BYTES <= source.length) {
    const payloadLength = source.readInt32BE(position);
    if (payloadLength < 1 || payloadLength > MAX_PAYLOAD_BYTES) break;
    const end = position + FRAME_HEADER_BYTES + payloadLength;
    if (end > source.length) break;
    const payloadStart = position + FRAME_HEADER_BYTES;
    if ((crc32(source.subarray(payloadStart, end)) >>> 0) !== source.readUInt32BE(position + 4)) break;
    let record: PopLogRecord | undefined;
    try {
      const reader = new PayloadReader(source, payloadStart, end);
      record = decodePayload(reader);
      if (record !== undefined && !reader.done) record = undefined;
    } catch (error) {
      if (!(error instanceof RangeError)) throw error;
      record = undefined;
    }
    if (record === undefined) break;
    onRecord(record);
    position = end;
  }
  return position;
}
