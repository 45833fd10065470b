/**
 * The records of a transaction and what is derived from them, as RocketMQ lays them out:
 *
 * - half message: the producer's message parked in RMQ_SYS_TRANS_HALF_TOPIC queue 0, with REAL_TOPIC /
 *   REAL_QID (where it goes on commit), PGROUP (who to ask), `__transactionId__` = UNIQ_KEY, and the
 *   transaction bits of its sysFlag reset to NOT_TYPE so the store gives it a consume-queue entry (the
 *   half queue offset is the transaction's identity: `tranStateTableOffset`).
 * - committed message: the half's body and properties on REAL_TOPIC / REAL_QID with sysFlag COMMIT and
 *   PREPARED_TRANSACTION_OFFSET = the half's commit-log offset (which lets the check service find a
 *   commit whose op record a crash lost), without REAL_TOPIC, REAL_QID, TRAN_MSG and the check count.
 * - op record: RMQ_SYS_TRANS_OP_HALF_TOPIC queue 0, tag `d`, body = finished half offsets (op-body.ts).
 * - discarded copy: a half given up after transactionCheckMax checks, copied to
 *   TRANS_CHECK_MAX_TIME_TOPIC queue 0 so an operator can still find it (RocketMQ does the same).
 * - CHECK_TRANSACTION_STATE (39): header topic (the half topic, as RocketMQ 5 sends it),
 *   tranStateTableOffset, commitLogOffset, msgId = transactionId = UNIQ_KEY, offsetMsgId, bname; body =
 *   the half record re-encoded with the real topic and queue id (queue and commit-log offsets stay the
 *   half's, because the producer answers END_TRANSACTION with them) and TRANSACTION_CHECK_TIMES set.
 */
import type { HostAddress } from '../../protocol/host-address.js';
import { decodeProperties, encodeProperties, indexKeysOf, MessageProperty, type MessageProperties } from '../../protocol/message-properties.js';
import { encodeRecord, SysFlag, TRANSACTION_TYPE_MASK, type DecodedRecord } from '../../protocol/message-record.js';
import { createRequest, type RemotingCommand } from '../../protocol/remoting-command.js';
import { RequestCode } from '../../protocol/request-code.js';
import type { AppendInput } from '../../store/types.js';
import { tagsCodeOf, type OutgoingMessage } from '../message-writer.js';
import { SystemTopic } from '../topic-names.js';
import { encodeOpBody, OP_REMOVE_TAG } from './op-body.js';

export const HALF_QUEUE_ID = 0;
export const OP_QUEUE_ID = 0;

/** Properties a committed message must not carry (they describe the parked half). */
const HALF_ONLY_PROPERTIES = [
  MessageProperty.REAL_TOPIC,
  MessageProperty.REAL_QID,
  MessageProperty.TRAN_MSG,
  MessageProperty.TRANSACTION_CHECK_TIMES,
  MessageProperty.TRAN_PREPARED_QUEUE_OFFSET,
] as const;

/**
 * Whether a send is the first phase of a transaction: TRAN_MSG=true, except a message a consumer
 * re-sends for retry with a delay level (Java treats that one as a normal message).
 */
export function isTransactionalSend(properties: MessageProperties, reconsumeTimes: number): boolean {
  const prepared = properties.get(MessageProperty.TRAN_MSG);
  if (prepared === undefined || prepared.toLowerCase() !== 'true') return false;
  return !(reconsumeTimes > 0 && properties.has(MessageProperty.DELAY));
}

function hostCopy(host: { ip: Buffer; port: number }): HostAddress {
  return { ip: Buffer.from(host.ip), port: host.port };
}

/** The half record for a transactional send (the message's own properties are left untouched). */
export function halfAppendInput(message: OutgoingMessage, producerGroup: string, storeHost: HostAddress): AppendInput {
  const properties = new Map(message.properties);
  properties.set(MessageProperty.REAL_TOPIC, message.topic);
  properties.set(MessageProperty.REAL_QID, String(message.queueId));
  if (!properties.get(MessageProperty.PGROUP)) properties.set(MessageProperty.PGROUP, producerGroup);
  const uniqueKey = properties.get(MessageProperty.UNIQ_KEY);
  if (uniqueKey) properties.set(MessageProperty.TRANSACTION_ID, uniqueKey);
  const encoded = encodeProperties(properties);
  return {
    topic: SystemTopic.TRANS_HALF,
    queueId: HALF_QUEUE_ID,
    flag: message.flag,
    sysFlag: (message.sysFlag & ~TRANSACTION_TYPE_MASK) | SysFlag.TRANSACTION_NOT_TYPE,
    bornTimestamp: message.bornTimestamp,
    bornHost: message.bornHost,
    storeHost,
    reconsumeTimes: message.reconsumeTimes,
    preparedTransactionOffset: 0,
    body: message.body,
    properties: encoded,
    tagsCode: tagsCodeOf(properties.get(MessageProperty.TAGS)),
    keys: indexKeysOf(encoded),
  };
}

/** Where a half goes on commit; undefined when REAL_TOPIC / REAL_QID are missing or malformed. */
export function realDestinationOf(properties: MessageProperties): { topic: string; queueId: number } | undefined {
  const topic = properties.get(MessageProperty.REAL_TOPIC);
  const queueIdText = properties.get(MessageProperty.REAL_QID);
  if (!topic || queueIdText === undefined || !/^\d{1,9}$/.test(queueIdText)) return undefined;
  return { topic, queueId: Number(queueIdText) };
}

/** The message a commit stores; undefined when the half does not say where it goes. */
export function committedMessageOf(half: DecodedRecord): OutgoingMessage | undefined {
  const properties = decodeProperties(half.properties);
  const destination = realDestinationOf(properties);
  if (destination === undefined) return undefined;
  for (const key of HALF_ONLY_PROPERTIES) properties.delete(key);
  return {
    topic: destination.topic,
    queueId: destination.queueId,
    flag: half.flag,
    sysFlag: (half.sysFlag & ~TRANSACTION_TYPE_MASK) | SysFlag.TRANSACTION_COMMIT,
    bornTimestamp: half.bornTimestamp,
    bornHost: hostCopy(half.bornHost),
    reconsumeTimes: half.reconsumeTimes,
    preparedTransactionOffset: half.physicalOffset,
    body: Buffer.from(half.body),
    properties,
  };
}

/** The op record that marks half offsets finished. */
export function opAppendInput(halfOffsets: readonly number[], storeHost: HostAddress, nowMs: number): AppendInput {
  const properties = encodeProperties({ [MessageProperty.TAGS]: OP_REMOVE_TAG });
  return {
    topic: SystemTopic.TRANS_OP_HALF,
    queueId: OP_QUEUE_ID,
    flag: 0,
    sysFlag: 0,
    bornTimestamp: nowMs,
    bornHost: storeHost,
    storeHost,
    reconsumeTimes: 0,
    preparedTransactionOffset: 0,
    body: encodeOpBody(halfOffsets),
    properties,
    tagsCode: tagsCodeOf(OP_REMOVE_TAG),
    keys: [],
  };
}

/** The copy of a discarded half kept in TRANS_CHECK_MAX_TIME_TOPIC. */
export function discardedCopyInput(half: DecodedRecord, checkTimes: number, storeHost: HostAddress): AppendInput {
  const properties = decodeProperties(half.properties);
  properties.set(MessageProperty.TRANSACTION_CHECK_TIMES, String(checkTimes));
  const encoded = encodeProperties(properties);
  return {
    topic: SystemTopic.TRANS_CHECK_MAX_TIME,
    queueId: 0,
    flag: half.flag,
    sysFlag: half.sysFlag & ~TRANSACTION_TYPE_MASK,
    bornTimestamp: half.bornTimestamp,
    bornHost: hostCopy(half.bornHost),
    storeHost,
    reconsumeTimes: half.reconsumeTimes,
    preparedTransactionOffset: half.physicalOffset,
    body: Buffer.from(half.body),
    properties: encoded,
    tagsCode: tagsCodeOf(properties.get(MessageProperty.TAGS)),
    keys: indexKeysOf(encoded),
  };
}

export interface CheckRequestInput {
  half: DecodedRecord;
  /** Checks sent for this half, this one included. */
  checkTimes: number;
  offsetMsgId: string;
  brokerName: string;
}

/** CHECK_TRANSACTION_STATE (39) for one open half; undefined when the half has no real destination. */
export function checkRequestOf(input: CheckRequestInput): RemotingCommand | undefined {
  const { half } = input;
  const properties = decodeProperties(half.properties);
  const destination = realDestinationOf(properties);
  if (destination === undefined) return undefined;
  properties.set(MessageProperty.TRANSACTION_CHECK_TIMES, String(input.checkTimes));
  const body = encodeRecord(
    {
      topic: destination.topic,
      queueId: destination.queueId,
      flag: half.flag,
      sysFlag: half.sysFlag,
      bornTimestamp: half.bornTimestamp,
      bornHost: hostCopy(half.bornHost),
      storeHost: hostCopy(half.storeHost),
      reconsumeTimes: half.reconsumeTimes,
      preparedTransactionOffset: half.preparedTransactionOffset,
      body: Buffer.from(half.body),
      properties: encodeProperties(properties),
    },
    half.queueOffset,
    half.physicalOffset,
    half.storeTimestamp,
  );
  const uniqueKey = properties.get(MessageProperty.UNIQ_KEY) ?? input.offsetMsgId;
  const extFields: Record<string, string> = {
    topic: SystemTopic.TRANS_HALF,
    tranStateTableOffset: String(half.queueOffset),
    commitLogOffset: String(half.physicalOffset),
    msgId: uniqueKey,
    transactionId: uniqueKey,
    offsetMsgId: input.offsetMsgId,
    bname: input.brokerName,
  };
  return createRequest(RequestCode.CHECK_TRANSACTION_STATE, extFields, body);
}
