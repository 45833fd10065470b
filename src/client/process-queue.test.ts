// Proves the process queue's offset rule: finishing messages out of order commits only up to the oldest unfinished one, counts and bytes track what is cached, and clearing leaves running handlers harmless.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { encodeRecord } from '../protocol/message-record.js';
import { decodeMessages } from './message-codec.js';
import { ProcessQueue } from './process-queue.js';

const host = { ip: Buffer.from([127, 0, 0, 1]), port: 1 };
function messages(fromOffset: number, count: number) {
  const records = Array.from({ length: count }, (_, index) =>
    encodeRecord(
      { topic: 'T', queueId: 0, flag: 0, sysFlag: 0, bornTimestamp: 0, bornHost: host, storeHost: host, reconsumeTimes: 0, preparedTransactionOffset: 0, body: Buffer.alloc(10), properties: '' },
      fromOffset + index,
      (fromOffset + index) * 100,
      0,
    ),
  );
  return decodeMessages(Buffer.concat(records), { topic: 'T', brokerName: 'b', queueId: 0 });
}

describe('ProcessQueue', () => {
  it('commits up to the oldest unfinished message', () => {
    const pq = new ProcessQueue();
    assert.equal(pq.committableOffset(), -1);
    const entries = pq.put(messages(10, 5));
    assert.equal(pq.count, 5);
    assert.equal(pq.bytes, 50);
    assert.equal(pq.span, 4);
    assert.equal(pq.finish([entries[2]!, entries[3]!]), 10);
    assert.equal(pq.finish([entries[0]!]), 11);
    assert.equal(pq.finish([entries[1]!]), 14);
    assert.equal(pq.finish([entries[4]!]), 15);
    assert.equal(pq.count, 0);
    assert.equal(pq.bytes, 0);
  });

  it('ignores duplicates and double finishes, and hands out the front for orderly consumption', () => {
    const pq = new ProcessQueue();
    const first = pq.put(messages(0, 3));
    assert.equal(pq.put(messages(1, 2)).length, 0, 'offsets already cached are ignored');
    assert.deepEqual(pq.front(2).map((entry) => entry.message.queueOffset), [0, 1]);
    pq.finish([first[0]!]);
    pq.finish([first[0]!]);
    assert.equal(pq.count, 2);
    assert.deepEqual(pq.front(5).map((entry) => entry.message.queueOffset), [1, 2]);
  });

  it('clear() marks entries finished so late finishes change nothing', () => {
    const pq = new ProcessQueue();
    const entries = pq.put(messages(0, 3));
    pq.clear();
    assert.equal(pq.count, 0);
    pq.finish(entries);
    assert.equal(pq.count, 0);
    assert.equal(pq.bytes, 0);
  });
});
