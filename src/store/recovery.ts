/**
 * Recovery at open: find the true end of the commit log and make the consume queues and the key
 * index agree with it.
 *
 * 1. Start at the checkpoint's consistent offset P (everything below it, in the commit log, the
 *    consume queues and the key index, was durable when the checkpoint was written). Without a valid
 *    checkpoint, start at the oldest segment.
 * 2. Drop every consume-queue tail entry at or past P (and holes); they are re-created in step 3.
 * 3. Scan records from P, each checked for magic, size, PHYSICALOFFSET = its position, body CRC
 *    (`checkRecord(..., verifyCrc = true)`) and a zero tail (`looksTorn`: the CRC covers only the
 *    body, and a write cut short leaves zeros at the end of the record). A BLANK marker jumps to the next segment. Each good
 *    record is re-dispatched: its consume-queue entry at the QUEUEOFFSET stored in the record, and its
 *    keys into the key index unless the index already has them. The scan stops at the first end of
 *    data (zeros) or bad record; a bad record is logged as an error.
 * 4. The end E is where the scan stopped. Later segments are deleted; after an abnormal shutdown
 *    (abort marker) or a bad record the active segment is cut at E, so stale bytes past E can never
 *    be mistaken for records later.
 *
 * The work is proportional to the bytes past P, not to the store size.
 */
import { readSync } from 'node:fs';
import {
  BLANK_MARKER_BYTES,
  SysFlag,
  TRANSACTION_TYPE_MASK,
  checkRecord,
  decodeRecordAt,
  readInt64,
  RecordField,
  type DecodedRecord,
} from '../protocol/message-record.js';
import { indexKeysOf } from '../protocol/message-properties.js';
import type { Checkpoint } from './checkpoint.js';
import type { CommitLog } from './commit-log.js';
import { looksTorn } from './record-checks.js';
import type { ConsumeQueueTable } from './consume-queue-table.js';
import type { KeyIndex } from './key-index.js';
import type { StoreLogger } from './store-logger.js';

export interface RecoveryOptions {
  commitLog: CommitLog;
  consumeQueues: ConsumeQueueTable;
  keyIndex: KeyIndex;
  checkpoint: Checkpoint | null;
  /** The abort marker was present: the previous process did not close the store. */
  abnormal: boolean;
  /** Largest record size possible (sizes the scan buffer). */
  maxRecordBytes: number;
  logger: StoreLogger;
  /** The consume-queue tags code of a re-dispatched record. */
  tagsCodeOf(record: DecodedRecord): number;
}

export interface RecoveryReport {
  abnormal: boolean;
  startOffset: number;
  endOffset: number;
  recordsRedispatched: number;
  /** Physical offset of the bad record that stopped the scan, or null. */
  corruptOffset: number | null;
  cutTail: boolean;
  /** Store time of the newest record seen by the scan (0 when none). */
  lastStoreTimestamp: number;
}

export function recoverStore(options: RecoveryOptions): RecoveryReport {
  const { commitLog, consumeQueues, logger } = options;
  const startOffset = chooseStartOffset(options);
  for (const queue of consumeQueues.queues()) queue.recoverTail(startOffset);

  const scan = scanAndRedispatch(options, startOffset);
  const cutTail = options.abnormal || scan.corruptOffset !== null;
  commitLog.resetEnd(scan.endOffset, cutTail);
  commitLog.syncRangeSync(startOffset, scan.endOffset);
  consumeQueues.writeOutPending();
  const minPhysicalOffset = commitLog.minOffset;
  for (const queue of consumeQueues.queues()) queue.correctMinOffset(minPhysicalOffset);

  const report: RecoveryReport = {
    abnormal: options.abnormal,
    startOffset,
    endOffset: scan.endOffset,
    recordsRedispatched: scan.records,
    corruptOffset: scan.corruptOffset,
    cutTail,
    lastStoreTimestamp: scan.lastStoreTimestamp,
  };
  logger.info(report, options.abnormal ? 'store recovered after an abnormal shutdown' : 'store opened');
  return report;
}

function chooseStartOffset(options: RecoveryOptions): number {
  const { commitLog, checkpoint, logger } = options;
  commitLog.dropDiscontiguousSegments(checkpoint?.consistentOffset ?? Number.MAX_SAFE_INTEGER);
  const starts = commitLog.segmentStartOffsets();
  if (starts.length === 0) {
    if (checkpoint !== null && checkpoint.consistentOffset > 0) {
      logger.error({ checkpoint: checkpoint.consistentOffset }, 'the checkpoint points into a commit log that has no segments; starting empty');
    }
    return 0;
  }
  const minOffset = starts[0]!;
  const lastStart = starts[starts.length - 1]!;
  if (checkpoint === null) {
    if (minOffset !== lastStart || options.abnormal) logger.warn('no valid checkpoint: scanning the whole commit log');
    return minOffset;
  }
  const consistent = checkpoint.consistentOffset;
  if (consistent < minOffset) return minOffset;
  if (consistent > lastStart + commitLog.segmentSizeBytes) {
    logger.error({ checkpoint: consistent, lastSegment: lastStart }, 'the checkpoint is past the last segment; scanning the last segment');
    return lastStart;
  }
  return consistent;
}

interface ScanResult {
  endOffset: number;
  records: number;
  corruptOffset: number | null;
  lastStoreTimestamp: number;
}

function scanAndRedispatch(options: RecoveryOptions, startOffset: number): ScanResult {
  const { commitLog, logger } = options;
  const segmentSize = commitLog.segmentSizeBytes;
  const chunk = Buffer.allocUnsafe(Math.min(segmentSize, Math.max(8 * 1024 * 1024, options.maxRecordBytes)));
  const result: ScanResult = { endOffset: startOffset, records: 0, corruptOffset: null, lastStoreTimestamp: 0 };
  let offset = startOffset;
  for (;;) {
    const segment = commitLog.segmentContaining(offset);
    if (segment === null) break; // the end is at a segment boundary (or the log is empty)
    const segmentEnd = segment.startOffset + segmentSize;
    const chunkStart = offset;
    const wanted = Math.min(chunk.length, segmentEnd - chunkStart);
    const got = readSync(segment.fd, chunk, 0, wanted, chunkStart - segment.startOffset);
    if (got < wanted) chunk.fill(0, got, wanted); // past the file's length reads as unwritten
    let position = 0;
    let stop = false;
    while (position < wanted) {
      const available = wanted - position;
      const check = checkRecord(chunk, position, available, true);
      if (check.kind === 'corrupt' && wanted < segmentEnd - chunkStart && needsMoreBytes(chunk, position, available, segmentEnd - chunkStart - position)) {
        break; // the record runs past this chunk: read again from its start
      }
      if (check.kind === 'end') {
        stop = true;
        break;
      }
      if (check.kind === 'blank') {
        if (chunkStart + position + check.size !== segmentEnd) {
          reportCorrupt(result, logger, chunkStart + position, `BLANK marker of ${check.size} bytes does not end its segment`);
          stop = true;
          break;
        }
        position = segmentEnd - chunkStart;
        break;
      }
      if (check.kind === 'corrupt') {
        reportCorrupt(result, logger, chunkStart + position, check.reason);
        stop = true;
        break;
      }
      const physicalOffset = chunkStart + position;
      if (readInt64(chunk, position + RecordField.PHYSICAL_OFFSET) !== physicalOffset) {
        reportCorrupt(result, logger, physicalOffset, 'PHYSICALOFFSET field does not match its position');
        stop = true;
        break;
      }
      if (looksTorn(chunk, position, check.size)) {
        reportCorrupt(result, logger, physicalOffset, 'record ends in zero bytes (torn write)');
        stop = true;
        break;
      }
      redispatch(options, chunk, position, check.size, physicalOffset, result);
      position += check.size;
    }
    offset = chunkStart + position;
    result.endOffset = offset;
    if (stop) break;
    if (position === 0 && offset < segmentEnd) {
      // Cannot happen with a chunk as large as any record; guard against looping forever.
      reportCorrupt(result, logger, offset, 'record larger than the scan buffer');
      break;
    }
  }
  return result;
}

/** Whether a record at `position` claims more bytes than the chunk has but the segment does. */
function needsMoreBytes(chunk: Buffer, position: number, available: number, leftInSegment: number): boolean {
  if (available < BLANK_MARKER_BYTES) return leftInSegment > available;
  const totalSize = chunk.readInt32BE(position);
  return totalSize > available && totalSize <= leftInSegment;
}

function reportCorrupt(result: ScanResult, logger: StoreLogger, physicalOffset: number, reason: string): void {
  result.corruptOffset = physicalOffset;
  logger.error({ physicalOffset, reason }, 'corrupt commit-log record: the log is cut here and nothing from here on is served');
}

function redispatch(options: RecoveryOptions, chunk: Buffer, position: number, size: number, physicalOffset: number, result: ScanResult): void {
  const record = decodeRecordAt(chunk, position, size);
  if (record === null) return; // checkRecord already decoded it; unreachable
  result.records++;
  result.lastStoreTimestamp = record.storeTimestamp;
  const transactionType = record.sysFlag & TRANSACTION_TYPE_MASK;
  if (transactionType === SysFlag.TRANSACTION_NOT_TYPE || transactionType === SysFlag.TRANSACTION_COMMIT) {
    try {
      options.consumeQueues.putAt(record.topic, record.queueId, record.queueOffset, physicalOffset, size, options.tagsCodeOf(record));
    } catch (error) {
      options.logger.error({ err: error, physicalOffset, topic: record.topic }, 'record could not be re-dispatched to its consume queue');
    }
  }
  if (transactionType !== SysFlag.TRANSACTION_ROLLBACK && physicalOffset >= options.keyIndex.lastUpdatePhysicalOffset) {
    for (const key of indexKeysOf(record.properties)) options.keyIndex.put(record.topic, key, physicalOffset, record.storeTimestamp);
  }
}
