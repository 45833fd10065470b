/**
 * Subscriptions (Java's SubscriptionData) and the HeartbeatData body of HEART_BEAT (34), as the client
 * builds them. A TAG expression is `*` (everything) or tags joined by `||`; the broker filters on the
 * tag's Java hash code, so the client checks the tag string again after a pull (hash codes collide).
 * SQL92 expressions are passed to the broker as they are.
 */
import { javaStringHashCode } from '../common/java-hash.js';
import { ClientStateError } from './client-errors.js';

export const ExpressionType = {
  TAG: 'TAG',
  SQL92: 'SQL92',
} as const;
export type ExpressionType = (typeof ExpressionType)[keyof typeof ExpressionType];

export const SUBSCRIBE_ALL = '*';

export interface SubscriptionData {
  topic: string;
  subString: string;
  tagsSet: string[];
  codeSet: number[];
  subVersion: number;
  expressionType: ExpressionType;
  classFilterMode: boolean;
}

let lastSubVersion = 0;

/** Strictly increasing versions, so a re-subscription is always newer than what the broker has. */
function nextSubVersion(): number {
  const now = Date.now();
  lastSubVersion = now > lastSubVersion ? now : lastSubVersion + 1;
  return lastSubVersion;
}

export function buildSubscription(topic: string, expression: string | undefined, type: ExpressionType = ExpressionType.TAG): SubscriptionData {
  const data: SubscriptionData = {
    topic,
    subString: SUBSCRIBE_ALL,
    tagsSet: [],
    codeSet: [],
    subVersion: nextSubVersion(),
    expressionType: type,
    classFilterMode: false,
  };
  const text = (expression ?? '').trim();
  if (type === ExpressionType.SQL92) {
    if (text === '') throw new ClientStateError('ILLEGAL_ARGUMENT', `SQL92 subscription to ${topic} needs an expression`);
    data.subString = text;
    return data;
  }
  if (text === '' || text === SUBSCRIBE_ALL) return data;
  for (const part of text.split('||')) {
    const tag = part.trim();
    if (tag.length > 0 && !data.tagsSet.includes(tag)) {
      data.tagsSet.push(tag);
      data.codeSet.push(javaStringHashCode(tag));
    }
  }
  if (data.tagsSet.length === 0) return data;
  data.subString = text;
  return data;
}

/** Whether a message with `tags` passes the subscription's tag check (SQL92 is the broker's job). */
export function tagMatches(subscription: SubscriptionData, tags: string | undefined): boolean {
  if (subscription.expressionType !== ExpressionType.TAG || subscription.tagsSet.length === 0) return true;
  return tags !== undefined && subscription.tagsSet.includes(tags);
}

export type ConsumeType = 'CONSUME_ACTIVELY' | 'CONSUME_PASSIVELY';
export type MessageModel = 'CLUSTERING' | 'BROADCASTING';
export type ConsumeFromWhere = 'CONSUME_FROM_LAST_OFFSET' | 'CONSUME_FROM_FIRST_OFFSET' | 'CONSUME_FROM_TIMESTAMP';

export interface ConsumerHeartbeat {
  groupName: string;
  consumeType: ConsumeType;
  messageModel: MessageModel;
  consumeFromWhere: ConsumeFromWhere;
  unitMode: boolean;
  subscriptionDataSet: SubscriptionData[];
}

export interface HeartbeatData {
  clientID: string;
  producerDataSet: { groupName: string }[];
  consumerDataSet: ConsumerHeartbeat[];
}

/** The HEART_BEAT body. Plain JSON: every field is a string, number, boolean or array of them. */
export function encodeHeartbeat(data: HeartbeatData): Buffer {
  return Buffer.from(JSON.stringify(data), 'utf8');
}

/** Java's MixAll.getRetryTopic. */
export function retryTopicOf(group: string): string {
  return `%RETRY%${group}`;
}

export function isRetryTopic(topic: string): boolean {
  return topic.startsWith('%RETRY%');
}
