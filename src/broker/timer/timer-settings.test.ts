// Proves timer settings come from the broker config (numbers or broker.conf strings) over the defaults, the roll window stays within a third of retention, file-layout settings never come from the config, and bad values are refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_TIMER_SETTINGS, readTimerSettings, wheelSlotCount } from './timer-settings.js';

test('config keys override the defaults; the roll window follows retention', () => {
  assert.deepEqual(readTimerSettings(undefined), DEFAULT_TIMER_SETTINGS);
  assert.equal(DEFAULT_TIMER_SETTINGS.timerMaxDelaySec, 3_456_000, '40 days by default');
  const settings = readTimerSettings({ timerMaxDelaySec: '86400', timerWheelEnable: 'false', timerTickIntervalMs: 50, fileReservedTime: 6, timerSlotMs: 10, timerLogSegmentBytes: 640 });
  assert.equal(settings.timerMaxDelaySec, 86_400);
  assert.equal(settings.timerWheelEnable, false);
  assert.equal(settings.timerTickIntervalMs, 50);
  assert.equal(settings.timerRollWindowMs, 2 * 3_600_000, 'a third of a 6 h retention');
  assert.equal(settings.timerSlotMs, 1000, 'the slot width is not a broker setting');
  assert.equal(settings.timerLogSegmentBytes, DEFAULT_TIMER_SETTINGS.timerLogSegmentBytes);
  assert.equal(readTimerSettings({ fileReservedTime: 72 }).timerRollWindowMs, 24 * 3_600_000, 'never more than a day');
  assert.equal(readTimerSettings({}, { timerSlotMs: 100, timerRollWindowMs: 1000 }).timerSlotMs, 100, 'tests may shape the files');
  assert.equal(wheelSlotCount(DEFAULT_TIMER_SETTINGS), 90_002);
});

test('bad values are INVALID_PARAMETER', () => {
  assert.throws(() => readTimerSettings({ timerMaxDelaySec: 'forever' }), /timerMaxDelaySec must be a positive integer/);
  assert.throws(() => readTimerSettings({ timerTickIntervalMs: 0 }), /timerTickIntervalMs/);
  assert.throws(() => readTimerSettings({}, { timerLogSegmentBytes: 100 }), /multiple of 64/);
  assert.throws(() => readTimerSettings({}, { timerRollWindowMs: 2000 }), /at least four slots/);
});
