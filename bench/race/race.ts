/**
 * The performance race: TideMQ against Apache RocketMQ 5.x and NATS JetStream, with a minimal
 * append-and-acknowledge Node server as the sanity mark, all on this machine, in one run, each
 * driven by the same workload (one topic, 8 queues, 1 KiB messages, one producer process, one
 * consumer process):
 *
 *  1. maximum acknowledged produce rate, ASYNC_FLUSH and SYNC_FLUSH (fresh store each; best of
 *     `--rounds` runs, default 3, `--quick` 2);
 *  2. end-to-end latency (send → receipt in another process) at a fixed 10,000 msgs/s;
 *  3. catch-up: write a backlog (default 10 GiB, `--quick` 1 GiB), stop the broker, drop the page
 *     cache (root only), restart it, and consume everything from the start;
 *  4. the broker's RSS (/proc/<pid>/status, sampled) during 1 and 3, and the time from spawning
 *     the broker process to its first accepted send.
 *
 * It prints the table, each target as a ratio measured in this run, writes the JSON results under
 * the race directory, and with --write-readme replaces the results block in bench/README.md.
 * It never fails on numbers; a system that cannot run here (no java, no nats-server) is reported.
 *
 * `--report <results.json>` re-renders the table (and with --write-readme the README block) from a
 * saved run without running anything.
 *
 *   npm run bench:race -- [--quick] [--backlog-gb 10] [--systems baseline,tidemq,rocketmq,nats]
 *        [--duration 20] [--rounds 3] [--e2e-duration 30] [--producers 4] [--window 256] [--dir <dir>]
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadAverage } from '../../src/cli/bench/bench-report.js';
import { describeMachine, formatMachine } from '../machine.js';
import { combineMemory, dropPageCache, sampleMemory, startBenchProcess, type BenchRun } from './race-processes.js';
import { markdownBlock, resultsTable, targetChecks, targetLines, updateReadme, type RaceResults, type SystemResult } from './race-report.js';
import { baselineAdapter, natsAdapter, rocketmqAdapter, tidemqAdapter, type BenchArgs, type FlushMode, type RunningSystem, type SystemAdapter, type SystemName } from './race-systems.js';

const REPO_ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../..');

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    'backlog-gb': { type: 'string' },
    systems: { type: 'string', default: 'baseline,tidemq,rocketmq,nats' },
    duration: { type: 'string' },
    'e2e-duration': { type: 'string' },
    'e2e-rate': { type: 'string', default: '10000' },
    producers: { type: 'string', default: '4' },
    window: { type: 'string', default: '256' },
    queues: { type: 'string', default: '8' },
    size: { type: 'string', default: '1024' },
    dir: { type: 'string' },
    'write-readme': { type: 'boolean', default: false },
    'keep-data': { type: 'boolean', default: false },
    rounds: { type: 'string' },
    report: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

if (values.help) {
  process.stdout.write(
    'usage: node dist/bench/race/race.js [--quick] [--backlog-gb N] [--systems baseline,tidemq,rocketmq,nats] [--duration S] [--e2e-duration S]\n' +
      '         [--e2e-rate N] [--producers N] [--window N] [--queues N] [--size BYTES] [--rounds N] [--dir DIR] [--keep-data]\n' +
      '         [--write-readme] [--report results.json]\n' +
      'The options and what the race measures: bench/README.md, section "Race".\n',
  );
  process.exit(0);
}

if (values.report !== undefined) {
  const saved = JSON.parse(readFileSync(values.report, 'utf8')) as RaceResults;
  process.stdout.write(`${resultsTable(saved)}\n\n${targetLines(targetChecks(saved))}\n`);
  if (values['write-readme']) {
    const readme = join(REPO_ROOT, 'bench/README.md');
    process.stdout.write(updateReadme(readme, markdownBlock(saved)) ? `updated ${readme}\n` : `${readme} has no race results markers; not updated\n`);
  }
  process.exit(0);
}

const quick = values.quick!;
const settings = {
  quick,
  backlogGiB: Number(values['backlog-gb'] ?? (quick ? 1 : 10)),
  produceSeconds: Number(values.duration ?? (quick ? 8 : 20)),
  warmupSeconds: quick ? 3 : 5,
  rounds: Number(values.rounds ?? (quick ? 2 : 3)),
  e2eSeconds: Number(values['e2e-duration'] ?? (quick ? 10 : 30)),
  e2eRate: Number(values['e2e-rate']),
  producers: Number(values.producers),
  window: Number(values.window),
  queues: Number(values.queues),
  messageBytes: Number(values.size),
};
const systems = values.systems!.split(',').map((name) => name.trim()) as SystemName[];
const raceDir = resolve(values.dir ?? join(REPO_ROOT, 'bench/.cache/race'));
mkdirSync(raceDir, { recursive: true });
const logFile = join(raceDir, `race-${new Date().toISOString().replace(/[:.]/g, '-')}.log`);
const TOPIC = 'RaceTopic';
const BACKLOG_TOPIC = 'RaceBacklog';
/** A process gets this much beyond its planned duration before it is killed. */
const PROCESS_SLACK_MS = 120_000;
const START_PROBE_TIMEOUT_MS = 180_000;

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

function baseArgs(): Omit<BenchArgs, 'mode'> {
  return {
    topic: TOPIC,
    queues: settings.queues,
    size: settings.messageBytes,
    producers: settings.producers,
    window: settings.window,
    durationSeconds: settings.produceSeconds,
    rate: 0,
    messages: 0,
    warmupSeconds: settings.warmupSeconds,
    from: 'latest',
    untilCaughtUp: false,
    idleExitSeconds: 0,
  };
}

function runBench(adapter: SystemAdapter, running: RunningSystem, args: BenchArgs, label: string, timeoutMs: number): BenchRun {
  const { command, args: commandArgs } = adapter.benchCommand(running, args);
  return startBenchProcess(command, commandArgs, logFile, `  [${adapter.name} ${label}]`, timeoutMs);
}

/** Starts the system and measures spawn → first accepted send. */
async function startMeasured(adapter: SystemAdapter, home: string, flush: FlushMode): Promise<{ running: RunningSystem; startToFirstSendMs: number }> {
  const spawnedMs = Date.now();
  const running = await adapter.start(home, flush);
  const acceptedMs = await adapter.firstAcceptedSend(running, START_PROBE_TIMEOUT_MS);
  return { running, startToFirstSendMs: acceptedMs - spawnedMs };
}

async function phaseProduce(adapter: SystemAdapter, running: RunningSystem, flush: FlushMode, result: SystemResult): Promise<void> {
  // The machine is shared: other work only ever slows a round down, so the best round is the
  // closest to what the system can do here. Every round's rate is kept for the report.
  const rates: number[] = [];
  for (let round = 1; round <= settings.rounds; round++) {
    say(`[${adapter.name}] 1. max produce rate, ${flush}, round ${round} of ${settings.rounds}; loadavg ${loadAverage().join(' ')}`);
    const memory = sampleMemory(running.pid);
    let summary;
    try {
      const run = runBench(adapter, running, { ...baseArgs(), mode: 'produce' }, `produce ${flush}`, (settings.produceSeconds + settings.warmupSeconds) * 1000 + PROCESS_SLACK_MS);
      summary = await run.done;
    } finally {
      const stats = memory.stop();
      result.memory.produce = result.memory.produce === undefined ? stats : combineMemory([result.memory.produce, stats]);
    }
    rates.push(summary.messagesPerSecond);
    const best = result.produce[flush];
    if (best === undefined || summary.messagesPerSecond > best.messagesPerSecond) result.produce[flush] = summary;
    say(`[${adapter.name}]    ${summary.messagesPerSecond} msgs/s, ack p99 ${summary.sendLatencyMs?.p99} ms; loadavg ${loadAverage().join(' ')}`);
  }
  result.produceRounds[flush] = rates;
}

async function phaseE2e(adapter: SystemAdapter, running: RunningSystem, result: SystemResult): Promise<void> {
  say(`[${adapter.name}] 2. end-to-end latency at ${settings.e2eRate} msgs/s; loadavg ${loadAverage().join(' ')}`);
  const consumer = runBench(adapter, running, { ...baseArgs(), mode: 'consume', durationSeconds: 0, warmupSeconds: 0, idleExitSeconds: 3 }, 'e2e consumer', settings.e2eSeconds * 1000 + PROCESS_SLACK_MS * 2);
  await consumer.ready;
  const producer = runBench(adapter, running, { ...baseArgs(), mode: 'produce', rate: settings.e2eRate, durationSeconds: settings.e2eSeconds }, 'e2e producer', (settings.e2eSeconds + settings.warmupSeconds) * 1000 + PROCESS_SLACK_MS);
  let producerSummary;
  try {
    producerSummary = await producer.done;
  } catch (error) {
    consumer.kill();
    await consumer.done.catch(() => undefined);
    throw error;
  }
  const consumerSummary = await consumer.done;
  result.e2e = { producer: producerSummary, consumer: consumerSummary };
  say(`[${adapter.name}]    e2e p50 ${consumerSummary.e2eLatencyMs?.p50} ms p99 ${consumerSummary.e2eLatencyMs?.p99} ms over ${consumerSummary.messages} messages; loadavg ${loadAverage().join(' ')}`);
}

/** Writes the backlog, restarts the system on its store with a cold page cache, and consumes it all. */
async function phaseCatchUp(adapter: SystemAdapter, running: RunningSystem, home: string, result: SystemResult): Promise<RunningSystem> {
  const messages = Math.ceil((settings.backlogGiB * 1024 ** 3) / settings.messageBytes);
  say(`[${adapter.name}] 3. catch-up: writing a ${settings.backlogGiB} GiB backlog (${messages} messages); loadavg ${loadAverage().join(' ')}`);
  await adapter.createTopic(running, BACKLOG_TOPIC, settings.queues);
  const writer = runBench(adapter, running, { ...baseArgs(), mode: 'produce', topic: BACKLOG_TOPIC, durationSeconds: 0, warmupSeconds: 0, messages }, 'backlog', 6 * 3600 * 1000);
  const produce = await writer.done;
  await running.stop();
  const cache = dropPageCache();
  say(`[${adapter.name}]    ${cache.note}`);
  const restartedMs = Date.now();
  const restarted = await adapter.start(home, 'ASYNC_FLUSH');
  const restartToReadyMs = Date.now() - restartedMs;
  say(`[${adapter.name}]    restarted in ${restartToReadyMs} ms; consuming from the start; loadavg ${loadAverage().join(' ')}`);
  const memory = sampleMemory(restarted.pid);
  const rssAtConsumeStartMiB = memory.stop().maxRssMiB;
  const during = sampleMemory(restarted.pid);
  try {
    const reader = runBench(adapter, restarted, { ...baseArgs(), mode: 'consume', topic: BACKLOG_TOPIC, durationSeconds: 0, warmupSeconds: 0, from: 'earliest', untilCaughtUp: true, idleExitSeconds: 30 }, 'catch-up', 6 * 3600 * 1000);
    const consume = await reader.done;
    result.backlog = { produce, cacheNote: cache.note, restartToReadyMs, consume, rssAtConsumeStartMiB };
  } finally {
    result.memory.catchUp = during.stop();
  }
  say(`[${adapter.name}]    caught up: ${result.backlog.consume.messagesPerSecond} msgs/s (${result.backlog.consume.megabytesPerSecond} MB/s); loadavg ${loadAverage().join(' ')}`);
  return restarted;
}

async function runSystem(adapter: SystemAdapter): Promise<SystemResult> {
  const result: SystemResult = { name: adapter.name, notes: adapter.notes, produce: {}, produceRounds: {}, memory: {}, errors: [] };
  try {
    await adapter.prepare?.(join(raceDir, 'data'));
  } catch (error) {
    result.errors.push(`prepare: ${error instanceof Error ? error.message : String(error)}`);
    return result;
  }
  const homeFor = (flush: FlushMode): string => join(raceDir, 'data', `${adapter.name}-${flush === 'ASYNC_FLUSH' ? 'async' : 'sync'}`);
  for (const flush of ['ASYNC_FLUSH', 'SYNC_FLUSH'] as const) {
    if (!adapter.flushModes.includes(flush)) {
      if (flush === 'SYNC_FLUSH' && result.produce.ASYNC_FLUSH !== undefined) {
        result.produce.SYNC_FLUSH = result.produce.ASYNC_FLUSH;
        result.produceRounds.SYNC_FLUSH = result.produceRounds.ASYNC_FLUSH;
        result.syncIsAsync = true;
      }
      continue;
    }
    const home = homeFor(flush);
    rmSync(home, { recursive: true, force: true });
    let running: RunningSystem | undefined;
    try {
      say(`[${adapter.name}] starting (${flush}); loadavg ${loadAverage().join(' ')}`);
      const started = await startMeasured(adapter, home, flush);
      running = started.running;
      if (flush === 'ASYNC_FLUSH') result.startToFirstSendMs = started.startToFirstSendMs;
      say(`[${adapter.name}]    started: first accepted send ${started.startToFirstSendMs} ms after spawn (pid ${running.pid})`);
      await adapter.createTopic(running, TOPIC, settings.queues);
      await phaseProduce(adapter, running, flush, result);
      if (flush === 'ASYNC_FLUSH' && adapter.consumes) {
        await phaseE2e(adapter, running, result);
        if (settings.backlogGiB > 0) running = await phaseCatchUp(adapter, running, home, result);
      }
    } catch (error) {
      result.errors.push(`${flush}: ${error instanceof Error ? error.message : String(error)}`);
      say(`[${adapter.name}] FAILED (${flush}): ${error instanceof Error ? error.message : String(error)}`);
    } finally {
      await running?.stop().catch(() => undefined);
      if (!values['keep-data']) rmSync(home, { recursive: true, force: true });
    }
  }
  await adapter.close().catch(() => undefined);
  return result;
}

function adapterFor(name: SystemName): SystemAdapter {
  switch (name) {
    case 'tidemq':
      return tidemqAdapter();
    case 'rocketmq':
      return rocketmqAdapter();
    case 'nats':
      return natsAdapter();
    case 'baseline':
      return baselineAdapter(settings.queues);
    default:
      throw new Error(`unknown system ${String(name)} (tidemq, rocketmq, nats, baseline)`);
  }
}

const machine = formatMachine(describeMachine(raceDir));
const startedAt = new Date().toISOString();
const loadStart = loadAverage();
say(machine);
say(`race: ${systems.join(', ')}; ${JSON.stringify(settings)}; loadavg ${loadStart.join(' ')}; log ${logFile}`);
const results: SystemResult[] = [];
for (const name of systems) results.push(await runSystem(adapterFor(name)));
rmSync(join(raceDir, 'data'), { recursive: true, force: true });
const race: RaceResults = {
  startedAt,
  finishedAt: new Date().toISOString(),
  machine,
  quick,
  settings: { ...settings, systems: systems.join('+') },
  loadAverage: { start: loadStart, end: loadAverage() },
  systems: results,
};
const jsonPath = join(raceDir, `race-${startedAt.replace(/[:.]/g, '-')}.json`);
writeFileSync(jsonPath, `${JSON.stringify(race, null, 2)}\n`);
say('');
say(resultsTable(race));
say('');
say(targetLines(targetChecks(race)));
say(`\nresults: ${jsonPath}`);
if (values['write-readme']) {
  const readme = join(REPO_ROOT, 'bench/README.md');
  say(updateReadme(readme, markdownBlock(race)) ? `updated ${readme}` : `${readme} has no race results markers; not updated`);
}
process.exit(0);
