/**
 * Consumer-side bodies that are not requests of their own: the ResetOffsetBody of
 * RESET_CONSUMER_CLIENT_OFFSET (220) and INVOKE_BROKER_TO_RESET_OFFSET answers
 * (`{"offsetTable":{{"brokerName":"b","queueId":0,"topic":"T"}:42}}`, fastjson's MessageQueue-keyed
 * form, also accepted with JSON-string keys), the ConsumerRunningInfo answer of
 * GET_CONSUMER_RUNNING_INFO (307), and the retry copy a consumer stores itself when
 * CONSUMER_SEND_MSG_BACK fails (SEND_MESSAGE_V2 to `%RETRY%group`: the original properties plus
 * RETRY_TOPIC, ORIGIN_MESSAGE_ID, RECONSUME_TIME, MAX_RECONSUME_TIMES and DELAY 3 + reconsumeTimes).
 */
import { parseFastJson, toFastJsonBuffer, type FastJsonValue } from '../protocol/fastjson.js';
import { decodeProperties, encodeProperties, MessageProperty } from '../protocol/message-properties.js';
import type { RemotingCommand } from '../protocol/remoting-command.js';
import type { ReceivedMessage } from './message.js';
import { compareQueues, queueFromJson, type MessageQueue } from './message-queue.js';
import { createSendRequest } from './send-request.js';
import { retryTopicOf } from './subscription.js';

/** Entries of a MessageQueue-keyed map, sorted by queue; entries whose key is no queue are skipped. */
export function queueMapEntries(value: FastJsonValue | undefined): [MessageQueue, FastJsonValue][] {
  let entries: [FastJsonValue, FastJsonValue][] = [];
  if (value instanceof Map) entries = [...value.entries()];
  else if (value !== null && value !== undefined && typeof value === 'object' && !Array.isArray(value)) entries = Object.entries(value);
  const result: [MessageQueue, FastJsonValue][] = [];
  for (const [key, item] of entries) {
    let parsedKey: unknown = key;
    if (typeof key === 'string') {
      try {
        parsedKey = JSON.parse(key);
      } catch {
        continue;
      }
    }
    const queue = queueFromJson(parsedKey);
    if (queue !== undefined) result.push([queue, item]);
  }
  return result.sort((left, right) => compareQueues(left[0], right[0]));
}

/** The queue → offset pairs of a ResetOffsetBody (only `topic`'s, when given). Throws on bad JSON. */
export function parseResetOffsetBody(body: Buffer | undefined, topic: string | undefined): { queue: MessageQueue; offset: number }[] {
  if (body === undefined || body.length === 0) return [];
  const parsed = parseFastJson(body);
  const table = parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) && !(parsed instanceof Map) ? parsed.offsetTable : undefined;
  const targets: { queue: MessageQueue; offset: number }[] = [];
  for (const [queue, value] of queueMapEntries(table)) {
    const offset = Number(value);
    if (Number.isSafeInteger(offset) && (topic === undefined || queue.topic === topic)) targets.push({ queue, offset });
  }
  return targets;
}

export interface RunningQueueInfo {
  queue: MessageQueue;
  commitOffset: number;
  cachedMsgCount: number;
  cachedMsgBytes: number;
  locked: boolean;
  dropped: boolean;
}

/** A ConsumerRunningInfo body with the fields the dashboard and mqadmin read. */
export function encodeRunningInfo(properties: Record<string, string>, subscriptions: readonly unknown[], queues: readonly RunningQueueInfo[]): Buffer {
  const mqTable = new Map<FastJsonValue, FastJsonValue>();
  for (const info of queues) {
    mqTable.set({ brokerName: info.queue.brokerName, queueId: info.queue.queueId, topic: info.queue.topic }, {
      commitOffset: info.commitOffset,
      cachedMsgCount: info.cachedMsgCount,
      cachedMsgSizeInMiB: Math.floor(info.cachedMsgBytes / (1024 * 1024)),
      locked: info.locked,
      // Java's ProcessQueueInfo spells it this way.
      droped: info.dropped,
    });
  }
  return toFastJsonBuffer({ properties, subscriptionSet: subscriptions, mqTable, statusTable: {} });
}

/**
 * The SEND_MESSAGE_V2 request storing a retry copy of `message` in `%RETRY%group`. delayLevel −1 (DLQ)
 * is asked for by claiming more retries than allowed, which makes the broker route it to the DLQ.
 */
export function createRetryCopyRequest(message: ReceivedMessage, group: string, maxReconsumeTimes: number, delayLevel: number): RemotingCommand {
  const properties = decodeProperties(message.rawProperties);
  if (!properties.has(MessageProperty.RETRY_TOPIC)) properties.set(MessageProperty.RETRY_TOPIC, message.topic);
  if (!properties.get(MessageProperty.ORIGIN_MESSAGE_ID)) properties.set(MessageProperty.ORIGIN_MESSAGE_ID, message.msgId);
  properties.delete(MessageProperty.TRAN_MSG);
  const reconsumeTimes = message.reconsumeTimes + 1;
  const bounded = Number.isFinite(maxReconsumeTimes);
  properties.set(MessageProperty.RECONSUME_TIME, String(reconsumeTimes));
  if (bounded) properties.set(MessageProperty.MAX_RECONSUME_TIMES, String(maxReconsumeTimes));
  properties.set(MessageProperty.DELAY, String(delayLevel > 0 ? delayLevel : 3 + message.reconsumeTimes));
  return createSendRequest(
    {
      producerGroup: 'CLIENT_INNER_PRODUCER',
      topic: retryTopicOf(group),
      queueId: 0,
      sysFlag: 0,
      bornTimestamp: message.bornTimestamp,
      flag: message.flag,
      properties: encodeProperties(properties),
      brokerName: message.queue.brokerName,
      defaultTopicQueueNums: 1,
      reconsumeTimes: delayLevel < 0 && bounded ? maxReconsumeTimes + 1 : reconsumeTimes,
      maxReconsumeTimes: bounded ? maxReconsumeTimes : undefined,
      batch: false,
    },
    message.body,
  );
}
