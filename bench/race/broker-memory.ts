/**
 * Where `tidemq start`'s memory goes under the race's produce load, and what a change does to it:
 * each variant (a set of node flags and environment variables for the broker process) is started on
 * a fresh store with the race's settings, measured from spawn to its first accepted send, then
 * driven by `tidemq bench produce` (4 producers × 256 in flight, 1 KiB, like the race) while
 * /proc/<pid>/status and /proc/<pid>/stat are sampled every 250 ms. Variants run interleaved
 * (A B A B …) so that outside load hits them alike.
 *
 * Per run it prints: msgs/s, ack p99, max VmRSS and RssAnon over the produce phase (the race's
 * measure), RssAnon idle after start, the broker's CPU time per acknowledged message over the
 * measured window (utime + stime, all threads; load-insensitive unlike msgs/s; compare it at one
 * fixed --rate, since batching makes it fall as the rate rises), and with --probe
 * (bench/race/memory-probe.ts loaded into the broker) the V8 heap spaces, array buffers and GC
 * counts at the sample with the most anonymous memory. --start-only skips the load: start time and
 * the memory of an idle broker after its first send. --consume then reads everything produced back
 * from the start (`bench consume --from earliest --until-caught-up`; the page cache is warm) and
 * reports its rate, the broker's RssAnon max and CPU per message.
 *
 *   node dist/bench/race/broker-memory.js [--flush ASYNC_FLUSH,SYNC_FLUSH] [--duration 10]
 *        [--warmup 2] [--rounds 1] [--rate 0] [--probe] [--start-only] [--consume] [--variant 'label: --node-flag ENV=value cli=<tidemq.js>' …]
 *
 * Without --variant it measures the code as it is (`current:`). To compare against the code before
 * a change in the same run, build that commit elsewhere (`git archive <commit> | tar -x -C /tmp/base`,
 * node_modules symlinked, `npx tsc -p .`) and add `--variant 'base: cli=/tmp/base/dist/src/cli/tidemq.js'`.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadAverage } from '../../src/cli/bench/bench-report.js';
import { ensureBenchTopic } from '../../src/cli/bench/bench-topic.js';
import { startBenchProcess } from './race-processes.js';
import { remotingFirstSend, SHARED_BROKER_PROPERTIES, TIDEMQ_CLI, type FlushMode } from './race-systems.js';
import type { MemoryProbeSample } from './memory-probe.js';

const PROBE = join(resolve(fileURLToPath(new URL('.', import.meta.url))), 'memory-probe.js');
const SAMPLE_INTERVAL_MS = 250;
const CLOCK_TICKS_PER_SECOND = 100;
const TOPIC = 'RaceTopic';
const QUEUES = 8;

const { values } = parseArgs({
  options: {
    flush: { type: 'string', default: 'ASYNC_FLUSH,SYNC_FLUSH' },
    duration: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '2' },
    rounds: { type: 'string', default: '1' },
    producers: { type: 'string', default: '4' },
    window: { type: 'string', default: '256' },
    rate: { type: 'string', default: '0' },
    probe: { type: 'boolean', default: false },
    'start-only': { type: 'boolean', default: false },
    consume: { type: 'boolean', default: false },
    variant: { type: 'string', multiple: true },
  },
});

interface Variant {
  label: string;
  nodeFlags: string[];
  env: Record<string, string>;
  /** The tidemq.js to start (another build, e.g. of the base commit, to compare in the same run). */
  cli: string;
}

/**
 * `label: --flag=x NAME=value cli=<path>` → flags go to node, NAME=value to the environment,
 * cli= names the tidemq.js to run (default: this build's).
 */
function parseVariant(text: string): Variant {
  const colon = text.indexOf(':');
  const label = colon < 0 ? text.trim() : text.slice(0, colon).trim();
  const tokens = (colon < 0 ? '' : text.slice(colon + 1)).split(/\s+/).filter((token) => token !== '');
  const env: Record<string, string> = {};
  const nodeFlags: string[] = [];
  let cli = TIDEMQ_CLI;
  for (const token of tokens) {
    const assignment = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(token);
    if (assignment !== null && assignment[1] === 'cli') cli = resolve(assignment[2]!);
    else if (assignment !== null) env[assignment[1]!] = assignment[2]!;
    else nodeFlags.push(token);
  }
  return { label, nodeFlags, env, cli };
}

interface ProcSample {
  atMs: number;
  rssKiB: number;
  anonKiB: number;
  cpuTicks: number;
}

function readProc(pid: number): ProcSample | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const kib = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
    return { atMs: Date.now(), rssKiB: kib('VmRSS'), anonKiB: kib('RssAnon'), cpuTicks: Number(fields[11]) + Number(fields[12]) };
  } catch {
    return null;
  }
}

/** CPU ticks at `atMs`, interpolated between the samples around it. */
function cpuTicksAt(samples: readonly ProcSample[], atMs: number): number {
  let before = samples[0]!;
  for (const sample of samples) {
    if (sample.atMs > atMs) {
      const span = sample.atMs - before.atMs;
      return span <= 0 ? sample.cpuTicks : before.cpuTicks + ((sample.cpuTicks - before.cpuTicks) * (atMs - before.atMs)) / span;
    }
    before = sample;
  }
  return before.cpuTicks;
}

interface RunResult {
  variant: string;
  flush: FlushMode;
  round: number;
  messagesPerSecond: number;
  ackP99Ms: number;
  errors: number;
  maxRssMiB: number;
  maxAnonMiB: number;
  idleAnonMiB: number;
  cpuUsPerMessage: number;
  startToFirstSendMs: number;
  startedLineMs: number;
  loadAverage: number[];
  /** Probe sample with the most anonymous memory during the produce phase (with --probe). */
  peak?: MemoryProbeSample;
  /** GCs and their pause time during the measured window (with --probe). */
  gc?: { minor: number; major: number; minorMs: number; majorMs: number };
  /** With --consume: reading everything produced back from the start (page cache warm). */
  consume?: { messages: number; messagesPerSecond: number; maxAnonMiB: number; cpuUsPerMessage: number };
}

const mib = (kib: number): number => Math.round(kib / 102.4) / 10;

async function measure(variant: Variant, flush: FlushMode, round: number): Promise<RunResult> {
  const home = mkdtempSync(join(tmpdir(), 'tidemq-broker-memory-'));
  const confPath = join(home, 'broker.conf');
  writeFileSync(confPath, Object.entries({ ...SHARED_BROKER_PROPERTIES, flushDiskType: flush }).map(([key, value]) => `${key}=${value}`).join('\n') + '\n');
  const spawnedMs = Date.now();
  const child = spawn(
    process.execPath,
    [...variant.nodeFlags, ...(values.probe ? ['--import', PROBE] : []), variant.cli, 'start', '--home', home, '--namesrv-port', '0', '--broker-port', '0', '--grpc-port', '0', '--host', '127.0.0.1', '-c', confPath],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TIDEMQ_LOG_LEVEL: 'warn', ...variant.env } },
  );
  const exited = new Promise<void>((resolveExit) => child.once('exit', () => resolveExit()));
  const probeSamples: MemoryProbeSample[] = [];
  let errorOutput = '';
  let partial = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    const lines = (partial + chunk.toString()).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      if (line.startsWith('memory-probe ')) probeSamples.push(JSON.parse(line.slice('memory-probe '.length)) as MemoryProbeSample);
      else errorOutput = (errorOutput + line + '\n').slice(-4000);
    }
  });
  try {
    const { namesrvAddr, startedLineMs } = await new Promise<{ namesrvAddr: string; startedLineMs: number }>((resolveStart, rejectStart) => {
      let output = '';
      child.stdout!.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        const port = /^namesrv listening on [^\s]*:(\d+)$/m.exec(output)?.[1];
        if (port !== undefined && output.includes('tidemq started')) resolveStart({ namesrvAddr: `127.0.0.1:${port}`, startedLineMs: Date.now() - spawnedMs });
      });
      child.once('exit', (code) => rejectStart(new Error(`tidemq start exited with ${code}: ${output}\n${errorOutput}`)));
    });
    const startToFirstSendMs = (await remotingFirstSend(namesrvAddr, 30_000)) - spawnedMs;
    const idle = readProc(child.pid!);
    if (values['start-only']) {
      const idleMiB = (kib: number | undefined): number => mib(kib ?? 0);
      return {
        variant: variant.label, flush, round, messagesPerSecond: 0, ackP99Ms: 0, errors: 0, maxRssMiB: idleMiB(idle?.rssKiB), maxAnonMiB: idleMiB(idle?.anonKiB),
        idleAnonMiB: idleMiB(idle?.anonKiB), cpuUsPerMessage: 0, startToFirstSendMs, startedLineMs, loadAverage: loadAverage(),
      };
    }
    await ensureBenchTopic(namesrvAddr, TOPIC, QUEUES);
    const samples: ProcSample[] = [];
    const takeSample = (): void => {
      const sample = readProc(child.pid!);
      if (sample !== null) samples.push(sample);
    };
    takeSample();
    const sampler = setInterval(takeSample, SAMPLE_INTERVAL_MS);
    const benchArgs = [
      TIDEMQ_CLI, 'bench', 'produce', '-n', namesrvAddr, '-t', TOPIC, '-q', String(QUEUES), '-s', '1024', '-c', values.producers!, '-w', values.window!,
      '-d', values.duration!, '--warmup', values.warmup!, '-r', values.rate!, '--no-create-topic', '--quiet',
    ];
    const probeStart = probeSamples.length;
    let summary;
    try {
      summary = await startBenchProcess(process.execPath, benchArgs, join(home, 'bench.log'), `  [${variant.label}]`, 120_000).done;
    } finally {
      clearInterval(sampler);
      takeSample();
    }
    const endMs = samples[samples.length - 1]!.atMs;
    const windowStartMs = endMs - summary.durationSeconds * 1000;
    const cpuTicks = cpuTicksAt(samples, endMs) - cpuTicksAt(samples, windowStartMs);
    const during = probeSamples.slice(probeStart);
    const peak = during.reduce<MemoryProbeSample | undefined>((best, sample) => (best === undefined || sample.rssAnonMiB > best.rssAnonMiB ? sample : best), undefined);
    // The probe's clock starts when the broker loaded it, about when it was spawned.
    const inWindow = during.filter((sample) => sample.uptimeMs + spawnedMs >= windowStartMs);
    const first = inWindow[0];
    const last = inWindow[inWindow.length - 1];
    const consume = values.consume ? await measureConsume(child.pid!, namesrvAddr, home, variant.label) : undefined;
    return {
      ...(consume === undefined ? {} : { consume }),
      variant: variant.label,
      flush,
      round,
      messagesPerSecond: summary.messagesPerSecond,
      ackP99Ms: summary.sendLatencyMs?.p99 ?? 0,
      errors: summary.errorCount,
      maxRssMiB: mib(Math.max(...samples.map((sample) => sample.rssKiB))),
      maxAnonMiB: mib(Math.max(...samples.map((sample) => sample.anonKiB))),
      idleAnonMiB: mib(idle?.anonKiB ?? 0),
      cpuUsPerMessage: Math.round(((cpuTicks / CLOCK_TICKS_PER_SECOND) * 1e6 / Math.max(1, summary.messages)) * 10) / 10,
      startToFirstSendMs,
      startedLineMs,
      loadAverage: loadAverage(),
      ...(peak === undefined ? {} : { peak }),
      ...(first === undefined || last === undefined ? {} : {
        gc: { minor: last.minorGcs - first.minorGcs, major: last.majorGcs - first.majorGcs, minorMs: last.minorGcMs - first.minorGcMs, majorMs: last.majorGcMs - first.majorGcMs },
      }),
    };
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
    rmSync(home, { recursive: true, force: true });
  }
}

/** Consumes the topic from the start until caught up, sampling the broker like the produce phase. */
async function measureConsume(pid: number, namesrvAddr: string, home: string, label: string): Promise<NonNullable<RunResult['consume']>> {
  const samples: ProcSample[] = [];
  const takeSample = (): void => {
    const sample = readProc(pid);
    if (sample !== null) samples.push(sample);
  };
  takeSample();
  const sampler = setInterval(takeSample, SAMPLE_INTERVAL_MS);
  const args = [
    TIDEMQ_CLI, 'bench', 'consume', '-n', namesrvAddr, '-t', TOPIC, '-q', String(QUEUES), '-d', '0', '--from', 'earliest',
    '--until-caught-up', '--idle-exit', '5', '--pull-batch', '32', '--no-create-topic', '--quiet',
  ];
  let summary;
  try {
    summary = await startBenchProcess(process.execPath, args, join(home, 'bench.log'), `  [${label} consume]`, 120_000).done;
  } finally {
    clearInterval(sampler);
    takeSample();
  }
  const cpuTicks = samples[samples.length - 1]!.cpuTicks - samples[0]!.cpuTicks;
  return {
    messages: summary.messages,
    messagesPerSecond: summary.messagesPerSecond,
    maxAnonMiB: mib(Math.max(...samples.map((sample) => sample.anonKiB))),
    cpuUsPerMessage: Math.round(((cpuTicks / CLOCK_TICKS_PER_SECOND) * 1e6 / Math.max(1, summary.messages)) * 10) / 10,
  };
}

function describe(result: RunResult): string {
  const head = `${result.variant.padEnd(14)} ${result.flush.padEnd(11)} r${result.round} ${String(result.messagesPerSecond).padStart(7)} msgs/s p99 ${String(result.ackP99Ms).padStart(6)} ms`
    + `  RSS ${String(result.maxRssMiB).padStart(6)} anon ${String(result.maxAnonMiB).padStart(6)} (idle ${result.idleAnonMiB}) MiB`
    + `  cpu ${String(result.cpuUsPerMessage).padStart(5)} µs/msg  start ${result.startToFirstSendMs} ms (printed ${result.startedLineMs})  load ${result.loadAverage.join(' ')}`;
  const consume = result.consume === undefined ? '' : `\n${' '.repeat(16)}consume from the start: ${result.consume.messages} messages, ${result.consume.messagesPerSecond} msgs/s, anon max ${result.consume.maxAnonMiB} MiB, cpu ${result.consume.cpuUsPerMessage} µs/msg`;
  const peak = result.peak;
  if (peak === undefined) return head + consume;
  const spaces = Object.entries(peak.spacesMiB).map(([name, size]) => `${name} ${size}`).join(', ');
  const gc = result.gc === undefined ? '' : `; in window: ${result.gc.minor} minor GCs (${result.gc.minorMs} ms), ${result.gc.major} major (${result.gc.majorMs} ms)`;
  return `${head}${consume}\n${' '.repeat(16)}at peak anon ${peak.rssAnonMiB}: heap used/total ${peak.heapUsedMiB}/${peak.heapTotalMiB} (${spaces}), external ${peak.externalMiB} (array buffers ${peak.arrayBuffersMiB})${gc}`;
}

const variants = (values.variant ?? ['current:']).map(parseVariant);
const flushModes = values.flush!.split(',').map((mode) => mode.trim()) as FlushMode[];
const rounds = Number(values.rounds);
process.stdout.write(`broker-memory: ${variants.map((variant) => variant.label).join(', ')} × ${flushModes.join(', ')} × ${rounds} round(s), ${values.producers} producers × ${values.window}, ${values.rate === '0' ? 'max rate' : `${values.rate} msgs/s`}, ${values.duration} s (+${values.warmup} s warmup); loadavg ${loadAverage().join(' ')}\n`);
const results: RunResult[] = [];
for (let round = 1; round <= rounds; round++) {
  for (const flush of flushModes) {
    for (const variant of variants) {
      const result = await measure(variant, flush, round);
      results.push(result);
      process.stdout.write(`${describe(result)}\n`);
    }
  }
}
process.stdout.write(`${JSON.stringify({ bench: 'broker-memory', date: new Date().toISOString(), variants, results })}\n`);
