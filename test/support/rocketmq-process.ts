/**
 * Starts Apache RocketMQ 5.x (a name server and brokers, each its own JVM) on loopback, so that suites
 * written against `tidemq start` can run against the real thing, and benchmarks can compare the two.
 *
 * The jars come from scripts/rocketmq-server.sh (Maven Central, cached in bench/.cache/rocketmq-server).
 * Everything a JVM writes stays under the caller's `home`:
 *
 *   <home>/namesrv/namesrv.conf        listenPort, bindAddress
 *   <home>/namesrv/logs/rocketmqlogs/  its logs (RocketMQ 5 logs under ${user.home}; user.home = <home>/namesrv)
 *   <home>/<brokerName>/broker.conf    the broker's properties (RocketMQ names)
 *   <home>/<brokerName>/store/         storePathRootDir: commit log, consume queues, index, timer, config
 *   <home>/<brokerName>/logs/rocketmqlogs/
 *
 * A broker listens on three ports: listenPort, listenPort - 2 (the "fast"/VIP channel) and listenPort + 1
 * (HA), so ports are chosen as a free block, away from the kernel's ephemeral range that `tidemq` uses.
 * ROCKETMQ_HOME only has to be set (5.x reads no file from it); it points at `home`.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ResponseCode } from '../../src/common/errors.js';
import { createRequest } from '../../src/protocol/remoting-command.js';
import { RequestCode } from '../../src/protocol/request-code.js';
import { decodeClusterInfo } from '../../src/protocol/route-data.js';
import { RemotingClient } from '../../src/remoting/remoting-client.js';

const REPO_ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../..');
const SERVER_SCRIPT = join(REPO_ROOT, 'scripts/rocketmq-server.sh');
/** A JVM start plus store recovery on these machines takes ~5-15 s; leave room for a loaded CI box. */
const DEFAULT_START_TIMEOUT_MS = 120_000;
/** SIGTERM runs RocketMQ's shutdown hooks (unregister, flush, close files); past this we SIGKILL. */
const STOP_TIMEOUT_MS = 30_000;
/** Output kept per JVM for error messages; older output is dropped. */
const MAX_OUTPUT_CHARS = 64 * 1024;

export type FlushDiskType = 'ASYNC_FLUSH' | 'SYNC_FLUSH';

export interface RocketMqOptions {
  /** Directory for all files of this run (conf, store, logs); the caller creates and removes it. */
  home: string;
  flushDiskType?: FlushDiskType;
  /** Extra or overriding broker.conf properties (RocketMQ names), e.g. `{ messageDelayLevel: '1s 1s' }`. */
  brokerProperties?: Record<string, string>;
  /** Default DEFAULT_START_TIMEOUT_MS, for each JVM. */
  startTimeoutMs?: number;
  /** Java classpath; default: what scripts/rocketmq-server.sh prints (it downloads once). */
  classpath?: string;
  /** JVM flags of the broker, replacing BROKER_JVM_OPTIONS. */
  brokerJvmOptions?: readonly string[];
  /** JVM flags of the name server, replacing NAMESRV_JVM_OPTIONS. */
  namesrvJvmOptions?: readonly string[];
}

export interface JavaProcess {
  child: ChildProcess;
  pid: number;
  /** stdout + stderr of the JVM (the last MAX_OUTPUT_CHARS). */
  output(): string;
  /** SIGTERM (shutdown hooks run), SIGKILL after STOP_TIMEOUT_MS; resolves once it exited. */
  stop(): Promise<void>;
  /** SIGKILL and wait for exit. */
  kill(): Promise<void>;
}

export interface RocketMqNameServer extends JavaProcess {
  namesrvAddr: string;
}

export interface RocketMqBroker extends JavaProcess {
  brokerAddr: string;
  brokerName: string;
  /** The broker.conf that was written. */
  properties: Record<string, string>;
}

export interface RocketMq {
  namesrvAddr: string;
  brokerAddr: string;
  pids: { namesrv: number; broker: number };
  namesrv: RocketMqNameServer;
  broker: RocketMqBroker;
  /** Stops the broker (it unregisters), then the name server. */
  stop(): Promise<void>;
  /** SIGKILLs both. */
  kill(): Promise<void>;
}

/** Name server heap: it keeps routes only. */
export const NAMESRV_JVM_OPTIONS: readonly string[] = ['-Xms64m', '-Xmx256m', '-XX:+UseG1GC'];

/** Broker heap and off-heap kept small; the commit log is memory-mapped outside both. */
export const BROKER_JVM_OPTIONS: readonly string[] = [
  '-Xms256m', '-Xmx512m', '-XX:MaxDirectMemorySize=256m', '-XX:+UseG1GC', '-XX:-OmitStackTraceInFastThrow',
];

/**
 * broker.conf defaults for a small loopback broker. Sizes keep disk use low: RocketMQ's defaults are a
 * 1 GiB commit-log file and a 5-million-slot index file.
 */
export const ROCKETMQ_BROKER_DEFAULTS: Readonly<Record<string, string>> = {
  brokerClusterName: 'DefaultCluster',
  brokerName: 'broker-a',
  brokerId: '0',
  brokerRole: 'ASYNC_MASTER',
  brokerIP1: '127.0.0.1',
  brokerIP2: '127.0.0.1',
  bindAddress: '127.0.0.1',
  mappedFileSizeCommitLog: String(64 * 1024 * 1024),
  maxHashSlotNum: '50000',
  maxIndexNum: '200000',
  autoCreateTopicEnable: 'true',
  autoCreateSubscriptionGroup: 'true',
  enablePropertyFilter: 'true',
  transientStorePoolEnable: 'false',
  // Never delete files for disk pressure during a run, and do not phone out for name server lists.
  diskMaxUsedSpaceRatio: '95',
  fetchNamesrvAddrByAddressServer: 'false',
};

let cachedClasspath: string | undefined;

/**
 * JVMs still running. A test file that fails before its `after` hook would otherwise leave them
 * behind, holding ports and gigabytes; they are SIGKILLed when this Node process exits.
 */
const liveJvms = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of liveJvms) child.kill('SIGKILL');
});

/** Runs scripts/rocketmq-server.sh (downloading on first use) and returns the classpath. */
export function rocketMqClasspath(): string {
  cachedClasspath ??= execFileSync('bash', [SERVER_SCRIPT], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 900_000 }).trim();
  return cachedClasspath;
}

/** The classpath, or why RocketMQ cannot run here (no java, no mvn, no network): for `skip`. */
export function findRocketMqClasspath(): { classpath: string; reason?: undefined } | { classpath?: undefined; reason: string } {
  try {
    execFileSync('java', ['-version'], { stdio: 'ignore' });
  } catch {
    return { reason: 'java is not installed' };
  }
  try {
    return { classpath: rocketMqClasspath() };
  } catch (error) {
    return { reason: `scripts/rocketmq-server.sh failed: ${String((error as { stderr?: string }).stderr ?? error).slice(0, 500)}` };
  }
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolveListen) => {
    const server = createServer();
    server.once('error', () => resolveListen(false));
    // No host: the dual-stack wildcard, which collides with any listener on that port.
    server.listen({ port, exclusive: true }, () => server.close(() => resolveListen(true)));
  });
}

/**
 * A port P such that P + each of `offsets` is free, drawn from 20000-32000: below the kernel's
 * ephemeral range (32768+), where `listen(0)` of concurrently starting processes would land.
 */
export async function pickFreePortBlock(offsets: readonly number[] = [0]): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 12_000);
    let free = true;
    for (const offset of offsets) {
      if (!(await canListen(base + offset))) {
        free = false;
        break;
      }
    }
    if (free) return base;
  }
  throw new Error(`no free block of ports ${offsets.join(',')} found`);
}

function writeProperties(path: string, properties: Record<string, string>): void {
  writeFileSync(path, Object.entries(properties).map(([key, value]) => `${key}=${value}`).join('\n') + '\n');
}

function tail(path: string, maxChars = 8000): string {
  if (!existsSync(path)) return '';
  const text = readFileSync(path, 'utf8');
  return `--- ${path} (last ${Math.min(maxChars, text.length)} chars) ---\n${text.slice(-maxChars)}`;
}

/** The ends of the main logs under `<userHome>/logs/rocketmqlogs` (which files exist depends on the role). */
function tailLogs(userHome: string): string {
  const directory = join(userHome, 'logs/rocketmqlogs');
  if (!existsSync(directory)) return `(no logs in ${directory})`;
  return readdirSync(directory)
    .filter((name) => /^(broker|broker_default|namesrv|store)\.log$/.test(name))
    .map((name) => tail(join(directory, name), 4000))
    .join('\n');
}

/**
 * Spawns `java <jvmOptions> -cp <classpath> <mainClass> <args>` with user.home and ROCKETMQ_HOME set,
 * and resolves once stdout matches `readyPattern` (both startups print a "boot success" line).
 */
function spawnJava(options: {
  what: string;
  classpath: string;
  userHome: string;
  rocketmqHome: string;
  jvmOptions: readonly string[];
  mainClass: string;
  args: readonly string[];
  readyPattern: RegExp;
  timeoutMs: number;
}): Promise<JavaProcess> {
  const child = spawn('java', [
    ...options.jvmOptions,
    `-Duser.home=${options.userHome}`,
    `-Drocketmq.home.dir=${options.rocketmqHome}`,
    '-cp', options.classpath, options.mainClass, ...options.args,
  ], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ROCKETMQ_HOME: options.rocketmqHome } });
  liveJvms.add(child);
  child.once('exit', () => liveJvms.delete(child));
  let output = '';
  const append = (chunk: Buffer): void => {
    output += chunk.toString();
    if (output.length > MAX_OUTPUT_CHARS) output = output.slice(-MAX_OUTPUT_CHARS);
  };
  child.stdout!.on('data', append);
  child.stderr!.on('data', append);
  const exited = new Promise<void>((resolveExit) => {
    if (child.exitCode !== null || child.signalCode !== null) resolveExit();
    else child.once('exit', () => resolveExit());
  });
  const running = (): boolean => child.exitCode === null && child.signalCode === null;
  const javaProcess: JavaProcess = {
    child,
    pid: child.pid ?? -1,
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
  const describe = (): string => `--- ${options.what} stdout/stderr ---\n${output}\n${tailLogs(options.userHome)}`;
  return new Promise((resolveStart, rejectStart) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      rejectStart(new Error(`${options.what} did not boot in ${options.timeoutMs} ms\n${describe()}`));
    }, options.timeoutMs);
    const onData = (): void => {
      if (options.readyPattern.test(output)) {
        clearTimeout(timer);
        child.stdout!.off('data', onData);
        resolveStart(javaProcess);
      }
    };
    child.stdout!.on('data', onData);
    child.once('error', (error) => {
      clearTimeout(timer);
      rejectStart(new Error(`${options.what} could not be spawned: ${error.message}`));
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      rejectStart(new Error(`${options.what} exited (${code ?? signal}) before it booted\n${describe()}`));
    });
  });
}

/** A RocketMQ name server on a free loopback port, with its files under `home`. */
export async function startRocketMqNameServer(options: { home: string; classpath?: string; startTimeoutMs?: number; jvmOptions?: readonly string[] }): Promise<RocketMqNameServer> {
  const directory = join(options.home, 'namesrv');
  mkdirSync(directory, { recursive: true });
  const port = await pickFreePortBlock();
  const confPath = join(directory, 'namesrv.conf');
  writeProperties(confPath, { listenPort: String(port), bindAddress: '127.0.0.1' });
  const started = await spawnJava({
    what: `RocketMQ name server on 127.0.0.1:${port}`,
    classpath: options.classpath ?? rocketMqClasspath(),
    userHome: directory,
    rocketmqHome: options.home,
    jvmOptions: options.jvmOptions ?? NAMESRV_JVM_OPTIONS,
    mainClass: 'org.apache.rocketmq.namesrv.NamesrvStartup',
    args: ['-c', confPath],
    readyPattern: /The Name Server boot success/,
    timeoutMs: options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS,
  });
  return { ...started, namesrvAddr: `127.0.0.1:${port}` };
}

export interface RocketMqBrokerOptions {
  home: string;
  namesrvAddr: string;
  flushDiskType?: FlushDiskType;
  /** Over ROCKETMQ_BROKER_DEFAULTS; brokerName here also names the broker's directory. */
  properties?: Record<string, string>;
  classpath?: string;
  startTimeoutMs?: number;
  jvmOptions?: readonly string[];
}

/**
 * A RocketMQ broker registered with `namesrvAddr`, on a free block of loopback ports. Resolves once
 * the name server lists it in its cluster info, that is, once clients can route to it.
 */
export async function startRocketMqBroker(options: RocketMqBrokerOptions): Promise<RocketMqBroker> {
  const brokerName = options.properties?.brokerName ?? ROCKETMQ_BROKER_DEFAULTS.brokerName!;
  const directory = join(options.home, brokerName);
  mkdirSync(directory, { recursive: true });
  const port = await pickFreePortBlock([-2, 0, 1]);
  const properties: Record<string, string> = {
    ...ROCKETMQ_BROKER_DEFAULTS,
    flushDiskType: options.flushDiskType ?? 'ASYNC_FLUSH',
    storePathRootDir: join(directory, 'store'),
    ...options.properties,
    namesrvAddr: options.namesrvAddr,
    listenPort: String(port),
  };
  const confPath = join(directory, 'broker.conf');
  writeProperties(confPath, properties);
  const timeoutMs = options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS;
  const brokerAddr = `${properties.brokerIP1}:${port}`;
  const started = await spawnJava({
    what: `RocketMQ broker ${brokerName} on ${brokerAddr}`,
    classpath: options.classpath ?? rocketMqClasspath(),
    userHome: directory,
    rocketmqHome: options.home,
    jvmOptions: options.jvmOptions ?? BROKER_JVM_OPTIONS,
    mainClass: 'org.apache.rocketmq.broker.BrokerStartup',
    args: ['-c', confPath],
    readyPattern: /The broker\[.*\] boot success/,
    timeoutMs,
  });
  const client = new RemotingClient({ requestTimeoutMs: 3000, connectTimeoutMs: 3000 });
  try {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const response = await client.invoke(options.namesrvAddr, createRequest(RequestCode.GET_BROKER_CLUSTER_INFO)).catch(() => undefined);
      if (response?.code === ResponseCode.SUCCESS) {
        const info = decodeClusterInfo(response.body);
        if (info.brokerAddrTable[brokerName]?.brokerAddrs[properties.brokerId ?? '0'] === brokerAddr) break;
      }
      if (Date.now() > deadline || started.child.exitCode !== null) {
        await started.kill();
        throw new Error(`RocketMQ broker ${brokerName} (${brokerAddr}) did not register with ${options.namesrvAddr} in ${timeoutMs} ms\n${started.output()}\n${tailLogs(directory)}`);
      }
      await new Promise((resolveSleep) => setTimeout(resolveSleep, 200));
    }
  } finally {
    await client.close();
  }
  return { ...started, brokerAddr, brokerName, properties };
}

/** One RocketMQ name server plus one broker (`broker-a` in `DefaultCluster`), as `tidemq start` is. */
export async function startRocketMq(options: RocketMqOptions): Promise<RocketMq> {
  const classpath = options.classpath ?? rocketMqClasspath();
  const namesrv = await startRocketMqNameServer({ home: options.home, classpath, startTimeoutMs: options.startTimeoutMs, jvmOptions: options.namesrvJvmOptions });
  let broker: RocketMqBroker;
  try {
    broker = await startRocketMqBroker({
      home: options.home,
      namesrvAddr: namesrv.namesrvAddr,
      flushDiskType: options.flushDiskType,
      properties: options.brokerProperties,
      classpath,
      startTimeoutMs: options.startTimeoutMs,
      jvmOptions: options.brokerJvmOptions,
    });
  } catch (error) {
    await namesrv.kill();
    throw error;
  }
  return {
    namesrvAddr: namesrv.namesrvAddr,
    brokerAddr: broker.brokerAddr,
    pids: { namesrv: namesrv.pid, broker: broker.pid },
    namesrv,
    broker,
    async stop() {
      await broker.stop();
      await namesrv.stop();
    },
    async kill() {
      await Promise.all([broker.kill(), namesrv.kill()]);
    },
  };
}
