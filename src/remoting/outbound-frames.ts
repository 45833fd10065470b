/**
 * The bytes a connection has queued for its socket until the next flush: a list of chunks, in order,
 * and a staging buffer. Frames up to COALESCE_MAX_BYTES that follow another frame are copied (or
 * encoded straight) into the staging buffer, so a flush of 256 SEND answers hands the socket one or
 * two buffers rather than 256: every chunk given to a Node stream costs far more than copying a few
 * hundred bytes. A lone frame is queued as it is.
 *
 * Bytes handed to the socket are never rewritten while the socket may still read them: a full staging
 * buffer is replaced, and a flush moves the start of the staged region past what it took. Only when
 * the connection sees that the socket has written everything it was given (writableLength 0 right
 * after the write: the kernel took the bytes at once, nothing is left in Node's queue or in libuv)
 * does it `rewind` the staging buffer to its start. A busy connection then keeps writing into the
 * same few cache-warm kilobytes instead of a fresh 64 KiB buffer every fifty SEND frames, which cost
 * both the copies into cold memory and external-memory pressure that brings on more scavenges. The staging buffer starts at
 * MIN_STAGE_BYTES and doubles each time one fills, up to MAX_STAGE_BYTES; a flush that staged under a
 * sixteenth of the current size halves it and drops the buffer, so an idle connection holds at most
 * the minimum. The connection enforces the byte limit (`bytes` says what is queued here).
 */
import { writePreparedCommand } from '../protocol/remoting-codec.js';
import type { RemotingCommand } from '../protocol/remoting-command.js';

/** Frames up to this size are staged when they are not first in a flush. */
export const COALESCE_MAX_BYTES = 8 * 1024;
const MIN_STAGE_BYTES = 4 * 1024;
const MAX_STAGE_BYTES = 64 * 1024;

export class OutboundFrames {
  /** Chunks for the next flush, in order; the staged bytes (stage[stageStart, stageUsed)) come after them. */
  private chunks: Buffer[] = [];
  /** Bytes waiting for the next flush, staged ones included. */
  bytes = 0;
  private stage: Buffer | undefined;
  private stageStart = 0;
  private stageUsed = 0;
  /** Size of the next staging buffer. */
  private stageCapacity = MIN_STAGE_BYTES;

  /** Queues `frame` itself, or a copy in the staging buffer when other bytes wait before it. */
  push(frame: Buffer): void {
    if (frame.length <= COALESCE_MAX_BYTES && (this.chunks.length > 0 || this.stageUsed > this.stageStart)) {
      this.copy(frame, 0, frame.length);
      return;
    }
    this.seal();
    this.chunks.push(frame);
    this.bytes += frame.length;
  }

  /** Queues a copy of bytes[start, end). */
  copy(bytes: Buffer, start: number, end: number): void {
    const length = end - start;
    if (length > COALESCE_MAX_BYTES) {
      this.seal();
      const frame = Buffer.allocUnsafe(length);
      bytes.copy(frame, 0, start, end);
      this.chunks.push(frame);
    } else {
      const stage = this.room(length);
      bytes.copy(stage, this.stageUsed, start, end);
      this.stageUsed += length;
    }
    this.bytes += length;
  }

  /**
   * Writes the frame remoting-codec's `prepareCommand` just measured (`frameBytes`) straight into the
   * staging buffer, or into a buffer of its own when large: encoded once, never copied.
   */
  commitPrepared(command: RemotingCommand, frameBytes: number): void {
    if (frameBytes > COALESCE_MAX_BYTES) {
      this.seal();
      const frame = Buffer.allocUnsafe(frameBytes);
      writePreparedCommand(command, frame, 0);
      this.chunks.push(frame);
    } else {
      const stage = this.room(frameBytes);
      this.stageUsed = writePreparedCommand(command, stage, this.stageUsed);
    }
    this.bytes += frameBytes;
  }

  /** Everything queued, in order, for one flush; empties the queue. */
  take(): Buffer[] {
    const stagedBytes = this.stageUsed - this.stageStart;
    this.seal();
    // A busy connection reuses what is left of its staging buffer; a quiet one lets it go.
    if (this.stage !== undefined && stagedBytes * 16 < this.stageCapacity) {
      this.stageCapacity = Math.max(MIN_STAGE_BYTES, this.stageCapacity / 2);
      this.stage = undefined;
      this.stageStart = this.stageUsed = 0;
    }
    const chunks = this.chunks;
    this.chunks = [];
    this.bytes = 0;
    return chunks;
  }

  /**
   * Reuses the staging buffer from its start. Only for when nothing is queued here and the socket holds
   * none of the bytes handed to it any more (see the top of this file).
   */
  rewind(): void {
    if (this.chunks.length === 0 && this.stageUsed === this.stageStart) this.stageStart = this.stageUsed = 0;
  }

  /** Drops everything queued (the connection was aborted). */
  clear(): void {
    this.chunks.length = 0;
    this.bytes = 0;
    this.stage = undefined;
    this.stageStart = this.stageUsed = 0;
  }

  /** The staging buffer, with room for `length` more bytes at stageUsed. */
  private room(length: number): Buffer {
    let stage = this.stage;
    if (stage === undefined || this.stageUsed + length > stage.length) {
      this.seal();
      if (stage !== undefined && this.stageCapacity < MAX_STAGE_BYTES) this.stageCapacity *= 2;
      stage = this.stage = Buffer.allocUnsafeSlow(Math.max(this.stageCapacity, length));
      this.stageStart = this.stageUsed = 0;
    }
    return stage;
  }

  /** Moves the staged bytes to the chunk list, so later chunks queue behind them in order. */
  private seal(): void {
    if (this.stageUsed === this.stageStart) return;
    this.chunks.push((this.stage as Buffer).subarray(this.stageStart, this.stageUsed));
    this.stageStart = this.stageUsed;
  }
}
