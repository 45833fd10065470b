// Proves name server settings accept only whitelisted tunables (CVE-2023-37582) and parse Java properties text.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NamesrvSettings, parsePropertiesText } from './namesrv-settings.js';
import { isTideError } from '../common/errors.js';

test('properties text: separators, comments, escapes and continuations', () => {
  const parsed = parsePropertiesText('# comment\n! also\n a=1\nb : 2\nc 3\nd=x\\\n   y\ne=\\u0041\\:\\=\\\\\nf=\n');
  assert.deepEqual([...parsed], [['a', '1'], ['b', '2'], ['c', '3'], ['d', 'xy'], ['e', 'A:=\\'], ['f', '']]);
});

test('updates apply whitelisted keys atomically and refuse paths and unknown keys', () => {
  const settings = new NamesrvSettings({}, { listenPort: '9876' });
  let notified = 0;
  settings.onChange(() => notified++);
  settings.update(parsePropertiesText('scanNotActiveBrokerInterval=5000\nenableTopicList=false'));
  assert.equal(settings.values.scanNotActiveBrokerInterval, 5000);
  assert.equal(settings.values.enableTopicList, false);
  assert.equal(notified, 1);
  for (const text of ['kvConfigPath=/tmp/x', 'configStorePath=/etc/cron.d/x', 'rocketmqHome=/tmp', 'listenPort=1', 'enableTopicList=true\nconfigBlackList=']) {
    assert.throws(() => settings.update(parsePropertiesText(text)), (error: unknown) => isTideError(error, 'NO_PERMISSION'), text);
  }
  assert.throws(() => settings.update(parsePropertiesText('scanNotActiveBrokerInterval=5')), (error: unknown) => isTideError(error, 'INVALID_PARAMETER'));
  assert.throws(() => settings.update(parsePropertiesText('enableTopicList=yes')), (error: unknown) => isTideError(error, 'INVALID_PARAMETER'));
  // Nothing from the refused updates leaked in.
  assert.equal(settings.values.enableTopicList, false);
  assert.equal(notified, 1);
  assert.equal(
    settings.toPropertiesText(),
    'enableAllTopicList=true\nenableTopicList=false\nlistenPort=9876\norderMessageEnable=true\nreturnOrderTopicConfigToBroker=true\nscanNotActiveBrokerInterval=5000\n',
  );
});
