/**
 * Turns a consumer's subscription into the store's read-path filter:
 * - TAG (`*`, `A || B`): the consume queue's tags code skips misses without reading the commit log,
 *   then the record's TAGS is compared exactly (hash codes collide: "Aa" and "BB");
 * - SQL92: the expression, compiled once per (group, topic, subVersion, expression) and kept in a
 *   bounded cache, is evaluated on every property of each record (user properties and system ones such
 *   as TAGS and KEYS, as RocketMQ does). Only when `enablePropertyFilter` is on.
 * Anything unusable (SQL92 switched off, another expression type, a malformed expression) is a
 * SUBSCRIPTION_PARSE_FAILED (23) answer whose remark says why and, for a malformed expression, where.
 */
import { ResponseCode, TideError } from '../../common/errors.js';
import { getProperty } from '../../protocol/message-properties.js';
import type { MessageFilter } from '../../store/types.js';
import { createTagFilter, ExpressionType, isTagType, type SubscriptionData } from '../subscription-data.js';
import { readRecordProperties } from './record-properties.js';
import { compileSql92, Sql92SyntaxError, type Sql92Expression } from './sql92/index.js';

/** Compiled expressions kept per broker; past it the least recently used one is dropped. */
export const DEFAULT_SQL92_CACHE_ENTRIES = 4096;
/**
 * Characters of expression text the cache may hold in all (a compiled expression's size follows its
 * text): with expressions of up to 64 K characters, the entry count alone would not bound memory.
 */
export const DEFAULT_SQL92_CACHE_CHARS = 4 * 1024 * 1024;

/** The longest stretch of an expression quoted back in a remark. */
const QUOTED_EXPRESSION_CHARS = 200;

export function subscriptionParseFailed(message: string): TideError {
  return new TideError('INVALID_PARAMETER', message, { responseCode: ResponseCode.SUBSCRIPTION_PARSE_FAILED });
}

function quoted(expression: string): string {
  return JSON.stringify(expression.length > QUOTED_EXPRESSION_CHARS ? `${expression.slice(0, QUOTED_EXPRESSION_CHARS)}…` : expression);
}

/** The remark for a malformed expression: what, where (line, column, offset) and the expression. */
export function malformedExpressionMessage(group: string, topic: string, expression: string, error: Sql92SyntaxError): string {
  return `the SQL92 subscription of group ${group} to topic ${topic} is malformed: ${error.message} in ${quoted(expression)}`;
}

export function propertyFilterDisabledMessage(expressionType: string): string {
  return `The broker does not support consumer to filter message by ${expressionType} (enablePropertyFilter=false); `
    + 'set enablePropertyFilter=true in the broker configuration file and restart the broker';
}

/** Compiled SQL92 expressions, least recently used evicted first, failures cached too. */
export class Sql92ExpressionCache {
  private readonly entries = new Map<string, Sql92Expression | Sql92SyntaxError>();
  private chars = 0;

  constructor(readonly maxEntries: number = DEFAULT_SQL92_CACHE_ENTRIES, readonly maxChars: number = DEFAULT_SQL92_CACHE_CHARS) {}

  get size(): number {
    return this.entries.size;
  }

  /** Characters of cached keys (which hold the expression text). */
  get cachedChars(): number {
    return this.chars;
  }

  private evictFor(incomingChars: number): void {
    for (const key of this.entries.keys()) {
      if (this.entries.size < this.maxEntries && this.chars + incomingChars <= this.maxChars) return;
      this.entries.delete(key);
      this.chars -= key.length;
    }
  }

  /** The compiled expression of a subscription; throws SUBSCRIPTION_PARSE_FAILED when malformed. */
  compile(group: string, subscription: Pick<SubscriptionData, 'topic' | 'subString' | 'subVersion'>): Sql92Expression {
    const expression = subscription.subString;
    const key = `${group}\u0000${subscription.topic}\u0000${subscription.subVersion}\u0000${expression}`;
    let entry = this.entries.get(key);
    if (entry === undefined) {
      try {
        entry = compileSql92(expression);
      } catch (error) {
        if (!(error instanceof Sql92SyntaxError)) throw error;
        entry = error;
      }
      this.evictFor(key.length);
      this.chars += key.length;
    } else {
      this.entries.delete(key);
    }
    this.entries.set(key, entry);
    if (entry instanceof Sql92SyntaxError) throw subscriptionParseFailed(malformedExpressionMessage(group, subscription.topic, expression, entry));
    return entry;
  }
}

const cachesByOwner = new WeakMap<object, Sql92ExpressionCache>();

/**
 * The cache shared by everything holding the same `owner` (the broker's BrokerDeps), so the heartbeat
 * that checks an expression and the pulls that use it compile it once between them.
 */
export function sql92CacheOf(owner: object): Sql92ExpressionCache {
  let cache = cachesByOwner.get(owner);
  if (!cache) {
    cache = new Sql92ExpressionCache();
    cachesByOwner.set(owner, cache);
  }
  return cache;
}

/** The store filter of a compiled SQL92 expression. */
export function createSql92Filter(expression: Sql92Expression): MessageFilter {
  return {
    matchesRecord(record: Buffer): boolean {
      const properties = readRecordProperties(record);
      if (properties === null) return false;
      return expression.matches((name) => getProperty(properties, name));
    },
  };
}

export interface SubscriptionFilterSettings {
  enablePropertyFilter: boolean;
}

/**
 * The filter for `group`'s subscription; undefined = everything matches. Throws
 * SUBSCRIPTION_PARSE_FAILED (23) for SQL92 while it is switched off, for an unknown expression type
 * and for a malformed expression.
 */
export function createSubscriptionFilter(
  group: string,
  subscription: SubscriptionData,
  settings: SubscriptionFilterSettings,
  cache: Sql92ExpressionCache,
): MessageFilter | undefined {
  // Class filters (filter servers) are gone from RocketMQ; like Java's broker, deliver everything.
  if (subscription.classFilterMode) return undefined;
  if (isTagType(subscription.expressionType)) return createTagFilter(subscription);
  if (subscription.expressionType !== ExpressionType.SQL92) {
    throw subscriptionParseFailed(`unknown expression type ${JSON.stringify(subscription.expressionType.slice(0, 32))}: use TAG or SQL92`);
  }
  if (!settings.enablePropertyFilter) throw subscriptionParseFailed(propertyFilterDisabledMessage(subscription.expressionType));
  return createSql92Filter(cache.compile(group, subscription));
}
