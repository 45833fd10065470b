/** RocketMQ's SQL92 message filter: parse once, match many messages by their properties. */
export { compileSql92, type PropertyLookup, type Sql92Expression } from './sql92-expression.js';
export { MAX_EXPRESSION_LENGTH, MAX_NESTING_DEPTH, parseSql92 } from './sql92-parser.js';
export { Sql92SyntaxError } from './sql92-syntax-error.js';
