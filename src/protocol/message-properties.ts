/**
 * RocketMQ message properties: `key\x01value\x02key\x01value\x02`, carried in the send header and in
 * the commit-log record (int16 length, at most 32,767 bytes). Names of the properties the broker reads.
 */

export const NAME_VALUE_SEPARATOR = '\u0001';
export const PROPERTY_SEPARATOR = '\u0002';

export const MessageProperty = {
  TAGS: 'TAGS',
  KEYS: 'KEYS',
  UNIQ_KEY: 'UNIQ_KEY',
  WAIT: 'WAIT',
  DELAY: 'DELAY',
  TIMER_DELIVER_MS: 'TIMER_DELIVER_MS',
  TIMER_DELAY_SEC: 'TIMER_DELAY_SEC',
  TIMER_DELAY_MS: 'TIMER_DELAY_MS',
  TIMER_OUT_MS: 'TIMER_OUT_MS',
  TRAN_MSG: 'TRAN_MSG',
  PGROUP: 'PGROUP',
  TRANSACTION_ID: '__transactionId__',
  TRAN_PREPARED_QUEUE_OFFSET: 'TRAN_PREPARED_QUEUE_OFFSET',
  TRANSACTION_CHECK_TIMES: 'TRANSACTION_CHECK_TIMES',
  CHECK_IMMUNITY_TIME_IN_SECONDS: 'CHECK_IMMUNITY_TIME_IN_SECONDS',
  REAL_TOPIC: 'REAL_TOPIC',
  REAL_QID: 'REAL_QID',
  RETRY_TOPIC: 'RETRY_TOPIC',
  ORIGIN_MESSAGE_ID: 'ORIGIN_MESSAGE_ID',
  RECONSUME_TIME: 'RECONSUME_TIME',
  MAX_RECONSUME_TIMES: 'MAX_RECONSUME_TIMES',
  MIN_OFFSET: 'MIN_OFFSET',
  MAX_OFFSET: 'MAX_OFFSET',
  SHARDING_KEY: '__SHARDINGKEY',
  CLUSTER: 'CLUSTER',
  MSG_REGION: 'MSG_REGION',
  TRACE_ON: 'TRACE_ON',
  POP_CK: 'POP_CK',
  DLQ_ORIGIN_TOPIC: 'DLQ_ORIGIN_TOPIC',
  DLQ_ORIGIN_MESSAGE_ID: 'DLQ_ORIGIN_MESSAGE_ID',
} as const;

export type MessageProperties = Map<string, string>;

export function encodeProperties(properties: ReadonlyMap<string, string> | Record<string, string>): string {
  let out = '';
  const entries = properties instanceof Map ? properties.entries() : Object.entries(properties);
  for (const [key, value] of entries) {
    out += key + NAME_VALUE_SEPARATOR + value + PROPERTY_SEPARATOR;
  }
  return out;
}

/** Decodes leniently: a pair without a separator is skipped, as the Java client does. */
export function decodeProperties(encoded: string): MessageProperties {
  const properties: MessageProperties = new Map();
  if (!encoded) return properties;
  let start = 0;
  while (start < encoded.length) {
    let end = encoded.indexOf(PROPERTY_SEPARATOR, start);
    if (end < 0) end = encoded.length;
    const separator = encoded.indexOf(NAME_VALUE_SEPARATOR, start);
    if (separator > start && separator < end) {
      properties.set(encoded.slice(start, separator), encoded.slice(separator + 1, end));
    }
    start = end + 1;
  }
  return properties;
}

/** Reads one property without decoding the whole string (hot path: TAGS, KEYS, UNIQ_KEY). */
export function getProperty(encoded: string, key: string): string | undefined {
  let from = 0;
  const needle = key + NAME_VALUE_SEPARATOR;
  while (from < encoded.length) {
    const at = encoded.indexOf(needle, from);
    if (at < 0) return undefined;
    if (at === 0 || encoded.charCodeAt(at - 1) === 2) {
      const valueStart = at + needle.length;
      let valueEnd = encoded.indexOf(PROPERTY_SEPARATOR, valueStart);
      if (valueEnd < 0) valueEnd = encoded.length;
      return encoded.slice(valueStart, valueEnd);
    }
    from = at + 1;
  }
  return undefined;
}

/** The keys a message is indexed under: every space-separated entry of KEYS plus UNIQ_KEY. */
export function indexKeysOf(encoded: string): string[] {
  const keys: string[] = [];
  const list = getProperty(encoded, MessageProperty.KEYS);
  if (list) {
    for (const key of list.split(' ')) if (key.length > 0) keys.push(key);
  }
  const unique = getProperty(encoded, MessageProperty.UNIQ_KEY);
  if (unique) keys.push(unique);
  return keys;
}
