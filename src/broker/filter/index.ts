/**
 * Message filtering on the broker: TAG expressions by tags code then exact tag, SQL92 expressions on
 * message properties (RocketMQ's grammar), and the cache of compiled expressions.
 */
export {
  createSql92Filter,
  createSubscriptionFilter,
  DEFAULT_SQL92_CACHE_CHARS,
  DEFAULT_SQL92_CACHE_ENTRIES,
  malformedExpressionMessage,
  propertyFilterDisabledMessage,
  Sql92ExpressionCache,
  sql92CacheOf,
  subscriptionParseFailed,
  type SubscriptionFilterSettings,
} from './subscription-filter.js';
export { readRecordProperties } from './record-properties.js';
export { compileSql92, MAX_EXPRESSION_LENGTH, MAX_NESTING_DEPTH, parseSql92, Sql92SyntaxError, type PropertyLookup, type Sql92Expression } from './sql92/index.js';
