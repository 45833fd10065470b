/**
 * Small broker requests the consumers and the admin client share: queue offsets (GET_MAX_OFFSET 30,
 * GET_MIN_OFFSET 31, SEARCH_OFFSET_BY_TIMESTAMP 29), queue locks (LOCK_BATCH_MQ 41 /
 * UNLOCK_BATCH_MQ 42, body `{consumerGroup, clientId, onlyThisBroker, mqSet}` → `{lockOKMQSet}`) and
 * CONSUMER_SEND_MSG_BACK (36: offset, group, delayLevel, originMsgId, originTopic, unitMode,
 * maxReconsumeTimes).
 */
import { ResponseCode } from '../common/errors.js';
import { createRequest } from '../protocol/remoting-command.js';
import { RequestCode } from '../protocol/request-code.js';
import { brokerError } from './client-errors.js';
import type { ClientInstance } from './client-instance.js';
import type { ReceivedMessage } from './message.js';
import { queueFromJson, queueToJson, type MessageQueue } from './message-queue.js';

function offsetFrom(fields: Record<string, string> | undefined, address: string, what: string): number {
  const offset = Number(fields?.offset);
  if (!Number.isSafeInteger(offset)) throw brokerError(ResponseCode.SYSTEM_ERROR, 'the answer has no offset', address, what);
  return offset;
}

/** The offset the next message of the queue will get. */
export async function queryMaxOffset(instance: ClientInstance, address: string, queue: MessageQueue, signal?: AbortSignal): Promise<number> {
  const what = `max offset of ${queue.topic}#${queue.queueId}`;
  const response = await instance.invokeOk(address, createRequest(RequestCode.GET_MAX_OFFSET, { topic: queue.topic, queueId: String(queue.queueId) }), what, undefined, signal);
  return offsetFrom(response.extFields, address, what);
}

export async function queryMinOffset(instance: ClientInstance, address: string, queue: MessageQueue, signal?: AbortSignal): Promise<number> {
  const what = `min offset of ${queue.topic}#${queue.queueId}`;
  const response = await instance.invokeOk(address, createRequest(RequestCode.GET_MIN_OFFSET, { topic: queue.topic, queueId: String(queue.queueId) }), what, undefined, signal);
  return offsetFrom(response.extFields, address, what);
}

/** The first offset whose message was stored at or after `timestampMs` (LOWER boundary). */
export async function searchOffset(instance: ClientInstance, address: string, queue: MessageQueue, timestampMs: number, signal?: AbortSignal): Promise<number> {
  const what = `offset of ${queue.topic}#${queue.queueId} at ${timestampMs}`;
  const request = createRequest(RequestCode.SEARCH_OFFSET_BY_TIMESTAMP, {
    topic: queue.topic,
    queueId: String(queue.queueId),
    timestamp: String(Math.floor(timestampMs)),
    boundaryType: 'LOWER',
  });
  const response = await instance.invokeOk(address, request, what, undefined, signal);
  return offsetFrom(response.extFields, address, what);
}

function lockBody(group: string, clientId: string, queues: readonly MessageQueue[]): Buffer {
  return Buffer.from(JSON.stringify({ consumerGroup: group, clientId, onlyThisBroker: false, mqSet: queues.map(queueToJson) }), 'utf8');
}

/** Locks (or renews) queues of one broker; returns the ones this client now holds. */
export async function lockQueues(instance: ClientInstance, address: string, group: string, queues: readonly MessageQueue[], timeoutMs = 1000): Promise<MessageQueue[]> {
  const what = `lock ${queues.length} queues of ${group}`;
  const response = await instance.invokeOk(address, createRequest(RequestCode.LOCK_BATCH_MQ, undefined, lockBody(group, instance.clientId, queues)), what, timeoutMs);
  if (response.body === undefined || response.body.length === 0) return [];
  const parsed = JSON.parse(response.body.toString('utf8')) as { lockOKMQSet?: unknown };
  if (!Array.isArray(parsed.lockOKMQSet)) return [];
  return parsed.lockOKMQSet.map(queueFromJson).filter((queue): queue is MessageQueue => queue !== undefined);
}

export async function unlockQueues(instance: ClientInstance, address: string, group: string, queues: readonly MessageQueue[], timeoutMs = 1000): Promise<void> {
  await instance.invokeOk(address, createRequest(RequestCode.UNLOCK_BATCH_MQ, undefined, lockBody(group, instance.clientId, queues)), `unlock ${queues.length} queues of ${group}`, timeoutMs);
}

/** CONSUMER_SEND_MSG_BACK: the broker re-stores the message in `%RETRY%group` (or the DLQ). */
export async function sendMessageBack(
  instance: ClientInstance,
  address: string,
  group: string,
  message: ReceivedMessage,
  delayLevel: number,
  maxReconsumeTimes: number,
): Promise<void> {
  const fields: Record<string, string> = {
    offset: String(message.commitLogOffset),
    group,
    delayLevel: String(delayLevel),
    originMsgId: message.msgId,
    originTopic: message.topic,
    unitMode: 'false',
  };
  if (Number.isFinite(maxReconsumeTimes)) fields.maxReconsumeTimes = String(maxReconsumeTimes);
  await instance.invokeOk(address, createRequest(RequestCode.CONSUMER_SEND_MSG_BACK, fields), `send back ${message.msgId} of ${group}`);
}
