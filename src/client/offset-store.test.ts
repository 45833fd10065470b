// Proves the broadcasting offset file: offsets persist to a JSON file and a new store for the same client and group reads them back, and in-memory updates honour increase-only.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalFileOffsetStore } from './offset-store.js';

describe('LocalFileOffsetStore', () => {
  it('round-trips offsets through its file', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'tidemq-offsets-'));
    try {
      const queueA = { topic: 'T', brokerName: 'b', queueId: 0 };
      const queueB = { topic: 'T', brokerName: 'b', queueId: 1 };
      const store = new LocalFileOffsetStore(directory, '10.0.0.1@x#1', 'G');
      await store.load();
      assert.equal(await store.readFromStore(queueA), -1);
      store.update(queueA, 10, false);
      store.update(queueA, 5, true);
      assert.equal(store.readFromMemory(queueA), 10);
      store.update(queueB, 3, false);
      await store.persist();
      const file = JSON.parse(readFileSync(store.filePath, 'utf8')) as { offsets: unknown[] };
      assert.equal(file.offsets.length, 2);
      const again = new LocalFileOffsetStore(directory, '10.0.0.1@x#1', 'G');
      await again.load();
      assert.equal(await again.readFromStore(queueA), 10);
      assert.equal(await again.readFromStore(queueB), 3);
      assert.equal(again.readFromMemory(queueB), 3);
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });
});
