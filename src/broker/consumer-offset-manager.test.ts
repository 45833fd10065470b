// Proves consumer offsets are kept per topic@group and queue, and are durable across a close and reopen.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConsumerOffsetManager } from './consumer-offset-manager.js';

test('commit, query, close and reload', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'tidemq-offsets-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const manager = new ConsumerOffsetManager({ storePathRootDir: root, flushConsumerOffsetInterval: 60_000 });
  manager.start();
  assert.equal(manager.queryOffset('G', 'T', 0), -1);
  manager.commitOffset('G', 'T', 0, 5);
  manager.commitOffset('G', 'T', 3, 9);
  manager.commitOffset('G2', 'T', 0, 1);
  manager.commitOffset('G', 'T', 0, 7);
  assert.equal(manager.queryOffset('G', 'T', 0), 7);
  assert.deepEqual([...manager.offsetsOf('G', 'T')], [[0, 7], [3, 9]]);
  assert.deepEqual(manager.groupsOfTopic('T').sort(), ['G', 'G2']);
  await manager.close();

  const file = JSON.parse(readFileSync(join(root, 'config', 'consumerOffset.json'), 'utf8'));
  assert.deepEqual(file.offsetTable['T@G'], { 0: 7, 3: 9 });

  const reopened = new ConsumerOffsetManager({ storePathRootDir: root, flushConsumerOffsetInterval: 60_000 });
  assert.equal(reopened.queryOffset('G', 'T', 3), 9);
  assert.equal(reopened.queryOffset('G2', 'T', 0), 1);
  reopened.removeOffsets('G2');
  assert.equal(reopened.queryOffset('G2', 'T', 0), -1);
  await reopened.close();
});
