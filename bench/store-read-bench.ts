/**
 * Pull reads, old against new in the same run: a store is filled with 1 KiB messages (one queue
 * written back to back, and eight queues interleaved, as a busy topic writes them), reopened, and
 * its queues are read from the start in pulls of 32:
 *
 *   before   the old read path: for each consume-queue entry one `readSync` of the record into a
 *            fresh buffer, then its verification (what `readVerified` did per record)
 *   sync     `getMessages`: one read per run of nearby records
 *   async    `getMessagesAsync`: the same reads on the libuv thread pool
 *
 * It prints messages/s, `readSync`/`read` calls per message and main-thread CPU per message. The
 * page cache is warm (dropping it would disturb everyone on this machine), so this shows the system
 * call savings; on a cold cache each saved call is a saved stall of the event loop.
 *
 *   npx tsc -p . && node dist/bench/store-read-bench.js
 *   TIDEMQ_BENCH_MESSAGES=200000   messages written (default 200,000)
 */
import fs, { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, readSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { syncBuiltinESMExports } from 'node:module';
import { parseHostAddress } from '../src/protocol/host-address.js';
import { encodeProperties } from '../src/protocol/message-properties.js';
import { MessageStore } from '../src/store/message-store.js';
import { offsetFileName } from '../src/store/file-names.js';
import { verifyRecord } from '../src/store/record-checks.js';

const MESSAGES = Number(process.env.TIDEMQ_BENCH_MESSAGES ?? 200_000);
const SEGMENT_BYTES = 64 * 1024 * 1024;
const PULL = 32;
const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const benchRoot = process.env.TIDEMQ_BENCH_DIR ?? join(repoRoot, 'bench', '.cache');
mkdirSync(benchRoot, { recursive: true });
const workDir = mkdtempSync(join(benchRoot, 'store-read-bench-'));

// Count read system calls made by anyone (the store imports these functions from node:fs).
let readCalls = 0;
const originalReadSync = fs.readSync;
const originalRead = fs.read;
fs.readSync = ((...args: Parameters<typeof fs.readSync>) => {
  readCalls++;
  return originalReadSync(...args);
}) as typeof fs.readSync;
fs.read = ((...args: unknown[]) => {
  readCalls++;
  return (originalRead as (...a: unknown[]) => void)(...args);
}) as typeof fs.read;
syncBuiltinESMExports();

function mainThreadCpuMicros(): number {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10_000;
  } catch {
    return NaN;
  }
}

async function fill(root: string): Promise<void> {
  const store = await MessageStore.open({ storePathRootDir: root, mappedFileSizeCommitLog: SEGMENT_BYTES, diskSpaceRefuseRatio: 99, diskMaxUsedSpaceRatio: 99 });
  const body = Buffer.alloc(1024, 0x62);
  const common = { flag: 0, sysFlag: 0, bornTimestamp: Date.now(), bornHost: parseHostAddress('127.0.0.1', 5000), storeHost: parseHostAddress('127.0.0.1', 10911), reconsumeTimes: 0, preparedTransactionOffset: 0, body, tagsCode: 0, keys: [] };
  const properties = encodeProperties({ TAGS: 'bench' });
  for (let index = 0; index < MESSAGES; index++) {
    // Half the messages go to one queue back to back, half to eight interleaved queues.
    const contiguous = index < MESSAGES / 2;
    store.append({ ...common, topic: contiguous ? 'Contiguous' : 'Interleaved', queueId: contiguous ? 0 : index % 8, properties });
    if (index % 4096 === 0) await new Promise((resolve) => setImmediate(resolve));
  }
  await store.close();
}

type Mode = 'before' | 'sync' | 'async';

async function readAll(store: MessageStore, root: string, mode: Mode, topic: string, queues: number): Promise<{ messages: number; seconds: number; calls: number; cpu: number }> {
  const segmentFds = new Map<number, number>();
  const fdOf = (physicalOffset: number): { fd: number; start: number } => {
    const start = physicalOffset - (physicalOffset % SEGMENT_BYTES);
    let fd = segmentFds.get(start);
    if (fd === undefined) {
      fd = openSync(join(root, 'commitlog', offsetFileName(start)), 'r');
      segmentFds.set(start, fd);
    }
    return { fd, start };
  };
  const entries = new Map<number, { physicalOffset: number; size: number }[]>();
  if (mode === 'before') {
    for (let queueId = 0; queueId < queues; queueId++) {
      const list = [];
      for (let offset = 0; offset < store.getMaxOffsetInQueue(topic, queueId); offset++) list.push(store.getConsumeQueueEntry(topic, queueId, offset)!);
      entries.set(queueId, list);
    }
  }
  let messages = 0;
  const callsBefore = readCalls;
  const cpuBefore = mainThreadCpuMicros();
  const started = performance.now();
  for (let queueId = 0; queueId < queues; queueId++) {
    const maxOffset = store.getMaxOffsetInQueue(topic, queueId);
    for (let queueOffset = 0; queueOffset < maxOffset; ) {
      if (mode === 'before') {
        // The entries come from a table read before timing: only the record reads are compared
        // (the old code read entries 256 at a time, as the new one does).
        const end = Math.min(maxOffset, queueOffset + PULL);
        for (; queueOffset < end; queueOffset++) {
          const entry = entries.get(queueId)![queueOffset]!;
          const { fd, start } = fdOf(entry.physicalOffset);
          const record = Buffer.allocUnsafe(entry.size);
          readSync(fd, record, 0, entry.size, entry.physicalOffset - start);
          if (verifyRecord(record, entry.physicalOffset) !== null) throw new Error('corrupt');
          messages++;
        }
        continue;
      }
      const result = mode === 'sync' ? store.getMessages(topic, queueId, queueOffset, PULL, 1 << 20) : await store.getMessagesAsync(topic, queueId, queueOffset, PULL, 1 << 20);
      messages += result.records.length;
      queueOffset = result.nextBeginOffset;
    }
  }
  const seconds = (performance.now() - started) / 1000;
  const cpu = mainThreadCpuMicros() - cpuBefore;
  for (const fd of segmentFds.values()) closeSync(fd);
  return { messages, seconds, calls: readCalls - callsBefore, cpu };
}

async function main(): Promise<void> {
  console.log(`store read bench, node ${process.version}, ${os.cpus().length} cores, load ${os.loadavg()[0]!.toFixed(2)}, ${MESSAGES} messages of 1 KiB, pulls of ${PULL}`);
  const root = join(workDir, 'store');
  await fill(root);
  const store = await MessageStore.open({ storePathRootDir: root, mappedFileSizeCommitLog: SEGMENT_BYTES, diskSpaceRefuseRatio: 99, diskMaxUsedSpaceRatio: 99 });
  try {
    for (const [topic, queues] of [['Contiguous', 1], ['Interleaved', 8]] as const) {
      for (let round = 0; round < 2; round++) {
        for (const mode of ['before', 'sync', 'async'] as const) {
          const run = await readAll(store, root, mode, topic, queues);
          console.log(
            `${topic.padEnd(12)} ${mode.padEnd(7)} ${Math.round(run.messages / run.seconds).toString().padStart(9)} msg/s  ` +
              `${(run.calls / run.messages).toFixed(3)} reads/msg  main-thread cpu ${(run.cpu / run.messages).toFixed(2)} us/msg`,
          );
        }
      }
    }
  } finally {
    await store.close();
  }
  console.log(`load ${os.loadavg()[0]!.toFixed(2)} at the end`);
}

try {
  await main();
} finally {
  rmSync(workDir, { recursive: true, force: true });
}
