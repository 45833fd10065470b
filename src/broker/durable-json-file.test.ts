// Proves metadata files are replaced whole, that a burst of saves coalesces into few writes holding the newest state, and that a missing file loads as undefined.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DurableJsonFile } from './durable-json-file.js';

test('coalesced durable saves', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'tidemq-json-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  let state = 0;
  let snapshots = 0;
  const file = new DurableJsonFile(join(root, 'config', 'state.json'), () => {
    snapshots++;
    return { state };
  });
  assert.equal(file.load(), undefined);
  const saves: Promise<void>[] = [];
  for (let index = 1; index <= 20; index++) {
    state = index;
    saves.push(file.save());
  }
  await Promise.all(saves);
  assert.deepEqual(file.load(), { state: 20 });
  assert.ok(snapshots <= 2, `${snapshots} writes for 20 saves`);
  assert.equal(existsSync(join(root, 'config', 'state.json.tmp')), false, 'no temp file left behind');
  writeFileSync(join(root, 'config', 'state.json'), '{"torn":');
  assert.throws(() => file.load(), /not valid JSON/);
  assert.equal(readFileSync(join(root, 'config', 'state.json'), 'utf8'), '{"torn":');
});
