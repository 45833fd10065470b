// Proves the SEND request's extFields template (send-header-encoder.ts) writes the same frame bytes as the JSON writer's general loop and its string path, for plain and escaped properties, names needing escapes, text outside ASCII, maxReconsumeTimes, batches, and changing groups, topics and brokers; and that prepared (in-place) encoding agrees.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decodeCommand, encodeCommandAs, prepareCommand, writePreparedCommand } from '../protocol/remoting-codec.js';
import { encodeCommandViaString } from '../protocol/json-header-writer.js';
import type { RemotingCommand } from '../protocol/remoting-command.js';
import { createSendRequestTo } from './send-request.js';

function withoutEncoder(command: RemotingCommand): RemotingCommand {
  return { ...command, extFieldsEncoder: undefined };
}

function prepared(command: RemotingCommand): Buffer | undefined {
  const length = prepareCommand(command, command.opaque, command.flag);
  if (length < 0) return undefined;
  const out = Buffer.alloc(length + 8, 0xee);
  const end = writePreparedCommand(command, out, 4);
  assert.equal(end, 4 + length);
  return out.subarray(4, end);
}

const properties = [
  'UNIQ_KEY\u0001AC1100010000000000000000000000AB\u0002WAIT\u0001true\u0002',
  'UNIQ_KEY\u0001X\u0002TAGS\u0001a "quoted" \\ tag\u0002KEYS\u0001k1 k2\u0002',
  'TAGS\u0001tab\there\nnewline\u0002',
  'TAGS\u0001caf\u00e9 \u6f22\u5b57\u0002',
  '',
  'x'.repeat(3000),
  'UNIQ_KEY\u0001AC1100010000000000000000000000AC\u0002WAIT\u0001true\u0002',
  'UNIQ_KEY\u0001AC1100010000000000000000000000AC\u0002WAIT\u0001false\u0002TAGS\u0001t\u0002',
  'UNIQ_KEY\u0001a"b\\c\u0002WAIT\u0001true\u0002',
  'UNIQ_KEY\u0001\u00e9\u0002WAIT\u0001true\u0002',
  'UNIQ_KEY\u0001K\u0002lone \ud800 surrogate\u0002',
  'UNIQ_KEY\u0001K\u0002',
  'UNIQ_KEY\u0001K-without-separator',
];

describe('send extFields template', () => {
  it('writes what the general loop and the string path write', () => {
    let cases = 0;
    for (const group of ['group_1', 'g"2', 'grupp\u00e5']) {
      for (const topic of ['TopicA', 'T%RETRY%x']) {
        for (const broker of ['broker-a', 'b\\1']) {
          for (const text of properties) {
            for (const maxReconsumeTimes of [undefined, 16]) {
              for (const batch of [false, true]) {
                const message = { topic, body: Buffer.from('hello'), sysFlag: 4, flag: 7, properties: text, reconsumeTimes: 3, maxReconsumeTimes };
                const command = createSendRequestTo(group, 4, message, { topic, brokerName: broker, queueId: 5 }, 1_763_700_000_123, batch);
                assert.ok(command.extFieldsEncoder !== undefined);
                const expected = encodeCommandViaString(command, command.opaque, 0);
                assert.deepEqual(encodeCommandAs(command, command.opaque, 0), expected);
                assert.deepEqual(encodeCommandAs(withoutEncoder(command), command.opaque, 0), expected);
                const inPlace = prepared(command);
                if (inPlace !== undefined) assert.deepEqual(inPlace, expected);
                assert.deepEqual(decodeCommand(expected.subarray(4)).extFields, command.extFields);
                cases++;
              }
            }
          }
        }
      }
    }
    assert.equal(cases, 3 * 2 * 2 * properties.length * 2 * 2);
  });

  it('hands fields it does not know back to the general loop', () => {
    const command = createSendRequestTo('group_1', 4, { topic: 'TopicA', body: Buffer.alloc(0), sysFlag: 0, flag: 0, properties: 'a\u0001b\u0002' }, { topic: 'TopicA', brokerName: 'broker-a', queueId: 0 }, 1, false);
    (command.extFields as Record<string, unknown>).e = 12; // a caller that slipped a number past the type
    assert.deepEqual(encodeCommandAs(command, 9, 0), encodeCommandViaString(withoutEncoder(command), 9, 0));
  });
});
