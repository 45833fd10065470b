// Proves the consume queues keep at most maxOpenFiles descriptors open (4 over 50 queues of several files each) while every entry still writes, syncs, reads and reloads correctly, and that a file that cannot be opened fails only that request with a retriable SYSTEM_BUSY.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isTideError } from '../common/errors.js';
import { ConsumeQueueTable } from './consume-queue-table.js';
import { CONSUME_QUEUE_ENTRY_BYTES } from './consume-queue.js';
import { nodeFileIo } from './file-io.js';
import { makeTempDirectory, recordingLogger } from './store-test-support.js';

const ENTRIES_PER_FILE = 4;
const QUEUES = 50;
const MAX_OPEN = 4;

function openTable(directory: string, maxOpenFiles = MAX_OPEN): ConsumeQueueTable {
  const table = new ConsumeQueueTable({ directory, entriesPerFile: ENTRIES_PER_FILE, fileIo: nodeFileIo, logger: recordingLogger(), maxOpenFiles });
  table.loadAll();
  return table;
}

/** The entry queue `queueIndex` holds at `queueOffset` in these tests. */
function expected(queueIndex: number, queueOffset: number) {
  return { physicalOffset: queueIndex * 1_000_000 + queueOffset * 100, size: 50 + queueOffset, tagsCode: -queueIndex - 1 };
}

function topicOf(queueIndex: number): string {
  return `Topic${queueIndex % 10}`;
}

function processOpenFds(): number {
  return existsSync('/proc/self/fd') ? readdirSync('/proc/self/fd').length : -1;
}

test('50 queues over 4 descriptors: writes, fdatasyncs, reads and a reload all see every entry', async () => {
  const temp = makeTempDirectory();
  const directory = join(temp.path, 'consumequeue');
  const fdsBefore = processOpenFds();
  const table = openTable(directory);
  const ENTRIES = 10; // three files per queue
  try {
    for (let round = 0; round < ENTRIES; round++) {
      for (let index = 0; index < QUEUES; index++) {
        const queue = table.getOrCreate(topicOf(index), index);
        queue.ensureRoom();
        const entry = expected(index, round);
        assert.equal(table.put(queue, entry.physicalOffset, entry.size, entry.tagsCode), round);
      }
      // Every other round goes to the files, so reads mix written and pending entries; two rounds
      // are fdatasynced too (each sync pins descriptors while it runs).
      if (round % 2 === 1) table.writeOutPending();
      if (round === 5 || round === ENTRIES - 1) await table.syncWritten();
      assert.ok(table.openFileCount <= MAX_OPEN, `${table.openFileCount} descriptors open after round ${round}`);
    }
    if (fdsBefore >= 0) assert.ok(processOpenFds() - fdsBefore <= MAX_OPEN, 'the process holds no more consume-queue descriptors than the limit');
    // Reads in an order that defeats the LRU: every read reopens a file.
    for (let queueOffset = ENTRIES - 1; queueOffset >= 0; queueOffset--) {
      for (let index = 0; index < QUEUES; index += 3) {
        assert.deepEqual(table.get(topicOf(index), index)?.getEntry(queueOffset), expected(index, queueOffset));
      }
    }
    for (let index = 0; index < QUEUES; index++) {
      const target = Buffer.alloc(ENTRIES * CONSUME_QUEUE_ENTRY_BYTES);
      table.get(topicOf(index), index)!.readEntries(0, ENTRIES, target);
      for (let queueOffset = 0; queueOffset < ENTRIES; queueOffset++) {
        const at = queueOffset * CONSUME_QUEUE_ENTRY_BYTES;
        assert.equal(target.readInt32BE(at + 8), expected(index, queueOffset).size, `queue ${index} offset ${queueOffset}`);
      }
      assert.ok(table.openFileCount <= MAX_OPEN);
    }
  } finally {
    table.closeAll();
  }
  assert.equal(table.openFileCount, 0, 'closeAll closes every descriptor');
  // The files hold exactly the entries (three files per queue, the last one half full).
  const queueDirectory = join(directory, topicOf(7), '7');
  assert.deepEqual(readdirSync(queueDirectory).sort(), ['00000000000000000000', '00000000000000000080', '00000000000000000160']);
  const lastFile = readFileSync(join(queueDirectory, '00000000000000000160'));
  assert.equal(lastFile.length, 2 * CONSUME_QUEUE_ENTRY_BYTES);
  assert.equal(lastFile.readInt32BE(CONSUME_QUEUE_ENTRY_BYTES + 8), expected(7, 9).size);

  const reloaded = openTable(directory);
  try {
    assert.equal(reloaded.openFileCount, 0, 'loading opens no file');
    for (let index = 0; index < QUEUES; index++) {
      const queue = reloaded.get(topicOf(index), index)!;
      assert.equal(queue.maxOffset, ENTRIES);
      assert.deepEqual(queue.getEntry(ENTRIES - 1), expected(index, ENTRIES - 1));
      assert.deepEqual(queue.getEntry(0), expected(index, 0));
      queue.ensureRoom();
      reloaded.put(queue, expected(index, ENTRIES).physicalOffset, expected(index, ENTRIES).size, expected(index, ENTRIES).tagsCode);
    }
    reloaded.writeOutPending();
    await reloaded.syncWritten();
    assert.ok(reloaded.openFileCount <= MAX_OPEN);
    for (let index = 0; index < QUEUES; index++) assert.deepEqual(reloaded.get(topicOf(index), index)!.getEntry(ENTRIES), expected(index, ENTRIES));
  } finally {
    reloaded.closeAll();
    temp.remove();
  }
});

test('a file that cannot be opened fails that queue with SYSTEM_BUSY; other queues go on and it recovers', async () => {
  const temp = makeTempDirectory();
  const directory = join(temp.path, 'consumequeue');
  const table = openTable(directory, 2);
  try {
    for (const topic of ['Broken', 'Healthy']) {
      const queue = table.getOrCreate(topic, 0);
      for (let offset = 0; offset < ENTRIES_PER_FILE; offset++) table.put(queue, expected(1, offset).physicalOffset, expected(1, offset).size, 0);
    }
    table.writeOutPending();
    await table.syncWritten();

    // The next entry of Broken needs a new file, in a directory that is now a plain file.
    const brokenDirectory = join(directory, 'Broken', '0');
    renameSync(brokenDirectory, `${brokenDirectory}.aside`);
    writeFileSync(brokenDirectory, 'not a directory');
    const broken = table.get('Broken', 0)!;
    const healthy = table.get('Healthy', 0)!;
    table.put(broken, 12_345, 77, 0);
    table.put(healthy, 23_456, 88, 0);
    assert.throws(() => table.writeOutPending(), (error: unknown) => isTideError(error, 'SYSTEM_BUSY') && error.retriable && /Broken/.test(error.message));
    assert.deepEqual(broken.getEntry(ENTRIES_PER_FILE), { physicalOffset: 12_345, size: 77, tagsCode: 0 }, 'the entry stays pending and readable');
    assert.equal(broken.hasPending, true);
    assert.equal(healthy.hasPending, false, 'the healthy queue was written anyway');
    // Reading a closed file of Broken (the pool holds 2 descriptors) fails that read only.
    table.get('Healthy', 0)!.getEntry(0);
    assert.throws(() => broken.getEntry(0), (error: unknown) => isTideError(error, 'SYSTEM_BUSY'));
    assert.deepEqual(healthy.getEntry(ENTRIES_PER_FILE), { physicalOffset: 23_456, size: 88, tagsCode: 0 });

    rmSync(brokenDirectory);
    renameSync(`${brokenDirectory}.aside`, brokenDirectory);
    table.writeOutPending();
    await table.syncWritten();
    assert.equal(broken.hasPending, false);
    assert.deepEqual(broken.getEntry(0), { physicalOffset: expected(1, 0).physicalOffset, size: expected(1, 0).size, tagsCode: 0 });
    assert.equal(readFileSync(join(brokenDirectory, '00000000000000000080')).readInt32BE(8), 77, 'the pending entry reached its file');
  } finally {
    table.closeAll();
    temp.remove();
  }
});

/** The soft descriptor limit of this process, or Infinity when unknown. */
function descriptorLimit(): number {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8').split('\n').find((text) => text.startsWith('Max open files'));
    const soft = Number(line?.split(/\s{2,}/)[1]);
    return Number.isSafeInteger(soft) ? soft : Infinity;
  } catch {
    return Infinity;
  }
}

test('out of descriptors: the pool gives back its idle ones and retries; with none idle the read is SYSTEM_BUSY, then works once fds are free', { skip: descriptorLimit() > 65_536 ? 'descriptor limit too high to exhaust quickly' : false }, async () => {
  const temp = makeTempDirectory();
  const directory = join(temp.path, 'consumequeue');
  mkdirSync(directory, { recursive: true });
  const table = openTable(directory, 8);
  const hogs: number[] = [];
  const exhaust = (): void => {
    for (;;) {
      try {
        hogs.push(openSync('/dev/null', 'r'));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'EMFILE' || (error as NodeJS.ErrnoException).code === 'ENFILE') return;
        throw error;
      }
    }
  };
  const release = (): void => {
    for (const fd of hogs.splice(0)) closeSync(fd);
  };
  try {
    for (let index = 0; index < 4; index++) {
      const queue = table.getOrCreate('Fds', index);
      for (let offset = 0; offset < 2 * ENTRIES_PER_FILE; offset++) table.put(queue, expected(index, offset).physicalOffset, expected(index, offset).size, expected(index, offset).tagsCode);
    }
    table.writeOutPending();
    await table.syncWritten();
    assert.equal(table.openFileCount, 8);
    table.closeAll();

    const reloaded = openTable(directory, 8);
    try {
      // Open some files, then use up the process's descriptors: reading another file makes the pool
      // close its idle descriptors and retry.
      assert.deepEqual(reloaded.get('Fds', 0)!.getEntry(0), expected(0, 0));
      assert.deepEqual(reloaded.get('Fds', 1)!.getEntry(0), expected(1, 0));
      exhaust();
      assert.deepEqual(reloaded.get('Fds', 2)!.getEntry(ENTRIES_PER_FILE), expected(2, ENTRIES_PER_FILE));
      assert.equal(reloaded.openFileCount, 1, 'the idle descriptors were given back');
    } finally {
      release();
      reloaded.closeAll();
    }

    const starved = openTable(directory, 8);
    try {
      exhaust();
      assert.throws(() => starved.get('Fds', 3)!.getEntry(0), (error: unknown) => isTideError(error, 'SYSTEM_BUSY') && error.retriable && /EMFILE|ENFILE/.test(error.message));
      release();
      assert.deepEqual(starved.get('Fds', 3)!.getEntry(0), expected(3, 0), 'the same read works once descriptors are free');
    } finally {
      release();
      starved.closeAll();
    }
  } finally {
    release();
    table.closeAll();
    temp.remove();
  }
});
