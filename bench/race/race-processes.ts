/**
 * Process plumbing for the race: running one benchmark process (a `tidemq bench` or the NATS peer)
 * and reading its JSON summary, sampling a broker's resident memory from /proc, and dropping the
 * page cache between writing a backlog and reading it back.
 */
import { spawn, execFileSync } from 'node:child_process';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import type { BenchSummary } from '../../src/cli/bench/bench-report.js';

export interface BenchRun {
  /** Resolves with the summary once the process exited (rejects with its output otherwise). */
  done: Promise<BenchSummary>;
  /** Resolves when the process printed `bench consume: ready` (consumers only). */
  ready: Promise<void>;
  pid: number;
  kill(): void;
}

/**
 * Spawns a benchmark process; its stderr (progress lines) is appended to `logFile` and echoed with
 * `prefix`, its last stdout line is parsed as the summary.
 */
export function startBenchProcess(command: string, args: string[], logFile: string, prefix: string, timeoutMs: number): BenchRun {
  appendFileSync(logFile, `\n$ ${command} ${args.join(' ')}\n`);
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TIDEMQ_LOG_LEVEL: 'warn' } });
  let stdout = '';
  let stderr = '';
  let markReady: () => void = () => undefined;
  const ready = new Promise<void>((resolveReady) => {
    markReady = resolveReady;
  });
  child.stdout!.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  let partial = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    const text = chunk.toString();
    appendFileSync(logFile, text);
    stderr = (stderr + text).slice(-16 * 1024);
    partial += text;
    const lines = partial.split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      if (line.includes('bench consume: ready')) markReady();
      if (line.trim() !== '') process.stdout.write(`${prefix} ${line}\n`);
    }
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const done = new Promise<BenchSummary>((resolveDone, rejectDone) => {
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      markReady();
      const lines = stdout.trim().split('\n');
      const last = lines[lines.length - 1] ?? '';
      if (code === 0 && last.startsWith('{')) {
        resolveDone(JSON.parse(last) as BenchSummary);
        return;
      }
      rejectDone(new Error(`${command} ${args.join(' ')} exited with ${code ?? signal}\n${stderr.slice(-4000)}\n${stdout.slice(-2000)}`));
    });
  });
  return { done, ready, pid: child.pid ?? -1, kill: () => child.kill('SIGTERM') };
}

export interface MemoryStats {
  samples: number;
  /** VmRSS, MiB. */
  maxRssMiB: number;
  meanRssMiB: number;
  /** RssAnon (heap, stacks; no file pages), MiB. */
  maxAnonMiB: number;
  /** RssFile (mapped file pages, e.g. a memory-mapped commit log), MiB. */
  maxFileMiB: number;
}

function statusKiB(text: string, field: string): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text);
  return match === null ? 0 : Number(match[1]);
}

/** Samples /proc/<pid>/status every `intervalMs` until stopped. */
export function sampleMemory(pid: number, intervalMs = 250): { stop(): MemoryStats } {
  let samples = 0;
  let sumRss = 0;
  let maxRss = 0;
  let maxAnon = 0;
  let maxFile = 0;
  const sample = (): void => {
    let text: string;
    try {
      text = readFileSync(`/proc/${pid}/status`, 'utf8');
    } catch {
      return;
    }
    const rss = statusKiB(text, 'VmRSS');
    samples++;
    sumRss += rss;
    maxRss = Math.max(maxRss, rss);
    maxAnon = Math.max(maxAnon, statusKiB(text, 'RssAnon'));
    maxFile = Math.max(maxFile, statusKiB(text, 'RssFile'));
  };
  sample();
  const timer = setInterval(sample, intervalMs);
  const mib = (kib: number): number => Math.round(kib / 102.4) / 10;
  return {
    stop() {
      clearInterval(timer);
      sample();
      return { samples, maxRssMiB: mib(maxRss), meanRssMiB: mib(samples === 0 ? 0 : sumRss / samples), maxAnonMiB: mib(maxAnon), maxFileMiB: mib(maxFile) };
    },
  };
}

/** Combines the memory of several phases: maxima of maxima, mean of means weighted by samples. */
export function combineMemory(stats: readonly MemoryStats[]): MemoryStats {
  const samples = stats.reduce((sum, entry) => sum + entry.samples, 0);
  return {
    samples,
    maxRssMiB: Math.max(0, ...stats.map((entry) => entry.maxRssMiB)),
    meanRssMiB: samples === 0 ? 0 : Math.round((stats.reduce((sum, entry) => sum + entry.meanRssMiB * entry.samples, 0) / samples) * 10) / 10,
    maxAnonMiB: Math.max(0, ...stats.map((entry) => entry.maxAnonMiB)),
    maxFileMiB: Math.max(0, ...stats.map((entry) => entry.maxFileMiB)),
  };
}

function cachedMiB(): number {
  try {
    return Math.round(statusKiB(readFileSync('/proc/meminfo', 'utf8'), 'Cached') / 1024);
  } catch {
    return -1;
  }
}

/**
 * `sync`, then `echo 1 > /proc/sys/vm/drop_caches` (root only). Returns what happened, with the
 * page cache size before and after, for the report.
 */
export function dropPageCache(): { dropped: boolean; note: string } {
  const before = cachedMiB();
  try {
    execFileSync('sync');
    writeFileSync('/proc/sys/vm/drop_caches', '1');
  } catch (error) {
    return { dropped: false, note: `page cache not dropped (${(error as Error).message.split('\n')[0]}); the backlog may still be cached (${before} MiB cached)` };
  }
  return { dropped: true, note: `page cache dropped (sync; echo 1 > /proc/sys/vm/drop_caches): Cached ${before} → ${cachedMiB()} MiB` };
}
