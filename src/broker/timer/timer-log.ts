/**
 * The timer log, `<root>/timer/timerlog/<20-digit start position>`: an append-only list of the timer
 * messages the timer has taken in, one fixed 64-byte record each, in segment files of
 * `timerLogSegmentBytes` (a multiple of 64, so a record never spans two files). A record's position is
 * its byte offset in the whole log. Records of the same wheel slot are chained newest to oldest through
 * `prevPosition` (the slot table in timer-wheel.ts holds the newest), so a slot's entries are found
 * without scanning the log.
 *
 *  offset  size  field (big-endian; 64-bit values as two 32-bit halves)
 *  0       4     CRC32 (zlib) of bytes 4..63
 *  4       4     magic 0x544D4C31 ("TML1")
 *  8       8     effectiveMs: when the timer acts on it (the delivery time, or an earlier roll time)
 *  16      8     deliverMs: the delivery time the producer asked for (TIMER_OUT_MS)
 *  24      8     physicalOffset of the parked record in the commit log
 *  32      4     size of that record in bytes
 *  36      4     reserved, 0
 *  40      8     queueOffset of the parked record in rmq_sys_wheel_timer queue 0
 *  48      8     prevPosition: the previous record of the same slot, or -1
 *  56      8     reserved, 0
 *
 * Torn tail: recovery scans from the last wheel snapshot's position and cuts the log at the first
 * record whose magic or CRC is wrong (a write the crash interrupted, or zeros never written); the
 * parked messages of cut records are taken in again from the timer topic's consume queue. Segments
 * whose records all belong to slots already delivered are deleted (see TimerMessageService).
 */
import { closeSync, fdatasync, fdatasyncSync, fstatSync, ftruncateSync, mkdirSync, openSync, readSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { assert } from '../../common/assert.js';
import { readInt64, writeInt64 } from '../../protocol/message-record.js';
import { listOffsetFiles, offsetFileName } from '../../store/file-names.js';

export const TIMER_LOG_RECORD_BYTES = 64;
const MAGIC = 0x544d4c31;
/** Bytes read at once when the log is scanned in order. */
const SCAN_CHUNK_BYTES = 64 * 1024;
/** Appends collected in memory before one write (they are written out every tick anyway). */
const BATCH_BYTES = 256 * 1024;

export interface TimerLogRecord {
  effectiveMs: number;
  deliverMs: number;
  physicalOffset: number;
  size: number;
  queueOffset: number;
  prevPosition: number;
}

interface Segment {
  readonly start: number;
  readonly path: string;
  readonly fd: number;
  /** Largest effectiveMs of a record in it; -Infinity for none, +Infinity when not known. */
  maxEffectiveMs: number;
  dirty: boolean;
}

export function encodeTimerLogRecord(record: TimerLogRecord, target: Buffer, position: number): void {
  target.fill(0, position, position + TIMER_LOG_RECORD_BYTES);
  target.writeUInt32BE(MAGIC, position + 4);
  writeInt64(target, record.effectiveMs, position + 8);
  writeInt64(target, record.deliverMs, position + 16);
  writeInt64(target, record.physicalOffset, position + 24);
  target.writeInt32BE(record.size, position + 32);
  writeInt64(target, record.queueOffset, position + 40);
  writeInt64(target, record.prevPosition, position + 48);
  target.writeUInt32BE(crc32(target.subarray(position + 4, position + TIMER_LOG_RECORD_BYTES)), position);
}

/** The record at `position` of `source`, or null when its magic or CRC is wrong. */
export function decodeTimerLogRecord(source: Buffer, position: number): TimerLogRecord | null {
  if (source.readUInt32BE(position + 4) !== MAGIC) return null;
  if (source.readUInt32BE(position) !== crc32(source.subarray(position + 4, position + TIMER_LOG_RECORD_BYTES))) return null;
  return {
    effectiveMs: readInt64(source, position + 8),
    deliverMs: readInt64(source, position + 16),
    physicalOffset: readInt64(source, position + 24),
    size: source.readInt32BE(position + 32),
    queueOffset: readInt64(source, position + 40),
    prevPosition: readInt64(source, position + 48),
  };
}

export class TimerLog {
  private readonly segments: Segment[] = [];
  private readonly batch = Buffer.alloc(BATCH_BYTES);
  private batchBytes = 0;
  /** Position of the first byte not yet handed to write(2). */
  private writtenEnd: number;
  private readonly scratch = Buffer.alloc(TIMER_LOG_RECORD_BYTES);

  private constructor(private readonly directory: string, readonly segmentBytes: number, end: number) {
    this.writtenEnd = end;
  }

  /**
   * Opens the segments in `directory` (creating it). The end is the end of the last segment's bytes;
   * recovery then scans and cuts it at the first bad record.
   */
  static open(directory: string, segmentBytes: number): TimerLog {
    assert(segmentBytes > 0 && segmentBytes % TIMER_LOG_RECORD_BYTES === 0, 'segmentBytes must be a positive multiple of 64');
    mkdirSync(directory, { recursive: true });
    const files = listOffsetFiles(directory);
    const log = new TimerLog(directory, segmentBytes, 0);
    for (const file of files) {
      if (file.offset % segmentBytes !== 0) throw new Error(`timer log segment ${file.name} does not start at a multiple of ${segmentBytes}`);
      const path = join(directory, file.name);
      log.segments.push({ start: file.offset, path, fd: openSync(path, 'r+'), maxEffectiveMs: Number.POSITIVE_INFINITY, dirty: false });
    }
    const last = log.segments[log.segments.length - 1];
    if (last) {
      const size = fstatSync(last.fd).size;
      log.writtenEnd = last.start + Math.min(segmentBytes, size - (size % TIMER_LOG_RECORD_BYTES));
    }
    return log;
  }

  /** Position of the oldest record still stored (the end when the log is empty). */
  get startPosition(): number {
    return this.segments[0]?.start ?? this.endPosition;
  }

  /** Position the next record goes to. */
  get endPosition(): number {
    return this.writtenEnd + this.batchBytes;
  }

  /** Start positions and the latest effectiveMs of every segment, oldest first. */
  segmentTable(): { start: number; maxEffectiveMs: number }[] {
    return this.segments.map((segment) => ({ start: segment.start, maxEffectiveMs: segment.maxEffectiveMs }));
  }

  /** Recovery: what a wheel snapshot knew about a segment's records. */
  setSegmentMaxEffectiveMs(start: number, maxEffectiveMs: number): void {
    const segment = this.segments.find((candidate) => candidate.start === start);
    if (segment) segment.maxEffectiveMs = maxEffectiveMs;
  }

  /** Appends a record (buffered until writeOut) and returns its position. */
  append(record: TimerLogRecord): number {
    if (this.batchBytes + TIMER_LOG_RECORD_BYTES > this.batch.length) this.writeOut();
    const position = this.endPosition;
    encodeTimerLogRecord(record, this.batch, this.batchBytes);
    this.batchBytes += TIMER_LOG_RECORD_BYTES;
    const segment = this.segmentFor(position, true)!;
    if (record.effectiveMs > segment.maxEffectiveMs || segment.maxEffectiveMs === Number.NEGATIVE_INFINITY) segment.maxEffectiveMs = record.effectiveMs;
    return position;
  }

  /**
   * Hands the buffered appends to the kernel (one write per segment touched). A failed write keeps
   * what is not written yet in the batch, at the same position, so a retry writes the same bytes.
   */
  writeOut(): void {
    while (this.batchBytes > 0) {
      const segment = this.segmentFor(this.writtenEnd, true)!;
      const length = Math.min(segment.start + this.segmentBytes - this.writtenEnd, this.batchBytes);
      let written = 0;
      while (written < length) {
        written += writeSync(segment.fd, this.batch, written, length - written, this.writtenEnd - segment.start + written);
      }
      segment.dirty = true;
      this.writtenEnd += length;
      if (length < this.batchBytes) this.batch.copy(this.batch, 0, length, this.batchBytes);
      this.batchBytes -= length;
    }
  }

  /** The record at `position`, or null when there is none or it fails its checks. */
  read(position: number): TimerLogRecord | null {
    if (position < 0 || position % TIMER_LOG_RECORD_BYTES !== 0 || position >= this.endPosition) return null;
    if (position >= this.writtenEnd) return decodeTimerLogRecord(this.batch, position - this.writtenEnd);
    const segment = this.segmentFor(position, false);
    if (!segment) return null;
    const got = readSync(segment.fd, this.scratch, 0, TIMER_LOG_RECORD_BYTES, position - segment.start);
    return got === TIMER_LOG_RECORD_BYTES ? decodeTimerLogRecord(this.scratch, 0) : null;
  }

  /**
   * Reads records in order from `fromPosition` (clamped to the oldest stored), calling `visit` for
   * each, and returns the position of the first bad record or the end. Records must be written out.
   */
  scan(fromPosition: number, visit: (record: TimerLogRecord, position: number) => void): number {
    assert(this.batchBytes === 0, 'scan needs the appends written out');
    let position = Math.max(fromPosition, this.startPosition);
    const chunk = Buffer.alloc(SCAN_CHUNK_BYTES);
    while (position < this.writtenEnd) {
      const segment = this.segmentFor(position, false);
      if (!segment) return position;
      const length = Math.min(SCAN_CHUNK_BYTES, segment.start + this.segmentBytes - position, this.writtenEnd - position);
      const got = readSync(segment.fd, chunk, 0, length, position - segment.start);
      for (let at = 0; at + TIMER_LOG_RECORD_BYTES <= got; at += TIMER_LOG_RECORD_BYTES) {
        const record = decodeTimerLogRecord(chunk, at);
        if (record === null) return position + at;
        if (record.effectiveMs > segment.maxEffectiveMs || segment.maxEffectiveMs === Number.NEGATIVE_INFINITY || segment.maxEffectiveMs === Number.POSITIVE_INFINITY) {
          segment.maxEffectiveMs = record.effectiveMs;
        }
        visit(record, position + at);
      }
      if (got < length) return position + got - (got % TIMER_LOG_RECORD_BYTES);
      position += length;
    }
    return position;
  }

  /** Cuts the log at `position`: later segments are deleted, the containing one truncated. */
  truncate(position: number): void {
    assert(this.batchBytes === 0, 'truncate needs the appends written out');
    assert(position % TIMER_LOG_RECORD_BYTES === 0, 'the log is cut at a record boundary');
    // Segments starting at or after the cut go; the one containing it (start < position) stays.
    while (this.segments.length > 0 && this.segments[this.segments.length - 1]!.start >= position) {
      const segment = this.segments.pop()!;
      closeSync(segment.fd);
      unlinkSync(segment.path);
    }
    const last = this.segments[this.segments.length - 1];
    if (last && position - last.start < this.segmentBytes) {
      ftruncateSync(last.fd, position - last.start);
      last.dirty = true;
    }
    this.writtenEnd = position;
  }

  /** Makes every written record durable (fdatasync of the segments written since the last sync). */
  async sync(): Promise<void> {
    const dirty = this.segments.filter((segment) => segment.dirty);
    for (const segment of dirty) segment.dirty = false;
    await Promise.all(dirty.map((segment) => new Promise<void>((resolve, reject) => {
      fdatasync(segment.fd, (error) => {
        if (error) {
          segment.dirty = true;
          reject(error);
        } else {
          resolve();
        }
      });
    })));
  }

  /** Startup: makes every segment durable at once. */
  syncAllSync(): void {
    this.writeOut();
    for (const segment of this.segments) {
      fdatasyncSync(segment.fd);
      segment.dirty = false;
    }
  }

  /** Deletes the oldest segments whose records are all before `beforeMs`, never the one written to. */
  deleteSegmentsBefore(beforeMs: number): number {
    let deleted = 0;
    while (this.segments.length > 1 && this.segments[0]!.maxEffectiveMs < beforeMs && !this.segments[0]!.dirty) {
      const segment = this.segments.shift()!;
      closeSync(segment.fd);
      unlinkSync(segment.path);
      deleted++;
    }
    return deleted;
  }

  close(): void {
    for (const segment of this.segments) closeSync(segment.fd);
    this.segments.length = 0;
  }

  private segmentFor(position: number, create: boolean): Segment | null {
    const segments = this.segments;
    for (let index = segments.length - 1; index >= 0; index--) {
      const segment = segments[index]!;
      if (position >= segment.start) return position < segment.start + this.segmentBytes ? segment : create ? this.createSegment(position) : null;
    }
    return create ? this.createSegment(position) : null;
  }

  private createSegment(position: number): Segment {
    const start = position - (position % this.segmentBytes);
    assert(this.segments.length === 0 || start > this.segments[this.segments.length - 1]!.start, 'timer log segments are created in order');
    const path = join(this.directory, offsetFileName(start));
    const segment: Segment = { start, path, fd: openSync(path, 'w+'), maxEffectiveMs: Number.NEGATIVE_INFINITY, dirty: true };
    this.segments.push(segment);
    return segment;
  }
}
