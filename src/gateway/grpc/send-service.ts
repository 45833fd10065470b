/**
 * SendMessage. The server picks the queue, as the RocketMQ proxy does (the Node client only ever names
 * queue 0): a single message with a message group goes to `consistentHash(group.hashCode(), queues)`,
 * anything else to a random writable queue. Checks follow the proxy: one topic per request, topic
 * exists (or is auto-created from TBW102 like a remoting send) and is writable, each message valid
 * (inbound-message.ts), and its type accepted by the topic (`message.type`) — otherwise
 * MESSAGE_PROPERTY_CONFLICT_WITH_TYPE.
 *
 * Normal, FIFO and delayed messages are appended through the broker's MessageWriter, with the
 * properties the broker adds to every message (MSG_REGION, TRACE_ON, CLUSTER); under SYNC_FLUSH the
 * answer waits for the disk and a timeout is answered MASTER_PERSISTENCE_TIMEOUT, never OK.
 * Transactional messages go through the broker's own send handler, which owns half messages; a broker
 * without END_TRANSACTION cannot finish a transaction, so they are refused with NOT_IMPLEMENTED before
 * anything is stored.
 */
import { randomInt } from 'node:crypto';
import { ResponseCode } from '../../common/errors.js';
import { parseHostPort, type HostAddress } from '../../protocol/host-address.js';
import { decodeOffsetMessageId } from '../../protocol/message-id.js';
import { encodeProperties, MessageProperty } from '../../protocol/message-properties.js';
import { SysFlag } from '../../protocol/message-record.js';
import { isWriteable, type TopicConfig } from '../../protocol/route-data.js';
import { RequestCode } from '../../protocol/request-code.js';
import type { AppendResult } from '../../store/types.js';
import { SystemTopic, isDlqTopic, isRetryTopic } from '../../broker/topic-names.js';
import { recallHandleFor } from '../../broker/timer/recall-handle.js';
import { GrpcClientChannel } from './client-channel.js';
import { Code, codeOfResponse, OK_STATUS, status, StatusError } from './code.js';
import { queueOfMessageGroup } from './consistent-hash.js';
import type { GatewayContext } from './gateway-context.js';
import { convertInboundMessage, type InboundMessage } from './inbound-message.js';
import { MessageType, type SendMessageRequestPb, type StatusPb } from './proto-types.js';
import { messageTypeOfProperties, topicMessageTypeOf, TopicMessageType } from './reserved-properties.js';
import type { CallContext } from './request-context.js';
import { encodeTransactionId } from './transaction-id.js';
import { validateTopic } from './validators.js';

/** Queues a topic gets when a gRPC send auto-creates it (the proxy's defaultTopicQueueNums). */
const AUTO_CREATE_QUEUE_NUMS = 4;
/** Most messages in one SendMessage request. */
const MAX_MESSAGES_PER_REQUEST = 1024;

export interface SendResultEntryPb {
  status: StatusPb;
  message_id: string;
  transaction_id: string;
  offset: number;
  recall_handle: string;
}

export interface SendMessageResponsePb {
  status: StatusPb;
  entries: SendResultEntryPb[];
}

/** The response status: the entries' common code, or MULTIPLE_RESULTS when they differ. */
export function combinedStatus(statuses: readonly StatusPb[]): StatusPb {
  if (statuses.length === 0) return status(Code.INTERNAL_SERVER_ERROR, 'no result');
  const first = statuses[0]!;
  return statuses.every((entry) => entry.code === first.code) ? first : status(Code.MULTIPLE_RESULTS);
}

function bornHostOf(peer: string): HostAddress {
  try {
    return parseHostPort(peer);
  } catch {
    return { ip: Buffer.from([127, 0, 0, 1]), port: 0 };
  }
}

function writableTopic(context: GatewayContext, topic: string): TopicConfig {
  const { topicConfigManager, config } = context.deps;
  if (!isWriteable(config.brokerPermission)) throw new StatusError(Code.FORBIDDEN, `the broker[${config.brokerName}] sending message is forbidden`);
  const topicConfig = topicConfigManager.get(topic)
    ?? topicConfigManager.createTopicInSendMessageMethod(topic, SystemTopic.AUTO_CREATE, AUTO_CREATE_QUEUE_NUMS, 0);
  if (!topicConfig) throw new StatusError(Code.TOPIC_NOT_FOUND, `topic ${topic} does not exist`);
  if (!isWriteable(topicConfig.perm) || topicConfig.writeQueueNums <= 0) throw new StatusError(Code.FORBIDDEN, `the topic[${topic}] sending message is forbidden`);
  return topicConfig;
}

function checkMessageType(topicConfig: TopicConfig, message: InboundMessage): void {
  if (isRetryTopic(topicConfig.topicName) || isDlqTopic(topicConfig.topicName)) return;
  const expected = topicMessageTypeOf(topicConfig.attributes);
  const actual = messageTypeOfProperties(message.properties);
  if (actual === TopicMessageType.UNSPECIFIED || (actual !== expected && expected !== TopicMessageType.MIXED)) {
    throw new StatusError(Code.MESSAGE_PROPERTY_CONFLICT_WITH_TYPE, `TopicMessageType validate failed, the expected type is ${expected}, but actual type is ${actual}`);
  }
}

function pickQueue(topicConfig: TopicConfig, messages: readonly InboundMessage[]): number {
  const group = messages.length === 1 ? messages[0]!.messageGroup : undefined;
  if (group !== undefined) return queueOfMessageGroup(group, topicConfig.writeQueueNums);
  return randomInt(topicConfig.writeQueueNums);
}

function addBrokerProperties(context: GatewayContext, message: InboundMessage): void {
  const { config } = context.deps;
  message.properties.set(MessageProperty.MSG_REGION, config.regionId);
  message.properties.set(MessageProperty.TRACE_ON, String(config.traceOn));
  message.properties.set(MessageProperty.CLUSTER, config.brokerClusterName);
}

async function appendMessages(context: GatewayContext, topicConfig: TopicConfig, messages: InboundMessage[], queueId: number, bornHost: HostAddress): Promise<SendMessageResponsePb> {
  const { writer, store, config } = context.deps;
  const multiTags = topicConfig.topicFilterType === 'MULTI_TAG' ? SysFlag.MULTI_TAGS : 0;
  const results: AppendResult[] = [];
  const recallHandles: string[] = [];
  // No await between the appends: the messages of one request get consecutive queue offsets.
  for (const message of messages) {
    const written = writer.write({
      topic: topicConfig.topicName,
      queueId,
      flag: 0,
      sysFlag: message.sysFlag | multiTags,
      bornTimestamp: message.bornTimestamp,
      bornHost,
      reconsumeTimes: message.reconsumeTimes,
      preparedTransactionOffset: 0,
      body: message.body,
      properties: message.properties,
    });
    results.push(written.result);
    // A message parked by the broker's timer can be recalled before it is due (RocketMQ 5.3).
    const timer = written.timer;
    recallHandles.push(timer?.uniqueKey === undefined ? '' : recallHandleFor(timer.realTopic, config.brokerName, timer.deliverMs, timer.uniqueKey));
  }
  let entryStatus = OK_STATUS;
  // ASYNC_FLUSH: resolves once the bytes are written to the kernel (survives a process crash);
  // SYNC_FLUSH: after fdatasync.
  const flush = await store.waitDurable(results[results.length - 1]!.endOffset);
  if (flush !== 'PUT_OK') entryStatus = status(Code.MASTER_PERSISTENCE_TIMEOUT, 'send message failed, sendStatus=FLUSH_DISK_TIMEOUT');
  const entries = messages.map((message, index) => ({
    status: entryStatus,
    message_id: entryStatus.code === Code.OK ? message.messageId : '',
    transaction_id: '',
    offset: entryStatus.code === Code.OK ? results[index]!.queueOffset : 0,
    recall_handle: entryStatus.code === Code.OK ? recallHandles[index]! : '',
  }));
  return { status: combinedStatus(entries.map((entry) => entry.status)), entries };
}

async function sendTransactional(context: GatewayContext, call: CallContext, topicConfig: TopicConfig, message: InboundMessage, queueId: number): Promise<SendResultEntryPb> {
  const channel = (call.clientId !== undefined ? context.channels.get(call.clientId) : undefined)
    ?? new GrpcClientChannel(0, call.clientId ?? '', call.peer, '', () => false);
  const extFields: Record<string, string> = {
    producerGroup: topicConfig.topicName,
    topic: topicConfig.topicName,
    defaultTopic: SystemTopic.AUTO_CREATE,
    defaultTopicQueueNums: String(AUTO_CREATE_QUEUE_NUMS),
    queueId: String(queueId),
    sysFlag: String(message.sysFlag | SysFlag.TRANSACTION_PREPARED),
    bornTimestamp: String(message.bornTimestamp),
    flag: '0',
    properties: encodeProperties(message.properties),
    reconsumeTimes: String(message.reconsumeTimes),
    unitMode: 'false',
    batch: 'false',
  };
  const response = await context.broker.invoke(RequestCode.SEND_MESSAGE, extFields, message.body, channel);
  if (response === null) return { status: status(Code.INTERNAL_SERVER_ERROR, 'the broker did not answer the send'), message_id: '', transaction_id: '', offset: 0, recall_handle: '' };
  if (response.code !== ResponseCode.SUCCESS) {
    return { status: status(codeOfResponse(response.code), response.remark ?? `send failed with code ${response.code}`), message_id: '', transaction_id: '', offset: 0, recall_handle: '' };
  }
  const fields = response.extFields ?? {};
  const decoded = decodeOffsetMessageId(fields.msgId ?? '');
  const queueOffset = Number(fields.queueOffset);
  if (decoded === null || !Number.isSafeInteger(queueOffset)) {
    return { status: status(Code.INTERNAL_SERVER_ERROR, 'the broker answered the half message without its offsets'), message_id: '', transaction_id: '', offset: 0, recall_handle: '' };
  }
  const transactionId = encodeTransactionId({
    commitLogOffset: decoded.physicalOffset,
    queueOffset,
    brokerTransactionId: fields.transactionId ?? message.messageId,
  });
  return { status: OK_STATUS, message_id: message.messageId, transaction_id: transactionId, offset: queueOffset, recall_handle: '' };
}

export async function sendMessage(context: GatewayContext, call: CallContext, request: SendMessageRequestPb): Promise<SendMessageResponsePb> {
  const messages = request.messages ?? [];
  if (messages.length === 0) throw new StatusError(Code.MESSAGE_CORRUPTED, 'no message to send');
  if (messages.length > MAX_MESSAGES_PER_REQUEST) throw new StatusError(Code.BAD_REQUEST, `at most ${MAX_MESSAGES_PER_REQUEST} messages per request`);
  const topic = validateTopic(messages[0]!.topic, context.deps.topicConfigManager);
  for (const message of messages) {
    if (message.topic?.name !== topic) throw new StatusError(Code.MESSAGE_CORRUPTED, 'topic in message is not same');
  }
  const topicConfig = writableTopic(context, topic);
  const nowMs = Date.now();
  const inbound = messages.map((message) => convertInboundMessage(message, {
    topic,
    peer: call.peer,
    nowMs,
    delay: context.settings.delay,
    limits: context.settings.inboundLimits,
  }));
  for (const message of inbound) checkMessageType(topicConfig, message);
  const transactional = inbound.filter((message) => message.declaredType === MessageType.TRANSACTION).length;
  if (transactional > 0 && transactional !== inbound.length) throw new StatusError(Code.BAD_REQUEST, 'transactional and other messages cannot be sent together');
  const queueId = pickQueue(topicConfig, inbound);
  for (const message of inbound) addBrokerProperties(context, message);

  if (transactional === 0) return appendMessages(context, topicConfig, inbound, queueId, bornHostOf(call.peer));
  if (!context.broker.has(RequestCode.END_TRANSACTION)) {
    throw new StatusError(Code.NOT_IMPLEMENTED, 'transactional messages are not supported by this broker yet (it has no END_TRANSACTION handler)');
  }
  const entries: SendResultEntryPb[] = [];
  for (const message of inbound) entries.push(await sendTransactional(context, call, topicConfig, message, queueId));
  return { status: combinedStatus(entries.map((entry) => entry.status)), entries };
}
