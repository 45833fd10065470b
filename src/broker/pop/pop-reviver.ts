/**
 * What happens to a popped message nobody acked in time: it is stored again, as a new message, in the
 * group's pop retry topic `%RETRY%{group}_{topic}` (queue 0, created on first use with one queue) with
 * reconsumeTimes + 1, so the next pop hands it out with its delivery attempt raised; once its
 * reconsumeTimes has reached the group's retryMaxTimes (default 16, i.e. after retryMaxTimes + 1
 * deliveries) it goes to `%DLQ%{group}` instead. The copy keeps body, flag, sysFlag, born time and
 * properties (TAGS included, so filters still match it); it gets `1ST_POP_TIME` on its first revive
 * and drops DELAY so the writer does not park it again. A message the store no longer has (retention)
 * is skipped.
 */
import { isTideError } from '../../common/errors.js';
import type { Logger } from '../../common/logger.js';
import { createOffsetMessageId } from '../../protocol/message-id.js';
import { decodeProperties, MessageProperty } from '../../protocol/message-properties.js';
import { decodeRecord, type DecodedRecord } from '../../protocol/message-record.js';
import { Perm } from '../../protocol/route-data.js';
import type { MessageStoreApi } from '../../store/types.js';
import type { MessageWriter } from '../message-writer.js';
import type { SubscriptionGroupManager } from '../subscription-group-manager.js';
import type { TopicConfigManager } from '../topic-config-manager.js';
import { dlqTopicOf } from '../topic-names.js';
import { popRetryTopicOf } from './receipt-handle.js';

/** RocketMQ's MessageConst.PROPERTY_FIRST_POP_TIME. */
export const FIRST_POP_TIME_PROPERTY = '1ST_POP_TIME';
/** retryMaxTimes of a group without a config. */
const DEFAULT_RETRY_MAX_TIMES = 16;

export type RestoreTarget = 'RETRY' | 'DLQ' | 'GONE';

export interface RestoreOutcome {
  target: RestoreTarget;
  /** Physical offset just past the stored copy (for waitDurable); -1 when nothing was stored. */
  endOffset: number;
}

export interface PopReviverDeps {
  store: MessageStoreApi;
  writer: MessageWriter;
  topicConfigManager: TopicConfigManager;
  subscriptionGroupManager: SubscriptionGroupManager;
  logger: Logger;
}

export class PopReviver {
  constructor(private readonly deps: PopReviverDeps) {}

  retryMaxTimesOf(group: string): number {
    return this.deps.subscriptionGroupManager.get(group)?.retryMaxTimes ?? DEFAULT_RETRY_MAX_TIMES;
  }

  /** The stored record at a queue offset (a copy), or null when the store no longer has it. */
  readMessage(topic: string, queueId: number, queueOffset: number): Buffer | null {
    const { store, logger } = this.deps;
    const entry = store.getConsumeQueueEntry(topic, queueId, queueOffset);
    if (entry === null || entry.size <= 0) return null;
    try {
      return store.readRecord(entry.physicalOffset);
    } catch (error) {
      if (!isTideError(error, 'STORE_CORRUPT')) throw error;
      logger.error({ err: error, topic, queueId, queueOffset }, 'a popped message is corrupt in the store; it is not delivered again');
      return null;
    }
  }

  /**
   * Stores the un-acked message at (topic, queueId, queueOffset) again: in the pop retry topic, or in
   * the DLQ once its attempts are used up. Throws the store's TideErrors (DISK_FULL, ...).
   */
  restore(group: string, originalTopic: string, topic: string, queueId: number, queueOffset: number, popTimeMs: number): RestoreOutcome {
    const bytes = this.readMessage(topic, queueId, queueOffset);
    const record = bytes === null ? null : decodeRecord(bytes);
    if (record === null) return { target: 'GONE', endOffset: -1 };
    if (record.reconsumeTimes >= this.retryMaxTimesOf(group)) return { target: 'DLQ', endOffset: this.moveToDeadLetterQueue(group, originalTopic, record) };
    const properties = decodeProperties(record.properties);
    properties.delete(MessageProperty.DELAY);
    properties.delete(MessageProperty.POP_CK);
    if (record.reconsumeTimes === 0 || !properties.has(FIRST_POP_TIME_PROPERTY)) properties.set(FIRST_POP_TIME_PROPERTY, String(popTimeMs));
    const retryTopic = popRetryTopicOf(group, originalTopic);
    this.deps.topicConfigManager.createTopicInSendMessageBackMethod(retryTopic, 1, Perm.READ | Perm.WRITE, 0);
    const written = this.deps.writer.write({
      topic: retryTopic,
      queueId: 0,
      flag: record.flag,
      sysFlag: record.sysFlag,
      bornTimestamp: record.bornTimestamp,
      bornHost: { ip: Buffer.from(record.bornHost.ip), port: record.bornHost.port },
      reconsumeTimes: record.reconsumeTimes + 1,
      preparedTransactionOffset: record.preparedTransactionOffset,
      body: Buffer.from(record.body),
      properties,
    });
    return { target: 'RETRY', endOffset: written.result.endOffset };
  }

  /** Stores a copy of `record` in `%DLQ%{group}`; returns the end offset of the copy. */
  moveToDeadLetterQueue(group: string, originalTopic: string, record: DecodedRecord): number {
    const properties = decodeProperties(record.properties);
    properties.delete(MessageProperty.DELAY);
    properties.delete(MessageProperty.POP_CK);
    if (!properties.has(MessageProperty.RETRY_TOPIC)) properties.set(MessageProperty.RETRY_TOPIC, originalTopic);
    const originId = properties.get(MessageProperty.ORIGIN_MESSAGE_ID)
      || createOffsetMessageId({ ip: Buffer.from(record.storeHost.ip), port: record.storeHost.port }, record.physicalOffset);
    properties.set(MessageProperty.ORIGIN_MESSAGE_ID, originId);
    properties.set(MessageProperty.DLQ_ORIGIN_TOPIC, originalTopic);
    properties.set(MessageProperty.DLQ_ORIGIN_MESSAGE_ID, properties.get(MessageProperty.UNIQ_KEY) ?? originId);
    const topic = dlqTopicOf(group);
    this.deps.topicConfigManager.createTopicInSendMessageBackMethod(topic, 1, Perm.READ | Perm.WRITE, 0);
    const written = this.deps.writer.write({
      topic,
      queueId: 0,
      flag: record.flag,
      sysFlag: record.sysFlag,
      bornTimestamp: record.bornTimestamp,
      bornHost: { ip: Buffer.from(record.bornHost.ip), port: record.bornHost.port },
      reconsumeTimes: record.reconsumeTimes + 1,
      preparedTransactionOffset: record.preparedTransactionOffset,
      body: Buffer.from(record.body),
      properties,
    });
    this.deps.logger.info({ group, topic: originalTopic, reconsumeTimes: record.reconsumeTimes, uniqueKey: properties.get(MessageProperty.UNIQ_KEY) }, 'popped message moved to the DLQ');
    return written.result.endOffset;
  }
}
