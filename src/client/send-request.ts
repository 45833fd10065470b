/**
 * SEND_MESSAGE_V2 (310) and SEND_BATCH_MESSAGE (320) requests and their answers (reference §2.2).
 * The V2 header uses one-letter field names: a producerGroup, b topic, c defaultTopic, d
 * defaultTopicQueueNums, e queueId, f sysFlag, g bornTimestamp, h flag, i properties, j
 * reconsumeTimes, k unitMode, l maxReconsumeTimes, m batch, n brokerName. The answer carries msgId
 * (the offsetMsgId; comma-joined for a batch), queueId, queueOffset, transactionId and the broker's
 * MSG_REGION / TRACE_ON.
 */
import { ResponseCode } from '../common/errors.js';
import { allocateOpaque, TIDEMQ_VERSION_ORDINAL, type RemotingCommand } from '../protocol/remoting-command.js';
import { RequestCode } from '../protocol/request-code.js';
import { brokerError } from './client-errors.js';
import { sendExtFieldsEncoder } from './send-header-encoder.js';
import { SendStatus, type BatchSendResult, type SendResult } from './message.js';
import type { MessageQueue } from './message-queue.js';

/** The topic whose route new topics borrow, and which the broker auto-creates from. */
export const DEFAULT_TOPIC = 'TBW102';

export interface SendHeader {
  producerGroup: string;
  topic: string;
  queueId: number;
  sysFlag: number;
  bornTimestamp: number;
  flag: number;
  properties: string;
  brokerName: string;
  defaultTopicQueueNums: number;
  reconsumeTimes?: number | undefined;
  maxReconsumeTimes?: number | undefined;
  batch: boolean;
}

/** Decimal text of 0..SMALL_INT_TEXT_COUNT-1: queue ids, flags and counts repeat on every send. */
const SMALL_INT_TEXT_COUNT = 1024;
const SMALL_INT_TEXT: readonly string[] = Array.from({ length: SMALL_INT_TEXT_COUNT }, (_, value) => String(value));

/** String(value), without allocating for the small non-negative integers every send repeats. */
export function intText(value: number): string {
  return (value & (SMALL_INT_TEXT_COUNT - 1)) === value ? SMALL_INT_TEXT[value]! : String(value);
}

/** The last bornTimestamp written and its text: at 100k sends/s about a hundred share each millisecond. */
let lastTimestampMs = -1;
let lastTimestampText = '';

function timestampText(timestampMs: number): string {
  if (timestampMs !== lastTimestampMs) {
    lastTimestampText = String(timestampMs);
    lastTimestampMs = timestampMs;
  }
  return lastTimestampText;
}

/** What a send request carries of the message (the producer's prepared message has these fields). */
export interface SendRequestMessage {
  readonly topic: string;
  readonly body: Buffer;
  readonly sysFlag: number;
  readonly flag: number;
  readonly properties: string;
  readonly reconsumeTimes?: number | undefined;
  readonly maxReconsumeTimes?: number | undefined;
}

/**
 * The SEND_MESSAGE_V2 (or SEND_BATCH_MESSAGE) request for `message` to `queue`. The header fields are
 * written in the same order as always (a..k, m, n, then l when set), so the frame is byte for byte
 * what createSendRequest gives for the same values.
 */
export function createSendRequestTo(producerGroup: string, defaultTopicQueueNums: number, message: SendRequestMessage, queue: MessageQueue, bornTimestamp: number, batch: boolean): RemotingCommand {
  const fields: Record<string, string> = {
    a: producerGroup,
    b: message.topic,
    c: DEFAULT_TOPIC,
    d: intText(defaultTopicQueueNums),
    e: intText(queue.queueId),
    f: intText(message.sysFlag),
    g: timestampText(bornTimestamp),
    h: intText(message.flag | 0),
    i: message.properties,
    j: intText(message.reconsumeTimes ?? 0),
    k: 'false',
    m: batch ? 'true' : 'false',
    n: queue.brokerName,
  };
  if (message.maxReconsumeTimes !== undefined) fields.l = intText(message.maxReconsumeTimes);
  return {
    code: batch ? RequestCode.SEND_BATCH_MESSAGE : RequestCode.SEND_MESSAGE_V2,
    language: 'JAVA',
    version: TIDEMQ_VERSION_ORDINAL,
    opaque: allocateOpaque(),
    flag: 0,
    extFields: fields,
    body: message.body,
    extFieldsEncoder: sendExtFieldsEncoder,
  };
}

export function createSendRequest(header: SendHeader, body: Buffer): RemotingCommand {
  return createSendRequestTo(
    header.producerGroup,
    header.defaultTopicQueueNums,
    { topic: header.topic, body, sysFlag: header.sysFlag, flag: header.flag, properties: header.properties, reconsumeTimes: header.reconsumeTimes, maxReconsumeTimes: header.maxReconsumeTimes },
    { topic: header.topic, brokerName: header.brokerName, queueId: header.queueId },
    header.bornTimestamp,
    header.batch,
  );
}

function statusOf(code: number): SendStatus | undefined {
  switch (code) {
    case ResponseCode.SUCCESS:
      return SendStatus.SEND_OK;
    case ResponseCode.FLUSH_DISK_TIMEOUT:
      return SendStatus.FLUSH_DISK_TIMEOUT;
    case ResponseCode.FLUSH_SLAVE_TIMEOUT:
      return SendStatus.FLUSH_SLAVE_TIMEOUT;
    case ResponseCode.SLAVE_NOT_AVAILABLE:
      return SendStatus.SLAVE_NOT_AVAILABLE;
    default:
      return undefined;
  }
}

/** The result of a single-message send; failure codes throw BrokerError. */
export function parseSendResponse(response: RemotingCommand, queue: MessageQueue, uniqueKey: string, address: string): SendResult {
  const status = statusOf(response.code);
  if (status === undefined) throw brokerError(response.code, response.remark, address, `send to ${queue.topic}`);
  const fields = response.extFields ?? {};
  const queueId = fields.queueId === undefined ? queue.queueId : Number(fields.queueId);
  return {
    status,
    msgId: uniqueKey,
    offsetMsgId: fields.msgId ?? '',
    queue: queueId === queue.queueId ? queue : { topic: queue.topic, brokerName: queue.brokerName, queueId },
    queueOffset: Number(fields.queueOffset ?? -1),
    transactionId: fields.transactionId,
    regionId: fields.MSG_REGION ?? 'DefaultRegion',
    traceOn: fields.TRACE_ON !== 'false',
  };
}

export function parseBatchSendResponse(response: RemotingCommand, queue: MessageQueue, uniqueKeys: string[], address: string): BatchSendResult {
  const single = parseSendResponse(response, queue, uniqueKeys.join(','), address);
  return { ...single, msgIds: uniqueKeys, offsetMsgIds: single.offsetMsgId === '' ? [] : single.offsetMsgId.split(',') };
}
