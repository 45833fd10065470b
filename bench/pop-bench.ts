/**
 * The POP benchmark: does a large number of invisible (in-flight) messages slow acks down or grow
 * memory without bound? On a real broker store, for pops of 1 message (one checkpoint per message,
 * the worst case) and of 32:
 *
 *  (a) stores enough messages over 8 queues,
 *  (b) pops (PopService.pop, what POP_MESSAGE and gRPC ReceiveMessage call) with a 1 h invisible
 *      time until exactly L messages are in flight, for each level L (default 10k, 50k, 100k, 200k),
 *      going up through the levels and then down again (acking down, untimed);
 *  (c) at each level, on both ways, acks TIDEMQ_BENCH_POP_ACKS random in-flight messages through the
 *      broker's ACK_MESSAGE handler (header parsing, receipt-handle parsing, the checkpoint lookup
 *      and the pop log record), 32 per event-loop turn so the pop log's per-turn write is in the
 *      timing, and after each 32 pops 32 more (untimed), so the level stays at L ± 32;
 *  (d) measures memory as V8 heap used + external (typed-array backing stores live outside the heap,
 *      so heap alone would hide them) after two forced GCs, before the pops and at each level going
 *      up, and after everything is acked.
 *
 * It prints acks/s and CPU µs per ack (process.cpuUsage, all threads; steadier than wall time on a
 * shared machine), medians over seven slices per pass, their ratio against the smallest level, and
 * bytes per in-flight message. The benchmark's own record of the handles is typed arrays allocated
 * before the baseline, so it does not count as broker memory. It never fails on numbers.
 *
 * Results, 2026-11-21 09:25 UTC, load average 9-11 on 2 cores (wall-clock acks/s meant little then;
 * CPU per ack is the figure to compare), the code before the compact table (git b7e32b4, this bench
 * copied over) and after, one run each, batch 1:
 *
 *   in flight         10k      50k      100k     200k
 *   CPU µs/ack old    6.05     6.07     6.08     6.66     (100k/10k 1.00x)   heap+external 202 B/msg
 *   CPU µs/ack new    3.46     3.48     3.30     3.45     (100k/10k 0.95x)   heap+external  82 B/msg
 *
 * Batch 32: 3.3-4.1 → 2.1-2.3 µs per ack, flat, ~3-8 B per message. A forced full GC at 200k in
 * flight: 115-148 ms old, 9-15 ms new (no per-checkpoint objects to trace). After all acks the table
 * gives its memory back. bench/pop-table-bench.ts and bench/pop-receipt-bench.ts isolate the parts.
 *
 *   npm run bench:pop                     (= tsc -p . && node --expose-gc dist/bench/pop-bench.js)
 *   TIDEMQ_BENCH_POP_LEVELS=10000,50000,100000,200000
 *   TIDEMQ_BENCH_POP_ACKS=10000           timed acks per level
 *   TIDEMQ_BENCH_DIR=<dir>                where the store goes (default bench/.cache in the repo)
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ResponseCode } from '../src/common/errors.js';
import { silentLogger } from '../src/common/logger.js';
import { createRequest, type RemotingCommand, type RequestContext, type RequestHandler } from '../src/protocol/remoting-command.js';
import { RequestCode } from '../src/protocol/request-code.js';
import { Broker } from '../src/broker/broker.js';
import { createBrokerConfig } from '../src/broker/broker-config.js';
import type { BrokerDeps } from '../src/broker/broker-deps.js';
import { registerPopHandlers } from '../src/broker/pop/pop-handlers.js';
import { createPopService, type PopService } from '../src/broker/pop/pop-service.js';
import { buildReceiptHandle, parseReceiptHandle, POP_REVIVE_QUEUE_ID } from '../src/broker/pop/receipt-handle.js';
import { newTopicConfig } from '../src/broker/topic-config-manager.js';
import { describeMachine, formatMachine } from './machine.js';

const LEVELS = (process.env.TIDEMQ_BENCH_POP_LEVELS ?? '10000,50000,100000,200000').split(',').map(Number);
const ACKS_PER_LEVEL = Number(process.env.TIDEMQ_BENCH_POP_ACKS ?? 10_000);
/** Acks handled per event-loop turn: about what one socket read of ACK_MESSAGE frames carries. */
const ACKS_PER_TURN = 32;
const QUEUES = 8;
const BODY = Buffer.alloc(256, 0x61);
const INVISIBLE_MS = 3_600_000;
const SLICES = 7;

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const benchRoot = process.env.TIDEMQ_BENCH_DIR ?? join(repoRoot, 'bench', '.cache');
mkdirSync(benchRoot, { recursive: true });
const workDir = mkdtempSync(join(benchRoot, 'pop-bench-'));

const gc = (globalThis as { gc?: () => void }).gc;

/** Heap used + external bytes after full collections. */
function memoryBytes(): number {
  gc?.();
  gc?.();
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.external;
}

/** Wall ms of one forced full collection (what the in-flight state costs each major GC to trace). */
function fullGcMs(): number {
  if (!gc) return Number.NaN;
  const startMs = performance.now();
  gc();
  return performance.now() - startMs;
}

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** What a client keeps of each in-flight message, in typed arrays sized once (not broker memory). */
class ClientHandles {
  readonly queueIds: Int32Array;
  readonly queueOffsets: Float64Array;
  readonly checkpointOffsets: Float64Array;
  readonly popTimes: Float64Array;
  count = 0;

  constructor(capacity: number) {
    this.queueIds = new Int32Array(capacity);
    this.queueOffsets = new Float64Array(capacity);
    this.checkpointOffsets = new Float64Array(capacity);
    this.popTimes = new Float64Array(capacity);
  }

  push(queueId: number, queueOffset: number, checkpointOffset: number, popTimeMs: number): void {
    const index = this.count++;
    this.queueIds[index] = queueId;
    this.queueOffsets[index] = queueOffset;
    this.checkpointOffsets[index] = checkpointOffset;
    this.popTimes[index] = popTimeMs;
  }

  /** Removes a random handle and returns the ACK_MESSAGE request a Java client would send for it. */
  takeRandomAck(group: string, topic: string, brokerName: string): RemotingCommand {
    const index = Math.floor(Math.random() * this.count);
    const queueId = this.queueIds[index]!;
    const queueOffset = this.queueOffsets[index]!;
    const extraInfo = buildReceiptHandle({
      ckQueueOffset: this.checkpointOffsets[index]!, popTimeMs: this.popTimes[index]!, invisibleTimeMs: INVISIBLE_MS,
      reviveQueueId: POP_REVIVE_QUEUE_ID, retryFlag: '0', brokerName, queueId, queueOffset,
    });
    const last = --this.count;
    this.queueIds[index] = this.queueIds[last]!;
    this.queueOffsets[index] = this.queueOffsets[last]!;
    this.checkpointOffsets[index] = this.checkpointOffsets[last]!;
    this.popTimes[index] = this.popTimes[last]!;
    return createRequest(RequestCode.ACK_MESSAGE, { consumerGroup: group, topic, queueId: String(queueId), extraInfo, offset: String(queueOffset) });
  }
}

interface LevelResult {
  inflight: number;
  /** Medians over the slices of both passes (up and down). */
  acksPerSecond: number;
  cpuMicrosPerAck: number;
  /** Medians of each pass alone (the largest level is measured once: both are the same). */
  cpuMicrosPerAckUp: number;
  cpuMicrosPerAckDown: number;
  bytesPerInflight: number;
  /** One forced full GC at this level, ms (median of three). */
  fullGcMs: number;
  /** Bytes of the checkpoint table's and the expiry wheel's arrays per in-flight message. */
  tableBytesPerInflight: number;
}

interface RunResult {
  batch: number;
  popsPerSecond: number;
  levels: LevelResult[];
  bytesAfterAllAcked: number;
}

interface Run {
  pop: PopService;
  ack: RequestHandler;
  group: string;
  topic: string;
  batch: number;
  handles: ClientHandles;
  brokerName: string;
}

async function popInto(run: Run, wanted: number): Promise<void> {
  let added = 0;
  while (added < wanted) {
    const result = await run.pop.pop({
      group: run.group, topic: run.topic, queueId: -1, maxMessages: Math.min(run.batch, wanted - added),
      invisibleTimeMs: INVISIBLE_MS, pollTimeMs: 0, initMode: 'MIN',
    });
    if (result.status !== 'FOUND') throw new Error(`pop stopped after ${added} messages: ${result.status}`);
    for (const message of result.messages) {
      const handle = parseReceiptHandle(message.receiptHandle)!;
      run.handles.push(message.queueId, message.queueOffset, handle.ckQueueOffset, handle.popTimeMs);
    }
    added += result.messages.length;
  }
}

const context = { connection: {}, reply: () => undefined } as unknown as RequestContext;

/** Acks `count` random in-flight messages, refilling after each turn; returns wall ms and CPU µs. */
async function timedAcks(run: Run, count: number): Promise<{ wallMs: number; cpuMicros: number }> {
  let wallMs = 0;
  let cpuMicros = 0;
  const requests: RemotingCommand[] = [];
  for (let done = 0; done < count; done += ACKS_PER_TURN) {
    const turn = Math.min(ACKS_PER_TURN, count - done);
    requests.length = 0;
    for (let index = 0; index < turn; index++) requests.push(run.handles.takeRandomAck(run.group, run.topic, run.brokerName));
    const cpuStart = process.cpuUsage();
    const wallStart = performance.now();
    for (const request of requests) {
      const response = run.ack(request, context) as RemotingCommand;
      if (response.code !== ResponseCode.SUCCESS) throw new Error(`ack failed: ${response.code} ${response.remark ?? ''}`);
    }
    // The pop log's flushSoon was scheduled by the first ack, so it runs in this turn before us.
    await nextTurn();
    wallMs += performance.now() - wallStart;
    const cpu = process.cpuUsage(cpuStart);
    cpuMicros += cpu.user + cpu.system;
    await popInto(run, turn);
  }
  return { wallMs, cpuMicros };
}

/** Acks random messages (untimed) until `level` are in flight. */
async function ackDown(run: Run, level: number): Promise<void> {
  while (run.handles.count > level) {
    for (let index = 0; index < ACKS_PER_TURN && run.handles.count > level; index++) run.ack(run.handles.takeRandomAck(run.group, run.topic, run.brokerName), context);
    await nextTurn();
  }
}

interface Slices {
  rates: number[];
  cpuPerAck: number[];
}

/** Times `acks` acks at the current level in SLICES slices. */
async function measureSlices(run: Run, acks: number): Promise<Slices> {
  const slice = Math.max(ACKS_PER_TURN, Math.floor(acks / SLICES / ACKS_PER_TURN) * ACKS_PER_TURN);
  const slices: Slices = { rates: [], cpuPerAck: [] };
  for (let index = 0; index < SLICES; index++) {
    const timing = await timedAcks(run, slice);
    slices.rates.push(slice / (timing.wallMs / 1000));
    slices.cpuPerAck.push(timing.cpuMicros / slice);
  }
  return slices;
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

function messagesNeeded(levels: number[], acks: number): number {
  return Math.max(...levels) + 2 * levels.length * (acks + 2 * ACKS_PER_TURN * SLICES) + ACKS_PER_TURN;
}

/** Stores the messages of one run (all runs' before any is measured: writing disturbs the memory figures). */
function storeMessages(deps: BrokerDeps, topic: string, messages: number): number {
  deps.topicConfigManager.updateTopicConfig(newTopicConfig(topic, { readQueueNums: QUEUES, writeQueueNums: QUEUES }));
  let endOffset = 0;
  for (let index = 0; index < messages; index++) {
    endOffset = deps.writer.write({
      topic, queueId: index % QUEUES, flag: 0, sysFlag: 0, bornTimestamp: Date.now(), bornHost: deps.runtime.storeHost,
      reconsumeTimes: 0, preparedTransactionOffset: 0, body: BODY, properties: new Map([['TAGS', 'bench']]),
    }).result.endOffset;
  }
  return endOffset;
}

const topicOf = (label: string, batch: number): string => `PopBench-${label}-${batch}`;

async function runBatch(deps: BrokerDeps, batch: number, levels: number[], acks: number, label: string): Promise<RunResult> {
  const topic = topicOf(label, batch);
  const maxLevel = Math.max(...levels);
  const pop = createPopService(deps, { popDir: join(workDir, `pop-${label}-${batch}`), maxInflightMessagesPerGroup: maxLevel * 2, maxInflightMessages: maxLevel * 2 });
  pop.start();
  const handlers = new Map<number, RequestHandler>();
  registerPopHandlers(handlers, deps, pop);
  const run: Run = { pop, ack: handlers.get(RequestCode.ACK_MESSAGE)!, group: `G-${label}-${batch}`, topic, batch, handles: new ClientHandles(maxLevel + ACKS_PER_TURN), brokerName: deps.config.brokerName };
  const baseline = memoryBytes();
  let popMs = 0;
  const ascending = [...levels].sort((a, b) => a - b);
  // Up through the levels and down again (acked down, untimed), each level but the top measured on
  // both ways: what drifts with time or order (JIT, heap sizing, the machine's load) then weighs on
  // small and large levels alike, and what grows with the in-flight count shows.
  const sequence = [...ascending, ...ascending.slice(0, -1).reverse()];
  const up = new Map<number, Slices & { bytes: number; tableBytes: number; gcMs: number }>();
  const down = new Map<number, Slices>();
  for (const [step, level] of sequence.entries()) {
    const popStart = performance.now();
    if (level >= run.handles.count) await popInto(run, level - run.handles.count);
    else await ackDown(run, level);
    if (step < ascending.length) popMs += performance.now() - popStart;
    if (pop.inflightMessages(run.group) !== level) throw new Error(`expected ${level} in flight, got ${pop.inflightMessages(run.group)}`);
    if (step < ascending.length) {
      const bytes = memoryBytes() - baseline;
      // stateStats() is new with the compact table; NaN when this bench runs against older code.
      const tableBytes = (pop as { stateStats?: () => { bytes: number } }).stateStats?.().bytes ?? Number.NaN;
      const gcMs = median([fullGcMs(), fullGcMs(), fullGcMs()]);
      up.set(level, { ...(await measureSlices(run, acks)), bytes, tableBytes, gcMs });
    } else {
      down.set(level, await measureSlices(run, acks));
    }
  }
  const results: LevelResult[] = ascending.map((level) => {
    const first = up.get(level)!;
    const second = down.get(level) ?? first;
    return {
      inflight: level,
      acksPerSecond: median([...first.rates, ...(second === first ? [] : second.rates)]),
      cpuMicrosPerAck: median([...first.cpuPerAck, ...(second === first ? [] : second.cpuPerAck)]),
      cpuMicrosPerAckUp: median(first.cpuPerAck),
      cpuMicrosPerAckDown: median(second.cpuPerAck),
      bytesPerInflight: first.bytes / level,
      fullGcMs: first.gcMs,
      tableBytesPerInflight: first.tableBytes / level,
    };
  });
  await ackDown(run, 0);
  if (pop.inflightMessages(run.group) !== 0) throw new Error('messages left in flight after acking all');
  const bytesAfterAllAcked = memoryBytes() - baseline;
  await pop.close();
  return { batch, popsPerSecond: maxLevel / (popMs / 1000), levels: results, bytesAfterAllAcked };
}

const fixed = (value: number, digits = 0): string => value.toFixed(digits);
const load = (): string => os.loadavg().map((value) => value.toFixed(2)).join(' ');

async function main(): Promise<void> {
  console.log(formatMachine(describeMachine(workDir)));
  if (!gc) console.log('note: run with node --expose-gc, or the memory numbers mean little');
  console.log(`levels ${LEVELS.join(', ')} in flight; ${ACKS_PER_LEVEL} timed acks per level through ACK_MESSAGE, ${ACKS_PER_TURN} per turn, random order; ${BODY.length} B bodies over ${QUEUES} queues, invisible 1 h`);
  const loadStart = load();
  const broker = new Broker(createBrokerConfig({
    storePathRootDir: join(workDir, 'store'), listenPort: 0, listenHost: '127.0.0.1', brokerIP1: '127.0.0.1',
    mappedFileSizeCommitLog: 256 * 1024 * 1024, maxHashSlotNum: 100_000, maxIndexNum: 400_000,
  }), { logger: silentLogger });
  await broker.start();
  const results: RunResult[] = [];
  const warm = { levels: [2000, 4000], acks: 2000 };
  let endOffset = 0;
  for (const batch of [1, 32]) {
    storeMessages(broker.brokerDeps, topicOf('warm', batch), messagesNeeded(warm.levels, warm.acks));
    endOffset = storeMessages(broker.brokerDeps, topicOf('run', batch), messagesNeeded(LEVELS, ACKS_PER_LEVEL));
  }
  // The writes leave buffers that the store frees once flushed, and their fdatasync would count in
  // the process's CPU time: both are over before anything is measured.
  await broker.brokerDeps.store.waitDurable(endOffset);
  await new Promise((resolve) => setTimeout(resolve, 500));
  try {
    // An unreported round of both shapes warms up the JIT, so the first level is not compiler time.
    for (const batch of [1, 32]) await runBatch(broker.brokerDeps, batch, warm.levels, warm.acks, 'warm');
    for (const batch of [1, 32]) results.push(await runBatch(broker.brokerDeps, batch, LEVELS, ACKS_PER_LEVEL, 'run'));
  } finally {
    await broker.close();
    rmSync(workDir, { recursive: true, force: true });
  }
  for (const result of results) {
    const first = result.levels[0]!;
    console.log(`\nbatch ${result.batch} per pop (${result.batch === 1 ? 'one checkpoint per message' : 'checkpoints of up to 32'}); pops ${fixed(result.popsPerSecond)} messages/s`);
    console.log('  in flight | acks/s  | CPU µs/ack (going up / down) | slowdown vs the first row: acks/s  CPU | B per in-flight message: heap+external (table arrays) | full GC ms');
    for (const level of result.levels) {
      const cpu = `${fixed(level.cpuMicrosPerAck, 2)} (${fixed(level.cpuMicrosPerAckUp, 2)} / ${fixed(level.cpuMicrosPerAckDown, 2)})`;
      console.log(`  ${String(level.inflight).padStart(9)} | ${fixed(level.acksPerSecond).padStart(7)} | ${cpu.padStart(28)} | ${fixed(first.acksPerSecond / level.acksPerSecond, 2).padStart(30)}x ${fixed(level.cpuMicrosPerAck / first.cpuMicrosPerAck, 2).padStart(4)}x | ${fixed(level.bytesPerInflight)} (${fixed(level.tableBytesPerInflight)}) | ${fixed(level.fullGcMs, 1)}`);
    }
    console.log(`  after acking everything: ${fixed(result.bytesAfterAllAcked / 1024 / 1024, 1)} MiB above the baseline`);
  }
  console.log(`\nload average: ${loadStart} at the start, ${load()} at the end`);
  console.log(JSON.stringify({ bench: 'pop', date: new Date().toISOString(), loadAverage: { start: loadStart, end: load() }, acksPerLevel: ACKS_PER_LEVEL, results }));
}

await main();
