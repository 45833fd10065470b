/**
 * Small helpers shared by the compatibility and cluster tests: topic creation and route checks
 * through the remoting protocol, query/view requests, and collecting what ali-ons consumers receive.
 */
import { RequestCode } from '../../src/protocol/request-code.js';
import { decodeRecords, type DecodedRecord } from '../../src/protocol/message-record.js';
import { decodeProperties } from '../../src/protocol/message-properties.js';
import { invokeOnce } from '../support/remoting-probe.js';
import { waitFor } from '../support/tidemq-process.js';
import type { AliConsumer, AliMessage } from './ali-ons-client.js';

export interface RouteData {
  brokerDatas: Array<{ brokerName: string; cluster?: string; brokerAddrs: Record<string, string> }>;
  queueDatas: Array<{ brokerName: string; readQueueNums: number; writeQueueNums: number; perm: number }>;
}

/** UPDATE_AND_CREATE_TOPIC (17) on one broker, the way mqadmin sends it. */
export async function createTopic(brokerAddr: string, topic: string, queueCount = 4): Promise<void> {
  const response = await invokeOnce(brokerAddr, RequestCode.UPDATE_AND_CREATE_TOPIC, {
    topic,
    defaultTopic: 'TBW102',
    readQueueNums: queueCount,
    writeQueueNums: queueCount,
    perm: 6,
    topicFilterType: 'SINGLE_TAG',
    topicSysFlag: 0,
    order: false,
  });
  if (response.code !== 0) throw new Error(`UPDATE_AND_CREATE_TOPIC ${topic} on ${brokerAddr} answered ${response.code} ${response.remark ?? ''}`);
}

/**
 * Creates `topic` on one broker the way a Java producer does for an unknown topic: a SEND_MESSAGE_V2
 * with defaultTopic TBW102, which the broker answers by auto-creating the topic (autoCreateTopicEnable).
 * The message sent carries the key `warm-up`. Returns the send answer's extFields.
 */
export async function autoCreateTopicBySend(brokerAddr: string, topic: string, queueCount = 4): Promise<Record<string, string>> {
  const response = await invokeOnce(brokerAddr, RequestCode.SEND_MESSAGE_V2, {
    a: 'PG_auto_create',
    b: topic,
    c: 'TBW102',
    d: queueCount,
    e: 0,
    f: 0,
    g: Date.now(),
    h: 0,
    i: 'KEYS\u0001warm-up\u0002TAGS\u0001warm\u0002',
    j: 0,
    k: false,
  }, Buffer.from('warm-up'));
  if (response.code !== 0) throw new Error(`auto-create send to ${topic} on ${brokerAddr} answered ${response.code} ${response.remark ?? ''}`);
  return response.extFields;
}

/** GET_ROUTEINFO_BY_TOPIC (105); undefined when the name server answers anything but SUCCESS. */
export async function getRoute(namesrvAddr: string, topic: string): Promise<RouteData | undefined> {
  const response = await invokeOnce(namesrvAddr, RequestCode.GET_ROUTEINFO_BY_TOPIC, { topic });
  if (response.code !== 0) return undefined;
  return JSON.parse(response.body.toString('utf8')) as RouteData;
}

/** Waits until the name server's route for `topic` names every broker in `brokerNames` (and no other). */
export function waitForRoute(namesrvAddr: string, topic: string, brokerNames: string[], timeoutMs = 15_000): Promise<RouteData> {
  const wanted = [...brokerNames].sort().join(',');
  return waitFor(`route of ${topic} on [${wanted}]`, async () => {
    const route = await getRoute(namesrvAddr, topic);
    if (!route) return undefined;
    const names = route.queueDatas.map((queueData) => queueData.brokerName).sort().join(',');
    return names === wanted ? route : undefined;
  }, timeoutMs);
}

/** QUERY_MESSAGE (12) by key; [] when the broker answers QUERY_NOT_FOUND. */
export async function queryMessagesByKey(brokerAddr: string, topic: string, key: string): Promise<DecodedRecord[]> {
  const response = await invokeOnce(brokerAddr, RequestCode.QUERY_MESSAGE, {
    topic,
    key,
    maxNum: 32,
    beginTimestamp: 0,
    endTimestamp: Date.now() + 60_000,
  });
  if (response.code === 22) return [];
  if (response.code !== 0) throw new Error(`QUERY_MESSAGE ${topic}#${key} answered ${response.code} ${response.remark ?? ''}`);
  return decodeRecords(response.body).filter((record) => record.topic === topic && keysOf(record).includes(key));
}

/** VIEW_MESSAGE_BY_ID (33): the record at `physicalOffset` of the broker at `brokerAddr`. */
export async function viewMessage(brokerAddr: string, physicalOffset: number): Promise<DecodedRecord> {
  const response = await invokeOnce(brokerAddr, RequestCode.VIEW_MESSAGE_BY_ID, { offset: physicalOffset });
  if (response.code !== 0) throw new Error(`VIEW_MESSAGE_BY_ID ${physicalOffset} on ${brokerAddr} answered ${response.code} ${response.remark ?? ''}`);
  const records = decodeRecords(response.body);
  if (records.length !== 1) throw new Error(`VIEW_MESSAGE_BY_ID returned ${records.length} records`);
  return records[0]!;
}

/** GET_MAX_OFFSET (30): the next queue offset to be written. */
export async function getMaxOffset(brokerAddr: string, topic: string, queueId: number): Promise<number> {
  const response = await invokeOnce(brokerAddr, RequestCode.GET_MAX_OFFSET, { topic, queueId });
  if (response.code !== 0) throw new Error(`GET_MAX_OFFSET ${topic}/${queueId} answered ${response.code} ${response.remark ?? ''}`);
  return Number(response.extFields.offset);
}

export function keysOf(record: DecodedRecord): string[] {
  return (decodeProperties(record.properties).get('KEYS') ?? '').split(' ').filter((key) => key !== '');
}

export function propertiesOf(record: DecodedRecord): Map<string, string> {
  return decodeProperties(record.properties);
}

/** What one consumer received, by message key (several deliveries of one key are all kept). */
export class Received {
  readonly byKey = new Map<string, AliMessage[]>();

  add(message: AliMessage): void {
    const key = message.keys ?? '';
    const list = this.byKey.get(key) ?? [];
    list.push(message);
    this.byKey.set(key, list);
  }

  has(key: string): boolean {
    return this.byKey.has(key);
  }

  get deliveries(): number {
    let count = 0;
    for (const list of this.byKey.values()) count += list.length;
    return count;
  }
}

/** Waits until every key in `keys` appears in at least one of `sinks`. */
export function waitForKeys(what: string, keys: string[], sinks: Received[], timeoutMs = 20_000): Promise<true> {
  return waitFor(what, () => {
    const missing = keys.filter((key) => !sinks.some((sink) => sink.has(key)));
    return missing.length === 0 ? true : undefined;
  }, timeoutMs).catch((error: Error) => {
    const missing = keys.filter((key) => !sinks.some((sink) => sink.has(key)));
    throw new Error(`${error.message}; missing ${missing.length}/${keys.length}: ${missing.slice(0, 10).join(', ')}`);
  });
}

/** Queue keys of `topic` this consumer currently pulls from (after its rebalance). */
export function heldQueues(consumer: AliConsumer, topic: string): string[] {
  const keys: string[] = [];
  for (const entry of consumer.processQueueTable.values()) if (entry.messageQueue.topic === topic) keys.push(entry.messageQueue.key);
  return keys.sort();
}

/** Waits until each consumer holds exactly `perConsumer[i]` queues of `topic` and together they hold `total` distinct queues. */
export function waitForAllocation(consumers: AliConsumer[], topic: string, perConsumer: number[], total: number, timeoutMs = 20_000): Promise<true> {
  return waitFor(`queue allocation ${perConsumer.join('/')} of ${topic}`, () => {
    const held = consumers.map((consumer) => heldQueues(consumer, topic));
    if (held.some((queues, index) => queues.length !== perConsumer[index])) return undefined;
    return new Set(held.flat()).size === total ? true : undefined;
  }, timeoutMs).catch((error: Error) => {
    const held = consumers.map((consumer) => heldQueues(consumer, topic).length);
    throw new Error(`${error.message}; consumers hold ${held.join('/')} queues`);
  });
}
