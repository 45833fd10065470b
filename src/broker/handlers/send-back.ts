/**
 * CONSUMER_SEND_MSG_BACK (36): a consumer failed to process a message and hands it back. The broker
 * loads it by commit-log offset and stores a copy with reconsumeTimes + 1, RETRY_TOPIC (the original
 * topic, if not set yet) and ORIGIN_MESSAGE_ID (the first offsetMsgId, kept across retries):
 * - to `%RETRY%group` with delay level `3 + reconsumeTimes` (or the requested level when > 0), so it
 *   comes back after 10 s, 30 s, 1 min, ... through the schedule service;
 * - to `%DLQ%group` (1 queue, readable and writable) once reconsumeTimes ≥ the group's retryMaxTimes
 *   (or the header's maxReconsumeTimes), or when the client asks with a negative delay level.
 * A group with retryQueueNums = 0 drops the message (SUCCESS), as in Java.
 *
 * SUCCESS tells the consumer the copy is safe, so it moves its offset past the original: the answer
 * waits for the store's promise of the flush mode (SYNC_FLUSH: fdatasync; ASYNC_FLUSH: the write to
 * the kernel). A copy not durable within syncFlushTimeout is answered FLUSH_DISK_TIMEOUT; like any
 * failed send-back, the client then re-sends the message itself or consumes it again.
 */
import { randomInt } from 'node:crypto';
import { ResponseCode, TideError } from '../../common/errors.js';
import { createOffsetMessageId } from '../../protocol/message-id.js';
import { decodeProperties, MessageProperty } from '../../protocol/message-properties.js';
import { decodeRecord } from '../../protocol/message-record.js';
import type { RequestHandler } from '../../protocol/remoting-command.js';
import { waitBeforeAck } from '../../store/message-store.js';
import type { BrokerDeps } from '../broker-deps.js';
import { fieldsOf, optionalInteger, requiredInteger, requiredString } from '../header-fields.js';
import { isWriteable, Perm } from '../../protocol/route-data.js';
import { dlqTopicOf, retryTopicOf } from '../topic-names.js';
import { answer } from './handler-support.js';

export function createConsumerSendMsgBackHandler(deps: BrokerDeps): RequestHandler {
  const { config, store, writer, subscriptionGroupManager, topicConfigManager, logger } = deps;
  return async (request) => {
    const fields = fieldsOf(request);
    const offset = requiredInteger(fields, 'offset');
    const group = requiredString(fields, 'group');
    const delayLevel = requiredInteger(fields, 'delayLevel');
    const headerMaxReconsumeTimes = optionalInteger(fields, 'maxReconsumeTimes');
    const groupConfig = subscriptionGroupManager.findOrCreate(group);
    if (!isWriteable(config.brokerPermission)) {
      throw new TideError('NO_PERMISSION', `the broker[${config.brokerIP1}] sending message is forbidden`);
    }
    if (groupConfig.retryQueueNums <= 0) return answer(request);

    const bytes = offset >= 0 ? store.readRecord(offset) : null;
    const record = bytes === null ? null : decodeRecord(bytes);
    if (record === null) return answer(request, ResponseCode.SYSTEM_ERROR, `look message by offset failed, ${offset}`);

    const properties = decodeProperties(record.properties);
    if (!properties.has(MessageProperty.RETRY_TOPIC)) properties.set(MessageProperty.RETRY_TOPIC, record.topic);
    const maxReconsumeTimes = headerMaxReconsumeTimes ?? groupConfig.retryMaxTimes;
    const toDeadLetterQueue = record.reconsumeTimes >= maxReconsumeTimes || delayLevel < 0;

    let topic: string;
    let queueId: number;
    if (toDeadLetterQueue) {
      topic = dlqTopicOf(group);
      queueId = 0;
      topicConfigManager.createTopicInSendMessageBackMethod(topic, 1, Perm.READ | Perm.WRITE, 0);
      properties.delete(MessageProperty.DELAY);
    } else {
      topic = retryTopicOf(group);
      queueId = randomInt(groupConfig.retryQueueNums);
      const retryTopic = topicConfigManager.createTopicInSendMessageBackMethod(topic, groupConfig.retryQueueNums, Perm.READ | Perm.WRITE, 0);
      if (!isWriteable(retryTopic.perm)) throw new TideError('NO_PERMISSION', `the topic[${topic}] sending message is forbidden`);
      if (queueId >= retryTopic.writeQueueNums) queueId = 0;
      properties.set(MessageProperty.DELAY, String(delayLevel === 0 ? 3 + record.reconsumeTimes : delayLevel));
    }
    if (!properties.get(MessageProperty.ORIGIN_MESSAGE_ID)) {
      properties.set(MessageProperty.ORIGIN_MESSAGE_ID, createOffsetMessageId({ ip: Buffer.from(record.storeHost.ip), port: record.storeHost.port }, offset));
    }
    const written = writer.write({
      topic,
      queueId,
      flag: record.flag,
      sysFlag: record.sysFlag,
      bornTimestamp: record.bornTimestamp,
      bornHost: { ip: Buffer.from(record.bornHost.ip), port: record.bornHost.port },
      reconsumeTimes: record.reconsumeTimes + 1,
      preparedTransactionOffset: record.preparedTransactionOffset,
      body: Buffer.from(record.body),
      properties,
    });
    if (toDeadLetterQueue) {
      logger.info({ group, topic: properties.get(MessageProperty.RETRY_TOPIC), reconsumeTimes: record.reconsumeTimes, uniqueKey: properties.get(MessageProperty.UNIQ_KEY) }, 'message sent to the DLQ');
    }
    if ((await waitBeforeAck(store, written.result.endOffset, true)) !== 'PUT_OK') {
      return answer(request, ResponseCode.FLUSH_DISK_TIMEOUT, `the ${toDeadLetterQueue ? 'dead-letter' : 'retry'} copy is stored but not yet flushed to disk within syncFlushTimeout`);
    }
    return answer(request);
  };
}
