/**
 * The broker's one way into the store for messages it builds (sends, send-backs, delayed deliveries).
 * It computes what the store needs besides the record: the consume-queue tags code (Java hash of TAGS)
 * and the keys to index; and it parks delayed messages until they are due:
 *
 * - 4.x delay levels (property DELAY = level > 0): SCHEDULE_TOPIC_XXXX queue level−1, with
 *   REAL_TOPIC/REAL_QID kept in the properties and the delivery time as the tags code, which lets the
 *   schedule service find due messages from the consume queue alone.
 * - 5.x timer messages (TIMER_DELAY_SEC / TIMER_DELAY_MS / TIMER_DELIVER_MS, see
 *   timer/timer-properties.ts): rmq_sys_wheel_timer queue 0 with REAL_TOPIC/REAL_QID and TIMER_OUT_MS =
 *   the delivery time, which is also the tags code; the timer service takes them from there. A time at
 *   or before now is stored in the topic at once. A message that already carries TIMER_OUT_MS is one
 *   the timer is delivering and is never parked again (RocketMQ's rule).
 *
 * A delay level wins over a timer request, whose properties are then dropped (as in RocketMQ).
 * Prepared and rolled-back transaction records are never parked: they are parked when committed.
 */
import { ResponseCode, TideError } from '../common/errors.js';
import { javaStringHashCode } from '../common/java-hash.js';
import type { HostAddress } from '../protocol/host-address.js';
import { encodeProperties, indexKeysOf, MessageProperty, type MessageProperties } from '../protocol/message-properties.js';
import { SysFlag, TRANSACTION_TYPE_MASK } from '../protocol/message-record.js';
import type { DecodedRecord } from '../protocol/message-record.js';
import { getProperty } from '../protocol/message-properties.js';
import type { AppendResult, MessageStoreApi } from '../store/types.js';
import { dropTimerRequest, hasTimerRequest, requestedDeliverMs, TIMER_TOPIC } from './timer/timer-properties.js';
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
  /** Where the record went (SCHEDULE_TOPIC_XXXX or rmq_sys_wheel_timer for a delayed message). */
  topic: string;
  queueId: number;
  /** Set when a timer message was parked: what its recall handle is made of (timer/recall-handle.ts). */
  timer?: ParkedTimerMessage;
}

export interface ParkedTimerMessage {
  /** The topic the message will be delivered to. */
  realTopic: string;
  /** The delivery time, epoch ms (TIMER_OUT_MS). */
  deliverMs: number;
  /** UNIQ_KEY, when the message has one. */
  uniqueKey: string | undefined;
}

/** What the timer service decides about timer messages; read on every write, so changes apply at once. */
export interface TimerParkPolicy {
  /** RocketMQ's timerWheelEnable: false refuses timer messages with SYSTEM_ERROR. */
  enabled(): boolean;
  /** The horizon: a delivery time further out is refused with MESSAGE_ILLEGAL. */
  maxDelayMs(): number;
}

/** 40 days, TideMQ's default horizon (timerMaxDelaySec = 3,456,000). */
export const DEFAULT_TIMER_PARK_POLICY: TimerParkPolicy = { enabled: () => true, maxDelayMs: () => 3_456_000_000 };

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
 * time + the delay of its level, as Java recomputes it) or in rmq_sys_wheel_timer (TIMER_OUT_MS),
 * else the hash of TAGS.
 */
export function recoveredTagsCode(record: DecodedRecord, delayLevelsMs: readonly number[]): number {
  if (record.topic === TIMER_TOPIC) {
    const deliverMs = Number(getProperty(record.properties, MessageProperty.TIMER_OUT_MS));
    return Number.isSafeInteger(deliverMs) ? deliverMs : 0;
  }
  if (record.topic === SystemTopic.SCHEDULE) {
    const level = Math.min(Math.max(Number(getProperty(record.properties, MessageProperty.DELAY)) || record.queueId + 1, 1), delayLevelsMs.length);
    return record.storeTimestamp + delayLevelsMs[level - 1]!;
  }
  return tagsCodeOf(getProperty(record.properties, MessageProperty.TAGS));
}

export class MessageWriter {
  private timerPolicy: TimerParkPolicy = DEFAULT_TIMER_PARK_POLICY;

  constructor(
    private readonly store: MessageStoreApi,
    /** Delay of each level in ms (index 0 = level 1). */
    private readonly delayLevelsMs: readonly number[],
    /** The advertised broker address; read on every write because it is known only after listen. */
    private readonly storeHost: () => HostAddress,
    private readonly now: () => number = Date.now,
  ) {}

  /** The timer service installs its policy (horizon, on/off) here. */
  setTimerPolicy(policy: TimerParkPolicy): void {
    this.timerPolicy = policy;
  }

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

  /**
   * Appends one message, parking it when it carries a delay level or a timer request. Throws the
   * store's TideErrors, and MESSAGE_ILLEGAL for a malformed DELAY or timer property or a delivery time
   * beyond the horizon.
   */
  write(message: OutgoingMessage): WrittenMessage {
    const transactionType = message.sysFlag & TRANSACTION_TYPE_MASK;
    const parkable = transactionType === SysFlag.TRANSACTION_NOT_TYPE || transactionType === SysFlag.TRANSACTION_COMMIT;
    const level = delayLevelOf(message.properties);
    if (level > 0 && parkable) return this.writeAtLevel(message, level);
    if (parkable && hasTimerRequest(message.properties) && !message.properties.has(MessageProperty.TIMER_OUT_MS) && message.topic !== TIMER_TOPIC) {
      const parked = this.parkTimer(message);
      if (parked !== null) return parked;
    }
    const result = this.append(message, message.topic, message.queueId, tagsCodeOf(message.properties.get(MessageProperty.TAGS)));
    return { result, topic: message.topic, queueId: message.queueId };
  }

  /**
   * Appends a copy of a parked timer message to rmq_sys_wheel_timer queue 0 as it is (the timer
   * copies far-future messages forward so retention never removes them before they are due).
   */
  writeTimerCopy(message: OutgoingMessage, deliverMs: number): WrittenMessage {
    const result = this.append(message, TIMER_TOPIC, 0, deliverMs);
    return { result, topic: TIMER_TOPIC, queueId: 0 };
  }

  private writeAtLevel(message: OutgoingMessage, level: number): WrittenMessage {
    // As in RocketMQ: a delay level wins and the timer request is dropped.
    dropTimerRequest(message.properties);
    const clamped = Math.min(level, this.delayLevelsMs.length);
    if (clamped !== level) message.properties.set(MessageProperty.DELAY, String(clamped));
    message.properties.set(MessageProperty.REAL_TOPIC, message.topic);
    message.properties.set(MessageProperty.REAL_QID, String(message.queueId));
    const queueId = clamped - 1;
    const result = this.append(message, SystemTopic.SCHEDULE, queueId, this.deliverTimestamp(clamped));
    return { result, topic: SystemTopic.SCHEDULE, queueId };
  }

  /** Parks a timer message; null when its time has come already (it is then stored as it is). */
  private parkTimer(message: OutgoingMessage): WrittenMessage | null {
    const policy = this.timerPolicy;
    if (!policy.enabled()) {
      throw new TideError('INVALID_PARAMETER', 'accurate timer message is not enabled, timerWheelEnable is false', { responseCode: ResponseCode.SYSTEM_ERROR });
    }
    const nowMs = this.now();
    const deliverMs = requestedDeliverMs(message.properties, nowMs, policy.maxDelayMs());
    if (deliverMs === undefined || deliverMs <= nowMs) return null;
    const properties = message.properties;
    properties.set(MessageProperty.TIMER_OUT_MS, String(deliverMs));
    properties.set(MessageProperty.REAL_TOPIC, message.topic);
    properties.set(MessageProperty.REAL_QID, String(message.queueId));
    const result = this.append(message, TIMER_TOPIC, 0, deliverMs);
    return { result, topic: TIMER_TOPIC, queueId: 0, timer: { realTopic: message.topic, deliverMs, uniqueKey: properties.get(MessageProperty.UNIQ_KEY) } };
  }

  private append(message: OutgoingMessage, topic: string, queueId: number, tagsCode: number): AppendResult {
    const properties = encodeProperties(message.properties);
    return this.store.append({
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
  }
}
