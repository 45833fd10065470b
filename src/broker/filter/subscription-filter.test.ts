// Proves subscriptions become the right read-path filters on real record bytes (TAG with hash collisions, SQL92 on properties), that SQL92 expressions are compiled once per subscription in a bounded cache, and that unusable subscriptions are SUBSCRIPTION_PARSE_FAILED (23) with the error position.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isTideError } from '../../common/errors.js';
import { javaStringHashCode } from '../../common/java-hash.js';
import { parseHostAddress } from '../../protocol/host-address.js';
import { encodeProperties } from '../../protocol/message-properties.js';
import { encodeRecord } from '../../protocol/message-record.js';
import { buildSubscriptionData } from '../subscription-data.js';
import { readRecordProperties } from './record-properties.js';
import { createSubscriptionFilter, Sql92ExpressionCache, sql92CacheOf } from './subscription-filter.js';

function record(properties: Record<string, string>, options: { topic?: string; host?: string; body?: string } = {}): Buffer {
  const host = parseHostAddress(options.host ?? '127.0.0.1', 10911);
  return encodeRecord({
    topic: options.topic ?? 'T', queueId: 0, flag: 0, sysFlag: 0, bornTimestamp: 1, bornHost: host, storeHost: host, reconsumeTimes: 0,
    preparedTransactionOffset: 0, body: Buffer.from(options.body ?? 'body'), properties: encodeProperties(properties),
  }, 0, 0, 1);
}

const enabled = { enablePropertyFilter: true };

function parseFailure(run: () => unknown, remark: RegExp): void {
  assert.throws(run, (error: unknown) => {
    assert.ok(isTideError(error), String(error));
    assert.equal(error.responseCode, 23);
    assert.match(error.message, remark);
    return true;
  });
}

test('the properties field is found in V1 and V2 records, with IPv4 and IPv6 hosts', () => {
  const properties = { TAGS: 'A', level: '7' };
  for (const options of [{}, { topic: 'x'.repeat(200) }, { host: '::1' }, { body: '' }]) {
    assert.equal(readRecordProperties(record(properties, options)), encodeProperties(properties), JSON.stringify(options).slice(0, 40));
  }
  assert.equal(readRecordProperties(record({})), '');
  assert.equal(readRecordProperties(record(properties).subarray(0, 60)), null, 'a truncated record');
});

test('TAG subscriptions: the tags code skips misses, the exact tag removes "Aa"/"BB" collisions', () => {
  assert.equal(javaStringHashCode('Aa'), javaStringHashCode('BB'));
  const filter = createSubscriptionFilter('G', buildSubscriptionData('T', 'Aa || C'), enabled, new Sql92ExpressionCache())!;
  assert.equal(filter.matchesTagsCode!(javaStringHashCode('BB')), true, 'the cheap check cannot tell');
  assert.equal(filter.matchesTagsCode!(javaStringHashCode('D')), false);
  assert.equal(filter.matchesRecord!(record({ TAGS: 'BB' })), false);
  assert.equal(filter.matchesRecord!(record({ TAGS: 'Aa' })), true);
  assert.equal(filter.matchesRecord!(record({ TAGS: 'C' })), true);
  assert.equal(createSubscriptionFilter('G', buildSubscriptionData('T', '*'), enabled, new Sql92ExpressionCache()), undefined);
});

test('SQL92 subscriptions evaluate on the record properties, system ones included', () => {
  const subscription = buildSubscriptionData('T', "level > 5 AND TAGS IN ('A', 'B')", 'SQL92', 1);
  const filter = createSubscriptionFilter('G', subscription, enabled, new Sql92ExpressionCache())!;
  assert.equal(filter.matchesTagsCode, undefined, 'no cheap check: every record is examined');
  assert.equal(filter.matchesRecord!(record({ TAGS: 'A', level: '6' })), true);
  assert.equal(filter.matchesRecord!(record({ TAGS: 'C', level: '6' })), false);
  assert.equal(filter.matchesRecord!(record({ TAGS: 'B', level: '5' })), false);
  assert.equal(filter.matchesRecord!(record({ TAGS: 'B' })), false, 'missing property');
  assert.equal(filter.matchesRecord!(record({ TAGS: 'B', level: 'high' })), false, 'not a number');
  assert.equal(filter.matchesRecord!(Buffer.alloc(10)), false, 'garbage bytes never match');
});

test('unusable subscriptions answer 23 saying why, and where for a malformed expression', () => {
  const cache = new Sql92ExpressionCache();
  parseFailure(() => createSubscriptionFilter('G', buildSubscriptionData('T', 'a > 1', 'SQL92', 1), { enablePropertyFilter: false }, cache), /enablePropertyFilter=true/);
  parseFailure(() => createSubscriptionFilter('G', buildSubscriptionData('T', 'a > 1', 'XPATH', 1), enabled, cache), /unknown expression type "XPATH"/);
  parseFailure(() => createSubscriptionFilter('G', buildSubscriptionData('T', 'a >> 1', 'SQL92', 1), enabled, cache),
    /group G to topic T is malformed: unexpected ">"; expected a value, a property name or "\(" at line 1, column 4 \(offset 3\) in "a >> 1"/);
  parseFailure(() => createSubscriptionFilter('G', buildSubscriptionData('T', undefined, 'SQL92', 1), enabled, cache), /unexpected end of expression/);
  const long = `a = '${'x'.repeat(300)}' AND`;
  parseFailure(() => createSubscriptionFilter('G', buildSubscriptionData('T', long, 'SQL92', 1), enabled, cache), /in "a = 'x{195}…"$/);
});

test('the cache compiles once per group, topic, subVersion and expression, and stays bounded', () => {
  const cache = new Sql92ExpressionCache(3);
  const first = cache.compile('G', { topic: 'T', subString: 'a = 1', subVersion: 1 });
  assert.equal(cache.compile('G', { topic: 'T', subString: 'a = 1', subVersion: 1 }), first, 'same subscription, same compiled object');
  assert.notEqual(cache.compile('G', { topic: 'T', subString: 'a = 1', subVersion: 2 }), first, 'a new subVersion compiles again');
  assert.notEqual(cache.compile('G2', { topic: 'T', subString: 'a = 1', subVersion: 1 }), first);
  assert.equal(cache.size, 3);
  assert.equal(cache.compile('G', { topic: 'T', subString: 'a = 1', subVersion: 1 }), first, 'touching it makes it the newest');
  assert.throws(() => cache.compile('G', { topic: 'T', subString: 'a >', subVersion: 1 }), (error: unknown) => isTideError(error) && error.responseCode === 23);
  assert.equal(cache.size, 3, 'the oldest entry made room');
  assert.equal(cache.compile('G', { topic: 'T', subString: 'a = 1', subVersion: 1 }), first, 'the recently used entry survived');
  const small = new Sql92ExpressionCache(100, 60);
  small.compile('G', { topic: 'T', subString: `a = '${'x'.repeat(20)}'`, subVersion: 1 });
  small.compile('G', { topic: 'T', subString: `a = '${'y'.repeat(20)}'`, subVersion: 1 });
  assert.equal(small.size, 1, 'the character budget evicted the first expression');
  assert.ok(small.cachedChars <= 60);
  const owner = {};
  assert.equal(sql92CacheOf(owner), sql92CacheOf(owner), 'one cache per broker');
  assert.notEqual(sql92CacheOf(owner), sql92CacheOf({}));
});
