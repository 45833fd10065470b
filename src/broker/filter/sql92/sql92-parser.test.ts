// Proves the SQL92 parser accepts RocketMQ's grammar with its precedence, desugars BETWEEN as RocketMQ does, and refuses what RocketMQ refuses with the line, column and offset of the error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { SqlNode } from './sql92-ast.js';
import { MAX_EXPRESSION_LENGTH, MAX_NESTING_DEPTH, parseSql92 } from './sql92-parser.js';
import { Sql92SyntaxError } from './sql92-syntax-error.js';

/** An S-expression of the tree, to check structure and precedence. */
function render(node: SqlNode): string {
  switch (node.type) {
    case 'literal':
      return typeof node.value === 'string' ? `'${node.value}'` : node.value === null ? 'NULL' : `${String(node.value)}${typeof node.value === 'bigint' ? 'n' : ''}`;
    case 'property':
      return node.name;
    case 'negate':
      return `(- ${render(node.operand)})`;
    case 'not':
      return `(not ${render(node.operand)})`;
    case 'booleanCast':
      return `(bool ${render(node.operand)})`;
    case 'and':
    case 'or':
      return `(${node.type} ${render(node.left)} ${render(node.right)})`;
    case 'equal':
      return `(= ${render(node.left)} ${render(node.right)})`;
    case 'relational':
      return `(${node.operator} ${render(node.left)} ${render(node.right)})`;
    case 'in':
      return `(${node.negated ? 'not-in' : 'in'} ${render(node.operand)} ${[...node.values].map((value) => `'${value}'`).join(' ')})`;
    case 'stringMatch':
      return `(${node.negated ? 'not-' : ''}${node.operator.toLowerCase()} ${render(node.operand)} '${node.search}')`;
  }
}

const parsed = (source: string): string => render(parseSql92(source));

test('precedence: OR < AND < equality < comparison < prefix operators', () => {
  assert.equal(parsed('a = 1 OR b = 2 AND c = 3'), '(or (= a 1n) (and (= b 2n) (= c 3n)))');
  assert.equal(parsed('(a = 1 OR b = 2) AND c = 3'), '(and (or (= a 1n) (= b 2n)) (= c 3n))');
  assert.equal(parsed('a > 1 = TRUE'), '(= (> a 1n) true)', 'comparison binds tighter than =');
  assert.equal(parsed('NOT (a > 1)'), '(not (> a 1n))');
  assert.equal(parsed('NOT a'), '(not (bool a))', 'a bare property is cast to a condition');
  assert.equal(parsed('a'), '(bool a)');
  assert.equal(parsed('a > -5 AND b < +2.5'), '(and (> a (- 5n)) (< b 2.5))');
  assert.equal(parsed('a = 1 or b = 2 or c = 3'), '(or (or (= a 1n) (= b 2n)) (= c 3n))', 'left-associative');
});

test('every comparison form of the grammar', () => {
  assert.equal(parsed("a = 'x' AND b <> 'y'"), "(and (= a 'x') (not (= b 'y')))");
  assert.equal(parsed('a > 1 AND a >= 1 AND a < 1 AND a <= 1'), '(and (and (and (> a 1n) (>= a 1n)) (< a 1n)) (<= a 1n))');
  assert.equal(parsed('a BETWEEN 1 AND 10'), '(and (>= a 1n) (<= a 10n))');
  assert.equal(parsed('a NOT BETWEEN 1 AND 10'), '(or (< a 1n) (> a 10n))');
  assert.equal(parsed("a IN ('x', 'y')"), "(in a 'x' 'y')");
  assert.equal(parsed("a NOT IN ('x')"), "(not-in a 'x')");
  assert.equal(parsed('a IS NULL'), '(= a NULL)');
  assert.equal(parsed('a IS NOT NULL'), '(not (= a NULL))');
  assert.equal(parsed("a CONTAINS 'x' AND b NOT CONTAINS 'y'"), "(and (contains a 'x') (not-contains b 'y'))");
  assert.equal(parsed("a STARTSWITH 'x' OR a NOT STARTSWITH 'y' OR a ENDSWITH 'z' OR a NOT ENDSWITH 'w'"),
    "(or (or (or (startswith a 'x') (not-startswith a 'y')) (endswith a 'z')) (not-endswith a 'w'))");
  assert.equal(parsed('a = TRUE OR b = FALSE'), '(or (= a true) (= b false))');
  assert.equal(parsed('a > 9223372036854775807'), '(> a 9223372036854775807n)');
  assert.equal(parsed('a > 5L'), '(> a 5n)');
  assert.equal(parsed('a <= now'), '(<= a now)', '`now` is an ordinary property name');
  assert.equal(parsed('a = 0.0'), '(= a 0)', 'TideMQ accepts 0.0 (RocketMQ refuses floats below Double.MIN_VALUE)');
  assert.equal(parsed('TRUE'), 'true');
  assert.equal(parsed('NULL'), 'NULL', 'a NULL constant is a (never true) condition, as in RocketMQ');
  // The expressions of RocketMQ's own parser tests parse.
  for (const source of [
    'a=3 and b<>4 And c>5 AND d<=4', "a in ('3', '4', '5')", "(a not in ('6', '4', '5')) or (b in ('3', '4', '5'))",
    '(a between 2 and 10) AND (b not between 6 and 9)', 'a is null', 'a is not null', "a=3 and b contains 'xxx' and c not contains 'xxx'",
    "TAGS is not null and TAGS='''''tag'''''",
  ]) {
    assert.doesNotThrow(() => parseSql92(source), source);
  }
});

function errorOf(source: string): Sql92SyntaxError {
  try {
    parseSql92(source);
  } catch (error) {
    assert.ok(error instanceof Sql92SyntaxError, `${source}: ${String(error)}`);
    return error;
  }
  assert.fail(`${JSON.stringify(source)} parsed but should not`);
}

test('refusals carry the position of the error', () => {
  const cases: Array<[string, number, RegExp]> = [
    ['a and between 2 and 10', 6, /unexpected "BETWEEN"; expected a value/],
    ['a > ', 4, /unexpected end of expression/],
    ['(a > 1', 6, /expected "\)"/],
    ['a > 1)', 5, /unexpected "\)"/],
    ['a = 1 b = 2', 6, /unexpected "b"/],
    ['a >> 1', 3, /unexpected ">"/],
    ["a > 'x'", 4, /'x' cannot be compared with ">": only numbers can/],
    ['a < TRUE', 4, /TRUE cannot be compared/],
    ['NOT a > 1', 0, /a condition cannot be compared with ">"/],
    ['(a = 1) > 2', 3, /a condition cannot be compared/],
    ['a = NULL', 4, /NULL cannot be compared with "="; use IS NULL/],
    ['NULL <> a', 0, /NULL cannot be compared with "<>"/],
    ['TRUE = 5', 5, /TRUE cannot be compared with 5/],
    ['a IN (1, 2)', 6, /IN takes a string literal/],
    ["a IN ()", 6, /IN takes a string literal/],
    ["'x' IN ('x')", 0, /IN needs a property name/],
    ["a CONTAINS x", 11, /CONTAINS takes a string literal/],
    ["a NOT STARTSWITH 5", 17, /STARTSWITH takes a string literal/],
    ['a BETWEEN 10 AND 0', 2, /lower bound of BETWEEN \(10\) must not be greater than the upper bound \(0\)/],
    ['a BETWEEN NULL AND 3', 2, /bounds of BETWEEN cannot be NULL/],
    ["a BETWEEN 'x' AND 'y'", 10, /'x' cannot be compared/],
    ['a BETWEEN 1 OR 2', 12, /expected AND/],
    ['a IS 5', 5, /expected NOT/],
    ['a IS NOT 5', 9, /expected NULL/],
    ['a NOT LIKE 1', 2, /unexpected "NOT"/],
    ['5', 0, /5 is not a condition/],
    ["'x'", 0, /'x' is not a condition/],
    ['-a', 0, /-a is not a condition/],
    ['a > 100000000000000000000000', 4, /beyond the 64-bit range/],
    ['a > 1e400', 4, /beyond the range of a double/],
    ['', 0, /unexpected end of expression/],
    ['*', 0, /unexpected character "\*"/],
  ];
  for (const [source, offset, reason] of cases) {
    const error = errorOf(source);
    assert.equal(error.offset, offset, `${source}: ${error.message}`);
    assert.equal(error.line, 1, source);
    assert.equal(error.column, offset + 1, source);
    assert.match(error.message, reason, source);
  }
  const multiline = errorOf('a = 1\r\n AND\n  b >');
  assert.deepEqual([multiline.line, multiline.column, multiline.offset], [3, 6, 17]);
});

test('limits: expression length and nesting depth', () => {
  const deep = `${'('.repeat(MAX_NESTING_DEPTH + 1)}a = 1${')'.repeat(MAX_NESTING_DEPTH + 1)}`;
  assert.match(errorOf(deep).message, /nests deeper than/);
  const nots = `${'NOT '.repeat(MAX_NESTING_DEPTH + 1)}a`;
  assert.match(errorOf(nots).message, /nests deeper than/);
  assert.doesNotThrow(() => parseSql92(`${'('.repeat(50)}a = 1${')'.repeat(50)}`));
  const long = `a IN (${Array.from({ length: MAX_EXPRESSION_LENGTH / 4 }, () => "'x'").join(',')})`;
  assert.match(errorOf(long).message, /longer than/);
});
