/**
 * The commit log's write buffers ("batches") and the one writer that hands them to the kernel on the
 * libuv thread pool, so a write(2) never blocks the event loop while appends encode the next batch.
 * That is how SYNC_FLUSH writes: its answers wait for an fdatasync on the pool anyway. ASYNC_FLUSH
 * answers right after the write, and on a busy machine a pool thread can wait milliseconds for a
 * core (p99 of one append's wait: 6 ms on the pool against 0.03 ms inline, load 16 on 2 cores), so
 * there a batch smaller than `poolWriteMinBytes` (a quiet moment: the write is cheap and latency
 * is what counts) is written at once, on the event loop; a larger one (a busy moment: copying it
 * into the page cache would hold up the loop for a while) goes to the pool.
 *
 * - Appends encode records into the *active* batch. A batch belongs to one segment and holds whole
 *   records only (a record never spans two batches), ending, at a roll-over, with the BLANK marker.
 * - `seal` closes the active batch and queues it; a new (recycled) batch becomes active. Sealed
 *   batches are written strictly in order, one positional write at a time (`FileIo.writeAsync`), so
 *   the written offset only ever moves forward over contiguous bytes. Each completed write reports
 *   the offset that is now written (`onWritten`); the commit log moves `writtenOffset` there.
 * - Limit: at most `maxBatches` buffers exist. When all are taken (the disk is slower than the
 *   appends), `seal` writes every pending batch synchronously (`drainSync`), including the one whose
 *   asynchronous write is still running: writing the same bytes at the same place twice is harmless,
 *   and it lets the written offset move past it at once. That is the old blocking behaviour, kept
 *   as back-pressure for the rare case instead of refusing appends.
 * - A failed write is reported once (`onWriteFailed`); nothing is written after it.
 */
import { assert } from '../common/assert.js';
import { writeAsync, type FileIo } from './file-io.js';

export interface WriteBatch {
  readonly buffer: Buffer;
  /** Physical offset of buffer[0]. */
  startOffset: number;
  usedBytes: number;
  /** Descriptor and start offset of the segment the batch is written to. */
  fd: number;
  segmentStartOffset: number;
  /**
   * What the written offset becomes once the batch is written: its end, or the next segment's start
   * when it ends with a BLANK marker (the marker stands for the rest of its segment).
   */
  endOffset: number;
  /** Store time of the newest record in the batch. */
  storeTimestamp: number;
  /** `drainSync` wrote it again while its asynchronous write was running. */
  superseded: boolean;
}

export interface WriteBatchesOptions {
  /** Bytes per batch buffer (any record that fits a segment fits one). */
  capacityBytes: number;
  /** Buffers at most (≥ 3: the active one, one being written, one being drained). */
  maxBatches: number;
  /**
   * Batches of at least this many bytes are written on the libuv thread pool, smaller ones
   * synchronously inside `seal` (when no pool write is running). 0: always on the pool.
   */
  poolWriteMinBytes: number;
  fileIo: FileIo;
  /**
   * A write completed; everything below `endOffset` is now written. Called in offset order, once per
   * batch, possibly twice for a batch drained while its asynchronous write ran (then ignore the
   * second, lower or equal, offset). `drained`: called from inside `seal` (a synchronous write),
   * where the owner must only record the offset, not start new work that would re-enter `seal`.
   */
  onWritten(endOffset: number, storeTimestamp: number, drained: boolean): void;
  /** A write failed; nothing is written after it. May be called more than once (fail idempotently). */
  onWriteFailed(error: unknown): void;
}

export class WriteBatches {
  active: WriteBatch;
  /** Sealed batches waiting for the writer, oldest first (at most maxBatches - 2 of them). */
  private readonly sealed: WriteBatch[] = [];
  private inFlight: WriteBatch | null = null;
  private readonly free: WriteBatch[] = [];
  private allocated = 0;
  private stopped = false;

  constructor(private readonly options: WriteBatchesOptions) {
    assert(options.maxBatches >= 3, 'write batches need at least 3 buffers');
    this.active = this.allocate();
  }

  /** Makes the active batch start at `offset` of a segment. Only when nothing is pending (open, recovery). */
  restart(offset: number, fd: number, segmentStartOffset: number): void {
    assert(this.inFlight === null && this.sealed.length === 0, 'restart with writes pending');
    startBatch(this.active, offset, fd, segmentStartOffset);
  }

  /** Whether a write is running or queued. */
  get writesPending(): boolean {
    return this.inFlight !== null || this.sealed.length > 0;
  }

  /** Whether an asynchronous write is running on the thread pool (descriptors must stay open). */
  get writeInFlight(): boolean {
    return this.inFlight !== null;
  }

  /**
   * Queues the active batch for writing (when it holds bytes) and starts the writer. The next
   * active batch starts at `nextOffset` in the given segment. Throws the write error when it had to
   * drain synchronously and a write failed (onWriteFailed was told first).
   */
  seal(nextOffset: number, fd: number, segmentStartOffset: number): void {
    const current = this.active;
    if (current.usedBytes === 0) {
      startBatch(current, nextOffset, fd, segmentStartOffset);
      return;
    }
    const next = this.takeFree();
    this.sealed.push(current);
    startBatch(next, nextOffset, fd, segmentStartOffset);
    this.active = next;
    this.kick();
  }

  /** The batch (pending or active) holding `offset`, or null when it is not buffered. */
  batchAt(offset: number): WriteBatch | null {
    const active = this.active;
    if (offset >= active.startOffset) return offset < active.startOffset + active.usedBytes ? active : null;
    const inFlight = this.inFlight;
    if (inFlight !== null && !inFlight.superseded && contains(inFlight, offset)) return inFlight;
    for (const batch of this.sealed) if (contains(batch, offset)) return batch;
    return null;
  }

  /** No write starts after this (a crash, a failure, close). A running write still completes. */
  stop(): void {
    this.stopped = true;
  }

  private takeFree(): WriteBatch {
    const recycled = this.free.pop();
    if (recycled !== undefined) return recycled;
    if (this.allocated < this.options.maxBatches) return this.allocate();
    this.drainSync();
    const drained = this.free.pop();
    assert(drained !== undefined, 'a drained write queue frees a batch');
    return drained;
  }

  private allocate(): WriteBatch {
    this.allocated++;
    return {
      buffer: Buffer.allocUnsafeSlow(this.options.capacityBytes),
      startOffset: 0,
      usedBytes: 0,
      fd: -1,
      segmentStartOffset: 0,
      endOffset: 0,
      storeTimestamp: 0,
      superseded: false,
    };
  }

  /** Writes the running and the queued batches synchronously, in order, and reports each. */
  private drainSync(): void {
    assert(!this.stopped, 'drain after stop');
    const io = this.options.fileIo;
    try {
      const inFlight = this.inFlight;
      if (inFlight !== null && !inFlight.superseded) {
        io.write(inFlight.fd, inFlight.buffer, 0, inFlight.usedBytes, inFlight.startOffset - inFlight.segmentStartOffset);
        inFlight.superseded = true;
        this.options.onWritten(inFlight.endOffset, inFlight.storeTimestamp, true);
      }
      while (this.sealed.length > 0) {
        const batch = this.sealed[0]!;
        io.write(batch.fd, batch.buffer, 0, batch.usedBytes, batch.startOffset - batch.segmentStartOffset);
        this.sealed.shift();
        this.free.push(batch);
        this.options.onWritten(batch.endOffset, batch.storeTimestamp, true);
      }
    } catch (error) {
      this.stopped = true;
      this.options.onWriteFailed(error);
      throw error;
    }
  }

  /** Starts the asynchronous write of the oldest sealed batch when none is running. */
  private kick(): void {
    if (this.inFlight !== null || this.stopped || this.sealed.length === 0) return;
    if (this.sealed[0]!.usedBytes < this.options.poolWriteMinBytes) {
      this.drainSync();
      return;
    }
    const batch = this.sealed.shift()!;
    this.inFlight = batch;
    writeAsync(this.options.fileIo, batch.fd, batch.buffer, 0, batch.usedBytes, batch.startOffset - batch.segmentStartOffset, this.onWriteDone);
  }

  private readonly onWriteDone = (error: Error | null): void => {
    const batch = this.inFlight!;
    this.inFlight = null;
    if (error !== null) {
      this.stopped = true;
      this.options.onWriteFailed(error);
      return;
    }
    batch.superseded = false;
    this.free.push(batch);
    try {
      this.kick();
    } catch {
      // A synchronous write of the next batch failed: drainSync has already stopped the writer and
      // reported the failure through onWriteFailed. There is no caller to throw to in an fs callback,
      // and throwing would take the whole process down.
    }
    // Reported even when drainSync already wrote it (the owner ignores an offset it has passed): the
    // owner learns from this call that no write is running any more.
    this.options.onWritten(batch.endOffset, batch.storeTimestamp, false);
  };
}

function startBatch(batch: WriteBatch, offset: number, fd: number, segmentStartOffset: number): void {
  batch.startOffset = offset;
  batch.usedBytes = 0;
  batch.endOffset = offset;
  batch.fd = fd;
  batch.segmentStartOffset = segmentStartOffset;
  batch.superseded = false;
}

function contains(batch: WriteBatch, offset: number): boolean {
  return offset >= batch.startOffset && offset < batch.startOffset + batch.usedBytes;
}
