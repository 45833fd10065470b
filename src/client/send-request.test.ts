// Proves the SEND_MESSAGE_V2 request the producer builds (createSendRequestTo, with its cached number texts and timestamps) encodes to the same frame bytes as a header built field by field with String(), for small, large, negative and odd values.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { encodeCommandAs } from '../protocol/remoting-codec.js';
import { createRequest } from '../protocol/remoting-command.js';
import { RequestCode } from '../protocol/request-code.js';
import { createSendRequestTo, DEFAULT_TOPIC, intText } from './send-request.js';

interface Case {
  sysFlag: number;
  flag: number;
  queueId: number;
  reconsumeTimes?: number;
  maxReconsumeTimes?: number;
  bornTimestamp: number;
  batch: boolean;
  defaultTopicQueueNums: number;
}

/** The header as the producer wrote it before the number caches: every field through String(). */
function reference(test: Case, properties: string, body: Buffer): Buffer {
  const fields: Record<string, string> = {
    a: 'group_1',
    b: 'TopicA',
    c: DEFAULT_TOPIC,
    d: String(test.defaultTopicQueueNums),
    e: String(test.queueId),
    f: String(test.sysFlag),
    g: String(test.bornTimestamp),
    h: String(test.flag | 0),
    i: properties,
    j: String(test.reconsumeTimes ?? 0),
    k: 'false',
    m: test.batch ? 'true' : 'false',
    n: 'broker-a',
  };
  if (test.maxReconsumeTimes !== undefined) fields.l = String(test.maxReconsumeTimes);
  const request = createRequest(test.batch ? RequestCode.SEND_BATCH_MESSAGE : RequestCode.SEND_MESSAGE_V2, fields, body);
  return encodeCommandAs(request, 77, 0);
}

describe('createSendRequestTo', () => {
  it('encodes byte for byte like the field-by-field header', () => {
    const body = Buffer.from('hello');
    const properties = 'UNIQ_KEY\u0001ABC\u0002WAIT\u0001true\u0002';
    const cases: Case[] = [
      { sysFlag: 0, flag: 0, queueId: 0, bornTimestamp: 1_700_000_000_000, batch: false, defaultTopicQueueNums: 4 },
      { sysFlag: 0x300 | 1, flag: -5, queueId: 1023, reconsumeTimes: 3, maxReconsumeTimes: 16, bornTimestamp: 1_700_000_000_001, batch: true, defaultTopicQueueNums: 8 },
      { sysFlag: 8, flag: 2 ** 31 - 1, queueId: 1024, reconsumeTimes: 0, maxReconsumeTimes: -1, bornTimestamp: 1_700_000_000_001, batch: false, defaultTopicQueueNums: 1024 },
      { sysFlag: 0, flag: 3.7, queueId: 65_535, bornTimestamp: 0, batch: false, defaultTopicQueueNums: 0 },
    ];
    for (const test of cases) {
      const request = createSendRequestTo(
        'group_1',
        test.defaultTopicQueueNums,
        { topic: 'TopicA', body, sysFlag: test.sysFlag, flag: test.flag, properties, reconsumeTimes: test.reconsumeTimes, maxReconsumeTimes: test.maxReconsumeTimes },
        { topic: 'TopicA', brokerName: 'broker-a', queueId: test.queueId },
        test.bornTimestamp,
        test.batch,
      );
      assert.deepEqual(encodeCommandAs(request, 77, 0), reference(test, properties, body), JSON.stringify(test));
    }
  });

  it('intText is String() for every kind of number', () => {
    for (const value of [0, 1, 9, 10, 1023, 1024, 4096, -1, -1024, 2 ** 31, 2 ** 32 + 5, 1.5, -0, Number.NaN, Number.POSITIVE_INFINITY, 1e21]) {
      assert.equal(intText(value), String(value), String(value));
    }
  });
});
