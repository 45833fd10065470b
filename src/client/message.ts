/**
 * Messages as the SDK's users see them: `Message` is what they send, `ReceivedMessage` what consumers,
 * the pull consumer, transaction checks and admin lookups hand back. A ReceivedMessage wraps one
 * decoded commit-log record; its properties string is parsed only when asked for (a consumer that
 * reads the body and the tag never pays for the rest).
 */
import { createOffsetMessageId } from '../protocol/message-id.js';
import { decodeProperties, getProperty, MessageProperty } from '../protocol/message-properties.js';
import { hostAddressToString, type HostAddress } from '../protocol/host-address.js';
import { readInt64, RecordField, SysFlag } from '../protocol/message-record.js';
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

/** Whether `length` bytes of `source` at `start` are exactly the ASCII text `text`. */
function sameAscii(source: Buffer, start: number, length: number, text: string): boolean {
  if (length !== text.length) return false;
  for (let index = 0; index < length; index++) {
    const char = text.charCodeAt(index);
    if (char > 0x7f || source[start + index] !== char) return false;
  }
  return true;
}

/**
 * Where the variable-length parts of one commit-log record sit in the bytes it was read from (see
 * protocol/message-record.ts for the layout); filled by message-codec.ts's record scanner.
 */
export interface RecordLayout {
  /** Offset of the record (its TOTALSIZE field) in the source. */
  position: number;
  bodyStart: number;
  bodyLength: number;
  topicStart: number;
  topicLength: number;
  propertiesStart: number;
  propertiesLength: number;
}

/**
 * A message read from a broker. It keeps a reference to the pulled bytes (which its body, a view,
 * keeps alive anyway) and reads the record's fields from them when asked: a consumer that reads the
 * body and the queue offset never pays for the properties string, the hosts, or the timestamps and
 * offsets that would be heap numbers. The topic is decoded once, and not at all when it is the
 * queue's own. reconsumeTimes and topic stay plain fields: consumers change them.
 */
export class ReceivedMessage {
  /** The topic the message was sent to (restored from RETRY_TOPIC for retries). */
  topic: string;
  /** The queue it was read from (for a retry, a queue of `%RETRY%group`). */
  readonly queue: MessageQueue;
  readonly queueOffset: number;
  /** The body, decompressed when it was sent compressed. A view into the pulled bytes. */
  readonly body: Buffer;
  readonly sysFlag: number;
  /** How often it was handed back for retry (orderly consumers count local retries too). */
  reconsumeTimes: number;
  /** The record's bytes and where it starts in them. */
  private readonly source: Buffer;
  private readonly position: number;
  private readonly propertiesStart: number;
  private readonly propertiesLength: number;
  private propertiesText: string | undefined;
  private decodedProperties: Record<string, string> | undefined;

  /** `layout` is what the scanner found in `source`, which has been checked to hold the whole record. */
  constructor(source: Buffer, layout: Readonly<RecordLayout>, queue: MessageQueue, body: Buffer) {
    const position = layout.position;
    this.source = source;
    this.position = position;
    this.queue = queue;
    this.queueOffset = readInt64(source, position + RecordField.QUEUE_OFFSET);
    this.body = body;
    this.sysFlag = source.readInt32BE(position + RecordField.SYS_FLAG);
    this.reconsumeTimes = source.readInt32BE(this.storeHostEnd());
    this.propertiesStart = layout.propertiesStart;
    this.propertiesLength = layout.propertiesLength;
    this.propertiesText = layout.propertiesLength > 0 ? undefined : '';
    this.topic = sameAscii(source, layout.topicStart, layout.topicLength, queue.topic) ? queue.topic : source.toString('utf8', layout.topicStart, layout.topicStart + layout.topicLength);
    if (this.topic.startsWith(RETRY_TOPIC_PREFIX)) {
      const original = getProperty(this.rawProperties, MessageProperty.RETRY_TOPIC);
      if (original !== undefined && original.length > 0) this.topic = original;
    }
  }

  /** Physical offset in the broker's commit log. */
  get commitLogOffset(): number {
    return readInt64(this.source, this.position + RecordField.PHYSICAL_OFFSET);
  }

  get flag(): number {
    return this.source.readInt32BE(this.position + RecordField.FLAG);
  }

  get bornTimestamp(): number {
    return readInt64(this.source, this.position + RecordField.BORN_TIMESTAMP);
  }

  get storeTimestamp(): number {
    return readInt64(this.source, this.storeTimestampAt());
  }

  get preparedTransactionOffset(): number {
    return readInt64(this.source, this.storeHostEnd() + 4);
  }

  /** The raw `k\x01v\x02` properties string. */
  get rawProperties(): string {
    if (this.propertiesText === undefined) this.propertiesText = this.source.toString('utf8', this.propertiesStart, this.propertiesStart + this.propertiesLength);
    return this.propertiesText;
  }

  /** The id users know: UNIQ_KEY when present, else the offsetMsgId (as Java's MessageClientExt). */
  get msgId(): string {
    return getProperty(this.rawProperties, MessageProperty.UNIQ_KEY) ?? this.offsetMsgId;
  }

  /** Store host + commit-log offset, the id VIEW_MESSAGE_BY_ID takes. */
  get offsetMsgId(): string {
    return createOffsetMessageId(this.storeHostAddress(), this.commitLogOffset);
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
    const at = this.position + RecordField.BORN_HOST;
    const ipLength = this.sysFlag & SysFlag.BORNHOST_V6 ? 16 : 4;
    return hostAddressToString({ ip: this.source.subarray(at, at + ipLength), port: this.source.readInt32BE(at + ipLength) });
  }

  get storeHost(): string {
    return hostAddressToString(this.storeHostAddress());
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

  /** Where STORETIMESTAMP sits: after the born host, whose size depends on sysFlag. */
  private storeTimestampAt(): number {
    return this.position + RecordField.BORN_HOST + (this.sysFlag & SysFlag.BORNHOST_V6 ? 16 : 4) + 4;
  }

  /** Where RECONSUMETIMES sits: after the store host. */
  private storeHostEnd(): number {
    return this.storeTimestampAt() + 8 + (this.sysFlag & SysFlag.STOREHOST_V6 ? 16 : 4) + 4;
  }

  private storeHostAddress(): HostAddress {
    const at = this.storeTimestampAt() + 8;
    const ipLength = this.sysFlag & SysFlag.STOREHOST_V6 ? 16 : 4;
    return { ip: this.source.subarray(at, at + ipLength), port: this.source.readInt32BE(at + ipLength) };
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
