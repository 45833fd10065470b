/**
 * What the timer writes when an entry is due: the parked message moved to its real topic (REAL_TOPIC /
 * REAL_QID removed, TIMER_DEQUEUE_MS added, the rest kept as RocketMQ keeps it, TIMER_OUT_MS included),
 * or, for a message due beyond the roll window, a copy in the timer topic with TIMER_ROLL_TIMES raised.
 * Also the check that recovery runs on entries it is unsure about: was the copy already written?
 */
import { getProperty, MessageProperty, type MessageProperties } from '../../protocol/message-properties.js';
import { decodeRecord, type DecodedRecord } from '../../protocol/message-record.js';
import type { MessageStoreApi } from '../../store/types.js';
import type { OutgoingMessage } from '../message-writer.js';
import { TIMER_TOPIC, TimerProperty } from './timer-properties.js';

/** Most copies looked at per check; a UNIQ_KEY is (nearly) unique, so a handful is plenty. */
const MAX_COPIES_CHECKED = 64;

function outgoing(record: DecodedRecord, topic: string, queueId: number, properties: MessageProperties): OutgoingMessage {
  return {
    topic,
    queueId,
    flag: record.flag,
    sysFlag: record.sysFlag,
    bornTimestamp: record.bornTimestamp,
    bornHost: { ip: Buffer.from(record.bornHost.ip), port: record.bornHost.port },
    reconsumeTimes: record.reconsumeTimes,
    preparedTransactionOffset: record.preparedTransactionOffset,
    body: Buffer.from(record.body),
    properties,
  };
}

/** The message for its real topic, or null when the parked record does not say where it goes. */
export function deliveryOf(record: DecodedRecord, properties: MessageProperties, nowMs: number): OutgoingMessage | null {
  const realTopic = properties.get(MessageProperty.REAL_TOPIC);
  const realQueueId = Number(properties.get(MessageProperty.REAL_QID));
  if (!realTopic || !Number.isInteger(realQueueId) || realQueueId < 0) return null;
  properties.delete(MessageProperty.REAL_TOPIC);
  properties.delete(MessageProperty.REAL_QID);
  properties.set(TimerProperty.DEQUEUE_MS, String(nowMs));
  return outgoing(record, realTopic, realQueueId, properties);
}

/** The copy that carries a far-future message forward in the timer topic. */
export function rollOf(record: DecodedRecord, properties: MessageProperties): OutgoingMessage {
  const rolls = Number(properties.get(TimerProperty.ROLL_TIMES) ?? 0);
  properties.set(TimerProperty.ROLL_TIMES, String(Number.isSafeInteger(rolls) ? rolls + 1 : 1));
  return outgoing(record, TIMER_TOPIC, 0, properties);
}

/**
 * Whether a copy of the parked record already exists in `topic`: a record stored after it (higher
 * physical offset) with the same UNIQ_KEY for which `matches` holds, found through the key index.
 * For timer messages `matches` compares TIMER_OUT_MS: two parked records that agree on both are the
 * same message sent twice, so finding either one's copy is enough.
 */
export function copyExists(store: MessageStoreApi, topic: string, uniqueKey: string, parked: DecodedRecord, matches: (copy: DecodedRecord) => boolean): boolean {
  const found = store.queryMessageByKey(topic, uniqueKey, MAX_COPIES_CHECKED, parked.storeTimestamp, Number.MAX_SAFE_INTEGER);
  for (const bytes of found.records) {
    const copy = decodeRecord(bytes);
    if (copy !== null && copy.physicalOffset > parked.physicalOffset && matches(copy)) return true;
  }
  return false;
}

/** copyExists for a timer entry: the copy carries the same TIMER_OUT_MS. */
export function timerCopyExists(store: MessageStoreApi, topic: string, uniqueKey: string, deliverMs: number, parked: DecodedRecord): boolean {
  const wanted = String(deliverMs);
  return copyExists(store, topic, uniqueKey, parked, (copy) => getProperty(copy.properties, TimerProperty.OUT_MS) === wanted);
}
