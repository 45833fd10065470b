/**
 * The extFields of the producer's SEND_MESSAGE_V2 / SEND_BATCH_MESSAGE requests written by a template
 * instead of the JSON writer's general loop (one key, one escaped value at a time, over a `for in`).
 * createSendRequestTo makes those fields in one fixed order:
 *   "a" producerGroup, "b" topic, "c" defaultTopic, "d" defaultTopicQueueNums, "e" queueId,
 *   "f" sysFlag, "g" bornTimestamp, "h" flag, "i" properties, "j" reconsumeTimes, "k" unitMode,
 *   "m" batch, "n" brokerName, then "l" maxReconsumeTimes when set.
 * A producer repeats a..d and n from send to send, so their JSON (keys, quotes and escapes included)
 * is kept as bytes and copied while the values are the same strings; e..m are escaped as they come
 * (the properties string by the writer's own putJsonString, so escapes are the general path's).
 * The bytes are exactly what the general loop writes for the same object (send-header-encoder.test.ts).
 * Only createSendRequestTo attaches this encoder, to the object it has just made in that order; a
 * value that is not a string, or text outside ASCII, hands the fields back to the general loop.
 */
import { putJsonString } from '../protocol/json-header-writer.js';
import type { ExtFieldsEncoder } from '../protocol/remoting-command.js';

/** `"a":"group","b":"topic","c":"TBW102","d":"4","e":` for the a..d last seen. */
let headKeyA: string | undefined;
let headKeyB: string | undefined;
let headKeyC: string | undefined;
let headKeyD: string | undefined;
let headBytes: Buffer | undefined;
/** `,"n":"broker"` for the n last seen. */
let brokerText: string | undefined;
let brokerBytes: Buffer | undefined;

/** The JSON of `text` as a latin1 string (one byte per character), or undefined outside ASCII. */
function asciiJson(text: string): string | undefined {
  const json = JSON.stringify(text);
  // eslint-disable-next-line no-control-regex
  return /^[\x00-\x7f]*$/.test(json) ? json : undefined;
}

function buildHead(a: string, b: string, c: string, d: string): Buffer | undefined {
  const parts = [asciiJson(a), asciiJson(b), asciiJson(c), asciiJson(d)];
  if (parts.some((part) => part === undefined)) return undefined;
  return Buffer.from(`"a":${parts[0]},"b":${parts[1]},"c":${parts[2]},"d":${parts[3]},"e":`, 'latin1');
}

function putSmall(out: Buffer, position: number, key: number): number {
  out[position] = 0x2c; // ,
  out[position + 1] = 0x22; // "
  out[position + 2] = key;
  out[position + 3] = 0x22;
  out[position + 4] = 0x3a; // :
  return position + 5;
}

function putCached(out: Buffer, position: number, bytes: Buffer, reserveBytes: number): number {
  if (position + bytes.length + reserveBytes + 1 > out.length) return -1;
  if (bytes.length <= 32) {
    for (let index = 0; index < bytes.length; index++) out[position + index] = bytes[index]!;
  } else out.set(bytes, position);
  return position + bytes.length;
}

/** Writes one more value after its key; -1 when it cannot. */
function putValue(out: Buffer, position: number, value: string | undefined): number {
  if (typeof value !== 'string' || position < 0) return -1;
  return putJsonString(out, position, value);
}

const KEY_F = 0x66;
const KEY_G = 0x67;
const KEY_H = 0x68;
const KEY_I = 0x69;
const KEY_J = 0x6a;
const KEY_K = 0x6b;
const KEY_L = 0x6c;
const KEY_M = 0x6d;
export const sendExtFieldsEncoder: ExtFieldsEncoder = {
  write(fields, out, position, reserveBytes) {
    const a = fields.a!;
    const b = fields.b!;
    const c = fields.c!;
    const d = fields.d!;
    if (a !== headKeyA || b !== headKeyB || c !== headKeyC || d !== headKeyD || headBytes === undefined) {
      const head = typeof a === 'string' && typeof b === 'string' && typeof c === 'string' && typeof d === 'string' ? buildHead(a, b, c, d) : undefined;
      if (head === undefined) return -1;
      headBytes = head;
      headKeyA = a;
      headKeyB = b;
      headKeyC = c;
      headKeyD = d;
    }
    position = putCached(out, position, headBytes, reserveBytes);
    position = putValue(out, position, fields.e);
    if (position < 0) return -1;
    position = putValue(out, putSmall(out, position, KEY_F), fields.f);
    if (position < 0) return -1;
    position = putValue(out, putSmall(out, position, KEY_G), fields.g);
    if (position < 0) return -1;
    position = putValue(out, putSmall(out, position, KEY_H), fields.h);
    if (position < 0) return -1;
    position = putValue(out, putSmall(out, position, KEY_I), fields.i);
    if (position < 0) return -1;
    position = putValue(out, putSmall(out, position, KEY_J), fields.j);
    if (position < 0) return -1;
    position = putValue(out, putSmall(out, position, KEY_K), fields.k);
    if (position < 0) return -1;
    position = putValue(out, putSmall(out, position, KEY_M), fields.m);
    if (position < 0) return -1;
    const n = fields.n;
    if (n !== brokerText || brokerBytes === undefined) {
      const json = typeof n === 'string' ? asciiJson(n) : undefined;
      if (json === undefined) return -1;
      brokerBytes = Buffer.from(`,"n":${json}`, 'latin1');
      brokerText = n;
    }
    position = putCached(out, position, brokerBytes, reserveBytes);
    if (position < 0) return -1;
    const l = fields.l;
    if (l !== undefined) {
      position = putValue(out, putSmall(out, position, KEY_L), l);
      if (position < 0) return -1;
    }
    out[position] = 0x7d; // }
    return position + 1;
  },
};
