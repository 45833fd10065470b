/**
 * Typed access to `ali-ons` (CommonJS, untyped) for the compatibility tests, with the settings that
 * make it talk to a local TideMQ name server directly and run its timers fast enough for tests.
 *
 * ali-ons quirks this wrapper deals with (read from node_modules/ali-ons/lib):
 * - `RemotingClient` asserts an `httpclient` even when `nameSrv` is given; it is only used for the
 *   Aliyun address lookup, so a dummy object does.
 * - Clients are shared per `clientIP@instanceName`, and every consumer also starts one process-wide
 *   "CLIENT_INNER_PRODUCER" producer. Each consumer and producer here gets its own instance name, and
 *   `closeInnerProducer()` closes the shared one so no socket or timer outlives a test file.
 * - The option for the route refresh is spelled `pollNameServerInteval`.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export interface AliMessage {
  topic: string;
  tags: string | null;
  keys: string | undefined;
  body: Buffer;
  /** ali-ons sets this to the offsetMsgId (store host + commit-log offset). */
  msgId: string;
  queueId: number;
  queueOffset: number;
  commitLogOffset: number;
  reconsumeTimes: number;
  storeHost: string;
  properties: Record<string, string | null>;
  originMessageId: string | undefined;
  retryTopic: string | undefined;
}

export interface AliMessageQueue {
  topic: string;
  brokerName: string;
  queueId: number;
  key: string;
}

export interface AliSendResult {
  sendStatus: string;
  msgId: string;
  messageQueue: AliMessageQueue;
  queueOffset: number;
}

interface AliBase {
  ready(): Promise<void>;
  close(): Promise<void>;
  on(event: 'error', listener: (error: Error) => void): void;
}

export interface AliProducer extends AliBase {
  send(message: AliMessage): Promise<AliSendResult>;
}

export type AliHandler = (message: AliMessage, queue: AliMessageQueue) => Promise<unknown>;

export interface AliConsumer extends AliBase {
  subscribe(topic: string, subExpression: string, handler: AliHandler): void;
  /** Internal, read only for readiness checks: queue key → pull state of the queues this consumer holds. */
  readonly processQueueTable: Map<string, { messageQueue: AliMessageQueue }>;
}

interface AliOns {
  Message: new (topic: string, tags: string, body: string | Buffer) => AliMessage;
  Producer: (new (options: Record<string, unknown>) => AliProducer) & {
    defaultProducer?: AliProducer | null;
    getDefaultProducer(options?: Record<string, unknown>): Promise<AliProducer>;
  };
  Consumer: (new (options: Record<string, unknown>) => AliConsumer) & { ACTION_RETRY: symbol };
}

const aliOns = require('ali-ons') as AliOns;

export const ACTION_RETRY: symbol = aliOns.Consumer.ACTION_RETRY;

/** Keeps ali-ons quiet; warnings and errors are collected by the test that cares. */
const silentLogger = { info() {}, warn() {}, error() {}, debug() {} };

let instanceCounter = 0;

/** Options every ali-ons client in these tests shares. */
function commonOptions(nameSrv: string, intervalMs: number): Record<string, unknown> {
  return {
    nameSrv,
    httpclient: {},
    accessKeyId: 'test-access-key',
    accessKeySecret: 'test-secret-key',
    logger: silentLogger,
    pollNameServerInteval: intervalMs,
    heartbeatBrokerInterval: intervalMs,
    rebalanceInterval: intervalMs,
    persistConsumerOffsetInterval: intervalMs,
    instanceName: `tide-${process.pid}-${++instanceCounter}`,
  };
}

export interface ClientSettings {
  nameSrv: string;
  /** Route refresh, heartbeat, rebalance and offset-persist period. */
  intervalMs?: number;
  /** Errors the client emits (connection errors, QUERY_NOT_FOUND for new groups, …). */
  errors?: Error[];
}

export function createMessage(topic: string, tags: string, body: string | Buffer, keys?: string[]): AliMessage {
  const message = new aliOns.Message(topic, tags, body);
  // The `keys` setter takes an array and stores it space-joined in the KEYS property.
  if (keys) (message as unknown as { keys: string[] }).keys = keys;
  return message;
}

export async function startProducer(settings: ClientSettings & { producerGroup: string; extra?: Record<string, unknown> }): Promise<AliProducer> {
  await startInnerProducer(settings);
  const producer = new aliOns.Producer({ ...commonOptions(settings.nameSrv, settings.intervalMs ?? 1_000), producerGroup: settings.producerGroup, ...settings.extra });
  producer.on('error', (error) => settings.errors?.push(error));
  await producer.ready();
  return producer;
}

export interface ConsumerSettings extends ClientSettings {
  consumerGroup: string;
  broadcast?: boolean;
  maxReconsumeTimes?: number;
  consumeFromWhere?: 'CONSUME_FROM_FIRST_OFFSET' | 'CONSUME_FROM_LAST_OFFSET';
}

export async function startConsumer(settings: ConsumerSettings): Promise<AliConsumer> {
  await startInnerProducer(settings);
  const consumer = new aliOns.Consumer({
    ...commonOptions(settings.nameSrv, settings.intervalMs ?? 1_000),
    consumerGroup: settings.consumerGroup,
    isBroadcast: settings.broadcast ?? false,
    consumeFromWhere: settings.consumeFromWhere ?? 'CONSUME_FROM_FIRST_OFFSET',
    maxReconsumeTimes: settings.maxReconsumeTimes ?? 16,
    // Short long-poll holds so a closing consumer is not stuck behind a held pull.
    brokerSuspendMaxTimeMillis: 2_000,
    consumerTimeoutMillisWhenSuspend: 5_000,
    pullTimeDelayMillsWhenException: 500,
  });
  consumer.on('error', (error) => settings.errors?.push(error));
  await consumer.ready();
  return consumer;
}

/** Starts the shared inner producer with our settings, before any consumer would start it with defaults. */
async function startInnerProducer(settings: ClientSettings): Promise<void> {
  if (aliOns.Producer.defaultProducer) return;
  const inner = await aliOns.Producer.getDefaultProducer(commonOptions(settings.nameSrv, settings.intervalMs ?? 1_000));
  inner.on('error', (error) => settings.errors?.push(error));
}

/** Closes the process-wide inner producer (call once, after every consumer is closed). */
export async function closeInnerProducer(): Promise<void> {
  const inner = aliOns.Producer.defaultProducer;
  aliOns.Producer.defaultProducer = null;
  if (inner) await inner.close();
}

/** Closes a client, bounded in time so a stuck close cannot hang the test file. */
export async function closeQuietly(client: AliBase | undefined, timeoutMs = 5_000): Promise<void> {
  if (!client) return;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    client.close().catch(() => undefined),
    new Promise<void>((resolveTimeout) => { timer = setTimeout(resolveTimeout, timeoutMs); }),
  ]);
  clearTimeout(timer);
}

/**
 * Prints the distinct errors ali-ons reported (with counts) when TIDEMQ_COMPAT_VERBOSE is set. Some are
 * expected against any RocketMQ broker (QUERY_NOT_FOUND for a new group's offsets, no route for
 * `%RETRY%group` before the first heartbeat, connection errors to a killed broker).
 */
export function reportClientErrors(errors: Error[]): void {
  if (!process.env.TIDEMQ_COMPAT_VERBOSE) return;
  const counts = new Map<string, number>();
  for (const error of errors) {
    const text = error.message.replace(/\d+/g, 'N');
    counts.set(text, (counts.get(text) ?? 0) + 1);
  }
  for (const [text, count] of counts) console.log(`ali-ons error x${count}: ${text}`);
}
