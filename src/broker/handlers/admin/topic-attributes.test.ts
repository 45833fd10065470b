// Proves topic attribute modifications (`+k=v,-k`) parse, apply and refuse bad input as Java's AttributeParser/AttributeUtil do.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isTideError } from '../../../common/errors.js';
import { applyAttributeChanges, parseAttributeChanges } from './topic-attributes.js';

test('additions create the attribute set of a new topic', () => {
  const changes = parseAttributeChanges('+message.type=FIFO,+owner.team=payments');
  assert.deepEqual(applyAttributeChanges(undefined, changes), { 'message.type': 'FIFO', 'owner.team': 'payments' });
});

test('blank modification changes nothing', () => {
  assert.deepEqual(parseAttributeChanges(undefined), []);
  assert.deepEqual(parseAttributeChanges('  '), []);
  assert.deepEqual(applyAttributeChanges({ a: '1' }, []), { a: '1' });
});

test('an existing topic can change and delete attributes', () => {
  const current = { 'message.type': 'NORMAL', stale: 'x' };
  const result = applyAttributeChanges(current, parseAttributeChanges('+message.type=FIFO,-stale,+added=1'));
  assert.deepEqual(result, { 'message.type': 'FIFO', added: '1' });
  assert.deepEqual(current, { 'message.type': 'NORMAL', stale: 'x' }, 'the current attributes are not mutated');
});

test('bad modifications are INVALID_PARAMETER naming the attributes field', () => {
  const bad = ['message.type=FIFO', '+novalue', '+a=b=c', '-a=b', '+message.type=SOMETHING', '+a=1,+a=2', '+__proto__=x', '+bad key=1', '+=1'];
  for (const text of bad) {
    assert.throws(() => parseAttributeChanges(text), (error: unknown) => isTideError(error, 'INVALID_PARAMETER') && /<attributes>/.test(error.message), text);
  }
});

test('deleting while creating, or deleting a missing key, is refused', () => {
  assert.throws(() => applyAttributeChanges(undefined, parseAttributeChanges('-a')), /only additions/);
  assert.throws(() => applyAttributeChanges({ b: '1' }, parseAttributeChanges('-a')), /no such attribute/);
});
