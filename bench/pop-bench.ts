/**
 * The POP benchmark: does a large number of invisible (in-flight) messages slow acks down or grow
 * memory without bound? On a real broker store, for batches of 32 and of 1 message per pop (1 = one
 * checkpoint per message, the worst case):
 *  (a) stores N messages (default 100,000) over 8 queues,
 *  (b) pops them all with a 1 h invisible time, through PopService (the API both the remoting
 *      handlers and the gRPC gateway call),
 *  (c) acks them all in random order, timing the first and the last 10 % of the acks,
 * and prints acks/s at the start and at the end (their ratio should stay near 1), pops/s, and RSS and
 * heap before the pops, with N in flight, and after the acks, as ratios. It never fails on numbers.
 *
 *   npm run build && node --expose-gc dist/bench/pop-bench.js
 *   TIDEMQ_BENCH_POP_MESSAGES=100000   messages per run
 *   TIDEMQ_BENCH_DIR=<dir>             where the store goes (default bench/.cache in the repo)
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { silentLogger } from '../src/common/logger.js';
import { Broker } from '../src/broker/broker.js';
import { createBrokerConfig } from '../src/broker/broker-config.js';
import type { BrokerDeps } from '../src/broker/broker-deps.js';
import { createPopService } from '../src/broker/pop/pop-service.js';
import { newTopicConfig } from '../src/broker/topic-config-manager.js';
import { describeMachine, formatMachine } from './machine.js';

const MESSAGES = Number(process.env.TIDEMQ_BENCH_POP_MESSAGES ?? 100_000);
const QUEUES = 8;
const BODY = Buffer.alloc(256, 0x61);
const SAMPLE_FRACTION = 0.1;
const MIB = 1024 * 1024;

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const benchRoot = process.env.TIDEMQ_BENCH_DIR ?? join(repoRoot, 'bench', '.cache');
mkdirSync(benchRoot, { recursive: true });
const workDir = mkdtempSync(join(benchRoot, 'pop-bench-'));

interface Memory {
  rssMiB: number;
  heapMiB: number;
}

function memory(): Memory {
  (globalThis as { gc?: () => void }).gc?.();
  const usage = process.memoryUsage();
  return { rssMiB: usage.rss / MIB, heapMiB: usage.heapUsed / MIB };
}

function shuffle<T>(items: T[]): T[] {
  for (let index = items.length - 1; index > 0; index--) {
    const other = Math.floor(Math.random() * (index + 1));
    [items[index], items[other]] = [items[other]!, items[index]!];
  }
  return items;
}

interface RunResult {
  batch: number;
  popsPerSecond: number;
  acksPerSecondStart: number;
  acksPerSecondEnd: number;
  before: Memory;
  inflight: Memory;
  afterAcks: Memory;
}

async function run(deps: BrokerDeps, batch: number, messages: number): Promise<RunResult> {
  const MESSAGES = messages;
  const topic = `PopBench${batch}-${messages}`;
  deps.topicConfigManager.updateTopicConfig(newTopicConfig(topic, { readQueueNums: QUEUES, writeQueueNums: QUEUES }));
  for (let index = 0; index < MESSAGES; index++) {
    deps.writer.write({
      topic, queueId: index % QUEUES, flag: 0, sysFlag: 0, bornTimestamp: Date.now(), bornHost: deps.runtime.storeHost,
      reconsumeTimes: 0, preparedTransactionOffset: 0, body: BODY, properties: new Map([['TAGS', 'bench']]),
    });
  }
  const pop = createPopService(deps, { popDir: join(workDir, `pop-${batch}-${messages}`), maxInflightMessagesPerGroup: MESSAGES * 2 });
  pop.start();
  const group = `G${batch}-${messages}`;
  const before = memory();
  const handles: string[] = [];
  const popStartMs = performance.now();
  while (handles.length < MESSAGES) {
    const result = await pop.pop({ group, topic, queueId: -1, maxMessages: batch, invisibleTimeMs: 3_600_000, pollTimeMs: 0, initMode: 'MIN' });
    if (result.status !== 'FOUND') throw new Error(`pop stopped at ${handles.length} messages: ${result.status}`);
    // Flattened: a handle built by concatenation is a rope of many small strings, which would make
    // this array (the benchmark's, not the broker's) look like the service's memory.
    for (const message of result.messages) handles.push(Buffer.from(message.receiptHandle, 'latin1').toString('latin1'));
  }
  const popsPerSecond = MESSAGES / ((performance.now() - popStartMs) / 1000);
  const inflight = memory();
  if (pop.inflightMessages(group) !== MESSAGES) throw new Error(`expected ${MESSAGES} in flight, got ${pop.inflightMessages(group)}`);
  shuffle(handles);
  const sample = Math.max(1, Math.floor(MESSAGES * SAMPLE_FRACTION));
  const timeAcks = (from: number, to: number): number => {
    const startMs = performance.now();
    for (let index = from; index < to; index++) {
      if (pop.ack(group, topic, handles[index]!) !== 'OK') throw new Error(`ack ${index} failed`);
    }
    return (to - from) / ((performance.now() - startMs) / 1000);
  };
  // Each end is the median of five slices, so one garbage collection does not decide the ratio.
  const medianRate = (from: number): number => {
    const slice = Math.max(1, Math.floor(sample / 5));
    const rates = Array.from({ length: 5 }, (_, index) => timeAcks(from + index * slice, from + (index + 1) * slice)).sort((a, b) => a - b);
    return rates[2]!;
  };
  const acksPerSecondStart = medianRate(0);
  timeAcks(Math.floor(sample / 5) * 5, MESSAGES - sample);
  const acksPerSecondEnd = medianRate(MESSAGES - sample);
  if (pop.inflightMessages(group) !== 0) throw new Error('messages left in flight after acking all');
  handles.length = 0;
  const afterAcks = memory();
  await pop.close();
  return { batch, popsPerSecond, acksPerSecondStart, acksPerSecondEnd, before, inflight, afterAcks };
}

const fixed = (value: number, digits = 0): string => value.toFixed(digits);

async function main(): Promise<void> {
  console.log(formatMachine(describeMachine(workDir)));
  if (!(globalThis as { gc?: () => void }).gc) console.log('note: run with node --expose-gc for steadier memory numbers');
  console.log(`messages: ${MESSAGES} over ${QUEUES} queues, ${BODY.length} B bodies, invisible 1 h, acks in random order`);
  const broker = new Broker(createBrokerConfig({
    storePathRootDir: join(workDir, 'store'), listenPort: 0, listenHost: '127.0.0.1', brokerIP1: '127.0.0.1',
    mappedFileSizeCommitLog: 256 * MIB, maxHashSlotNum: 100_000, maxIndexNum: 400_000,
  }), { logger: silentLogger });
  await broker.start();
  const results: RunResult[] = [];
  try {
    // Unreported rounds of both shapes first warm up the JIT, so the first timed acks are not compiler time.
    for (const batch of [32, 1]) await run(broker.brokerDeps, batch, Math.floor(MESSAGES / 5));
    for (const batch of [32, 1]) results.push(await run(broker.brokerDeps, batch, MESSAGES));
  } finally {
    await broker.close();
    rmSync(workDir, { recursive: true, force: true });
  }
  for (const result of results) {
    console.log(`\nbatch ${result.batch} per pop (${result.batch === 1 ? 'one checkpoint per message' : 'checkpoints of up to 32'}):`);
    console.log(`  pops:  ${fixed(result.popsPerSecond)} messages/s`);
    console.log(`  acks:  ${fixed(result.acksPerSecondStart)}/s over the first 10 % (${MESSAGES} in flight), ${fixed(result.acksPerSecondEnd)}/s over the last 10 % (< ${fixed(MESSAGES * SAMPLE_FRACTION)} in flight); end/start = ${fixed(result.acksPerSecondEnd / result.acksPerSecondStart, 2)}`);
    console.log(`  RSS:   ${fixed(result.before.rssMiB)} MiB before, ${fixed(result.inflight.rssMiB)} MiB with ${MESSAGES} in flight (x${fixed(result.inflight.rssMiB / result.before.rssMiB, 2)}), ${fixed(result.afterAcks.rssMiB)} MiB after the acks (x${fixed(result.afterAcks.rssMiB / result.before.rssMiB, 2)})`);
    console.log(`  heap:  ${fixed(result.before.heapMiB, 1)} MiB before, ${fixed(result.inflight.heapMiB, 1)} MiB in flight (x${fixed(result.inflight.heapMiB / result.before.heapMiB, 2)}, ${fixed(((result.inflight.heapMiB - result.before.heapMiB) * MIB) / MESSAGES)} B per message, ~70 B of it the benchmark's own handle array), ${fixed(result.afterAcks.heapMiB, 1)} MiB after (x${fixed(result.afterAcks.heapMiB / result.before.heapMiB, 2)})`);
  }
  console.log(JSON.stringify({ bench: 'pop', messages: MESSAGES, results }));
}

await main();
