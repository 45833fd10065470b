/**
 * Subscriptions (RocketMQ's SubscriptionData), the HeartbeatData body of HEART_BEAT (34), and the TAG
 * filter the pull path applies. A TAG expression is `*` (everything) or tags joined by `||`; the consume
 * queue holds Java `String.hashCode` of each message's tag, so the cheap check compares hash codes and
 * the exact check compares the tag string of the record (hash codes collide: "Aa" and "BB"). A SQL92
 * subscription keeps its expression as written; filter/subscription-filter.ts compiles it.
 */
import { TideError } from '../common/errors.js';
import { javaStringHashCode } from '../common/java-hash.js';
import { getProperty, MessageProperty } from '../protocol/message-properties.js';
import type { MessageFilter } from '../store/types.js';
import { readRecordProperties } from './filter/record-properties.js';

export const ExpressionType = {
  TAG: 'TAG',
  SQL92: 'SQL92',
} as const;

export const SUBSCRIBE_ALL = '*';

export interface SubscriptionData {
  topic: string;
  subString: string;
  tagsSet: string[];
  codeSet: number[];
  subVersion: number;
  expressionType: string;
  classFilterMode: boolean;
}

export function isTagType(expressionType: string | undefined): boolean {
  return expressionType === undefined || expressionType === '' || expressionType === ExpressionType.TAG;
}

/** Builds a subscription the way Java's FilterAPI does: blank or `*` subscribes to everything. */
export function buildSubscriptionData(topic: string, subString: string | undefined, expressionType?: string, subVersion = Date.now()): SubscriptionData {
  const type = expressionType === undefined || expressionType === '' ? ExpressionType.TAG : expressionType;
  // A SQL92 expression is kept as written (an empty one is malformed, not "everything").
  const data: SubscriptionData = { topic, subString: subString ?? (isTagType(type) ? SUBSCRIBE_ALL : ''), tagsSet: [], codeSet: [], subVersion, expressionType: type, classFilterMode: false };
  if (!isTagType(type)) return data;
  const expression = (subString ?? '').trim();
  if (expression === '' || expression === SUBSCRIBE_ALL) {
    data.subString = SUBSCRIBE_ALL;
    return data;
  }
  for (const part of expression.split('||')) {
    const tag = part.trim();
    if (tag.length > 0 && !data.tagsSet.includes(tag)) {
      data.tagsSet.push(tag);
      data.codeSet.push(javaStringHashCode(tag));
    }
  }
  return data;
}

/** The store filter for a TAG subscription; undefined = deliver everything. */
export function createTagFilter(subscription: SubscriptionData | undefined): MessageFilter | undefined {
  if (!subscription || subscription.classFilterMode || !isTagType(subscription.expressionType)) return undefined;
  if (subscription.subString === SUBSCRIBE_ALL) return undefined;
  const codes = new Set(subscription.codeSet.length > 0 ? subscription.codeSet : subscription.tagsSet.map(javaStringHashCode));
  const tags = new Set(subscription.tagsSet);
  return {
    matchesTagsCode: (tagsCode: number) => codes.has(tagsCode),
    matchesRecord: (record: Buffer) => {
      const properties = readRecordProperties(record);
      if (properties === null) return false;
      const tag = getProperty(properties, MessageProperty.TAGS);
      return tag !== undefined && tags.has(tag);
    },
  };
}

export interface ProducerData {
  groupName: string;
}

export interface ConsumerData {
  groupName: string;
  consumeType: string;
  messageModel: string;
  consumeFromWhere: string;
  unitMode: boolean;
  subscriptionDataSet: SubscriptionData[];
}

export interface HeartbeatData {
  clientID: string;
  producerDataSet: ProducerData[];
  consumerDataSet: ConsumerData[];
  heartbeatFingerprint: number;
  withoutSub: boolean;
}

function invalid(message: string): TideError {
  return new TideError('INVALID_PARAMETER', `heartbeat body: ${message}`);
}

function stringField(record: Record<string, unknown>, key: string, fallback?: string): string {
  const value = record[key];
  if (typeof value === 'string' && value.length > 0) return value;
  if (fallback !== undefined && (value === undefined || value === null)) return fallback;
  throw invalid(`field ${key} must be a non-empty string`);
}

function arrayField(record: Record<string, unknown>, key: string): unknown[] {
  const value = record[key];
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw invalid(`field ${key} must be an array`);
  return value;
}

export function parseSubscriptionData(value: unknown): SubscriptionData {
  if (typeof value !== 'object' || value === null) throw invalid('a subscription must be an object');
  const record = value as Record<string, unknown>;
  const topic = stringField(record, 'topic');
  const expressionType = typeof record.expressionType === 'string' ? record.expressionType : ExpressionType.TAG;
  const subVersion = Number(record.subVersion ?? 0);
  const built = buildSubscriptionData(topic, typeof record.subString === 'string' ? record.subString : undefined, expressionType, Number.isFinite(subVersion) ? subVersion : 0);
  // Keep the client's own tag and code sets when it sent them: they are what it filters by.
  const tagsSet = arrayField(record, 'tagsSet').filter((tag): tag is string => typeof tag === 'string');
  const codeSet = arrayField(record, 'codeSet').map(Number).filter((code) => Number.isInteger(code));
  if (isTagType(expressionType) && built.subString !== SUBSCRIBE_ALL && tagsSet.length > 0) {
    built.tagsSet = tagsSet;
    built.codeSet = codeSet.length === tagsSet.length ? codeSet : tagsSet.map(javaStringHashCode);
  }
  built.classFilterMode = record.classFilterMode === true;
  return built;
}

/** Parses and validates a HeartbeatData JSON body; throws INVALID_PARAMETER on a bad shape. */
export function parseHeartbeatData(body: Buffer | undefined): HeartbeatData {
  if (!body || body.length === 0) throw invalid('missing');
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    throw invalid('not valid JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw invalid('must be a JSON object');
  const record = parsed as Record<string, unknown>;
  const clientID = stringField(record, 'clientID');
  const producerDataSet = arrayField(record, 'producerDataSet').map((entry): ProducerData => {
    if (typeof entry !== 'object' || entry === null) throw invalid('producerDataSet entries must be objects');
    return { groupName: stringField(entry as Record<string, unknown>, 'groupName') };
  });
  const consumerDataSet = arrayField(record, 'consumerDataSet').map((entry): ConsumerData => {
    if (typeof entry !== 'object' || entry === null) throw invalid('consumerDataSet entries must be objects');
    const consumer = entry as Record<string, unknown>;
    return {
      groupName: stringField(consumer, 'groupName'),
      consumeType: stringField(consumer, 'consumeType', 'CONSUME_PASSIVELY'),
      messageModel: stringField(consumer, 'messageModel', 'CLUSTERING'),
      consumeFromWhere: stringField(consumer, 'consumeFromWhere', 'CONSUME_FROM_LAST_OFFSET'),
      unitMode: consumer.unitMode === true,
      subscriptionDataSet: arrayField(consumer, 'subscriptionDataSet').map(parseSubscriptionData),
    };
  });
  const fingerprint = Number(record.heartbeatFingerprint ?? 0);
  return {
    clientID,
    producerDataSet,
    consumerDataSet,
    heartbeatFingerprint: Number.isFinite(fingerprint) ? fingerprint : 0,
    withoutSub: record.withoutSub === true,
  };
}
