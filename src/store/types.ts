/**
 * The public contract of the storage engine. The broker, the crash tests and the benchmarks code
 * against these types only; `message-store.ts` implements them.
 */
import type { MessageRecordInput } from '../protocol/message-record.js';

/** Outcome of waiting for an append's durability. */
export type FlushStatus = 'PUT_OK' | 'FLUSH_DISK_TIMEOUT';

/** What the store needs besides the record itself to build consume-queue and index entries. */
export interface AppendInput extends MessageRecordInput {
  /**
   * The consume-queue tags code: Java `String.hashCode` of TAGS (0 without tags), or the delivery time
   * in ms for messages parked until a time.
   */
  tagsCode: number;
  /** Keys to index (every KEYS entry and UNIQ_KEY); empty for none. */
  keys: readonly string[];
}

export interface AppendResult {
  physicalOffset: number;
  queueOffset: number;
  /** Bytes of the record. */
  size: number;
  storeTimestamp: number;
  /** Physical offset just past this record: durable once the store's flushed offset reaches it. */
  endOffset: number;
}

export type GetMessageStatus =
  | 'FOUND'
  | 'NO_MATCHED_MESSAGE'
  | 'NO_MESSAGE_IN_QUEUE'
  | 'OFFSET_FOUND_NULL'
  | 'OFFSET_OVERFLOW_BADLY'
  | 'OFFSET_OVERFLOW_ONE'
  | 'OFFSET_TOO_SMALL'
  | 'NO_MATCHED_LOGIC_QUEUE';

export interface ConsumeQueueEntry {
  physicalOffset: number;
  size: number;
  tagsCode: number;
}

/** Filters messages on the read path; both steps are optional. */
export interface MessageFilter {
  /** Cheap check on the consume-queue tags code; false skips without reading the commit log. */
  matchesTagsCode?(tagsCode: number): boolean;
  /** Exact check on the record (tag comparison against collisions, SQL92 on properties). */
  matchesRecord?(record: Buffer): boolean;
}

export interface GetMessageResult {
  status: GetMessageStatus;
  /** Raw commit-log records, each a copy the caller may keep. */
  records: Buffer[];
  /** Queue offsets of `records`, same order. */
  queueOffsets: number[];
  nextBeginOffset: number;
  minOffset: number;
  maxOffset: number;
}

export interface QueryByKeyResult {
  records: Buffer[];
  indexLastUpdateTimestamp: number;
  indexLastUpdatePhyoffset: number;
}

/** Listener the store calls synchronously after each append (long polling wakes held pulls with it). */
export type MessageArrivedListener = (topic: string, queueId: number, queueOffset: number, tagsCode: number) => void;

export interface StoreStats {
  commitLogMinOffset: number;
  commitLogMaxOffset: number;
  /** Highest physical offset known durable on disk. */
  flushedOffset: number;
  /** Bytes written to the commit log but not yet in consume queues (always 0: dispatch is synchronous). */
  dispatchBehindBytes: number;
  /** Percentage of the store's disk in use (0-100). */
  diskUsedPercent: number;
  putMessageCount: number;
  getMessageCount: number;
}

export interface MessageStoreApi {
  /**
   * Appends one record. Offsets are assigned synchronously; the record is readable at once. For
   * SYNC_FLUSH, call `waitDurable(result.endOffset)` before acknowledging. Throws TideError for bad
   * input (MESSAGE_BODY_TOO_LARGE, ...), DISK_FULL, STORE_CLOSED, STORE_WRITE_FAILED, SYSTEM_BUSY.
   */
  append(input: AppendInput): AppendResult;
  /**
   * Resolves once everything before `endOffset` is durable ('PUT_OK'), or with 'FLUSH_DISK_TIMEOUT'
   * after syncFlushTimeout. Rejects with STORE_WRITE_FAILED if a write or fsync failed. With
   * ASYNC_FLUSH resolves 'PUT_OK' once the bytes are written to the kernel (they survive a process
   * crash, not a power loss), which is what an ASYNC_FLUSH acknowledgement promises.
   */
  waitDurable(endOffset: number): Promise<FlushStatus>;

  /** The record at a physical offset (a copy), or null if there is none; throws STORE_CORRUPT on bad CRC. */
  readRecord(physicalOffset: number): Buffer | null;
  getMessages(topic: string, queueId: number, queueOffset: number, maxCount: number, maxBytes: number, filter?: MessageFilter): GetMessageResult;
  getConsumeQueueEntry(topic: string, queueId: number, queueOffset: number): ConsumeQueueEntry | null;
  /** Smallest queue offset still stored. */
  getMinOffsetInQueue(topic: string, queueId: number): number;
  /** Next queue offset to be written (RocketMQ's max offset). */
  getMaxOffsetInQueue(topic: string, queueId: number): number;
  /** Store time of the first message still in the queue, or -1 for an empty queue. */
  getEarliestMessageTime(topic: string, queueId: number): number;
  /** Store time of the message at a queue offset, or -1. */
  getMessageStoreTime(topic: string, queueId: number, queueOffset: number): number;
  /**
   * Queue offset for a store timestamp, by binary search: 'lower' = first message stored at or after
   * the time, 'upper' = last message stored at or before it.
   */
  getOffsetInQueueByTime(topic: string, queueId: number, timestampMs: number, boundary?: 'lower' | 'upper'): number;
  /** Messages of `topic` indexed under `key` stored within [beginMs, endMs], newest first, at most maxNum. */
  queryMessageByKey(topic: string, key: string, maxNum: number, beginMs: number, endMs: number): QueryByKeyResult;
  /** Topics and queue ids that have a consume queue. */
  listQueues(): Map<string, number[]>;
  /** Removes a topic's consume queues (its commit-log records age out by retention). */
  deleteTopic(topic: string): void;
  stats(): StoreStats;
  /** Flushes everything, writes the checkpoint and removes the abort marker. */
  close(): Promise<void>;
}
