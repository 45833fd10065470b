#!/usr/bin/env node
/**
 * The `tidemq` command. `start` runs a name server and a broker in one process (data under ./data);
 * `namesrv` and `broker` run them apart. Broker settings come from a RocketMQ-style broker.conf, and
 * command-line flags override the file. Every endpoint listened on is printed on stdout, one line each,
 * as `<role> listening on <host:port>` (tests parse these lines).
 */
import { resolve } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { createLogger, type Logger } from '../common/logger.js';
import { readPropertiesFile } from './properties-file.js';
import { brokerConfigFromProperties, type BrokerConfig } from '../broker/broker-config.js';
import { registerBenchCommand } from './bench/bench-command.js';
import { registerAdminCommand } from './admin/admin-command.js';
import { DEFAULT_HEAP_TUNING, tuneHeap } from './heap-tuning.js';

// The servers are loaded only by the commands that run them, so `tidemq admin` and `tidemq bench`
// start quickly and `tidemq start` pays only for what it starts.
const loadBroker = async () => (await import('../broker/broker.js')).Broker;
const loadNameServer = async () => (await import('../namesrv/namesrv.js')).NameServer;
// Only the gRPC listener: grpc-js and the gateway load when the first gRPC client connects.
const loadGateway = async () => {
  const [{ DEFAULT_GRPC_PORT }, { LazyGrpcGateway }, { popServiceOf }] = await Promise.all([
    import('../gateway/grpc/grpc-port.js'), import('../gateway/lazy-grpc-gateway.js'), import('../broker/pop/index.js'),
  ]);
  return { DEFAULT_GRPC_PORT, LazyGrpcGateway, popServiceOf };
};

function integerUpTo(limit: number): (value: string) => number {
  return (value) => {
    const parsed = Number(value);
    if (!Number.isInteger(parsed) || parsed < 0 || parsed > limit) throw new InvalidArgumentError(`an integer 0-${limit}`);
    return parsed;
  };
}

interface HeapFlags {
  maxSemiSpaceMib?: number;
  heapGrowingPercent?: number;
}

/** The heap options of the server commands (see heap-tuning.ts for what they do and why). */
function addHeapOptions(command: Command): Command {
  return command
    .option('--max-semi-space-mib <MiB>', "cap of V8's young generation per semi-space, e.g. 8 to save ~18 MiB for a few % of CPU (default 0 = V8's 16)", integerUpTo(1024))
    .option('--heap-growing-percent <percent>', `old generation collected at live × (1 + percent/100) (default ${DEFAULT_HEAP_TUNING.heapGrowingPercent}; 0 = V8's choice)`, integerUpTo(10_000));
}

/** Sizes the heap before the servers load, and logs what was left to node's own flags. */
function tuneServerHeap(flags: HeapFlags, logger: Logger): void {
  const tuned = tuneHeap({
    maxSemiSpaceMiB: flags.maxSemiSpaceMib ?? DEFAULT_HEAP_TUNING.maxSemiSpaceMiB,
    heapGrowingPercent: flags.heapGrowingPercent ?? DEFAULT_HEAP_TUNING.heapGrowingPercent,
  });
  if (tuned.leftToNodeFlags.length > 0) logger.info({ nodeFlags: tuned.leftToNodeFlags }, 'heap sizing left to the node flags given');
}

function port(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0 || parsed > 65535) throw new InvalidArgumentError('a port is an integer 0-65535');
  return parsed;
}

interface BrokerFlags {
  config?: string;
  home?: string;
  namesrvAddr?: string;
  brokerPort?: number;
  host?: string;
}

function loadBrokerConfig(flags: BrokerFlags, defaults: Record<string, string>, logger: Logger): BrokerConfig {
  const fromFile = flags.config ? readPropertiesFile(flags.config) : {};
  const properties: Record<string, string> = { ...defaults, ...fromFile };
  if (flags.home !== undefined || properties.storePathRootDir === undefined) {
    properties.storePathRootDir = resolve(flags.home ?? './data', 'store');
  }
  if (flags.namesrvAddr !== undefined) properties.namesrvAddr = flags.namesrvAddr;
  if (flags.brokerPort !== undefined) properties.listenPort = String(flags.brokerPort);
  if (flags.host !== undefined) properties.brokerIP1 = flags.host;
  const { config, unknownKeys } = brokerConfigFromProperties(properties);
  if (unknownKeys.length > 0) logger.warn({ unknownKeys }, 'ignoring unknown broker settings');
  return config;
}

function onShutdownSignal(logger: Logger, shutdown: () => Promise<void>): void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    shutdown().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
}

const program = new Command();
program.name('tidemq').description('TideMQ: a RocketMQ-compatible message queue for Node.js');

addHeapOptions(program
  .command('start')
  .description('run a name server and a broker in one process (standalone)')
  .option('-c, --config <file>', 'broker.conf with RocketMQ property names')
  .option('--home <dir>', 'data directory (default ./data)')
  .option('--namesrv-port <port>', 'name server port (default 9876, 0 = any free port)', port)
  .option('--broker-port <port>', 'broker port (default 10911, 0 = any free port)', port)
  .option('--host <ip>', 'address advertised to clients (brokerIP1)')
  .option('--grpc-port <port>', 'gRPC endpoint for RocketMQ 5.x clients (default 8081, 0 = any free port)', port))
  .action(async (flags: BrokerFlags & HeapFlags & { namesrvPort?: number; grpcPort?: number }) => {
    const logger = createLogger();
    tuneServerHeap(flags, logger);
    const home = resolve(flags.home ?? './data');
    const [NameServer, Broker, { DEFAULT_GRPC_PORT, LazyGrpcGateway, popServiceOf }] = await Promise.all([loadNameServer(), loadBroker(), loadGateway()]);
    const nameServer = new NameServer({ port: flags.namesrvPort ?? 9876, host: '0.0.0.0', kvConfigPath: resolve(home, 'namesrv', 'kvConfig.json'), logger });
    const namesrvPort = await nameServer.start();
    console.log(`namesrv listening on 0.0.0.0:${namesrvPort}`);
    const config = loadBrokerConfig({ ...flags, home, namesrvAddr: `127.0.0.1:${namesrvPort}` }, {}, logger);
    const broker = new Broker(config, { logger });
    const started = await broker.start();
    for (const listenPort of started.listenPorts) console.log(`broker listening on 0.0.0.0:${listenPort}`);
    const gateway = new LazyGrpcGateway(broker.brokerDeps, () => popServiceOf(broker.brokerDeps), {
      port: flags.grpcPort ?? DEFAULT_GRPC_PORT, host: '0.0.0.0', advertisedHost: config.brokerIP1, logger,
    });
    const grpcPort = await gateway.start();
    console.log(`grpc listening on 0.0.0.0:${grpcPort}`);
    console.log(`broker ${config.brokerName} advertised as ${started.brokerAddr}, store ${config.storePathRootDir} (${config.flushDiskType})`);
    console.log('tidemq started');
    onShutdownSignal(logger, async () => {
      // The gateway goes first: it hands messages held for gRPC consumers back through the broker.
      await gateway.close();
      await broker.close();
      await nameServer.close();
    });
  });

program
  .command('namesrv')
  .description('run a name server')
  .option('-p, --port <port>', 'listen port (default 9876)', port)
  .option('--namesrv-port <port>', 'same as --port', port)
  .option('--home <dir>', 'directory for the KV config (default ./data)')
  .action(async (flags: { port?: number; namesrvPort?: number; home?: string }) => {
    const logger = createLogger();
    const home = resolve(flags.home ?? './data');
    const NameServer = await loadNameServer();
    const nameServer = new NameServer({ port: flags.port ?? flags.namesrvPort ?? 9876, host: '0.0.0.0', kvConfigPath: resolve(home, 'namesrv', 'kvConfig.json'), logger });
    const boundPort = await nameServer.start();
    console.log(`namesrv listening on 0.0.0.0:${boundPort}`);
    onShutdownSignal(logger, () => nameServer.close());
  });

addHeapOptions(program
  .command('broker')
  .description('run a broker')
  .option('-c, --config <file>', 'broker.conf with RocketMQ property names')
  .option('-n, --namesrv-addr <list>', 'name servers, host:port;host:port')
  .option('--home <dir>', 'data directory (store under <dir>/store); overrides storePathRootDir')
  .option('--broker-port <port>', 'broker port (overrides listenPort; 0 = any free port)', port)
  .option('--host <ip>', 'address advertised to clients (brokerIP1)'))
  .action(async (flags: BrokerFlags & HeapFlags) => {
    const logger = createLogger();
    tuneServerHeap(flags, logger);
    const config = loadBrokerConfig(flags, {}, logger);
    const Broker = await loadBroker();
    const broker = new Broker(config, { logger });
    const started = await broker.start();
    for (const listenPort of started.listenPorts) console.log(`broker listening on 0.0.0.0:${listenPort}`);
    console.log(`broker ${config.brokerName} advertised as ${started.brokerAddr}, store ${config.storePathRootDir} (${config.flushDiskType})`);
    onShutdownSignal(logger, () => broker.close());
  });

registerBenchCommand(program);
registerAdminCommand(program);

program.parseAsync(process.argv).catch((error: unknown) => {
  console.error(`tidemq: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
