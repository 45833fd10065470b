/**
 * TypeScript shapes of the `apache.rocketmq.v2` messages the gateway reads and writes, as
 * @grpc/proto-loader decodes them with PROTO_LOADER_OPTIONS (snake_case names, numbers for enums and
 * int64, null for unset message fields, undefined for unset proto3 `optional` fields). Outgoing objects
 * may leave any field out: protobufjs fills in the defaults. Enum tables are as-const objects with the
 * numbers of definition.proto.
 */

export const ClientType = {
  UNSPECIFIED: 0,
  PRODUCER: 1,
  PUSH_CONSUMER: 2,
  SIMPLE_CONSUMER: 3,
  PULL_CONSUMER: 4,
  LITE_PUSH_CONSUMER: 5,
  LITE_SIMPLE_CONSUMER: 6,
} as const;

export const MessageType = {
  UNSPECIFIED: 0,
  NORMAL: 1,
  FIFO: 2,
  DELAY: 3,
  TRANSACTION: 4,
  LITE: 5,
  PRIORITY: 6,
} as const;

export const Permission = {
  UNSPECIFIED: 0,
  NONE: 1,
  READ: 2,
  WRITE: 3,
  READ_WRITE: 4,
} as const;

export const AddressScheme = {
  UNSPECIFIED: 0,
  IPV4: 1,
  IPV6: 2,
  DOMAIN_NAME: 3,
} as const;

export const DigestType = {
  UNSPECIFIED: 0,
  CRC32: 1,
  MD5: 2,
  SHA1: 3,
} as const;

export const Encoding = {
  UNSPECIFIED: 0,
  IDENTITY: 1,
  GZIP: 2,
} as const;

export const FilterType = {
  UNSPECIFIED: 0,
  TAG: 1,
  SQL: 2,
} as const;

export const TransactionResolution = {
  UNSPECIFIED: 0,
  COMMIT: 1,
  ROLLBACK: 2,
} as const;

export const TransactionSource = {
  UNSPECIFIED: 0,
  CLIENT: 1,
  SERVER_CHECK: 2,
} as const;

export const QueryOffsetPolicy = {
  BEGINNING: 0,
  END: 1,
  TIMESTAMP: 2,
} as const;

export interface Resource {
  resource_namespace?: string;
  name: string;
}

export interface StatusPb {
  code: number;
  message: string;
}

/** google.protobuf.Duration / Timestamp. */
export interface DurationPb {
  seconds: number;
  nanos: number;
}
export type TimestampPb = DurationPb;

export interface AddressPb {
  host: string;
  port: number;
}

export interface EndpointsPb {
  scheme: number;
  addresses: AddressPb[];
}

export interface BrokerPb {
  name: string;
  id: number;
  endpoints: EndpointsPb | null;
}

export interface MessageQueuePb {
  topic: Resource | null;
  id: number;
  permission: number;
  broker: BrokerPb | null;
  accept_message_types: number[];
}

export interface FilterExpressionPb {
  type: number;
  expression: string;
}

export interface DigestPb {
  type: number;
  checksum: string;
}

export interface DeadLetterQueuePb {
  topic: string;
  message_id: string;
}

export interface SystemPropertiesPb {
  tag?: string | undefined;
  keys: string[];
  message_id: string;
  body_digest: DigestPb | null;
  body_encoding: number;
  message_type: number;
  born_timestamp: TimestampPb | null;
  born_host: string;
  store_timestamp?: TimestampPb | undefined;
  store_host: string;
  delivery_timestamp?: TimestampPb | undefined;
  receipt_handle?: string | undefined;
  queue_id: number;
  queue_offset?: number | undefined;
  invisible_duration?: DurationPb | undefined;
  delivery_attempt?: number | undefined;
  message_group?: string | undefined;
  trace_context?: string | undefined;
  orphaned_transaction_recovery_duration?: DurationPb | undefined;
  dead_letter_queue?: DeadLetterQueuePb | undefined;
  lite_topic?: string | undefined;
  priority?: number | undefined;
}

export interface MessagePb {
  topic: Resource | null;
  user_properties: Record<string, string>;
  system_properties: SystemPropertiesPb | null;
  body: Buffer;
}

export interface RetryPolicyPb {
  max_attempts: number;
  exponential_backoff?: { initial: DurationPb | null; max: DurationPb | null; multiplier: number } | null;
  customized_backoff?: { next: DurationPb[] } | null;
  strategy?: 'exponential_backoff' | 'customized_backoff';
}

export interface SubscriptionEntryPb {
  topic: Resource | null;
  expression: FilterExpressionPb | null;
}

export interface PublishingPb {
  topics: Resource[];
  max_body_size: number;
  validate_message_type: boolean;
}

export interface SubscriptionPb {
  group?: Resource | undefined;
  subscriptions: SubscriptionEntryPb[];
  fifo?: boolean | undefined;
  receive_batch_size?: number | undefined;
  long_polling_timeout?: DurationPb | undefined;
  lite_subscription_quota?: number | undefined;
  max_lite_topic_size?: number | undefined;
}

export interface SettingsPb {
  client_type?: number | undefined;
  access_point?: EndpointsPb | undefined;
  backoff_policy?: RetryPolicyPb | undefined;
  request_timeout?: DurationPb | undefined;
  publishing?: PublishingPb | null;
  subscription?: SubscriptionPb | null;
  pub_sub?: 'publishing' | 'subscription';
  user_agent: { language: number; version: string; platform: string; hostname: string } | null;
  metric: { on: boolean; endpoints?: EndpointsPb | undefined } | null;
}

export interface TelemetryCommandPb {
  status?: StatusPb | undefined;
  command?: 'settings' | 'thread_stack_trace' | 'verify_message_result' | 'recover_orphaned_transaction_command'
    | 'print_thread_stack_trace_command' | 'verify_message_command' | 'reconnect_endpoints_command' | 'notify_unsubscribe_lite_command';
  settings?: SettingsPb | null;
  thread_stack_trace?: { nonce: string; thread_stack_trace?: string } | null;
  verify_message_result?: { nonce: string } | null;
  recover_orphaned_transaction_command?: { message: MessagePb | OutgoingMessagePb; transaction_id: string } | null;
}

/** A Message as the gateway writes it (every field optional, bodies as Buffers). */
export interface OutgoingMessagePb {
  topic: Resource;
  user_properties: Record<string, string>;
  system_properties: Partial<SystemPropertiesPb>;
  body: Buffer;
}

export interface QueryRouteRequestPb {
  topic: Resource | null;
  endpoints: EndpointsPb | null;
}

export interface QueryAssignmentRequestPb {
  topic: Resource | null;
  group: Resource | null;
  endpoints: EndpointsPb | null;
}

export interface SendMessageRequestPb {
  messages: MessagePb[];
}

export interface ReceiveMessageRequestPb {
  group: Resource | null;
  message_queue: MessageQueuePb | null;
  filter_expression: FilterExpressionPb | null;
  batch_size: number;
  invisible_duration?: DurationPb | undefined;
  auto_renew: boolean;
  long_polling_timeout?: DurationPb | undefined;
  attempt_id?: string | undefined;
}

export interface AckMessageRequestPb {
  group: Resource | null;
  topic: Resource | null;
  entries: Array<{ message_id: string; receipt_handle: string; lite_topic?: string }>;
}

export interface ChangeInvisibleDurationRequestPb {
  group: Resource | null;
  topic: Resource | null;
  receipt_handle: string;
  invisible_duration: DurationPb | null;
  message_id: string;
  lite_topic?: string | undefined;
  suspend?: boolean | undefined;
}

export interface ForwardMessageToDeadLetterQueueRequestPb {
  group: Resource | null;
  topic: Resource | null;
  receipt_handle: string;
  message_id: string;
  delivery_attempt: number;
  max_delivery_attempts: number;
}

export interface HeartbeatRequestPb {
  group?: Resource | undefined;
  client_type: number;
}

export interface NotifyClientTerminationRequestPb {
  group?: Resource | undefined;
}

export interface EndTransactionRequestPb {
  topic: Resource | null;
  message_id: string;
  transaction_id: string;
  resolution: number;
  source: number;
  trace_context: string;
}

export interface PullMessageRequestPb {
  group: Resource | null;
  message_queue: MessageQueuePb | null;
  offset: number;
  batch_size: number;
  filter_expression: FilterExpressionPb | null;
  long_polling_timeout: DurationPb | null;
}

export interface UpdateOffsetRequestPb {
  group: Resource | null;
  message_queue: MessageQueuePb | null;
  offset: number;
}

export interface GetOffsetRequestPb {
  group: Resource | null;
  message_queue: MessageQueuePb | null;
}

export interface QueryOffsetRequestPb {
  message_queue: MessageQueuePb | null;
  query_offset_policy: number;
  timestamp?: TimestampPb | undefined;
}

export interface RecallMessageRequestPb {
  topic: Resource | null;
  recall_handle: string;
}

/** Milliseconds of a Duration/Timestamp (0 for null). */
export function toMillis(value: DurationPb | null | undefined): number {
  if (!value) return 0;
  return Number(value.seconds) * 1000 + Math.floor(Number(value.nanos) / 1_000_000);
}

export function fromMillis(ms: number): DurationPb {
  const seconds = Math.floor(ms / 1000);
  return { seconds, nanos: (ms - seconds * 1000) * 1_000_000 };
}
