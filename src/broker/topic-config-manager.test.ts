// Proves the topic table has RocketMQ's system topics, auto-creates from TBW102 as Java does, survives a restart via topics.json, and refuses new topics past maxTopicCount with SYSTEM_BUSY.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isTideError } from '../common/errors.js';
import { newTopicConfig, TopicConfigManager, validateTopic } from './topic-config-manager.js';

function options(root: string, autoCreateTopicEnable = true) {
  return { storePathRootDir: root, brokerClusterName: 'DefaultCluster', brokerName: 'broker-a', autoCreateTopicEnable, defaultTopicQueueNums: 8 };
}

test('system topics and auto-creation through TBW102', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'tidemq-topics-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const manager = new TopicConfigManager(options(root));
  assert.equal(manager.get('TBW102')?.perm, 7);
  assert.equal(manager.get('TBW102')?.writeQueueNums, 8);
  assert.equal(manager.get('SCHEDULE_TOPIC_XXXX')?.readQueueNums, 18);
  assert.equal(manager.get('SELF_TEST_TOPIC')?.writeQueueNums, 1);
  assert.ok(manager.isSystemTopic('SCHEDULE_TOPIC_XXXX'));

  const changes: string[] = [];
  manager.onChange((topic) => changes.push(topic));
  const created = manager.createTopicInSendMessageMethod('OrderTopic', 'TBW102', 4, 0);
  assert.equal(created?.readQueueNums, 4);
  assert.equal(created?.perm, 6, 'the inherit bit is not passed on');
  assert.equal(manager.createTopicInSendMessageMethod('Big', 'TBW102', 100, 0)?.writeQueueNums, 8, 'capped by TBW102');
  assert.equal(manager.createTopicInSendMessageMethod('X', 'NoSuchTemplate', 4, 0), undefined);
  assert.deepEqual(changes, ['OrderTopic', 'Big']);

  const retry = manager.createTopicInSendMessageBackMethod('%RETRY%group1', 1, 6, 0);
  assert.equal(retry.writeQueueNums, 1);
  await manager.persist();

  const file = JSON.parse(readFileSync(join(root, 'config', 'topics.json'), 'utf8'));
  assert.equal(file.topicConfigTable.OrderTopic.readQueueNums, 4);
  assert.ok(file.dataVersion.counter >= 3);

  const reopened = new TopicConfigManager(options(root));
  assert.deepEqual(reopened.get('OrderTopic'), created);
  assert.equal(reopened.get('%RETRY%group1')?.readQueueNums, 1);
  assert.equal(reopened.dataVersion.counter, manager.dataVersion.counter);
});

test('auto-creation off refuses, and TBW102 is not offered', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'tidemq-topics-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const manager = new TopicConfigManager(options(root, false));
  assert.equal(manager.get('TBW102'), undefined);
  assert.equal(manager.createTopicInSendMessageMethod('T', 'TBW102', 4, 0), undefined);
  manager.updateTopicConfig({ topicName: 'T', readQueueNums: 2, writeQueueNums: 2, perm: 6, topicFilterType: 'SINGLE_TAG', topicSysFlag: 0, order: false, attributes: {} });
  assert.equal(manager.get('T')?.readQueueNums, 2);
  assert.ok(manager.deleteTopicConfig('T'));
  assert.equal(manager.get('T'), undefined);
  await manager.persist();
});

test('topic names are validated', () => {
  assert.equal(validateTopic('Topic_A-1|x%'), 'Topic_A-1|x%');
  assert.equal(validateTopic(`%RETRY%${'g'.repeat(200)}`).length, 207);
  for (const bad of ['../x', '', 'a b', 'x'.repeat(128), 'a/b', '.']) {
    assert.throws(() => validateTopic(bad), /invalid/);
  }
});

test('topics that have consume queues but no config are restored after a crash', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'tidemq-topics-restore-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const manager = new TopicConfigManager(options(root));
  manager.createTopicInSendMessageMethod('Known', 'TBW102', 4, 0);
  const restored = manager.restoreFromStore(new Map([['Known', [0]], ['Lost', [0, 11]], ['%RETRY%G', [0]], ['Empty', []]]), 8);
  assert.deepEqual(restored.sort(), ['%RETRY%G', 'Lost']);
  assert.equal(manager.get('Lost')?.writeQueueNums, 12);
  assert.equal(manager.get('%RETRY%G')?.readQueueNums, 1);
  assert.equal(manager.get('Known')?.writeQueueNums, 4, 'existing configs are left alone');
  assert.equal(manager.get('Empty'), undefined);
});

test('maxTopicCount caps auto-created, retry/DLQ and admin-created topics; system topics and reloads are not refused', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'tidemq-topics-cap-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const manager = new TopicConfigManager({ ...options(root), maxTopicCount: 3 });
  assert.equal(manager.topicCount, 0, 'system topics do not count');
  const busy = (error: unknown): boolean => isTideError(error, 'SYSTEM_BUSY') && error.retriable && /maxTopicCount=3/.test(error.message);
  manager.createTopicInSendMessageMethod('A', 'TBW102', 4, 0);
  manager.createTopicInSendMessageBackMethod('%RETRY%G', 1, 6, 0);
  manager.updateTopicConfig(newTopicConfig('B'));
  assert.equal(manager.topicCount, 3);
  assert.throws(() => manager.createTopicInSendMessageMethod('C', 'TBW102', 4, 0), busy);
  assert.throws(() => manager.createTopicInSendMessageBackMethod('%DLQ%G', 1, 6, 0), busy);
  assert.throws(() => manager.updateTopicConfig(newTopicConfig('C')), busy);
  assert.equal(manager.get('C'), undefined);
  // Existing topics still work: found, updated, re-created as no-ops.
  assert.equal(manager.createTopicInSendMessageMethod('A', 'TBW102', 4, 0)?.topicName, 'A');
  manager.updateTopicConfig(newTopicConfig('B', { readQueueNums: 2, writeQueueNums: 2 }));
  assert.equal(manager.createTopicInSendMessageBackMethod('%RETRY%G', 1, 6, 0, true).order, true);
  // The broker's own topics are never refused.
  assert.equal(manager.createTopicInSendMessageBackMethod('TRANS_CHECK_MAX_TIME_TOPIC', 1, 6, 0).topicName, 'TRANS_CHECK_MAX_TIME_TOPIC');
  assert.equal(manager.topicCount, 3);
  assert.ok(manager.deleteTopicConfig('A'));
  assert.equal(manager.createTopicInSendMessageMethod('C', 'TBW102', 4, 0)?.topicName, 'C', 'a deleted topic frees its place');
  await manager.persist();

  // A restart with a smaller cap keeps every topic it has, and counts them.
  const reopened = new TopicConfigManager({ ...options(root), maxTopicCount: 1 });
  assert.deepEqual(['B', 'C', '%RETRY%G'].map((topic) => reopened.get(topic)?.topicName), ['B', 'C', '%RETRY%G']);
  assert.equal(reopened.topicCount, 3);
  assert.throws(() => reopened.createTopicInSendMessageMethod('D', 'TBW102', 4, 0), (error: unknown) => isTideError(error, 'SYSTEM_BUSY'));
  assert.deepEqual(reopened.restoreFromStore(new Map([['Lost', [0]]]), 8), ['Lost'], 'topics whose messages are in the store are restored past the cap');
  await reopened.persist();
});
