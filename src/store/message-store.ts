/**
 * The storage engine: RocketMQ's file layouts under `storePathRootDir`:
 *
 *   commitlog/<20-digit offset>              records of every topic (commit-log.ts)
 *   consumequeue/<topic>/<queueId>/<offset>  20-byte entries per queue (consume-queue.ts)
 *   index/<yyyyMMddHHmmssSSS>                key index (key-index.ts)
 *   checkpoint                               consistent offset for recovery (checkpoint.ts)
 *   abort                                    present while open; left behind by a crash
 *   lock                                     pid of the process that has the store open
 *
 * This file wires the parts together: the append path (offsets assigned synchronously, the record
 * encoded once into the commit log's write buffer, consume-queue and key-index entries added in the
 * same call), the flush services, the periodic consume-queue flush + checkpoint, retention, recovery
 * at open and the orderly close. Background work that touches consume-queue or index files
 * (flush, retention, topic deletion) runs one task at a time on a single chain.
 */
import { join } from 'node:path';
import { totalmem } from 'node:os';
import { assert } from '../common/assert.js';
import { TideError, isTideError } from '../common/errors.js';
import { SYSTEM_TOPIC_NAME_MAX_LENGTH, validateTopicName } from '../common/names.js';
import { indexKeysOf } from '../protocol/message-properties.js';
import { BLANK_MARKER_BYTES, SysFlag, TRANSACTION_TYPE_MASK, decodeRecord, prepareRecord } from '../protocol/message-record.js';
import { writeCheckpoint } from './checkpoint.js';
import type { CommitLog } from './commit-log.js';
import { validateQueueId, type ConsumeQueueTable } from './consume-queue-table.js';
import type { GroupCommit } from './group-commit.js';
import type { KeyIndex } from './key-index.js';
import { getMessages, getMessagesAsync, offsetByTime, storeTimeAt } from './queue-reads.js';
import type { RecoveryReport } from './recovery.js';
import type { Retention, RetentionReport } from './retention.js';
import { DEFAULT_STORE_CONFIG, type StoreConfig } from './store-config.js';
import type { StoreLogger } from './store-logger.js';
import { removeAbortMarker, type StoreLock } from './store-lock.js';
import { CHECKPOINT_FILE_NAME, openStoreParts, type MessageStoreOptions, type StoreParts } from './store-parts.js';
import type {
  AppendInput,
  AppendResult,
  ConsumeQueueEntry,
  FlushStatus,
  GetMessageResult,
  MessageArrivedListener,
  MessageFilter,
  MessageStoreApi,
  QueryByKeyResult,
  StoreStats,
} from './types.js';

export { defaultTagsCodeOf, type MessageStoreOptions } from './store-parts.js';

type StoreState = 'open' | 'closing' | 'closed';

export class MessageStore implements MessageStoreApi {
  readonly config: StoreConfig;
  /** What recovery found at open (for logs and tests). */
  readonly recovery: RecoveryReport;
  private readonly root: string;
  private readonly syncFlush: boolean;
  private state: StoreState = 'open';
  private maintenance: Promise<void> = Promise.resolve();
  private flushQueued = false;
  private retentionQueued = false;
  private flushTimer: NodeJS.Timeout | null = null;
  private retentionTimer: NodeJS.Timeout | null = null;
  private checkpointOffset: number;
  private putMessageCount = 0;
  private getMessageCount = 0;
  private closePromise: Promise<void> | null = null;

  private readonly commitLog: CommitLog;
  private readonly groupCommit: GroupCommit;
  private readonly consumeQueues: ConsumeQueueTable;
  private readonly keyIndex: KeyIndex;
  private readonly retention: Retention;
  private readonly lock: StoreLock;
  private readonly logger: StoreLogger;
  private readonly wallClockMs: () => number;

  private constructor(parts: StoreParts, private readonly onMessageArrived: MessageArrivedListener | undefined) {
    this.config = parts.config;
    this.root = parts.config.storePathRootDir;
    this.syncFlush = parts.config.flushDiskType === 'SYNC_FLUSH';
    this.commitLog = parts.commitLog;
    this.groupCommit = parts.groupCommit;
    this.consumeQueues = parts.consumeQueues;
    this.keyIndex = parts.keyIndex;
    this.retention = parts.retention;
    this.lock = parts.lock;
    this.logger = parts.logger;
    this.wallClockMs = parts.wallClockMs;
    this.recovery = parts.recovery;
    this.checkpointOffset = parts.recovery.endOffset;
  }

  static async open(
    config: Partial<StoreConfig> & { storePathRootDir: string },
    options: MessageStoreOptions = {},
  ): Promise<MessageStore> {
    const fullConfig: StoreConfig = { ...DEFAULT_STORE_CONFIG, ...config };
    validateConfig(fullConfig);
    const store = new MessageStore(await openStoreParts(fullConfig, options), options.onMessageArrived);
    store.startServices();
    return store;
  }

  private startServices(): void {
    this.groupCommit.start();
    this.flushTimer = setInterval(() => this.queueFlush(), this.config.flushIntervalConsumeQueue);
    this.flushTimer.unref();
    this.retentionTimer = setInterval(() => this.queueRetention(), this.config.cleanResourceInterval);
    this.retentionTimer.unref();
  }

  append(input: AppendInput): AppendResult {
    if (this.state !== 'open') throw new TideError('STORE_CLOSED', 'the store is closed');
    const commitLog = this.commitLog;
    if (commitLog.failure !== null) throw commitLog.failure;
    if (this.retention.diskFull) {
      throw new TideError('DISK_FULL', `disk usage ${this.retention.diskUsedPercent.toFixed(1)} % is above diskSpaceRefuseRatio ${this.config.diskSpaceRefuseRatio} %`);
    }
    if (this.syncFlush && this.groupCommit.pendingWaiterCount >= this.config.maxPendingSyncAppends) {
      throw new TideError('SYSTEM_BUSY', `${this.groupCommit.pendingWaiterCount} appends are waiting for fdatasync`);
    }
    assert(Number.isSafeInteger(input.tagsCode), 'tagsCode must be a safe integer');
    const prepared = prepareRecord(input, this.config.maxMessageSize);
    const size = prepared.size;
    if (size + BLANK_MARKER_BYTES > this.config.mappedFileSizeCommitLog) {
      throw new TideError('MESSAGE_BODY_TOO_LARGE', `a record of ${size} bytes does not fit a commit-log segment of ${this.config.mappedFileSizeCommitLog} bytes`);
    }
    // RocketMQ keeps prepared and rolled-back transaction records out of the consume queues; they
    // take queue offset 0 and are found through their physical offset only.
    const transactionType = prepared.sysFlag & TRANSACTION_TYPE_MASK;
    const dispatched = transactionType === SysFlag.TRANSACTION_NOT_TYPE || transactionType === SysFlag.TRANSACTION_COMMIT;
    const topic = input.topic;
    let queue = null;
    if (dispatched) {
      queue = this.consumeQueues.getOrCreate(topic, input.queueId);
      try {
        queue.ensureRoom();
      } catch (error) {
        // Out of file descriptors for consume-queue files is passing: refuse this append, retriable,
        // with nothing changed. Anything else is an I/O failure of the store.
        if (isTideError(error, 'SYSTEM_BUSY')) throw error;
        throw commitLog.fail(error);
      }
    } else {
      validateTopicName(topic, SYSTEM_TOPIC_NAME_MAX_LENGTH);
      validateQueueId(input.queueId);
    }
    const queueOffset = queue === null ? 0 : queue.maxOffset;
    const storeTimestamp = this.wallClockMs();
    const physicalOffset = commitLog.append(prepared, queueOffset, storeTimestamp);
    if (queue !== null) this.consumeQueues.put(queue, physicalOffset, size, input.tagsCode);
    if (transactionType !== SysFlag.TRANSACTION_ROLLBACK) {
      const keys = input.keys;
      for (let index = 0; index < keys.length; index++) {
        try {
          this.keyIndex.put(topic, keys[index]!, physicalOffset, storeTimestamp);
        } catch (error) {
          // The index is derived data; a failed put costs a lookup, not a message.
          this.logger.warn({ err: error, topic }, 'key index put failed');
        }
      }
    }
    this.putMessageCount++;
    this.groupCommit.afterAppend();
    if (queue !== null && this.onMessageArrived !== undefined) {
      try {
        this.onMessageArrived(topic, input.queueId, queueOffset, input.tagsCode);
      } catch (error) {
        this.logger.error({ err: error }, 'onMessageArrived listener threw');
      }
    }
    return { physicalOffset, queueOffset, size, storeTimestamp, endOffset: physicalOffset + size };
  }

  /**
   * SYNC_FLUSH: 'PUT_OK' once fdatasync covered `endOffset`, 'FLUSH_DISK_TIMEOUT' after
   * syncFlushTimeout. ASYNC_FLUSH: 'PUT_OK' once the bytes were handed to the kernel (`waitWritten`),
   * at the latest at the end of the current turn of the event loop, so an acknowledged message
   * survives a crash of the process (DESIGN.md's ASYNC_FLUSH promise).
   */
  waitDurable(endOffset: number): Promise<FlushStatus> {
    return this.groupCommit.waitDurable(endOffset);
  }

  /**
   * 'PUT_OK' once every byte before `endOffset` has been handed to the kernel with write(2); in
   * either flush mode. What a send with WAIT=false is answered after: it survives a crash of the
   * process, not a power cut (RocketMQ answers it once the record is in the page cache).
   */
  waitWritten(endOffset: number): Promise<FlushStatus> {
    return this.groupCommit.waitWritten(endOffset);
  }

  readRecord(physicalOffset: number): Buffer | null {
    this.assertReadable();
    return this.commitLog.readRecord(physicalOffset);
  }

  getMessages(topic: string, queueId: number, queueOffset: number, maxCount: number, maxBytes: number, filter?: MessageFilter): GetMessageResult {
    this.assertReadable();
    const result = getMessages(this.commitLog, this.consumeQueues.get(topic, queueId), queueOffset, maxCount, maxBytes, filter, this.logger);
    this.getMessageCount += result.records.length;
    return result;
  }

  /**
   * `getMessages` with the commit-log reads on the libuv thread pool: the same answer, but a pull
   * served from a cold page cache does not stall the event loop (the pull handler should use this).
   * Rejects like getMessages, and with STORE_CLOSED when the store closed while the reads ran.
   * Records within `syncTailBytes` of the end of the log are read synchronously (default: none).
   */
  async getMessagesAsync(topic: string, queueId: number, queueOffset: number, maxCount: number, maxBytes: number, filter?: MessageFilter, syncTailBytes = 0): Promise<GetMessageResult> {
    this.assertReadable();
    const result = await getMessagesAsync(this.commitLog, this.consumeQueues.get(topic, queueId), queueOffset, maxCount, maxBytes, filter, this.logger, this.assertReadableBound, syncTailBytes);
    this.getMessageCount += result.records.length;
    return result;
  }

  getConsumeQueueEntry(topic: string, queueId: number, queueOffset: number): ConsumeQueueEntry | null {
    this.assertReadable();
    return this.consumeQueues.get(topic, queueId)?.getEntry(queueOffset) ?? null;
  }

  getMinOffsetInQueue(topic: string, queueId: number): number {
    return this.consumeQueues.get(topic, queueId)?.minOffset ?? 0;
  }

  getMaxOffsetInQueue(topic: string, queueId: number): number {
    return this.consumeQueues.get(topic, queueId)?.maxOffset ?? 0;
  }

  getEarliestMessageTime(topic: string, queueId: number): number {
    this.assertReadable();
    const queue = this.consumeQueues.get(topic, queueId);
    if (queue === undefined || queue.minOffset >= queue.maxOffset) return -1;
    return storeTimeAt(this.commitLog, queue, queue.minOffset);
  }

  getMessageStoreTime(topic: string, queueId: number, queueOffset: number): number {
    this.assertReadable();
    const queue = this.consumeQueues.get(topic, queueId);
    return queue === undefined ? -1 : storeTimeAt(this.commitLog, queue, queueOffset);
  }

  getOffsetInQueueByTime(topic: string, queueId: number, timestampMs: number, boundary: 'lower' | 'upper' = 'lower'): number {
    this.assertReadable();
    const queue = this.consumeQueues.get(topic, queueId);
    return queue === undefined ? 0 : offsetByTime(this.commitLog, queue, timestampMs, boundary);
  }

  queryMessageByKey(topic: string, key: string, maxNum: number, beginMs: number, endMs: number): QueryByKeyResult {
    this.assertReadable();
    const records: Buffer[] = [];
    const wanted = Math.max(0, Math.floor(maxNum));
    // Ask for more candidates than wanted: collisions and stale entries are dropped below.
    const candidates = wanted === 0 ? [] : this.keyIndex.query(topic, key, Math.min(wanted * 2 + 32, 65_536), beginMs, endMs);
    for (const physicalOffset of candidates) {
      if (records.length >= wanted) break;
      let record: Buffer | null;
      try {
        record = this.commitLog.readRecord(physicalOffset);
      } catch (error) {
        if (!isTideError(error, 'STORE_CORRUPT')) throw error;
        this.logger.error({ err: error, physicalOffset }, 'skipping a corrupt record found by key');
        continue;
      }
      if (record === null) continue;
      const decoded = decodeRecord(record);
      if (decoded === null || decoded.topic !== topic) continue;
      if (decoded.storeTimestamp < beginMs || decoded.storeTimestamp > endMs) continue;
      if (!indexKeysOf(decoded.properties).includes(key)) continue;
      records.push(record);
    }
    return {
      records,
      indexLastUpdateTimestamp: this.keyIndex.lastUpdateTimestampMs,
      indexLastUpdatePhyoffset: this.keyIndex.lastUpdatePhysicalOffset,
    };
  }

  listQueues(): Map<string, number[]> {
    return this.consumeQueues.listQueues();
  }

  deleteTopic(topic: string): void {
    if (this.state !== 'open') throw new TideError('STORE_CLOSED', 'the store is closed');
    const cleanup = this.consumeQueues.deleteTopic(topic);
    if (cleanup === null) return;
    void this.enqueue('delete topic', async () => {
      await cleanup();
      // A checkpoint past the topic's records keeps recovery from re-creating its queues from them.
      await this.groupCommit.flushAll();
      await this.flushConsumeQueuesAndCheckpoint();
    });
  }

  stats(): StoreStats {
    return {
      commitLogMinOffset: this.commitLog.minOffset,
      commitLogMaxOffset: this.commitLog.maxOffset,
      flushedOffset: this.commitLog.flushedOffset,
      dispatchBehindBytes: 0,
      diskUsedPercent: this.retention.diskUsedPercent,
      putMessageCount: this.putMessageCount,
      getMessageCount: this.getMessageCount,
    };
  }

  /** Runs retention now (it also runs every cleanResourceInterval ms). */
  cleanExpiredFiles(): Promise<RetentionReport> {
    return this.enqueue('retention', async () => this.retention.run());
  }

  /**
   * Makes everything appended so far durable and writes the checkpoint there now (the same work
   * runs every flushIntervalCommitLog / flushIntervalConsumeQueue ms).
   */
  flushCheckpoint(): Promise<void> {
    return this.enqueue('checkpoint', async () => {
      await this.groupCommit.flushAll();
      await this.flushConsumeQueuesAndCheckpoint();
    });
  }

  close(): Promise<void> {
    if (this.closePromise === null) this.closePromise = this.closeOnce();
    return this.closePromise;
  }

  private async closeOnce(): Promise<void> {
    this.state = 'closing';
    this.stopTimers();
    await this.maintenance;
    const healthy = this.commitLog.failure === null;
    if (healthy) {
      try {
        await this.groupCommit.flushAll();
        await this.flushConsumeQueuesAndCheckpoint();
      } catch (error) {
        this.logger.error({ err: error }, 'flush at close failed; the next open recovers');
      }
    }
    this.groupCommit.halt();
    await this.groupCommit.whenIdle();
    await this.keyIndex.close().catch((error: unknown) => this.logger.error({ err: error }, 'closing the key index failed'));
    this.commitLog.closeAll();
    this.consumeQueues.closeAll();
    // Only a store whose every write succeeded may claim a clean shutdown.
    if (this.commitLog.failure === null) removeAbortMarker(this.root);
    this.lock.release();
    this.state = 'closed';
  }

  /**
   * Tests only: stops like a killed process would. Nothing buffered is written, no checkpoint is
   * written, the abort marker and lock file stay. File descriptors are closed once running
   * fdatasyncs have finished (closing them under a running fdatasync could hit a reused fd).
   */
  async simulateCrash(): Promise<void> {
    this.state = 'closed';
    this.stopTimers();
    this.groupCommit.halt();
    await this.maintenance;
    await this.groupCommit.whenIdle();
    this.commitLog.closeAll();
    this.consumeQueues.closeAll();
    await this.keyIndex.close().catch(() => undefined);
    this.lock.abandon();
  }

  private stopTimers(): void {
    if (this.flushTimer !== null) clearInterval(this.flushTimer);
    if (this.retentionTimer !== null) clearInterval(this.retentionTimer);
    this.flushTimer = null;
    this.retentionTimer = null;
    this.groupCommit.stopInterval();
  }

  private readonly assertReadableBound = (): void => this.assertReadable();

  private assertReadable(): void {
    if (this.state === 'closed') throw new TideError('STORE_CLOSED', 'the store is closed');
  }

  private queueFlush(): void {
    if (this.flushQueued || this.state !== 'open') return;
    this.flushQueued = true;
    void this.enqueue('checkpoint', async () => {
      this.flushQueued = false;
      await this.flushConsumeQueuesAndCheckpoint();
    });
  }

  private queueRetention(): void {
    if (this.retentionQueued || this.state !== 'open') return;
    this.retentionQueued = true;
    void this.enqueue('retention', async () => {
      this.retentionQueued = false;
      this.retention.run();
    });
  }

  /** Runs background tasks one at a time; a failing task is logged and does not stop the chain. */
  private enqueue<T>(name: string, task: () => Promise<T>): Promise<T> {
    const run = this.maintenance.then(task);
    this.maintenance = run.then(
      () => undefined,
      (error: unknown) => this.logger.error({ err: error, task: name }, 'store background task failed'),
    );
    return run;
  }

  /**
   * Checkpoint protocol: take P = the durable commit-log offset; write and fdatasync the consume
   * queues and flush the key index (both already hold every entry below P, because dispatch is
   * synchronous); then write checkpoint(P).
   */
  private async flushConsumeQueuesAndCheckpoint(): Promise<void> {
    if (this.commitLog.failure !== null) return;
    const consistentOffset = this.commitLog.flushedOffset;
    const storeTimestamp = this.commitLog.flushedStoreTimestamp;
    try {
      this.consumeQueues.writeOutPending();
      await this.consumeQueues.syncWritten();
      await this.keyIndex.flush();
    } catch (error) {
      if (isTideError(error, 'SYSTEM_BUSY')) {
        // A consume-queue file could not be opened (descriptors exhausted): its entries stay pending,
        // the checkpoint does not move this round, and the next interval tries again.
        this.logger.warn({ err: error }, 'consume-queue flush deferred; checkpoint not advanced');
        return;
      }
      this.commitLog.fail(isTideError(error) && error.cause !== undefined ? error.cause : error);
      return;
    }
    if (consistentOffset <= this.checkpointOffset || this.commitLog.failure !== null) return;
    await writeCheckpoint(join(this.root, CHECKPOINT_FILE_NAME), {
      physicMsgTimestamp: storeTimestamp,
      logicsMsgTimestamp: storeTimestamp,
      indexMsgTimestamp: this.keyIndex.lastUpdateTimestampMs,
      consistentOffset,
    });
    this.checkpointOffset = consistentOffset;
  }

  /** fdatasync calls made by the group commit so far (tests, benchmarks). */
  get commitLogSyncCount(): number {
    return this.groupCommit.syncCount;
  }
}

/**
 * What the broker awaits before it acknowledges an append that ends at `endOffset`. With `waitForFlush`
 * (RocketMQ's WAIT property; true unless the producer sent WAIT=false) that is the store's promise for
 * its flush mode, `waitDurable`. Without it, only that the record reached the kernel (`waitWritten`):
 * the ack never precedes the write(2), whatever the mode. A store that is not a MessageStore (a test
 * double) is asked for `waitDurable`, which promises more.
 */
export function waitBeforeAck(store: MessageStoreApi, endOffset: number, waitForFlush: boolean): Promise<FlushStatus> {
  if (!waitForFlush && store instanceof MessageStore) return store.waitWritten(endOffset);
  return store.waitDurable(endOffset);
}

/**
 * How far behind the end of the commit log a record is taken to be in the page cache: 40 % of the
 * machine's memory, RocketMQ's rule (accessMessageInMemoryMaxRatio = 40). A warm read costs
 * microseconds; the round trip to the thread pool costs more than it saves (store-bench, quiet
 * machine: 422k msgs/s read back synchronously, 214k through the pool).
 */
const IN_MEMORY_TAIL_BYTES = Math.floor(totalmem() * 0.4);

/**
 * A pull for the broker's pull handler: on a MessageStore, `getMessagesAsync`, whose reads of
 * records farther than IN_MEMORY_TAIL_BYTES behind the end of the log run on the libuv thread pool,
 * so a consumer catching up from a cold page cache does not stall the event loop; on another store (a
 * test double), its synchronous `getMessages`. Errors reject.
 */
export async function getMessagesForPull(
  store: MessageStoreApi,
  topic: string,
  queueId: number,
  queueOffset: number,
  maxCount: number,
  maxBytes: number,
  filter?: MessageFilter,
): Promise<GetMessageResult> {
  if (store instanceof MessageStore) return store.getMessagesAsync(topic, queueId, queueOffset, maxCount, maxBytes, filter, IN_MEMORY_TAIL_BYTES);
  return store.getMessages(topic, queueId, queueOffset, maxCount, maxBytes, filter);
}

function validateConfig(config: StoreConfig): void {
  const positiveIntegers: (keyof StoreConfig)[] = [
    'mappedFileSizeCommitLog', 'consumeQueueEntriesPerFile', 'flushIntervalCommitLog', 'syncFlushTimeout',
    'flushIntervalConsumeQueue', 'cleanResourceInterval', 'maxMessageSize', 'maxHashSlotNum', 'maxIndexNum', 'maxPendingSyncAppends',
  ];
  for (const name of positiveIntegers) {
    const value = config[name];
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
      throw new TideError('INVALID_PARAMETER', `store setting ${name} must be a positive integer, got ${String(value)}`);
    }
  }
  if (config.mappedFileSizeCommitLog < 4096) throw new TideError('INVALID_PARAMETER', 'mappedFileSizeCommitLog must be at least 4096 bytes');
  if (config.flushDiskType !== 'ASYNC_FLUSH' && config.flushDiskType !== 'SYNC_FLUSH') {
    throw new TideError('INVALID_PARAMETER', `flushDiskType must be ASYNC_FLUSH or SYNC_FLUSH, got ${String(config.flushDiskType)}`);
  }
  for (const name of ['fileReservedTime', 'diskMaxUsedSpaceRatio', 'diskSpaceRefuseRatio'] as const) {
    if (typeof config[name] !== 'number' || !(config[name] >= 0)) {
      throw new TideError('INVALID_PARAMETER', `store setting ${name} must be a non-negative number`);
    }
  }
  if (typeof config.storePathRootDir !== 'string' || config.storePathRootDir.length === 0) {
    throw new TideError('INVALID_PARAMETER', 'storePathRootDir is required');
  }
}
