/**
 * SEND_MESSAGE (10), SEND_MESSAGE_V2 (310: the same header with one-letter field names a..n) and
 * SEND_BATCH_MESSAGE (320). Checks as a Java broker does (broker and topic permissions, topic name,
 * auto-creation from TBW102, queue id, body and properties size), adds the broker's properties
 * (UNIQ_KEY if missing, CLUSTER, MSG_REGION, TRACE_ON), routes over-retried `%RETRY%` sends to the DLQ,
 * appends and answers msgId (offsetMsgId), queueId and queueOffset once the store keeps its promise
 * for the flush mode: SYNC_FLUSH after fdatasync, ASYNC_FLUSH after the write to the kernel (so an
 * acknowledged message survives a process crash). WAIT=false skips the fdatasync wait, never the
 * write. A write not durable in time is answered FLUSH_DISK_TIMEOUT (10), never SUCCESS.
 *
 * The hot path: a single message whose properties are plain (send-properties.ts: no delay, timer,
 * transaction or POP checkpoint, nothing the broker rewrites) and whose topic is not a retry topic is
 * appended straight to the store with its properties string extended by concatenation, exactly as the
 * MessageWriter would store it; on a remoting connection its answer then waits in a per-turn batch
 * for the store's promise (send-acks.ts) and is written from a template (send-answer.ts). Everything
 * else, and calls from the gateways, take the general path below.
 *
 * Delayed messages (DELAY level, or the 5.x TIMER_DELIVER_MS / TIMER_DELAY_SEC / TIMER_DELAY_MS) are
 * parked by the MessageWriter, which also refuses a malformed or too distant delivery time with
 * MESSAGE_ILLEGAL (13); a parked timer message's answer carries `recallHandle` (RocketMQ 5.3) for
 * RECALL_MESSAGE. Batch entries may be neither delayed nor transactional (MESSAGE_ILLEGAL).
 *
 * A transactional send (TRAN_MSG=true, the PREPARED sysFlag) is stored as a half message by the
 * TransactionalMessageService: the answer carries the half's offsetMsgId and half-queue offset (the
 * producer ends the transaction with them) and transactionId = UNIQ_KEY. A delay requested by a
 * transactional message runs from its commit; its format is checked at the send.
 *
 * Batch body (320): entries end to end, each `totalSize i32 | magic i32 | bodyCRC i32 | flag i32 |
 * bodyLen i32 | body | propertiesLen i16 | properties`; topic and queue come from the header. Every
 * entry passes the store's record checks (body size, properties size after the broker added its own,
 * record size) before the first is appended, so a refused batch stores nothing and a client retry
 * cannot duplicate part of it.
 */
import { randomInt } from 'node:crypto';
import { ResponseCode, TideError } from '../../common/errors.js';
import { createOffsetMessageId, UniqueKeyGenerator } from '../../protocol/message-id.js';
import { decodeProperties, encodeProperties, MessageProperty, NAME_VALUE_SEPARATOR, PROPERTY_SEPARATOR, type MessageProperties } from '../../protocol/message-properties.js';
import { BLANK_MARKER_BYTES, prepareRecord, SysFlag } from '../../protocol/message-record.js';
import { parseHostPort, type HostAddress } from '../../protocol/host-address.js';
import { isDeferrable, type RemotingCommand, type RemotingConnection, type RequestContext, type RequestHandler } from '../../protocol/remoting-command.js';
import { waitBeforeAck } from '../../store/message-store.js';
import type { AppendResult } from '../../store/types.js';
import type { BrokerDeps } from '../broker-deps.js';
import { delayLevelOf, tagsCodeOf, type OutgoingMessage } from '../message-writer.js';
import { isWriteable, Perm } from '../../protocol/route-data.js';
import { dlqTopicOf, groupOfRetryTopic, isNotAllowedSendTopic, isRetryTopic } from '../topic-names.js';
import { validateTopic } from '../topic-config-manager.js';
import type { TopicConfig } from '../../protocol/route-data.js';
import { recallHandleFor } from '../timer/recall-handle.js';
import { dropTimerRequest, hasTimerRequest, requestedDeliverMs } from '../timer/timer-properties.js';
import { isTransactionalSend } from '../transaction/half-message.js';
import { transactionServiceOf } from '../transaction/transaction-registry.js';
import { answer } from './handler-support.js';
import { FLUSH_TIMEOUT_REMARK, SendAckBatcher, sendAnswerFields } from './send-acks.js';
import { parseSendMessageHeader, type SendMessageRequestHeader } from './send-header.js';
import { plainIndexKeys, scanPlainProperties } from './send-properties.js';

export { parseSendMessageHeader, type SendMessageRequestHeader } from './send-header.js';

interface BatchEntry {
  flag: number;
  body: Buffer;
  properties: string;
}

/** An entry with an empty body and no properties: five int32 fields and the int16 properties length. */
const MIN_BATCH_ENTRY_BYTES = 22;

/** Splits a batch body; throws MESSAGE_ILLEGAL on any inconsistency. */
export function decodeBatchBody(body: Buffer): BatchEntry[] {
  const entries: BatchEntry[] = [];
  let position = 0;
  while (position < body.length) {
    const remaining = body.length - position;
    if (remaining < MIN_BATCH_ENTRY_BYTES) throw new TideError('MESSAGE_ILLEGAL', `batch body: truncated entry at byte ${position}`);
    const totalSize = body.readInt32BE(position);
    if (totalSize < MIN_BATCH_ENTRY_BYTES || totalSize > remaining) throw new TideError('MESSAGE_ILLEGAL', `batch body: entry size ${totalSize} at byte ${position} is out of range`);
    const flag = body.readInt32BE(position + 12);
    const bodyLength = body.readInt32BE(position + 16);
    const bodyStart = position + 20;
    if (bodyLength < 0 || bodyStart + bodyLength + 2 > position + totalSize) throw new TideError('MESSAGE_ILLEGAL', `batch body: body length ${bodyLength} at byte ${position} overruns the entry`);
    const propertiesLength = body.readInt16BE(bodyStart + bodyLength);
    const propertiesStart = bodyStart + bodyLength + 2;
    if (propertiesLength < 0 || propertiesStart + propertiesLength !== position + totalSize) {
      throw new TideError('MESSAGE_ILLEGAL', `batch body: properties length ${propertiesLength} at byte ${position} does not match the entry size`);
    }
    entries.push({
      flag,
      body: body.subarray(bodyStart, bodyStart + bodyLength),
      properties: body.toString('utf8', propertiesStart, propertiesStart + propertiesLength),
    });
    position += totalSize;
  }
  if (entries.length === 0) throw new TideError('MESSAGE_ILLEGAL', 'batch body holds no message');
  return entries;
}

/**
 * Runs the store's own record checks (body size, final properties size, topic, room in a segment)
 * on a message the writer will store as it is (not parked), so that a request storing several
 * messages (a batch, a DLQ re-send) can refuse them all before the first is appended. Throws the
 * TideError the store would.
 */
export function checkStorable(message: OutgoingMessage, deps: Pick<BrokerDeps, 'config' | 'runtime'>): void {
  const prepared = prepareRecord({ ...message, storeHost: deps.runtime.storeHost, properties: encodeProperties(message.properties) }, deps.config.maxMessageSize);
  const segmentSizeBytes = deps.config.mappedFileSizeCommitLog;
  if (prepared.size + BLANK_MARKER_BYTES > segmentSizeBytes) {
    throw new TideError('MESSAGE_BODY_TOO_LARGE', `a record of ${prepared.size} bytes does not fit a commit-log segment of ${segmentSizeBytes} bytes`);
  }
}

const EMPTY_BODY = Buffer.alloc(0);

function propertyPair(key: string, value: string): string {
  return key + NAME_VALUE_SEPARATOR + value + PROPERTY_SEPARATOR;
}

/** Parsed peer addresses, one per connection (parsing on every send showed in profiles). */
const bornHosts = new WeakMap<RemotingConnection, HostAddress>();

/** `ip:port` of a connection as record bytes; 127.0.0.1:0 when it cannot be parsed. */
export function bornHostOf(connection: RemotingConnection): HostAddress {
  let host = bornHosts.get(connection);
  if (host === undefined) {
    try {
      host = parseHostPort(connection.remoteAddress);
    } catch {
      host = { ip: Buffer.from([127, 0, 0, 1]), port: 0 };
    }
    bornHosts.set(connection, host);
  }
  return host;
}

export function createSendMessageHandler(deps: BrokerDeps): RequestHandler {
  const uniqueKeys = new UniqueKeyGenerator(deps.runtime.storeHost.ip.length === 4 ? deps.runtime.storeHost.ip : undefined);
  const { config, topicConfigManager, subscriptionGroupManager, queueLockManager, writer, store } = deps;
  const transactions = transactionServiceOf(deps);

  /** The last topic name that passed validateTopic and isNotAllowedSendTopic. */
  let lastCheckedTopic: string | undefined;

  /** The topic's config after the Java msgCheck rules, creating it when allowed. */
  function checkTopic(header: SendMessageRequestHeader, connection: RemotingConnection): TopicConfig {
    if (!isWriteable(config.brokerPermission)) {
      throw new TideError('NO_PERMISSION', `the broker[${config.brokerIP1}] sending message is forbidden`);
    }
    // Both checks depend on the name alone; a producer sends to the same topic again and again.
    if (header.topic !== lastCheckedTopic) {
      validateTopic(header.topic);
      if (isNotAllowedSendTopic(header.topic)) {
        throw new TideError('NO_PERMISSION', `Sending message to topic[${header.topic}] is forbidden.`);
      }
      lastCheckedTopic = header.topic;
    }
    let topicConfig = topicConfigManager.get(header.topic);
    if (!topicConfig) {
      const topicSysFlag = header.unitMode ? (isRetryTopic(header.topic) ? 2 : 1) : 0;
      topicConfig = topicConfigManager.createTopicInSendMessageMethod(header.topic, header.defaultTopic, header.defaultTopicQueueNums, topicSysFlag);
      if (!topicConfig && isRetryTopic(header.topic)) {
        topicConfig = topicConfigManager.createTopicInSendMessageBackMethod(header.topic, 1, Perm.READ | Perm.WRITE, topicSysFlag);
      }
      if (!topicConfig) {
        deps.logger.warn({ topic: header.topic, producer: connection.remoteAddress }, 'send to a topic that does not exist');
        throw new TideError(
          'TOPIC_NOT_EXIST',
          `topic[${header.topic}] not exist, apply first please! Create it with \`tidemq admin updateTopic -t ${header.topic}\` (or mqadmin updateTopic), or set autoCreateTopicEnable=true`,
        );
      }
    }
    if (!isWriteable(topicConfig.perm)) {
      throw new TideError('NO_PERMISSION', `the topic[${header.topic}] sending message is forbidden`);
    }
    const queueLimit = Math.max(topicConfig.writeQueueNums, topicConfig.readQueueNums);
    if (header.queueId >= queueLimit) {
      throw new TideError('QUEUE_ID_INVALID', `request queueId[${header.queueId}] is illegal, topic ${header.topic} has ${queueLimit} queues, producer: ${connection.remoteAddress}`);
    }
    return topicConfig;
  }

  const acks = new SendAckBatcher({
    store,
    logger: deps.logger,
    storeHost: () => deps.runtime.storeHost,
    regionId: () => config.regionId,
    traceOn: () => config.traceOn,
  });

  /** The broker's properties as addBrokerProperties appends them to a plain message; rebuilt when the settings change. */
  let suffixRegion = '';
  let suffixTraceOn = false;
  let suffixCluster = '';
  let suffixHead = '';
  let suffixTail = '';
  function brokerSuffix(generatedUniqueKey: string | undefined): string {
    if (suffixHead === '' || suffixRegion !== config.regionId || suffixTraceOn !== config.traceOn || suffixCluster !== config.brokerClusterName) {
      suffixRegion = config.regionId;
      suffixTraceOn = config.traceOn;
      suffixCluster = config.brokerClusterName;
      suffixHead = propertyPair(MessageProperty.MSG_REGION, suffixRegion) + propertyPair(MessageProperty.TRACE_ON, String(suffixTraceOn));
      suffixTail = propertyPair(MessageProperty.CLUSTER, suffixCluster);
    }
    return generatedUniqueKey === undefined ? suffixHead + suffixTail : suffixHead + propertyPair(MessageProperty.UNIQ_KEY, generatedUniqueKey) + suffixTail;
  }

  /** Properties every stored message gets from the broker. */
  function addBrokerProperties(properties: MessageProperties): void {
    properties.delete(MessageProperty.POP_CK);
    properties.set(MessageProperty.MSG_REGION, config.regionId);
    properties.set(MessageProperty.TRACE_ON, String(config.traceOn));
    const uniqueKey = properties.get(MessageProperty.UNIQ_KEY);
    if (uniqueKey === undefined || uniqueKey.length === 0) properties.set(MessageProperty.UNIQ_KEY, uniqueKeys.next());
    properties.set(MessageProperty.CLUSTER, config.brokerClusterName);
  }

  /**
   * Checks the delivery-time request of a transactional message now, while the producer can still be
   * told: the half is not parked, the delay runs from the commit (the writer parks the committed
   * message), so a malformed timer property would otherwise surface only at END_TRANSACTION.
   */
  function checkTransactionalTimer(properties: MessageProperties): void {
    if (properties.has(MessageProperty.DELAY)) {
      delayLevelOf(properties);
      dropTimerRequest(properties);
    } else if (hasTimerRequest(properties)) {
      requestedDeliverMs(properties, Date.now(), Number.MAX_SAFE_INTEGER);
    }
  }

  /** Java's handleRetryAndDLQ: an over-retried `%RETRY%group` send goes to `%DLQ%group`. */
  function routeRetry(header: SendMessageRequestHeader, message: OutgoingMessage, request: RemotingCommand): void {
    if (!isRetryTopic(header.topic)) return;
    const group = groupOfRetryTopic(header.topic);
    const groupConfig = subscriptionGroupManager.findOrCreate(group);
    const maxReconsumeTimes = header.maxReconsumeTimes ?? groupConfig.retryMaxTimes;
    const reconsumeTimes = header.reconsumeTimes ?? 0;
    if (reconsumeTimes > maxReconsumeTimes || !queueLockManager.isLockAllExpired(group)) {
      const dlqTopic = dlqTopicOf(group);
      topicConfigManager.createTopicInSendMessageBackMethod(dlqTopic, 1, Perm.READ | Perm.WRITE, 0);
      message.topic = dlqTopic;
      message.queueId = 0;
      message.properties.delete(MessageProperty.DELAY);
      deps.logger.info({ group, reconsumeTimes, maxReconsumeTimes, version: request.version }, 'retry send routed to the DLQ');
    }
  }

  async function answerWritten(
    request: RemotingCommand,
    results: AppendResult[],
    queueId: number,
    waitForDisk: boolean,
    transactionId: string | undefined,
    recallHandle: string | undefined,
  ): Promise<RemotingCommand> {
    const last = results[results.length - 1]!;
    const status = await waitBeforeAck(store, last.endOffset, waitForDisk);
    const code: number = status === 'PUT_OK' ? ResponseCode.SUCCESS : ResponseCode.FLUSH_DISK_TIMEOUT;
    const storeHost = deps.runtime.storeHost;
    const extFields = sendAnswerFields(storeHost, results[0]!.physicalOffset, queueId, results[0]!.queueOffset, config.regionId, config.traceOn, transactionId);
    // A batch answers the msgIds of all its messages, comma-separated.
    if (results.length > 1) extFields.msgId = results.map((result) => createOffsetMessageId(storeHost, result.physicalOffset)).join(',');
    if (recallHandle !== undefined) extFields.recallHandle = recallHandle;
    return answer(request, code, code === ResponseCode.SUCCESS ? undefined : FLUSH_TIMEOUT_REMARK, extFields);
  }

  function checkBodySize(body: Buffer): void {
    if (body.length > config.maxMessageSize) {
      throw new TideError('MESSAGE_BODY_TOO_LARGE', `the message body of ${body.length} bytes is larger than maxMessageSize ${config.maxMessageSize}`);
    }
  }

  /** What a batch entry may not be: delayed (by level or timer) or transactional. */
  function checkBatchable(properties: MessageProperties): void {
    // delayLevelOf throws MESSAGE_ILLEGAL for a non-number, as the writer would at append time.
    if (delayLevelOf(properties) > 0) {
      throw new TideError('MESSAGE_ILLEGAL', 'delay levels are not supported for batch messages');
    }
    if (hasTimerRequest(properties)) throw new TideError('MESSAGE_ILLEGAL', 'timer messages (TIMER_DELIVER_MS / TIMER_DELAY_SEC / TIMER_DELAY_MS) are not supported for batch messages');
    if (isTransactionalSend(properties, 0)) throw new TideError('MESSAGE_ILLEGAL', 'transactional messages cannot be sent in a batch');
  }

  /**
   * One message. A plain one (send-properties.ts; not to a retry topic) is appended with its
   * properties string extended in place, and answered with the turn's other sends (send-acks.ts) when
   * its context can defer, else through the promise of answerWritten. Anything else goes through the
   * decoded properties and the MessageWriter. Errors come back as a rejected promise either way.
   */
  function sendOne(request: RemotingCommand, header: SendMessageRequestHeader, context: RequestContext): RemotingCommand | null | Promise<RemotingCommand> {
    try {
      const connection = context.connection;
      const topicConfig = checkTopic(header, connection);
      const body = request.body ?? EMPTY_BODY;
      checkBodySize(body);
      const queueId = header.queueId < 0 ? randomInt(Math.max(1, topicConfig.writeQueueNums)) : header.queueId;
      let sysFlag = header.sysFlag;
      if (topicConfig.topicFilterType === 'MULTI_TAG') sysFlag |= SysFlag.MULTI_TAGS;
      const raw = header.properties ?? '';
      const plain = isRetryTopic(header.topic) ? undefined : scanPlainProperties(raw);
      if (plain === undefined) return sendGeneral(request, header, connection, body, queueId, sysFlag);
      // The scan result is shared: read it before anything else could scan.
      const generated = plain.uniqueKey === undefined;
      const uniqueKey = generated ? uniqueKeys.next() : (plain.uniqueKey as string);
      const waitForDisk = !plain.waitFalse;
      const properties = raw + brokerSuffix(generated ? uniqueKey : undefined);
      // What MessageWriter.write does for a message it does not park, without the Map round trip.
      const result = store.append({
        topic: header.topic,
        queueId,
        flag: header.flag,
        sysFlag,
        bornTimestamp: header.bornTimestamp,
        bornHost: bornHostOf(connection),
        storeHost: deps.runtime.storeHost,
        reconsumeTimes: header.reconsumeTimes ?? 0,
        preparedTransactionOffset: 0,
        body,
        properties,
        tagsCode: tagsCodeOf(plain.tags),
        keys: plainIndexKeys(plain.keys, uniqueKey),
      });
      if (!isDeferrable(context)) return answerWritten(request, [result], queueId, waitForDisk, uniqueKey, undefined);
      context.defer();
      acks.add(context, request, result.physicalOffset, queueId, result.queueOffset, result.endOffset, uniqueKey, waitForDisk);
      return null;
    } catch (error) {
      return Promise.reject(error);
    }
  }

  async function sendGeneral(request: RemotingCommand, header: SendMessageRequestHeader, connection: RemotingConnection, body: Buffer, queueId: number, sysFlag: number): Promise<RemotingCommand> {
    const properties = decodeProperties(header.properties ?? '');
    const reconsumeTimes = header.reconsumeTimes ?? 0;
    const transactional = isTransactionalSend(properties, reconsumeTimes);
    if (transactional) checkTransactionalTimer(properties);
    addBrokerProperties(properties);
    const message: OutgoingMessage = {
      topic: header.topic,
      queueId,
      flag: header.flag,
      sysFlag,
      bornTimestamp: header.bornTimestamp,
      bornHost: bornHostOf(connection),
      reconsumeTimes,
      preparedTransactionOffset: 0,
      body,
      properties,
    };
    routeRetry(header, message, request);
    const waitForDisk = properties.get(MessageProperty.WAIT)?.toLowerCase() !== 'false';
    const uniqueKey = properties.get(MessageProperty.UNIQ_KEY);
    if (transactional) {
      const half = transactions.prepare(message, header.producerGroup);
      return answerWritten(request, [half], queueId, waitForDisk, uniqueKey, undefined);
    }
    const written = writer.write(message);
    const timer = written.timer;
    const recallHandle = timer?.uniqueKey === undefined ? undefined : recallHandleFor(timer.realTopic, config.brokerName, timer.deliverMs, timer.uniqueKey);
    return answerWritten(request, [written.result], queueId, waitForDisk, uniqueKey, recallHandle);
  }

  async function sendBatch(request: RemotingCommand, header: SendMessageRequestHeader, connection: RemotingConnection): Promise<RemotingCommand> {
    const topicConfig = checkTopic(header, connection);
    if (isRetryTopic(header.topic)) throw new TideError('MESSAGE_ILLEGAL', `batch request does not support retry group ${header.topic}`);
    const body = request.body ?? Buffer.alloc(0);
    checkBodySize(body);
    const entries = decodeBatchBody(body);
    const queueId = header.queueId < 0 ? randomInt(Math.max(1, topicConfig.writeQueueNums)) : header.queueId;
    const batchProperties = decodeProperties(header.properties ?? '');
    checkBatchable(batchProperties);
    let sysFlag = header.sysFlag;
    if (topicConfig.topicFilterType === 'MULTI_TAG') sysFlag |= SysFlag.MULTI_TAGS;
    const bornHost = bornHostOf(connection);
    // Build and check every message before appending any, so a bad entry stores nothing.
    const messages: OutgoingMessage[] = entries.map((entry) => {
      const properties = decodeProperties(entry.properties);
      for (const [key, value] of batchProperties) if (!properties.has(key)) properties.set(key, value);
      checkBatchable(properties);
      addBrokerProperties(properties);
      const message: OutgoingMessage = {
        topic: header.topic,
        queueId,
        flag: entry.flag,
        sysFlag,
        bornTimestamp: header.bornTimestamp,
        bornHost,
        reconsumeTimes: header.reconsumeTimes ?? 0,
        preparedTransactionOffset: 0,
        body: entry.body,
        properties,
      };
      checkStorable(message, deps);
      return message;
    });
    // No await between the appends: the batch gets consecutive queue offsets.
    const results = messages.map((message) => writer.write(message).result);
    const waitForDisk = batchProperties.get(MessageProperty.WAIT)?.toLowerCase() !== 'false';
    return answerWritten(request, results, queueId, waitForDisk, undefined, undefined);
  }

  return (request, context) => {
    const header = parseSendMessageHeader(request);
    return header.batch ? sendBatch(request, header, context.connection) : sendOne(request, header, context);
  };
}
