/**
 * The commit log: every record of every topic, end to end, in `<root>/commitlog/`.
 *
 * Files ("segments") are `segmentSizeBytes` long (RocketMQ `mappedFileSizeCommitLog`) and named by the
 * physical offset of their first byte in 20 zero-padded digits; segment N starts at N × segment size.
 * A segment is created at full length (sparse, or pre-written with zeros when warming is on), so
 * unwritten space reads as zeros and recovery treats a zero TOTALSIZE + MAGIC as the end of data.
 *
 * Records use the layout of `src/protocol/message-record.ts`. A record never spans two segments: when
 * `size + 8` bytes do not fit in the rest of the segment, an 8-byte BLANK marker is written instead
 * (TOTALSIZE = the bytes left in the segment, MAGIC = 0xCBD43194) and the record goes to the start of
 * the next segment. So a segment always ends with a BLANK marker or with unwritten zeros.
 *
 * Write path: `append` encodes the record straight into the active write batch (`write-batches.ts`);
 * a batch goes to its segment with one positional write (`startWriteOut`, called by the group commit
 * at the end of every turn of the event loop that appended, and by `append` once a batch passes
 * 1 MiB); with SYNC_FLUSH, and for large batches with ASYNC_FLUSH, on the libuv thread pool, so
 * the event loop keeps encoding the next batch meanwhile.
 * Until a batch is written, reads are served from it, and nothing in it is acknowledged:
 * `group-commit.ts` answers waiters only after the write (ASYNC_FLUSH) or the fdatasync (SYNC_FLUSH).
 *
 * Roll-over: the next segment (prepared in the background, or created on the spot) is secured
 * before the BLANK marker is written and the offsets move; if it cannot be created the append is
 * refused with a retriable STORE_WRITE_FAILED and the log is exactly as it was.
 *
 * Torn tail: after a crash the tail may hold a partial record, garbage or records whose pages never
 * reached the disk. Recovery (`recovery.ts`) scans from the checkpoint with magic, size, PHYSICALOFFSET
 * and CRC checks, and `resetEnd` cuts the segment past the last good record and deletes later segments.
 */
import { closeSync, fdatasync, fdatasyncSync, fstatSync, fsyncSync, ftruncateSync, mkdirSync, openSync, read, readSync, renameSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { TideError } from '../common/errors.js';
import { assert } from '../common/assert.js';
import {
  BLANK_MAGIC,
  BLANK_MARKER_BYTES,
  MAGIC_V1,
  MAGIC_V2,
  RecordField,
  SysFlag,
  readInt64,
  writeRecord,
  type PreparedRecord,
} from '../protocol/message-record.js';
import { fsyncDirectorySync } from './durable-fs.js';
import type { FileIo } from './file-io.js';
import { listOffsetFiles, offsetFileName } from './file-names.js';
import { verifyRecord } from './record-checks.js';
import type { StoreLogger } from './store-logger.js';
import { WriteBatches, type WriteBatch } from './write-batches.js';

/** Smallest valid record: the fixed fields with empty body, one-byte topic and no properties. */
const MIN_RECORD_BYTES = 80;
/** Enough bytes to reach STORETIMESTAMP with an IPv6 born host. */
const STORE_TIMESTAMP_PREFIX_BYTES = 96;
/** Batches are written out once they pass this size, so one write stays a sensible size. */
const WRITE_THRESHOLD_BYTES = 1024 * 1024;
/** Write buffers at most: the active one, one being written, up to two queued (a limit on memory). */
const MAX_WRITE_BATCHES = 4;
/** Zeros written per turn of the event loop while warming a segment. */
const WARM_CHUNK_BYTES = 1024 * 1024;

export interface CommitLogOptions {
  directory: string;
  segmentSizeBytes: number;
  /** Largest body accepted; sizes the write buffer so that any record fits. */
  maxMessageSizeBytes: number;
  warmSegments: boolean;
  /** Batches this large or larger are written on the libuv thread pool, smaller ones at once; see write-batches.ts. */
  poolWriteMinBytes: number;
  fileIo: FileIo;
  logger: StoreLogger;
  /** Told once, when a write or fdatasync fails; the log refuses appends from then on. */
  onWriteFailed(error: TideError): void;
}

export interface Segment {
  readonly startOffset: number;
  readonly path: string;
  fd: number;
  /** Bytes pre-written with zeros so far (warming); the segment size once warm. */
  warmedBytes: number;
}

export class CommitLog {
  readonly directory: string;
  readonly segmentSizeBytes: number;
  /** Segments in offset order, contiguous; the last one is the active segment. */
  private segments: Segment[] = [];
  /** A segment created ahead of need (and warmed when enabled), not yet part of the log. */
  private preparedSegment: Segment | null = null;
  private preparingScheduled = false;

  /** End of the newest record (buffered records included): the next record's physical offset. */
  maxOffset = 0;
  /** Everything below this offset has been handed to the kernel. The buffer starts here. */
  writtenOffset = 0;
  /** Everything below this offset is durable (maintained by the group commit). */
  flushedOffset = 0;
  /** Store time of the newest appended, written and flushed record (for the checkpoint). */
  lastStoreTimestamp = 0;
  writtenStoreTimestamp = 0;
  flushedStoreTimestamp = 0;

  failure: TideError | null = null;

  private readonly batches: WriteBatches;
  /** Told after every completed asynchronous write (the group commit). */
  writtenListener: (() => void) | null = null;
  private readonly headerScratch = Buffer.alloc(STORE_TIMESTAMP_PREFIX_BYTES);
  private syncsInFlight = 0;
  /** Asynchronous span reads running (descriptors stay open meanwhile). */
  private readsInFlight = 0;
  /** Descriptors of deleted segments, closed once no fdatasync can still be using them. */
  private descriptorsToClose: number[] = [];
  private closed = false;

  private constructor(private readonly options: CommitLogOptions) {
    this.directory = options.directory;
    this.segmentSizeBytes = options.segmentSizeBytes;
    // Any record that fits a segment fits the buffer; 64 KiB covers topic, properties and headers.
    const capacity = Math.min(options.segmentSizeBytes, Math.max(4 * 1024 * 1024, options.maxMessageSizeBytes + 64 * 1024));
    this.batches = new WriteBatches({
      capacityBytes: capacity,
      maxBatches: MAX_WRITE_BATCHES,
      poolWriteMinBytes: options.poolWriteMinBytes,
      fileIo: options.fileIo,
      onWritten: (endOffset, storeTimestamp, drained) => {
        if (endOffset > this.writtenOffset) {
          this.writtenOffset = endOffset;
          this.writtenStoreTimestamp = storeTimestamp;
        }
        // After a drain inside append, the group commit's next turn (scheduled by that append) looks.
        if (drained) return;
        this.closeDeferredDescriptors();
        this.writtenListener?.();
      },
      onWriteFailed: (error) => {
        this.fail(error);
        this.closeDeferredDescriptors();
        this.writtenListener?.();
      },
    });
  }

  /** Opens the segments on disk; `resetEnd` must follow (after recovery found the end). */
  static open(options: CommitLogOptions): CommitLog {
    assert(Number.isSafeInteger(options.segmentSizeBytes) && options.segmentSizeBytes >= 4096, 'segment size must be at least 4 KiB');
    mkdirSync(options.directory, { recursive: true });
    const log = new CommitLog(options);
    const files = listOffsetFiles(options.directory);
    for (const [index, file] of files.entries()) {
      const path = join(options.directory, file.name);
      const fd = openSync(path, 'r+');
      log.segments.push({ startOffset: file.offset, path, fd, warmedBytes: 0 });
      // Segments are created full length; only the newest may be shorter (a crash while creating it).
      // Anything else means mappedFileSizeCommitLog changed, and reading on would misplace records.
      const length = fstatSync(fd).size;
      if (file.offset % options.segmentSizeBytes !== 0 || length > options.segmentSizeBytes || (length < options.segmentSizeBytes && index < files.length - 1)) {
        log.closeAll();
        throw new TideError('STORE_CORRUPT', `commit-log segment ${file.name} (${length} bytes) does not match mappedFileSizeCommitLog ${options.segmentSizeBytes}; was the segment size changed?`);
      }
    }
    return log;
  }

  /**
   * Segments must be contiguous; after a hole (files removed by hand, strays copied in) only the
   * run holding `keepOffset` (the checkpoint, or the newest segment) is kept. The other segment
   * files are renamed to `<name>.orphan` (ignored from then on, kept for a human) and logged.
   */
  dropDiscontiguousSegments(keepOffset: number): void {
    const runs: Segment[][] = [];
    for (const segment of this.segments) {
      const run = runs[runs.length - 1];
      const previous = run?.[run.length - 1];
      if (run !== undefined && previous !== undefined && segment.startOffset === previous.startOffset + this.segmentSizeBytes) run.push(segment);
      else runs.push([segment]);
    }
    if (runs.length <= 1) return;
    const kept =
      runs.find((run) => keepOffset >= run[0]!.startOffset && keepOffset <= run[run.length - 1]!.startOffset + this.segmentSizeBytes) ??
      runs[runs.length - 1]!;
    for (const run of runs) {
      if (run === kept) continue;
      for (const segment of run) {
        this.options.logger.error({ segment: segment.path }, 'commit-log segment outside the contiguous log; renamed to .orphan');
        closeSync(segment.fd);
        renameSync(segment.path, `${segment.path}.orphan`);
      }
    }
    this.segments = kept;
    fsyncDirectorySync(this.directory);
  }

  get segmentCount(): number {
    return this.segments.length;
  }

  /** Smallest physical offset still stored. */
  get minOffset(): number {
    const first = this.segments[0];
    return first === undefined ? this.maxOffset : first.startOffset;
  }

  /** The segment holding `physicalOffset`, or null. */
  segmentContaining(physicalOffset: number): Segment | null {
    const first = this.segments[0];
    if (first === undefined || physicalOffset < first.startOffset) return null;
    const index = Math.floor((physicalOffset - first.startOffset) / this.segmentSizeBytes);
    return this.segments[index] ?? null;
  }

  /** Start offsets of all segments, oldest first. */
  segmentStartOffsets(): number[] {
    return this.segments.map((segment) => segment.startOffset);
  }

  /**
   * Sets the end of the log after recovery. Segments past the one holding `endOffset` are deleted;
   * with `cutTail` the active segment's bytes past `endOffset` are dropped (torn tail) and it is
   * extended back to full length with zeros.
   */
  resetEnd(endOffset: number, cutTail: boolean): void {
    const activeStart = endOffset - (endOffset % this.segmentSizeBytes);
    let removed = false;
    while (this.segments.length > 0 && this.segments[this.segments.length - 1]!.startOffset > activeStart) {
      const segment = this.segments.pop()!;
      closeSync(segment.fd);
      unlinkSync(segment.path);
      removed = true;
    }
    if (removed) fsyncDirectorySync(this.directory);
    const last = this.segments[this.segments.length - 1];
    if (last === undefined || last.startOffset !== activeStart) {
      // No segments (new store), or the end sits at the start of a segment not yet created.
      this.segments.push(this.createSegment(activeStart, this.options.warmSegments));
    } else if (cutTail) {
      const relative = endOffset - activeStart;
      const length = fstatSync(last.fd).size;
      if (length > relative) {
        ftruncateSync(last.fd, relative);
        ftruncateSync(last.fd, this.segmentSizeBytes);
        fsyncSync(last.fd);
      }
    }
    this.maxOffset = endOffset;
    this.writtenOffset = endOffset;
    this.flushedOffset = endOffset;
    const active = this.segments[this.segments.length - 1]!;
    this.batches.restart(endOffset, active.fd, active.startOffset);
    this.schedulePrepareNext();
  }

  /**
   * Appends a prepared record and returns its physical offset. The caller checked that the record
   * fits a segment. Synchronous; the bytes land in the write buffer.
   */
  append(prepared: PreparedRecord, queueOffset: number, storeTimestamp: number): number {
    if (this.failure !== null) throw this.failure;
    const size = prepared.size;
    const active = this.segments[this.segments.length - 1]!;
    if (this.maxOffset - active.startOffset + size + BLANK_MARKER_BYTES > this.segmentSizeBytes) this.rollOver();
    let batch = this.batches.active;
    // Sealed here, before the record, rather than after it: a failure then refuses this append
    // with nothing changed instead of failing an append that already took its offsets.
    if (batch.usedBytes >= WRITE_THRESHOLD_BYTES || batch.usedBytes + size > batch.buffer.length) batch = this.sealActive();
    const physicalOffset = this.maxOffset;
    writeRecord(prepared, batch.buffer, batch.usedBytes, queueOffset, physicalOffset, storeTimestamp);
    batch.usedBytes += size;
    batch.endOffset += size;
    batch.storeTimestamp = storeTimestamp;
    this.maxOffset += size;
    this.lastStoreTimestamp = storeTimestamp;
    return physicalOffset;
  }

  /** Queues the active batch for writing; the next one continues at maxOffset in the active segment. */
  private sealActive(): WriteBatch {
    const segment = this.segments[this.segments.length - 1]!;
    try {
      this.batches.seal(this.maxOffset, segment.fd, segment.startOffset);
    } catch (error) {
      throw this.fail(error);
    }
    return this.batches.active;
  }

  /**
   * Ends the active segment with a BLANK marker and makes the next segment active. The next segment
   * is secured first: when it cannot be created (EMFILE, ENOSPC, EIO) this throws a retriable
   * STORE_WRITE_FAILED and changes nothing, so the next append simply tries again. Moving the offsets
   * first would leave them past the end of a segment that is still the active one, and every retry
   * would then write another marker past its end, growing the file beyond the segment size.
   */
  private rollOver(): void {
    const active = this.segments[this.segments.length - 1]!;
    const nextStart = active.startOffset + this.segmentSizeBytes;
    const next = this.takeNextSegment(nextStart);
    try {
      let batch = this.batches.active;
      if (batch.usedBytes + BLANK_MARKER_BYTES > batch.buffer.length) batch = this.sealActive();
      batch.buffer.writeInt32BE(nextStart - this.maxOffset, batch.usedBytes);
      batch.buffer.writeInt32BE(BLANK_MAGIC, batch.usedBytes + 4);
      batch.usedBytes += BLANK_MARKER_BYTES;
      // The marker stands for the whole rest of the segment, though only its 8 bytes are written.
      batch.endOffset = nextStart;
      this.batches.seal(nextStart, next.fd, next.startOffset);
    } catch (error) {
      // The log has failed (fail() was told); the segment stays prepared so closeAll removes it.
      this.preparedSegment = next;
      throw this.fail(error);
    }
    this.maxOffset = nextStart;
    this.segments.push(next);
    this.schedulePrepareNext();
  }

  /** The prepared segment starting at `nextStart`, or a new one; throws STORE_WRITE_FAILED. */
  private takeNextSegment(nextStart: number): Segment {
    const prepared = this.preparedSegment;
    this.preparedSegment = null;
    if (prepared !== null && prepared.startOffset === nextStart) return prepared;
    if (prepared !== null) this.discardSegment(prepared);
    try {
      return this.createSegment(nextStart, false);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      throw new TideError('STORE_WRITE_FAILED', `could not create the next commit-log segment ${offsetFileName(nextStart)}: ${message}; nothing was appended, retry later`, { cause: error });
    }
  }

  /**
   * fdatasyncs (synchronously; used at open) the segments holding [fromOffset, toOffset): bytes
   * recovery found in the page cache are not necessarily on disk yet.
   */
  syncRangeSync(fromOffset: number, toOffset: number): void {
    for (const segment of this.segments) {
      if (segment.startOffset + this.segmentSizeBytes > fromOffset && segment.startOffset < toOffset) fdatasyncSync(segment.fd);
    }
  }

  /**
   * Starts handing every buffered record to the kernel (asynchronously; `writtenListener` is told as
   * writes complete). Throws STORE_WRITE_FAILED when the log has failed.
   */
  startWriteOut(): void {
    // After closeAll nothing reaches the files: a simulated crash must lose the buffer.
    if (this.closed) return;
    if (this.failure !== null) throw this.failure;
    const batch = this.batches.active;
    if (batch.usedBytes === 0) return;
    const position = batch.startOffset - batch.segmentStartOffset;
    if (!(position >= 0 && position + batch.usedBytes <= this.segmentSizeBytes)) {
      assert(false, `write-out of ${batch.usedBytes} bytes at ${position} overruns segment ${batch.segmentStartOffset}`);
    }
    this.sealActive();
  }

  /** Whether bytes are being or waiting to be written (a sync now would not cover them). */
  get writesPending(): boolean {
    return this.batches.writesPending;
  }

  /** Whether an asynchronous write is running (descriptors must stay open until it ends). */
  get writeInFlight(): boolean {
    return this.batches.writeInFlight;
  }

  /**
   * Starts an fdatasync of every segment holding bytes in [flushedOffset, writtenOffset). The
   * callback gets the offset the sync covers (the written offset when it started).
   */
  syncWritten(callback: (error: Error | null, syncedOffset: number, syncedStoreTimestamp: number) => void): void {
    const target = this.writtenOffset;
    const timestamp = this.writtenStoreTimestamp;
    const descriptors: number[] = [];
    for (let index = this.segments.length - 1; index >= 0; index--) {
      const segment = this.segments[index]!;
      if (segment.startOffset >= target) continue;
      if (segment.startOffset + this.segmentSizeBytes <= this.flushedOffset) break;
      descriptors.push(segment.fd);
    }
    if (descriptors.length === 0) {
      queueMicrotask(() => callback(null, target, timestamp));
      return;
    }
    let outstanding = descriptors.length;
    let firstError: Error | null = null;
    this.syncsInFlight++;
    const done = (error: Error | null): void => {
      if (error !== null && firstError === null) firstError = error;
      if (--outstanding > 0) return;
      this.syncsInFlight--;
      this.closeDeferredDescriptors();
      callback(firstError, target, timestamp);
    };
    for (const fd of descriptors) this.options.fileIo.fdatasync(fd, done);
  }

  /** Puts the log in the failed state (once) and returns the error appends will throw. */
  fail(cause: unknown): TideError {
    if (this.failure !== null) return this.failure;
    this.batches.stop();
    const message = cause instanceof Error ? cause.message : String(cause);
    this.failure = new TideError('STORE_WRITE_FAILED', `commit-log write or fdatasync failed: ${message}`, { cause });
    this.options.onWriteFailed(this.failure);
    return this.failure;
  }

  /**
   * The record at `physicalOffset`, as a copy, verified (magic, size, PHYSICALOFFSET, body CRC).
   * Returns null when no record starts there (outside the log, a BLANK marker, no record magic);
   * throws STORE_CORRUPT when a record starts there but fails its checks.
   */
  readRecord(physicalOffset: number): Buffer | null {
    if (!Number.isSafeInteger(physicalOffset) || physicalOffset < this.minOffset || physicalOffset + 8 > this.maxOffset) return null;
    if (physicalOffset >= this.writtenOffset) {
      const batch = this.unwrittenBatchAt(physicalOffset);
      if (batch === null) return null;
      const position = physicalOffset - batch.startOffset;
      if (position + 8 > batch.usedBytes) return null;
      const magic = batch.buffer.readInt32BE(position + 4);
      if (magic !== MAGIC_V1 && magic !== MAGIC_V2) return null;
      const size = batch.buffer.readInt32BE(position);
      if (size < MIN_RECORD_BYTES || position + size > batch.usedBytes) return null;
      return Buffer.from(batch.buffer.subarray(position, position + size));
    }
    const segment = this.segmentContaining(physicalOffset);
    if (segment === null) return null;
    const header = this.headerScratch;
    const got = readSync(segment.fd, header, 0, 8, physicalOffset - segment.startOffset);
    if (got < 8) return null;
    const magic = header.readInt32BE(4);
    if (magic !== MAGIC_V1 && magic !== MAGIC_V2) return null;
    return this.readVerified(segment, physicalOffset, header.readInt32BE(0));
  }

  /**
   * The record at `physicalOffset` whose consume-queue entry says it is `size` bytes, verified.
   * Null when the offset is no longer (or not yet) in the log; throws STORE_CORRUPT on a bad record.
   */
  readRecordOfSize(physicalOffset: number, size: number): Buffer | null {
    if (physicalOffset < this.minOffset || physicalOffset + size > this.maxOffset) return null;
    if (physicalOffset >= this.writtenOffset) {
      const batch = this.unwrittenBatchAt(physicalOffset);
      if (batch === null) return null;
      const position = physicalOffset - batch.startOffset;
      if (position + size > batch.usedBytes) return null;
      return Buffer.from(batch.buffer.subarray(position, position + size));
    }
    const segment = this.segmentContaining(physicalOffset);
    if (segment === null) return null;
    return this.readVerified(segment, physicalOffset, size);
  }

  /**
   * The write batch holding a record not yet handed to the kernel, for reads. None once a write has
   * failed: the bytes of the failed batch and of every batch after it will never reach the file, and
   * their senders are answered STORE_WRITE_FAILED, so a consumer must not see them either.
   */
  private unwrittenBatchAt(physicalOffset: number): WriteBatch | null {
    if (this.failure !== null) return null;
    return this.batches.batchAt(physicalOffset);
  }

  private readVerified(segment: Segment, physicalOffset: number, size: number): Buffer {
    const relative = physicalOffset - segment.startOffset;
    if (size < MIN_RECORD_BYTES || relative + size > this.segmentSizeBytes) {
      throw new TideError('STORE_CORRUPT', `record at physical offset ${physicalOffset} has impossible size ${size}`);
    }
    const record = Buffer.allocUnsafe(size);
    const got = readSync(segment.fd, record, 0, size, relative);
    const problem = got < size ? 'short read' : verifyRecord(record, physicalOffset);
    if (problem !== null) {
      throw new TideError('STORE_CORRUPT', `record at physical offset ${physicalOffset} is corrupt: ${problem}`);
    }
    return record;
  }

  /**
   * Reads `length` bytes of one segment at `physicalOffset` into `target` with one positional read;
   * the range must lie below `writtenOffset`. Returns the bytes read (fewer at the end of a file).
   */
  readSpanSync(segment: Segment, physicalOffset: number, target: Buffer, length: number): number {
    return readFullySync(segment.fd, target, length, physicalOffset - segment.startOffset);
  }

  /**
   * `readSpanSync` on the libuv thread pool. Until the callback runs, no descriptor of this log is
   * closed (retention, close), so the read never lands on a descriptor number reused by another file.
   */
  readSpan(segment: Segment, physicalOffset: number, target: Buffer, length: number, callback: (error: Error | null, bytesRead: number) => void): void {
    this.readsInFlight++;
    readFully(segment.fd, target, length, physicalOffset - segment.startOffset, (error, bytesRead) => {
      this.readsInFlight--;
      this.closeDeferredDescriptors();
      callback(error, bytesRead);
    });
  }

  /** STORETIMESTAMP of the record at `physicalOffset`, or -1 when it cannot be read. */
  readStoreTimestamp(physicalOffset: number, size: number): number {
    const length = Math.min(size, STORE_TIMESTAMP_PREFIX_BYTES);
    if (size < MIN_RECORD_BYTES || physicalOffset < this.minOffset || physicalOffset + size > this.maxOffset) return -1;
    let source: Buffer;
    let position: number;
    if (physicalOffset >= this.writtenOffset) {
      const batch = this.unwrittenBatchAt(physicalOffset);
      if (batch === null || physicalOffset - batch.startOffset + length > batch.usedBytes) return -1;
      source = batch.buffer;
      position = physicalOffset - batch.startOffset;
    } else {
      const segment = this.segmentContaining(physicalOffset);
      if (segment === null) return -1;
      if (readSync(segment.fd, this.headerScratch, 0, length, physicalOffset - segment.startOffset) < length) return -1;
      source = this.headerScratch;
      position = 0;
    }
    const magic = source.readInt32BE(position + 4);
    if (magic !== MAGIC_V1 && magic !== MAGIC_V2) return -1;
    const bornHostBytes = (source.readInt32BE(position + RecordField.SYS_FLAG) & SysFlag.BORNHOST_V6 ? 16 : 4) + 4;
    return readInt64(source, position + RecordField.BORN_HOST + bornHostBytes);
  }

  /** Segments retention may delete (all but the active one), oldest first. */
  deletableSegments(): readonly Segment[] {
    return this.segments.slice(0, -1);
  }

  /** Deletes the oldest segment, which must not be the active one. */
  deleteOldestSegment(): void {
    assert(this.segments.length > 1, 'the active segment is never deleted');
    const segment = this.segments.shift()!;
    unlinkSync(segment.path);
    this.deferClose(segment.fd);
    fsyncDirectorySync(this.directory);
  }

  /** Creates a full-length segment file; on failure removes what it made and throws the cause. */
  private createSegment(startOffset: number, warmNow: boolean): Segment {
    const path = join(this.directory, offsetFileName(startOffset));
    const fd = openSync(path, 'w+');
    try {
      ftruncateSync(fd, this.segmentSizeBytes);
      const segment: Segment = { startOffset, path, fd, warmedBytes: 0 };
      if (warmNow) {
        while (segment.warmedBytes < this.segmentSizeBytes) this.warmChunk(segment);
        fsyncSync(fd);
      }
      // The new directory entry must be durable before records in it are reported durable.
      fsyncDirectorySync(this.directory);
      return segment;
    } catch (error) {
      // A half-made segment must not stay behind: a short file before the active one fails the next open.
      closeSync(fd);
      try {
        unlinkSync(path);
      } catch {
        // Already gone: nothing to undo.
      }
      throw error;
    }
  }

  /** Creates (and warms) the segment after the active one in the background, ahead of need. */
  private schedulePrepareNext(): void {
    if (this.preparingScheduled || this.closed) return;
    this.preparingScheduled = true;
    setImmediate(() => {
      this.preparingScheduled = false;
      if (this.closed || this.failure !== null) return;
      const active = this.segments[this.segments.length - 1];
      if (active === undefined) return;
      const nextStart = active.startOffset + this.segmentSizeBytes;
      if (this.preparedSegment !== null && this.preparedSegment.startOffset === nextStart) return;
      if (this.preparedSegment !== null) this.discardSegment(this.preparedSegment);
      try {
        this.preparedSegment = this.createSegment(nextStart, false);
      } catch (error) {
        this.options.logger.warn({ err: error }, 'could not pre-create the next commit-log segment');
        return;
      }
      if (this.options.warmSegments) this.warmInBackground(this.preparedSegment);
    }).unref();
  }

  /**
   * Pre-writes zeros into a prepared segment, one chunk per turn of the event loop so appends keep
   * flowing, then fdatasyncs it so the blocks are allocated before records overwrite them.
   */
  private warmInBackground(segment: Segment): void {
    const step = (): void => {
      if (this.closed || this.preparedSegment !== segment) return; // activated or discarded: stop
      try {
        this.warmChunk(segment);
      } catch (error) {
        this.options.logger.warn({ err: error }, 'warming a commit-log segment failed');
        return;
      }
      if (segment.warmedBytes < this.segmentSizeBytes) {
        setImmediate(step).unref();
        return;
      }
      this.syncsInFlight++;
      fdatasync(segment.fd, (error) => {
        this.syncsInFlight--;
        if (error) this.options.logger.warn({ err: error }, 'fdatasync of a warmed segment failed');
        this.closeDeferredDescriptors();
      });
    };
    setImmediate(step).unref();
  }

  private warmChunk(segment: Segment): void {
    const length = Math.min(WARM_CHUNK_BYTES, this.segmentSizeBytes - segment.warmedBytes);
    this.options.fileIo.write(segment.fd, zeroChunk(length), 0, length, segment.warmedBytes);
    segment.warmedBytes += length;
  }

  private discardSegment(segment: Segment): void {
    try {
      unlinkSync(segment.path);
    } catch {
      // Already gone: nothing to undo.
    }
    this.deferClose(segment.fd);
  }

  private deferClose(fd: number): void {
    this.descriptorsToClose.push(fd);
    this.closeDeferredDescriptors();
  }

  private closeDeferredDescriptors(): void {
    if (this.syncsInFlight > 0 || this.readsInFlight > 0 || this.batches.writeInFlight) return;
    for (const fd of this.descriptorsToClose) closeSync(fd);
    this.descriptorsToClose = [];
  }

  /** Whether an fdatasync started by this log is still running. */
  get syncInProgress(): boolean {
    return this.syncsInFlight > 0;
  }

  /** Closes every descriptor. The owner has flushed (or abandoned) the log first. */
  closeAll(): void {
    this.closed = true;
    this.batches.stop();
    // Closed once no write or fdatasync still uses them (a reused descriptor number must not get our bytes).
    for (const segment of this.segments) this.descriptorsToClose.push(segment.fd);
    this.segments = [];
    if (this.preparedSegment !== null) {
      // A prepared segment holds no records; the next open would delete it anyway.
      this.discardSegment(this.preparedSegment);
      this.preparedSegment = null;
    }
    this.closeDeferredDescriptors();
  }

  /** No write starts after this (halt, simulated crash); a running one completes. */
  stopWriting(): void {
    this.batches.stop();
  }
}

function readFullySync(fd: number, target: Buffer, length: number, position: number): number {
  let done = 0;
  while (done < length) {
    const count = readSync(fd, target, done, length - done, position + done);
    if (count === 0) break;
    done += count;
  }
  return done;
}

function readFully(fd: number, target: Buffer, length: number, position: number, callback: (error: Error | null, bytesRead: number) => void): void {
  const step = (done: number): void => {
    if (done >= length) {
      callback(null, done);
      return;
    }
    read(fd, target, done, length - done, position + done, (error, count) => {
      if (error) callback(error, done);
      else if (count === 0) callback(null, done);
      else step(done + count);
    });
  };
  step(0);
}

let zeros: Buffer | null = null;
function zeroChunk(length: number): Buffer {
  if (zeros === null) zeros = Buffer.alloc(WARM_CHUNK_BYTES);
  return zeros.subarray(0, length);
}
