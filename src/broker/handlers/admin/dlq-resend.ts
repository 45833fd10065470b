/**
 * RESEND_DLQ_MESSAGE (10001, a TideMQ admin code): copies dead-lettered messages of a consumer group
 * from `%DLQ%group` back to their original topic, with no consumer of the group online.
 *
 * Why a new code: RocketMQ has no broker request for this. The Dashboard's "resend" of a DLQ message
 * is CONSUME_MESSAGE_DIRECTLY (309), which the broker relays to a live consumer of the group, so it
 * fails when none is online, which is the usual state of a group whose messages died. 10001 sits
 * outside every code RocketMQ assigns (its highest plain codes are in the 3000s, then 200050+).
 *
 * Request header:
 *   !consumerGroup  the group whose DLQ holds the messages
 *   msgId           one message: the offsetMsgId of its DLQ copy (as a pull of the DLQ shows it) or its
 *                   UNIQ_KEY (the id clients and the Dashboard show); the newest copy with that key
 *   queueOffset     or: the first DLQ queue offset of a range (the DLQ has one queue, 0)
 *   maxCount        with queueOffset: how many consecutive DLQ messages (default 1, at most 1000,
 *                   and at most 16 MiB of them: the answer lists the ones re-sent)
 * Answer: SUCCESS, extField `resentCount`, JSON body
 *   `{"resent":[{"dlqQueueOffset","dlqMsgId","topic","queueId","queueOffset","msgId"}]}` (msgId = the
 *   new copy's offsetMsgId); 17 when the DLQ or the original topic does not exist, 22 when nothing
 *   matches, 29 for a bad header or a message that does not name its original topic, 16 when the
 *   broker or topic is not writable, 10 when SYNC_FLUSH could not make the copies durable in time.
 *
 * The copy goes to the topic named by DLQ_ORIGIN_TOPIC, else RETRY_TOPIC (set by every send-back), on
 * a random writable queue, with reconsumeTimes 0, its body, tags, keys, UNIQ_KEY and user properties,
 * and without the retry bookkeeping (RETRY_TOPIC, ORIGIN_MESSAGE_ID, RECONSUME_TIME,
 * MAX_RECONSUME_TIMES, DELAY, timer and transaction properties), so it is delivered at once as a
 * fresh message. The DLQ copy stays (the DLQ is append-only); each call appends another copy.
 *
 * Every copy is built and passes the store's record checks before the first is appended, so a
 * refused request stores nothing. SUCCESS follows the store's promise for the flush mode (SYNC_FLUSH:
 * fdatasync; ASYNC_FLUSH: the write to the kernel).
 */
import { randomInt } from 'node:crypto';
import { isTideError, ResponseCode, TideError } from '../../../common/errors.js';
import { createOffsetMessageId, decodeOffsetMessageId } from '../../../protocol/message-id.js';
import { decodeProperties, MessageProperty } from '../../../protocol/message-properties.js';
import { decodeRecord, TRANSACTION_TYPE_MASK, type DecodedRecord } from '../../../protocol/message-record.js';
import type { RequestHandler } from '../../../protocol/remoting-command.js';
import { isWriteable } from '../../../protocol/route-data.js';
import type { BrokerDeps } from '../../broker-deps.js';
import { fieldsOf, optionalInteger, optionalString } from '../../header-fields.js';
import type { OutgoingMessage } from '../../message-writer.js';
import { waitBeforeAck } from '../../../store/message-store.js';
import { dlqTopicOf } from '../../topic-names.js';
import { validateTopic } from '../../topic-config-manager.js';
import { answer, jsonBody } from '../handler-support.js';
import { checkStorable } from '../send-message.js';
import { requiredGroup } from './admin-support.js';

/** TideMQ's own admin request code (see above for why it is not a RocketMQ one). */
export const RESEND_DLQ_MESSAGE = 10001;

/** Most messages one request re-sends: a bound on the work and the answer size. */
export const MAX_RESEND_COUNT = 1000;

/**
 * Most bytes of DLQ records one request reads (at least one record is always read); a range stops
 * early past it, and the answer's list says how far it got.
 */
const MAX_RESEND_BYTES = 16 * 1024 * 1024;

/** Copies with the same UNIQ_KEY looked at when resending by key (the newest one is used). */
const MAX_KEY_MATCHES = 32;

/** Properties that belong to a retry or delivery history, not to the message. */
const HISTORY_PROPERTIES: readonly string[] = [
  MessageProperty.RETRY_TOPIC,
  MessageProperty.ORIGIN_MESSAGE_ID,
  MessageProperty.RECONSUME_TIME,
  MessageProperty.MAX_RECONSUME_TIMES,
  MessageProperty.DELAY,
  MessageProperty.TIMER_DELIVER_MS,
  MessageProperty.TIMER_DELAY_SEC,
  MessageProperty.TIMER_DELAY_MS,
  MessageProperty.TIMER_OUT_MS,
  MessageProperty.REAL_TOPIC,
  MessageProperty.REAL_QID,
  MessageProperty.TRAN_MSG,
  MessageProperty.TRAN_PREPARED_QUEUE_OFFSET,
  MessageProperty.TRANSACTION_CHECK_TIMES,
  MessageProperty.DLQ_ORIGIN_TOPIC,
  MessageProperty.DLQ_ORIGIN_MESSAGE_ID,
  MessageProperty.MIN_OFFSET,
  MessageProperty.MAX_OFFSET,
  MessageProperty.POP_CK,
];

interface ResentEntry {
  dlqQueueOffset: number;
  dlqMsgId: string;
  topic: string;
  queueId: number;
  queueOffset: number;
  msgId: string;
}

function invalid(message: string, responseCode: number = ResponseCode.INVALID_PARAMETER): TideError {
  return new TideError('INVALID_PARAMETER', message, { responseCode });
}

/** The DLQ records a request names (decoded; bodies are views into copies the store made). */
function findDlqRecords(deps: BrokerDeps, dlqTopic: string, msgId: string | undefined, queueOffset: number | undefined, maxCount: number): DecodedRecord[] {
  if (msgId !== undefined) {
    // Java UNIQ_KEYs are 32 hex characters too, so an id that decodes as an offsetMsgId may be a key
    // whose "offset" points anywhere: anything but a record of this DLQ there means "try the key".
    const byOffset = decodeOffsetMessageId(msgId);
    if (byOffset !== null && byOffset.physicalOffset >= 0) {
      let bytes: Buffer | null = null;
      try {
        bytes = deps.store.readRecord(byOffset.physicalOffset);
      } catch (error) {
        if (!isTideError(error)) throw error;
      }
      const record = bytes === null ? null : decodeRecord(bytes);
      if (record !== null && record.topic === dlqTopic && record.physicalOffset === byOffset.physicalOffset) return [record];
    }
    // A UNIQ_KEY: the key index may collide, so compare the key itself; newest copy first.
    const found = deps.store.queryMessageByKey(dlqTopic, msgId, MAX_KEY_MATCHES, 0, Number.MAX_SAFE_INTEGER);
    for (const bytes of found.records) {
      const record = decodeRecord(bytes);
      if (record !== null && record.topic === dlqTopic && decodeProperties(record.properties).get(MessageProperty.UNIQ_KEY) === msgId) return [record];
    }
    return [];
  }
  const result = deps.store.getMessages(dlqTopic, 0, queueOffset!, maxCount, MAX_RESEND_BYTES);
  return result.records.map((bytes) => decodeRecord(bytes)).filter((record): record is DecodedRecord => record !== null);
}

interface PlannedResend {
  record: DecodedRecord;
  dlqMsgId: string;
  /** The copy to store: checked, not yet written. */
  message: OutgoingMessage;
}

export function createResendDlqMessageHandler(deps: BrokerDeps): RequestHandler {
  const { config, store, topicConfigManager, writer, logger } = deps;

  /**
   * The copy of a DLQ record that goes back to its original topic, checked as the store will check
   * it; throws when it cannot be re-sent (nothing is written for any record then).
   */
  function plan(record: DecodedRecord): PlannedResend {
    const properties = decodeProperties(record.properties);
    const dlqMsgId = createOffsetMessageId({ ip: Buffer.from(record.storeHost.ip), port: record.storeHost.port }, record.physicalOffset);
    const originTopic = properties.get(MessageProperty.DLQ_ORIGIN_TOPIC) || properties.get(MessageProperty.RETRY_TOPIC);
    if (!originTopic) throw invalid(`the DLQ message ${dlqMsgId} (queue offset ${record.queueOffset}) does not name its original topic (no RETRY_TOPIC or DLQ_ORIGIN_TOPIC property)`);
    const topic = validateTopic(originTopic);
    const topicConfig = topicConfigManager.get(topic);
    if (!topicConfig) throw invalid(`the original topic[${topic}] of DLQ message ${dlqMsgId} does not exist; create it first with \`tidemq admin updateTopic -t ${topic}\``, ResponseCode.TOPIC_NOT_EXIST);
    if (!isWriteable(topicConfig.perm) || topicConfig.writeQueueNums <= 0) {
      throw new TideError('NO_PERMISSION', `the topic[${topic}] sending message is forbidden`);
    }
    // Without DELAY, timer and transaction properties the writer stores the copy as it is, unparked.
    for (const name of HISTORY_PROPERTIES) properties.delete(name);
    properties.set(MessageProperty.CLUSTER, config.brokerClusterName);
    const message: OutgoingMessage = {
      topic,
      queueId: randomInt(topicConfig.writeQueueNums),
      flag: record.flag,
      sysFlag: record.sysFlag & ~TRANSACTION_TYPE_MASK,
      bornTimestamp: record.bornTimestamp,
      bornHost: { ip: Buffer.from(record.bornHost.ip), port: record.bornHost.port },
      reconsumeTimes: 0,
      preparedTransactionOffset: 0,
      body: Buffer.from(record.body),
      properties,
    };
    checkStorable(message, deps);
    return { record, dlqMsgId, message };
  }

  function resend(group: string, planned: PlannedResend): { entry: ResentEntry; endOffset: number } {
    const { record, dlqMsgId, message } = planned;
    const written = writer.write(message);
    logger.info({ group, dlqMsgId, topic: message.topic, queueId: written.queueId, uniqueKey: message.properties.get(MessageProperty.UNIQ_KEY) }, 'DLQ message re-sent to its original topic');
    return {
      endOffset: written.result.endOffset,
      entry: {
        dlqQueueOffset: record.queueOffset,
        dlqMsgId,
        topic: message.topic,
        queueId: written.queueId,
        queueOffset: written.result.queueOffset,
        msgId: createOffsetMessageId(deps.runtime.storeHost, written.result.physicalOffset),
      },
    };
  }

  return async (request) => {
    const fields = fieldsOf(request);
    const group = requiredGroup(fields, 'consumerGroup');
    const msgId = optionalString(fields, 'msgId')?.trim() || undefined;
    const queueOffset = optionalInteger(fields, 'queueOffset');
    const maxCount = optionalInteger(fields, 'maxCount') ?? 1;
    if ((msgId === undefined) === (queueOffset === undefined)) throw invalid('name the DLQ message by exactly one of msgId or queueOffset');
    if (queueOffset !== undefined && queueOffset < 0) throw invalid(`queueOffset ${queueOffset} is negative`);
    if (maxCount < 1 || maxCount > MAX_RESEND_COUNT) throw invalid(`maxCount ${maxCount} is outside 1-${MAX_RESEND_COUNT}`);
    if (!isWriteable(config.brokerPermission)) throw new TideError('NO_PERMISSION', `the broker[${config.brokerIP1}] sending message is forbidden`);
    const dlqTopic = dlqTopicOf(group);
    if (!topicConfigManager.get(dlqTopic)) throw invalid(`group ${group} has no dead-letter queue (topic[${dlqTopic}] not exist)`, ResponseCode.TOPIC_NOT_EXIST);

    const records = findDlqRecords(deps, dlqTopic, msgId, queueOffset, maxCount);
    if (records.length === 0) {
      const what = msgId !== undefined ? `msgId ${msgId}` : `queue offset ${queueOffset} (the DLQ holds offsets ${store.getMinOffsetInQueue(dlqTopic, 0)}-${store.getMaxOffsetInQueue(dlqTopic, 0) - 1})`;
      return answer(request, ResponseCode.QUERY_NOT_FOUND, `no message in ${dlqTopic} with ${what}`);
    }
    // Every record is checked before any is written, so a refused request re-sends nothing.
    const planned = records.map(plan);
    const resent: ResentEntry[] = [];
    let lastEndOffset = 0;
    for (const one of planned) {
      const { entry, endOffset } = resend(group, one);
      resent.push(entry);
      lastEndOffset = endOffset;
    }
    const durable = (await waitBeforeAck(store, lastEndOffset, true)) === 'PUT_OK';
    const code: number = durable ? ResponseCode.SUCCESS : ResponseCode.FLUSH_DISK_TIMEOUT;
    const remark = durable ? undefined : 'the copies are stored but not yet flushed to disk within syncFlushTimeout';
    return answer(request, code, remark, { resentCount: String(resent.length) }, jsonBody({ resent }));
  };
}
