// Proves timer requests are read as the Java broker reads them: TIMER_DELAY_SEC before TIMER_DELAY_MS before TIMER_DELIVER_MS, malformed values and times beyond the horizon refused with MESSAGE_ILLEGAL naming the property.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isTideError } from '../../common/errors.js';
import { dropTimerRequest, hasTimerRequest, requestedDeliverMs } from './timer-properties.js';

const NOW = 1_700_000_000_000;
const HORIZON_MS = 3_456_000_000;

test('each property gives a delivery time, in Java precedence', () => {
  assert.equal(requestedDeliverMs(new Map([['TIMER_DELAY_SEC', '30']]), NOW, HORIZON_MS), NOW + 30_000);
  assert.equal(requestedDeliverMs(new Map([['TIMER_DELAY_MS', '1500']]), NOW, HORIZON_MS), NOW + 1500);
  assert.equal(requestedDeliverMs(new Map([['TIMER_DELIVER_MS', String(NOW + 7)]]), NOW, HORIZON_MS), NOW + 7);
  const all = new Map([['TIMER_DELIVER_MS', String(NOW + 7)], ['TIMER_DELAY_MS', '9'], ['TIMER_DELAY_SEC', '2']]);
  assert.equal(requestedDeliverMs(all, NOW, HORIZON_MS), NOW + 2000);
  all.delete('TIMER_DELAY_SEC');
  assert.equal(requestedDeliverMs(all, NOW, HORIZON_MS), NOW + 9);
  assert.equal(requestedDeliverMs(new Map([['TIMER_DELAY_SEC', '+5']]), NOW, HORIZON_MS), NOW + 5000, 'Long.parseLong takes a plus sign');
  assert.equal(requestedDeliverMs(new Map([['TIMER_DELAY_SEC', '-5']]), NOW, HORIZON_MS), NOW - 5000, 'a past time is returned as is (stored at once)');
  assert.equal(requestedDeliverMs(new Map([['TAGS', 'x']]), NOW, HORIZON_MS), undefined);
});

test('malformed values and times beyond the horizon are MESSAGE_ILLEGAL', () => {
  for (const [name, value] of [['TIMER_DELAY_SEC', 'soon'], ['TIMER_DELAY_MS', '1.5'], ['TIMER_DELIVER_MS', ''], ['TIMER_DELIVER_MS', ' 12'], ['TIMER_DELAY_MS', '99999999999999999999']]) {
    assert.throws(() => requestedDeliverMs(new Map([[name!, value!]]), NOW, HORIZON_MS), (error: unknown) => {
      assert.ok(isTideError(error, 'MESSAGE_ILLEGAL'));
      assert.equal(error.responseCode, 13);
      assert.match(error.message, new RegExp(name!));
      return true;
    });
  }
  assert.equal(requestedDeliverMs(new Map([['TIMER_DELIVER_MS', String(NOW + HORIZON_MS)]]), NOW, HORIZON_MS), NOW + HORIZON_MS, 'exactly the horizon is accepted');
  assert.throws(() => requestedDeliverMs(new Map([['TIMER_DELIVER_MS', String(NOW + HORIZON_MS + 1)]]), NOW, HORIZON_MS), /timerMaxDelaySec=3456000/);
  assert.throws(() => requestedDeliverMs(new Map([['TIMER_DELAY_SEC', '3456001']]), NOW, HORIZON_MS), /beyond the broker's maximum/);
});

test('hasTimerRequest and dropTimerRequest cover the three properties', () => {
  const properties = new Map([['TIMER_DELIVER_MS', '1'], ['TIMER_DELAY_MS', '1'], ['TIMER_DELAY_SEC', '1'], ['TAGS', 'a']]);
  assert.equal(hasTimerRequest(properties), true);
  dropTimerRequest(properties);
  assert.equal(hasTimerRequest(properties), false);
  assert.deepEqual([...properties.keys()], ['TAGS']);
});

test('ali-ons start-delivery time (__STARTDELIVERTIME) is an absolute time, read after the RocketMQ properties', () => {
  assert.equal(requestedDeliverMs(new Map([['__STARTDELIVERTIME', String(NOW + 3000)]]), NOW, HORIZON_MS), NOW + 3000);
  assert.equal(requestedDeliverMs(new Map([['__STARTDELIVERTIME', String(NOW + 3000)], ['TIMER_DELAY_MS', '5']]), NOW, HORIZON_MS), NOW + 5);
  assert.throws(() => requestedDeliverMs(new Map([['__STARTDELIVERTIME', 'tomorrow']]), NOW, HORIZON_MS), /__STARTDELIVERTIME/);
  const properties = new Map([['__STARTDELIVERTIME', '1'], ['TAGS', 'a']]);
  assert.equal(hasTimerRequest(properties), true);
  dropTimerRequest(properties);
  assert.deepEqual([...properties.keys()], ['TAGS']);
});
