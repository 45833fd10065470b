/**
 * The admin client (the parts of Java's DefaultMQAdminExt applications need): topics, groups,
 * offsets, consume stats and lag, cluster info, and message lookups by id, by key and by queue
 * offset. Name-server calls go to the name servers; topic and group changes go to every master of the
 * chosen cluster (all clusters by default), as mqadmin does with `-c`.
 *
 * MessageQueue-keyed bodies (TopicStatsTable, ConsumeStats, ResetOffsetBody) use fastjson's
 * object-key form and are read with parseFastJson.
 */
import { ResponseCode } from '../common/errors.js';
import { checkGroup as validateGroupName, checkTopic as validateTopicName } from './client-names.js';
import { parseFastJson, type FastJsonValue } from '../protocol/fastjson.js';
import { decodeOffsetMessageId } from '../protocol/message-id.js';
import { getProperty, MessageProperty } from '../protocol/message-properties.js';
import { hostAddressToString } from '../protocol/host-address.js';
import { createRequest, type RemotingCommand } from '../protocol/remoting-command.js';
import { RequestCode } from '../protocol/request-code.js';
import { decodeClusterInfo, decodeTopicList, MASTER_BROKER_ID, type ClusterInfo, type TopicRouteData } from '../protocol/route-data.js';
import { queryMaxOffset, queryMinOffset, searchOffset } from './broker-calls.js';
import { brokerError, BrokerError, ClientStateError, MQClientError } from './client-errors.js';
import { ClientInstance } from './client-instance.js';
import type { ClientOptions } from './client-options.js';
import { decodeOneMessage } from './message-codec.js';
import type { ReceivedMessage } from './message.js';
import { compareQueues, queueKey, type MessageQueue } from './message-queue.js';
import { queueMapEntries } from './consumer-wire.js';
import { pullMessages, PullStatus } from './pull-request.js';
import { buildSubscription } from './subscription.js';
import { subscribeQueues } from './topic-publish-info.js';

export type AdminOptions = ClientOptions;

export interface TopicOptions {
  readQueueNums?: number;
  writeQueueNums?: number;
  /** PermName bits: 2 write, 4 read. Default 6. */
  perm?: number;
  order?: boolean;
  /** RocketMQ 5 topic attributes, e.g. `{ 'message.type': 'FIFO' }`. */
  attributes?: Readonly<Record<string, string>>;
  /** Only the masters of this cluster (default: every cluster). */
  clusterName?: string;
  /** Only this broker. */
  brokerAddr?: string;
  signal?: AbortSignal;
}

export interface GroupConfig {
  consumeEnable?: boolean;
  consumeFromMinEnable?: boolean;
  consumeBroadcastEnable?: boolean;
  consumeMessageOrderly?: boolean;
  retryQueueNums?: number;
  retryMaxTimes?: number;
  brokerId?: number;
  whichBrokerWhenConsumeSlowly?: number;
  notifyConsumerIdsChangedEnable?: boolean;
  consumeTimeoutMinute?: number;
}

export interface QueueStats {
  queue: MessageQueue;
  minOffset: number;
  maxOffset: number;
  lastUpdateTimestamp: number;
}

export interface QueueConsumeStats {
  queue: MessageQueue;
  brokerOffset: number;
  consumerOffset: number;
  /** brokerOffset − consumerOffset. */
  lag: number;
  lastTimestamp: number;
}

export interface ConsumeStats {
  queues: QueueConsumeStats[];
  consumeTps: number;
  totalLag: number;
}

export interface ConsumerConnection {
  connections: { clientId: string; clientAddr: string; language: string; version: number }[];
  subscriptions: Record<string, unknown>;
  consumeType?: string | undefined;
  messageModel?: string | undefined;
  consumeFromWhere?: string | undefined;
}

/** One message RESEND_DLQ_MESSAGE copied from `%DLQ%group` back to its original topic. */
export interface DlqResent {
  /** The broker that held the DLQ copy and wrote the new one. */
  brokerAddr: string;
  dlqQueueOffset: number;
  /** offsetMsgId of the DLQ copy. */
  dlqMsgId: string;
  topic: string;
  queueId: number;
  queueOffset: number;
  /** offsetMsgId of the new copy. */
  msgId: string;
}

/** Which dead-lettered messages to re-send: one by id, or a run of DLQ queue offsets. */
export type DlqSelection = { msgId: string } | { queueOffset: number; maxCount?: number };

/**
 * TideMQ's own admin request (not a RocketMQ one): re-send dead-lettered messages of a group. See
 * src/broker/handlers/admin/dlq-resend.ts for the header fields and the answer.
 */
const RESEND_DLQ_MESSAGE = 10001;

interface Call {
  signal?: AbortSignal;
}

type JsonRecord = Record<string, FastJsonValue>;

function asRecord(value: FastJsonValue | undefined): JsonRecord {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof Map) ? value : {};
}

function numberOf(value: FastJsonValue | undefined, fallback = 0): number {
  const number = typeof value === 'string' ? Number(value) : value;
  return typeof number === 'number' && Number.isFinite(number) ? number : fallback;
}

/**
 * The records of a QUERY_MESSAGE answer, each with its own queue: unlike a pull answer, they come
 * from any queue of the topic, so one queue for all (decodeMessages) would misreport their queue ids.
 */
function decodeRecordsOneByOne(source: Buffer, brokerName: string, logger: ClientInstance['logger']): ReceivedMessage[] {
  const messages: ReceivedMessage[] = [];
  let position = 0;
  while (position + 8 <= source.length) {
    const size = source.readInt32BE(position);
    if (size < 8 || position + size > source.length) break;
    const message = decodeOneMessage(source.subarray(position, position + size), brokerName, logger);
    if (message === undefined) break;
    messages.push(message);
    position += size;
  }
  return messages;
}

function parseBody(response: RemotingCommand): FastJsonValue {
  if (response.body === undefined || response.body.length === 0) return {};
  return parseFastJson(response.body);
}

export class Admin {
  private readonly instance: ClientInstance;

  constructor(options: AdminOptions) {
    this.instance = new ClientInstance(options, 'admin');
  }

  get clientId(): string {
    return this.instance.clientId;
  }

  // -------------------------------------------------------------------------------------------
  // Cluster and routes

  async clusterInfo(options: Call = {}): Promise<ClusterInfo> {
    const response = await this.namesrv(createRequest(RequestCode.GET_BROKER_CLUSTER_INFO), 'cluster info', options.signal);
    return decodeClusterInfo(response.body);
  }

  /** The route of `topic`, or undefined when no name server knows it. */
  async topicRoute(topic: string, options: Call = {}): Promise<TopicRouteData | undefined> {
    return this.instance.route(validateTopicName(topic), true, options.signal);
  }

  async listTopics(options: Call = {}): Promise<string[]> {
    const response = await this.namesrv(createRequest(RequestCode.GET_ALL_TOPIC_LIST_FROM_NAMESERVER), 'topic list', options.signal);
    return decodeTopicList(response.body).topicList.sort();
  }

  async brokerRuntimeInfo(brokerAddr: string, options: Call = {}): Promise<Record<string, string>> {
    const response = await this.instance.invokeOk(brokerAddr, createRequest(RequestCode.GET_BROKER_RUNTIME_INFO), 'broker runtime info', undefined, options.signal);
    const table = asRecord(asRecord(parseBody(response)).table);
    return Object.fromEntries(Object.entries(table).map(([key, value]) => [key, String(value)]));
  }

  // -------------------------------------------------------------------------------------------
  // Topics

  /** Creates (or updates) `topic` on every master of the cluster(s). */
  async createTopic(topic: string, options: TopicOptions = {}): Promise<void> {
    validateTopicName(topic);
    const fields: Record<string, string> = {
      topic,
      defaultTopic: 'TBW102',
      readQueueNums: String(options.readQueueNums ?? 8),
      writeQueueNums: String(options.writeQueueNums ?? 8),
      perm: String(options.perm ?? 6),
      topicFilterType: 'SINGLE_TAG',
      topicSysFlag: '0',
      order: String(options.order ?? false),
    };
    if (options.attributes !== undefined && Object.keys(options.attributes).length > 0) {
      fields.attributes = Object.entries(options.attributes).map(([key, value]) => `+${key}=${value}`).join(',');
    }
    const masters = await this.masters(options);
    await Promise.all(masters.map((address) => this.instance.invokeOk(address, createRequest(RequestCode.UPDATE_AND_CREATE_TOPIC, { ...fields }), `create topic ${topic}`, undefined, options.signal)));
    this.instance.storeRoute(topic, undefined);
  }

  updateTopic(topic: string, options: TopicOptions = {}): Promise<void> {
    return this.createTopic(topic, options);
  }

  /** Deletes `topic` from the masters (DELETE_TOPIC_IN_BROKER) and the name servers (DELETE_TOPIC_IN_NAMESRV). */
  async deleteTopic(topic: string, options: Pick<TopicOptions, 'clusterName' | 'signal'> = {}): Promise<void> {
    validateTopicName(topic);
    const masters = await this.masters(options);
    await Promise.all(masters.map((address) => this.instance.invokeOk(address, createRequest(RequestCode.DELETE_TOPIC_IN_BROKER, { topic }), `delete topic ${topic}`, undefined, options.signal)));
    const fields: Record<string, string> = { topic };
    if (options.clusterName !== undefined) fields.clusterName = options.clusterName;
    await Promise.all(
      this.instance.options.namesrvAddrs.map((address) => this.instance.invokeOk(address, createRequest(RequestCode.DELETE_TOPIC_IN_NAMESRV, { ...fields }), `delete topic ${topic} in name server`, undefined, options.signal)),
    );
    this.instance.storeRoute(topic, undefined);
  }

  /** Min/max offsets of every queue of `topic`. */
  async topicStats(topic: string, options: Call = {}): Promise<QueueStats[]> {
    const route = await this.requireRoute(topic, options.signal);
    const stats: QueueStats[] = [];
    for (const address of this.routeMasters(route)) {
      const response = await this.instance.invokeOk(address, createRequest(RequestCode.GET_TOPIC_STATS_INFO, { topic }), `stats of ${topic}`, undefined, options.signal);
      for (const [queue, value] of queueMapEntries(asRecord(parseBody(response)).offsetTable)) {
        const record = asRecord(value);
        stats.push({ queue, minOffset: numberOf(record.minOffset), maxOffset: numberOf(record.maxOffset), lastUpdateTimestamp: numberOf(record.lastUpdateTimestamp) });
      }
    }
    return stats.sort((left, right) => compareQueues(left.queue, right.queue));
  }

  // -------------------------------------------------------------------------------------------
  // Groups

  async createGroup(group: string, config: GroupConfig = {}, options: Pick<TopicOptions, 'clusterName' | 'brokerAddr' | 'signal'> = {}): Promise<void> {
    validateGroupName(group);
    const body = {
      groupName: group,
      consumeEnable: config.consumeEnable ?? true,
      consumeFromMinEnable: config.consumeFromMinEnable ?? true,
      consumeBroadcastEnable: config.consumeBroadcastEnable ?? true,
      consumeMessageOrderly: config.consumeMessageOrderly ?? false,
      retryQueueNums: config.retryQueueNums ?? 1,
      retryMaxTimes: config.retryMaxTimes ?? 16,
      brokerId: config.brokerId ?? MASTER_BROKER_ID,
      whichBrokerWhenConsumeSlowly: config.whichBrokerWhenConsumeSlowly ?? 1,
      notifyConsumerIdsChangedEnable: config.notifyConsumerIdsChangedEnable ?? true,
      consumeTimeoutMinute: config.consumeTimeoutMinute ?? 15,
      groupSysFlag: 0,
    };
    const bytes = Buffer.from(JSON.stringify(body), 'utf8');
    const masters = await this.masters(options);
    await Promise.all(masters.map((address) => this.instance.invokeOk(address, createRequest(RequestCode.UPDATE_AND_CREATE_SUBSCRIPTIONGROUP, undefined, bytes), `create group ${group}`, undefined, options.signal)));
  }

  updateGroup(group: string, config: GroupConfig = {}, options: Pick<TopicOptions, 'clusterName' | 'brokerAddr' | 'signal'> = {}): Promise<void> {
    return this.createGroup(group, config, options);
  }

  async deleteGroup(group: string, options: Pick<TopicOptions, 'clusterName' | 'brokerAddr' | 'signal'> & { cleanOffset?: boolean } = {}): Promise<void> {
    validateGroupName(group);
    const masters = await this.masters(options);
    const fields = { groupName: group, cleanOffset: String(options.cleanOffset ?? false) };
    await Promise.all(masters.map((address) => this.instance.invokeOk(address, createRequest(RequestCode.DELETE_SUBSCRIPTIONGROUP, { ...fields }), `delete group ${group}`, undefined, options.signal)));
  }

  /** Group name → config, merged over the masters. */
  async listGroups(options: Pick<TopicOptions, 'clusterName' | 'brokerAddr' | 'signal'> = {}): Promise<Map<string, Record<string, unknown>>> {
    const groups = new Map<string, Record<string, unknown>>();
    for (const address of await this.masters(options)) {
      const response = await this.instance.invokeOk(address, createRequest(RequestCode.GET_ALL_SUBSCRIPTIONGROUP_CONFIG), 'group list', undefined, options.signal);
      for (const [name, config] of Object.entries(asRecord(asRecord(parseBody(response)).subscriptionGroupTable))) {
        if (!groups.has(name)) groups.set(name, asRecord(config) as Record<string, unknown>);
      }
    }
    return groups;
  }

  async consumerConnections(group: string, options: Call = {}): Promise<ConsumerConnection> {
    const what = `connections of ${group}`;
    let lastError: unknown;
    for (const address of await this.masters({})) {
      const response = await this.instance.invoke(address, createRequest(RequestCode.GET_CONSUMER_CONNECTION_LIST, { consumerGroup: group }), what, undefined, options.signal);
      if (response.code !== ResponseCode.SUCCESS) {
        lastError = brokerError(response.code, response.remark, address, what);
        continue;
      }
      const body = asRecord(parseBody(response));
      const connectionSet = Array.isArray(body.connectionSet) ? body.connectionSet : [];
      return {
        connections: connectionSet.map((item) => {
          const record = asRecord(item);
          return { clientId: String(record.clientId ?? ''), clientAddr: String(record.clientAddr ?? ''), language: String(record.language ?? ''), version: numberOf(record.version) };
        }),
        subscriptions: asRecord(body.subscriptionTable) as Record<string, unknown>,
        consumeType: typeof body.consumeType === 'string' ? body.consumeType : undefined,
        messageModel: typeof body.messageModel === 'string' ? body.messageModel : undefined,
        consumeFromWhere: typeof body.consumeFromWhere === 'string' ? body.consumeFromWhere : undefined,
      };
    }
    throw lastError ?? new ClientStateError('BROKER_NOT_FOUND', 'no broker to ask');
  }

  // -------------------------------------------------------------------------------------------
  // Offsets and lag

  /** The committed offset of `group` on `queue`; −1 when none is stored. */
  async consumerOffset(group: string, queue: MessageQueue, options: Call = {}): Promise<number> {
    const address = await this.brokerAddress(queue, options.signal);
    const what = `offset of ${group} on ${queue.topic}#${queue.queueId}`;
    const request = createRequest(RequestCode.QUERY_CONSUMER_OFFSET, { consumerGroup: group, topic: queue.topic, queueId: String(queue.queueId), setZeroIfNotFound: 'false' });
    const response = await this.instance.invoke(address, request, what, undefined, options.signal);
    if (response.code === ResponseCode.QUERY_NOT_FOUND) return -1;
    if (response.code !== ResponseCode.SUCCESS) throw brokerError(response.code, response.remark, address, what);
    return numberOf(response.extFields?.offset, -1);
  }

  /** Commits `offset` for `group` on `queue` directly (consumers online may overwrite it). */
  async updateConsumerOffset(group: string, queue: MessageQueue, offset: number, options: Call = {}): Promise<void> {
    const address = await this.brokerAddress(queue, options.signal);
    const request = createRequest(RequestCode.UPDATE_CONSUMER_OFFSET, { consumerGroup: group, topic: queue.topic, queueId: String(queue.queueId), commitOffset: String(offset) });
    await this.instance.invokeOk(address, request, `commit offset of ${group}`, undefined, options.signal);
  }

  /**
   * Moves `group`'s offsets on `topic` to the first message stored at or after `timestampMs`
   * (INVOKE_BROKER_TO_RESET_OFFSET: online consumers are told to follow). A broker that does not
   * support it gets the offsets committed directly. Returns the new offset per queue.
   */
  async resetOffsetByTimestamp(group: string, topic: string, timestampMs: number, options: Call & { force?: boolean } = {}): Promise<Map<MessageQueue, number>> {
    const route = await this.requireRoute(topic, options.signal);
    const result = new Map<MessageQueue, number>();
    for (const address of this.routeMasters(route)) {
      const what = `reset offsets of ${group} on ${topic}`;
      const request = createRequest(RequestCode.INVOKE_BROKER_TO_RESET_OFFSET, { topic, group, timestamp: String(Math.floor(timestampMs)), isForce: String(options.force ?? true) });
      const response = await this.instance.invoke(address, request, what, undefined, options.signal);
      if (response.code === ResponseCode.REQUEST_CODE_NOT_SUPPORTED) {
        const brokerName = this.instance.brokerNameOf(address);
        for (const queue of subscribeQueues(topic, route).filter((item) => item.brokerName === brokerName)) {
          const offset = await searchOffset(this.instance, address, queue, timestampMs, options.signal);
          await this.updateConsumerOffset(group, queue, offset, options);
          result.set(queue, offset);
        }
        continue;
      }
      if (response.code !== ResponseCode.SUCCESS) throw brokerError(response.code, response.remark, address, what);
      for (const [queue, value] of queueMapEntries(asRecord(parseBody(response)).offsetTable)) result.set(queue, numberOf(value));
    }
    return result;
  }

  /** Per-queue broker and consumer offsets of `group` (on `topic` only, when given), and the lag. */
  async consumeStats(group: string, topic?: string, options: Call = {}): Promise<ConsumeStats> {
    const addresses = topic === undefined ? await this.masters({}) : this.routeMasters(await this.requireRoute(topic, options.signal));
    const queues = new Map<string, QueueConsumeStats>();
    let consumeTps = 0;
    for (const address of addresses) {
      const fields: Record<string, string> = { consumerGroup: group };
      if (topic !== undefined) fields.topic = topic;
      const what = `consume stats of ${group}`;
      const response = await this.instance.invoke(address, createRequest(RequestCode.GET_CONSUME_STATS, fields), what, undefined, options.signal);
      if (response.code !== ResponseCode.SUCCESS) throw brokerError(response.code, response.remark, address, what);
      const body = asRecord(parseBody(response));
      consumeTps += numberOf(body.consumeTps);
      for (const [queue, value] of queueMapEntries(body.offsetTable)) {
        const record = asRecord(value);
        const brokerOffset = numberOf(record.brokerOffset);
        const consumerOffset = numberOf(record.consumerOffset);
        queues.set(queueKey(queue), { queue, brokerOffset, consumerOffset, lag: Math.max(0, brokerOffset - Math.max(0, consumerOffset)), lastTimestamp: numberOf(record.lastTimestamp) });
      }
    }
    const list = [...queues.values()].sort((left, right) => compareQueues(left.queue, right.queue));
    return { queues: list, consumeTps, totalLag: list.reduce((sum, item) => sum + item.lag, 0) };
  }

  async maxOffset(queue: MessageQueue, options: Call = {}): Promise<number> {
    return queryMaxOffset(this.instance, await this.brokerAddress(queue, options.signal), queue, options.signal);
  }

  async minOffset(queue: MessageQueue, options: Call = {}): Promise<number> {
    return queryMinOffset(this.instance, await this.brokerAddress(queue, options.signal), queue, options.signal);
  }

  async searchOffset(queue: MessageQueue, timestampMs: number, options: Call = {}): Promise<number> {
    return searchOffset(this.instance, await this.brokerAddress(queue, options.signal), queue, timestampMs, options.signal);
  }

  // -------------------------------------------------------------------------------------------
  // Message lookups

  /** A message by its offsetMsgId, asked of the broker whose address the id holds. */
  async viewMessage(offsetMsgId: string, options: Call = {}): Promise<ReceivedMessage> {
    const decoded = decodeOffsetMessageId(offsetMsgId);
    if (decoded === null) throw new ClientStateError('ILLEGAL_ARGUMENT', `${offsetMsgId} is not an offset message id`);
    const address = hostAddressToString(decoded.host);
    const response = await this.instance.invokeOk(address, createRequest(RequestCode.VIEW_MESSAGE_BY_ID, { offset: String(decoded.physicalOffset) }), `view message ${offsetMsgId}`, undefined, options.signal);
    const brokerName = this.instance.brokerNameOf(address) ?? (await this.brokerNameAt(address, options.signal));
    const message = response.body === undefined ? undefined : decodeOneMessage(response.body, brokerName, this.instance.logger);
    if (message === undefined) throw brokerError(ResponseCode.SYSTEM_ERROR, 'the answer holds no message', address, `view message ${offsetMsgId}`);
    return message;
  }

  /** Messages of `topic` whose KEYS contain `key` (QUERY_MESSAGE at every broker of the topic). */
  async queryMessagesByKey(topic: string, key: string, options: Call & { maxNum?: number; beginTimestampMs?: number; endTimestampMs?: number } = {}): Promise<ReceivedMessage[]> {
    const found = await this.queryMessages(topic, key, false, options);
    return found.filter((message) => message.keys.includes(key));
  }

  /**
   * A message by msgId: an offsetMsgId is looked up directly; otherwise the id is taken as a UNIQ_KEY
   * and queried by key. Undefined when not found.
   */
  async queryMessageById(topic: string, msgId: string, options: Call = {}): Promise<ReceivedMessage | undefined> {
    if (decodeOffsetMessageId(msgId) !== null) {
      try {
        const message = await this.viewMessage(msgId, options);
        if (message.topic === topic || message.offsetMsgId === msgId) return message;
      } catch (error) {
        if (!(error instanceof MQClientError) || error.code === 'ABORTED') throw error;
        // Not an offset id after all (a UNIQ_KEY also has 32 hex digits): try the key index.
      }
    }
    const found = await this.queryMessages(topic, msgId, true, { ...options, maxNum: 32 });
    return found.find((message) => getProperty(message.rawProperties, MessageProperty.UNIQ_KEY) === msgId);
  }

  /** The message at `offset` of `queue` (a one-message pull), or undefined when there is none. */
  async messageAtOffset(queue: MessageQueue, offset: number, options: Call = {}): Promise<ReceivedMessage | undefined> {
    const address = await this.brokerAddress(queue, options.signal);
    const result = await pullMessages(this.instance, address, {
      group: 'TOOLS_CONSUMER',
      queue,
      offset,
      maxMessages: 1,
      subscription: buildSubscription(queue.topic, '*'),
      commitOffset: 0,
      suspendMs: 0,
      timeoutMs: this.instance.options.requestTimeoutMs,
      signal: options.signal,
    });
    if (result.status !== PullStatus.FOUND) return undefined;
    return result.messages.find((message) => message.queueOffset === offset);
  }

  // -------------------------------------------------------------------------------------------
  // Dead-letter queue

  /**
   * Copies dead-lettered messages of `group` back to their original topics (TideMQ's
   * RESEND_DLQ_MESSAGE, 10001; other brokers answer REQUEST_CODE_NOT_SUPPORTED). Asks the masters
   * holding `%DLQ%group` (or only `brokerAddr`); by msgId, the brokers that do not hold the message are
   * skipped. A queue offset only means something on one broker, so with several candidates
   * `brokerAddr` is required. Rejects with QUERY_NOT_FOUND (22) or TOPIC_NOT_EXIST (17) when no broker
   * had anything to re-send.
   */
  async resendDlqMessages(group: string, selection: DlqSelection, options: Call & { brokerAddr?: string } = {}): Promise<DlqResent[]> {
    validateGroupName(group);
    const fields: Record<string, string> = { consumerGroup: group };
    if ('msgId' in selection) fields.msgId = selection.msgId;
    else {
      if (!Number.isSafeInteger(selection.queueOffset) || selection.queueOffset < 0) throw new ClientStateError('ILLEGAL_ARGUMENT', `queue offset ${selection.queueOffset} is not an offset`);
      fields.queueOffset = String(selection.queueOffset);
      fields.maxCount = String(selection.maxCount ?? 1);
    }
    let addresses: string[];
    if (options.brokerAddr !== undefined) addresses = [options.brokerAddr];
    else {
      // The DLQ topic reaches the name servers only with the broker's next registration: until then, ask every master.
      const route = await this.instance.route(`%DLQ%${group}`, true, options.signal);
      addresses = route === undefined ? await this.masters({}) : this.routeMasters(route);
    }
    if (!('msgId' in selection) && addresses.length > 1) {
      throw new ClientStateError('ILLEGAL_ARGUMENT', `the dead-letter queue of ${group} may be on ${addresses.length} brokers (${addresses.join(', ')}); name one with brokerAddr`);
    }
    const what = `re-send of DLQ messages of ${group}`;
    const resent: DlqResent[] = [];
    let notFound: BrokerError | undefined;
    for (const address of addresses) {
      const response = await this.instance.invoke(address, createRequest(RESEND_DLQ_MESSAGE, { ...fields }), what, undefined, options.signal);
      if (response.code === ResponseCode.QUERY_NOT_FOUND || response.code === ResponseCode.TOPIC_NOT_EXIST) {
        // By msgId, the other brokers may simply not hold the message (or have no DLQ of the group).
        notFound ??= brokerError(response.code, response.remark, address, what);
        continue;
      }
      if (response.code !== ResponseCode.SUCCESS) throw brokerError(response.code, response.remark, address, what);
      const list = asRecord(parseBody(response)).resent;
      for (const item of Array.isArray(list) ? list : []) {
        const record = asRecord(item);
        resent.push({
          brokerAddr: address,
          dlqQueueOffset: numberOf(record.dlqQueueOffset),
          dlqMsgId: String(record.dlqMsgId ?? ''),
          topic: String(record.topic ?? ''),
          queueId: numberOf(record.queueId),
          queueOffset: numberOf(record.queueOffset),
          msgId: String(record.msgId ?? ''),
        });
      }
    }
    if (resent.length === 0 && notFound !== undefined) throw notFound;
    return resent;
  }

  async close(): Promise<void> {
    await this.instance.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  // -------------------------------------------------------------------------------------------

  private async queryMessages(topic: string, key: string, uniqueKey: boolean, options: Call & { maxNum?: number; beginTimestampMs?: number; endTimestampMs?: number }): Promise<ReceivedMessage[]> {
    const route = await this.requireRoute(topic, options.signal);
    const found: ReceivedMessage[] = [];
    const seen = new Set<string>();
    for (const brokerData of route.brokerDatas) {
      const address = brokerData.brokerAddrs[String(MASTER_BROKER_ID)] ?? Object.values(brokerData.brokerAddrs)[0];
      if (address === undefined) continue;
      const fields: Record<string, string> = {
        topic,
        key,
        maxNum: String(options.maxNum ?? 64),
        beginTimestamp: String(options.beginTimestampMs ?? 0),
        endTimestamp: String(options.endTimestampMs ?? Number.MAX_SAFE_INTEGER),
      };
      if (uniqueKey) fields._UNIQUE_KEY_QUERY = 'true';
      const what = `query ${topic} by key ${key}`;
      const response = await this.instance.invoke(address, createRequest(RequestCode.QUERY_MESSAGE, fields), what, undefined, options.signal);
      if (response.code === ResponseCode.QUERY_NOT_FOUND) continue;
      if (response.code !== ResponseCode.SUCCESS) throw brokerError(response.code, response.remark, address, what);
      if (response.body === undefined) continue;
      for (const message of decodeRecordsOneByOne(response.body, brokerData.brokerName, this.instance.logger)) {
        // The key index hashes keys, so other topics and colliding keys come back too.
        if (message.topic !== topic || seen.has(message.offsetMsgId)) continue;
        seen.add(message.offsetMsgId);
        found.push(message);
      }
    }
    return found;
  }

  /** The name of the broker at `address` from the cluster info ('' when no name server lists it). */
  private async brokerNameAt(address: string, signal?: AbortSignal): Promise<string> {
    const info = await this.clusterInfo({ signal }).catch(() => undefined);
    for (const [name, data] of Object.entries(info?.brokerAddrTable ?? {})) {
      if (Object.values(data.brokerAddrs).includes(address)) return name;
    }
    return '';
  }

  private async namesrv(request: RemotingCommand, what: string, signal?: AbortSignal): Promise<RemotingCommand> {
    const response = await this.instance.invokeNamesrv(request, what, signal);
    if (response.code !== ResponseCode.SUCCESS) throw brokerError(response.code, response.remark, 'name server', what);
    return response;
  }

  private async masters(options: { clusterName?: string; brokerAddr?: string }): Promise<string[]> {
    if (options.brokerAddr !== undefined) return [options.brokerAddr];
    const info = await this.clusterInfo();
    const names = options.clusterName !== undefined ? (info.clusterAddrTable[options.clusterName] ?? []) : Object.values(info.clusterAddrTable).flat();
    if (options.clusterName !== undefined && names.length === 0) throw new ClientStateError('BROKER_NOT_FOUND', `cluster ${options.clusterName} has no broker`);
    const addresses: string[] = [];
    for (const name of new Set(names)) {
      const address = info.brokerAddrTable[name]?.brokerAddrs[String(MASTER_BROKER_ID)];
      if (address !== undefined) addresses.push(address);
    }
    if (addresses.length === 0) throw new ClientStateError('BROKER_NOT_FOUND', 'no master broker is registered with the name servers');
    return addresses;
  }

  private async requireRoute(topic: string, signal?: AbortSignal): Promise<TopicRouteData> {
    const route = await this.instance.route(validateTopicName(topic), true, signal);
    if (route === undefined) throw new BrokerError('TOPIC_NOT_EXIST', `no route for topic ${topic}`, ResponseCode.TOPIC_NOT_EXIST, 'name server');
    return route;
  }

  private routeMasters(route: TopicRouteData): string[] {
    return route.brokerDatas.map((data) => data.brokerAddrs[String(MASTER_BROKER_ID)]).filter((address): address is string => address !== undefined);
  }

  private async brokerAddress(queue: MessageQueue, signal?: AbortSignal): Promise<string> {
    let address = this.instance.readAddress(queue.brokerName);
    if (address === undefined) {
      await this.instance.route(queue.topic, true, signal);
      address = this.instance.readAddress(queue.brokerName);
    }
    if (address === undefined) throw new ClientStateError('BROKER_NOT_FOUND', `no address for broker ${queue.brokerName}`);
    return address;
  }
}
