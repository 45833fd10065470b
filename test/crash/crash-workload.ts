/**
 * The deterministic, self-verifying workload of the crash tests. Every message is named by (run, seq):
 * the run is the child process's cycle number, the seq counts within that run. Everything else about
 * the message — topic, queue, body length and bytes, properties, timestamps, hosts — is derived from
 * a hash of (run, seq), so any record read back can be recomputed from its KEYS property and compared
 * byte for byte.
 *
 * The child reports each durable append on stdout as one ack line (ASCII, space separated, '\n'):
 *
 *   A <run> <seq> <topic> <queueId> <queueOffset> <physicalOffset> <size> <endOffset>
 *
 * Other lines: `READY` (recovery and verification done, appends start), `VERIFIED <acks> <records>`,
 * `LOST <run> <seq>` (an acked message allowed to be lost, ASYNC_FLUSH power loss only), `FAIL <text>`.
 */
import { javaStringHashCode } from '../../src/common/java-hash.js';
import { parseHostAddress } from '../../src/protocol/host-address.js';
import { encodeProperties, getProperty } from '../../src/protocol/message-properties.js';
import type { AppendInput } from '../../src/store/types.js';

/**
 * Topics of the workload. The last one is longer than 127 bytes, so its records use the V2 magic with
 * a two-byte topic length (allowed for internal topics such as `%RETRY%group`).
 */
export const CRASH_TOPICS = ['CrashTopicA', 'CrashTopicB', `%RETRY%${'crash_group_'.repeat(12)}`] as const;
export const CRASH_QUEUES_PER_TOPIC = 4;
/** Largest body of the workload; segments of 256 KiB hold a few hundred messages. */
export const CRASH_MAX_BODY_BYTES = 1500;

const BORN_TIMESTAMP_BASE_MS = 1_600_000_000_000;
const STORE_HOST = parseHostAddress('127.0.0.1', 10911);

/** A 32-bit integer hash (murmur3's finalizer over a mix of both inputs). */
export function hashRunSeq(run: number, seq: number): number {
  let hash = Math.imul(run ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(seq + 0x632be5ab, 0xc2b2ae35);
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  hash ^= hash >>> 16;
  return hash >>> 0;
}

/** mulberry32: a small seeded generator returning floats in [0, 1). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let value = state;
    value = Math.imul(value ^ (value >>> 15), value | 1);
    value ^= value + Math.imul(value ^ (value >>> 7), value | 61);
    return ((value ^ (value >>> 14)) >>> 0) / 4_294_967_296;
  };
}

export function randomInt(random: () => number, minInclusive: number, maxInclusive: number): number {
  return minInclusive + Math.floor(random() * (maxInclusive - minInclusive + 1));
}

export function messageKey(run: number, seq: number): string {
  return `r${run}-s${seq}`;
}

/** Parses a KEYS value written by `buildAppendInput`; null if it is not one of ours. */
export function parseMessageKey(key: string | undefined): { run: number; seq: number } | null {
  if (key === undefined) return null;
  const match = /^r(\d+)-s(\d+)$/.exec(key);
  if (match === null) return null;
  return { run: Number(match[1]), seq: Number(match[2]) };
}

/** The message (run, seq), recomputed identically every time. */
export function buildAppendInput(run: number, seq: number): AppendInput {
  const hash = hashRunSeq(run, seq);
  const topic = CRASH_TOPICS[hash % CRASH_TOPICS.length]!;
  const queueId = (hash >>> 4) % CRASH_QUEUES_PER_TOPIC;
  // Mostly small bodies, some large ones, and now and then an empty one.
  const bodyLength = hash % 97 === 0 ? 0 : 8 + ((hash >>> 8) % (CRASH_MAX_BODY_BYTES - 8));
  const body = Buffer.allocUnsafe(bodyLength);
  if (bodyLength >= 8) {
    body.writeUInt32BE(run, 0);
    body.writeUInt32BE(seq, 4);
    let state = hash | 1;
    for (let index = 8; index < bodyLength; index++) {
      // xorshift32: cheap bytes that differ for every message.
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
      body[index] = state & 0xff;
    }
  }
  const key = messageKey(run, seq);
  const uniqueKey = `7F000001${run.toString(16).padStart(8, '0')}${seq.toString(16).padStart(8, '0')}${hash.toString(16).padStart(8, '0')}`.toUpperCase();
  const tags = `tag${hash % 5}`;
  const properties = encodeProperties({ TAGS: tags, KEYS: key, UNIQ_KEY: uniqueKey, WAIT: 'true', CRASH_HASH: String(hash) });
  return {
    topic,
    queueId,
    flag: hash & 0xff,
    sysFlag: 0,
    bornTimestamp: BORN_TIMESTAMP_BASE_MS + run * 10_000_000 + seq,
    bornHost: parseHostAddress(`10.0.${run & 0xff}.${1 + (seq & 0x7f)}`, 30_000 + (hash % 20_000)),
    storeHost: STORE_HOST,
    reconsumeTimes: hash % 3,
    preparedTransactionOffset: 0,
    body,
    properties,
    tagsCode: javaStringHashCode(tags),
    keys: [key, uniqueKey],
  };
}

/** Reads (run, seq) from the KEYS property of a decoded record's properties. */
export function runSeqOfProperties(properties: string): { run: number; seq: number } | null {
  return parseMessageKey(getProperty(properties, 'KEYS'));
}

export interface Ack {
  run: number;
  seq: number;
  topic: string;
  queueId: number;
  queueOffset: number;
  physicalOffset: number;
  size: number;
  endOffset: number;
}

export function formatAck(ack: Ack): string {
  return `A ${ack.run} ${ack.seq} ${ack.topic} ${ack.queueId} ${ack.queueOffset} ${ack.physicalOffset} ${ack.size} ${ack.endOffset}\n`;
}

/** Parses an ack line (without its '\n'); null for any other line. */
export function parseAck(line: string): Ack | null {
  const parts = line.split(' ');
  if (parts.length !== 9 || parts[0] !== 'A') return null;
  const numbers = parts.slice(1).map(Number);
  return {
    run: numbers[0]!,
    seq: numbers[1]!,
    topic: parts[3]!,
    queueId: numbers[3]!,
    queueOffset: numbers[4]!,
    physicalOffset: numbers[5]!,
    size: numbers[6]!,
    endOffset: numbers[7]!,
  };
}

export function queueName(topic: string, queueId: number): string {
  return `${topic}/${queueId}`;
}
