// Proves the properties text of broker-config bodies reads like java.util.Properties and writes `key=value` lines.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isTideError } from '../../../common/errors.js';
import { formatPropertiesText, MAX_PROPERTIES_TEXT_BYTES, parsePropertiesText } from './properties-text.js';

test('reads =, : and blank separators, comments, continuations and escapes', () => {
  const text = [
    '# comment',
    '! also a comment',
    'a=1',
    'b : two words ',
    'c 3',
    '  d=',
    'e=first\\',
    '   second',
    'f=tab\\there\\u0041',
    'g\\=key=v',
    'a=override',
  ].join('\r\n');
  const parsed = parsePropertiesText(text);
  assert.deepEqual(Object.fromEntries(parsed), {
    a: 'override',
    b: 'two words ',
    c: '3',
    d: '',
    e: 'firstsecond',
    f: 'tab\thereA',
    'g=key': 'v',
  });
});

test('writes key=value lines and skips undefined values', () => {
  assert.equal(formatPropertiesText([['a', 1], ['b', undefined], ['c', true], ['d', 'x y']]), 'a=1\nc=true\nd=x y\n');
  const roundTrip = parsePropertiesText(formatPropertiesText([['brokerName', 'broker-a'], ['listenPort', 10911]]));
  assert.deepEqual(Object.fromEntries(roundTrip), { brokerName: 'broker-a', listenPort: '10911' });
});

test('refuses oversized bodies', () => {
  assert.throws(() => parsePropertiesText('a='.padEnd(MAX_PROPERTIES_TEXT_BYTES + 1, 'x')), (error: unknown) => isTideError(error, 'INVALID_PARAMETER'));
});
