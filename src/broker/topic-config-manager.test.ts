// Proves the topic table has RocketMQ's system topics, auto-creates from TBW102 as Java does, and survives a restart via topics.json.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TopicConfigManager, validateTopic } from './topic-config-manager.js';

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
