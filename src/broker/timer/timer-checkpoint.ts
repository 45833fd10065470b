/**
 * The timer's progress, `<root>/timer/timercheck`, replaced atomically (temp file + fsync + rename +
 * directory fsync), so after a crash it holds the previous or the new content, never a mix.
 *
 *  offset  size  field (big-endian; 64-bit values as two 32-bit halves)
 *  0       4     magic 0x54434B31 ("TCK1")
 *  4       4     CRC32 (zlib) of bytes 8..39
 *  8       8     deliveredUpToMs: every timer-log entry with effectiveMs below it was handled (delivered,
 *                copied forward or recalled), and those writes are durable in the commit log
 *  16      8     intentUpToMs: nothing with effectiveMs at or above it was handled yet
 *  24      8     enqueueOffset: every timer-topic consume-queue entry below it is in the timer log, durably
 *  32      8     recheckBelowQueueOffset: entries of parked messages below this consume-queue offset are
 *                checked before they are handled (0 normally; set when the timer state had to be
 *                rebuilt from the consume queue, see timer-recovery.ts)
 *
 * Entries in [deliveredUpToMs, intentUpToMs) may or may not have been handled when the process died;
 * recovery checks each of those before handling it (timer-message-service.ts).
 */
import { readFileSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import { readInt64, writeInt64 } from '../../protocol/message-record.js';
import { replaceFileDurably, replaceFileDurablySync } from '../../store/durable-fs.js';

const MAGIC = 0x54434b31;
const FILE_BYTES = 40;

export interface TimerCheckpoint {
  deliveredUpToMs: number;
  intentUpToMs: number;
  enqueueOffset: number;
  recheckBelowQueueOffset: number;
}

export function encodeTimerCheckpoint(checkpoint: TimerCheckpoint): Buffer {
  const bytes = Buffer.alloc(FILE_BYTES);
  bytes.writeUInt32BE(MAGIC, 0);
  writeInt64(bytes, checkpoint.deliveredUpToMs, 8);
  writeInt64(bytes, checkpoint.intentUpToMs, 16);
  writeInt64(bytes, checkpoint.enqueueOffset, 24);
  writeInt64(bytes, checkpoint.recheckBelowQueueOffset, 32);
  bytes.writeUInt32BE(crc32(bytes.subarray(8)), 4);
  return bytes;
}

export function decodeTimerCheckpoint(bytes: Buffer): TimerCheckpoint | null {
  if (bytes.length !== FILE_BYTES || bytes.readUInt32BE(0) !== MAGIC || bytes.readUInt32BE(4) !== crc32(bytes.subarray(8))) return null;
  const checkpoint = {
    deliveredUpToMs: readInt64(bytes, 8),
    intentUpToMs: readInt64(bytes, 16),
    enqueueOffset: readInt64(bytes, 24),
    recheckBelowQueueOffset: readInt64(bytes, 32),
  };
  if (checkpoint.enqueueOffset < 0 || checkpoint.recheckBelowQueueOffset < 0 || checkpoint.intentUpToMs < checkpoint.deliveredUpToMs) return null;
  return checkpoint;
}

/** The checkpoint at `path`; null when absent or damaged (the caller then starts cautiously). */
export function readTimerCheckpoint(path: string): TimerCheckpoint | null {
  try {
    return decodeTimerCheckpoint(readFileSync(path));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

export function writeTimerCheckpoint(path: string, checkpoint: TimerCheckpoint): Promise<void> {
  return replaceFileDurably(path, encodeTimerCheckpoint(checkpoint));
}

export function writeTimerCheckpointSync(path: string, checkpoint: TimerCheckpoint): void {
  replaceFileDurablySync(path, encodeTimerCheckpoint(checkpoint));
}
