// Proves the Settings answer carries the fields the official clients require, from the proxy defaults and the consumer group's config.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newSubscriptionGroupConfig } from '../../broker/subscription-group-manager.js';
import { DEFAULT_SETTINGS_POLICY, mergeConsumerSettings, mergeProducerSettings } from './client-settings.js';
import { acceptedMessageTypes, permissionOf } from './route-service.js';
import { newTopicConfig } from '../../broker/topic-config-manager.js';
import { ClientType, MessageType, Permission, type SettingsPb } from './proto-types.js';

const POLICY = { ...DEFAULT_SETTINGS_POLICY, maxMessageSizeBytes: 4 * 1024 * 1024 };

test('producers get an exponential backoff and the broker body limit', () => {
  const raw: SettingsPb = { client_type: ClientType.PRODUCER, publishing: { topics: [{ name: 'T' }], max_body_size: 0, validate_message_type: false }, pub_sub: 'publishing', user_agent: null, metric: null };
  const merged = mergeProducerSettings(raw, POLICY);
  assert.equal(merged.backoff_policy?.max_attempts, 3);
  assert.deepEqual(merged.backoff_policy?.exponential_backoff, { initial: { seconds: 0, nanos: 10_000_000 }, max: { seconds: 1, nanos: 0 }, multiplier: 2 });
  assert.deepEqual(merged.publishing, { topics: [{ name: 'T' }], max_body_size: 4 * 1024 * 1024, validate_message_type: true });
  assert.equal(merged.client_type, ClientType.PRODUCER);
  assert.deepEqual(merged.metric, { on: false });
});

test('consumers get batch size, long polling, FIFO and the group retry policy', () => {
  const raw: SettingsPb = { client_type: ClientType.PUSH_CONSUMER, subscription: { group: { name: 'G' }, subscriptions: [] }, pub_sub: 'subscription', user_agent: null, metric: null };
  const customized = mergeConsumerSettings(raw, newSubscriptionGroupConfig('G', { retryMaxTimes: 4, consumeMessageOrderly: true }), POLICY);
  assert.equal(customized.subscription?.receive_batch_size, 32);
  assert.deepEqual(customized.subscription?.long_polling_timeout, { seconds: 20, nanos: 0 });
  assert.equal(customized.subscription?.fifo, true);
  assert.equal(customized.backoff_policy?.max_attempts, 5);
  assert.equal(customized.backoff_policy?.customized_backoff?.next.length, 18);
  assert.deepEqual(customized.backoff_policy?.customized_backoff?.next[0], { seconds: 1, nanos: 0 });
  const exponential = mergeConsumerSettings(raw, newSubscriptionGroupConfig('G', { groupRetryPolicy: { type: 'EXPONENTIAL', exponentialRetryPolicy: { initial: 2000, max: 60_000, multiplier: 3 } } }), POLICY);
  assert.deepEqual(exponential.backoff_policy?.exponential_backoff, { initial: { seconds: 2, nanos: 0 }, max: { seconds: 60, nanos: 0 }, multiplier: 3 });
  assert.equal(exponential.backoff_policy?.max_attempts, 17);
  assert.equal(exponential.subscription?.fifo, false);
});

test('routes advertise the types a topic accepts and its permission', () => {
  const topic = (type?: string) => newTopicConfig('T', { attributes: type === undefined ? {} : { 'message.type': type } });
  assert.deepEqual(acceptedMessageTypes(topic()), [MessageType.NORMAL]);
  assert.deepEqual(acceptedMessageTypes(topic('FIFO')), [MessageType.FIFO]);
  assert.deepEqual(acceptedMessageTypes(topic('MIXED')), [MessageType.NORMAL, MessageType.FIFO, MessageType.DELAY, MessageType.TRANSACTION]);
  assert.deepEqual(acceptedMessageTypes(topic('bogus')), [MessageType.UNSPECIFIED]);
  assert.equal(permissionOf(6), Permission.READ_WRITE);
  assert.equal(permissionOf(4), Permission.READ);
  assert.equal(permissionOf(2), Permission.WRITE);
  assert.equal(permissionOf(1), Permission.NONE);
});
