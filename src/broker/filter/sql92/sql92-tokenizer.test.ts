// Proves the SQL92 tokenizer follows RocketMQ's lexical rules (keywords any case, number and string forms, comments) and reports bad characters with their position.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Sql92SyntaxError } from './sql92-syntax-error.js';
import { tokenize } from './sql92-tokenizer.js';

function kinds(source: string): string[] {
  return tokenize(source).map((token) => `${token.kind}:${token.kind === 'string' ? token.value : token.text}`);
}

test('keywords are case-insensitive and win over identifiers of the same text only', () => {
  assert.deepEqual(kinds('a aNd b Or NOT c is NuLl'), [
    'identifier:a', 'keyword:AND', 'identifier:b', 'keyword:OR', 'keyword:NOT', 'identifier:c', 'keyword:IS', 'keyword:NULL', 'end:<end of expression>',
  ]);
  assert.deepEqual(kinds('INX _a $b1 between contains startsWith ENDSWITH true FALSE in'), [
    'identifier:INX', 'identifier:_a', 'identifier:$b1', 'keyword:BETWEEN', 'keyword:CONTAINS', 'keyword:STARTSWITH', 'keyword:ENDSWITH',
    'keyword:TRUE', 'keyword:FALSE', 'keyword:IN', 'end:<end of expression>',
  ]);
});

test('numbers: integers with L, floats in every form, and 007 as three tokens like Java', () => {
  assert.deepEqual(kinds('0 12 12L 5l'), ['integer:0', 'integer:12', 'integer:12L', 'integer:5l', 'end:<end of expression>']);
  assert.deepEqual(kinds('1.5 1. .5 1e10 1.5E-3 2e+2'), ['float:1.5', 'float:1.', 'float:.5', 'float:1e10', 'float:1.5E-3', 'float:2e+2', 'end:<end of expression>']);
  assert.deepEqual(kinds('007'), ['integer:0', 'integer:0', 'integer:7', 'end:<end of expression>']);
  assert.deepEqual(kinds('5e'), ['integer:5', 'identifier:e', 'end:<end of expression>'], 'an E without digits is not an exponent');
});

test('strings, operators and comments', () => {
  assert.deepEqual(kinds("'it''s' '' 'a\nb'"), ["string:it's", 'string:', 'string:a\nb', 'end:<end of expression>']);
  assert.deepEqual(kinds('= <> > >= < <= ( , ) + -'), ['operator:=', 'operator:<>', 'operator:>', 'operator:>=', 'operator:<', 'operator:<=', 'operator:(', 'operator:,', 'operator:)', 'operator:+', 'operator:-', 'end:<end of expression>']);
  assert.deepEqual(kinds('a -- the rest\n= /* x */ 1 -- trailing'), ['identifier:a', 'operator:=', 'integer:1', 'end:<end of expression>']);
  const offsets = tokenize("  a\t=  'x'").map((token) => token.offset);
  assert.deepEqual(offsets, [2, 4, 7, 10]);
});

test('bad input is a syntax error at the offending character', () => {
  const cases: Array<[string, number, number, number, RegExp]> = [
    ['a != 1', 2, 1, 3, /unexpected character "!"/],
    ["a = 'open", 4, 1, 5, /unterminated string/],
    ['a = 1 /* open', 6, 1, 7, /unterminated comment/],
    ['a\n= "x"', 4, 2, 3, /unexpected character "\\""/],
    ['a.b = 1', 1, 1, 2, /unexpected character "\."/],
  ];
  for (const [source, offset, line, column, reason] of cases) {
    assert.throws(() => tokenize(source), (error: unknown) => {
      assert.ok(error instanceof Sql92SyntaxError, source);
      assert.equal(error.offset, offset, source);
      assert.equal(error.line, line, source);
      assert.equal(error.column, column, source);
      assert.match(error.message, reason);
      return true;
    });
  }
});
