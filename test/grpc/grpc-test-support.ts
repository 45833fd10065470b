/**
 * Helpers for the gRPC gateway tests: a real Broker (temp store, ephemeral ports on 127.0.0.1), the
 * broker's PopService and a GrpcGateway in this process, topics with a `message.type`, quiet loggers
 * for the official `rocketmq-client-nodejs` clients, and small polling helpers.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Broker } from '../../src/broker/broker.js';
import { createBrokerConfig, type BrokerConfig } from '../../src/broker/broker-config.js';
import type { BrokerDeps } from '../../src/broker/broker-deps.js';
import { popServiceOf, type PopService } from '../../src/broker/pop/index.js';
import { newTopicConfig } from '../../src/broker/topic-config-manager.js';
import { silentLogger } from '../../src/common/logger.js';
import { GrpcGateway, type GrpcGatewayOptions } from '../../src/gateway/grpc/grpc-gateway.js';
import { defaultProtoDir, PROTO_LOADER_OPTIONS } from '../../src/gateway/grpc/messaging-service.js';
import { credentials, loadPackageDefinition, Metadata, type ChannelCredentials, type Client } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';

export interface GrpcTestBed {
  broker: Broker;
  deps: BrokerDeps;
  pop: PopService;
  gateway: GrpcGateway;
  /** `127.0.0.1:port` of the gateway (what the gRPC clients take as endpoints). */
  endpoints: string;
  /** `127.0.0.1:port` of the broker's remoting server. */
  brokerAddress: string;
  root: string;
  close(): Promise<void>;
}

export interface TestBedOptions {
  /** Broker settings; keys the broker reads through its index signature (transaction*) may be given too. */
  broker?: Partial<BrokerConfig> & Record<string, unknown>;
  gateway?: Partial<GrpcGatewayOptions>;
}

export async function startTestBed(options: TestBedOptions = {}): Promise<GrpcTestBed> {
  const root = mkdtempSync(join(tmpdir(), 'tidemq-grpc-'));
  const config = createBrokerConfig({
    storePathRootDir: root,
    listenPort: 0,
    listenHost: '127.0.0.1',
    brokerIP1: '127.0.0.1',
    mappedFileSizeCommitLog: 16 * 1024 * 1024,
    consumeQueueEntriesPerFile: 10_000,
    maxHashSlotNum: 1000,
    maxIndexNum: 4000,
    pullHoldSweepIntervalMs: 50,
    scheduleTickIntervalMs: 50,
    ...options.broker,
  });
  const broker = new Broker(config, { logger: silentLogger });
  const started = await broker.start();
  const deps = broker.brokerDeps;
  // The broker's own PopService (one per broker: it owns the pop log), as `tidemq start` hands it over.
  const pop = popServiceOf(deps);
  const gateway = new GrpcGateway(deps, pop, {
    port: 0,
    host: '127.0.0.1',
    advertisedHost: '127.0.0.1',
    logger: process.env.TIDEMQ_TEST_LOG ? undefined : silentLogger,
    minInvisibleTimeMsForReceive: 1_000,
    minLongPollingTimeoutMs: 200,
    maxLongPollingTimeoutMs: 1_000,
    ...options.gateway,
  });
  const port = await gateway.start();
  let closed = false;
  return {
    broker,
    deps,
    pop,
    gateway,
    endpoints: `127.0.0.1:${port}`,
    brokerAddress: started.brokerAddr,
    root,
    close: async () => {
      if (closed) return;
      closed = true;
      await gateway.close();
      await broker.close();
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** Creates (or replaces) a topic accepting `messageType` (NORMAL, FIFO, DELAY, TRANSACTION, MIXED). */
export function createTopic(deps: BrokerDeps, topic: string, messageType = 'NORMAL', queues = 4): void {
  deps.topicConfigManager.updateTopicConfig(newTopicConfig(topic, {
    readQueueNums: queues,
    writeQueueNums: queues,
    attributes: { 'message.type': messageType },
  }));
}

/** A logger for the official client that stays quiet unless TIDEMQ_TEST_LOG is set. */
export const clientLogger = {
  info: (...args: unknown[]): void => { if (process.env.TIDEMQ_TEST_LOG) console.log('[client]', ...args); },
  warn: (...args: unknown[]): void => { if (process.env.TIDEMQ_TEST_LOG) console.warn('[client]', ...args); },
  error: (...args: unknown[]): void => { if (process.env.TIDEMQ_TEST_LOG) console.error('[client]', ...args); },
  debug: (): void => {},
  close: (): void => {},
};

// The client's consume services ignore the `logger` option and open their own file logger under
// ~/logs/rocketmq with a timer that is never stopped, which would keep the test process alive and write
// outside the temp dirs; its module export is a plain property, so the tests swap it for the quiet one.
createRequire(import.meta.url)('rocketmq-client-nodejs/dist/client/Logger.js').getDefaultLogger = () => clientLogger;

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `probe` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function eventually<T>(probe: () => T | undefined | Promise<T | undefined>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

/** A bare MessagingService client (no official SDK): for requests the SDKs would refuse to send. */
export interface RawClient {
  unary<T = Record<string, unknown>>(method: string, request: object, clientId?: string): Promise<T>;
  stream<T = Record<string, unknown>>(method: string, request: object, clientId?: string, deadlineMs?: number): Promise<T[]>;
  close(): void;
}

export function rawClient(endpoints: string): RawClient {
  const definition = loadSync(['apache/rocketmq/v2/service.proto'], { ...PROTO_LOADER_OPTIONS, includeDirs: [defaultProtoDir()] });
  const root = loadPackageDefinition(definition) as unknown as { apache: { rocketmq: { v2: { MessagingService: new (address: string, credentials: ChannelCredentials) => Client } } } };
  const client = new root.apache.rocketmq.v2.MessagingService(endpoints, credentials.createInsecure()) as Client & Record<string, (...args: unknown[]) => unknown>;
  const metadataFor = (clientId: string | undefined): Metadata => {
    const metadata = new Metadata();
    metadata.set('x-mq-protocol', 'v2');
    if (clientId !== undefined) metadata.set('x-mq-client-id', clientId);
    return metadata;
  };
  const methodName = (method: string): string => method.charAt(0).toLowerCase() + method.slice(1);
  return {
    unary: (method, request, clientId) => new Promise((resolve, reject) => {
      const fn = client[methodName(method)]!.bind(client) as (request: object, metadata: Metadata, options: object, callback: (error: Error | null, response: unknown) => void) => void;
      fn(request, metadataFor(clientId), { deadline: Date.now() + 10_000 }, (error, response) => (error ? reject(error) : resolve(response as never)));
    }),
    stream: (method, request, clientId, deadlineMs = 10_000) => new Promise((resolve, reject) => {
      const fn = client[methodName(method)]!.bind(client) as (request: object, metadata: Metadata, options: object) => NodeJS.ReadableStream;
      const call = fn(request, metadataFor(clientId), { deadline: Date.now() + deadlineMs });
      const items: unknown[] = [];
      call.on('data', (item: unknown) => items.push(item));
      call.on('error', reject);
      call.on('end', () => resolve(items as never));
    }),
    close: () => client.close(),
  };
}

/** Receives with `consumer` until `count` messages came (acking each when `ack`), or fails after `timeoutMs`. */
export async function receiveAll<M extends { messageId: string }>(
  consumer: { receive(max?: number, invisibleMs?: number): Promise<M[]>; ack(message: M): Promise<void> },
  count: number,
  timeoutMs: number,
  options: { ack?: boolean; invisibleMs?: number } = {},
): Promise<M[]> {
  const received: M[] = [];
  const deadline = Date.now() + timeoutMs;
  while (received.length < count) {
    if (Date.now() > deadline) throw new Error(`received ${received.length} of ${count} messages within ${timeoutMs} ms`);
    const batch = await consumer.receive(32, options.invisibleMs ?? 10_000);
    for (const message of batch) {
      received.push(message);
      if (options.ack !== false) await consumer.ack(message);
    }
  }
  return received;
}
