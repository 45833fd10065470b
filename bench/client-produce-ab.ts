/**
 * The producer's cost per acknowledged send, old build against new build in the same run: starts the
 * race's baseline server (bench/race/baseline-server.ts, ASYNC_FLUSH: it appends and acknowledges and
 * does little else), then runs `tidemq bench produce` from each build in turn, alternating, for a few
 * rounds. Each run is a separate producer process driving the same server, as in the race.
 *
 * What it prints per run: acked msgs/s, the producer's CPU µs per acked message (process.cpuUsage()
 * over the measured seconds, from the bench summary: the number that does not depend much on what
 * else runs on the machine), the baseline server's CPU µs per message (utime + stime of
 * /proc/<pid>/stat over the whole run, warm-up included, so only comparable between runs), ack p99
 * and the load average. Then the median of each build and the new/old ratio of the producer's CPU.
 *
 *   node dist/bench/client-produce-ab.js --old <old checkout root> [--new <checkout root>]
 *        [--rounds 3] [--duration 5] [--warmup 2] [--producers 4] [--window 256] [--cpu-prof <dir>]
 *        [--target baseline|tidemq] [--flush ASYNC_FLUSH|SYNC_FLUSH] [--new-node-args=--single-threaded-gc]
 *
 * `--target tidemq` drives a fresh `tidemq start` (this checkout's broker, ASYNC_FLUSH, 64 MiB commit-log
 * files, the topic created by the bench) per run instead of the baseline server: the race's TideMQ
 * produce phase, where producer and broker share the machine's cores.
 *
 * A checkout root is a directory with `dist/src/cli/tidemq.js` built in it (the old one: for example
 * `git archive <commit> | tar -x -C /tmp/old`, node_modules symlinked, `npx tsc -p .`). Without
 * `--old` only the new build runs. `--cpu-prof <dir>` profiles the producer of the last round of
 * each build (node --cpu-prof), for bench/race/cpu-profile-summary.js.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { makeTempHome, startStandalone } from '../test/support/tidemq-process.js';
import { describeMachine, formatMachine } from './machine.js';

const here = dirname(fileURLToPath(import.meta.url));
/** dist/bench → the checkout root. */
const THIS_ROOT = resolve(here, '..', '..');

const { values } = parseArgs({
  options: {
    old: { type: 'string' },
    new: { type: 'string', default: THIS_ROOT },
    rounds: { type: 'string', default: '3' },
    duration: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '2' },
    producers: { type: 'string', default: '4' },
    window: { type: 'string', default: '256' },
    'cpu-prof': { type: 'string' },
    target: { type: 'string', default: 'baseline' },
    /** Flush mode of the `--target tidemq` broker: ASYNC_FLUSH or SYNC_FLUSH. */
    flush: { type: 'string', default: 'ASYNC_FLUSH' },
    /** Extra node flags for the producer process of the new build (GC experiments), space-separated. */
    'new-node-args': { type: 'string', default: '' },
  },
});

interface RunResult {
  build: string;
  messagesPerSecond: number;
  producerCpuMicrosPerMessage: number;
  serverCpuMicrosPerMessage: number;
  ackP99Ms: number;
  errors: number;
  loadAverage1m: number;
}

const CLOCK_TICKS_PER_SECOND = 100;

/** utime + stime of a process in µs (Linux; 0 elsewhere). */
function processCpuMicros(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may contain spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND) * 1e6;
  } catch {
    return 0;
  }
}

/** A fresh `tidemq start` in `directory` (--flush, ASYNC_FLUSH by default; 64 MiB commit-log files, as the race runs it). */
async function startTideMq(directory: string): Promise<{ pid: number; address: string; stop(): Promise<void> }> {
  const confPath = join(directory, 'broker.conf');
  if (values.flush !== 'ASYNC_FLUSH' && values.flush !== 'SYNC_FLUSH') throw new Error(`--flush must be ASYNC_FLUSH or SYNC_FLUSH, not ${values.flush}`);
  writeFileSync(confPath, `mappedFileSizeCommitLog=67108864\nautoCreateTopicEnable=true\nflushDiskType=${values.flush}\n`);
  const started = await startStandalone(directory, ['-c', confPath]);
  return { pid: started.child.pid!, address: started.namesrvAddr, stop: async () => void (await started.stop()) };
}

async function startBaseline(directory: string): Promise<{ pid: number; address: string; stop(): Promise<void> }> {
  const script = join(THIS_ROOT, 'dist/bench/race/baseline-server.js');
  const child = spawn(process.execPath, [script, '--dir', directory, '--port', '0', '--flush', 'async', '--queues', '8'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolveExit) => child.once('exit', () => resolveExit()));
  const port = await new Promise<number>((resolvePort, rejectPort) => {
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /baseline listening on [\d.]+:(\d+)/.exec(output);
      if (match !== null) resolvePort(Number(match[1]));
    });
    child.once('exit', (code) => rejectPort(new Error(`baseline server exited with ${code}: ${output}`)));
  });
  return {
    pid: child.pid!,
    address: `127.0.0.1:${port}`,
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

async function runProducer(build: string, root: string, address: string, serverPid: number, profileDir: string | undefined): Promise<RunResult> {
  const args = [
    ...(build === 'new' && values['new-node-args'] !== '' ? values['new-node-args'].split(' ') : []),
    ...(profileDir === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', profileDir, '--cpu-prof-name', `producer-${build}.cpuprofile`]),
    join(root, 'dist/src/cli/tidemq.js'),
    'bench',
    'produce',
    '-n',
    address,
    '-c',
    values.producers,
    '-w',
    values.window,
    '-d',
    values.duration,
    '--warmup',
    values.warmup,
    '--quiet',
    // The baseline server routes every topic to itself; it has no admin requests to create one.
    ...(values.target === 'tidemq' ? [] : ['--no-create-topic']),
  ];
  const serverCpuBefore = processCpuMicros(serverPid);
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const code = await new Promise<number | null>((resolveExit) => child.once('exit', resolveExit));
  const serverCpu = processCpuMicros(serverPid) - serverCpuBefore;
  const line = output.trim().split('\n').pop() ?? '';
  if (code !== 0 || !line.startsWith('{')) throw new Error(`bench produce (${build}) exited with ${code}: ${output}`);
  const summary = JSON.parse(line) as {
    messagesPerSecond: number;
    sent: number;
    acknowledged: number;
    errorCount: number;
    cpuMicrosPerMessage?: number;
    sendLatencyMs?: { p99: number };
  };
  return {
    build,
    messagesPerSecond: summary.messagesPerSecond,
    producerCpuMicrosPerMessage: summary.cpuMicrosPerMessage ?? Number.NaN,
    // Warm-up messages are acknowledged too but not in `sent`; scale by the measured share.
    serverCpuMicrosPerMessage: serverCpu / Math.max(1, summary.acknowledged * (1 + Number(values.warmup) / Number(values.duration))),
    ackP99Ms: summary.sendLatencyMs?.p99 ?? Number.NaN,
    errors: summary.errorCount,
    loadAverage1m: Math.round(loadavg()[0]! * 100) / 100,
  };
}

function median(numbers: number[]): number {
  const sorted = [...numbers].sort((left, right) => left - right);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

function row(result: RunResult): string {
  return [
    result.build.padEnd(4),
    `${Math.round(result.messagesPerSecond).toLocaleString('en-US').padStart(9)} msgs/s`,
    `producer ${result.producerCpuMicrosPerMessage.toFixed(2).padStart(6)} µs/msg`,
    `server ${result.serverCpuMicrosPerMessage.toFixed(2).padStart(6)} µs/msg`,
    `ack p99 ${result.ackP99Ms.toFixed(1).padStart(6)} ms`,
    `errors ${result.errors}`,
    `load ${result.loadAverage1m}`,
  ].join('  ');
}

async function main(): Promise<void> {
  console.log(formatMachine(describeMachine(tmpdir())));
  const builds: [string, string][] = [];
  if (values.old !== undefined) builds.push(['old', resolve(values.old)]);
  builds.push(['new', resolve(values.new)]);
  const rounds = Number(values.rounds);
  console.log(`target: ${values.target === 'tidemq' ? `tidemq start (${values.flush}), fresh per run` : 'baseline server (ASYNC_FLUSH)'}`);
  console.log(`builds: ${builds.map(([name, root]) => `${name}=${root}`).join(' ')}; ${rounds} rounds of ${values.duration} s (+${values.warmup} s warm-up), ${values.producers} producers × window ${values.window}; loadavg ${loadavg().map((value) => value.toFixed(2)).join(' ')}`);
  const results: RunResult[] = [];
  for (let round = 0; round < rounds; round++) {
    // Alternate the order so neither build always runs right after a server restart.
    const order = round % 2 === 0 ? builds : [...builds].reverse();
    for (const [name, root] of order) {
      const directory = values.target === 'tidemq' ? makeTempHome('client-ab-tidemq-').home : mkdtempSync(join(tmpdir(), 'client-ab-'));
      const server = values.target === 'tidemq' ? await startTideMq(directory) : await startBaseline(directory);
      try {
        const profileDir = round === rounds - 1 ? values['cpu-prof'] : undefined;
        const result = await runProducer(name, root, server.address, server.pid, profileDir);
        results.push(result);
        console.log(`round ${round + 1}  ${row(result)}`);
      } finally {
        await server.stop();
        rmSync(directory, { recursive: true, force: true });
      }
    }
  }
  const medians: Record<string, { messagesPerSecond: number; producerCpuMicrosPerMessage: number; serverCpuMicrosPerMessage: number }> = {};
  for (const [name] of builds) {
    const mine = results.filter((result) => result.build === name);
    medians[name] = {
      messagesPerSecond: Math.round(median(mine.map((result) => result.messagesPerSecond))),
      producerCpuMicrosPerMessage: Math.round(median(mine.map((result) => result.producerCpuMicrosPerMessage)) * 100) / 100,
      serverCpuMicrosPerMessage: Math.round(median(mine.map((result) => result.serverCpuMicrosPerMessage)) * 100) / 100,
    };
    console.log(`median ${name}: ${medians[name].messagesPerSecond.toLocaleString('en-US')} msgs/s, producer ${medians[name].producerCpuMicrosPerMessage} µs/msg, server ${medians[name].serverCpuMicrosPerMessage} µs/msg`);
  }
  const ratio = medians.old === undefined ? undefined : medians.new!.producerCpuMicrosPerMessage / medians.old.producerCpuMicrosPerMessage;
  if (ratio !== undefined) console.log(`producer CPU per message new/old: ${ratio.toFixed(3)}`);
  console.log(JSON.stringify({ bench: 'client-produce-ab', loadAverageEnd: loadavg().map((value) => Math.round(value * 100) / 100), medians, producerCpuRatio: ratio, runs: results }));
}

await main();
