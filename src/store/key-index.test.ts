// Proves the key index finds offsets by topic#key across rolled files, filters by time, deduplicates, survives reopen and simulated crashes (torn, truncated or garbage files), and deletes old files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../common/logger.js';
import { isTideError } from '../common/errors.js';
import { KeyIndex, type KeyIndexOptions } from './key-index.js';
import { INDEX_ENTRY_BYTES, INDEX_HEADER_BYTES, HASH_SLOT_BYTES } from './key-index-file.js';

const BASE_MS = 1_700_000_000_000; // a whole second, so entry times read back exactly
const ALL_TIME: [number, number] = [0, Number.MAX_SAFE_INTEGER];

function temporaryDirectory(t: { after(fn: () => void): void }): string {
  const directory = mkdtempSync(join(tmpdir(), 'tidemq-key-index-'));
  t.after(() => rmSync(directory, { recursive: true, force: true }));
  return directory;
}

function openIndex(directory: string, maxHashSlotNum = 16, maxIndexNum = 64): KeyIndex {
  const options: KeyIndexOptions = { maxHashSlotNum, maxIndexNum, logger: silentLogger };
  return KeyIndex.open(directory, options);
}

function indexFiles(directory: string): string[] {
  return readdirSync(directory).filter((name) => /^\d{17}$/.test(name)).sort();
}

test('put then query returns the offsets of that topic and key only', async (t) => {
  const directory = temporaryDirectory(t);
  const index = openIndex(join(directory, 'index'));
  index.put('TopicA', 'order-1', 100, BASE_MS);
  index.put('TopicA', 'order-2', 200, BASE_MS);
  index.put('TopicB', 'order-1', 300, BASE_MS + 1);
  assert.deepEqual(index.query('TopicA', 'order-1', 32, ...ALL_TIME), [100]);
  assert.deepEqual(index.query('TopicA', 'order-2', 32, ...ALL_TIME), [200]);
  assert.deepEqual(index.query('TopicB', 'order-1', 32, ...ALL_TIME), [300]);
  assert.deepEqual(index.query('TopicB', 'order-2', 32, ...ALL_TIME), []);
  assert.equal(index.lastUpdateTimestampMs, BASE_MS + 1);
  assert.equal(index.lastUpdatePhysicalOffset, 300);
  await index.close();
  assert.throws(() => index.put('TopicA', 'x', 1, BASE_MS), (error) => isTideError(error, 'STORE_CLOSED'));
});

test('results are newest first, capped at maxNum, and duplicate puts come back once', async (t) => {
  const directory = temporaryDirectory(t);
  const index = openIndex(directory);
  for (let offset = 0; offset < 10; offset++) index.put('T', 'k', offset * 1000, BASE_MS + offset);
  // A re-put after a crash indexes the same records again.
  for (let offset = 5; offset < 10; offset++) index.put('T', 'k', offset * 1000, BASE_MS + offset);
  assert.deepEqual(index.query('T', 'k', 100, ...ALL_TIME), [9000, 8000, 7000, 6000, 5000, 4000, 3000, 2000, 1000, 0]);
  assert.deepEqual(index.query('T', 'k', 3, ...ALL_TIME), [9000, 8000, 7000]);
  assert.deepEqual(index.query('T', 'k', 0, ...ALL_TIME), []);
  await index.close();
});

test('only entries stored within the time range are returned', async (t) => {
  const directory = temporaryDirectory(t);
  const index = openIndex(directory);
  for (let second = 0; second < 10; second++) index.put('T', 'k', second, BASE_MS + second * 10_000);
  assert.deepEqual(index.query('T', 'k', 32, BASE_MS + 20_000, BASE_MS + 50_000), [5, 4, 3, 2]);
  assert.deepEqual(index.query('T', 'k', 32, BASE_MS + 91_000, BASE_MS + 99_000), []);
  assert.deepEqual(index.query('T', 'k', 32, BASE_MS - 99_000, BASE_MS - 1), []);
  assert.deepEqual(index.query('T', 'k', 32, BASE_MS + 90_000, BASE_MS + 90_000), [9]);
  await index.close();
});

test('keys with the same Java hashCode ("Aa", "BB") return each other as candidates', async (t) => {
  const directory = temporaryDirectory(t);
  const index = openIndex(directory);
  index.put('T', 'Aa', 10, BASE_MS);
  index.put('T', 'BB', 20, BASE_MS);
  index.put('T', 'Ab', 30, BASE_MS);
  assert.deepEqual(index.query('T', 'Aa', 32, ...ALL_TIME), [20, 10]);
  assert.deepEqual(index.query('T', 'BB', 32, ...ALL_TIME), [20, 10]);
  assert.deepEqual(index.query('T', 'Ab', 32, ...ALL_TIME), [30]);
  await index.close();
});

test('full files roll over, queries span them, and everything is found after flush, close and reopen', async (t) => {
  const directory = temporaryDirectory(t);
  const index = openIndex(directory, 4, 8); // 7 entries per file
  for (let offset = 0; offset < 50; offset++) index.put('T', `k${offset % 5}`, offset, BASE_MS + offset * 1000);
  assert.deepEqual(index.query('T', 'k0', 100, ...ALL_TIME), [45, 40, 35, 30, 25, 20, 15, 10, 5, 0]);
  assert.deepEqual(index.query('T', 'k3', 4, ...ALL_TIME), [48, 43, 38, 33]);
  assert.deepEqual(index.query('T', 'k4', 100, BASE_MS + 14_000, BASE_MS + 30_000), [29, 24, 19, 14]);
  await index.flush();
  assert.equal(indexFiles(directory).length, 8);
  await index.close();

  const reopened = openIndex(directory, 4, 8);
  assert.deepEqual(reopened.query('T', 'k0', 100, ...ALL_TIME), [45, 40, 35, 30, 25, 20, 15, 10, 5, 0]);
  assert.equal(reopened.lastUpdatePhysicalOffset, 49);
  assert.equal(reopened.lastUpdateTimestampMs, BASE_MS + 49_000);
  // The newest file was not full, so it keeps taking entries.
  reopened.put('T', 'k0', 50, BASE_MS + 50_000);
  assert.deepEqual(reopened.query('T', 'k0', 2, ...ALL_TIME), [50, 45]);
  await reopened.close();
  assert.equal(indexFiles(directory).length, 8);
  const again = openIndex(directory, 4, 8);
  assert.deepEqual(again.query('T', 'k0', 3, ...ALL_TIME), [50, 45, 40]);
  await again.close();
});

test('after a crash only flushed entries survive, and they are all found', async (t) => {
  const directory = temporaryDirectory(t);
  const live = join(directory, 'live');
  const crashed = join(directory, 'crashed');
  const index = openIndex(live, 4, 8);
  for (let offset = 0; offset < 20; offset++) index.put('T', `k${offset % 3}`, offset, BASE_MS + offset);
  await index.flush();
  // A power loss right now keeps exactly what the flush made durable.
  cpSync(live, crashed, { recursive: true });
  for (let offset = 20; offset < 40; offset++) index.put('T', `k${offset % 3}`, offset, BASE_MS + offset);
  await index.close();

  const recovered = openIndex(crashed, 4, 8);
  assert.deepEqual(recovered.query('T', 'k0', 100, ...ALL_TIME), [18, 15, 12, 9, 6, 3, 0]);
  assert.equal(recovered.lastUpdatePhysicalOffset, 19);
  // The store re-puts past its checkpoint; overlapping entries are deduplicated.
  for (let offset = 15; offset < 40; offset++) recovered.put('T', `k${offset % 3}`, offset, BASE_MS + offset);
  assert.deepEqual(recovered.query('T', 'k0', 100, ...ALL_TIME), [39, 36, 33, 30, 27, 24, 21, 18, 15, 12, 9, 6, 3, 0]);
  await recovered.close();
});

test('a flush torn between slots and header is repaired on open without losing flushed entries', async (t) => {
  const directory = temporaryDirectory(t);
  const index = openIndex(directory, 2, 64); // two slots: every key shares a chain with others
  for (let offset = 0; offset < 10; offset++) index.put('T', `k${offset % 4}`, offset, BASE_MS + offset);
  await index.flush();
  const [name] = indexFiles(directory);
  assert.ok(name !== undefined);
  const path = join(directory, name);
  const afterFirstFlush = readFileSync(path);
  for (let offset = 10; offset < 20; offset++) index.put('T', `k${offset % 4}`, offset, BASE_MS + offset);
  await index.flush();
  await index.close();
  // The second flush wrote entries and slots but its header never reached the disk.
  const torn = readFileSync(path);
  afterFirstFlush.copy(torn, 0, 0, INDEX_HEADER_BYTES);
  writeFileSync(path, torn);

  const recovered = openIndex(directory, 2, 64);
  assert.deepEqual(recovered.query('T', 'k1', 100, ...ALL_TIME), [9, 5, 1]);
  assert.deepEqual(recovered.query('T', 'k2', 100, ...ALL_TIME), [6, 2]);
  recovered.put('T', 'k1', 13, BASE_MS + 13);
  await recovered.close();
  const reopened = openIndex(directory, 2, 64);
  assert.deepEqual(reopened.query('T', 'k1', 100, ...ALL_TIME), [13, 9, 5, 1]);
  await reopened.close();
});

test('a truncated index file opens and keeps the entries still present', async (t) => {
  const directory = temporaryDirectory(t);
  const index = openIndex(directory, 8, 64);
  for (let offset = 0; offset < 30; offset++) index.put('T', `k${offset % 2}`, offset, BASE_MS + offset);
  await index.close();
  const [name] = indexFiles(directory);
  assert.ok(name !== undefined);
  // Keep entries 1 to 10 (entry 0 is never used); entry 11 is cut in half.
  truncateSync(join(directory, name), INDEX_HEADER_BYTES + 8 * HASH_SLOT_BYTES + 11 * INDEX_ENTRY_BYTES + 7);

  const recovered = openIndex(directory, 8, 64);
  assert.deepEqual(recovered.query('T', 'k0', 100, ...ALL_TIME), [8, 6, 4, 2, 0]);
  assert.deepEqual(recovered.query('T', 'k1', 100, ...ALL_TIME), [9, 7, 5, 3, 1]);
  recovered.put('T', 'k0', 10, BASE_MS + 10);
  await recovered.close();
  const reopened = openIndex(directory, 8, 64);
  assert.deepEqual(reopened.query('T', 'k0', 2, ...ALL_TIME), [10, 8]);
  await reopened.close();
});

test('files with an unusable header are discarded; files of another geometry are skipped', async (t) => {
  const directory = temporaryDirectory(t);
  const index = openIndex(directory, 4, 8);
  for (let offset = 0; offset < 10; offset++) index.put('T', 'k', offset, BASE_MS + offset);
  await index.close();
  const [oldest, newest] = indexFiles(directory);
  assert.ok(oldest !== undefined && newest !== undefined);
  const garbage = readFileSync(join(directory, newest));
  garbage.fill(0xff, 0, INDEX_HEADER_BYTES);
  writeFileSync(join(directory, newest), garbage);
  writeFileSync(join(directory, '29991231235959999'), Buffer.alloc(0)); // created, never written

  const recovered = openIndex(directory, 4, 8);
  assert.deepEqual(indexFiles(directory), [oldest]);
  assert.deepEqual(recovered.query('T', 'k', 100, ...ALL_TIME), [6, 5, 4, 3, 2, 1, 0]);
  recovered.put('T', 'k', 10, BASE_MS + 10);
  assert.deepEqual(recovered.query('T', 'k', 2, ...ALL_TIME), [10, 6]);
  await recovered.close();
  // New names still sort after every name seen, even a discarded one from the future.
  assert.ok(indexFiles(directory).at(-1)! > '29991231235959999');

  // Smaller configured files cannot read these (the slot of a key differs); they are left alone.
  const smaller = openIndex(directory, 2, 4);
  assert.deepEqual(smaller.query('T', 'k', 100, ...ALL_TIME), []);
  await smaller.close();
  assert.equal(indexFiles(directory).length, 2);
});

test('deleteFilesBefore removes whole files below the offset and never the active one', async (t) => {
  const directory = temporaryDirectory(t);
  const index = openIndex(directory, 4, 8); // files hold offsets 0-6, 7-13, 14-20, 21-27, 28-29
  for (let offset = 0; offset < 30; offset++) index.put('T', 'k', offset, BASE_MS + offset);
  await index.flush();
  assert.equal(indexFiles(directory).length, 5);
  index.deleteFilesBefore(14); // the second file ends at 13
  assert.equal(indexFiles(directory).length, 3);
  assert.deepEqual(index.query('T', 'k', 100, ...ALL_TIME), [29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17, 16, 15, 14]);
  index.deleteFilesBefore(1_000_000);
  assert.equal(indexFiles(directory).length, 1);
  assert.deepEqual(index.query('T', 'k', 100, ...ALL_TIME), [29, 28]);
  index.put('T', 'k', 30, BASE_MS + 30);
  await index.close();
  const reopened = openIndex(directory, 4, 8);
  assert.deepEqual(reopened.query('T', 'k', 100, ...ALL_TIME), [30, 29, 28]);
  await reopened.close();
});

test('puts during a flush and deletes of files being flushed are safe', async (t) => {
  const directory = temporaryDirectory(t);
  const index = openIndex(directory, 4, 8);
  for (let offset = 0; offset < 20; offset++) index.put('T', 'k', offset, BASE_MS + offset);
  const flushing = index.flush();
  for (let offset = 20; offset < 25; offset++) index.put('T', 'k', offset, BASE_MS + offset);
  index.deleteFilesBefore(7);
  await flushing;
  await index.close();
  const reopened = openIndex(directory, 4, 8);
  assert.deepEqual(reopened.query('T', 'k', 100, ...ALL_TIME), [24, 23, 22, 21, 20, 19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7]);
  await reopened.close();
});
