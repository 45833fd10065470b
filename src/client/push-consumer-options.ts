/**
 * The push consumer's options, their defaults (RocketMQ's, reference §5) and the resolved settings
 * the consumer runs with.
 */
import type { AllocateStrategy, AllocateStrategyName } from './allocate-strategies.js';
import type { ClientOptions } from './client-options.js';
import type { ConsumeFromWhere, MessageModel } from './subscription.js';

export interface PushConsumerOptions extends ClientOptions {
  group: string;
  /** Default CLUSTERING. */
  messageModel?: MessageModel;
  /** One message at a time per queue, holding the queue's broker lock. Default false. */
  orderly?: boolean;
  /** Where a group without a stored offset starts. Default CONSUME_FROM_LAST_OFFSET. */
  consumeFromWhere?: ConsumeFromWhere;
  /** For CONSUME_FROM_TIMESTAMP; default 30 minutes ago. */
  consumeTimestamp?: number | Date;
  /**
   * Default true, as Java: a broker answers offset 0 to a new group whose queue still has its first
   * message in memory, so a new group reads a young topic from its start. false makes
   * consumeFromWhere decide for every new group.
   */
  setZeroIfNotFound?: boolean;
  /** Default AVERAGE. */
  allocateStrategy?: AllocateStrategyName | AllocateStrategy;
  /** brokerName → zone, overriding the zones the routes carry (NEARBY_ZONE). */
  brokerZones?: Readonly<Record<string, string>>;
  /** Handler calls running at once (concurrent mode) / messages buffered for the iterator. Default 20. */
  concurrency?: number;
  /** Messages per pull. Default 32. */
  pullBatchSize?: number;
  /** Pulling pauses while a queue caches this many unconsumed messages. Default 1000. */
  pullThresholdForQueue?: number;
  /** … or this many body bytes. Default 100 MiB. */
  pullThresholdSizeForQueueBytes?: number;
  /** … or (concurrent mode) an offset span this wide. Default 2000. */
  consumeConcurrentlyMaxSpan?: number;
  /** Retries before the dead-letter queue. Default 16 (concurrent), unlimited (orderly). */
  maxReconsumeTimes?: number;
  /** Orderly: pause after a failure before retrying. Default 1000 ms. */
  suspendCurrentQueueTimeMs?: number;
  /** Default 20 000 ms. */
  rebalanceIntervalMs?: number;
  /** Default 5000 ms. */
  persistOffsetIntervalMs?: number;
  /** Orderly: lock renewal. Default 20 000 ms. */
  lockRenewIntervalMs?: number;
  /** Orderly: a lock not renewed for this long is treated as lost. Default 30 000 ms. */
  lockMaxLiveTimeMs?: number;
  /** How long the broker may hold a pull with nothing to return. Default 15 000 ms. */
  pullSuspendMs?: number;
  /** Timeout of a long-polling pull. Default 30 000 ms. */
  pullTimeoutMs?: number;
  /** Pause after a failed pull. Default 1000 ms. */
  pullRetryDelayMs?: number;
  /** Local retry when a failed message can be handed back to no broker. Default 5000 ms. */
  retryLocallyDelayMs?: number;
  /** How long a rebalance waits for running handlers of a queue before handing it over. Default 10 000 ms. */
  handoverTimeoutMs?: number;
  /** Broadcasting: where offsets are kept. Default ~/.tidemq_offsets. */
  offsetStoreDir?: string;
}

export type PushSettings = Required<
  Omit<PushConsumerOptions, keyof ClientOptions | 'group' | 'messageModel' | 'orderly' | 'consumeTimestamp' | 'allocateStrategy' | 'brokerZones' | 'offsetStoreDir' | 'setZeroIfNotFound'>
> & {
  consumeTimestampMs: number;
};

export function resolvePushSettings(options: PushConsumerOptions, orderly: boolean): PushSettings {
  const timestamp = options.consumeTimestamp ?? Date.now() - 30 * 60_000;
  return {
    consumeFromWhere: options.consumeFromWhere ?? 'CONSUME_FROM_LAST_OFFSET',
    consumeTimestampMs: typeof timestamp === 'number' ? timestamp : timestamp.getTime(),
    concurrency: options.concurrency ?? 20,
    pullBatchSize: options.pullBatchSize ?? 32,
    pullThresholdForQueue: options.pullThresholdForQueue ?? 1000,
    pullThresholdSizeForQueueBytes: options.pullThresholdSizeForQueueBytes ?? 100 * 1024 * 1024,
    consumeConcurrentlyMaxSpan: options.consumeConcurrentlyMaxSpan ?? 2000,
    maxReconsumeTimes: options.maxReconsumeTimes ?? (orderly ? Number.POSITIVE_INFINITY : 16),
    suspendCurrentQueueTimeMs: options.suspendCurrentQueueTimeMs ?? 1000,
    rebalanceIntervalMs: options.rebalanceIntervalMs ?? 20_000,
    persistOffsetIntervalMs: options.persistOffsetIntervalMs ?? 5000,
    lockRenewIntervalMs: options.lockRenewIntervalMs ?? 20_000,
    lockMaxLiveTimeMs: options.lockMaxLiveTimeMs ?? 30_000,
    pullSuspendMs: options.pullSuspendMs ?? 15_000,
    pullTimeoutMs: options.pullTimeoutMs ?? 30_000,
    pullRetryDelayMs: options.pullRetryDelayMs ?? 1000,
    retryLocallyDelayMs: options.retryLocallyDelayMs ?? 5000,
    handoverTimeoutMs: options.handoverTimeoutMs ?? 10_000,
  };
}
