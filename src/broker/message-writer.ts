/**
 * The broker's one way into the store for messages it builds (sends, send-backs, delayed deliveries).
 * It computes what the store needs besides the record: the consume-queue tags code (Java hash of TAGS)
 * and the keys to index; and it parks 4.x delayed messages (property DELAY = level > 0) in
 * SCHEDULE_TOPIC_XXXX queue level−1 with REAL_TOPIC/REAL_QID kept in the properties and the delivery
 * time as the tags code, which lets the schedule service find due messages from the consume queue alone.
 */
import { TideError } from '../common/errors.js';
import { javaStringHashCode } from '../common/java-hash.js';
import type { HostAddress } from '../protocol/host-address.js';
import { encodeProperties, indexKeysOf, MessageProperty, type MessageProperties } from '../protocol/message-properties.js';
import { SysFlag, TRANSACTION_TYPE_MASK } from '../protocol/message-record.js';
import type { DecodedRecord } from '../protocol/message-record.js';
import { getProperty } from '../protocol/message-properties.js';
import type { AppendResult, MessageStoreApi } from '../store/types.js';
import { SystemTopic } from './topic-names.js';

/** A message the broker is about to store; `properties` is decoded so handlers can edit it. */
export interface OutgoingMessage {
  topic: string;
  queueId: number;
  flag: number;
  sysFlag: number;
  bornTimestamp: number;
  bornHost: HostAddress;
  reconsumeTimes: number;
  preparedTransactionOffset: number;
  body: Buffer;
  properties: MessageProperties;
}

export interface WrittenMessage {
  result: AppendResult;
  /** Where the record went (SCHEDULE_TOPIC_XXXX for a delayed message). */
  topic: string;
  queueId: number;
}

/** Java's `tagsString2tagsCode`: 0 without a tag. */
export function tagsCodeOf(tags: string | undefined): number {
  return tags === undefined || tags.length === 0 ? 0 : javaStringHashCode(tags);
}

/** The DELAY property as a level; 0 = none. Throws MESSAGE_ILLEGAL for a non-number. */
export function delayLevelOf(properties: MessageProperties): number {
  const text = properties.get(MessageProperty.DELAY);
  if (text === undefined || text === '') return 0;
  const level = Number(text);
  if (!Number.isInteger(level)) throw new TideError('MESSAGE_ILLEGAL', `property DELAY=${JSON.stringify(text.slice(0, 32))} is not a delay level`);
  return level;
}

/**
 * The consume-queue tags code of a stored record, for the store's recovery (which rebuilds consume
 * queues from the commit log): the delivery time for records parked in SCHEDULE_TOPIC_XXXX (store
 * time + the delay of its level, as Java recomputes it), else the hash of TAGS.
 */
export function recoveredTagsCode(record: DecodedRecord, delayLevelsMs: readonly number[]): number {
  if (record.topic === SystemTopic.SCHEDULE) {
    const level = Math.min(Math.max(Number(getProperty(record.properties, MessageProperty.DELAY)) || record.queueId + 1, 1), delayLevelsMs.length);
    return record.storeTimestamp + delayLevelsMs[level - 1]!;
  }
  return tagsCodeOf(getProperty(record.properties, MessageProperty.TAGS));
}

export class MessageWriter {
  constructor(
    private readonly store: MessageStoreApi,
    /** Delay of each level in ms (index 0 = level 1). */
    private readonly delayLevelsMs: readonly number[],
    /** The advertised broker address; read on every write because it is known only after listen. */
    private readonly storeHost: () => HostAddress,
    private readonly now: () => number = Date.now,
  ) {}

  get maxDelayLevel(): number {
    return this.delayLevelsMs.length;
  }

  /** Delivery time of a message parked at `level` now. */
  deliverTimestamp(level: number, fromMs: number = this.now()): number {
    const index = Math.min(Math.max(level, 1), this.delayLevelsMs.length) - 1;
    return fromMs + this.delayLevelsMs[index]!;
  }

  delayOfLevelMs(level: number): number {
    const index = Math.min(Math.max(level, 1), this.delayLevelsMs.length) - 1;
    return this.delayLevelsMs[index]!;
  }

  /** Appends one message (parking it when it carries a delay level). Throws the store's TideErrors. */
  write(message: OutgoingMessage): WrittenMessage {
    let topic = message.topic;
    let queueId = message.queueId;
    let tagsCode: number;
    const transactionType = message.sysFlag & TRANSACTION_TYPE_MASK;
    const level = delayLevelOf(message.properties);
    if (level > 0 && (transactionType === SysFlag.TRANSACTION_NOT_TYPE || transactionType === SysFlag.TRANSACTION_COMMIT)) {
      const clamped = Math.min(level, this.delayLevelsMs.length);
      if (clamped !== level) message.properties.set(MessageProperty.DELAY, String(clamped));
      message.properties.set(MessageProperty.REAL_TOPIC, topic);
      message.properties.set(MessageProperty.REAL_QID, String(queueId));
      topic = SystemTopic.SCHEDULE;
      queueId = clamped - 1;
      tagsCode = this.deliverTimestamp(clamped);
    } else {
      tagsCode = tagsCodeOf(message.properties.get(MessageProperty.TAGS));
    }
    const properties = encodeProperties(message.properties);
    const result = this.store.append({
      topic,
      queueId,
      flag: message.flag,
      sysFlag: message.sysFlag,
      bornTimestamp: message.bornTimestamp,
      bornHost: message.bornHost,
      storeHost: this.storeHost(),
      reconsumeTimes: message.reconsumeTimes,
      preparedTransactionOffset: message.preparedTransactionOffset,
      body: message.body,
      properties,
      tagsCode,
      keys: indexKeysOf(properties),
    });
    return { result, topic, queueId };
  }
}
