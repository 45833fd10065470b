/**
 * The commit-log record: RocketMQ's layout, used both in commit-log segments and as the body of pull,
 * pop, query and view answers. All integers big-endian; 64-bit fields written as two 32-bit halves.
 *
 *  offset  size  field
 *  0       4     TOTALSIZE (whole record, these 4 bytes included)
 *  4       4     MAGIC: 0xDAA320A7 (V1, 1-byte topic length) or 0xDAA320AB (V2, 2-byte topic length)
 *  8       4     BODYCRC: CRC32 of the stored body & 0x7FFFFFFF
 *  12      4     QUEUEID
 *  16      4     FLAG
 *  20      8     QUEUEOFFSET
 *  28      8     PHYSICALOFFSET
 *  36      4     SYSFLAG (0x10: born host is IPv6, 0x20: store host is IPv6)
 *  40      8     BORNTIMESTAMP
 *  48      8|20  BORNHOST (ip 4|16 + port int32)
 *  ..      8     STORETIMESTAMP
 *  ..      8|20  STOREHOST
 *  ..      4     RECONSUMETIMES
 *  ..      8     PREPARED_TRANSACTION_OFFSET
 *  ..      4+n   BODY
 *  ..      1|2+n TOPIC
 *  ..      2+n   PROPERTIES
 *
 * A segment ends with a BLANK marker when the next record does not fit: TOTALSIZE = bytes left in the
 * segment, MAGIC = 0xCBD43194 (8 bytes written). Recovery treats TOTALSIZE 0 as the end of data and any
 * other bad magic, bad size or bad CRC as a torn or corrupt tail.
 */
import { crc32 } from 'node:zlib';
import { TideError } from '../common/errors.js';
import { Limits } from '../common/limits.js';
import type { HostAddress } from './host-address.js';

export const MAGIC_V1 = 0xdaa320a7 | 0;
export const MAGIC_V2 = 0xdaa320ab | 0;
export const BLANK_MAGIC = 0xcbd43194 | 0;
/** TOTALSIZE + MAGIC of a BLANK marker. */
export const BLANK_MARKER_BYTES = 8;

export const SysFlag = {
  COMPRESSED: 0x1,
  MULTI_TAGS: 0x2,
  TRANSACTION_NOT_TYPE: 0x0,
  TRANSACTION_PREPARED: 0x4,
  TRANSACTION_COMMIT: 0x8,
  TRANSACTION_ROLLBACK: 0xc,
  BORNHOST_V6: 0x10,
  STOREHOST_V6: 0x20,
  NEED_UNWRAP: 0x40,
  INNER_BATCH: 0x80,
} as const;

export const TRANSACTION_TYPE_MASK = 0xc;

export const RecordField = {
  TOTAL_SIZE: 0,
  MAGIC: 4,
  BODY_CRC: 8,
  QUEUE_ID: 12,
  FLAG: 16,
  QUEUE_OFFSET: 20,
  PHYSICAL_OFFSET: 28,
  SYS_FLAG: 36,
  BORN_TIMESTAMP: 40,
  BORN_HOST: 48,
} as const;

const TWO_POW_32 = 4_294_967_296;

export function writeInt64(target: Buffer, value: number, position: number): void {
  const high = Math.floor(value / TWO_POW_32);
  target.writeInt32BE(high | 0, position);
  target.writeUInt32BE(value - high * TWO_POW_32, position + 4);
}

export function readInt64(source: Buffer, position: number): number {
  return source.readInt32BE(position) * TWO_POW_32 + source.readUInt32BE(position + 4);
}

/** RocketMQ's body CRC: CRC32 masked to 31 bits. */
export function bodyCrc(body: Uint8Array): number {
  return crc32(body) & 0x7fffffff;
}

export interface MessageRecordInput {
  topic: string;
  queueId: number;
  flag: number;
  /** Without the host bits; they are derived from the host lengths. */
  sysFlag: number;
  bornTimestamp: number;
  bornHost: HostAddress;
  storeHost: HostAddress;
  reconsumeTimes: number;
  preparedTransactionOffset: number;
  body: Buffer;
  /** Encoded `k\x01v\x02` properties. */
  properties: string;
}

/** A record validated and measured, ready to be written at any position. */
export interface PreparedRecord {
  readonly input: MessageRecordInput;
  readonly size: number;
  readonly sysFlag: number;
  readonly bodyCrc: number;
  readonly topicLength: number;
  readonly propertiesLength: number;
  readonly topicV2: boolean;
  /** Topic and properties are pure ASCII (byte length = string length): written byte by byte. */
  readonly topicAscii: boolean;
  readonly propertiesAscii: boolean;
  /** Offset of STORETIMESTAMP inside the record. */
  readonly storeTimestampPosition: number;
}

export function prepareRecord(input: MessageRecordInput, maxMessageSizeBytes: number = Limits.maxMessageSizeBytes): PreparedRecord {
  if (input.body.length > maxMessageSizeBytes) {
    throw new TideError('MESSAGE_BODY_TOO_LARGE', `message body of ${input.body.length} bytes exceeds maxMessageSize ${maxMessageSizeBytes}`);
  }
  const propertiesLength = Buffer.byteLength(input.properties, 'utf8');
  if (propertiesLength > Limits.maxPropertiesBytes) {
    throw new TideError('MESSAGE_PROPERTIES_TOO_LARGE', `message properties of ${propertiesLength} bytes exceed ${Limits.maxPropertiesBytes}`);
  }
  const topicLength = Buffer.byteLength(input.topic, 'utf8');
  if (topicLength === 0 || topicLength > 32_767) {
    throw new TideError('TOPIC_NAME_INVALID', `topic length ${topicLength} is out of range`);
  }
  const topicV2 = topicLength > 127;
  let sysFlag = input.sysFlag & ~(SysFlag.BORNHOST_V6 | SysFlag.STOREHOST_V6);
  if (input.bornHost.ip.length === 16) sysFlag |= SysFlag.BORNHOST_V6;
  if (input.storeHost.ip.length === 16) sysFlag |= SysFlag.STOREHOST_V6;
  const bornHostBytes = input.bornHost.ip.length + 4;
  const storeHostBytes = input.storeHost.ip.length + 4;
  const size =
    4 + 4 + 4 + 4 + 4 + 8 + 8 + 4 + 8 + bornHostBytes + 8 + storeHostBytes + 4 + 8 +
    4 + input.body.length + (topicV2 ? 2 : 1) + topicLength + 2 + propertiesLength;
  return {
    input,
    size,
    sysFlag,
    bodyCrc: bodyCrc(input.body),
    topicLength,
    propertiesLength,
    topicV2,
    // A UTF-8 byte length equal to the string length means every code unit is below 0x80.
    topicAscii: topicLength === input.topic.length,
    propertiesAscii: propertiesLength === input.properties.length,
    storeTimestampPosition: RecordField.BORN_HOST + bornHostBytes,
  };
}

/**
 * Writes a prepared record at `position`; returns the number of bytes written (= prepared.size).
 * This runs once per appended message, so it stores bytes directly instead of calling Buffer's
 * checked writers, copies the body with one TypedArray `set` (Buffer#copy allocates a view per
 * call) and writes ASCII topic and properties without a trip into the UTF-8 encoder. The caller
 * guarantees `target` has `prepared.size` bytes at `position`.
 */
export function writeRecord(
  prepared: PreparedRecord,
  target: Buffer,
  position: number,
  queueOffset: number,
  physicalOffset: number,
  storeTimestamp: number,
): number {
  const input = prepared.input;
  assertRoom(target, position, prepared.size);
  putInt32(target, position, prepared.size);
  putInt32(target, position + 4, prepared.topicV2 ? MAGIC_V2 : MAGIC_V1);
  putInt32(target, position + 8, prepared.bodyCrc);
  putInt32(target, position + 12, input.queueId);
  putInt32(target, position + 16, input.flag);
  putInt64(target, position + 20, queueOffset);
  putInt64(target, position + 28, physicalOffset);
  putInt32(target, position + 36, prepared.sysFlag);
  putInt64(target, position + 40, input.bornTimestamp);
  let at = putHost(target, position + RecordField.BORN_HOST, input.bornHost);
  putInt64(target, at, storeTimestamp); at += 8;
  at = putHost(target, at, input.storeHost);
  putInt32(target, at, input.reconsumeTimes); at += 4;
  putInt64(target, at, input.preparedTransactionOffset); at += 8;
  const body = input.body;
  putInt32(target, at, body.length); at += 4;
  target.set(body, at); at += body.length;
  const topicLength = prepared.topicLength;
  if (prepared.topicV2) {
    target[at] = topicLength >>> 8; target[at + 1] = topicLength; at += 2;
  } else {
    target[at] = topicLength; at += 1;
  }
  at += prepared.topicAscii ? putAscii(target, at, input.topic) : target.write(input.topic, at, topicLength, 'utf8');
  const propertiesLength = prepared.propertiesLength;
  target[at] = propertiesLength >>> 8; target[at + 1] = propertiesLength; at += 2;
  if (propertiesLength > 0) {
    // Long ASCII strings are faster through the latin1 encoder (the same bytes for ASCII) than a JS loop.
    at += !prepared.propertiesAscii ? target.write(input.properties, at, propertiesLength, 'utf8')
      : propertiesLength > ASCII_LOOP_MAX_CHARS ? target.write(input.properties, at, propertiesLength, 'latin1')
      : putAscii(target, at, input.properties);
  }
  return at - position;
}

/** Strings up to this long are copied with a JS loop; longer ones with one native call. */
const ASCII_LOOP_MAX_CHARS = 48;

function assertRoom(target: Buffer, position: number, size: number): void {
  if (!(position >= 0 && position + size <= target.length)) throw new RangeError(`record of ${size} bytes does not fit at ${position} of ${target.length}`);
}

function putInt32(target: Buffer, at: number, value: number): void {
  target[at] = value >>> 24;
  target[at + 1] = value >>> 16;
  target[at + 2] = value >>> 8;
  target[at + 3] = value;
}

/** A safe integer as a signed 64-bit big-endian value (two 32-bit halves). */
function putInt64(target: Buffer, at: number, value: number): void {
  const high = Math.floor(value / TWO_POW_32);
  putInt32(target, at, high | 0);
  putInt32(target, at + 4, (value - high * TWO_POW_32) >>> 0);
}

/** ip (4 or 16 bytes) then port; returns the position after it. */
function putHost(target: Buffer, at: number, host: HostAddress): number {
  const ip = host.ip;
  const length = ip.length;
  for (let index = 0; index < length; index++) target[at + index] = ip[index]!;
  putInt32(target, at + length, host.port);
  return at + length + 4;
}

/** Writes a string known to be ASCII; returns its length. */
function putAscii(target: Buffer, at: number, text: string): number {
  const length = text.length;
  for (let index = 0; index < length; index++) target[at + index] = text.charCodeAt(index);
  return length;
}

/** Encodes a record into a fresh buffer (tests, clients, small paths). */
export function encodeRecord(input: MessageRecordInput, queueOffset: number, physicalOffset: number, storeTimestamp: number): Buffer {
  const prepared = prepareRecord(input);
  const target = Buffer.allocUnsafe(prepared.size);
  writeRecord(prepared, target, 0, queueOffset, physicalOffset, storeTimestamp);
  return target;
}

export interface DecodedRecord {
  totalSize: number;
  magic: number;
  bodyCrc: number;
  queueId: number;
  flag: number;
  queueOffset: number;
  physicalOffset: number;
  sysFlag: number;
  bornTimestamp: number;
  bornHost: { ip: Buffer; port: number };
  storeTimestamp: number;
  storeHost: { ip: Buffer; port: number };
  reconsumeTimes: number;
  preparedTransactionOffset: number;
  /** A view into the source buffer, not a copy. */
  body: Buffer;
  topic: string;
  properties: string;
}

/** What recovery and reads learn from the bytes at a position. */
export type RecordCheck =
  | { kind: 'record'; size: number }
  | { kind: 'blank'; size: number }
  | { kind: 'end' }
  | { kind: 'corrupt'; reason: string };

/**
 * Checks the record at `position` of `source` (only `available` bytes from there are valid): size,
 * magic, internal lengths and, when asked, the body CRC. Never throws.
 */
export function checkRecord(source: Buffer, position: number, available: number, verifyCrc: boolean): RecordCheck {
  if (available < 8) return available <= 0 || isZero(source, position, available) ? { kind: 'end' } : { kind: 'corrupt', reason: 'short header' };
  const totalSize = source.readInt32BE(position);
  const magic = source.readInt32BE(position + 4);
  if (totalSize === 0 && magic === 0) return { kind: 'end' };
  if (magic === BLANK_MAGIC) {
    if (totalSize < BLANK_MARKER_BYTES) return { kind: 'corrupt', reason: `blank marker size ${totalSize}` };
    return { kind: 'blank', size: totalSize };
  }
  if (magic !== MAGIC_V1 && magic !== MAGIC_V2) return { kind: 'corrupt', reason: `bad magic 0x${(magic >>> 0).toString(16)}` };
  if (totalSize < 80 || totalSize > available) return { kind: 'corrupt', reason: `record size ${totalSize} with ${available} bytes available` };
  const decoded = decodeRecordAt(source, position, totalSize);
  if (decoded === null) return { kind: 'corrupt', reason: 'record fields overrun its size' };
  if (verifyCrc && bodyCrc(decoded.body) !== decoded.bodyCrc) return { kind: 'corrupt', reason: 'body CRC mismatch' };
  return { kind: 'record', size: totalSize };
}

function isZero(source: Buffer, position: number, length: number): boolean {
  for (let index = position; index < position + length; index++) if (source[index] !== 0) return false;
  return true;
}

/**
 * Decodes the record at `position`, whose TOTALSIZE is `totalSize`. Returns null when a length inside
 * the record points past its end (a torn or corrupt record).
 */
export function decodeRecordAt(source: Buffer, position: number, totalSize: number): DecodedRecord | null {
  const end = position + totalSize;
  if (end > source.length || totalSize < 80) return null;
  const magic = source.readInt32BE(position + 4);
  if (magic !== MAGIC_V1 && magic !== MAGIC_V2) return null;
  const sysFlag = source.readInt32BE(position + RecordField.SYS_FLAG);
  const bornIpLength = sysFlag & SysFlag.BORNHOST_V6 ? 16 : 4;
  const storeIpLength = sysFlag & SysFlag.STOREHOST_V6 ? 16 : 4;
  let at = position + RecordField.BORN_HOST;
  const bornIp = source.subarray(at, at + bornIpLength); at += bornIpLength;
  const bornPort = source.readInt32BE(at); at += 4;
  const storeTimestamp = readInt64(source, at); at += 8;
  const storeIp = source.subarray(at, at + storeIpLength); at += storeIpLength;
  const storePort = source.readInt32BE(at); at += 4;
  const reconsumeTimes = source.readInt32BE(at); at += 4;
  const preparedTransactionOffset = readInt64(source, at); at += 8;
  if (at + 4 > end) return null;
  const bodyLength = source.readInt32BE(at); at += 4;
  if (bodyLength < 0 || at + bodyLength > end) return null;
  const body = source.subarray(at, at + bodyLength); at += bodyLength;
  let topicLength: number;
  if (magic === MAGIC_V2) {
    if (at + 2 > end) return null;
    topicLength = source.readUInt16BE(at); at += 2;
  } else {
    if (at + 1 > end) return null;
    topicLength = source.readUInt8(at); at += 1;
  }
  if (at + topicLength + 2 > end) return null;
  const topic = source.toString('utf8', at, at + topicLength); at += topicLength;
  const propertiesLength = source.readInt16BE(at); at += 2;
  if (propertiesLength < 0 || at + propertiesLength !== end) return null;
  const properties = propertiesLength > 0 ? source.toString('utf8', at, at + propertiesLength) : '';
  return {
    totalSize,
    magic,
    bodyCrc: source.readInt32BE(position + RecordField.BODY_CRC),
    queueId: source.readInt32BE(position + RecordField.QUEUE_ID),
    flag: source.readInt32BE(position + RecordField.FLAG),
    queueOffset: readInt64(source, position + RecordField.QUEUE_OFFSET),
    physicalOffset: readInt64(source, position + RecordField.PHYSICAL_OFFSET),
    sysFlag,
    bornTimestamp: readInt64(source, position + RecordField.BORN_TIMESTAMP),
    bornHost: { ip: bornIp, port: bornPort },
    storeTimestamp,
    storeHost: { ip: storeIp, port: storePort },
    reconsumeTimes,
    preparedTransactionOffset,
    body,
    topic,
    properties,
  };
}

/** Decodes a whole buffer holding one record (a pull/view body entry). */
export function decodeRecord(source: Buffer, position = 0): DecodedRecord | null {
  if (source.length - position < 8) return null;
  return decodeRecordAt(source, position, source.readInt32BE(position));
}

/** Decodes records laid end to end (a pull, query or view answer body). */
export function decodeRecords(source: Buffer): DecodedRecord[] {
  const records: DecodedRecord[] = [];
  let position = 0;
  while (position + 8 <= source.length) {
    const size = source.readInt32BE(position);
    const record = decodeRecordAt(source, position, size);
    if (record === null) throw new TideError('FRAME_MALFORMED', `malformed message record at byte ${position}`);
    records.push(record);
    position += size;
  }
  return records;
}

/** The STORETIMESTAMP of a record without decoding the rest. */
export function readStoreTimestamp(source: Buffer, position: number): number {
  const sysFlag = source.readInt32BE(position + RecordField.SYS_FLAG);
  const bornHostBytes = (sysFlag & SysFlag.BORNHOST_V6 ? 16 : 4) + 4;
  return readInt64(source, position + RecordField.BORN_HOST + bornHostBytes);
}
