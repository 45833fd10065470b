/**
 * The read side of the store over one consume queue: pulls (`getMessages`), store times, and the
 * search of a queue offset by store time. Reads are synchronous positional reads of the open files;
 * every commit-log record read from disk is verified (magic, size, position, body CRC).
 *
 * A record that fails verification is never handed out: `getMessages` logs it, skips it and moves
 * past it (answering OFFSET_FOUND_NULL when nothing else was found), so one bad record cannot stall
 * a consumer; `readRecord` throws STORE_CORRUPT. A consume-queue file that cannot be opened (out of
 * descriptors, see ConsumeQueueFilePool) throws a retriable SYSTEM_BUSY for that one read.
 */
import { isTideError } from '../common/errors.js';
import type { CommitLog } from './commit-log.js';
import type { ConsumeQueue } from './consume-queue.js';
import { CONSUME_QUEUE_ENTRY_BYTES } from './consume-queue.js';
import { readInt64 } from '../protocol/message-record.js';
import type { GetMessageResult, GetMessageStatus, MessageFilter } from './types.js';
import type { StoreLogger } from './store-logger.js';

/** Entries examined per pull at least (RocketMQ examines max(16000 B / 20, maxMsgNums) entries). */
const MIN_ENTRIES_EXAMINED = 800;
/** Upper bound on entries examined per pull, whatever maxCount says. */
const MAX_ENTRIES_EXAMINED = 65_536;
/** Entries read from a consume queue per read call. */
const ENTRY_BATCH = 256;

const entryScratch = Buffer.alloc(ENTRY_BATCH * CONSUME_QUEUE_ENTRY_BYTES);

function emptyResult(status: GetMessageStatus, nextBeginOffset: number, minOffset: number, maxOffset: number): GetMessageResult {
  return { status, records: [], queueOffsets: [], nextBeginOffset, minOffset, maxOffset };
}

export function getMessages(
  commitLog: CommitLog,
  queue: ConsumeQueue | undefined,
  queueOffset: number,
  maxCount: number,
  maxBytes: number,
  filter: MessageFilter | undefined,
  logger: StoreLogger,
): GetMessageResult {
  if (queue === undefined) return emptyResult('NO_MESSAGE_IN_QUEUE', 0, 0, 0);
  const minOffset = queue.minOffset;
  const maxOffset = queue.maxOffset;
  if (maxOffset === 0) return emptyResult('NO_MESSAGE_IN_QUEUE', 0, minOffset, maxOffset);
  if (queueOffset < minOffset) return emptyResult('OFFSET_TOO_SMALL', minOffset, minOffset, maxOffset);
  if (queueOffset === maxOffset) return emptyResult('OFFSET_OVERFLOW_ONE', queueOffset, minOffset, maxOffset);
  if (queueOffset > maxOffset) return emptyResult('OFFSET_OVERFLOW_BADLY', maxOffset, minOffset, maxOffset);
  if (!Number.isSafeInteger(queueOffset)) return emptyResult('OFFSET_TOO_SMALL', minOffset, minOffset, maxOffset);

  const wantedCount = Math.max(1, Math.floor(maxCount) || 1);
  const examineCount = Math.min(maxOffset - queueOffset, MAX_ENTRIES_EXAMINED, Math.max(MIN_ENTRIES_EXAMINED, wantedCount));
  const result = emptyResult('NO_MATCHED_MESSAGE', queueOffset, minOffset, maxOffset);
  const minPhysicalOffset = commitLog.minOffset;
  let totalBytes = 0;
  let filtered = 0;
  let missing = 0;
  let next = queueOffset;
  const end = queueOffset + examineCount;
  scan: for (let batchStart = queueOffset; batchStart < end; batchStart += ENTRY_BATCH) {
    const batchCount = Math.min(ENTRY_BATCH, end - batchStart);
    queue.readEntries(batchStart, batchCount, entryScratch);
    for (let index = 0; index < batchCount; index++) {
      const at = index * CONSUME_QUEUE_ENTRY_BYTES;
      const physicalOffset = readInt64(entryScratch, at);
      const size = entryScratch.readInt32BE(at + 8);
      const count = result.records.length;
      if (count > 0 && (count >= wantedCount || totalBytes + size > maxBytes)) break scan;
      next = batchStart + index + 1;
      if (size <= 0 || physicalOffset < minPhysicalOffset) {
        missing++; // a hole, or a record already deleted by retention
        continue;
      }
      if (filter?.matchesTagsCode !== undefined && !filter.matchesTagsCode(readInt64(entryScratch, at + 12))) {
        filtered++;
        continue;
      }
      let record: Buffer | null;
      try {
        record = commitLog.readRecordOfSize(physicalOffset, size);
      } catch (error) {
        if (!isTideError(error, 'STORE_CORRUPT')) throw error;
        logger.error({ topic: queue.topic, queueId: queue.queueId, queueOffset: batchStart + index, err: error }, 'skipping a corrupt record');
        missing++;
        continue;
      }
      if (record === null) {
        missing++;
        continue;
      }
      if (filter?.matchesRecord !== undefined && !filter.matchesRecord(record)) {
        filtered++;
        continue;
      }
      result.records.push(record);
      result.queueOffsets.push(batchStart + index);
      totalBytes += size;
    }
  }
  result.nextBeginOffset = next;
  if (result.records.length > 0) result.status = 'FOUND';
  else if (filtered === 0 && missing > 0) result.status = 'OFFSET_FOUND_NULL';
  return result;
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
