/**
 * Starts a NATS server with JetStream (file storage) on a free loopback port for the race, its store
 * under the caller's directory. The binary comes from scripts/nats-server.sh (Debian's package).
 *
 * Durability: nats-server 2.10+ takes `sync_interval: always` (fsync after every write), the
 * closest thing to SYNC_FLUSH; older servers (Debian bookworm's 2.9.10) reject the key, so
 * `syncAlways` is honoured only where the version supports it and `syncAlwaysSupported` says which.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pickFreePortBlock } from '../../test/support/rocketmq-process.js';

const REPO_ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../..');
const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 20_000;

export interface NatsServer {
  child: ChildProcess;
  pid: number;
  url: string;
  version: string;
  syncAlwaysSupported: boolean;
  output(): string;
  stop(): Promise<void>;
  kill(): Promise<void>;
}

let cachedBinary: string | undefined;

/** The nats-server binary (installing it from Debian's packages on first use). */
export function natsServerBinary(): string {
  cachedBinary ??= execFileSync('bash', [join(REPO_ROOT, 'scripts/nats-server.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 600_000 }).trim();
  return cachedBinary;
}

export function natsServerVersion(binary = natsServerBinary()): string {
  const text = execFileSync(binary, ['--version'], { encoding: 'utf8' });
  return /v?(\d+\.\d+\.\d+)/.exec(text)?.[1] ?? 'unknown';
}

function atLeast(version: string, major: number, minor: number): boolean {
  const [a, b] = version.split('.').map(Number);
  return a! > major || (a === major && b! >= minor);
}

export async function startNatsServer(options: { home: string; syncAlways?: boolean; startTimeoutMs?: number }): Promise<NatsServer> {
  const binary = natsServerBinary();
  const version = natsServerVersion(binary);
  const syncAlwaysSupported = atLeast(version, 2, 10);
  mkdirSync(options.home, { recursive: true });
  const port = await pickFreePortBlock();
  const lines = [
    `listen: 127.0.0.1:${port}`,
    'jetstream {',
    `  store_dir: ${JSON.stringify(join(options.home, 'jetstream'))}`,
    '  max_memory_store: 256MB',
    '  max_file_store: 200GB',
    ...(options.syncAlways && syncAlwaysSupported ? ['  sync_interval: always'] : []),
    '}',
    // Large enough for a window of 1 KiB publishes in one flush.
    'max_payload: 8MB',
    'max_pending: 256MB',
  ];
  const configPath = join(options.home, 'nats.conf');
  writeFileSync(configPath, `${lines.join('\n')}\n`);
  const child = spawn(binary, ['-c', configPath], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const append = (chunk: Buffer): void => {
    output = (output + chunk.toString()).slice(-64 * 1024);
  };
  child.stdout!.on('data', append);
  child.stderr!.on('data', append);
  const exited = new Promise<void>((resolveExit) => child.once('exit', () => resolveExit()));
  const running = (): boolean => child.exitCode === null && child.signalCode === null;
  const server: NatsServer = {
    child,
    pid: child.pid ?? -1,
    url: `127.0.0.1:${port}`,
    version,
    syncAlwaysSupported,
    output: () => output,
    async stop() {
      if (!running()) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
    },
    async kill() {
      if (running()) child.kill('SIGKILL');
      await exited;
    },
  };
  await new Promise<void>((resolveStart, rejectStart) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      rejectStart(new Error(`nats-server did not become ready in ${START_TIMEOUT_MS} ms:\n${output}`));
    }, options.startTimeoutMs ?? START_TIMEOUT_MS);
    const check = (): void => {
      if (/Server is ready/.test(output)) {
        clearTimeout(timer);
        resolveStart();
      }
    };
    child.stdout!.on('data', check);
    child.stderr!.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      rejectStart(new Error(`nats-server exited (${code}) before it was ready:\n${output}`));
    });
  });
  return server;
}
