/**
 * Helpers for POP tests: a real Broker on 127.0.0.1 with a temp store, its PopService (popServiceOf)
 * and a RemotingServer whose table is the broker's own table with the POP handlers added (until
 * broker.ts registers them itself, POP is served on this second port), and builders for the POP
 * requests a Java client sends.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../common/logger.js';
import { encodeProperties, getProperty, MessageProperty } from '../../protocol/message-properties.js';
import { decodeRecords, type DecodedRecord } from '../../protocol/message-record.js';
import { createRequest, type RemotingCommand } from '../../protocol/remoting-command.js';
import { RequestCode } from '../../protocol/request-code.js';
import { createBrokerConfig, type BrokerConfig } from '../broker-config.js';
import type { BrokerDeps } from '../broker-deps.js';
import { Broker } from '../broker.js';
import type { PopService, PopServiceOptions } from './pop-service.js';
import { popServiceOf } from './pop-registry.js';
import { retryFlagOfTopic } from './receipt-handle.js';

export interface PopBroker {
  broker: Broker;
  deps: BrokerDeps;
  pop: PopService;
  /** `127.0.0.1:port` of the server with the POP handlers. */
  address: string;
  root: string;
  close(): Promise<void>;
}

export function tempPopRoot(): { root: string; remove(): void } {
  const root = mkdtempSync(join(tmpdir(), 'tidemq-pop-'));
  return { root, remove: () => rmSync(root, { recursive: true, force: true }) };
}

export async function startPopBroker(root: string, overrides: Partial<BrokerConfig> = {}, popOptions: PopServiceOptions = {}): Promise<PopBroker> {
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
    ...overrides,
  });
  const broker = new Broker(config, { logger: silentLogger });
  const started = await broker.start();
  const deps = broker.brokerDeps;
  // broker.ts builds the broker's one PopService and serves POP on its own port, so these tests go
  // through the real wiring; `popOptions` apply only when the service was not built yet.
  const pop = popServiceOf(deps, { tickIntervalMs: 50, pollRecheckIntervalMs: 100, ...popOptions });
  let closed = false;
  return {
    broker,
    deps,
    pop,
    address: started.brokerAddr,
    root,
    close: async () => {
      if (closed) return;
      closed = true;
      await broker.close();
    },
  };
}

export function sendRequest(topic: string, body: string, options: { tags?: string; queueId?: number; properties?: Record<string, string> } = {}): RemotingCommand {
  const properties: Record<string, string> = { WAIT: 'true', ...(options.properties ?? {}) };
  if (options.tags) properties.TAGS = options.tags;
  return createRequest(RequestCode.SEND_MESSAGE_V2, {
    a: 'PG', b: topic, c: 'TBW102', d: '4', e: String(options.queueId ?? 0), f: '0', g: String(Date.now()), h: '0',
    i: encodeProperties(properties), j: '0', k: 'false',
  }, Buffer.from(body));
}

export interface PopRequestOptions {
  queueId?: number;
  maxMsgNums?: number;
  invisibleTimeMs?: number;
  pollTimeMs?: number;
  initMode?: 0 | 1;
  order?: boolean;
  exp?: string;
  attemptId?: string;
}

/** POP_MESSAGE as the Java client sends it. */
export function popRequest(group: string, topic: string, options: PopRequestOptions = {}): RemotingCommand {
  const fields: Record<string, string> = {
    consumerGroup: group,
    topic,
    queueId: String(options.queueId ?? -1),
    maxMsgNums: String(options.maxMsgNums ?? 32),
    invisibleTime: String(options.invisibleTimeMs ?? 1000),
    pollTime: String(options.pollTimeMs ?? 0),
    bornTime: String(Date.now()),
    initMode: String(options.initMode ?? 0),
    expType: 'TAG',
    exp: options.exp ?? '*',
    order: String(options.order ?? false),
  };
  if (options.attemptId !== undefined) fields.attemptId = options.attemptId;
  return createRequest(RequestCode.POP_MESSAGE, fields);
}

/** ACK_MESSAGE: the topic is the one the message sits in (the retry topic for a re-delivery). */
export function ackRequest(group: string, topic: string, queueId: number, queueOffset: number, extraInfo: string): RemotingCommand {
  return createRequest(RequestCode.ACK_MESSAGE, { consumerGroup: group, topic, queueId: String(queueId), extraInfo, offset: String(queueOffset) });
}

export function changeInvisibleTimeRequest(group: string, topic: string, queueId: number, queueOffset: number, extraInfo: string, invisibleTimeMs: number): RemotingCommand {
  return createRequest(RequestCode.CHANGE_MESSAGE_INVISIBLETIME, {
    consumerGroup: group, topic, queueId: String(queueId), extraInfo, offset: String(queueOffset), invisibleTime: String(invisibleTimeMs),
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export interface ClientMessage {
  record: DecodedRecord;
  /** The receipt handle a Java client keeps in POP_CK. */
  extraInfo: string;
  /** The topic a Java client acks with (the pop retry topic for a re-delivery). */
  ackTopic: string;
  /** reconsumeTimes as a Java client sees it (orderCountInfo for FIFO pops). */
  reconsumeTimes: number;
}

function parseInfo(text: string | undefined): Map<string, string> {
  const map = new Map<string, string>();
  if (!text) return map;
  for (const part of text.split(';')) {
    const fields = part.split(' ');
    if (fields.length !== 3) throw new Error(`malformed pop answer info ${JSON.stringify(part)}`);
    const key = `${fields[0]}@${fields[1]}`;
    if (map.has(key)) throw new Error(`duplicate pop answer info key ${key}`);
    map.set(key, fields[2]!);
  }
  return map;
}

/**
 * What a Java remoting client makes of a POP_MESSAGE answer (MQClientAPIImpl.processPopResponse):
 * each message's extraInfo from startOffsetInfo/msgOffsetInfo (or the POP_CK the broker set), its
 * reconsumeTimes (from orderCountInfo for FIFO pops) and the topic it acks with.
 */
export function clientMessages(response: RemotingCommand, group: string, topic: string, order = false): ClientMessage[] {
  const records = response.body ? decodeRecords(response.body) : [];
  const fields = response.extFields ?? {};
  const startOffsets = parseInfo(fields.startOffsetInfo);
  const messageOffsets = parseInfo(fields.msgOffsetInfo);
  const orderCounts = parseInfo(fields.orderCountInfo);
  const sorted = new Map<string, number[]>();
  const keyOf = (record: DecodedRecord): string => {
    const popCk = getProperty(record.properties, MessageProperty.POP_CK);
    const flag = popCk !== undefined ? popCk.split(' ')[4]! : retryFlagOfTopic(record.topic);
    return `${flag}@${record.queueId}`;
  };
  for (const record of records) {
    const key = keyOf(record);
    const list = sorted.get(key) ?? [];
    list.push(record.queueOffset);
    sorted.set(key, list);
  }
  return records.map((record) => {
    const popCk = getProperty(record.properties, MessageProperty.POP_CK);
    let extraInfo: string;
    let reconsumeTimes = record.reconsumeTimes;
    if (popCk !== undefined) {
      extraInfo = popCk;
    } else {
      const key = keyOf(record);
      const index = sorted.get(key)!.indexOf(record.queueOffset);
      const offsets = messageOffsets.get(key)!.split(',').map(Number);
      const flag = retryFlagOfTopic(record.topic);
      extraInfo = [startOffsets.get(key), fields.popTime, fields.invisibleTime, fields.reviveQid, flag, 'broker-a', record.queueId, offsets[index]].join(' ');
      if (order) {
        const count = orderCounts.get(`${flag}@qo${record.queueId}%${record.queueOffset}`) ?? orderCounts.get(key);
        if (count !== undefined && Number(count) > 0) reconsumeTimes = Number(count);
      }
    }
    const flag = extraInfo.split(' ')[4];
    const ackTopic = flag === '1' ? `%RETRY%${group}_${topic}` : topic;
    return { record, extraInfo, ackTopic, reconsumeTimes };
  });
}
