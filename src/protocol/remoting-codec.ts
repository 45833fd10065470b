/**
 * The RocketMQ remoting frame codec: whole commands to bytes and back, plus a streaming frame splitter
 * for socket data. Pure code, no I/O.
 *
 * Frame (all integers big-endian):
 *
 *  offset  size  field
 *  0       4     totalLen: bytes after this field (header-length word + header + body); 4 .. 16 MiB
 *  4       4     serializeType << 24 | headerLen (headerLen is the low 24 bits)
 *  8       n     header: JSON (serializeType 0) or ROCKETMQ binary (serializeType 1)
 *  8+n     ..    body: whatever follows the header, possibly nothing
 *
 * JSON header: an object with `code`, `language`, `version`, `opaque`, `flag`, `remark`, `extFields`
 * (string → string) and `serializeTypeCurrentRPC`. We always write JSON, fields in that order; on
 * input every scalar in `extFields` becomes a string (ali-ons sends raw numbers and booleans), nulls
 * are dropped, and nested objects or arrays make the header malformed.
 *
 * ROCKETMQ binary header (accepted on input only):
 *
 *  offset  size  field
 *  0       2     code (int16)
 *  2       1     language (int8, index into LANGUAGE_CODES)
 *  3       2     version (int16)
 *  5       4     opaque (int32)
 *  9       4     flag (int32)
 *  13      4     remarkLen (int32, 0 = no remark), then remarkLen bytes of UTF-8
 *  ..      4     extFieldsLen (int32, bytes of all entries, 0 = none), then entries of
 *                  2 keyLen (uint16), key UTF-8, 4 valueLen (int32), value UTF-8
 *
 * A frame that breaks any of these rules throws TideError FRAME_MALFORMED (or FRAME_TOO_LARGE for a
 * declared length above Limits.maxFrameBytes); the caller closes the connection, since the byte
 * stream can no longer be trusted.
 */
import { assert } from '../common/assert.js';
import { TideError } from '../common/errors.js';
import { Limits } from '../common/limits.js';
import { LANGUAGE_CODES, type RemotingCommand } from './remoting-command.js';

export const SerializeType = {
  JSON: 0,
  ROCKETMQ: 1,
} as const;
export type SerializeType = (typeof SerializeType)[keyof typeof SerializeType];

/** totalLen + the serializeType/headerLen word. */
export const FRAME_PREFIX_BYTES = 8;
/** Bytes of the binary header before remark and extFields, their two length fields included. */
export const BINARY_HEADER_FIXED_BYTES = 21;
const HEADER_LENGTH_MASK = 0xffffff;

function malformed(message: string): TideError {
  return new TideError('FRAME_MALFORMED', `malformed remoting frame: ${message}`);
}

// ---------------------------------------------------------------------------------------------
// Encoding

/**
 * Set by `jsonString` when a string it saw has characters outside ASCII. Module state instead of a
 * returned pair so the hot path allocates nothing but the header string itself.
 */
let headerIsAscii = true;
const NON_ASCII = /[^\x00-\x7f]/;

/**
 * A JSON string literal for `value`. Plain strings (the usual topic, group and number fields) are
 * quoted as they are; anything needing an escape, including lone surrogates, goes through
 * JSON.stringify, which is native and exact.
 */
function jsonString(value: string): string {
  const length = value.length;
  for (let index = 0; index < length; index++) {
    const char = value.charCodeAt(index);
    if (char < 0x20 || char === 0x22 || char === 0x5c || (char >= 0xd800 && char <= 0xdfff)) {
      if (headerIsAscii && NON_ASCII.test(value)) headerIsAscii = false;
      return JSON.stringify(value);
    }
    if (char >= 0x80) headerIsAscii = false;
  }
  return '"' + value + '"';
}

function isInt32(value: unknown): value is number {
  return typeof value === 'number' && (value | 0) === value;
}

/** The JSON header text for a command sent with `opaque` and `flag`. Sets `headerIsAscii`. */
function jsonHeader(command: RemotingCommand, opaque: number, flag: number): string {
  assert(isInt32(command.code) && isInt32(opaque) && isInt32(flag) && isInt32(command.version), 'remoting command numbers must be int32');
  headerIsAscii = true;
  let header = '{"code":' + command.code;
  header += command.language === 'JAVA' ? ',"language":"JAVA"' : ',"language":' + jsonString(command.language);
  header += ',"version":' + command.version + ',"opaque":' + opaque + ',"flag":' + flag;
  const remark = command.remark;
  if (remark !== undefined && remark !== null) header += ',"remark":' + jsonString(remark);
  const extFields = command.extFields;
  if (extFields !== undefined && extFields !== null) {
    header += ',"extFields":{';
    let separator = '';
    for (const key in extFields) {
      // JavaScript callers may slip numbers or undefined past the type; Java expects strings.
      const value: unknown = extFields[key];
      if (value === undefined || value === null) continue;
      header += separator + jsonString(key) + ':' + jsonString(typeof value === 'string' ? value : String(value));
      separator = ',';
    }
    header += '}';
  }
  return header + ',"serializeTypeCurrentRPC":"JSON"}';
}

/** The whole frame (totalLen included) for `command`, with a JSON header. */
export function encodeCommand(command: RemotingCommand): Buffer {
  return encodeCommandAs(command, command.opaque, command.flag);
}

/**
 * Like encodeCommand, but with `opaque` and `flag` in place of the command's own: the server forces a
 * response to carry its request's opaque and the response bit, and oneway sends set the oneway bit,
 * without touching objects the caller may reuse.
 */
export function encodeCommandAs(command: RemotingCommand, opaque: number, flag: number): Buffer {
  const header = jsonHeader(command, opaque, flag);
  const headerBytes = headerIsAscii ? header.length : Buffer.byteLength(header, 'utf8');
  const body = command.body;
  const bodyBytes = body === undefined || body === null ? 0 : body.length;
  const totalBytes = 4 + headerBytes + bodyBytes;
  if (totalBytes > Limits.maxFrameBytes) {
    throw new TideError('FRAME_TOO_LARGE', `remoting frame of ${totalBytes} bytes exceeds the ${Limits.maxFrameBytes}-byte limit`);
  }
  const frame = Buffer.allocUnsafe(4 + totalBytes);
  frame.writeInt32BE(totalBytes, 0);
  frame.writeInt32BE(headerBytes, 4); // serializeType JSON = 0 in the top byte
  // latin1 is a straight byte copy and exact for ASCII; utf8 only when the header needs it.
  frame.write(header, FRAME_PREFIX_BYTES, headerBytes, headerIsAscii ? 'latin1' : 'utf8');
  if (bodyBytes > 0) frame.set(body as Buffer, FRAME_PREFIX_BYTES + headerBytes);
  return frame;
}

// ---------------------------------------------------------------------------------------------
// Decoding

/**
 * Decodes one frame given the bytes after totalLen (serializeType/headerLen word, header, body). The
 * body is a view into `frame`, not a copy.
 */
export function decodeCommand(frame: Buffer): RemotingCommand {
  if (frame.length < 4) throw malformed(`frame of ${frame.length} bytes has no header-length field`);
  const word = frame.readUInt32BE(0);
  const serializeType = word >>> 24;
  const headerBytes = word & HEADER_LENGTH_MASK;
  const headerEnd = 4 + headerBytes;
  if (headerEnd > frame.length) throw malformed(`header length ${headerBytes} exceeds the ${frame.length - 4} bytes after it`);
  let command: RemotingCommand;
  if (serializeType === SerializeType.JSON) command = decodeJsonHeader(frame, 4, headerEnd);
  else if (serializeType === SerializeType.ROCKETMQ) command = decodeBinaryHeader(frame, 4, headerEnd);
  else throw malformed(`unknown serialize type ${serializeType}`);
  if (headerEnd < frame.length) command.body = frame.subarray(headerEnd);
  return command;
}

function optionalInt32(header: Record<string, unknown>, field: string, fallback: number): number {
  const value = header[field];
  if (value === undefined || value === null) return fallback;
  if (!isInt32(value)) throw malformed(`header field ${field} is not a 32-bit integer`);
  return value;
}

function decodeJsonHeader(frame: Buffer, start: number, end: number): RemotingCommand {
  let parsed: unknown;
  try {
    parsed = JSON.parse(frame.toString('utf8', start, end));
  } catch {
    throw malformed('header is not valid JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw malformed('header is not a JSON object');
  const header = parsed as Record<string, unknown>;
  const code = header.code;
  if (!isInt32(code)) throw malformed('header field code is missing or not a 32-bit integer');
  const opaque = header.opaque;
  if (!isInt32(opaque)) throw malformed('header field opaque is missing or not a 32-bit integer');
  const flag = optionalInt32(header, 'flag', 0);
  const version = optionalInt32(header, 'version', 0);
  let language = header.language;
  if (language === undefined || language === null) language = 'OTHER';
  else if (typeof language !== 'string') throw malformed('header field language is not a string');
  const remark = header.remark;
  if (remark !== undefined && remark !== null && typeof remark !== 'string') throw malformed('header field remark is not a string');
  const extFields = header.extFields;
  let fields: Record<string, string> | undefined;
  if (extFields !== undefined && extFields !== null) {
    if (typeof extFields !== 'object' || Array.isArray(extFields)) throw malformed('header field extFields is not an object');
    fields = normalizeExtFields(extFields as Record<string, unknown>);
  }
  return {
    code,
    language: language as string,
    version,
    opaque,
    flag,
    remark: remark === null ? undefined : (remark as string | undefined),
    extFields: fields,
    body: undefined,
  };
}

/**
 * Turns numbers and booleans into strings and drops nulls, in place: the object came from JSON.parse
 * and is ours. Java senders only send strings, so usually nothing changes and nothing is copied.
 * Assigning to an own `__proto__` key written by JSON.parse sets that data property, not the prototype.
 */
function normalizeExtFields(fields: Record<string, unknown>): Record<string, string> {
  for (const key in fields) {
    const value = fields[key];
    if (typeof value === 'string') continue;
    if (value === null) delete fields[key];
    else if (typeof value === 'number' || typeof value === 'boolean') fields[key] = String(value);
    else throw malformed(`extFields.${key.slice(0, 64)} is not a scalar`);
  }
  return fields as Record<string, string>;
}

function decodeBinaryHeader(frame: Buffer, start: number, end: number): RemotingCommand {
  if (end - start < BINARY_HEADER_FIXED_BYTES) throw malformed(`binary header of ${end - start} bytes is shorter than ${BINARY_HEADER_FIXED_BYTES}`);
  const code = frame.readInt16BE(start);
  const languageIndex = frame.readInt8(start + 2);
  // A language this table does not know yet is not a reason to refuse the request.
  const language = LANGUAGE_CODES[languageIndex] ?? 'OTHER';
  const version = frame.readInt16BE(start + 3);
  const opaque = frame.readInt32BE(start + 5);
  const flag = frame.readInt32BE(start + 9);
  let position = start + 13;
  const remarkBytes = frame.readInt32BE(position);
  position += 4;
  // The extFields length field must still fit after the remark.
  if (remarkBytes < 0 || remarkBytes > end - position - 4) throw malformed(`binary remark length ${remarkBytes} overruns the header`);
  const remark = remarkBytes > 0 ? frame.toString('utf8', position, position + remarkBytes) : undefined;
  position += remarkBytes;
  const extFieldsBytes = frame.readInt32BE(position);
  position += 4;
  if (extFieldsBytes < 0 || extFieldsBytes > end - position) throw malformed(`binary extFields length ${extFieldsBytes} overruns the header`);
  // Bytes after extFields inside headerLen are ignored, as Java does.
  const extFields = extFieldsBytes > 0 ? decodeBinaryExtFields(frame, position, position + extFieldsBytes) : undefined;
  return { code, language, version, opaque, flag, remark, extFields, body: undefined };
}

function decodeBinaryExtFields(frame: Buffer, start: number, end: number): Record<string, string> {
  const fields: Record<string, string> = {};
  let position = start;
  while (position < end) {
    if (end - position < 2) throw malformed('binary extFields entry cut inside its key length');
    const keyBytes = frame.readUInt16BE(position);
    position += 2;
    if (keyBytes > end - position - 4) throw malformed(`binary extFields key length ${keyBytes} overruns the entries`);
    const key = frame.toString('utf8', position, position + keyBytes);
    position += keyBytes;
    const valueBytes = frame.readInt32BE(position);
    position += 4;
    if (valueBytes < 0 || valueBytes > end - position) throw malformed(`binary extFields value length ${valueBytes} overruns the entries`);
    const value = frame.toString('utf8', position, position + valueBytes);
    position += valueBytes;
    // A plain assignment of `__proto__` would replace the prototype instead of adding a field.
    if (key === '__proto__') Object.defineProperty(fields, key, { value, enumerable: true, writable: true, configurable: true });
    else fields[key] = value;
  }
  return fields;
}

// ---------------------------------------------------------------------------------------------
// Streaming

/** Chunks smaller than this are copied into a staging buffer once a frame spans many chunks. */
const SMALL_CHUNK_BYTES = 1024;
/** Live chunks before small ones get staged: a peer dripping bytes cannot grow the list without bound. */
const STAGE_AFTER_CHUNKS = 8;
const STAGE_BUFFER_BYTES = 64 * 1024;
const COMPACT_AFTER_CHUNKS = 64;

/**
 * Splits a byte stream into frames. `push` socket chunks, then call `next()` until it returns null.
 * Frames come back without their totalLen field, ready for decodeCommand; a frame inside one chunk is
 * a view of that chunk, and bytes are copied only when a frame spans chunks. The declared length is
 * checked as soon as its 4 bytes arrive, before anything is allocated for the frame; after a framing
 * error every further `next()` throws the same error.
 */
export class FrameDecoder {
  private readonly maxFrameBytes: number;
  /** One array with a head index, so consuming never shifts. */
  private chunks: (Buffer | undefined)[] = [];
  private head = 0;
  /** Bytes of chunks[head] already consumed. */
  private headOffset = 0;
  private buffered = 0;
  /** Declared length of the frame being assembled, or -1 while its length field is not read. */
  private frameBytes = -1;
  private failure: TideError | undefined;
  private stage: Buffer | undefined;
  private stageUsed = 0;
  private stageViewStart = 0;
  /** Whether the last chunk in the list is a view of `stage` that may still grow. */
  private lastIsStage = false;

  constructor(maxFrameBytes: number = Limits.maxFrameBytes) {
    assert(maxFrameBytes >= 4 && maxFrameBytes <= 0x7fffffff, 'maxFrameBytes out of range');
    this.maxFrameBytes = maxFrameBytes;
  }

  /** Bytes received and not yet returned as frames. */
  get bufferedBytes(): number {
    return this.buffered;
  }

  push(chunk: Buffer): void {
    const length = chunk.length;
    if (length === 0 || this.failure !== undefined) return;
    this.buffered += length;
    if (length >= SMALL_CHUNK_BYTES || this.chunks.length - this.head < STAGE_AFTER_CHUNKS) {
      this.chunks.push(chunk);
      this.lastIsStage = false;
      return;
    }
    let stage = this.stage;
    if (this.lastIsStage && stage !== undefined && this.stageUsed + length <= stage.length) {
      stage.set(chunk, this.stageUsed);
      this.stageUsed += length;
      // Grow the last view; bytes before stageUsed are never rewritten, so earlier frames stay intact.
      this.chunks[this.chunks.length - 1] = stage.subarray(this.stageViewStart, this.stageUsed);
      return;
    }
    if (stage === undefined || this.stageUsed + length > stage.length) {
      stage = this.stage = Buffer.allocUnsafeSlow(STAGE_BUFFER_BYTES);
      this.stageUsed = 0;
    }
    this.stageViewStart = this.stageUsed;
    stage.set(chunk, this.stageUsed);
    this.stageUsed += length;
    this.chunks.push(stage.subarray(this.stageViewStart, this.stageUsed));
    this.lastIsStage = true;
  }

  /** The next complete frame (the bytes after totalLen), or null until more data arrives. */
  next(): Buffer | null {
    if (this.failure !== undefined) throw this.failure;
    if (this.frameBytes < 0) {
      if (this.buffered < 4) return null;
      const declared = this.readLength();
      if (declared > this.maxFrameBytes) {
        return this.fail(new TideError('FRAME_TOO_LARGE', `remoting frame declares ${declared} bytes, more than the ${this.maxFrameBytes}-byte limit`));
      }
      if (declared < 4) return this.fail(malformed(`declared frame length ${declared} is below 4`));
      this.frameBytes = declared;
    }
    if (this.buffered < this.frameBytes) return null;
    const frame = this.consume(this.frameBytes);
    this.frameBytes = -1;
    return frame;
  }

  /** Every complete frame buffered now. */
  *frames(): IterableIterator<Buffer> {
    let frame: Buffer | null;
    while ((frame = this.next()) !== null) yield frame;
  }

  private fail(error: TideError): never {
    this.failure = error;
    this.chunks = [];
    this.head = 0;
    this.headOffset = 0;
    this.buffered = 0;
    this.stage = undefined;
    this.lastIsStage = false;
    throw error;
  }

  /** Reads and consumes the uint32 length field; the caller checked 4 bytes are buffered. */
  private readLength(): number {
    const first = this.chunks[this.head] as Buffer;
    if (first.length - this.headOffset >= 4) {
      const value = first.readUInt32BE(this.headOffset);
      this.skip(first, 4);
      return value;
    }
    let value = 0;
    for (let index = 0; index < 4; index++) {
      const chunk = this.chunks[this.head] as Buffer;
      value = value * 256 + (chunk[this.headOffset] as number);
      this.skip(chunk, 1);
    }
    return value;
  }

  private skip(chunk: Buffer, bytes: number): void {
    this.buffered -= bytes;
    this.headOffset += bytes;
    if (this.headOffset === chunk.length) this.advanceHead();
  }

  /** Takes `bytes` bytes off the front: a view when they sit in one chunk, else one copy. */
  private consume(bytes: number): Buffer {
    const first = this.chunks[this.head] as Buffer;
    const available = first.length - this.headOffset;
    if (available >= bytes) {
      const view = this.headOffset === 0 && available === bytes ? first : first.subarray(this.headOffset, this.headOffset + bytes);
      this.skip(first, bytes);
      return view;
    }
    const frame = Buffer.allocUnsafe(bytes);
    let copied = 0;
    while (copied < bytes) {
      const chunk = this.chunks[this.head] as Buffer;
      const take = Math.min(chunk.length - this.headOffset, bytes - copied);
      frame.set(chunk.subarray(this.headOffset, this.headOffset + take), copied);
      copied += take;
      this.skip(chunk, take);
    }
    return frame;
  }

  private advanceHead(): void {
    this.chunks[this.head] = undefined;
    this.head++;
    this.headOffset = 0;
    if (this.head === this.chunks.length) {
      this.chunks.length = 0;
      this.head = 0;
      this.lastIsStage = false;
    } else if (this.head >= COMPACT_AFTER_CHUNKS && this.head * 2 >= this.chunks.length) {
      this.chunks.splice(0, this.head);
      this.head = 0;
    }
  }
}
