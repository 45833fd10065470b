// Proves the send fast paths equal the general paths they replace: the SEND answer template gives the bytes of encodeCommandAs for the same answer, the plain-properties scan plus the broker's suffix gives what decode → addBrokerProperties → encode gives (and refuses every string where it would not), the index keys match indexKeysOf, and the direct V2 header reader reads what expanding the one-letter names read.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeProperties, encodeProperties, indexKeysOf, MessageProperty } from '../../protocol/message-properties.js';
import { encodeCommandAs } from '../../protocol/remoting-codec.js';
import { createRequest, createResponse, RemotingFlag } from '../../protocol/remoting-command.js';
import { RequestCode } from '../../protocol/request-code.js';
import { isTideError } from '../../common/errors.js';
import { sendAnswerFields } from './send-acks.js';
import { SendAnswerTemplate } from './send-answer.js';
import { parseHeaderInteger, parseSendMessageHeader } from './send-header.js';
import { plainIndexKeys, scanPlainProperties } from './send-properties.js';

test('the SEND answer template writes the bytes the general encoder writes', () => {
  const hosts = [
    { ip: Buffer.from([127, 0, 0, 1]), port: 10911 },
    { ip: Buffer.from([10, 255, 0, 7]), port: 65535 },
    { ip: Buffer.from('20010db8000000000000000000000001', 'hex'), port: 8080 },
  ];
  const regions: [string, boolean][] = [['DefaultRegion', true], ['eu "west"\\1', false], ['région', true]];
  const out = Buffer.alloc(4096);
  for (const storeHost of hosts) {
    for (const [regionId, traceOn] of regions) {
      const template = new SendAnswerTemplate(storeHost, regionId, traceOn);
      for (const [opaque, physicalOffset, queueId, queueOffset] of [
        [1, 0, 0, 0],
        [-2147483648, 2 ** 53 - 1, 7, 2 ** 53 - 1],
        [2147483647, 0x1_0000_0000, 1023, 4294967296],
        [42, 123456789012, 3, 99],
      ] as const) {
        const uniqueKey = '7F0000011A2B18B4AAC2595A1B2C0000';
        const request = createRequest(RequestCode.SEND_MESSAGE_V2);
        request.opaque = opaque;
        const expected = encodeCommandAs(
          createResponse(request, 0, undefined, sendAnswerFields(storeHost, physicalOffset, queueId, queueOffset, regionId, traceOn, uniqueKey)),
          opaque,
          RemotingFlag.RESPONSE,
        );
        const end = template.write(out, 16, opaque, physicalOffset, queueId, queueOffset, uniqueKey);
        assert.deepEqual(out.subarray(16, end), expected, `${regionId} ${opaque} ${physicalOffset}`);
      }
    }
  }
  const template = new SendAnswerTemplate(hosts[0]!, 'DefaultRegion', true);
  assert.equal(template.write(out, 0, 1, 0, 0, 0, 'needs "escaping"'), -1);
  assert.equal(template.write(out, 0, 1, 0, 0, 0, 'clé'), -1);
});

/** What the general path stores: decode, the broker's properties, encode. */
function generalProperties(raw: string, generatedUniqueKey: string): string {
  const properties = decodeProperties(raw);
  properties.delete(MessageProperty.POP_CK);
  properties.set(MessageProperty.MSG_REGION, 'DefaultRegion');
  properties.set(MessageProperty.TRACE_ON, 'true');
  const uniqueKey = properties.get(MessageProperty.UNIQ_KEY);
  if (uniqueKey === undefined || uniqueKey.length === 0) properties.set(MessageProperty.UNIQ_KEY, generatedUniqueKey);
  properties.set(MessageProperty.CLUSTER, 'DefaultCluster');
  return encodeProperties(properties);
}

function fastProperties(raw: string, generatedUniqueKey: string): { properties: string; keys: string[]; tags: string | undefined; waitFalse: boolean } | undefined {
  const scan = scanPlainProperties(raw);
  if (scan === undefined) return undefined;
  const uniqueKey = scan.uniqueKey ?? generatedUniqueKey;
  const uniquePair = scan.uniqueKey === undefined ? `UNIQ_KEY\u0001${generatedUniqueKey}\u0002` : '';
  const properties = raw + 'MSG_REGION\u0001DefaultRegion\u0002TRACE_ON\u0001true\u0002' + uniquePair + 'CLUSTER\u0001DefaultCluster\u0002';
  return { properties, keys: plainIndexKeys(scan.keys, uniqueKey), tags: scan.tags, waitFalse: scan.waitFalse };
}

test('plain properties plus the broker suffix equal the Map round trip, and every other string is refused', () => {
  const samples = [
    '',
    'TAGS\u0001TagA\u0002',
    'KEYS\u0001order-42 b  c\u0002UNIQ_KEY\u00017F0000011A2B\u0002WAIT\u0001true\u0002TAGS\u0001TagA\u0002',
    'WAIT\u0001FALSE\u0002',
    'a\u0001b\u0001c\u0002',
    'x\u0001\u0002',
    'TAGS\u0001A\u0002TAGS\u0001B\u0002',
    'TAGS\u0001A',
    '\u0001A\u0002',
    'noseparator\u0002',
    'UNIQ_KEY\u0001\u0002',
    'DELAY\u00013\u0002',
    'TRAN_MSG\u0001true\u0002',
    'POP_CK\u0001x\u0002',
    'CLUSTER\u0001other\u0002',
    'MSG_REGION\u0001r\u0002',
    'TRACE_ON\u0001false\u0002',
    'TIMER_DELAY_SEC\u000110\u0002',
    '__STARTDELIVERTIME\u00011\u0002',
    'KEYS\u0001\u0002',
  ];
  const keys = ['TAGS', 'KEYS', 'UNIQ_KEY', 'WAIT', 'k', 'key', 'KEY', 'DELAY', 'CLUSTER', 'é', ''];
  const values = ['', 'v', 'false', 'FaLsE', 'a b', ' a  b ', 'x\u0001y', 'TagA', 'é'];
  let seed = 7;
  const random = (limit: number): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) & 0x7fffffff;
    return seed % limit;
  };
  for (let index = 0; index < 5000; index++) {
    let text = '';
    const pairs = random(6);
    for (let pair = 0; pair < pairs; pair++) {
      // Mostly well-formed pairs, with a broken one now and then.
      const broken = random(20);
      text += keys[random(keys.length)] + (broken === 0 ? '' : '\u0001') + values[random(values.length)] + (broken === 1 ? '' : '\u0002');
    }
    samples.push(text);
  }
  let plainCount = 0;
  for (const raw of samples) {
    const fast = fastProperties(raw, 'GENERATED');
    const general = generalProperties(raw, 'GENERATED');
    const decoded = decodeProperties(general);
    const mustTakeGeneralPath = [MessageProperty.DELAY, MessageProperty.TRAN_MSG, MessageProperty.TIMER_DELAY_SEC].some((name) => decodeProperties(raw).has(name));
    if (fast === undefined) {
      // Refusing is always safe; refusing the messages the fast path is for is what must not happen.
      assert.ok(raw.length > 0, 'the empty string is plain');
      continue;
    }
    plainCount++;
    assert.ok(!mustTakeGeneralPath, JSON.stringify(raw));
    assert.equal(fast.properties, general, JSON.stringify(raw));
    assert.deepEqual(fast.keys, indexKeysOf(general), JSON.stringify(raw));
    assert.equal(fast.tags, decoded.get(MessageProperty.TAGS));
    assert.equal(fast.waitFalse, decoded.get(MessageProperty.WAIT)?.toLowerCase() === 'false');
  }
  assert.ok(plainCount > 500, `only ${plainCount} samples were plain`);
  assert.notEqual(scanPlainProperties('KEYS\u0001order-42\u0002UNIQ_KEY\u0001ABC\u0002WAIT\u0001true\u0002TAGS\u0001TagA\u0002'), undefined);
});

/** The previous reader: the one-letter names expanded into a second object. */
const V2_FIELD_NAMES: Readonly<Record<string, string>> = {
  a: 'producerGroup', b: 'topic', c: 'defaultTopic', d: 'defaultTopicQueueNums', e: 'queueId', f: 'sysFlag',
  g: 'bornTimestamp', h: 'flag', i: 'properties', j: 'reconsumeTimes', k: 'unitMode', l: 'maxReconsumeTimes',
  m: 'batch', n: 'brokerName',
};

test('V2 headers read directly give what the expanded names gave; integers follow the general rules', () => {
  const v2 = { a: 'PG', b: 'T', c: 'TBW102', d: '4', e: '-1', f: '4', g: '1700000000000', h: '3', i: 'TAGS\u0001A\u0002', j: '', k: 'TRUE', l: ' 16 ', m: 'false', n: 'broker-a' };
  const parsed = parseSendMessageHeader(createRequest(RequestCode.SEND_MESSAGE_V2, v2));
  const full: Record<string, string> = {};
  for (const [key, value] of Object.entries(v2)) full[V2_FIELD_NAMES[key] ?? key] = value;
  assert.deepEqual(parsed, parseSendMessageHeader(createRequest(RequestCode.SEND_MESSAGE, full)));
  assert.deepEqual(
    { queueId: parsed.queueId, reconsumeTimes: parsed.reconsumeTimes, unitMode: parsed.unitMode, maxReconsumeTimes: parsed.maxReconsumeTimes, batch: parsed.batch },
    { queueId: -1, reconsumeTimes: undefined, unitMode: true, maxReconsumeTimes: 16, batch: false },
  );
  for (const [text, value] of [['0', 0], ['-0', -0], ['007', 7], [' 12', 12], ['+5', 5], ['123456789012345', 123456789012345], ['9007199254740991', 9007199254740991]] as const) {
    assert.equal(parseHeaderInteger('x', text), value, text);
  }
  for (const text of ['', '-', '1.5', '1e3', 'abc', '9007199254740993', '12a']) {
    assert.throws(() => parseHeaderInteger('x', text), (error) => isTideError(error, 'INVALID_PARAMETER'), text);
  }
  assert.throws(() => parseSendMessageHeader(createRequest(RequestCode.SEND_MESSAGE_V2, { ...v2, b: undefined as unknown as string })), (error) => isTideError(error, 'INVALID_PARAMETER'));
});
