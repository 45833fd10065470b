// Proves subscription groups are auto-created (or refused), persist in subscriptionGroup.json, and are capped by maxSubscriptionGroupCount with SYSTEM_BUSY.
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

test('maxSubscriptionGroupCount caps auto-created and admin-created groups; existing and predefined groups still work', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'tidemq-groups-cap-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const manager = new SubscriptionGroupManager({ storePathRootDir: root, autoCreateSubscriptionGroup: true, maxSubscriptionGroupCount: 2 });
  assert.equal(manager.groupCount, 0, 'predefined groups do not count');
  const busy = (error: unknown): boolean => isTideError(error, 'SYSTEM_BUSY') && error.responseCode === 2 && /maxSubscriptionGroupCount=2/.test(error.message);
  manager.findOrCreate('G1');
  manager.update({ ...manager.findOrCreate('G2'), retryMaxTimes: 5 });
  assert.throws(() => manager.findOrCreate('G3'), busy);
  assert.throws(() => manager.update({ ...manager.findOrCreate('G1'), groupName: 'G3' }), busy);
  assert.equal(manager.get('G3'), undefined);
  assert.equal(manager.findOrCreate('G1').groupName, 'G1');
  assert.equal(manager.findOrCreate('TOOLS_CONSUMER').groupName, 'TOOLS_CONSUMER');
  manager.update({ ...manager.findOrCreate('G2'), retryMaxTimes: 7 });
  assert.equal(manager.get('G2')?.retryMaxTimes, 7, 'existing groups can still be updated');
  assert.ok(manager.delete('G1'));
  assert.equal(manager.findOrCreate('G3').groupName, 'G3', 'a deleted group frees its place');
  await manager.persist();
  const reopened = new SubscriptionGroupManager({ storePathRootDir: root, autoCreateSubscriptionGroup: true, maxSubscriptionGroupCount: 2 });
  assert.equal(reopened.groupCount, 2);
  assert.throws(() => reopened.findOrCreate('G4'), busy);
});
