/**
 * The remoting side of POP: POP_MESSAGE (200050), ACK_MESSAGE (200051), CHANGE_MESSAGE_INVISIBLETIME
 * (200053) and BATCH_ACK_MESSAGE (200151), answered as RocketMQ 5.x's broker answers them.
 *
 * - POP_MESSAGE answers SUCCESS with the records end to end, POLLING_FULL (209) or POLLING_TIMEOUT
 *   (210, nothing found), always with popTime, invisibleTime, reviveQid and restNum (the Java client
 *   requires them) plus startOffsetInfo / msgOffsetInfo (/ orderCountInfo for FIFO). A re-delivered
 *   message is sent with its original topic and its receipt handle in the property POP_CK, as RocketMQ
 *   does (the client keeps a POP_CK it finds). A long poll is answered later through `context.reply`,
 *   and given up when the connection closes.
 * - ACK / CHANGE name the topic the message sits in (a pop retry topic for re-deliveries), its queue
 *   and offset; the receipt handle (`extraInfo`) names the pop. A stale handle is answered NO_MESSAGE.
 * - BATCH_ACK's body is `{"acks":[{"c":group,"t":topic,"r":retryFlag,"so":startOffset,"q":queueId,
 *   "rq":reviveQid,"pt":popTime,"it":invisibleTime,"b":base64(java.util.BitSet bytes, bit i = so+i)}]}`
 *   (long names accepted too); stale entries are skipped, as in RocketMQ.
 */
import { ResponseCode, TideError } from '../../common/errors.js';
import { decodeProperties, encodeProperties, MessageProperty } from '../../protocol/message-properties.js';
import { decodeRecord, encodeRecord } from '../../protocol/message-record.js';
import { createResponse, type RemotingCommand, type RemotingConnection, type RequestContext, type RequestHandler } from '../../protocol/remoting-command.js';
import { RequestCode } from '../../protocol/request-code.js';
import type { BrokerDeps } from '../broker-deps.js';
import { errorAnswer, guarded } from '../handlers/handler-support.js';
import { fieldsOf, optionalBoolean, optionalInteger, optionalString, requiredInteger, requiredString } from '../header-fields.js';
import type { PoppedMessage, PopRequest, PopResult, PopService } from './pop-service.js';
import { originalTopicOf, parseReceiptHandle, realTopicOf, type ReceiptHandle } from './receipt-handle.js';

/** RocketMQ rejects a pop whose born time + poll time is this far in the past (isTimeoutTooMuch). */
const POP_TIMEOUT_SLACK_MS = 500;

/** Aborts the long polls of a connection when it closes, with one close listener per connection. */
class ConnectionAborts {
  private readonly byConnection = new WeakMap<RemotingConnection, Set<AbortController>>();

  track(connection: RemotingConnection): AbortController {
    const controller = new AbortController();
    let set = this.byConnection.get(connection);
    if (!set) {
      const created = new Set<AbortController>();
      set = created;
      this.byConnection.set(connection, created);
      connection.onClose(() => {
        for (const each of created) each.abort();
        created.clear();
      });
    }
    set.add(controller);
    if (connection.closed) controller.abort();
    return controller;
  }

  release(connection: RemotingConnection, controller: AbortController): void {
    this.byConnection.get(connection)?.delete(controller);
  }
}

function parsePopRequest(request: RemotingCommand): PopRequest & { bornTimeMs: number } {
  const fields = fieldsOf(request);
  const expressionType = optionalString(fields, 'expType');
  const expression = optionalString(fields, 'exp');
  const initMode = optionalInteger(fields, 'initMode') ?? 0;
  return {
    group: requiredString(fields, 'consumerGroup'),
    topic: requiredString(fields, 'topic'),
    queueId: requiredInteger(fields, 'queueId'),
    maxMessages: requiredInteger(fields, 'maxMsgNums'),
    invisibleTimeMs: requiredInteger(fields, 'invisibleTime'),
    pollTimeMs: requiredInteger(fields, 'pollTime'),
    bornTimeMs: optionalInteger(fields, 'bornTime') ?? 0,
    initMode: initMode === 1 ? 'MAX' : 'MIN',
    filter: expression === undefined ? undefined : { type: expressionType === 'SQL92' ? 'SQL92' : 'TAG', expression },
    fifo: optionalBoolean(fields, 'order') ?? false,
    attemptId: optionalString(fields, 'attemptId'),
  };
}

/** A re-delivered message goes out under its original topic with its receipt handle as POP_CK. */
function recordForRemoting(message: PoppedMessage): Buffer {
  const decoded = decodeRecord(message.record);
  if (decoded === null || decoded.topic === message.topic) return message.record;
  const properties = decodeProperties(decoded.properties);
  if (!properties.has(MessageProperty.POP_CK)) properties.set(MessageProperty.POP_CK, message.receiptHandle);
  return encodeRecord(
    {
      topic: message.topic,
      queueId: decoded.queueId,
      flag: decoded.flag,
      sysFlag: decoded.sysFlag,
      bornTimestamp: decoded.bornTimestamp,
      bornHost: { ip: Buffer.from(decoded.bornHost.ip), port: decoded.bornHost.port },
      storeHost: { ip: Buffer.from(decoded.storeHost.ip), port: decoded.storeHost.port },
      reconsumeTimes: decoded.reconsumeTimes,
      preparedTransactionOffset: decoded.preparedTransactionOffset,
      body: Buffer.from(decoded.body),
      properties: encodeProperties(properties),
    },
    decoded.queueOffset,
    decoded.physicalOffset,
    decoded.storeTimestamp,
  );
}

export function popAnswer(request: RemotingCommand, result: PopResult, fifo: boolean): RemotingCommand {
  const extFields: Record<string, string> = {
    popTime: String(result.popTimeMs),
    invisibleTime: String(result.invisibleTimeMs),
    reviveQid: String(result.reviveQueueId),
    restNum: String(result.restNum),
  };
  if (result.startOffsetInfo) extFields.startOffsetInfo = result.startOffsetInfo;
  if (result.msgOffsetInfo) extFields.msgOffsetInfo = result.msgOffsetInfo;
  if (fifo && result.orderCountInfo) extFields.orderCountInfo = result.orderCountInfo;
  switch (result.status) {
    case 'FOUND':
      return createResponse(request, ResponseCode.SUCCESS, 'FOUND', extFields, Buffer.concat(result.messages.map(recordForRemoting)));
    case 'POLLING_FULL':
      return createResponse(request, ResponseCode.POLLING_FULL, 'the pop polling queue or the group in-flight limit is full', extFields);
    case 'NO_NEW_MSG':
      return createResponse(request, ResponseCode.POLLING_TIMEOUT, 'NO_MESSAGE_IN_QUEUE', extFields);
  }
}

function createPopMessageHandler(deps: BrokerDeps, pop: PopService, aborts: ConnectionAborts): RequestHandler {
  return (request: RemotingCommand, context: RequestContext) => {
    const popRequest = parsePopRequest(request);
    if (popRequest.bornTimeMs > 0 && Date.now() - popRequest.bornTimeMs - popRequest.pollTimeMs > POP_TIMEOUT_SLACK_MS) {
      return createResponse(request, ResponseCode.POLLING_TIMEOUT, `the broker[${deps.config.brokerIP1}] pop message is timeout too much`, {
        popTime: '0', invisibleTime: String(popRequest.invisibleTimeMs), reviveQid: '0', restNum: '0',
      });
    }
    const { connection } = context;
    const controller = aborts.track(connection);
    const fifo = popRequest.fifo === true;
    const answered = pop.pop({ ...popRequest, signal: controller.signal }).then(
      (result) => popAnswer(request, result, fifo),
      (error: unknown) => errorAnswer(request, error, deps.logger),
    );
    void answered.then((response) => {
      aborts.release(connection, controller);
      context.reply(response);
    });
    return null;
  };
}

interface AckTarget {
  group: string;
  realTopic: string;
  queueId: number;
  queueOffset: number;
  handle: ReceiptHandle;
}

/** The checks ACK and CHANGE share (RocketMQ's order and codes); returns the parsed target. */
function parseAckTarget(deps: BrokerDeps, request: RemotingCommand, maxOffsetInclusive: boolean): AckTarget {
  const fields = fieldsOf(request);
  const group = requiredString(fields, 'consumerGroup');
  const topic = requiredString(fields, 'topic');
  const queueId = requiredInteger(fields, 'queueId');
  const extraInfo = requiredString(fields, 'extraInfo');
  const queueOffset = requiredInteger(fields, 'offset');
  const topicConfig = deps.topicConfigManager.get(topic);
  if (!topicConfig) throw new TideError('TOPIC_NOT_EXIST', `topic[${topic}] not exist, apply first please!`);
  if (queueId < 0 || queueId >= topicConfig.readQueueNums) {
    throw new TideError('QUEUE_ID_INVALID', `queueId[${queueId}] is illegal, topic:[${topic}] topicConfig.readQueueNums:[${topicConfig.readQueueNums}]`, { responseCode: ResponseCode.MESSAGE_ILLEGAL });
  }
  const minOffset = deps.store.getMinOffsetInQueue(topic, queueId);
  const maxOffset = deps.store.getMaxOffsetInQueue(topic, queueId);
  if (queueOffset < minOffset || queueOffset > maxOffset || (!maxOffsetInclusive && queueOffset === maxOffset)) {
    throw new TideError('INVALID_PARAMETER', `offset is illegal, key:${topic}@${queueId}, commit:${queueOffset}, store:${minOffset}~${maxOffset}`, { responseCode: ResponseCode.NO_MESSAGE });
  }
  const handle = parseReceiptHandle(extraInfo);
  if (!handle) throw new TideError('INVALID_PARAMETER', `extraInfo ${JSON.stringify(extraInfo.slice(0, 128))} is not a receipt handle`);
  return { group, realTopic: topic, queueId, queueOffset, handle };
}

function staleHandle(): TideError {
  return new TideError('INVALID_PARAMETER', 'the receipt handle is expired or was never issued (the message was handed out again or acked)', { responseCode: ResponseCode.NO_MESSAGE });
}

function createAckMessageHandler(deps: BrokerDeps, pop: PopService): RequestHandler {
  return (request) => {
    const target = parseAckTarget(deps, request, true);
    const status = pop.ackMessage(target.group, target.realTopic, target.queueId, target.queueOffset, target.handle);
    if (status !== 'OK') throw staleHandle();
    return createResponse(request, ResponseCode.SUCCESS);
  };
}

function createChangeInvisibleTimeHandler(deps: BrokerDeps, pop: PopService): RequestHandler {
  return (request) => {
    const target = parseAckTarget(deps, request, false);
    const invisibleTimeMs = requiredInteger(fieldsOf(request), 'invisibleTime');
    const result = pop.changeMessageInvisibleTime(target.group, target.realTopic, target.queueId, target.queueOffset, target.handle, invisibleTimeMs);
    if (result.status !== 'OK') throw staleHandle();
    return createResponse(request, ResponseCode.SUCCESS, undefined, {
      popTime: String(result.popTimeMs),
      invisibleTime: String(result.invisibleTimeMs),
      reviveQid: String(target.handle.reviveQueueId),
    });
  };
}

function field(entry: Record<string, unknown>, short: string, long: string): unknown {
  return entry[short] ?? entry[long];
}

function integerOf(value: unknown, name: string): number {
  const number = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof number !== 'number' || !Number.isSafeInteger(number)) throw new TideError('INVALID_PARAMETER', `batch ack: field ${name} must be an integer`);
  return number;
}

/** java.util.BitSet.toByteArray: bit i is bit (i % 8) of byte (i / 8). */
export function bitSetIndexes(bytes: Buffer): number[] {
  const indexes: number[] = [];
  for (let byteIndex = 0; byteIndex < bytes.length; byteIndex++) {
    const byte = bytes[byteIndex]!;
    for (let bit = 0; bit < 8; bit++) if ((byte >> bit) & 1) indexes.push(byteIndex * 8 + bit);
  }
  return indexes;
}

/** Most acks one BATCH_ACK may carry (bits over all entries). */
const MAX_BATCH_ACK_MESSAGES = 65_536;

function createBatchAckMessageHandler(deps: BrokerDeps, pop: PopService): RequestHandler {
  return (request) => {
    let body: unknown;
    try {
      body = request.body && request.body.length > 0 ? JSON.parse(request.body.toString('utf8')) : undefined;
    } catch {
      throw new TideError('INVALID_PARAMETER', 'batch ack: the body is not JSON');
    }
    const acks = typeof body === 'object' && body !== null ? (body as { acks?: unknown }).acks : undefined;
    if (!Array.isArray(acks) || acks.length === 0) return createResponse(request, ResponseCode.NO_MESSAGE, 'batch ack: no acks');
    let total = 0;
    for (const raw of acks) {
      if (typeof raw !== 'object' || raw === null) throw new TideError('INVALID_PARAMETER', 'batch ack: every ack must be an object');
      const entry = raw as Record<string, unknown>;
      const group = field(entry, 'c', 'consumerGroup');
      const topic = field(entry, 't', 'topic');
      const retryFlag = String(field(entry, 'r', 'retry') ?? '0');
      const bits = field(entry, 'b', 'bitSet');
      if (typeof group !== 'string' || typeof topic !== 'string' || typeof bits !== 'string') {
        throw new TideError('INVALID_PARAMETER', 'batch ack: fields c, t and b must be strings');
      }
      const startOffset = integerOf(field(entry, 'so', 'startOffset'), 'so');
      const queueId = integerOf(field(entry, 'q', 'queueId'), 'q');
      const reviveQueueId = integerOf(field(entry, 'rq', 'reviveQueueId'), 'rq');
      const popTimeMs = integerOf(field(entry, 'pt', 'popTime'), 'pt');
      const invisibleTimeMs = integerOf(field(entry, 'it', 'invisibleTime'), 'it');
      const realTopic = realTopicOf(originalTopicOf(topic, group), group, retryFlag);
      if (realTopic === undefined) throw new TideError('INVALID_PARAMETER', `batch ack: retry flag ${JSON.stringify(retryFlag)} is unknown`);
      const indexes = bitSetIndexes(Buffer.from(bits, 'base64'));
      total += indexes.length;
      if (total > MAX_BATCH_ACK_MESSAGES) throw new TideError('INVALID_PARAMETER', `batch ack: more than ${MAX_BATCH_ACK_MESSAGES} messages`);
      const minOffset = deps.store.getMinOffsetInQueue(realTopic, queueId);
      const maxOffset = deps.store.getMaxOffsetInQueue(realTopic, queueId);
      for (const index of indexes) {
        const queueOffset = startOffset + index;
        if (queueOffset < minOffset || queueOffset > maxOffset) continue;
        const handle: ReceiptHandle = {
          ckQueueOffset: startOffset,
          popTimeMs,
          invisibleTimeMs,
          reviveQueueId,
          retryFlag: retryFlag as ReceiptHandle['retryFlag'],
          brokerName: deps.config.brokerName,
          queueId,
          queueOffset,
        };
        pop.ackMessage(group, realTopic, queueId, queueOffset, handle);
      }
    }
    return createResponse(request, ResponseCode.SUCCESS);
  };
}

/** Adds the four POP handlers (already guarded) to a broker request table. */
export function registerPopHandlers(table: Map<number, RequestHandler>, deps: BrokerDeps, pop: PopService): void {
  const aborts = new ConnectionAborts();
  table.set(RequestCode.POP_MESSAGE, guarded(createPopMessageHandler(deps, pop, aborts), deps.logger));
  table.set(RequestCode.ACK_MESSAGE, guarded(createAckMessageHandler(deps, pop), deps.logger));
  table.set(RequestCode.CHANGE_MESSAGE_INVISIBLETIME, guarded(createChangeInvisibleTimeHandler(deps, pop), deps.logger));
  table.set(RequestCode.BATCH_ACK_MESSAGE, guarded(createBatchAckMessageHandler(deps, pop), deps.logger));
}
