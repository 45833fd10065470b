/**
 * The consumer's cost per message, old build against new build in the same run: starts `tidemq start`
 * (this checkout's broker, ASYNC_FLUSH, 64 MiB commit-log files), fills one topic of 8 queues with
 * `--messages` 1 KiB messages, then reads all of them back with `tidemq bench consume --from earliest
 * --until-caught-up` from each build in turn (a fresh consumer group each time), alternating, for a
 * few rounds. The backlog stays in the page cache: this measures the client, not the disk.
 *
 * Per run it prints msgs/s, the consumer's CPU µs per message (process.cpuUsage() over the measured
 * part, from the bench summary) and the broker's CPU µs per message (utime + stime of its process over
 * the run), with the load average; then the medians and the new/old ratio of the consumer's CPU.
 *
 *   node dist/bench/client-consume-ab.js --old <old checkout root> [--new <root>] [--messages 300000] [--rounds 3] [--cpu-prof <dir>]
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { makeTempHome, startStandalone } from '../test/support/tidemq-process.js';
import { describeMachine, formatMachine } from './machine.js';

const here = dirname(fileURLToPath(import.meta.url));
const THIS_ROOT = resolve(here, '..', '..');
const TOPIC = 'ConsumeAb';

const { values } = parseArgs({
  options: {
    old: { type: 'string' },
    new: { type: 'string', default: THIS_ROOT },
    messages: { type: 'string', default: '300000' },
    rounds: { type: 'string', default: '3' },
    'cpu-prof': { type: 'string' },
  },
});

const CLOCK_TICKS_PER_SECOND = 100;

function processCpuMicros(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND) * 1e6;
  } catch {
    return 0;
  }
}

async function runBench(root: string, args: string[], nodeArgs: string[] = []): Promise<Record<string, unknown>> {
  const child = spawn(process.execPath, [...nodeArgs, join(root, 'dist/src/cli/tidemq.js'), 'bench', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const code = await new Promise<number | null>((resolveExit) => child.once('exit', resolveExit));
  const line = output.trim().split('\n').pop() ?? '';
  if (code !== 0 || !line.startsWith('{')) throw new Error(`tidemq bench ${args.join(' ')} exited with ${code}: ${output}`);
  return JSON.parse(line) as Record<string, unknown>;
}

interface ConsumeRun {
  build: string;
  messagesPerSecond: number;
  consumerCpuMicrosPerMessage: number;
  brokerCpuMicrosPerMessage: number;
  messages: number;
  loadAverage1m: number;
}

async function main(): Promise<void> {
  console.log(formatMachine(describeMachine(tmpdir())));
  const builds: [string, string][] = [];
  if (values.old !== undefined) builds.push(['old', resolve(values.old)]);
  builds.push(['new', resolve(values.new)]);
  const { home, cleanup } = makeTempHome('client-consume-ab-');
  mkdirSync(home, { recursive: true });
  const confPath = join(home, 'broker.conf');
  writeFileSync(confPath, 'mappedFileSizeCommitLog=67108864\nautoCreateTopicEnable=true\nflushDiskType=ASYNC_FLUSH\n');
  const broker = await startStandalone(home, ['-c', confPath]);
  const brokerPid = broker.child.pid!;
  const results: ConsumeRun[] = [];
  try {
    const produced = await runBench(THIS_ROOT, ['produce', '-n', broker.namesrvAddr, '-t', TOPIC, '-q', '8', '-c', '4', '-w', '256', '-d', '0', '--messages', values.messages, '--quiet']);
    console.log(`backlog: ${String(produced.acknowledged)} messages of 1 KiB in ${TOPIC} (8 queues); loadavg ${loadavg().map((value) => value.toFixed(2)).join(' ')}`);
    const rounds = Number(values.rounds);
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? builds : [...builds].reverse();
      for (const [name, root] of order) {
        const profile = round === rounds - 1 && values['cpu-prof'] !== undefined ? ['--cpu-prof', '--cpu-prof-dir', values['cpu-prof'], '--cpu-prof-name', `consumer-${name}.cpuprofile`] : [];
        const brokerBefore = processCpuMicros(brokerPid);
        const summary = await runBench(root, ['consume', '-n', broker.namesrvAddr, '-t', TOPIC, '--from', 'earliest', '--until-caught-up', '-d', '0', '--quiet', '-g', `consume_ab_${name}_${round}_${process.pid}`], profile);
        const messages = Number(summary.messages);
        const run: ConsumeRun = {
          build: name,
          messagesPerSecond: Number(summary.messagesPerSecond),
          consumerCpuMicrosPerMessage: Number(summary.cpuMicrosPerMessage),
          brokerCpuMicrosPerMessage: (processCpuMicros(brokerPid) - brokerBefore) / Math.max(1, messages),
          messages,
          loadAverage1m: Math.round(loadavg()[0]! * 100) / 100,
        };
        results.push(run);
        console.log(`round ${round + 1}  ${name}  ${Math.round(run.messagesPerSecond).toLocaleString('en-US').padStart(9)} msgs/s  consumer ${run.consumerCpuMicrosPerMessage.toFixed(2).padStart(6)} µs/msg  broker ${run.brokerCpuMicrosPerMessage.toFixed(2).padStart(6)} µs/msg  messages ${messages}  load ${run.loadAverage1m}`);
      }
    }
  } finally {
    await broker.stop();
    cleanup();
  }
  const median = (numbers: number[]): number => [...numbers].sort((left, right) => left - right)[Math.floor(numbers.length / 2)]!;
  const medians: Record<string, { messagesPerSecond: number; consumerCpuMicrosPerMessage: number }> = {};
  for (const [name] of builds) {
    const mine = results.filter((run) => run.build === name);
    medians[name] = { messagesPerSecond: median(mine.map((run) => run.messagesPerSecond)), consumerCpuMicrosPerMessage: median(mine.map((run) => run.consumerCpuMicrosPerMessage)) };
    console.log(`median ${name}: ${medians[name].messagesPerSecond.toLocaleString('en-US')} msgs/s, consumer ${medians[name].consumerCpuMicrosPerMessage.toFixed(2)} µs/msg`);
  }
  const ratio = medians.old === undefined ? undefined : medians.new!.consumerCpuMicrosPerMessage / medians.old.consumerCpuMicrosPerMessage;
  if (ratio !== undefined) console.log(`consumer CPU per message new/old: ${ratio.toFixed(3)}`);
  console.log(JSON.stringify({ bench: 'client-consume-ab', loadAverageEnd: loadavg(), medians, consumerCpuRatio: ratio, runs: results }));
}

await main();
