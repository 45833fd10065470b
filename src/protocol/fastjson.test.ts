// Proves the fastjson writer and reader produce and accept the exact literal forms Java RocketMQ tools exchange.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fastJsonEntries, type FastJsonValue, MAX_DEPTH, parseFastJson, toFastJson, toFastJsonBuffer } from './fastjson.js';
import { isTideError } from '../common/errors.js';

test('plain objects are standard JSON with fields sorted and null/undefined fields dropped', () => {
  const text = toFastJson({ topic: 'T', brokerName: 'b', queueId: 3, skipped: undefined, alsoSkipped: null, list: [1, null, 'x'] });
  assert.equal(text, '{"brokerName":"b","list":[1,null,"x"],"queueId":3,"topic":"T"}');
  assert.deepEqual(JSON.parse(text), { brokerName: 'b', list: [1, null, 'x'], queueId: 3, topic: 'T' });
});

test('a MessageQueue-keyed Map is written with JSON objects as keys, like fastjson does for TopicStatsTable', () => {
  const offsetTable = new Map([
    [{ topic: 'T', brokerName: 'b', queueId: 3 }, { minOffset: 0, maxOffset: 10, lastUpdateTimestamp: 1700000000000 }],
  ]);
  assert.equal(
    toFastJson({ offsetTable }),
    '{"offsetTable":{{"brokerName":"b","queueId":3,"topic":"T"}:{"lastUpdateTimestamp":1700000000000,"maxOffset":10,"minOffset":0}}}',
  );
});

test('Maps with number keys are written unquoted, plain objects with numeric keys stay quoted', () => {
  assert.equal(toFastJson(new Map([[0, 'a:1'], [1, 'b:2']])), '{0:"a:1",1:"b:2"}');
  assert.equal(toFastJson({ brokerAddrs: { 0: '10.0.0.1:10911' } }), '{"brokerAddrs":{"0":"10.0.0.1:10911"}}');
});

test('special values: Set, Date, Buffer, bigint, NaN, escapes', () => {
  assert.equal(toFastJson(new Set(['a', 'b'])), '["a","b"]');
  assert.equal(toFastJson(new Date(1700000000000)), '1700000000000');
  assert.equal(toFastJson(Buffer.from('hi')), '"aGk="');
  assert.equal(toFastJson(2n ** 63n - 1n), '9223372036854775807');
  assert.equal(toFastJson([Number.NaN, -0]), '[null,0]');
  assert.equal(toFastJson('a"b\\c\n\u0001'), '"a\\"b\\\\c\\n\\u0001"');
  assert.deepEqual(toFastJsonBuffer({ a: 'é' }), Buffer.from('{"a":"é"}'));
});

test('parses a ConsumeStats body exactly as Java 4.9 writes it', () => {
  const java =
    '{"consumeTps":0.0,"offsetTable":{{"brokerName":"broker-a","queueId":1,"topic":"TopicTest"}:{"brokerOffset":250,"consumerOffset":248,"lastTimestamp":1700000000000,"pullOffset":250},{"brokerName":"broker-a","queueId":0,"topic":"TopicTest"}:{"brokerOffset":251,"consumerOffset":251,"lastTimestamp":0,"pullOffset":251}}}';
  const parsed = parseFastJson(java) as { consumeTps: number; offsetTable: Map<FastJsonValue, FastJsonValue> };
  assert.equal(parsed.consumeTps, 0);
  assert.ok(parsed.offsetTable instanceof Map);
  const entries = fastJsonEntries(parsed.offsetTable);
  assert.equal(entries.length, 2);
  assert.deepEqual(entries[0], [
    { brokerName: 'broker-a', queueId: 1, topic: 'TopicTest' },
    { brokerOffset: 250, consumerOffset: 248, lastTimestamp: 1700000000000, pullOffset: 250 },
  ]);
  // What we write reads back the same way.
  assert.deepEqual(parseFastJson(toFastJson(parsed)), parsed);
});

test('parses the old route form with unquoted Long keys and quoted keys alike', () => {
  const old = '{"brokerDatas":[{"brokerAddrs":{0:"10.0.0.1:10911",1:"10.0.0.2:10911"},"brokerName":"broker-a","cluster":"DefaultCluster"}]}';
  const parsed = parseFastJson(old) as { brokerDatas: Array<{ brokerAddrs: Record<string, string> }> };
  assert.deepEqual(parsed.brokerDatas[0]!.brokerAddrs, { 0: '10.0.0.1:10911', 1: '10.0.0.2:10911' });
  const standard = parseFastJson('{"brokerAddrs":{"0":"10.0.0.1:10911"}}') as { brokerAddrs: Record<string, string> };
  assert.equal(standard.brokerAddrs['0'], '10.0.0.1:10911');
});

test('tolerates single quotes, identifier keys, trailing commas and whitespace', () => {
  assert.deepEqual(parseFastJson(" { topic : 'T', list: [1, 2,], } "), { topic: 'T', list: [1, 2] });
  assert.deepEqual(parseFastJson('"\\u00e9\\t\\/"'), 'é\t/');
  assert.deepEqual(parseFastJson(Buffer.from('[true,false,null,-1.5e3]')), [true, false, null, -1500]);
});

test('a __proto__ key stays an own data property', () => {
  const parsed = parseFastJson('{"__proto__":{"polluted":true}}') as Record<string, unknown>;
  assert.equal(Object.getPrototypeOf(parsed), Object.prototype);
  assert.deepEqual(Object.keys(parsed), ['__proto__']);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});

test('malformed input is an INVALID_PARAMETER TideError, never a crash', () => {
  for (const bad of ['', '{', '{"a":}', '[1 2]', '"abc', 'tru', '{"a":1}x', '{:1}', '"\\x"', '01', '"a\u0001"']) {
    assert.throws(() => parseFastJson(bad), (error: unknown) => isTideError(error, 'INVALID_PARAMETER'), bad);
  }
  const deep = '['.repeat(MAX_DEPTH + 2) + ']'.repeat(MAX_DEPTH + 2);
  assert.throws(() => parseFastJson(deep), (error: unknown) => isTideError(error, 'INVALID_PARAMETER'));
});
