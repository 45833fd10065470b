/** Public API of the storage engine. Internals (segments, queues, recovery) are not exported. */
export { MessageStore, defaultTagsCodeOf, getMessagesForPull, type MessageStoreOptions } from './message-store.js';
export type {
  AppendInput,
  AppendResult,
  ConsumeQueueEntry,
  FlushStatus,
  GetMessageResult,
  GetMessageStatus,
  MessageArrivedListener,
  MessageFilter,
  MessageStoreApi,
  QueryByKeyResult,
  StoreStats,
} from './types.js';
export { DEFAULT_STORE_CONFIG, type FlushDiskType, type StoreConfig } from './store-config.js';
export type { FileIo } from './file-io.js';
export { nodeFileIo } from './file-io.js';
export type { DiskUsageSource } from './disk-usage.js';
export type { StoreLogger } from './store-logger.js';
export type { RecoveryReport } from './recovery.js';
export type { RetentionReport } from './retention.js';
