/**
 * Messages as the SDK's users see them: `Message` is what they send, `ReceivedMessage` what consumers,
 * the pull consumer, transaction checks and admin lookups hand back. A ReceivedMessage wraps one
 * decoded commit-log record; its properties string is parsed only when asked for (a consumer that
 * reads the body and the tag never pays for the rest).
 */
import { createOffsetMessageId } from '../protocol/message-id.js';
import { decodeProperties, getProperty, MessageProperty } from '../protocol/message-properties.js';
import { hostAddressToString } from '../protocol/host-address.js';
import type { DecodedRecord } from '../protocol/message-record.js';
import type { MessageQueue } from './message-queue.js';

/** A message to send. Only `topic` and `body` are required. */
export interface Message {
  topic: string;
  /** Strings are sent as UTF-8. */
  body: Buffer | Uint8Array | string;
  /** One tag (RocketMQ's TAGS); subscriptions filter on it. */
  tags?: string | undefined;
  /** Business keys, indexed by the broker for lookups (QUERY_MESSAGE). */
  keys?: string | readonly string[] | undefined;
  /** User properties; names must not contain the characters U+0001 and U+0002. */
  properties?: Readonly<Record<string, string>> | undefined;
  /** RocketMQ delay level (1 = 1 s, 2 = 5 s, … 18 = 2 h with the default table). */
  delayLevel?: number | undefined;
  /** Deliver at this time (epoch ms or a Date): RocketMQ 5's TIMER_DELIVER_MS. */
  deliverAt?: number | Date | undefined;
  /** RocketMQ 5's message group (`__SHARDINGKEY`); also the default key of ordered sends. */
  shardingKey?: string | undefined;
  /** Opaque int32 carried with the message (RocketMQ's `flag`). */
  flag?: number | undefined;
  /** Ask the broker to answer only once the message is stored as its flush mode promises (WAIT, default true). */
  waitStoreMsgOk?: boolean | undefined;
}

export const SendStatus = {
  SEND_OK: 'SEND_OK',
  FLUSH_DISK_TIMEOUT: 'FLUSH_DISK_TIMEOUT',
  FLUSH_SLAVE_TIMEOUT: 'FLUSH_SLAVE_TIMEOUT',
  SLAVE_NOT_AVAILABLE: 'SLAVE_NOT_AVAILABLE',
} as const;
export type SendStatus = (typeof SendStatus)[keyof typeof SendStatus];

/**
 * What a send resolves to. `status` is SEND_OK only when the broker stored the message as promised;
 * FLUSH_DISK_TIMEOUT, FLUSH_SLAVE_TIMEOUT and SLAVE_NOT_AVAILABLE mean it was written but the promise
 * (disk flush, slave copy) was not kept in time.
 */
export interface SendResult {
  status: SendStatus;
  /** The client-side id (UNIQ_KEY); comma-joined for a batch, as in Java. */
  msgId: string;
  /** The broker's id: store host + commit-log offset; comma-joined for a batch. */
  offsetMsgId: string;
  queue: MessageQueue;
  /** Queue offset of the (first) message. */
  queueOffset: number;
  transactionId?: string | undefined;
  regionId: string;
  traceOn: boolean;
}

export interface BatchSendResult extends SendResult {
  msgIds: string[];
  offsetMsgIds: string[];
}

const RETRY_TOPIC_PREFIX = '%RETRY%';

/** A message read from a broker. */
export class ReceivedMessage {
  /** The topic the message was sent to (restored from RETRY_TOPIC for retries). */
  topic: string;
  /** The queue it was read from (for a retry, a queue of `%RETRY%group`). */
  readonly queue: MessageQueue;
  readonly queueOffset: number;
  /** Physical offset in the broker's commit log. */
  readonly commitLogOffset: number;
  /** The body, decompressed when it was sent compressed. A view into the pulled bytes. */
  readonly body: Buffer;
  readonly flag: number;
  readonly sysFlag: number;
  readonly bornTimestamp: number;
  readonly storeTimestamp: number;
  /** How often it was handed back for retry (orderly consumers count local retries too). */
  reconsumeTimes: number;
  readonly preparedTransactionOffset: number;
  /** The raw `k\x01v\x02` properties string. */
  readonly rawProperties: string;
  private readonly record: DecodedRecord;
  private decodedProperties: Record<string, string> | undefined;

  constructor(record: DecodedRecord, queue: MessageQueue, body: Buffer) {
    this.record = record;
    this.queue = queue;
    this.topic = record.topic;
    this.queueOffset = record.queueOffset;
    this.commitLogOffset = record.physicalOffset;
    this.body = body;
    this.flag = record.flag;
    this.sysFlag = record.sysFlag;
    this.bornTimestamp = record.bornTimestamp;
    this.storeTimestamp = record.storeTimestamp;
    this.reconsumeTimes = record.reconsumeTimes;
    this.preparedTransactionOffset = record.preparedTransactionOffset;
    this.rawProperties = record.properties;
    if (this.topic.startsWith(RETRY_TOPIC_PREFIX)) {
      const original = getProperty(record.properties, MessageProperty.RETRY_TOPIC);
      if (original !== undefined && original.length > 0) this.topic = original;
    }
  }

  /** The id users know: UNIQ_KEY when present, else the offsetMsgId (as Java's MessageClientExt). */
  get msgId(): string {
    return getProperty(this.rawProperties, MessageProperty.UNIQ_KEY) ?? this.offsetMsgId;
  }

  /** Store host + commit-log offset, the id VIEW_MESSAGE_BY_ID takes. */
  get offsetMsgId(): string {
    const host = this.record.storeHost;
    return createOffsetMessageId({ ip: host.ip, port: host.port }, this.record.physicalOffset);
  }

  get tags(): string | undefined {
    return getProperty(this.rawProperties, MessageProperty.TAGS);
  }

  get keys(): string[] {
    const keys = getProperty(this.rawProperties, MessageProperty.KEYS);
    return keys === undefined || keys === '' ? [] : keys.split(' ').filter((key) => key.length > 0);
  }

  get shardingKey(): string | undefined {
    return getProperty(this.rawProperties, MessageProperty.SHARDING_KEY);
  }

  get transactionId(): string | undefined {
    return getProperty(this.rawProperties, MessageProperty.TRANSACTION_ID) ?? getProperty(this.rawProperties, MessageProperty.UNIQ_KEY);
  }

  get delayLevel(): number {
    const level = getProperty(this.rawProperties, MessageProperty.DELAY);
    return level === undefined ? 0 : Number(level) || 0;
  }

  get bornHost(): string {
    return hostAddressToString(this.record.bornHost);
  }

  get storeHost(): string {
    return hostAddressToString(this.record.storeHost);
  }

  /** Every property, system ones included. */
  get properties(): Readonly<Record<string, string>> {
    if (this.decodedProperties === undefined) this.decodedProperties = Object.fromEntries(decodeProperties(this.rawProperties));
    return this.decodedProperties;
  }

  getProperty(name: string): string | undefined {
    return getProperty(this.rawProperties, name);
  }

  /** The body as UTF-8 text. */
  text(): string {
    return this.body.toString('utf8');
  }

  toJSON(): Record<string, unknown> {
    return {
      topic: this.topic,
      msgId: this.msgId,
      offsetMsgId: this.offsetMsgId,
      queue: this.queue,
      queueOffset: this.queueOffset,
      commitLogOffset: this.commitLogOffset,
      tags: this.tags,
      keys: this.keys,
      reconsumeTimes: this.reconsumeTimes,
      bornTimestamp: this.bornTimestamp,
      storeTimestamp: this.storeTimestamp,
      properties: this.properties,
      bodyBytes: this.body.length,
    };
  }
}
