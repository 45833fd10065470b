/**
 * Message property keys gRPC clients may not set as user properties and never get back as user
 * properties: RocketMQ's MessageConst.STRING_HASH_SET, plus the keys the gateway itself maps to
 * system properties (`__SHARDINGKEY` ↔ message_group, `TRACE_CONTEXT` ↔ trace_context) and the
 * transaction bookkeeping keys, which the Java proxy lets through but which would confuse the broker.
 */
export const RESERVED_PROPERTY_KEYS: ReadonlySet<string> = new Set([
  'TRACE_ON', 'MSG_REGION', 'KEYS', 'TAGS', 'WAIT', 'DELAY', 'RETRY_TOPIC', 'REAL_TOPIC', 'REAL_QID',
  'TRAN_MSG', 'PGROUP', 'MIN_OFFSET', 'MAX_OFFSET', 'BUYER_ID', 'ORIGIN_MESSAGE_ID', 'TRANSFER_FLAG',
  'CORRECTION_FLAG', 'MQ2_FLAG', 'RECONSUME_TIME', 'UNIQ_KEY', 'MAX_RECONSUME_TIMES', 'CONSUME_START_TIME',
  'POP_CK', 'POP_CK_OFFSET', '1ST_POP_TIME', 'TRAN_PREPARED_QUEUE_OFFSET', 'DUP_INFO', 'EXTEND_UNIQ_INFO',
  'INSTANCE_ID', 'CORRELATION_ID', 'REPLY_TO_CLIENT', 'TTL', 'ARRIVE_TIME', 'PUSH_REPLY_TIME', 'CLUSTER',
  'MSG_TYPE', 'INNER_MULTI_QUEUE_OFFSET', 'TIMER_DELAY_MS', 'TIMER_DELAY_SEC', 'TIMER_DELIVER_MS',
  'TIMER_ENQUEUE_MS', 'TIMER_DEQUEUE_MS', 'TIMER_ROLL_TIMES', 'TIMER_OUT_MS', 'TIMER_DEL_UNIQKEY',
  'TIMER_DELAY_LEVEL', '__BORNHOST', 'BORN_TIMESTAMP', 'DLQ_ORIGIN_TOPIC', 'DLQ_ORIGIN_MESSAGE_ID', '__CRC32#',
  // Mapped to system properties or used by the broker's transaction and retry bookkeeping.
  '__SHARDINGKEY', 'TRACE_CONTEXT', '__transactionId__', 'CHECK_IMMUNITY_TIME_IN_SECONDS',
  'TRANSACTION_CHECK_TIMES', 'INNER_NUM', 'INNER_BASE', 'INNER_MULTI_DISPATCH', 'REDIRECT',
  'PROPERTY_FORWARD_QUEUE_ID',
]);

/** Keys the gateway reads or writes (names as in RocketMQ's MessageConst). */
export const GatewayProperty = {
  BORN_HOST: '__BORNHOST',
  BORN_TIMESTAMP: 'BORN_TIMESTAMP',
  TRACE_CONTEXT: 'TRACE_CONTEXT',
  PRODUCER_GROUP: 'PGROUP',
} as const;

/** Topic attribute holding the accepted message type (TopicConfig#getTopicMessageType). */
export const MESSAGE_TYPE_ATTRIBUTE = 'message.type';

/** RocketMQ's TopicMessageType. */
export const TopicMessageType = {
  UNSPECIFIED: 'UNSPECIFIED',
  NORMAL: 'NORMAL',
  FIFO: 'FIFO',
  DELAY: 'DELAY',
  TRANSACTION: 'TRANSACTION',
  MIXED: 'MIXED',
} as const;
export type TopicMessageType = (typeof TopicMessageType)[keyof typeof TopicMessageType];

/** The type a topic accepts: its `message.type` attribute, NORMAL when absent. */
export function topicMessageTypeOf(attributes: Readonly<Record<string, string>> | undefined): TopicMessageType {
  const value = attributes?.[MESSAGE_TYPE_ATTRIBUTE];
  if (value === undefined) return TopicMessageType.NORMAL;
  return (Object.values(TopicMessageType) as string[]).includes(value) ? (value as TopicMessageType) : TopicMessageType.UNSPECIFIED;
}

/** The type of a message from its properties (TopicMessageType#parseFromMessageProperty). */
export function messageTypeOfProperties(properties: ReadonlyMap<string, string>): TopicMessageType {
  if (properties.get('TRAN_MSG') === 'true') return TopicMessageType.TRANSACTION;
  if (properties.has('DELAY') || properties.has('TIMER_DELIVER_MS') || properties.has('TIMER_DELAY_SEC') || properties.has('TIMER_DELAY_MS')) {
    return TopicMessageType.DELAY;
  }
  if (properties.has('__SHARDINGKEY')) return TopicMessageType.FIFO;
  return TopicMessageType.NORMAL;
}
