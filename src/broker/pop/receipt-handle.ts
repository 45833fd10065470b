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
  // Most acks name the topic itself: no prefix strings are built for them.
  if (!topic.startsWith(RETRY_GROUP_TOPIC_PREFIX)) return topic;
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

/**
 * The integer in text[start, end): an optional '-' and 1-16 decimal digits, a safe integer; NaN
 * otherwise. A hand-written scan: acks parse a handle each, and split + RegExp + Number per field
 * was a third of an ack's CPU time.
 */
function integerAt(text: string, start: number, end: number): number {
  let index = start;
  const negative = index < end && text.charCodeAt(index) === 0x2d;
  if (negative) index++;
  const digits = end - index;
  if (digits < 1 || digits > 16) return Number.NaN;
  let value = 0;
  for (; index < end; index++) {
    const digit = text.charCodeAt(index) - 0x30;
    if (digit < 0 || digit > 9) return Number.NaN;
    value = value * 10 + digit;
  }
  // Past 2^53 the sum is no longer exact, but it stays ≥ 2^53, so it is refused here.
  if (!Number.isSafeInteger(value)) return Number.NaN;
  return negative ? -value : value;
}

/** Parses a receipt handle; undefined when it is not one (never throws: handles come from clients). */
export function parseReceiptHandle(text: string): ReceiptHandle | undefined {
  if (typeof text !== 'string' || text.length > 1024) return undefined;
  // Field boundaries: ends[i] is where field i stops (the next space or the end of the text).
  const ends = fieldEnds;
  let fieldCount = 0;
  let position = 0;
  for (;;) {
    const space = text.indexOf(SEPARATOR, position);
    if (fieldCount === 8) return undefined;
    ends[fieldCount++] = space < 0 ? text.length : space;
    if (space < 0) break;
    position = space + 1;
  }
  if (fieldCount !== 7 && fieldCount !== 8) return undefined;
  const ckQueueOffset = integerAt(text, 0, ends[0]!);
  const popTimeMs = integerAt(text, startOf(1), ends[1]!);
  const invisibleTimeMs = integerAt(text, startOf(2), ends[2]!);
  const reviveQueueId = integerAt(text, startOf(3), ends[3]!);
  const queueId = integerAt(text, startOf(6), ends[6]!);
  const queueOffset = fieldCount === 8 ? integerAt(text, startOf(7), ends[7]!) : -1;
  if (!(ckQueueOffset >= 0) || !(popTimeMs >= 0) || !(invisibleTimeMs >= 0) || Number.isNaN(reviveQueueId) || !(queueId >= 0)) return undefined;
  if (Number.isNaN(queueOffset) || (fieldCount === 8 && queueOffset < 0)) return undefined;
  const flagStart = startOf(4);
  if (ends[4]! - flagStart !== 1) return undefined;
  const retryFlag = retryFlagOfCode(text.charCodeAt(flagStart));
  if (retryFlag === undefined) return undefined;
  const brokerName = text.slice(startOf(5), ends[5]!);
  return { ckQueueOffset, popTimeMs, invisibleTimeMs, reviveQueueId, retryFlag, brokerName, queueId, queueOffset };
}

/** Scratch for parseReceiptHandle (synchronous, so one array serves every call). */
const fieldEnds = new Int32Array(8);

function startOf(field: number): number {
  return field === 0 ? 0 : fieldEnds[field - 1]! + 1;
}

function retryFlagOfCode(code: number): RetryFlag | undefined {
  switch (code) {
    case 0x30:
      return RetryFlag.NORMAL;
    case 0x31:
      return RetryFlag.RETRY_V1;
    case 0x32:
      return RetryFlag.RETRY_V2;
    default:
      return undefined;
  }
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
