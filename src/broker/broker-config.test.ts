// Proves broker.conf-style properties parse into a typed BrokerConfig with clear errors for bad values, that brokerRole SYNC_MASTER and SLAVE refuse to start (no replication yet), and that the limits must be positive integers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isTideError } from '../common/errors.js';
import { brokerConfigFromProperties, createBrokerConfig, DEFAULT_BROKER_CONFIG, parseNamesrvAddr, validateBrokerConfig } from './broker-config.js';
import { Broker } from './broker.js';
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

test('brokerRole: ASYNC_MASTER runs; SYNC_MASTER and SLAVE refuse to start with an error naming the setting', () => {
  assert.equal(DEFAULT_BROKER_CONFIG.brokerRole, 'ASYNC_MASTER');
  assert.equal(brokerConfigFromProperties({ storePathRootDir: '/x', brokerRole: 'ASYNC_MASTER' }).config.brokerRole, 'ASYNC_MASTER');
  for (const role of ['SYNC_MASTER', 'SLAVE']) {
    const refused = (error: unknown): boolean => isTideError(error, 'INVALID_PARAMETER') && error.message.includes(`brokerRole=${role}`) && /replication/.test(error.message);
    assert.throws(() => brokerConfigFromProperties({ storePathRootDir: '/x', brokerRole: role }), refused);
    // A config built in code is refused by the broker itself, before anything is opened.
    const config = createBrokerConfig({ storePathRootDir: '/nonexistent/never-created', brokerIP1: '127.0.0.1', brokerRole: role as 'SLAVE' });
    assert.throws(() => new Broker(config), refused);
  }
  assert.throws(() => brokerConfigFromProperties({ storePathRootDir: '/x', brokerRole: 'MASTER' }), (error: unknown) => isTideError(error, 'INVALID_PARAMETER') && /brokerRole/.test(error.message));
});

test('the limits parse as positive integers and default to their documented values', () => {
  const { config } = brokerConfigFromProperties({
    storePathRootDir: '/x', maxTopicCount: '5', maxSubscriptionGroupCount: '6', maxConsumersPerGroup: '7', maxProducersPerGroup: '8', maxProducerGroupCount: '9', maxOpenConsumeQueueFiles: '10',
  });
  assert.deepEqual(
    [config.maxTopicCount, config.maxSubscriptionGroupCount, config.maxConsumersPerGroup, config.maxProducersPerGroup, config.maxProducerGroupCount, config.maxOpenConsumeQueueFiles],
    [5, 6, 7, 8, 9, 10],
  );
  assert.deepEqual(
    [DEFAULT_BROKER_CONFIG.maxTopicCount, DEFAULT_BROKER_CONFIG.maxSubscriptionGroupCount, DEFAULT_BROKER_CONFIG.maxConsumersPerGroup, DEFAULT_BROKER_CONFIG.maxProducersPerGroup, DEFAULT_BROKER_CONFIG.maxOpenConsumeQueueFiles],
    [10_000, 10_000, 1_000, 1_000, 1_000],
  );
  for (const key of ['maxTopicCount', 'maxSubscriptionGroupCount', 'maxConsumersPerGroup', 'maxProducersPerGroup', 'maxProducerGroupCount', 'maxOpenConsumeQueueFiles']) {
    assert.throws(() => brokerConfigFromProperties({ storePathRootDir: '/x', [key]: '0' }), (error: unknown) => isTideError(error, 'INVALID_PARAMETER') && error.message.includes(key));
    assert.throws(() => validateBrokerConfig(createBrokerConfig({ storePathRootDir: '/x', brokerIP1: '127.0.0.1', [key]: 1.5 })), (error: unknown) => isTideError(error, 'INVALID_PARAMETER') && error.message.includes(key));
  }
});
