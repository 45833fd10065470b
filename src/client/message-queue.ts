/**
 * A message queue as RocketMQ names it: (topic, brokerName, queueId). Queues are sorted by topic,
 * then broker name, then queue id, the order every allocation strategy assumes, and keyed by a
 * string for maps.
 */

export interface MessageQueue {
  readonly topic: string;
  readonly brokerName: string;
  readonly queueId: number;
}

export function messageQueue(topic: string, brokerName: string, queueId: number): MessageQueue {
  return { topic, brokerName, queueId };
}

/** A map key; `\u0000` cannot occur in topic or broker names. */
export function queueKey(queue: MessageQueue): string {
  return `${queue.topic}\u0000${queue.brokerName}\u0000${queue.queueId}`;
}

export function compareQueues(left: MessageQueue, right: MessageQueue): number {
  if (left.topic !== right.topic) return left.topic < right.topic ? -1 : 1;
  if (left.brokerName !== right.brokerName) return left.brokerName < right.brokerName ? -1 : 1;
  return left.queueId - right.queueId;
}

export function sameQueue(left: MessageQueue, right: MessageQueue): boolean {
  return left.queueId === right.queueId && left.brokerName === right.brokerName && left.topic === right.topic;
}

/** `topic@brokerName#queueId`, for logs. */
export function queueToString(queue: MessageQueue): string {
  return `${queue.topic}@${queue.brokerName}#${queue.queueId}`;
}

/** The plain JSON object Java's MessageQueue serialises to (fields sorted as fastjson writes them). */
export function queueToJson(queue: MessageQueue): { brokerName: string; queueId: number; topic: string } {
  return { brokerName: queue.brokerName, queueId: queue.queueId, topic: queue.topic };
}

/** Reads a MessageQueue from parsed JSON; undefined when a field is missing or has the wrong type. */
export function queueFromJson(value: unknown): MessageQueue | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  const record = value as Record<string, unknown>;
  const queueId = typeof record.queueId === 'string' ? Number(record.queueId) : record.queueId;
  if (typeof record.topic !== 'string' || typeof record.brokerName !== 'string' || typeof queueId !== 'number' || !Number.isInteger(queueId)) {
    return undefined;
  }
  return { topic: record.topic, brokerName: record.brokerName, queueId };
}
