/**
 * Compiles a parsed SQL92 condition into a tree of closures, once per subscription, so matching a
 * message is a walk over pre-built functions with no parsing or allocation beyond the values read.
 *
 * Semantics (RocketMQ's, three-valued like SQL): a missing property is NULL; a comparison with NULL is
 * NULL; NOT NULL is NULL; AND/OR follow SQL's truth tables (FALSE AND NULL = FALSE, TRUE OR NULL =
 * TRUE); IS [NOT] NULL tests for presence; IN and NOT IN give NULL for a missing property;
 * [NOT] CONTAINS / STARTSWITH / ENDSWITH give FALSE for a missing property or an empty search string;
 * a bare property used as a condition is FALSE (properties are strings, never booleans). A message
 * matches only when the whole condition is TRUE: NULL and evaluation failures (see sql92-values.ts)
 * do not match.
 */
import type { SqlNode, SqlValue } from './sql92-ast.js';
import { parseSql92 } from './sql92-parser.js';
import { compareDoubles, compareJava, EVALUATION_FAILED, parseJavaDouble } from './sql92-values.js';

/** Reads a property of the message being filtered; undefined when it has none. */
export type PropertyLookup = (name: string) => string | undefined;

type Evaluator = (lookup: PropertyLookup) => SqlValue;

export interface Sql92Expression {
  /** The expression as the subscriber wrote it. */
  readonly source: string;
  /** Property names the expression reads (so a caller can decide what to decode). */
  readonly propertyNames: readonly string[];
  /** Whether a message with these properties matches. Never throws for any property values. */
  matches(lookup: PropertyLookup): boolean;
}

function asCondition(value: SqlValue): boolean | null {
  if (value === null || typeof value === 'boolean') return value;
  // Only reachable through RocketMQ's own casts (a Boolean cast of a non-boolean): an evaluation error.
  throw EVALUATION_FAILED;
}

function compileRelational(operator: string, left: Evaluator, right: Evaluator): Evaluator {
  const test: (order: number) => boolean =
    operator === '>' ? (order) => order > 0 : operator === '>=' ? (order) => order >= 0 : operator === '<' ? (order) => order < 0 : (order) => order <= 0;
  return (lookup) => {
    const leftValue = left(lookup);
    if (leftValue === null) return null;
    const rightValue = right(lookup);
    if (rightValue === null) return null;
    // Two strings (two properties) are compared as numbers, as RocketMQ does; text that is not a number fails.
    const order = typeof leftValue === 'string' && typeof rightValue === 'string'
      ? compareDoubles(parseJavaDouble(leftValue), parseJavaDouble(rightValue))
      : compareJava(leftValue, rightValue);
    return test(order);
  };
}

function compileNode(node: SqlNode, names: Set<string>): Evaluator {
  switch (node.type) {
    case 'literal': {
      const value = node.value;
      return () => value;
    }
    case 'property': {
      const name = node.name;
      names.add(name);
      return (lookup) => lookup(name) ?? null;
    }
    case 'negate': {
      const operand = compileNode(node.operand, names);
      return (lookup) => {
        const value = operand(lookup);
        return typeof value === 'bigint' || typeof value === 'number' ? -value : null;
      };
    }
    case 'not': {
      const operand = compileNode(node.operand, names);
      return (lookup) => {
        const value = asCondition(operand(lookup));
        return value === null ? null : !value;
      };
    }
    case 'booleanCast': {
      const operand = compileNode(node.operand, names);
      return (lookup) => {
        const value = operand(lookup);
        return value === null ? null : value === true;
      };
    }
    case 'and': {
      const left = compileNode(node.left, names);
      const right = compileNode(node.right, names);
      return (lookup) => {
        const leftValue = asCondition(left(lookup));
        if (leftValue === false) return false;
        const rightValue = asCondition(right(lookup));
        if (rightValue === false) return false;
        return leftValue === null || rightValue === null ? null : true;
      };
    }
    case 'or': {
      const left = compileNode(node.left, names);
      const right = compileNode(node.right, names);
      return (lookup) => {
        const leftValue = asCondition(left(lookup));
        if (leftValue === true) return true;
        const rightValue = asCondition(right(lookup));
        if (rightValue === true) return true;
        return leftValue === null || rightValue === null ? null : false;
      };
    }
    case 'equal': {
      const left = compileNode(node.left, names);
      const right = compileNode(node.right, names);
      return (lookup) => {
        const leftValue = left(lookup);
        const rightValue = right(lookup);
        if (leftValue === null || rightValue === null) {
          if (leftValue === null && rightValue === null) return true;
          return leftValue === null ? null : false;
        }
        return compareJava(leftValue, rightValue) === 0;
      };
    }
    case 'relational':
      return compileRelational(node.operator, compileNode(node.left, names), compileNode(node.right, names));
    case 'in': {
      const operand = compileNode(node.operand, names);
      const { values, negated } = node;
      return (lookup) => {
        const value = operand(lookup);
        if (typeof value !== 'string') return null;
        return values.has(value) !== negated;
      };
    }
    case 'stringMatch': {
      const operand = compileNode(node.operand, names);
      const { search, negated, operator } = node;
      if (search.length === 0) return () => false;
      const test: (value: string) => boolean =
        operator === 'CONTAINS' ? (value) => value.includes(search) : operator === 'STARTSWITH' ? (value) => value.startsWith(search) : (value) => value.endsWith(search);
      return (lookup) => {
        const value = operand(lookup);
        return typeof value === 'string' ? test(value) !== negated : false;
      };
    }
  }
}

/** Builds the matcher of a parsed condition. */
export function compileSql92Node(source: string, root: SqlNode): Sql92Expression {
  const names = new Set<string>();
  const evaluate = compileNode(root, names);
  return {
    source,
    propertyNames: [...names],
    matches(lookup: PropertyLookup): boolean {
      try {
        return evaluate(lookup) === true;
      } catch (error) {
        if (error === EVALUATION_FAILED) return false;
        throw error;
      }
    },
  };
}

/** Parses and compiles an expression. Throws Sql92SyntaxError (with the position) when malformed. */
export function compileSql92(source: string): Sql92Expression {
  return compileSql92Node(source, parseSql92(source));
}
