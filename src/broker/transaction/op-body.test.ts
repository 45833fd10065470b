// Proves op-record bodies round-trip and that both RocketMQ forms (4.x "17", 5.x "17,18,") are read, skipping junk instead of failing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeOpBody, encodeOpBody } from './op-body.js';

test('op bodies round-trip and read both RocketMQ forms', () => {
  assert.equal(encodeOpBody([17]).toString(), '17');
  assert.equal(encodeOpBody([17, 18]).toString(), '17,18');
  assert.deepEqual(decodeOpBody(encodeOpBody([0, 5, 123456789012])), { offsets: [0, 5, 123456789012], invalid: 0 });
  assert.deepEqual(decodeOpBody(Buffer.from('17,18,')), { offsets: [17, 18], invalid: 0 });
  assert.deepEqual(decodeOpBody(Buffer.from('')), { offsets: [], invalid: 0 });
  assert.deepEqual(decodeOpBody(Buffer.from('4,x,-1,9')), { offsets: [4, 9], invalid: 2 });
});
