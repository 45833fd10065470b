/**
 * Starts real `tidemq` processes for multi-process tests, on ephemeral ports, and reads the endpoints
 * they print (`<role> listening on <host:port>`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const CLI = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../src/cli/tidemq.js');

export interface TideProcess {
  child: ChildProcess;
  /** role → ports in printed order. */
  ports: Map<string, number[]>;
  output: () => string;
  /** SIGTERM and wait for exit; returns the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL and wait for exit. */
  kill(): Promise<void>;
}

export function makeTempHome(prefix = 'tidemq-test-'): { home: string; cleanup: () => void } {
  const home = mkdtempSync(join(tmpdir(), prefix));
  return { home, cleanup: () => rmSync(home, { recursive: true, force: true }) };
}

/** Spawns `tidemq <args>` and resolves once `readyLine` is printed (or rejects with the output). */
export function startTideMq(args: string[], readyPattern: RegExp, timeoutMs = 20_000): Promise<TideProcess> {
  const child = spawn(process.execPath, [CLI, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, TIDEMQ_LOG_LEVEL: process.env.TIDEMQ_LOG_LEVEL ?? 'warn' },
  });
  let output = '';
  const ports = new Map<string, number[]>();
  const exited = new Promise<number | null>((resolveExit) => child.once('exit', (code) => resolveExit(code)));
  const process_: TideProcess = {
    child,
    ports,
    output: () => output,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
  return new Promise((resolveStart, rejectStart) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      rejectStart(new Error(`tidemq ${args.join(' ')} did not become ready in ${timeoutMs} ms:\n${output}`));
    }, timeoutMs);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      for (const match of output.matchAll(/^(\w+) listening on [^\s]*:(\d+)$/gm)) {
        const list = ports.get(match[1]!) ?? [];
        const value = Number(match[2]);
        if (!list.includes(value)) list.push(value);
        ports.set(match[1]!, list);
      }
      if (readyPattern.test(output)) {
        clearTimeout(timer);
        resolveStart(process_);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (chunk: Buffer) => { output += chunk.toString(); });
    child.once('exit', (code) => {
      clearTimeout(timer);
      rejectStart(new Error(`tidemq ${args.join(' ')} exited with ${code} before ready:\n${output}`));
    });
  });
}

/** `tidemq start` on ephemeral ports with data in `home`. */
export async function startStandalone(home: string, extraArgs: string[] = []): Promise<TideProcess & { namesrvAddr: string; brokerAddr: string; grpcAddr: string }> {
  const started = await startTideMq(['start', '--home', home, '--namesrv-port', '0', '--broker-port', '0', '--grpc-port', '0', '--host', '127.0.0.1', ...extraArgs], /tidemq started/);
  return {
    ...started,
    namesrvAddr: `127.0.0.1:${started.ports.get('namesrv')![0]}`,
    brokerAddr: `127.0.0.1:${started.ports.get('broker')![0]}`,
    grpcAddr: `127.0.0.1:${started.ports.get('grpc')![0]}`,
  };
}

/** `tidemq namesrv` on an ephemeral port. */
export async function startNameServer(home: string): Promise<TideProcess & { namesrvAddr: string }> {
  const started = await startTideMq(['namesrv', '--port', '0', '--home', home], /^namesrv listening on /m);
  return { ...started, namesrvAddr: `127.0.0.1:${started.ports.get('namesrv')![0]}` };
}

export interface BrokerOptions {
  home: string;
  namesrvAddr: string;
  brokerName: string;
  /** Extra broker.conf lines (RocketMQ property names), written to `<home>/broker.conf`. */
  properties?: Record<string, string>;
}

/**
 * `tidemq broker` on an ephemeral port, registered with `namesrvAddr`. Ready once it prints the
 * address it advertises (`broker <name> advertised as <host:port>`), which becomes `brokerAddr`.
 */
export async function startBroker(options: BrokerOptions): Promise<TideProcess & { brokerAddr: string }> {
  const confPath = join(options.home, 'broker.conf');
  const properties = { brokerName: options.brokerName, ...options.properties };
  writeFileSync(confPath, Object.entries(properties).map(([key, value]) => `${key}=${value}`).join('\n') + '\n');
  const started = await startTideMq(
    ['broker', '-c', confPath, '--home', options.home, '-n', options.namesrvAddr, '--broker-port', '0', '--host', '127.0.0.1'],
    /^broker \S+ advertised as \S+/m,
  );
  const advertised = /^broker \S+ advertised as (\S+?),?(?:\s|$)/m.exec(started.output());
  return { ...started, brokerAddr: advertised![1]! };
}

/** Polls `check` until it returns a value other than undefined/false, or throws after `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 15_000, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown = null;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? ` (last error: ${String(lastError)})` : ''}`);
    }
    await new Promise((resolveSleep) => setTimeout(resolveSleep, intervalMs));
  }
}
