// Proves broker.conf-style properties parse into a typed BrokerConfig with clear errors for bad values.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isTideError } from '../common/errors.js';
import { brokerConfigFromProperties, DEFAULT_BROKER_CONFIG, parseNamesrvAddr } from './broker-config.js';
import { parseDelayLevels } from './schedule/delay-levels.js';

test('strings become numbers and booleans; unknown keys are reported, not refused', () => {
  const { config, unknownKeys } = brokerConfigFromProperties({
    storePathRootDir: '/tmp/x',
    brokerName: 'broker-b',
    brokerId: '1',
    listenPort: '0',
    autoCreateTopicEnable: 'FALSE',
    flushDiskType: 'SYNC_FLUSH',
    brokerIP1: '10.1.2.3',
    deleteWhen: '04',
  });
  assert.equal(config.brokerName, 'broker-b');
  assert.equal(config.brokerId, 1);
  assert.equal(config.listenPort, 0);
  assert.equal(config.autoCreateTopicEnable, false);
  assert.equal(config.flushDiskType, 'SYNC_FLUSH');
  assert.equal(config.brokerIP1, '10.1.2.3');
  assert.equal(config.defaultTopicQueueNums, DEFAULT_BROKER_CONFIG.defaultTopicQueueNums);
  assert.equal(config.brokerClusterName, 'DefaultCluster');
  assert.deepEqual(unknownKeys, ['deleteWhen']);
});

test('overrides win over properties', () => {
  const { config } = brokerConfigFromProperties({ storePathRootDir: '/a', listenPort: '10911' }, { listenPort: 0, storePathRootDir: '/b' });
  assert.equal(config.listenPort, 0);
  assert.equal(config.storePathRootDir, '/b');
});

test('bad values name the key', () => {
  const cases: Array<[Record<string, string>, RegExp]> = [
    [{ storePathRootDir: '/x', listenPort: 'ten' }, /listenPort/],
    [{ storePathRootDir: '/x', listenPort: '70000' }, /listenPort/],
    [{ storePathRootDir: '/x', longPollingEnable: 'yes' }, /longPollingEnable/],
    [{ storePathRootDir: '/x', flushDiskType: 'SOMETIMES' }, /flushDiskType/],
    [{ storePathRootDir: '/x', maxHeldPullRequests: '0' }, /maxHeldPullRequests/],
    [{ brokerName: 'b' }, /storePathRootDir/],
    [{ storePathRootDir: '/x', messageDelayLevel: '1s soon' }, /soon/],
  ];
  for (const [properties, pattern] of cases) {
    assert.throws(() => brokerConfigFromProperties(properties), (error: unknown) => isTideError(error, 'INVALID_PARAMETER') && pattern.test(error.message));
  }
});

test('name server lists and delay levels parse', () => {
  assert.deepEqual(parseNamesrvAddr('127.0.0.1:9876; 10.0.0.2:9876;'), ['127.0.0.1:9876', '10.0.0.2:9876']);
  assert.deepEqual(parseNamesrvAddr(undefined), []);
  const levels = parseDelayLevels(DEFAULT_BROKER_CONFIG.messageDelayLevel);
  assert.equal(levels.length, 18);
  assert.equal(levels[0], 1000);
  assert.equal(levels[4], 60_000);
  assert.equal(levels[17], 2 * 3_600_000);
  assert.deepEqual(parseDelayLevels('500ms 1d'), [500, 86_400_000]);
  assert.throws(() => parseDelayLevels('1s 5x'), /5x/);
});
