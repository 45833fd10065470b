/**
 * The read side of the store over one consume queue: pulls (`getMessages`, and `getMessagesAsync`
 * with the commit-log reads on the thread pool), store times, and the search of a queue offset by
 * store time. Every commit-log record read from disk is verified (magic, size, position, body CRC).
 *
 * A record that fails verification is never handed out: `getMessages` logs it, skips it and moves
 * past it (answering OFFSET_FOUND_NULL when nothing else was found), so one bad record cannot stall
 * a consumer; `readRecord` throws STORE_CORRUPT. A consume-queue file that cannot be opened (out of
 * descriptors, see ConsumeQueueFilePool) throws a retriable SYSTEM_BUSY for that one read.
 */
import type { CommitLog } from './commit-log.js';
import type { ConsumeQueue } from './consume-queue.js';
import { CONSUME_QUEUE_ENTRY_BYTES } from './consume-queue.js';
import { readInt64 } from '../protocol/message-record.js';
import type { GetMessageResult, GetMessageStatus, MessageFilter } from './types.js';
import type { StoreLogger } from './store-logger.js';
import { addToWindow, newWindow, readWindowAsync, readWindowSync, type WindowRecord } from './span-reads.js';

/** Entries examined per pull at least (RocketMQ examines max(16000 B / 20, maxMsgNums) entries). */
const MIN_ENTRIES_EXAMINED = 800;
/** Upper bound on entries examined per pull, whatever maxCount says. */
const MAX_ENTRIES_EXAMINED = 65_536;
/** Entries read from a consume queue per read call. */
const ENTRY_BATCH = 256;

function emptyResult(status: GetMessageStatus, nextBeginOffset: number, minOffset: number, maxOffset: number): GetMessageResult {
  return { status, records: [], queueOffsets: [], nextBeginOffset, minOffset, maxOffset };
}

/**
 * A pull. The records of each window are read with one positional read per run of nearby records
 * (`span-reads.ts`). For a pull that may be served from a cold page cache use `getMessagesAsync`.
 */
export function getMessages(
  commitLog: CommitLog,
  queue: ConsumeQueue | undefined,
  queueOffset: number,
  maxCount: number,
  maxBytes: number,
  filter: MessageFilter | undefined,
  logger: StoreLogger,
): GetMessageResult {
  const scan = PullScan.start(commitLog, queue, queueOffset, maxCount, maxBytes, filter, logger);
  if (!(scan instanceof PullScan)) return scan;
  while (scan.nextWindow()) scan.acceptAll(readWindowSync(commitLog, scan.window));
  return scan.finish();
}

/**
 * `getMessages` with the commit-log reads on the libuv thread pool, so a read from a cold page
 * cache does not stall the event loop. Same answers; consume-queue entries are still read in place
 * (20 bytes per message, mostly cached). Windows that start within `syncTailBytes` of the end of the
 * log are read synchronously: they are in the page cache, where a read costs microseconds and the
 * round trip to the pool more than it saves.
 */
export async function getMessagesAsync(
  commitLog: CommitLog,
  queue: ConsumeQueue | undefined,
  queueOffset: number,
  maxCount: number,
  maxBytes: number,
  filter: MessageFilter | undefined,
  logger: StoreLogger,
  assertReadable: () => void,
  syncTailBytes = 0,
): Promise<GetMessageResult> {
  const scan = PullScan.start(commitLog, queue, queueOffset, maxCount, maxBytes, filter, logger);
  if (!(scan instanceof PullScan)) return scan;
  while (scan.nextWindow()) {
    const window = scan.window;
    if (window.count > 0 && commitLog.maxOffset - window.physicalOffsets[0]! <= syncTailBytes) {
      // Near the head of the log the records are in the page cache: a read costs microseconds and
      // the round trip to the thread pool would cost more than it saves.
      scan.acceptAll(readWindowSync(commitLog, window));
      continue;
    }
    const records = await readWindowAsync(commitLog, window);
    // The store may have closed, or the topic been deleted, while the reads ran: the consume-queue
    // files are gone then, so answer with what was read (a closed store throws STORE_CLOSED).
    assertReadable();
    scan.acceptAll(records);
    if (queue!.deleted) break;
  }
  return scan.finish();
}

/**
 * The state of one pull. Entries are examined in windows: a window collects the candidates (not a
 * hole, not filtered out by tags code) that would complete the pull if every one of them were found
 * and matched; then their records are read together and accepted in order. When some are missing or
 * filtered out by record, the next window goes on from where this one stopped, so the answer is the
 * one a record-by-record scan gives.
 */
class PullScan {
  readonly result: GetMessageResult;
  readonly window = newWindow();
  private readonly wantedCount: number;
  private readonly end: number;
  /** Next entry to examine (becomes nextBeginOffset). */
  private position: number;
  private totalBytes = 0;
  private filtered = 0;
  private missing = 0;
  /** Entries [chunkStart, chunkStart + chunkCount) are in `entries`. */
  private readonly entries = Buffer.allocUnsafe(ENTRY_BATCH * CONSUME_QUEUE_ENTRY_BYTES);
  private chunkStart = 0;
  private chunkCount = 0;

  private constructor(
    private readonly commitLog: CommitLog,
    private readonly queue: ConsumeQueue,
    queueOffset: number,
    maxCount: number,
    private readonly maxBytes: number,
    private readonly filter: MessageFilter | undefined,
    private readonly logger: StoreLogger,
  ) {
    const maxOffset = queue.maxOffset;
    this.wantedCount = Math.max(1, Math.floor(maxCount) || 1);
    const examineCount = Math.min(maxOffset - queueOffset, MAX_ENTRIES_EXAMINED, Math.max(MIN_ENTRIES_EXAMINED, this.wantedCount));
    this.result = emptyResult('NO_MATCHED_MESSAGE', queueOffset, queue.minOffset, maxOffset);
    this.position = queueOffset;
    this.end = queueOffset + examineCount;
  }

  /** The scan, or the answer when the offset alone decides it. */
  static start(
    commitLog: CommitLog,
    queue: ConsumeQueue | undefined,
    queueOffset: number,
    maxCount: number,
    maxBytes: number,
    filter: MessageFilter | undefined,
    logger: StoreLogger,
  ): PullScan | GetMessageResult {
    if (queue === undefined) return emptyResult('NO_MESSAGE_IN_QUEUE', 0, 0, 0);
    const minOffset = queue.minOffset;
    const maxOffset = queue.maxOffset;
    if (maxOffset === 0) return emptyResult('NO_MESSAGE_IN_QUEUE', 0, minOffset, maxOffset);
    if (queueOffset < minOffset) return emptyResult('OFFSET_TOO_SMALL', minOffset, minOffset, maxOffset);
    if (queueOffset === maxOffset) return emptyResult('OFFSET_OVERFLOW_ONE', queueOffset, minOffset, maxOffset);
    if (queueOffset > maxOffset) return emptyResult('OFFSET_OVERFLOW_BADLY', maxOffset, minOffset, maxOffset);
    if (!Number.isSafeInteger(queueOffset)) return emptyResult('OFFSET_TOO_SMALL', minOffset, minOffset, maxOffset);
    return new PullScan(commitLog, queue, queueOffset, maxCount, maxBytes, filter, logger);
  }

  /** Collects the next window of candidates; false when there is none (the pull is complete). */
  nextWindow(): boolean {
    const window = this.window;
    window.count = 0;
    let projectedCount = this.result.records.length;
    let projectedBytes = this.totalBytes;
    const minPhysicalOffset = this.commitLog.minOffset;
    const filter = this.filter;
    const entries = this.entries;
    while (this.position < this.end) {
      const at = this.entryAt(this.position);
      const physicalOffset = readInt64(entries, at);
      const size = entries.readInt32BE(at + 8);
      if (projectedCount > 0 && (projectedCount >= this.wantedCount || projectedBytes + size > this.maxBytes)) break;
      const queueOffset = this.position++;
      if (size <= 0 || physicalOffset < minPhysicalOffset) {
        this.missing++; // a hole, or a record already deleted by retention
        continue;
      }
      if (filter?.matchesTagsCode !== undefined && !filter.matchesTagsCode(readInt64(entries, at + 12))) {
        this.filtered++;
        continue;
      }
      addToWindow(window, physicalOffset, size, queueOffset);
      projectedCount++;
      projectedBytes += size;
    }
    return window.count > 0;
  }

  /** Position of entry `queueOffset` in `entries`, reading the next chunk of entries when needed. */
  private entryAt(queueOffset: number): number {
    if (queueOffset < this.chunkStart || queueOffset >= this.chunkStart + this.chunkCount) {
      this.chunkStart = queueOffset;
      this.chunkCount = Math.min(ENTRY_BATCH, this.end - queueOffset);
      this.queue.readEntries(queueOffset, this.chunkCount, this.entries);
    }
    return (queueOffset - this.chunkStart) * CONSUME_QUEUE_ENTRY_BYTES;
  }

  /** Takes the window's read outcomes in order (`records[i]` for candidate i). */
  acceptAll(records: readonly WindowRecord[]): void {
    const window = this.window;
    const result = this.result;
    const matchesRecord = this.filter?.matchesRecord;
    for (let index = 0; index < window.count; index++) {
      const record = records[index];
      if (record === null || record === undefined) {
        this.missing++;
        continue;
      }
      if (!(record instanceof Buffer)) {
        this.logger.error({ topic: this.queue.topic, queueId: this.queue.queueId, queueOffset: window.queueOffsets[index], err: record }, 'skipping a corrupt record');
        this.missing++;
        continue;
      }
      if (matchesRecord !== undefined && !matchesRecord(record)) {
        this.filtered++;
        continue;
      }
      result.records.push(record);
      result.queueOffsets.push(window.queueOffsets[index]!);
      this.totalBytes += window.sizes[index]!;
    }
  }

  finish(): GetMessageResult {
    const result = this.result;
    result.nextBeginOffset = this.position;
    if (result.records.length > 0) result.status = 'FOUND';
    else if (this.filtered === 0 && this.missing > 0) result.status = 'OFFSET_FOUND_NULL';
    return result;
  }
}

/** Store time of the record at a queue offset, or -1. */
export function storeTimeAt(commitLog: CommitLog, queue: ConsumeQueue, queueOffset: number): number {
  const entry = queue.getEntry(queueOffset);
  if (entry === null || entry.size <= 0) return -1;
  return commitLog.readStoreTimestamp(entry.physicalOffset, entry.size);
}

/**
 * Binary search over the queue's store times. 'lower': the first offset stored at or after
 * `timestampMs` (maxOffset when none is). 'upper': the last offset stored at or before it (minOffset
 * when none is). An empty queue answers its maxOffset.
 */
export function offsetByTime(commitLog: CommitLog, queue: ConsumeQueue, timestampMs: number, boundary: 'lower' | 'upper'): number {
  const minOffset = queue.minOffset;
  const maxOffset = queue.maxOffset;
  if (minOffset >= maxOffset) return maxOffset;
  // Both boundaries reduce to "first offset whose time is past a threshold".
  const isPast = boundary === 'lower' ? (time: number) => time >= timestampMs : (time: number) => time > timestampMs;
  let low = minOffset;
  let high = maxOffset;
  while (low < high) {
    const middle = Math.floor((low + high) / 2);
    // An unreadable entry (-1) counts as early, which keeps the search moving forward.
    if (isPast(storeTimeAt(commitLog, queue, middle))) high = middle;
    else low = middle + 1;
  }
  if (boundary === 'lower') return low;
  return Math.max(minOffset, low - 1);
}
