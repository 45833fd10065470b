/** Names of RocketMQ's system topics and groups, and the retry/DLQ naming rules. */
export const SystemTopic = {
  AUTO_CREATE: 'TBW102',
  SCHEDULE: 'SCHEDULE_TOPIC_XXXX',
  SELF_TEST: 'SELF_TEST_TOPIC',
  OFFSET_MOVED_EVENT: 'OFFSET_MOVED_EVENT',
  TRANS_HALF: 'RMQ_SYS_TRANS_HALF_TOPIC',
  TRANS_OP_HALF: 'RMQ_SYS_TRANS_OP_HALF_TOPIC',
  TRANS_CHECK_MAX_TIME: 'TRANS_CHECK_MAX_TIME_TOPIC',
  TRACE: 'RMQ_SYS_TRACE_TOPIC',
  BENCHMARK: 'BenchmarkTest',
} as const;

export const SYSTEM_TOPIC_PREFIX = 'rmq_sys_';
export const RETRY_GROUP_TOPIC_PREFIX = '%RETRY%';
export const DLQ_GROUP_TOPIC_PREFIX = '%DLQ%';

/** Topics clients may not send to directly (RocketMQ's NOT_ALLOWED_SEND_TOPIC_SET). */
const NOT_ALLOWED_SEND_TOPICS: ReadonlySet<string> = new Set([
  SystemTopic.SCHEDULE,
  SystemTopic.TRANS_HALF,
  SystemTopic.TRANS_OP_HALF,
  SystemTopic.TRANS_CHECK_MAX_TIME,
  SystemTopic.SELF_TEST,
  SystemTopic.OFFSET_MOVED_EVENT,
]);

export function isNotAllowedSendTopic(topic: string): boolean {
  return NOT_ALLOWED_SEND_TOPICS.has(topic);
}

export function retryTopicOf(group: string): string {
  return RETRY_GROUP_TOPIC_PREFIX + group;
}

export function dlqTopicOf(group: string): string {
  return DLQ_GROUP_TOPIC_PREFIX + group;
}

export function isRetryTopic(topic: string): boolean {
  return topic.startsWith(RETRY_GROUP_TOPIC_PREFIX);
}

export function isDlqTopic(topic: string): boolean {
  return topic.startsWith(DLQ_GROUP_TOPIC_PREFIX);
}

/** The group of `%RETRY%group` / `%DLQ%group`. */
export function groupOfRetryTopic(topic: string): string {
  if (isRetryTopic(topic)) return topic.slice(RETRY_GROUP_TOPIC_PREFIX.length);
  if (isDlqTopic(topic)) return topic.slice(DLQ_GROUP_TOPIC_PREFIX.length);
  return topic;
}
