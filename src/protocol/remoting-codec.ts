/**
 * The RocketMQ remoting frame codec, public entry: whole commands to bytes and back (encodeCommand,
 * encodeCommandAs, decodeCommand), plus FrameDecoder, the streaming frame splitter for socket data.
 * Pure code, no I/O. The pieces live beside it and are re-exported here:
 *  - remoting-frame.ts: the frame layout (totalLen, serializeType/headerLen word, header, body),
 *    SerializeType, FRAME_PREFIX_BYTES and the FRAME_MALFORMED error;
 *  - json-header-writer.ts: the JSON header writer (direct and encodeCommandViaString);
 *  - json-header-scanner.ts: scanJsonHeader, the fast JSON header decoder;
 *  - json-header-parser.ts: parseJsonHeader, the general JSON header decoder and the JSON header rules;
 *  - binary-header.ts: the ROCKETMQ binary header layout and decoder (input only).
 *
 * Frame, in short (see remoting-frame.ts): 4 totalLen | 4 serializeType << 24 | headerLen | header | body,
 * big-endian. We always write JSON headers; decoding accepts JSON and ROCKETMQ binary.
 *
 * Both JSON directions have a fast path and a general path that behave identically (the differential
 * tests in remoting-codec.test.ts and test/fuzz/remoting-codec-fuzz.test.ts hold them to that):
 * decoding tries scanJsonHeader and falls back to parseJsonHeader; encoding tries the direct writer and
 * falls back to encodeCommandViaString.
 *
 * A frame that breaks the rules throws TideError FRAME_MALFORMED (or FRAME_TOO_LARGE for a declared
 * length above Limits.maxFrameBytes); the caller closes the connection, since the byte stream can no
 * longer be trusted.
 */
import { assert } from '../common/assert.js';
import { TideError } from '../common/errors.js';
import { Limits } from '../common/limits.js';
import { decodeBinaryHeader } from './binary-header.js';
import { parseJsonHeader } from './json-header-parser.js';
import { scanJsonHeader } from './json-header-scanner.js';
import { encodeCommandDirect, encodeCommandViaString, prepareDirectFrame, writePreparedFrame } from './json-header-writer.js';
import type { RemotingCommand } from './remoting-command.js';
import { HEADER_LENGTH_MASK, SerializeType, isInt32, malformedFrame } from './remoting-frame.js';

export { BINARY_HEADER_FIXED_BYTES } from './binary-header.js';
export { parseJsonHeader } from './json-header-parser.js';
export { scanJsonHeader } from './json-header-scanner.js';
export { encodeCommandViaString } from './json-header-writer.js';
export { FRAME_PREFIX_BYTES, SerializeType } from './remoting-frame.js';

// ---------------------------------------------------------------------------------------------
// Encoding

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
  assert(isInt32(command.code) && isInt32(opaque) && isInt32(flag) && isInt32(command.version), 'remoting command numbers must be int32');
  return encodeCommandDirect(command, opaque, flag) ?? encodeCommandViaString(command, opaque, flag);
}

/**
 * Encoding into the caller's buffer, in two steps with nothing encoded in between: the frame's length
 * (totalLen field included) for `command` sent with `opaque` and `flag`, or -1 when only encodeCommandAs
 * can encode it (text outside ASCII, a header beyond the scratch, a frame over the limit, which
 * encodeCommandAs then refuses with FRAME_TOO_LARGE); then `writePreparedCommand` puts those bytes at
 * `position` of `out`. The bytes are those of encodeCommandAs.
 */
export function prepareCommand(command: RemotingCommand, opaque: number, flag: number): number {
  assert(isInt32(command.code) && isInt32(opaque) && isInt32(flag) && isInt32(command.version), 'remoting command numbers must be int32');
  return prepareDirectFrame(command, opaque, flag);
}

export function writePreparedCommand(command: RemotingCommand, out: Buffer, position: number): number {
  return writePreparedFrame(command, out, position);
}

// ---------------------------------------------------------------------------------------------
// Decoding

/**
 * Decodes one frame given the bytes after totalLen (serializeType/headerLen word, header, body). The
 * body is a view into `frame`, not a copy.
 */
export function decodeCommand(frame: Buffer): RemotingCommand {
  return decodeCommandAt(frame, 0, frame.length);
}

/**
 * decodeCommand for the frame at source[start, end) (the bytes after totalLen), without a view of the
 * frame itself: the connection decodes straight out of the socket chunk FrameDecoder points at.
 */
export function decodeCommandAt(source: Buffer, start: number, end: number): RemotingCommand {
  const frameBytes = end - start;
  if (frameBytes < 4) throw malformedFrame(`frame of ${frameBytes} bytes has no header-length field`);
  const word = source.readUInt32BE(start);
  const serializeType = word >>> 24;
  const headerBytes = word & HEADER_LENGTH_MASK;
  const headerStart = start + 4;
  const headerEnd = headerStart + headerBytes;
  if (headerEnd > end) throw malformedFrame(`header length ${headerBytes} exceeds the ${frameBytes - 4} bytes after it`);
  let command: RemotingCommand;
  if (serializeType === SerializeType.JSON) command = scanJsonHeader(source, headerStart, headerEnd) ?? parseJsonHeader(source, headerStart, headerEnd);
  else if (serializeType === SerializeType.ROCKETMQ) command = decodeBinaryHeader(source, headerStart, headerEnd);
  else throw malformedFrame(`unknown serialize type ${serializeType}`);
  if (headerEnd < end) command.body = source.subarray(headerEnd, end);
  return command;
}

// ---------------------------------------------------------------------------------------------
// Streaming

const EMPTY = Buffer.alloc(0);
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
  /** Where the frame found by the last successful nextFrame() is: frameSource[frameStart, frameEnd). */
  frameSource: Buffer = EMPTY;
  frameStart = 0;
  frameEnd = 0;

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
    if (!this.nextFrame()) return null;
    const source = this.frameSource;
    return this.frameStart === 0 && this.frameEnd === source.length ? source : source.subarray(this.frameStart, this.frameEnd);
  }

  /**
   * Finds the next complete frame and sets frameSource/frameStart/frameEnd to it (a range of a socket
   * chunk, or a copy when it spans chunks); false until more data arrives. Saves next()'s view.
   */
  nextFrame(): boolean {
    if (this.failure !== undefined) throw this.failure;
    if (this.frameBytes < 0) {
      if (this.buffered < 4) return false;
      const declared = this.readLength();
      if (declared > this.maxFrameBytes) {
        return this.fail(new TideError('FRAME_TOO_LARGE', `remoting frame declares ${declared} bytes, more than the ${this.maxFrameBytes}-byte limit`));
      }
      if (declared < 4) return this.fail(malformedFrame(`declared frame length ${declared} is below 4`));
      this.frameBytes = declared;
    }
    if (this.buffered < this.frameBytes) return false;
    this.consume(this.frameBytes);
    this.frameBytes = -1;
    return true;
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

  /** Takes `bytes` bytes off the front into the frame fields: a range of one chunk, else one copy. */
  private consume(bytes: number): void {
    const first = this.chunks[this.head] as Buffer;
    const available = first.length - this.headOffset;
    if (available >= bytes) {
      this.frameSource = first;
      this.frameStart = this.headOffset;
      this.frameEnd = this.headOffset + bytes;
      this.skip(first, bytes);
      return;
    }
    const frame = Buffer.allocUnsafe(bytes);
    let copied = 0;
    while (copied < bytes) {
      const chunk = this.chunks[this.head] as Buffer;
      const take = Math.min(chunk.length - this.headOffset, bytes - copied);
      chunk.copy(frame, copied, this.headOffset, this.headOffset + take);
      copied += take;
      this.skip(chunk, take);
    }
    this.frameSource = frame;
    this.frameStart = 0;
    this.frameEnd = bytes;
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
