/**
 * Turning messages into what goes on the wire, and pulled bytes back into messages.
 *
 * Send side: the properties string (`k\x01v\x02…`, reference §3) is built by concatenation, with the
 * UNIQ_KEY the client generates first; bodies of at least `compressOverBytes` (4 KiB, as the Java
 * producer) are deflated with zlib and flagged COMPRESSED | ZLIB in sysFlag (batches are never
 * compressed, also as in Java).
 *
 * Batch body (SEND_BATCH_MESSAGE 320), entries laid end to end, big-endian:
 *
 *   offset  size  field
 *   0       4     totalSize (this entry, these 4 bytes included) = 22 + bodyLen + propsLen
 *   4       4     magic, 0
 *   8       4     bodyCRC, 0 (the broker computes it)
 *   12      4     flag
 *   16      4     bodyLen
 *   20      n     body
 *   20+n    2     propsLen (int16)
 *   22+n    m     properties (UTF-8)
 *
 * Receive side: a pull (or query, or view) answer body is commit-log records end to end
 * (message-record.ts); each becomes a ReceivedMessage, compressed bodies inflated (zlib; LZ4 and ZSTD
 * bodies, which only Java 5 producers configured for them write, are passed through untouched).
 */
import { deflateSync, inflateSync } from 'node:zlib';
import { Limits } from '../common/limits.js';
import type { Logger } from '../common/logger.js';
import { MessageProperty, NAME_VALUE_SEPARATOR, PROPERTY_SEPARATOR } from '../protocol/message-properties.js';
import { MAGIC_V1, MAGIC_V2, RecordField, SysFlag } from '../protocol/message-record.js';
import { ClientStateError, MQClientError } from './client-errors.js';
import type { Message, RecordLayout } from './message.js';
import { ReceivedMessage } from './message.js';
import type { MessageQueue } from './message-queue.js';

/** Java's compressMsgBodyOverHowmuch. */
export const DEFAULT_COMPRESS_OVER_BYTES = 4096;
/** Java's default `rocketmq.message.compressLevel`. */
export const DEFAULT_COMPRESS_LEVEL = 5;
/** sysFlag bits 8-10 name the compression codec (RocketMQ 5); 0 means zlib for 4.x senders. */
export const CompressionFlag = {
  MASK: 0x700,
  LZ4: 0x100,
  ZSTD: 0x200,
  ZLIB: 0x300,
} as const;

const SEPARATORS = /[\u0001\u0002]/;
const BATCH_ENTRY_FIXED_BYTES = 22;

export function bodyBytes(body: Message['body']): Buffer {
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  if (Buffer.isBuffer(body)) return body;
  if (body instanceof Uint8Array) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  throw new ClientStateError('ILLEGAL_ARGUMENT', 'message body must be a Buffer, a Uint8Array or a string');
}

function checkPropertyText(what: string, text: string): void {
  if (SEPARATORS.test(text)) throw new ClientStateError('ILLEGAL_ARGUMENT', `${what} must not contain the characters U+0001 or U+0002`);
}

function keysText(keys: Message['keys']): string | undefined {
  if (keys === undefined) return undefined;
  if (typeof keys === 'string') return keys;
  return keys.join(' ');
}

function deliverAtMs(deliverAt: number | Date): number {
  const value = typeof deliverAt === 'number' ? deliverAt : deliverAt.getTime();
  if (!Number.isFinite(value) || value < 0) throw new ClientStateError('ILLEGAL_ARGUMENT', `deliverAt ${String(deliverAt)} is not a time`);
  return Math.floor(value);
}

/**
 * The properties string of `message`: UNIQ_KEY and WAIT first, then tags, keys, delay, timer,
 * sharding key and user properties. `extra` (already encoded) is appended as is.
 */
export function encodeMessageProperties(message: Message, uniqueKey: string | undefined, extra = ''): string {
  let text = uniqueKey === undefined ? '' : MessageProperty.UNIQ_KEY + NAME_VALUE_SEPARATOR + uniqueKey + PROPERTY_SEPARATOR;
  text += message.waitStoreMsgOk === false ? 'WAIT\u0001false\u0002' : 'WAIT\u0001true\u0002';
  const tags = message.tags;
  if (tags !== undefined && tags !== '') {
    checkPropertyText('tags', tags);
    text += MessageProperty.TAGS + NAME_VALUE_SEPARATOR + tags + PROPERTY_SEPARATOR;
  }
  const keys = keysText(message.keys);
  if (keys !== undefined && keys !== '') {
    checkPropertyText('keys', keys);
    text += MessageProperty.KEYS + NAME_VALUE_SEPARATOR + keys + PROPERTY_SEPARATOR;
  }
  const delayLevel = message.delayLevel;
  if (delayLevel !== undefined && delayLevel > 0) {
    if (!Number.isInteger(delayLevel)) throw new ClientStateError('ILLEGAL_ARGUMENT', `delayLevel ${delayLevel} is not an integer`);
    text += MessageProperty.DELAY + NAME_VALUE_SEPARATOR + delayLevel + PROPERTY_SEPARATOR;
  }
  if (message.deliverAt !== undefined) {
    text += MessageProperty.TIMER_DELIVER_MS + NAME_VALUE_SEPARATOR + deliverAtMs(message.deliverAt) + PROPERTY_SEPARATOR;
  }
  const shardingKey = message.shardingKey;
  if (shardingKey !== undefined && shardingKey !== '') {
    checkPropertyText('shardingKey', shardingKey);
    text += MessageProperty.SHARDING_KEY + NAME_VALUE_SEPARATOR + shardingKey + PROPERTY_SEPARATOR;
  }
  const properties = message.properties;
  if (properties !== undefined) {
    for (const name in properties) {
      const value = properties[name];
      if (value === undefined) continue;
      checkPropertyText(`property name ${JSON.stringify(name)}`, name);
      checkPropertyText(`property ${name}`, value);
      if (name.length === 0) throw new ClientStateError('ILLEGAL_ARGUMENT', 'property names must not be empty');
      text += name + NAME_VALUE_SEPARATOR + value + PROPERTY_SEPARATOR;
    }
  }
  return extra.length === 0 ? text : text + extra;
}

export interface CompressedBody {
  body: Buffer;
  /** sysFlag bits to add (0 when not compressed). */
  sysFlag: number;
}

/** Deflates bodies of at least `overBytes`, keeping the result only when it is smaller. */
export function maybeCompress(body: Buffer, overBytes: number, level: number): CompressedBody {
  if (overBytes <= 0 || body.length < overBytes) return { body, sysFlag: 0 };
  const compressed = deflateSync(body, { level });
  // Incompressible data would grow; sending it raw is what the consumer would get anyway.
  if (compressed.length >= body.length) return { body, sysFlag: 0 };
  return { body: compressed, sysFlag: SysFlag.COMPRESSED | CompressionFlag.ZLIB };
}

export function checkBodySize(bytes: number, maxBytes: number = Limits.maxMessageSizeBytes): void {
  if (bytes === 0) throw new ClientStateError('ILLEGAL_ARGUMENT', 'message body is empty');
  if (bytes > maxBytes) throw new MQClientError('MESSAGE_BODY_TOO_LARGE', `message body of ${bytes} bytes exceeds the ${maxBytes}-byte limit`);
}

export interface BatchEntry {
  body: Buffer;
  flag: number;
  properties: string;
}

/** Encodes a batch body (layout at the top of this file) into one buffer. */
export function encodeBatchBody(entries: readonly BatchEntry[]): Buffer {
  let total = 0;
  const propertyBytes = new Array<number>(entries.length);
  for (let index = 0; index < entries.length; index++) {
    const entry = entries[index]!;
    const bytes = Buffer.byteLength(entry.properties, 'utf8');
    if (bytes > Limits.maxPropertiesBytes) {
      throw new MQClientError('MESSAGE_PROPERTIES_TOO_LARGE', `properties of batch message ${index} are ${bytes} bytes, more than ${Limits.maxPropertiesBytes}`);
    }
    propertyBytes[index] = bytes;
    total += BATCH_ENTRY_FIXED_BYTES + entry.body.length + bytes;
  }
  const target = Buffer.allocUnsafe(total);
  let at = 0;
  for (let index = 0; index < entries.length; index++) {
    const entry = entries[index]!;
    const props = propertyBytes[index]!;
    target.writeInt32BE(BATCH_ENTRY_FIXED_BYTES + entry.body.length + props, at);
    target.writeInt32BE(0, at + 4);
    target.writeInt32BE(0, at + 8);
    target.writeInt32BE(entry.flag | 0, at + 12);
    target.writeInt32BE(entry.body.length, at + 16);
    at += 20;
    at += entry.body.copy(target, at);
    target.writeInt16BE(props, at);
    at += 2;
    if (props > 0) at += target.write(entry.properties, at, props, 'utf8');
  }
  return target;
}

let warnedUnsupportedCompression = false;

function inflateBody(body: Buffer, sysFlag: number, logger: Logger | undefined): Buffer {
  const codec = sysFlag & CompressionFlag.MASK;
  if (codec !== 0 && codec !== CompressionFlag.ZLIB) {
    if (!warnedUnsupportedCompression) {
      warnedUnsupportedCompression = true;
      logger?.warn({ sysFlag }, 'message body compressed with LZ4 or ZSTD, which this client cannot inflate; delivered compressed');
    }
    return body;
  }
  try {
    return inflateSync(body);
  } catch (error) {
    logger?.warn({ err: error, sysFlag }, 'message flagged COMPRESSED does not inflate; delivered as stored');
    return body;
  }
}

/**
 * Checks the record of `totalSize` bytes at `position` and fills `layout` with where its body, topic
 * and properties are; false when it does not decode. The checks are protocol/message-record.ts's
 * decodeRecordAt's (sizes, magic, every length inside the record), without making its strings,
 * host objects and views: ReceivedMessage reads what it is asked for from the bytes.
 */
export function scanRecordAt(source: Buffer, position: number, totalSize: number, layout: RecordLayout): boolean {
  const end = position + totalSize;
  if (end > source.length || totalSize < MIN_RECORD_BYTES) return false;
  const magic = source.readInt32BE(position + 4);
  if (magic !== MAGIC_V1 && magic !== MAGIC_V2) return false;
  const sysFlag = source.readInt32BE(position + RecordField.SYS_FLAG);
  // Born host, store timestamp, store host, reconsume times, prepared transaction offset.
  let at = position + RecordField.BORN_HOST + (sysFlag & SysFlag.BORNHOST_V6 ? 16 : 4) + 4 + 8 + (sysFlag & SysFlag.STOREHOST_V6 ? 16 : 4) + 4 + 4 + 8;
  if (at + 4 > end) return false;
  const bodyLength = source.readInt32BE(at);
  at += 4;
  if (bodyLength < 0 || at + bodyLength > end) return false;
  layout.bodyStart = at;
  layout.bodyLength = bodyLength;
  at += bodyLength;
  let topicLength: number;
  if (magic === MAGIC_V2) {
    if (at + 2 > end) return false;
    topicLength = source.readUInt16BE(at);
    at += 2;
  } else {
    if (at + 1 > end) return false;
    topicLength = source[at]!;
    at += 1;
  }
  if (at + topicLength + 2 > end) return false;
  layout.topicStart = at;
  layout.topicLength = topicLength;
  at += topicLength;
  const propertiesLength = source.readInt16BE(at);
  at += 2;
  if (propertiesLength < 0 || at + propertiesLength !== end) return false;
  layout.propertiesStart = at;
  layout.propertiesLength = propertiesLength;
  layout.position = position;
  return true;
}

/** The smallest record decodeRecordAt accepts. */
const MIN_RECORD_BYTES = 80;

/** The scanner's output, reused: messages copy what they keep out of it. */
const scratchLayout: RecordLayout = { position: 0, bodyStart: 0, bodyLength: 0, topicStart: 0, topicLength: 0, propertiesStart: 0, propertiesLength: 0 };

/**
 * Decodes records laid end to end into messages read from `queue`. A record that does not decode
 * ends the list (the rest of the buffer cannot be framed); the caller gets what came before it.
 */
export function decodeMessages(source: Buffer, queue: MessageQueue, logger?: Logger): ReceivedMessage[] {
  const messages: ReceivedMessage[] = [];
  const layout = scratchLayout;
  let position = 0;
  const length = source.length;
  while (position + 8 <= length) {
    const size = source.readInt32BE(position);
    if (!scanRecordAt(source, position, size, layout)) {
      logger?.warn({ position, size, bytes: length }, 'undecodable message record; the rest of the answer is dropped');
      break;
    }
    messages.push(messageAt(source, layout, queue, logger));
    position += size;
  }
  return messages;
}

function messageAt(source: Buffer, layout: RecordLayout, queue: MessageQueue, logger: Logger | undefined): ReceivedMessage {
  const stored = source.subarray(layout.bodyStart, layout.bodyStart + layout.bodyLength);
  const sysFlag = source.readInt32BE(layout.position + RecordField.SYS_FLAG);
  const body = (sysFlag & SysFlag.COMPRESSED) !== 0 ? inflateBody(stored, sysFlag, logger) : stored;
  return new ReceivedMessage(source, layout, queue, body);
}

/** Decodes one record (a VIEW_MESSAGE_BY_ID answer or a transaction check body). */
export function decodeOneMessage(source: Buffer, brokerName = '', logger?: Logger): ReceivedMessage | undefined {
  if (source.length < 8) return undefined;
  const layout = scratchLayout;
  if (!scanRecordAt(source, 0, source.readInt32BE(0), layout)) return undefined;
  const topic = source.toString('utf8', layout.topicStart, layout.topicStart + layout.topicLength);
  // The record does not name its broker; the caller knows which one it asked.
  return messageAt(source, layout, { topic, brokerName, queueId: source.readInt32BE(RecordField.QUEUE_ID) }, logger);
}
