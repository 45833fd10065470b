/**
 * Opening a store: take the lock, mark the store open (abort marker), open the commit log, the
 * consume queues and the key index, recover, make the recovered state durable under a fresh
 * checkpoint, then build the flush and retention services. On any failure everything opened so far
 * is closed and the lock released.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { javaStringHashCode } from '../common/java-hash.js';
import type { Logger } from '../common/logger.js';
import { getProperty, MessageProperty } from '../protocol/message-properties.js';
import type { DecodedRecord } from '../protocol/message-record.js';
import { readCheckpoint, writeCheckpointSync, type Checkpoint } from './checkpoint.js';
import { CommitLog } from './commit-log.js';
import { ConsumeQueueTable } from './consume-queue-table.js';
import { statfsDiskUsage, type DiskUsageSource } from './disk-usage.js';
import { nodeFileIo, type FileIo } from './file-io.js';
import { GroupCommit } from './group-commit.js';
import { KeyIndex } from './key-index.js';
import { recoverStore, type RecoveryReport } from './recovery.js';
import { Retention } from './retention.js';
import type { StoreConfig } from './store-config.js';
import { defaultStoreLogger, type StoreLogger } from './store-logger.js';
import { StoreLock, abortMarkerExists, createAbortMarker, removeAbortMarker } from './store-lock.js';
import type { MessageArrivedListener } from './types.js';

export const CHECKPOINT_FILE_NAME = 'checkpoint';
/** ASYNC_FLUSH batches from this size on are written on the thread pool (about 50 messages of 1 KiB). */
const ASYNC_FLUSH_POOL_WRITE_MIN_BYTES = 64 * 1024;
/** Headers, topic and properties of a record on top of its body, at most. */
const RECORD_OVERHEAD_BYTES = 64 * 1024;

export interface MessageStoreOptions {
  onMessageArrived?: MessageArrivedListener;
  logger?: StoreLogger;
  /** File writes and fdatasync; tests inject failures and counters here. */
  fileIo?: FileIo;
  /** Disk usage in percent; tests simulate a full disk here. Defaults to statfs of the root. */
  diskUsage?: DiskUsageSource;
  /** Wall clock for store timestamps and file ages (default Date.now). */
  wallClockMs?: () => number;
  /**
   * The consume-queue tags code of a record re-dispatched by recovery (the broker computes it at
   * append time and passes it in AppendInput). Default: Java hashCode of TAGS, 0 without tags.
   */
  tagsCodeOf?: (record: DecodedRecord) => number;
}

export function defaultTagsCodeOf(record: DecodedRecord): number {
  const tags = getProperty(record.properties, MessageProperty.TAGS);
  return tags === undefined || tags.length === 0 ? 0 : javaStringHashCode(tags);
}

export interface StoreParts {
  config: StoreConfig;
  logger: StoreLogger;
  wallClockMs: () => number;
  lock: StoreLock;
  commitLog: CommitLog;
  groupCommit: GroupCommit;
  consumeQueues: ConsumeQueueTable;
  keyIndex: KeyIndex;
  retention: Retention;
  recovery: RecoveryReport;
}

export async function openStoreParts(config: StoreConfig, options: MessageStoreOptions): Promise<StoreParts> {
  const root = config.storePathRootDir;
  const logger = options.logger ?? defaultStoreLogger;
  const fileIo = options.fileIo ?? nodeFileIo;
  mkdirSync(root, { recursive: true });
  const lock = StoreLock.acquire(root);
  const opened: Partial<Pick<StoreParts, 'commitLog' | 'consumeQueues' | 'keyIndex'>> = {};
  const abnormal = abortMarkerExists(root);
  // Until recovery starts changing files, a failed open leaves the store as it found it.
  let filesTouched = false;
  try {
    createAbortMarker(root);
    const checkpointPath = join(root, CHECKPOINT_FILE_NAME);
    const checkpoint = readCheckpoint(checkpointPath);
    // The group commit is built after recovery, but a write failure must reach it from the start.
    let groupCommit: GroupCommit | null = null;
    const commitLog = (opened.commitLog = CommitLog.open({
      directory: join(root, 'commitlog'),
      segmentSizeBytes: config.mappedFileSizeCommitLog,
      maxMessageSizeBytes: config.maxMessageSize,
      warmSegments: config.warmMappedFileEnable,
      // SYNC_FLUSH answers wait for a pool fdatasync anyway; ASYNC_FLUSH answers after the write, so
      // only batches large enough to hold up the event loop go to the pool (write-batches.ts).
      poolWriteMinBytes: config.flushDiskType === 'SYNC_FLUSH' ? 0 : ASYNC_FLUSH_POOL_WRITE_MIN_BYTES,
      fileIo,
      logger,
      onWriteFailed: (error) => {
        logger.error({ err: error }, 'store write failed: appends are refused from now on');
        groupCommit?.fail(error);
      },
    }));
    const consumeQueues = (opened.consumeQueues = new ConsumeQueueTable({
      directory: join(root, 'consumequeue'),
      entriesPerFile: config.consumeQueueEntriesPerFile,
      maxOpenFiles: config.maxOpenConsumeQueueFiles,
      fileIo,
      logger,
    }));
    consumeQueues.loadAll();
    const keyIndex = (opened.keyIndex = KeyIndex.open(join(root, 'index'), {
      maxHashSlotNum: config.maxHashSlotNum,
      maxIndexNum: config.maxIndexNum,
      logger: toCommonLogger(logger),
    }));
    filesTouched = true;
    const recovery = recoverStore({
      commitLog,
      consumeQueues,
      keyIndex,
      checkpoint,
      abnormal,
      maxRecordBytes: config.maxMessageSize + RECORD_OVERHEAD_BYTES,
      logger,
      tagsCodeOf: options.tagsCodeOf ?? defaultTagsCodeOf,
    });
    await persistRecoveredState(checkpointPath, checkpoint, recovery, commitLog, consumeQueues, keyIndex);
    groupCommit = new GroupCommit(commitLog, {
      flushDiskType: config.flushDiskType,
      flushIntervalMs: config.flushIntervalCommitLog,
      syncFlushTimeoutMs: config.syncFlushTimeout,
      maxPendingWaiters: config.maxPendingSyncAppends,
      nowMs: () => performance.now(),
    });
    const wallClockMs = options.wallClockMs ?? Date.now;
    const retention = new Retention({
      commitLog,
      consumeQueues,
      keyIndex,
      diskUsage: options.diskUsage ?? statfsDiskUsage(root),
      fileReservedTimeHours: config.fileReservedTime,
      diskMaxUsedSpaceRatio: config.diskMaxUsedSpaceRatio,
      diskSpaceRefuseRatio: config.diskSpaceRefuseRatio,
      wallClockMs,
      logger,
    });
    retention.measure();
    return { config, logger, wallClockMs, lock, commitLog, groupCommit, consumeQueues, keyIndex, retention, recovery };
  } catch (error) {
    opened.commitLog?.closeAll();
    opened.consumeQueues?.closeAll();
    await opened.keyIndex?.close().catch(() => undefined);
    if (!abnormal && !filesTouched) removeAbortMarker(root);
    lock.release();
    throw error;
  }
}

/**
 * Makes the recovered state the new consistent point (consume queues and index durable, then the
 * checkpoint at the recovered end), so a crash right after open neither redoes this work nor ever
 * scans the cut tail again.
 */
async function persistRecoveredState(
  checkpointPath: string,
  previous: Checkpoint | null,
  recovery: RecoveryReport,
  commitLog: CommitLog,
  consumeQueues: ConsumeQueueTable,
  keyIndex: KeyIndex,
): Promise<void> {
  consumeQueues.writeOutPending();
  await consumeQueues.syncWritten();
  await keyIndex.flush();
  const lastStoreTimestamp = recovery.lastStoreTimestamp || (previous?.physicMsgTimestamp ?? 0);
  writeCheckpointSync(checkpointPath, {
    physicMsgTimestamp: lastStoreTimestamp,
    logicsMsgTimestamp: lastStoreTimestamp,
    indexMsgTimestamp: keyIndex.lastUpdateTimestampMs,
    consistentOffset: recovery.endOffset,
  });
  commitLog.lastStoreTimestamp = lastStoreTimestamp;
  commitLog.writtenStoreTimestamp = lastStoreTimestamp;
  commitLog.flushedStoreTimestamp = lastStoreTimestamp;
}

/** The key index takes the common pino-shaped logger; adapt the store's. */
function toCommonLogger(logger: StoreLogger): Logger {
  const noop = (): void => {};
  return {
    debug: noop,
    info: (...args: unknown[]) => logger.info(...args),
    warn: (...args: unknown[]) => logger.warn(...args),
    error: (...args: unknown[]) => logger.error(...args),
  } as Logger;
}
