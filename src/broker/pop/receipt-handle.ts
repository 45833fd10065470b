/**
 * The POP receipt handle and the answer-header strings a Java remoting client builds it from.
 *
 * A receipt handle (RocketMQ's `extraInfo`, kept by the Java client in the property `POP_CK`) is seven
 * or eight fields separated by one space:
 *
 *   ckQueueOffset popTime invisibleTime reviveQid retryFlag brokerName queueId [msgQueueOffset]
 *
 * - ckQueueOffset: the queue offset the pop that handed the message out started at (its checkpoint),
 * - popTime / invisibleTime: ms; the message comes back at popTime + invisibleTime unless acked,
 * - reviveQid: 0 for a normal pop, 999 for a FIFO (orderly) pop,
 * - retryFlag: which topic the message really sits in: 0 = the topic itself, 1 = the pop retry topic
 *   `%RETRY%{group}_{topic}`, 2 = `%RETRY%{group}+{topic}` (RocketMQ's optional "V2" name, parsed only),
 * - msgQueueOffset: the queue offset of the message itself.
 *
 * The POP_MESSAGE answer carries, per queue and separated by `;`: startOffsetInfo `retryFlag queueId
 * startOffset`, msgOffsetInfo `retryFlag queueId o1,o2,...` and, for FIFO pops, orderCountInfo entries
 * `retryFlag qo{queueId}%{offset} count` plus `retryFlag queueId minCount` (the older form). The
 * client matches each message to its queue's entry by retryFlag and queueId, and the offsets by order.
 */
import { RETRY_GROUP_TOPIC_PREFIX } from '../topic-names.js';

/** RocketMQ's KeyBuilder.POP_ORDER_REVIVE_QUEUE: the reviveQid that marks a FIFO pop's handle. */
export const POP_ORDER_REVIVE_QUEUE_ID = 999;
/** The reviveQid of normal pops (TideMQ keeps no revive topic, so it is always 0). */
export const POP_REVIVE_QUEUE_ID = 0;

export const RetryFlag = {
  NORMAL: '0',
  RETRY_V1: '1',
  RETRY_V2: '2',
} as const;
export type RetryFlag = (typeof RetryFlag)[keyof typeof RetryFlag];

const SEPARATOR = ' ';

/** `%RETRY%{group}_{topic}`: where un-acked messages of a POP group go back to (RocketMQ 5.3's default form). */
export function popRetryTopicOf(group: string, topic: string): string {
  return `${RETRY_GROUP_TOPIC_PREFIX}${group}_${topic}`;
}

function popRetryTopicV2Of(group: string, topic: string): string {
  return `${RETRY_GROUP_TOPIC_PREFIX}${group}+${topic}`;
}

/** The retry flag of the topic a message sits in. */
export function retryFlagOfTopic(topic: string): RetryFlag {
  if (!topic.startsWith(RETRY_GROUP_TOPIC_PREFIX)) return RetryFlag.NORMAL;
  return topic.includes('+') ? RetryFlag.RETRY_V2 : RetryFlag.RETRY_V1;
}

/** The topic a handle's message sits in, from the client's topic and the handle's retry flag. */
export function realTopicOf(topic: string, group: string, retryFlag: string): string | undefined {
  switch (retryFlag) {
    case RetryFlag.NORMAL:
      return topic;
    case RetryFlag.RETRY_V1:
      return popRetryTopicOf(group, topic);
    case RetryFlag.RETRY_V2:
      return popRetryTopicV2Of(group, topic);
    default:
      return undefined;
  }
}

/**
 * The client's topic for a topic a remoting ack names: Java clients ack retry messages with the
 * retry topic (`%RETRY%{group}_{topic}`), gRPC callers with the original one.
 */
export function originalTopicOf(topic: string, group: string): string {
  for (const prefix of [`${RETRY_GROUP_TOPIC_PREFIX}${group}_`, `${RETRY_GROUP_TOPIC_PREFIX}${group}+`]) {
    if (topic.startsWith(prefix) && topic.length > prefix.length) return topic.slice(prefix.length);
  }
  return topic;
}

export interface ReceiptHandle {
  ckQueueOffset: number;
  popTimeMs: number;
  invisibleTimeMs: number;
  reviveQueueId: number;
  retryFlag: RetryFlag;
  brokerName: string;
  queueId: number;
  /** -1 when the handle has only seven fields (then the ack header's offset names the message). */
  queueOffset: number;
}

export function buildReceiptHandle(handle: ReceiptHandle): string {
  let text = `${handle.ckQueueOffset} ${handle.popTimeMs} ${handle.invisibleTimeMs} ${handle.reviveQueueId} ${handle.retryFlag} ${handle.brokerName} ${handle.queueId}`;
  if (handle.queueOffset >= 0) text += ` ${handle.queueOffset}`;
  return text;
}

function integerField(text: string | undefined): number | undefined {
  if (text === undefined || !/^-?\d{1,16}$/.test(text)) return undefined;
  const value = Number(text);
  return Number.isSafeInteger(value) ? value : undefined;
}

/** Parses a receipt handle; undefined when it is not one (never throws: handles come from clients). */
export function parseReceiptHandle(text: string): ReceiptHandle | undefined {
  if (typeof text !== 'string' || text.length > 1024) return undefined;
  const fields = text.split(SEPARATOR);
  if (fields.length !== 7 && fields.length !== 8) return undefined;
  const ckQueueOffset = integerField(fields[0]);
  const popTimeMs = integerField(fields[1]);
  const invisibleTimeMs = integerField(fields[2]);
  const reviveQueueId = integerField(fields[3]);
  const retryFlag = fields[4];
  const brokerName = fields[5]!;
  const queueId = integerField(fields[6]);
  const queueOffset = fields.length === 8 ? integerField(fields[7]) : -1;
  if (ckQueueOffset === undefined || ckQueueOffset < 0 || popTimeMs === undefined || popTimeMs < 0) return undefined;
  if (invisibleTimeMs === undefined || invisibleTimeMs < 0 || reviveQueueId === undefined || queueId === undefined || queueId < 0) return undefined;
  if (queueOffset === undefined || (fields.length === 8 && queueOffset < 0)) return undefined;
  if (retryFlag !== RetryFlag.NORMAL && retryFlag !== RetryFlag.RETRY_V1 && retryFlag !== RetryFlag.RETRY_V2) return undefined;
  return { ckQueueOffset, popTimeMs, invisibleTimeMs, reviveQueueId, retryFlag, brokerName, queueId, queueOffset };
}

/**
 * Builds the three per-queue answer strings of POP_MESSAGE. One entry per (retry flag, queue id):
 * RocketMQ's client refuses duplicates, so a pop looks at each queue at most once.
 */
export class PopAnswerInfo {
  private readonly startOffsets: string[] = [];
  private readonly messageOffsets: string[] = [];
  private readonly orderCounts: string[] = [];

  addQueue(topic: string, queueId: number, startOffset: number, queueOffsets: readonly number[]): void {
    const flag = retryFlagOfTopic(topic);
    this.startOffsets.push(`${flag} ${queueId} ${startOffset}`);
    this.messageOffsets.push(`${flag} ${queueId} ${queueOffsets.join(',')}`);
  }

  /** FIFO: the attempts so far of each message (by offset), and the smallest one by queue id. */
  addOrderCounts(topic: string, queueId: number, queueOffsets: readonly number[], counts: readonly number[]): void {
    const flag = retryFlagOfTopic(topic);
    let minCount = Number.MAX_SAFE_INTEGER;
    for (let index = 0; index < queueOffsets.length; index++) {
      const count = counts[index]!;
      if (count > 0) this.orderCounts.push(`${flag} qo${queueId}%${queueOffsets[index]} ${count}`);
      minCount = Math.min(minCount, count);
    }
    this.orderCounts.push(`${flag} ${queueId} ${queueOffsets.length === 0 ? 0 : minCount}`);
  }

  get startOffsetInfo(): string {
    return this.startOffsets.join(';');
  }

  get msgOffsetInfo(): string {
    return this.messageOffsets.join(';');
  }

  get orderCountInfo(): string {
    return this.orderCounts.join(';');
  }
}
