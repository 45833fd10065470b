/**
 * Helpers for the broker integration tests: a real Broker on 127.0.0.1 with an ephemeral port and a
 * temp store, and request builders that speak to it through the real RemotingClient (and, for ali-ons'
 * numeric header values, through a raw socket).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../src/common/logger.js';
import { Broker } from '../../src/broker/broker.js';
import { createBrokerConfig, type BrokerConfig } from '../../src/broker/broker-config.js';
import { encodeProperties } from '../../src/protocol/message-properties.js';
import { decodeRecords, type DecodedRecord } from '../../src/protocol/message-record.js';
import { createRequest, type HandlerTable, type RemotingCommand } from '../../src/protocol/remoting-command.js';
import { RequestCode } from '../../src/protocol/request-code.js';
import { RemotingClient } from '../../src/remoting/remoting-client.js';

export const FAST_DELAY_LEVELS = Array.from({ length: 18 }, () => '1s').join(' ');

export interface RunningBroker {
  broker: Broker;
  address: string;
  root: string;
  config: BrokerConfig;
  /** Closes the broker (keeps the files). */
  close(): Promise<void>;
}

export function tempRoot(): { root: string; remove(): void } {
  const root = mkdtempSync(join(tmpdir(), 'tidemq-broker-it-'));
  return { root, remove: () => rmSync(root, { recursive: true, force: true }) };
}

export async function startBroker(root: string, overrides: Partial<BrokerConfig> = {}): Promise<RunningBroker> {
  const config = createBrokerConfig({
    storePathRootDir: root,
    listenPort: 0,
    listenHost: '127.0.0.1',
    brokerIP1: '127.0.0.1',
    mappedFileSizeCommitLog: 16 * 1024 * 1024,
    consumeQueueEntriesPerFile: 10_000,
    maxHashSlotNum: 1000,
    maxIndexNum: 4000,
    messageDelayLevel: FAST_DELAY_LEVELS,
    pullHoldSweepIntervalMs: 50,
    scheduleTickIntervalMs: 50,
    ...overrides,
  });
  const broker = new Broker(config, { logger: silentLogger });
  const started = await broker.start();
  let closed = false;
  return {
    broker,
    address: started.brokerAddr,
    root,
    config,
    close: async () => {
      if (closed) return;
      closed = true;
      await broker.close();
    },
  };
}

export function newClient(handlers?: HandlerTable): RemotingClient {
  return new RemotingClient({ requestTimeoutMs: 10_000, ...(handlers ? { handlers } : {}) });
}

export interface SendOptions {
  tags?: string;
  keys?: string;
  properties?: Record<string, string>;
  queueId?: number;
  producerGroup?: string;
  reconsumeTimes?: number;
  maxReconsumeTimes?: number;
}

/** SEND_MESSAGE_V2 (310) the way the Java client sends it. */
export function sendV2Request(topic: string, body: Buffer | string, options: SendOptions = {}): RemotingCommand {
  const properties: Record<string, string> = { WAIT: 'true', ...(options.properties ?? {}) };
  if (options.tags) properties.TAGS = options.tags;
  if (options.keys) properties.KEYS = options.keys;
  const fields: Record<string, string> = {
    a: options.producerGroup ?? 'PG',
    b: topic,
    c: 'TBW102',
    d: '4',
    e: String(options.queueId ?? 0),
    f: '0',
    g: String(Date.now()),
    h: '0',
    i: encodeProperties(properties),
    j: String(options.reconsumeTimes ?? 0),
    k: 'false',
  };
  if (options.maxReconsumeTimes !== undefined) fields.l = String(options.maxReconsumeTimes);
  return createRequest(RequestCode.SEND_MESSAGE_V2, fields, typeof body === 'string' ? Buffer.from(body) : body);
}

export async function send(client: RemotingClient, address: string, topic: string, body: string, options: SendOptions = {}): Promise<RemotingCommand> {
  const response = await client.invoke(address, sendV2Request(topic, body, options));
  if (response.code !== 0) throw new Error(`send failed: ${response.code} ${response.remark}`);
  return response;
}

export interface PullOptions {
  queueId?: number;
  maxMsgNums?: number;
  suspendTimeoutMillis?: number;
  suspend?: boolean;
  subscription?: string;
  commitOffset?: number;
}

export function pullRequest(group: string, topic: string, queueOffset: number, options: PullOptions = {}): RemotingCommand {
  let sysFlag = 0;
  if (options.commitOffset !== undefined) sysFlag |= 1;
  if (options.suspend) sysFlag |= 2;
  if (options.subscription !== undefined) sysFlag |= 4;
  const fields: Record<string, string> = {
    consumerGroup: group,
    topic,
    queueId: String(options.queueId ?? 0),
    queueOffset: String(queueOffset),
    maxMsgNums: String(options.maxMsgNums ?? 32),
    sysFlag: String(sysFlag),
    commitOffset: String(options.commitOffset ?? 0),
    suspendTimeoutMillis: String(options.suspendTimeoutMillis ?? 0),
    subVersion: '0',
    expressionType: 'TAG',
  };
  if (options.subscription !== undefined) fields.subscription = options.subscription;
  return createRequest(RequestCode.PULL_MESSAGE, fields);
}

export function recordsOf(response: RemotingCommand): DecodedRecord[] {
  return response.body ? decodeRecords(response.body) : [];
}

export function heartbeatRequest(clientId: string, group: string, topics: string[], producerGroups: string[] = []): RemotingCommand {
  const body = {
    clientID: clientId,
    producerDataSet: producerGroups.map((groupName) => ({ groupName })),
    consumerDataSet: [{
      groupName: group,
      consumeType: 'CONSUME_PASSIVELY',
      messageModel: 'CLUSTERING',
      consumeFromWhere: 'CONSUME_FROM_LAST_OFFSET',
      unitMode: false,
      subscriptionDataSet: topics.map((topic) => ({ classFilterMode: false, topic, subString: '*', tagsSet: [], codeSet: [], subVersion: Date.now(), expressionType: 'TAG' })),
    }],
  };
  return createRequest(RequestCode.HEART_BEAT, undefined, Buffer.from(JSON.stringify(body)));
}

/**
 * Sends one request frame with a hand-written JSON header (so extFields can hold raw JSON numbers and
 * booleans, as ali-ons sends them) on a fresh socket, and returns the decoded answer header and body.
 */
export function rawJsonRequest(address: string, header: Record<string, unknown>, body: Buffer = Buffer.alloc(0)): Promise<{ header: Record<string, unknown>; body: Buffer }> {
  const [host, port] = [address.slice(0, address.lastIndexOf(':')), Number(address.slice(address.lastIndexOf(':') + 1))];
  const headerBytes = Buffer.from(JSON.stringify(header));
  const frame = Buffer.alloc(8 + headerBytes.length + body.length);
  frame.writeInt32BE(4 + headerBytes.length + body.length, 0);
  frame.writeInt32BE(headerBytes.length, 4);
  headerBytes.copy(frame, 8);
  body.copy(frame, 8 + headerBytes.length);
  return new Promise((resolve, reject) => {
    const socket = connect(port, host);
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('no answer to the raw request'));
    }, 10_000);
    socket.on('error', reject);
    socket.on('data', (chunk) => {
      chunks.push(chunk);
      const data = Buffer.concat(chunks);
      if (data.length < 4 || data.length < 4 + data.readInt32BE(0)) return;
      clearTimeout(timer);
      socket.destroy();
      const headerLength = data.readInt32BE(4) & 0xffffff;
      const total = data.readInt32BE(0);
      resolve({ header: JSON.parse(data.toString('utf8', 8, 8 + headerLength)) as Record<string, unknown>, body: data.subarray(8 + headerLength, 4 + total) });
    });
    socket.write(frame);
  });
}

export async function waitFor<T>(probe: () => Promise<T | undefined>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
