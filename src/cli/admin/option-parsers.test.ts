// Proves the `tidemq admin` option parsers accept mqadmin's value formats (timestamps as ms, `yyyy-MM-dd#HH:mm:ss:SSS` local time or `now`; `+key=value` attributes; true/false; permission bits) and refuse anything else with commander's InvalidArgumentError.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidArgumentError } from 'commander';
import { defaultNamesrvAddr } from './admin-action.js';
import { booleanText, nonNegativeInteger, parseTimestamp, permission, positiveInteger, topicAttributes } from './option-parsers.js';

test('timestamps: milliseconds, mqadmin dates in local time, and now', () => {
  assert.equal(parseTimestamp('0'), 0);
  assert.equal(parseTimestamp('1700000000123'), 1_700_000_000_123);
  assert.equal(parseTimestamp('now', 42), 42);
  assert.equal(parseTimestamp('2024-02-29#13:45:07:089'), new Date(2024, 1, 29, 13, 45, 7, 89).getTime());
  for (const bad of ['', 'yesterday', '2024-02-30#00:00:00:000', '2024-13-01#00:00:00:000', '2024-01-01#24:00:00:000', '2024-01-01 00:00:00', '-5', '99999999999999999999']) {
    assert.throws(() => parseTimestamp(bad), InvalidArgumentError, bad);
  }
});

test('topic attributes: +key=value items joined by commas', () => {
  assert.deepEqual(topicAttributes('+message.type=FIFO'), { 'message.type': 'FIFO' });
  assert.deepEqual(topicAttributes('+message.type=DELAY, +queue.type=BatchCQ'), { 'message.type': 'DELAY', 'queue.type': 'BatchCQ' });
  assert.deepEqual(topicAttributes('message.type=NORMAL'), { 'message.type': 'NORMAL' });
  for (const bad of ['', '+', '+message.type', '+=FIFO', '+message.type=', '-message.type']) assert.throws(() => topicAttributes(bad), InvalidArgumentError, bad);
});

test('numbers, booleans and permission bits', () => {
  assert.equal(nonNegativeInteger('0'), 0);
  assert.equal(nonNegativeInteger(' 16 '), 16);
  assert.equal(positiveInteger('3'), 3);
  assert.equal(booleanText('TRUE'), true);
  assert.equal(booleanText('false'), false);
  assert.equal(permission('6'), 6);
  for (const bad of ['', '-1', '1.5', 'x']) assert.throws(() => nonNegativeInteger(bad), InvalidArgumentError, bad);
  assert.throws(() => positiveInteger('0'), InvalidArgumentError);
  assert.throws(() => booleanText('yes'), InvalidArgumentError);
  assert.throws(() => permission('16'), InvalidArgumentError);
});

test('the name server defaults to NAMESRV_ADDR, else 127.0.0.1:9876', () => {
  assert.equal(defaultNamesrvAddr({}), '127.0.0.1:9876');
  assert.equal(defaultNamesrvAddr({ NAMESRV_ADDR: ' ' }), '127.0.0.1:9876');
  assert.equal(defaultNamesrvAddr({ NAMESRV_ADDR: '10.0.0.1:9876;10.0.0.2:9876' }), '10.0.0.1:9876;10.0.0.2:9876');
});
