// Proves SQL92 evaluation follows RocketMQ's semantics: three-valued logic with missing properties, string-to-number promotion by the constant's type, failed conversions never matching, IN/CONTAINS/STARTSWITH/ENDSWITH and IS NULL.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileSql92 } from './sql92-expression.js';
import { compareDoubles, compareJava, parseJavaDouble } from './sql92-values.js';

type Properties = Record<string, string>;

function matches(expression: string, properties: Properties): boolean {
  return compileSql92(expression).matches((name) => properties[name]);
}

function check(expression: string, cases: Array<[Properties, boolean]>): void {
  const compiled = compileSql92(expression);
  for (const [properties, expected] of cases) {
    assert.equal(compiled.matches((name) => properties[name]), expected, `${expression} with ${JSON.stringify(properties)}`);
  }
}

test('the expressions of RocketMQ’s own evaluation tests', () => {
  check('a=3 and b<>4 And c>5 AND d<=4', [[{ a: '3', b: '5', c: '6', d: '4' }, true], [{ a: '3', b: '4', c: '6', d: '4' }, false]]);
  check('a=3 or b<>4 Or c>5 OR d<=4', [[{ a: '1', b: '4', c: '1', d: '9' }, false], [{ a: '1', b: '4', c: '6', d: '9' }, true]]);
  check("a in ('3', '4', '5')", [[{ a: '4' }, true], [{ a: '6' }, false], [{}, false]]);
  check("a not in ('3', '4', '5')", [[{ a: '6' }, true], [{ a: '4' }, false], [{}, false]]);
  check('a between 2 and 10', [[{ a: '2' }, true], [{ a: '10' }, true], [{ a: '11' }, false], [{}, false]]);
  check('a not between 2 and 10', [[{ a: '1' }, true], [{ a: '5' }, false], [{}, false]]);
  check('a is null', [[{}, true], [{ a: '' }, false]]);
  check('a is not null', [[{ a: 'x' }, true], [{}, false]]);
  check("a is not null and a='hello'", [[{ a: 'hello' }, true], [{ a: 'hi' }, false], [{}, false]]);
  check('a=TRUE OR b=FALSE', [[{ a: 'true' }, true], [{ a: 'TRUE' }, true], [{ b: 'false' }, true], [{ a: 'yes', b: 'true' }, false]]);
  check("a is null OR a='hello'", [[{}, true], [{ a: 'hello' }, true], [{ a: 'x' }, false]]);
  check("TAGS is not null and TAGS='''''tag'''''", [[{ TAGS: "''tag''" }, true]]);
  check("a not in ('4', '4', '5') and b between 3 and 10 and c not contains 'axbc'", [[{ a: '3', b: '3', c: 'axbdc' }, true]]);
});

test('a missing property makes comparisons NULL, which never matches, in either polarity', () => {
  for (const expression of ['a = 1', 'a <> 1', "a = 'x'", "a <> 'x'", 'a > 1', 'a < 1', 'NOT (a > 1)', 'NOT (a = 1)', "a IN ('x')", "a NOT IN ('x')"]) {
    assert.equal(matches(expression, {}), false, expression);
  }
  // SQL's three-valued AND/OR: FALSE AND NULL = FALSE, TRUE OR NULL = TRUE, NOT (FALSE AND NULL) = TRUE.
  check('a = 1 OR b = 2', [[{ b: '2' }, true], [{ b: '3' }, false]]);
  check('NOT (a = 1 AND b = 2)', [[{ b: '3' }, true], [{ b: '2' }, false]]);
  check('NOT (a = 1 OR b = 2)', [[{ b: '3' }, false], [{ a: '0', b: '3' }, true]]);
});

test('numbers: the property is converted to the constant’s type, RocketMQ style', () => {
  check('a > 5', [[{ a: '6' }, true], [{ a: '+6' }, true], [{ a: '5' }, false], [{ a: '-7' }, false]]);
  // An integer constant parses the property as a 32-bit Integer: decimals and out-of-range values fail (no match).
  check('a > 5', [[{ a: '5.5' }, false], [{ a: '3000000000' }, false], [{ a: ' 6' }, false], [{ a: 'x' }, false]]);
  // A float constant parses it as a Double (blanks trimmed, exponent and suffix allowed).
  check('a > 5.0', [[{ a: '5.5' }, true], [{ a: ' 6 ' }, true], [{ a: '6e0' }, true], [{ a: '6d' }, true], [{ a: '5' }, false], [{ a: 'abc' }, false]]);
  // A constant beyond 32 bits is a Long, so the property is parsed as one.
  check('a > 2147483648', [[{ a: '3000000000' }, true], [{ a: '2147483648' }, false]]);
  check('a = 10', [[{ a: '10' }, true], [{ a: '010' }, true], [{ a: '10.0' }, false]]);
  check('a = 10.0', [[{ a: '10' }, true], [{ a: '1e1' }, true]]);
  check('a BETWEEN -5 AND 5', [[{ a: '-5' }, true], [{ a: '0' }, true], [{ a: '-6' }, false]]);
  check('a > -2.5', [[{ a: '-2' }, true], [{ a: '-3' }, false]]);
  // A failed conversion fails the whole evaluation, even the true side of an OR (RocketMQ's behaviour).
  check("a > 5 OR b = 'x'", [[{ a: 'abc', b: 'x' }, false], [{ a: '1', b: 'x' }, true]]);
});

test('strings: equality is exact; ordering two properties compares them as numbers', () => {
  check("a = 'Hello'", [[{ a: 'Hello' }, true], [{ a: 'hello' }, false]]);
  check("a <> 'Hello'", [[{ a: 'hello' }, true], [{ a: 'Hello' }, false]]);
  check('a = b', [[{ a: '3.14', b: '3.14' }, true], [{ a: '1', b: '1.0' }, false]]);
  check('a > b', [[{ a: '10', b: '9' }, true], [{ a: '9', b: '10' }, false], [{ a: 'abc', b: '1' }, false]]);
  check("'axb' CONTAINS 'x'", [[{}, true]]);
});

test('CONTAINS, STARTSWITH, ENDSWITH and their NOT forms', () => {
  check("v CONTAINS 'x'", [[{ v: 'axb' }, true], [{ v: 'abb' }, false], [{}, false]]);
  check("v STARTSWITH 'ax'", [[{ v: 'axb' }, true], [{ v: 'bax' }, false]]);
  check("v ENDSWITH 'xb'", [[{ v: 'axb' }, true], [{ v: 'xba' }, false]]);
  check("v NOT CONTAINS 'x'", [[{ v: 'abb' }, true], [{ v: 'axb' }, false], [{}, false]]);
  check("v NOT STARTSWITH 'x'", [[{ v: 'abb' }, true], [{}, false]]);
  check("v NOT ENDSWITH 'x'", [[{ v: 'abb' }, true], [{ v: 'abx' }, false]]);
  // An empty search string never matches, in either form.
  for (const expression of ["v CONTAINS ''", "v NOT CONTAINS ''", "v STARTSWITH ''", "v NOT ENDSWITH ''"]) {
    assert.equal(matches(expression, { v: 'axb' }), false, expression);
  }
  check("v CONTAINS '.'", [[{ v: 'axb' }, false], [{ v: 'a.b' }, true]]);
});

test('booleans, casts and constants', () => {
  check('flag', [[{ flag: 'true' }, false], [{}, false]]);
  check('NOT flag', [[{ flag: 'true' }, true], [{}, false]]);
  check('TRUE', [[{}, true]]);
  check('FALSE OR NULL', [[{}, false]]);
  check('TRUE = a', [[{ a: 'true' }, true], [{ a: 'false' }, false]]);
  check('(a > 1) = TRUE', [[{ a: '2' }, true], [{ a: '0' }, false]]);
  check('(a > 1) = 5', [[{ a: '2' }, false]]);
  check('(a > 1) <> 5', [[{ a: '2' }, true]]);
});

test('system properties such as TAGS and KEYS are visible like user ones', () => {
  check("TAGS = 'TagA' AND KEYS CONTAINS 'order-1'", [[{ TAGS: 'TagA', KEYS: 'order-1 order-2' }, true], [{ TAGS: 'TagB', KEYS: 'order-1' }, false]]);
  assert.deepEqual(compileSql92("TAGS = 'x' AND (b > 1 OR b IS NULL)").propertyNames, ['TAGS', 'b']);
});

test('the comparison primitives follow Java', () => {
  assert.ok(compareDoubles(-0, 0) < 0);
  assert.equal(compareDoubles(Number.NaN, Number.NaN), 0);
  assert.ok(compareDoubles(Number.NaN, Infinity) > 0);
  assert.equal(compareJava(5n, 5), 0);
  assert.equal(compareJava(true, 5n), -1, 'incomparable types are "less than"');
  assert.equal(parseJavaDouble('NaN'), Number.NaN);
  assert.equal(parseJavaDouble('-Infinity'), -Infinity);
  assert.equal(parseJavaDouble('\t1.5f '), 1.5);
});
