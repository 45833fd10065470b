// Proves the iterator hand-over: messages are yielded in arrival order, a message counts as consumed when the next one is asked for or the loop is left, and closing abandons what is waiting.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { encodeRecord } from '../protocol/message-record.js';
import { decodeMessages } from './message-codec.js';
import { MessageChannel } from './message-channel.js';

const host = { ip: Buffer.from([127, 0, 0, 1]), port: 1 };
function message(offset: number) {
  const bytes = encodeRecord(
    { topic: 'T', queueId: 0, flag: 0, sysFlag: 0, bornTimestamp: 0, bornHost: host, storeHost: host, reconsumeTimes: 0, preparedTransactionOffset: 0, body: Buffer.from(String(offset)), properties: '' },
    offset,
    offset,
    0,
  );
  return decodeMessages(bytes, { topic: 'T', brokerName: 'b', queueId: 0 })[0]!;
}

describe('MessageChannel', () => {
  it('settles each message when the iterator moves on', async () => {
    const channel = new MessageChannel();
    const outcomes: string[] = [];
    const first = channel.offer(message(1)).then((outcome) => outcomes.push(`1:${outcome}`));
    const second = channel.offer(message(2)).then((outcome) => outcomes.push(`2:${outcome}`));
    const a = await channel.next();
    assert.equal(a.value!.text(), '1');
    await Promise.resolve();
    assert.deepEqual(outcomes, []);
    const b = await channel.next();
    assert.equal(b.value!.text(), '2');
    await first;
    assert.deepEqual(outcomes, ['1:SUCCESS']);
    const waiting = channel.next();
    const third = channel.offer(message(3));
    assert.equal((await waiting).value!.text(), '3');
    await second;
    channel.finishCurrent();
    assert.equal(await third, 'SUCCESS');
  });

  it('abandons the current and the waiting messages on close', async () => {
    const channel = new MessageChannel();
    const first = channel.offer(message(1));
    const second = channel.offer(message(2));
    await channel.next();
    channel.close();
    assert.equal(await first, 'ABANDONED');
    assert.equal(await second, 'ABANDONED');
    assert.equal((await channel.next()).done, true);
    assert.equal(await channel.offer(message(3)), 'ABANDONED');
  });
});
