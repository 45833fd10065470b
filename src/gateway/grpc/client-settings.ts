/**
 * The Settings a client reports on its Telemetry stream, and the merged Settings the gateway answers
 * with at once (the Node client waits for that answer, without a timeout, before it starts). The
 * server-owned fields follow the RocketMQ proxy (GrpcClientSettingsManager):
 * - producers: backoff_policy = 3 attempts, exponential 10 ms → 1 s ×2 (the Node client asserts an
 *   exponential strategy); publishing.max_body_size = the broker's maxMessageSize (0 would make the
 *   client refuse every send); validate_message_type on;
 * - push/simple consumers: receive_batch_size 32, long_polling_timeout 20 s, fifo = the group's
 *   consumeMessageOrderly, backoff_policy.max_attempts = the group's retryMaxTimes + 1, and the
 *   group's retry policy (EXPONENTIAL → exponential_backoff, otherwise the customized list);
 * - metric off.
 */
import type { SubscriptionGroupConfig } from '../../broker/subscription-group-manager.js';
import { ClientType, fromMillis, type RetryPolicyPb, type SettingsPb } from './proto-types.js';

export interface SettingsPolicy {
  maxMessageSizeBytes: number;
  producerMaxAttempts: number;
  producerBackoffInitialMs: number;
  producerBackoffMaxMs: number;
  producerBackoffMultiplier: number;
  consumerReceiveBatchSize: number;
  consumerLongPollingTimeoutMs: number;
}

export const DEFAULT_SETTINGS_POLICY: Omit<SettingsPolicy, 'maxMessageSizeBytes'> = {
  producerMaxAttempts: 3,
  producerBackoffInitialMs: 10,
  producerBackoffMaxMs: 1000,
  producerBackoffMultiplier: 2,
  consumerReceiveBatchSize: 32,
  consumerLongPollingTimeoutMs: 20_000,
};

/** RocketMQ's CustomizedRetryPolicy default: 1s 5s 10s 30s 1m 2m ... 10m 20m 30m 1h 2h. */
const DEFAULT_CUSTOMIZED_NEXT_MS = [
  1_000, 5_000, 10_000, 30_000, 60_000, 120_000, 180_000, 240_000, 300_000, 360_000, 420_000, 480_000,
  540_000, 600_000, 1_200_000, 1_800_000, 3_600_000, 7_200_000,
];

/** RocketMQ's ExponentialRetryPolicy defaults. */
const DEFAULT_EXPONENTIAL = { initial: 5_000, max: 7_200_000, multiplier: 2 };

function positiveNumber(value: unknown, fallback: number): number {
  const number = Number(value);
  return Number.isFinite(number) && number > 0 ? number : fallback;
}

export function consumerRetryPolicy(group: SubscriptionGroupConfig): RetryPolicyPb {
  const policy = group.groupRetryPolicy ?? { type: 'CUSTOMIZED' };
  const maxAttempts = group.retryMaxTimes + 1;
  if (String(policy.type).toUpperCase() === 'EXPONENTIAL') {
    const exponential = (policy.exponentialRetryPolicy ?? {}) as Record<string, unknown>;
    return {
      max_attempts: maxAttempts,
      exponential_backoff: {
        initial: fromMillis(positiveNumber(exponential.initial, DEFAULT_EXPONENTIAL.initial)),
        max: fromMillis(positiveNumber(exponential.max, DEFAULT_EXPONENTIAL.max)),
        multiplier: positiveNumber(exponential.multiplier, DEFAULT_EXPONENTIAL.multiplier),
      },
    };
  }
  const customized = (policy.customizedRetryPolicy ?? {}) as Record<string, unknown>;
  const next = Array.isArray(customized.next) && customized.next.length > 0
    ? customized.next.map((value) => positiveNumber(value, 1000)).slice(0, 64)
    : DEFAULT_CUSTOMIZED_NEXT_MS;
  return { max_attempts: maxAttempts, customized_backoff: { next: next.map(fromMillis) } };
}

export function isConsumerType(clientType: number | undefined): boolean {
  return clientType === ClientType.PUSH_CONSUMER || clientType === ClientType.SIMPLE_CONSUMER;
}

/** The Settings to answer a producer with. */
export function mergeProducerSettings(raw: SettingsPb, policy: SettingsPolicy): SettingsPb {
  return {
    ...raw,
    backoff_policy: {
      max_attempts: policy.producerMaxAttempts,
      exponential_backoff: {
        initial: fromMillis(policy.producerBackoffInitialMs),
        max: fromMillis(policy.producerBackoffMaxMs),
        multiplier: policy.producerBackoffMultiplier,
      },
    },
    publishing: {
      topics: raw.publishing?.topics ?? [],
      max_body_size: policy.maxMessageSizeBytes,
      validate_message_type: true,
    },
    metric: { on: false },
  };
}

/** The Settings to answer a push or simple consumer with. */
export function mergeConsumerSettings(raw: SettingsPb, group: SubscriptionGroupConfig, policy: SettingsPolicy): SettingsPb {
  return {
    ...raw,
    backoff_policy: consumerRetryPolicy(group),
    subscription: {
      ...(raw.subscription ?? { subscriptions: [] }),
      receive_batch_size: policy.consumerReceiveBatchSize,
      long_polling_timeout: fromMillis(policy.consumerLongPollingTimeoutMs),
      fifo: group.consumeMessageOrderly,
    },
    metric: { on: false },
  };
}
