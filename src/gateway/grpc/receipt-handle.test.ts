// Proves gateway receipt handles and transaction ids round-trip and that anything malformed is refused with the client-facing code.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Code, StatusError } from './code.js';
import { decodeReceiptHandle, encodeReceiptHandle } from './receipt-handle.js';
import { decodeTransactionId, encodeTransactionId } from './transaction-id.js';

function refusedWith(code: number) {
  return (error: unknown): boolean => error instanceof StatusError && error.code === code;
}

test('receipt handles carry the commit-log offset and the POP handle', () => {
  for (const receipt of [
    { commitLogOffset: 0, popHandle: '0 1700000000000 60000 0 0 broker-a 3 17' },
    { commitLogOffset: 2 ** 52 + 7, popHandle: 'x.y z' },
  ]) {
    const handle = encodeReceiptHandle(receipt);
    assert.match(handle, /^T1\.[0-9a-z]+\.[A-Za-z0-9_-]+$/);
    assert.deepEqual(decodeReceiptHandle(handle), receipt);
  }
});

test('malformed receipt handles are INVALID_RECEIPT_HANDLE', () => {
  for (const handle of ['', 'garbage', 'T1.', 'T1.12.', 'T2.12.AAAA', 'T1.-1.AAAA', 'T1.12.%%%', 'T1.zzzzzzzzzzzz.AAAA', `T1.1.${'A'.repeat(5000)}`]) {
    assert.throws(() => decodeReceiptHandle(handle), refusedWith(Code.INVALID_RECEIPT_HANDLE), handle);
  }
});

test('transaction ids carry the half message offsets and the broker transaction id', () => {
  const transaction = { commitLogOffset: 123_456_789, queueOffset: 42, brokerTransactionId: '7F0000010001ABCDEF' };
  assert.deepEqual(decodeTransactionId(encodeTransactionId(transaction)), transaction);
  for (const id of ['', 'TX1', 'TX1.1.2', 'TX2.1.2.AA', 'TX1.1.x!.AA', 'TX1.1.2.A.B']) {
    assert.throws(() => decodeTransactionId(id), refusedWith(Code.INVALID_TRANSACTION_ID), id);
  }
});
