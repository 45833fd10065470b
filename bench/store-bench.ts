/**
 * The store benchmark. In one run, on one disk, it measures:
 *  (a) the raw limit: sequential 1 MiB writes with plain fs, without fsync and with fdatasync after each;
 *  (b) the store appending 1 KiB messages, ASYNC_FLUSH and SYNC_FLUSH, at 1, 16 and 256 concurrent
 *      appenders (each: append → waitDurable → next) for a fixed time: messages/s, MB/s of records, and
 *      p50/p99 latency from the append call to durability;
 *  (c) reading the messages back by queue offset (getMessages and getMessagesAsync, batches of 32);
 *  (d) the floor (store-floor.ts): per 1 KiB body only a copy at record stride, a CRC32 and a
 *      1 MiB writeSync, without and with fdatasync, on the main thread and with the CRC on a worker;
 * then prints the store's numbers as ratios of the raw limit next to the targets, and one JSON line.
 * It never fails on numbers: machines are noisy, and the ratios are what carries over.
 *
 *   npm run bench:store
 *   TIDEMQ_BENCH_SECONDS=5        seconds per measurement (default 5)
 *   TIDEMQ_BENCH_DIR=<dir>        where the files go (default bench/.cache in the repo: the repo's disk)
 *   TIDEMQ_BENCH_WARM=1           pre-write commit-log segments (warmMappedFileEnable)
 *   TIDEMQ_BENCH_ONLY=ASYNC_FLUSH:256,SYNC_FLUSH:256   only these append runs, no raw/floor/read (profiling)
 */
import { closeSync, fdatasyncSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { javaStringHashCode } from '../src/common/java-hash.js';
import { isTideError } from '../src/common/errors.js';
import { parseHostAddress } from '../src/protocol/host-address.js';
import { encodeProperties } from '../src/protocol/message-properties.js';
import { prepareRecord } from '../src/protocol/message-record.js';
import { MessageStore } from '../src/store/message-store.js';
import type { FlushDiskType } from '../src/store/store-config.js';
import type { AppendInput } from '../src/store/types.js';
import { describeMachine, formatMachine } from './machine.js';
import { floorSingleThread, floorWithCrcWorker, type FloorResult } from './store-floor.js';

const SECONDS = Number(process.env.TIDEMQ_BENCH_SECONDS ?? 5);
const DURATION_MS = SECONDS * 1000;
const SEGMENT_BYTES = 64 * 1024 * 1024;
const BODY_BYTES = 1024;
const CONCURRENCIES = [1, 16, 256] as const;
const QUEUES = 8;
const RAW_BLOCK_BYTES = 1024 * 1024;
/** The raw file wraps around here so a fast disk does not fill up. */
const RAW_FILE_LIMIT_BYTES = 2 * 1024 * 1024 * 1024;
/** Latency samples kept per run (a limit on memory, not on the run). */
const MAX_LATENCY_SAMPLES = 20_000_000;
/** An ASYNC_FLUSH appender never waits, so it yields to the event loop this often (timers, I/O). */
const APPENDS_PER_YIELD = 64;
const TOPIC = 'BenchTopic';
const MB = 1_000_000;
/** `flush:appenders` pairs to run alone (no raw, floor or read measurements); unset = everything. */
const ONLY = process.env.TIDEMQ_BENCH_ONLY?.split(',').map((pair) => pair.trim()).filter((pair) => pair.length > 0) ?? null;

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const benchRoot = process.env.TIDEMQ_BENCH_DIR ?? join(repoRoot, 'bench', '.cache');
mkdirSync(benchRoot, { recursive: true });
const workDir = mkdtempSync(join(benchRoot, 'store-bench-'));

interface RawResult {
  mbPerSecond: number;
  blocks: number;
  p50Ms: number;
  p99Ms: number;
}

function rawWrite(withFdatasync: boolean): RawResult {
  const path = join(workDir, withFdatasync ? 'raw-sync' : 'raw-buffered');
  const fd = openSync(path, 'w');
  const block = Buffer.alloc(RAW_BLOCK_BYTES, 0x5a);
  const latencies = new Float64Array(1_000_000);
  let blocks = 0;
  let position = 0;
  const start = performance.now();
  const deadline = start + DURATION_MS;
  try {
    for (let now = start; now < deadline; ) {
      writeSync(fd, block, 0, block.length, position);
      if (withFdatasync) fdatasyncSync(fd);
      const after = performance.now();
      if (blocks < latencies.length) latencies[blocks] = after - now;
      now = after;
      blocks++;
      position += block.length;
      if (position >= RAW_FILE_LIMIT_BYTES) position = 0;
    }
  } finally {
    closeSync(fd);
    rmSync(path, { force: true });
  }
  const elapsedSeconds = (performance.now() - start) / 1000;
  const sorted = latencies.subarray(0, Math.min(blocks, latencies.length)).sort();
  return { mbPerSecond: (blocks * RAW_BLOCK_BYTES) / MB / elapsedSeconds, blocks, p50Ms: percentile(sorted, 0.5), p99Ms: percentile(sorted, 0.99) };
}

function percentile(sorted: Float64Array, fraction: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * fraction))]!;
}

interface AppendRunResult {
  flushDiskType: FlushDiskType;
  appenders: number;
  messages: number;
  messagesPerSecond: number;
  mbPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  busy: number;
  timeouts: number;
  /** CPU time of the whole process (all threads) per stored message, in microseconds. */
  cpuMicrosPerMessage: number;
  /** CPU time of the main (JavaScript) thread alone per stored message; NaN where /proc is missing. */
  mainThreadCpuMicrosPerMessage: number;
}

const bornHost = parseHostAddress('127.0.0.1', 50000);
const storeHost = parseHostAddress('127.0.0.1', 10911);
const body = Buffer.alloc(BODY_BYTES, 0x61);
const tagsCode = javaStringHashCode('bench');

function benchInput(appender: number, sequence: number): AppendInput {
  // A UNIQ_KEY per message, as every RocketMQ producer sets one, so the key index does real work.
  const uniqueKey = `7F00000100002A9F0000${appender.toString(16).padStart(4, '0')}${sequence.toString(16).padStart(8, '0')}`;
  return {
    topic: TOPIC,
    queueId: appender % QUEUES,
    flag: 0,
    sysFlag: 0,
    bornTimestamp: Date.now(),
    bornHost,
    storeHost,
    reconsumeTimes: 0,
    preparedTransactionOffset: 0,
    body,
    properties: encodeProperties({ TAGS: 'bench', UNIQ_KEY: uniqueKey, WAIT: 'true' }),
    tagsCode,
    keys: [uniqueKey],
  };
}

function openBenchStore(storeDir: string, flushDiskType: FlushDiskType): Promise<MessageStore> {
  return MessageStore.open({
    storePathRootDir: storeDir,
    mappedFileSizeCommitLog: SEGMENT_BYTES,
    flushDiskType,
    warmMappedFileEnable: process.env.TIDEMQ_BENCH_WARM === '1',
    // The bench fills the disk faster than retention would run; keep it from interfering.
    diskSpaceRefuseRatio: 99,
    diskMaxUsedSpaceRatio: 99,
  });
}

async function appendRun(storeDir: string, flushDiskType: FlushDiskType, appenders: number): Promise<AppendRunResult> {
  const store = await openBenchStore(storeDir, flushDiskType);
  const latencies = new Float64Array(Math.min(MAX_LATENCY_SAMPLES, 1 << 22));
  let samples = 0;
  let messages = 0;
  let bytes = 0;
  let busy = 0;
  let timeouts = 0;
  const cpuBefore = process.cpuUsage();
  const mainThreadBefore = mainThreadCpuMicros();
  const start = performance.now();
  const deadline = start + DURATION_MS;
  const appender = async (index: number): Promise<void> => {
    let sequence = 0;
    while (performance.now() < deadline) {
      const input = benchInput(index, sequence++);
      const begin = performance.now();
      let result;
      try {
        result = store.append(input);
      } catch (error) {
        if (!isTideError(error, 'SYSTEM_BUSY')) throw error;
        busy++;
        await new Promise((resolve) => setImmediate(resolve));
        continue;
      }
      const status = await store.waitDurable(result.endOffset);
      if (status !== 'PUT_OK') {
        timeouts++;
        continue;
      }
      if (samples < latencies.length) latencies[samples++] = performance.now() - begin;
      messages++;
      bytes += result.size;
      if (flushDiskType === 'ASYNC_FLUSH' && sequence % APPENDS_PER_YIELD === 0) await new Promise((resolve) => setImmediate(resolve));
    }
  };
  await Promise.all(Array.from({ length: appenders }, (_, index) => appender(index)));
  const elapsedSeconds = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  const mainThreadCpu = mainThreadCpuMicros() - mainThreadBefore;
  await store.close();
  const sorted = latencies.subarray(0, samples).sort();
  return {
    flushDiskType,
    appenders,
    messages,
    messagesPerSecond: messages / elapsedSeconds,
    mbPerSecond: bytes / MB / elapsedSeconds,
    p50Ms: percentile(sorted, 0.5),
    p99Ms: percentile(sorted, 0.99),
    busy,
    timeouts,
    cpuMicrosPerMessage: (cpu.user + cpu.system) / Math.max(1, messages),
    mainThreadCpuMicrosPerMessage: mainThreadCpu / Math.max(1, messages),
  };
}

/** utime + stime of the main thread (Linux /proc, clock ticks of 10 ms), in microseconds; NaN elsewhere. */
function mainThreadCpuMicros(): number {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields after the command name start at field 3 (state); utime is field 14, stime field 15.
    return (Number(fields[11]) + Number(fields[12])) * 10_000;
  } catch {
    return NaN;
  }
}

interface ReadResult {
  messages: number;
  messagesPerSecond: number;
  mbPerSecond: number;
}

async function readRun(storeDir: string, asynchronous: boolean): Promise<ReadResult> {
  const store = await openBenchStore(storeDir, 'ASYNC_FLUSH');
  let messages = 0;
  let bytes = 0;
  const start = performance.now();
  const deadline = start + DURATION_MS;
  try {
    reading: for (let queueId = 0; queueId < QUEUES; queueId++) {
      const maxOffset = store.getMaxOffsetInQueue(TOPIC, queueId);
      let queueOffset = store.getMinOffsetInQueue(TOPIC, queueId);
      while (queueOffset < maxOffset) {
        const result = asynchronous ? await readAsync(store, queueId, queueOffset) : store.getMessages(TOPIC, queueId, queueOffset, 32, 256 * 1024);
        if (result.records.length === 0) break;
        for (const record of result.records) bytes += record.length;
        messages += result.records.length;
        queueOffset = result.nextBeginOffset;
        if (performance.now() >= deadline) break reading;
      }
    }
  } finally {
    await store.close();
  }
  const elapsedSeconds = (performance.now() - start) / 1000;
  return { messages, messagesPerSecond: messages / elapsedSeconds, mbPerSecond: bytes / MB / elapsedSeconds };
}

/** getMessagesAsync where the store has it (this bench also runs against older builds), else getMessages. */
function readAsync(store: MessageStore, queueId: number, queueOffset: number): Promise<ReturnType<MessageStore['getMessages']>> | ReturnType<MessageStore['getMessages']> {
  const withAsync = store as unknown as { getMessagesAsync?: MessageStore['getMessages'] extends (...args: infer A) => infer R ? (...args: A) => Promise<R> : never };
  if (withAsync.getMessagesAsync !== undefined) return withAsync.getMessagesAsync(TOPIC, queueId, queueOffset, 32, 256 * 1024);
  return store.getMessages(TOPIC, queueId, queueOffset, 32, 256 * 1024);
}

function fixed(value: number, digits = 1): string {
  return Number.isFinite(value) ? value.toFixed(digits) : 'n/a';
}

function verdict(ok: boolean): string {
  return ok ? 'MET' : 'MISSED';
}

async function main(): Promise<void> {
  console.log('TideMQ store benchmark');
  console.log(formatMachine(describeMachine(workDir)));
  console.log(`files:   ${workDir} (one directory, one disk, for every measurement below)`);
  const loadAtStart = loadAverage();
  console.log(`load:    ${loadAtStart} (1-minute load average at start; the machine may be shared)`);
  console.log(`setup:   ${SECONDS} s per measurement, 64 MiB segments, ${BODY_BYTES} B bodies, ${QUEUES} queues, warm segments ${process.env.TIDEMQ_BENCH_WARM === '1' ? 'on' : 'off'}`);
  console.log('');

  if (ONLY !== null) {
    for (const pair of ONLY) {
      const [flush, appenders] = pair.split(':');
      if ((flush !== 'ASYNC_FLUSH' && flush !== 'SYNC_FLUSH') || !Number.isSafeInteger(Number(appenders))) throw new Error(`TIDEMQ_BENCH_ONLY: bad pair ${pair}`);
      const storeDir = join(workDir, `store-${flush}-${appenders}`);
      printAppendRun(await appendRun(storeDir, flush, Number(appenders)));
      rmSync(storeDir, { recursive: true, force: true });
    }
    console.log(`load:    ${loadAverage()} at the end`);
    return;
  }

  const rawBuffered = rawWrite(false);
  console.log(`raw  1 MiB writes, no fsync          ${fixed(rawBuffered.mbPerSecond)} MB/s`);
  const rawSynced = rawWrite(true);
  console.log(`raw  1 MiB writes + fdatasync each   ${fixed(rawSynced.mbPerSecond)} MB/s (p50 ${fixed(rawSynced.p50Ms, 2)} ms, p99 ${fixed(rawSynced.p99Ms, 2)} ms per block)`);
  const floor = await measureFloor(rawBuffered.mbPerSecond, rawSynced.mbPerSecond);
  console.log('');

  const appends: AppendRunResult[] = [];
  const readDir = join(workDir, 'store-read');
  for (const flushDiskType of ['ASYNC_FLUSH', 'SYNC_FLUSH'] as const) {
    for (const appenders of CONCURRENCIES) {
      // The largest ASYNC_FLUSH run is kept for the read-back measurement; the others are removed.
      const keep = flushDiskType === 'ASYNC_FLUSH' && appenders === 256;
      const storeDir = keep ? readDir : join(workDir, `store-${flushDiskType}-${appenders}`);
      const result = await appendRun(storeDir, flushDiskType, appenders);
      appends.push(result);
      if (!keep) rmSync(storeDir, { recursive: true, force: true });
      printAppendRun(result);
    }
  }
  const read = await readRun(readDir, false);
  console.log(`store read back (getMessages x32)    ${fixed(read.messagesPerSecond, 0)} msg/s  ${fixed(read.mbPerSecond)} MB/s  (${read.messages} messages)`);
  const readAsync = await readRun(readDir, true);
  console.log(`store read back (getMessagesAsync)   ${fixed(readAsync.messagesPerSecond, 0)} msg/s  ${fixed(readAsync.mbPerSecond)} MB/s  (${readAsync.messages} messages)`);
  console.log('');

  const bestAsync = appends.filter((run) => run.flushDiskType === 'ASYNC_FLUSH').reduce((best, run) => (run.mbPerSecond > best.mbPerSecond ? run : best));
  const sync256 = appends.find((run) => run.flushDiskType === 'SYNC_FLUSH' && run.appenders === 256)!;
  const asyncRatio = bestAsync.mbPerSecond / rawBuffered.mbPerSecond;
  const syncRatio = sync256.mbPerSecond / rawSynced.mbPerSecond;
  const asyncMet = asyncRatio >= 0.5;
  const syncMet = syncRatio >= 0.5 && sync256.p99Ms <= 5;
  console.log(`ASYNC_FLUSH (best: ${bestAsync.appenders} appenders) / raw buffered: ${fixed(asyncRatio * 100)} %   target >= 50 %: ${verdict(asyncMet)}`);
  console.log(`SYNC_FLUSH 256 appenders / raw write+fdatasync: ${fixed(syncRatio * 100)} %, p99 ${fixed(sync256.p99Ms, 2)} ms   target >= 50 % and p99 <= 5 ms: ${verdict(syncMet)}`);
  for (const run of appends) {
    const base = run.flushDiskType === 'ASYNC_FLUSH' ? rawBuffered.mbPerSecond : rawSynced.mbPerSecond;
    console.log(`  ${run.flushDiskType} x${run.appenders}: ${fixed((run.mbPerSecond / base) * 100)} % of raw ${run.flushDiskType === 'ASYNC_FLUSH' ? 'buffered' : 'synced'}`);
  }
  console.log(
    `floor (copy + crc32 + 1 MiB write, main thread) / raw: ${fixed((floor.buffered.mbPerSecond / rawBuffered.mbPerSecond) * 100)} % buffered, ` +
      `${fixed((floor.synced.mbPerSecond / rawSynced.mbPerSecond) * 100)} % with fdatasync; ` +
      `store / floor: ASYNC best ${fixed((bestAsync.mbPerSecond / floor.buffered.mbPerSecond) * 100)} %, SYNC x256 ${fixed((sync256.mbPerSecond / floor.synced.mbPerSecond) * 100)} %`,
  );
  const loadAtEnd = loadAverage();
  console.log(`load:    ${loadAtEnd} at the end`);
  const summary = {
    bench: 'store',
    date: new Date().toISOString(),
    seconds: SECONDS,
    loadAverage: { start: Number(loadAtStart), end: Number(loadAtEnd) },
    raw: { bufferedMBps: round(rawBuffered.mbPerSecond), fdatasyncMBps: round(rawSynced.mbPerSecond) },
    appends: appends.map((run) => ({
      flush: run.flushDiskType,
      appenders: run.appenders,
      msgPerSec: Math.round(run.messagesPerSecond),
      MBps: round(run.mbPerSecond),
      p50Ms: round(run.p50Ms, 3),
      p99Ms: round(run.p99Ms, 3),
      cpuUsPerMsg: round(run.cpuMicrosPerMessage, 2),
      mainThreadCpuUsPerMsg: round(run.mainThreadCpuMicrosPerMessage, 2),
    })),
    floor: {
      bufferedMBps: round(floor.buffered.mbPerSecond),
      fdatasyncMBps: round(floor.synced.mbPerSecond),
      crcWorkerBufferedMBps: round(floor.workerBuffered.mbPerSecond),
      crcWorkerFdatasyncMBps: round(floor.workerSynced.mbPerSecond),
      cpuUsPerMsg: round(floor.buffered.cpuMicrosPerMessage, 2),
      vsRawBuffered: round(floor.buffered.mbPerSecond / rawBuffered.mbPerSecond, 3),
      vsRawFdatasync: round(floor.synced.mbPerSecond / rawSynced.mbPerSecond, 3),
    },
    read: { msgPerSec: Math.round(read.messagesPerSecond), MBps: round(read.mbPerSecond) },
    readAsync: { msgPerSec: Math.round(readAsync.messagesPerSecond), MBps: round(readAsync.mbPerSecond) },
    ratios: { asyncVsRawBuffered: round(asyncRatio, 3), sync256VsRawFdatasync: round(syncRatio, 3) },
    targets: { async: asyncMet, sync256: syncMet },
  };
  console.log(JSON.stringify(summary));
}

function printAppendRun(result: AppendRunResult): void {
  console.log(
    `store ${result.flushDiskType.padEnd(11)} ${String(result.appenders).padStart(3)} appenders  ` +
      `${fixed(result.messagesPerSecond, 0).padStart(8)} msg/s  ${fixed(result.mbPerSecond).padStart(7)} MB/s  ` +
      `p50 ${fixed(result.p50Ms, 3)} ms  p99 ${fixed(result.p99Ms, 3)} ms  cpu ${fixed(result.cpuMicrosPerMessage, 2)} us/msg (main thread ${fixed(result.mainThreadCpuMicrosPerMessage, 2)})` +
      (result.busy > 0 ? `  (${result.busy} SYSTEM_BUSY)` : '') +
      (result.timeouts > 0 ? `  (${result.timeouts} FLUSH_DISK_TIMEOUT)` : ''),
  );
}

interface FloorSet {
  buffered: FloorResult;
  synced: FloorResult;
  workerBuffered: FloorResult;
  workerSynced: FloorResult;
}

/** The floor at the bench's own record size, four ways, each printed with its ratio to raw. */
async function measureFloor(rawBufferedMBps: number, rawSyncedMBps: number): Promise<FloorSet> {
  const prepared = prepareRecord(benchInput(0, 0));
  // BODY follows STORETIMESTAMP (8), STOREHOST (IPv4: 8), RECONSUMETIMES (4), PREPARED_TX (8), body length (4).
  const base = { directory: workDir, durationMs: DURATION_MS, body, recordBytes: prepared.size, bodyPosition: prepared.storeTimestampPosition + 32 };
  const line = (label: string, result: FloorResult, raw: number, rawName: string): void =>
    console.log(
      `${label.padEnd(37)}${fixed(result.mbPerSecond)} MB/s  ${fixed(result.messagesPerSecond, 0)} msg/s  cpu ${fixed(result.cpuMicrosPerMessage, 2)} us/msg  ` +
        `= ${fixed((result.mbPerSecond / raw) * 100)} % of raw ${rawName}`,
    );
  const buffered = floorSingleThread({ ...base, withFdatasync: false });
  line(`floor ${prepared.size} B records, no fsync`, buffered, rawBufferedMBps, 'buffered');
  const synced = floorSingleThread({ ...base, withFdatasync: true });
  line('floor + fdatasync per 1 MiB', synced, rawSyncedMBps, 'fdatasync');
  const workerBuffered = await floorWithCrcWorker({ ...base, withFdatasync: false });
  line('floor, CRC on a worker, no fsync', workerBuffered, rawBufferedMBps, 'buffered');
  const workerSynced = await floorWithCrcWorker({ ...base, withFdatasync: true });
  line('floor, CRC on a worker, + fdatasync', workerSynced, rawSyncedMBps, 'fdatasync');
  return { buffered, synced, workerBuffered, workerSynced };
}

function loadAverage(): string {
  return os.loadavg()[0]!.toFixed(2);
}

function round(value: number, digits = 1): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

try {
  await main();
} finally {
  rmSync(workDir, { recursive: true, force: true });
}
