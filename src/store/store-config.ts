/**
 * Settings of the storage engine, named as RocketMQ names them in `broker.conf` where RocketMQ has the
 * setting (so an existing conf file keeps working). Units are in the names where RocketMQ's names omit
 * them, and in the comments otherwise.
 */
export type FlushDiskType = 'ASYNC_FLUSH' | 'SYNC_FLUSH';

export interface StoreConfig {
  /** Root directory of the store: commitlog/, consumequeue/, index/, checkpoint, abort, lock. */
  storePathRootDir: string;
  /** Bytes per commit-log segment (RocketMQ `mappedFileSizeCommitLog`, default 1 GiB). */
  mappedFileSizeCommitLog: number;
  /** Entries per consume-queue file (RocketMQ sets bytes: 300,000 × 20). */
  consumeQueueEntriesPerFile: number;
  flushDiskType: FlushDiskType;
  /** ASYNC_FLUSH interval in ms (RocketMQ `flushIntervalCommitLog`, 500). */
  flushIntervalCommitLog: number;
  /** SYNC_FLUSH: an append not durable within this many ms resolves as FLUSH_DISK_TIMEOUT (5000). */
  syncFlushTimeout: number;
  /** Consume queues, index and checkpoint are flushed every this many ms (1000). */
  flushIntervalConsumeQueue: number;
  /** Segments older than this many hours are deleted (72). */
  fileReservedTime: number;
  /** Disk usage percentage above which the oldest segments are deleted early (75). */
  diskMaxUsedSpaceRatio: number;
  /** Disk usage percentage above which appends are refused with DISK_FULL (90). */
  diskSpaceRefuseRatio: number;
  /** How often retention runs, in ms (10,000). */
  cleanResourceInterval: number;
  /** Largest body accepted, in bytes (4 MiB). */
  maxMessageSize: number;
  /** Key index: hash slots per index file (RocketMQ `maxHashSlotNum`). */
  maxHashSlotNum: number;
  /** Key index: entries per index file (RocketMQ `maxIndexNum`). */
  maxIndexNum: number;
  /** Pre-write (warm) new commit-log segments with zeros before use. */
  warmMappedFileEnable: boolean;
  /** Most pending (written, not yet durable) SYNC_FLUSH appends before SYSTEM_BUSY. */
  maxPendingSyncAppends: number;
  /** Most consume-queue files kept open at once (least recently used are closed). */
  maxOpenConsumeQueueFiles: number;
}

export const DEFAULT_STORE_CONFIG: Omit<StoreConfig, 'storePathRootDir'> = {
  mappedFileSizeCommitLog: 1024 * 1024 * 1024,
  consumeQueueEntriesPerFile: 300_000,
  flushDiskType: 'ASYNC_FLUSH',
  flushIntervalCommitLog: 500,
  syncFlushTimeout: 5000,
  flushIntervalConsumeQueue: 1000,
  fileReservedTime: 72,
  diskMaxUsedSpaceRatio: 75,
  diskSpaceRefuseRatio: 90,
  cleanResourceInterval: 10_000,
  maxMessageSize: 4 * 1024 * 1024,
  maxHashSlotNum: 500_000,
  maxIndexNum: 2_000_000,
  warmMappedFileEnable: false,
  maxPendingSyncAppends: 100_000,
  maxOpenConsumeQueueFiles: 1000,
};
