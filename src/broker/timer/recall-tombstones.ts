/**
 * Recalled timer messages (RECALL_MESSAGE 370) that are not due yet, kept in memory as
 * (UNIQ_KEY, delivery time) pairs and persisted in `<root>/timer/recalls` before the recall is
 * answered. When the timer reaches a recalled message it drops it instead of delivering it.
 *
 * File: records appended end to end, each
 *
 *  offset  size  field (big-endian)
 *  0       4     CRC32 (zlib) of bytes 4..end of the record
 *  4       4     keyLength in bytes (1..1024)
 *  8       8     deliverMs, as two 32-bit halves
 *  16      n     UNIQ_KEY, UTF-8
 *
 * Loading stops at the first record that fails its checks (a torn append) and the file is rewritten
 * with the live records only (those not yet due), so it never grows without bound.
 */
import { closeSync, fdatasync, openSync, readFileSync, writeSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import { TideError } from '../../common/errors.js';
import { readInt64, writeInt64 } from '../../protocol/message-record.js';
import { replaceFileDurablySync } from '../../store/durable-fs.js';

const HEADER_BYTES = 16;
const MAX_KEY_BYTES = 1024;

function keyOf(uniqueKey: string, deliverMs: number): string {
  return `${deliverMs}\u0001${uniqueKey}`;
}

function encodeRecord(uniqueKey: string, deliverMs: number): Buffer {
  const key = Buffer.from(uniqueKey, 'utf8');
  const bytes = Buffer.alloc(HEADER_BYTES + key.length);
  bytes.writeUInt32BE(key.length, 4);
  writeInt64(bytes, deliverMs, 8);
  key.copy(bytes, HEADER_BYTES);
  bytes.writeUInt32BE(crc32(bytes.subarray(4)), 0);
  return bytes;
}

export class RecallTombstones {
  /** composite key → deliverMs. */
  private readonly pending = new Map<string, number>();
  private fd: number;
  private appending: Promise<void> = Promise.resolve();

  /** Loads the file, keeps the recalls due at or after `keepFromMs`, and rewrites it compacted. */
  constructor(path: string, private readonly maxPending: number, keepFromMs: number) {
    let bytes: Buffer;
    try {
      bytes = readFileSync(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      bytes = Buffer.alloc(0);
    }
    let position = 0;
    while (position + HEADER_BYTES <= bytes.length) {
      const keyLength = bytes.readUInt32BE(position + 4);
      const end = position + HEADER_BYTES + keyLength;
      if (keyLength === 0 || keyLength > MAX_KEY_BYTES || end > bytes.length) break;
      if (bytes.readUInt32BE(position) !== crc32(bytes.subarray(position + 4, end))) break;
      const deliverMs = readInt64(bytes, position + 8);
      if (deliverMs >= keepFromMs) this.pending.set(keyOf(bytes.toString('utf8', position + HEADER_BYTES, end), deliverMs), deliverMs);
      position = end;
    }
    const live = [...this.pending].map(([composite, deliverMs]) => encodeRecord(composite.slice(composite.indexOf('\u0001') + 1), deliverMs));
    replaceFileDurablySync(path, Buffer.concat(live));
    this.fd = openSync(path, 'a');
  }

  get size(): number {
    return this.pending.size;
  }

  has(uniqueKey: string, deliverMs: number): boolean {
    return this.pending.size > 0 && this.pending.has(keyOf(uniqueKey, deliverMs));
  }

  /** Forgets a recall once its message was dropped. */
  delete(uniqueKey: string, deliverMs: number): void {
    this.pending.delete(keyOf(uniqueKey, deliverMs));
  }

  /** Forgets recalls due before `beforeMs` (their messages were handled). */
  prune(beforeMs: number): void {
    if (this.pending.size === 0) return;
    for (const [composite, deliverMs] of this.pending) if (deliverMs < beforeMs) this.pending.delete(composite);
  }

  /**
   * Records a recall: in memory at once (the timer skips the message from now on), on disk before the
   * promise resolves. Throws SYSTEM_BUSY past maxPending and MESSAGE_ILLEGAL for an oversized key.
   */
  add(uniqueKey: string, deliverMs: number): Promise<void> {
    if (Buffer.byteLength(uniqueKey, 'utf8') > MAX_KEY_BYTES || uniqueKey.length === 0) {
      throw new TideError('MESSAGE_ILLEGAL', `recall handle message id of ${uniqueKey.length} characters is not a message id`);
    }
    const composite = keyOf(uniqueKey, deliverMs);
    if (this.pending.has(composite)) return this.appending;
    if (this.pending.size >= this.maxPending) {
      throw new TideError('SYSTEM_BUSY', `${this.pending.size} recalled messages are waiting for their delivery time (timerMaxPendingRecalls)`);
    }
    this.pending.set(composite, deliverMs);
    const record = encodeRecord(uniqueKey, deliverMs);
    const fd = this.fd;
    const next = this.appending.catch(() => undefined).then(() => new Promise<void>((resolve, reject) => {
      try {
        writeSync(fd, record);
      } catch (error) {
        reject(error);
        return;
      }
      fdatasync(fd, (error) => (error ? reject(error) : resolve()));
    }));
    this.appending = next;
    return next;
  }

  async close(): Promise<void> {
    await this.appending.catch(() => undefined);
    closeSync(this.fd);
    this.fd = -1;
  }
}
