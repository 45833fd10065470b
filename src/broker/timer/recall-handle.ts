/**
 * RocketMQ 5.3's recall handle, returned in the send answer of a timer message (`recallHandle`) and
 * given back in RECALL_MESSAGE (370). It is the URL-safe Base64 (with padding) of the UTF-8 text
 * `v1 <topic> <brokerName> <timestamp> <messageId>`, fields separated by one space, where timestamp is
 * the parked delivery time (TIMER_OUT_MS) plus one, in ms, and messageId is the UNIQ_KEY. The format
 * matches `org.apache.rocketmq.common.producer.RecallMessageHandle.HandleV1`, so handles move freely
 * between Java clients and TideMQ.
 */

const VERSION_1 = 'v1';

export interface RecallHandle {
  topic: string;
  brokerName: string;
  /** The delivery time plus one, in ms, as the text the handle carries. */
  timestamp: string;
  /** UNIQ_KEY of the recalled message. */
  messageId: string;
}

export function encodeRecallHandle(handle: RecallHandle): string {
  const text = [VERSION_1, handle.topic, handle.brokerName, handle.timestamp, handle.messageId].join(' ');
  // Java's Base64.getUrlEncoder() keeps the '=' padding; Node's base64url drops it.
  return Buffer.from(text, 'utf8').toString('base64').replace(/\+/g, '-').replace(/\//g, '_');
}

/** The handle, or null when it is not a v1 recall handle. */
export function decodeRecallHandle(encoded: string | undefined): RecallHandle | null {
  if (encoded === undefined || encoded.length === 0 || encoded.length > 4096) return null;
  if (!/^[A-Za-z0-9_-]+={0,2}$/.test(encoded)) return null;
  const text = Buffer.from(encoded, 'base64url').toString('utf8');
  const items = text.split(' ');
  if (items[0] !== VERSION_1 || items.length < 5) return null;
  return { topic: items[1]!, brokerName: items[2]!, timestamp: items[3]!, messageId: items[4]! };
}

/** The handle of a message parked until `deliverMs` (RocketMQ adds one ms to the parked time). */
export function recallHandleFor(topic: string, brokerName: string, deliverMs: number, uniqueKey: string): string {
  return encodeRecallHandle({ topic, brokerName, timestamp: String(deliverMs + 1), messageId: uniqueKey });
}
