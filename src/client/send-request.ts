/**
 * SEND_MESSAGE_V2 (310) and SEND_BATCH_MESSAGE (320) requests and their answers (reference §2.2).
 * The V2 header uses one-letter field names: a producerGroup, b topic, c defaultTopic, d
 * defaultTopicQueueNums, e queueId, f sysFlag, g bornTimestamp, h flag, i properties, j
 * reconsumeTimes, k unitMode, l maxReconsumeTimes, m batch, n brokerName. The answer carries msgId
 * (the offsetMsgId; comma-joined for a batch), queueId, queueOffset, transactionId and the broker's
 * MSG_REGION / TRACE_ON.
 */
import { ResponseCode } from '../common/errors.js';
import { createRequest, type RemotingCommand } from '../protocol/remoting-command.js';
import { RequestCode } from '../protocol/request-code.js';
import { brokerError } from './client-errors.js';
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

export function createSendRequest(header: SendHeader, body: Buffer): RemotingCommand {
  const fields: Record<string, string> = {
    a: header.producerGroup,
    b: header.topic,
    c: DEFAULT_TOPIC,
    d: String(header.defaultTopicQueueNums),
    e: String(header.queueId),
    f: String(header.sysFlag),
    g: String(header.bornTimestamp),
    h: String(header.flag | 0),
    i: header.properties,
    j: String(header.reconsumeTimes ?? 0),
    k: 'false',
    m: header.batch ? 'true' : 'false',
    n: header.brokerName,
  };
  if (header.maxReconsumeTimes !== undefined) fields.l = String(header.maxReconsumeTimes);
  return createRequest(header.batch ? RequestCode.SEND_BATCH_MESSAGE : RequestCode.SEND_MESSAGE_V2, fields, body);
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
