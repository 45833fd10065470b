/**
 * The broker's CPU per acknowledged SEND_MESSAGE_V2, measured end to end: starts `tidemq start` on a
 * fresh temp store (ASYNC_FLUSH or SYNC_FLUSH, the race's store geometry), drives it with
 * `tidemq bench produce`, and reads utime+stime of both processes from /proc/<pid>/stat at the first
 * and the last progress line of the measured window. CPU per message is the tick delta divided by
 * the messages acknowledged between those lines (the progress rates times their intervals), so it
 * does not depend on how busy the machine is the way msgs/s does.
 *
 *   node dist/bench/send-broker-cpu.js [ASYNC_FLUSH|SYNC_FLUSH] [--seconds 10] [--warmup 2] [--cpu-prof <dir>] [--client-cpu-prof <dir>]
 *
 * Prints one JSON line: flush mode, msgs/s (the bench's summary), broker and client µs of CPU per
 * acknowledged message, load average at start and end.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const CLI = resolve(fileURLToPath(new URL('.', import.meta.url)), '../src/cli/tidemq.js');
/** Linux USER_HZ: /proc/<pid>/stat counts CPU time in 1/100 s. */
const TICKS_PER_SECOND = 100;

function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  // Fields after the command name (which may hold spaces) start after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15 of the file)
}

function waitForLine(child: ChildProcess, pattern: RegExp, timeoutMs: number): Promise<RegExpExecArray> {
  return new Promise((resolveLine, reject) => {
    let output = '';
    const timer = setTimeout(() => reject(new Error(`no ${pattern} within ${timeoutMs} ms:\n${output}`)), timeoutMs);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      const match = pattern.exec(output);
      if (match !== null) {
        clearTimeout(timer);
        resolveLine(match);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
  });
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const flush = args.find((arg) => arg.endsWith('_FLUSH')) ?? 'ASYNC_FLUSH';
  const option = (name: string, fallback: string): string => {
    const index = args.indexOf(name);
    return index >= 0 ? args[index + 1]! : fallback;
  };
  const seconds = Number(option('--seconds', '10'));
  const warmup = Number(option('--warmup', '2'));
  const profileDir = option('--cpu-prof', '');
  const clientProfileDir = option('--client-cpu-prof', '');
  const loadStart = loadavg().map((value) => Math.round(value * 100) / 100);
  const home = mkdtempSync(join(tmpdir(), 'tidemq-send-cpu-'));
  const confPath = join(home, 'broker.conf');
  writeFileSync(confPath, [`flushDiskType=${flush}`, `mappedFileSizeCommitLog=${64 * 1024 * 1024}`, 'maxHashSlotNum=50000', 'maxIndexNum=200000', 'autoCreateTopicEnable=true'].join('\n') + '\n');
  const nodeFlags = profileDir === '' ? [] : ['--cpu-prof', '--cpu-prof-dir', profileDir];
  const broker = spawn(process.execPath, [...nodeFlags, CLI, 'start', '--home', home, '--namesrv-port', '0', '--broker-port', '0', '--grpc-port', '0', '--host', '127.0.0.1', '-c', confPath], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, TIDEMQ_LOG_LEVEL: 'warn' },
  });
  try {
    const namesrvPort = (await waitForLine(broker, /namesrv listening on [^\s]*:(\d+)/, 20_000))[1]!;
    await waitForLine(broker, /tidemq started/, 20_000);
    const clientFlags = clientProfileDir === '' ? [] : ['--cpu-prof', '--cpu-prof-dir', clientProfileDir];
    const client = spawn(process.execPath, [...clientFlags, CLI, 'bench', 'produce', '-n', `127.0.0.1:${namesrvPort}`, '-c', '4', '-w', '256', '-d', String(seconds), '--warmup', String(warmup)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const samples: { atMs: number; ackedPerSecond: number; brokerTicks: number; clientTicks: number }[] = [];
    let stdout = '';
    client.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    let pending = '';
    client.stderr!.on('data', (chunk: Buffer) => {
      pending += chunk.toString();
      let newline: number;
      while ((newline = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, newline);
        pending = pending.slice(newline + 1);
        const match = /acked\s+(\d+)\/s/.exec(line);
        if (match === null || broker.pid === undefined || client.pid === undefined) continue;
        samples.push({ atMs: performance.now(), ackedPerSecond: Number(match[1]), brokerTicks: cpuTicks(broker.pid), clientTicks: cpuTicks(client.pid) });
      }
    });
    await new Promise((resolveExit) => client.once('exit', resolveExit));
    // Progress lines stop with the measured window, so every one of them is inside it.
    const window = samples;
    const first = window[0]!;
    const last = window[window.length - 1]!;
    let acked = 0;
    for (let index = 1; index < window.length; index++) acked += (window[index]!.ackedPerSecond * (window[index]!.atMs - window[index - 1]!.atMs)) / 1000;
    const usPerTick = 1e6 / TICKS_PER_SECOND;
    if (process.env.SEND_CPU_DEBUG) console.error(samples);
    const summary = JSON.parse(stdout.trim().split('\n').pop()!) as { messagesPerSecond: number; sendLatencyMs: { p99: number }; errors: unknown };
    console.log(
      JSON.stringify({
        bench: 'send-broker-cpu',
        flush,
        messagesPerSecond: summary.messagesPerSecond,
        ackP99Ms: summary.sendLatencyMs.p99,
        errors: summary.errors,
        windowSeconds: Math.round(last.atMs - first.atMs) / 1000,
        windowMessages: Math.round(acked),
        brokerCpuUsPerMsg: Math.round((((last.brokerTicks - first.brokerTicks) * usPerTick) / acked) * 100) / 100,
        clientCpuUsPerMsg: Math.round((((last.clientTicks - first.clientTicks) * usPerTick) / acked) * 100) / 100,
        brokerCpuCores: Math.round(((last.brokerTicks - first.brokerTicks) / TICKS_PER_SECOND / ((last.atMs - first.atMs) / 1000)) * 100) / 100,
        loadAverage: { start: loadStart, end: loadavg().map((value) => Math.round(value * 100) / 100) },
      }),
    );
  } finally {
    broker.kill('SIGTERM');
    await new Promise((resolveExit) => (broker.exitCode !== null ? resolveExit(null) : broker.once('exit', resolveExit)));
    rmSync(home, { recursive: true, force: true });
  }
}

await main();
