/**
 * The send path's properties fast path. A producer's properties string (`key\x01value\x02…`, see
 * protocol/message-properties.ts) is usually stored as it came plus the broker's own properties; the
 * general path decodes it into a Map, edits the Map and encodes it again for every message.
 * `scanPlainProperties` walks the string once, without allocating, and says whether the message is
 * plain: then `raw + brokerSuffix` is byte for byte what decode → addBrokerProperties → encode gives,
 * and the message needs nothing else from the Map (no delay, timer, transaction or POP checkpoint).
 *
 * Plain means: every pair is well formed (a non-empty key, `\x01`, a value, `\x02`; the string ends
 * with `\x02` or is empty), no key appears twice (a Map would keep one), none of the properties the
 * general path reads or rewrites is there (DELAY, the timer requests, TRAN_MSG, POP_CK, MSG_REGION,
 * TRACE_ON, CLUSTER), and UNIQ_KEY, if present, is not empty. Anything else takes the general path.
 */
import { MessageProperty, NAME_VALUE_SEPARATOR, PROPERTY_SEPARATOR } from '../../protocol/message-properties.js';
import { START_DELIVER_TIME } from '../timer/timer-properties.js';

/** More pairs than this take the general path (the duplicate check is quadratic). */
const MAX_PLAIN_PAIRS = 32;

/** What the last successful scan found; valid until the next scan. */
export interface PlainPropertiesScan {
  /** UNIQ_KEY's value, or undefined when the producer sent none (the broker then creates one). */
  uniqueKey: string | undefined;
  /** TAGS' value, or undefined. */
  tags: string | undefined;
  /** KEYS' value (space-separated keys), or undefined. */
  keys: string | undefined;
  /** WAIT is `false` (any case): acknowledge once written rather than once flushed. */
  waitFalse: boolean;
}

const scan: PlainPropertiesScan = { uniqueKey: undefined, tags: undefined, keys: undefined, waitFalse: false };
const keyStarts = new Int32Array(MAX_PLAIN_PAIRS);
const keyEnds = new Int32Array(MAX_PLAIN_PAIRS);

const KeyKind = {
  OTHER: 0,
  /** Makes the message not plain. */
  GENERAL: 1,
  UNIQ_KEY: 2,
  TAGS: 3,
  KEYS: 4,
  WAIT: 5,
} as const;
type KeyKind = (typeof KeyKind)[keyof typeof KeyKind];

const GENERAL_KEYS: readonly string[] = [
  MessageProperty.DELAY,
  MessageProperty.TIMER_DELIVER_MS,
  MessageProperty.TIMER_DELAY_SEC,
  MessageProperty.TIMER_DELAY_MS,
  START_DELIVER_TIME,
  MessageProperty.TRAN_MSG,
  MessageProperty.POP_CK,
  MessageProperty.MSG_REGION,
  MessageProperty.TRACE_ON,
  MessageProperty.CLUSTER,
];
/** Names the scan looks at, by length, so most keys are dismissed by their length alone. */
const NAMED_BY_LENGTH = new Map<number, { name: string; kind: KeyKind }[]>();
for (const [name, kind] of [
  ...GENERAL_KEYS.map((name) => [name, KeyKind.GENERAL] as const),
  [MessageProperty.UNIQ_KEY, KeyKind.UNIQ_KEY],
  [MessageProperty.TAGS, KeyKind.TAGS],
  [MessageProperty.KEYS, KeyKind.KEYS],
  [MessageProperty.WAIT, KeyKind.WAIT],
] as const) {
  const list = NAMED_BY_LENGTH.get(name.length) ?? [];
  list.push({ name, kind });
  NAMED_BY_LENGTH.set(name.length, list);
}
const MAX_NAMED_LENGTH = Math.max(...NAMED_BY_LENGTH.keys());
const NAMED_BY_LENGTH_TABLE: ({ name: string; kind: KeyKind }[] | undefined)[] = Array.from({ length: MAX_NAMED_LENGTH + 1 }, (_, length) => NAMED_BY_LENGTH.get(length));

function kindOf(raw: string, start: number, end: number): KeyKind {
  const length = end - start;
  if (length > MAX_NAMED_LENGTH) return KeyKind.OTHER;
  const candidates = NAMED_BY_LENGTH_TABLE[length];
  if (candidates === undefined) return KeyKind.OTHER;
  for (const candidate of candidates) if (raw.startsWith(candidate.name, start)) return candidate.kind;
  return KeyKind.OTHER;
}

function sameKey(raw: string, startA: number, endA: number, startB: number, endB: number): boolean {
  const length = endA - startA;
  if (endB - startB !== length) return false;
  for (let index = 0; index < length; index++) if (raw.charCodeAt(startA + index) !== raw.charCodeAt(startB + index)) return false;
  return true;
}

/** `false` in any case, as `value.toLowerCase() === 'false'` reads it. */
function isFalse(raw: string, start: number, end: number): boolean {
  return end - start === 5 && raw.slice(start, end).toLowerCase() === 'false';
}

/** Scans `raw`; the scan result when the message is plain (see the top of the file), else undefined. */
export function scanPlainProperties(raw: string): PlainPropertiesScan | undefined {
  scan.uniqueKey = undefined;
  scan.tags = undefined;
  scan.keys = undefined;
  scan.waitFalse = false;
  const length = raw.length;
  if (length === 0) return scan;
  if (raw.charCodeAt(length - 1) !== 2) return undefined;
  let pairs = 0;
  let start = 0;
  while (start < length) {
    const end = raw.indexOf(PROPERTY_SEPARATOR, start);
    const separator = raw.indexOf(NAME_VALUE_SEPARATOR, start);
    // A pair without a separator or with an empty key is one the Map path would drop.
    if (separator <= start || separator > end) return undefined;
    if (pairs === MAX_PLAIN_PAIRS) return undefined;
    for (let pair = 0; pair < pairs; pair++) if (sameKey(raw, keyStarts[pair]!, keyEnds[pair]!, start, separator)) return undefined;
    keyStarts[pairs] = start;
    keyEnds[pairs] = separator;
    pairs++;
    switch (kindOf(raw, start, separator)) {
      case KeyKind.OTHER:
        break;
      case KeyKind.GENERAL:
        return undefined;
      case KeyKind.UNIQ_KEY:
        if (end === separator + 1) return undefined;
        scan.uniqueKey = raw.slice(separator + 1, end);
        break;
      case KeyKind.TAGS:
        scan.tags = raw.slice(separator + 1, end);
        break;
      case KeyKind.KEYS:
        scan.keys = raw.slice(separator + 1, end);
        break;
      case KeyKind.WAIT:
        scan.waitFalse = isFalse(raw, separator + 1, end);
        break;
    }
    start = end + 1;
  }
  return scan;
}

/**
 * The keys a plain message is indexed under, as message-properties.ts' indexKeysOf gives them for the
 * final properties: every space-separated entry of KEYS, then UNIQ_KEY.
 */
export function plainIndexKeys(keys: string | undefined, uniqueKey: string): string[] {
  if (keys === undefined || keys.length === 0) return [uniqueKey];
  if (keys.indexOf(' ') < 0) return [keys, uniqueKey];
  const list: string[] = [];
  for (const key of keys.split(' ')) if (key.length > 0) list.push(key);
  list.push(uniqueKey);
  return list;
}
