// Proves subscription groups are auto-created (or refused) and persist in subscriptionGroup.json.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isTideError } from '../common/errors.js';
import { SubscriptionGroupManager } from './subscription-group-manager.js';

test('auto-create, update, persist and reload', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'tidemq-groups-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const manager = new SubscriptionGroupManager({ storePathRootDir: root, autoCreateSubscriptionGroup: true });
  assert.ok(manager.get('TOOLS_CONSUMER'), 'predefined groups exist');
  const created = manager.findOrCreate('CG1');
  assert.equal(created.retryMaxTimes, 16);
  assert.equal(created.retryQueueNums, 1);
  assert.equal(created.consumeEnable, true);
  manager.update({ ...created, retryMaxTimes: 3 });
  assert.throws(() => manager.findOrCreate('../bad'), (error: unknown) => isTideError(error, 'GROUP_NAME_INVALID'));
  await manager.persist();
  const reopened = new SubscriptionGroupManager({ storePathRootDir: root, autoCreateSubscriptionGroup: false });
  assert.equal(reopened.get('CG1')?.retryMaxTimes, 3);
  assert.deepEqual(reopened.get('CG1')?.groupRetryPolicy, { type: 'CUSTOMIZED' });
  assert.throws(() => reopened.findOrCreate('CG2'), (error: unknown) => isTideError(error, 'SUBSCRIPTION_GROUP_NOT_EXIST') && error.responseCode === 26);
  assert.ok(reopened.delete('CG1'));
  assert.equal(reopened.get('CG1'), undefined);
  await reopened.persist();
});
