/**
 * How RocketMQ's filter compares values of different types (facts from apache/rocketmq
 * `ComparisonExpression`; no code taken). Message properties are strings, constants are Java
 * Integer/Long (here: bigint, Integer when it fits 32 bits), Double (number), Boolean or String:
 *
 * - same type: natural order (strings by UTF-16 code units, false < true, doubles as Double.compare);
 * - integer vs double: as doubles; Integer vs Long: as longs;
 * - string vs number: the string is parsed as the number's type (Integer.valueOf, Long.valueOf,
 *   Double.valueOf); a string that does not parse makes the whole evaluation fail, which in RocketMQ
 *   (and here) means the message does not match — even inside an OR whose other side is true;
 * - string vs boolean: Boolean.valueOf (true only for "true", any case);
 * - any other mix (a boolean vs a number): "less than", so `=` is false and `<>` true.
 *
 * One deviation: RocketMQ throws (and so never matches) when a TRUE/FALSE constant sits on the LEFT of
 * a comparison with a string; here the string is converted as it is with the constant on the right.
 */
import { INT_MAX, INT_MIN, LONG_MAX, LONG_MIN, type SqlValue } from './sql92-ast.js';

/**
 * Thrown (as this one object, no stack trace) when an evaluation cannot go on, e.g. a property that
 * is not a number compared with a number. The caller turns it into "no match".
 */
export const EVALUATION_FAILED: unique symbol = Symbol('sql92 evaluation failed');

function fail(): never {
  // A shared sentinel, not an Error: building a stack trace per failed message would be the cost.
  throw EVALUATION_FAILED;
}

const JAVA_INTEGER = /^[+-]?\d+$/;
const JAVA_DOUBLE = /^[+-]?(?:NaN|Infinity|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)[fFdD]?$/;

/** Java's Integer.valueOf / Long.valueOf (chosen by `asLong`); fails on anything else. */
export function parseJavaInteger(text: string, asLong: boolean): bigint {
  if (!JAVA_INTEGER.test(text)) fail();
  const value = BigInt(text);
  if (asLong ? value < LONG_MIN || value > LONG_MAX : value < INT_MIN || value > INT_MAX) fail();
  return value;
}

/**
 * Integer.valueOf as a number: the common case (a property compared with a 32-bit constant) without
 * building a bigint. Exact: Number() of a digit string is exact below 2^53, and the range check
 * rejects anything longer.
 */
function parseJavaInt32(text: string): number {
  if (!JAVA_INTEGER.test(text)) fail();
  const value = Number(text);
  if (value < -2147483648 || value > 2147483647) fail();
  return value;
}

/** Java's Double.valueOf for decimal text (leading/trailing control chars and blanks are trimmed). */
export function parseJavaDouble(text: string): number {
  let start = 0;
  let end = text.length;
  while (start < end && text.charCodeAt(start) <= 32) start++;
  while (end > start && text.charCodeAt(end - 1) <= 32) end--;
  const trimmed = text.slice(start, end);
  if (!JAVA_DOUBLE.test(trimmed)) fail();
  const last = trimmed.charCodeAt(trimmed.length - 1);
  const numeric = last === 102 || last === 70 || last === 100 || last === 68 ? trimmed.slice(0, -1) : trimmed;
  return Number(numeric);
}

/** Java's Boolean.valueOf(String). */
export function parseJavaBoolean(text: string): boolean {
  return text.toLowerCase() === 'true';
}

function isLong(value: bigint): boolean {
  return value < INT_MIN || value > INT_MAX;
}

/** Java's Double.compare: NaN above everything and equal to itself, -0.0 below 0.0. */
export function compareDoubles(left: number, right: number): number {
  if (left < right) return -1;
  if (left > right) return 1;
  const leftNaN = Number.isNaN(left);
  const rightNaN = Number.isNaN(right);
  if (leftNaN || rightNaN) return leftNaN === rightNaN ? 0 : leftNaN ? 1 : -1;
  if (left === 0 && Object.is(left, -0) !== Object.is(right, -0)) return Object.is(left, -0) ? -1 : 1;
  return 0;
}

function compareNumbers(left: number, right: number): number {
  return left < right ? -1 : left > right ? 1 : 0;
}

function compareSame(left: SqlValue, right: SqlValue): number {
  if (typeof left === 'number') return compareDoubles(left, right as number);
  if (typeof left === 'boolean') return left === right ? 0 : left ? 1 : -1;
  return left! < right! ? -1 : left! > right! ? 1 : 0;
}

/**
 * Compares two non-null values the way RocketMQ's `__compare` does (with string conversion on).
 * Returns <0, 0 or >0; throws EVALUATION_FAILED when a string does not convert.
 */
export function compareJava(left: SqlValue, right: SqlValue): number {
  const leftType = typeof left;
  const rightType = typeof right;
  if (leftType === rightType) return compareSame(left, right);
  switch (leftType) {
    case 'boolean':
      return rightType === 'string' ? compareSame(left, parseJavaBoolean(right as string)) : -1;
    case 'bigint':
      if (rightType === 'number') return compareDoubles(Number(left), right as number);
      if (rightType === 'string') {
        return isLong(left as bigint) ? compareSame(left, parseJavaInteger(right as string, true)) : compareNumbers(Number(left), parseJavaInt32(right as string));
      }
      return -1;
    case 'number':
      if (rightType === 'bigint') return compareDoubles(left as number, Number(right));
      if (rightType === 'string') return compareDoubles(left as number, parseJavaDouble(right as string));
      return -1;
    case 'string':
      if (rightType === 'boolean') return compareSame(parseJavaBoolean(left as string), right);
      if (rightType === 'bigint') {
        return isLong(right as bigint) ? compareSame(parseJavaInteger(left as string, true), right) : compareNumbers(parseJavaInt32(left as string), Number(right));
      }
      if (rightType === 'number') return compareDoubles(parseJavaDouble(left as string), right as number);
      return -1;
    default:
      return -1;
  }
}
