/**
 * The store checkpoint, `<root>/checkpoint`: one 4 KiB file, replaced atomically (temp file + fsync +
 * rename + directory fsync), so after a crash it is either the previous checkpoint or the new one.
 *
 *  offset  size  field (big-endian; 64-bit values as two 32-bit halves)
 *  0       8     physicMsgTimestamp: store time of the newest record below consistentOffset (RocketMQ's field)
 *  8       8     logicsMsgTimestamp: same time, for the consume queues (RocketMQ's field)
 *  16      8     indexMsgTimestamp: store time of the newest key-index entry (RocketMQ's field)
 *  24      8     masterFlushedOffset: 0 (RocketMQ's field, unused)
 *  32      8     confirmPhyOffset: 0 (RocketMQ's field, unused)
 *  40      4     TideMQ layout magic 0x5449444D ("TIDM")
 *  44      4     layout version, 1
 *  48      8     consistentOffset: commit log, consume queues and key index are all durable up to this
 *                physical offset; recovery re-scans the commit log from here
 *  56      4     CRC32 of bytes 0..55
 *  60..4095      zero
 *
 * A checkpoint with a wrong magic, version or CRC is treated as absent: recovery then scans the
 * whole commit log, which is slow but correct.
 */
import { readFileSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import { readInt64, writeInt64 } from '../protocol/message-record.js';
import { replaceFileDurably, replaceFileDurablySync } from './durable-fs.js';

export const CHECKPOINT_FILE_BYTES = 4096;
const CHECKPOINT_MAGIC = 0x5449444d;
const CHECKPOINT_VERSION = 1;
const CRC_POSITION = 56;

export interface Checkpoint {
  physicMsgTimestamp: number;
  logicsMsgTimestamp: number;
  indexMsgTimestamp: number;
  consistentOffset: number;
}

export function encodeCheckpoint(checkpoint: Checkpoint): Buffer {
  const bytes = Buffer.alloc(CHECKPOINT_FILE_BYTES);
  writeInt64(bytes, checkpoint.physicMsgTimestamp, 0);
  writeInt64(bytes, checkpoint.logicsMsgTimestamp, 8);
  writeInt64(bytes, checkpoint.indexMsgTimestamp, 16);
  bytes.writeUInt32BE(CHECKPOINT_MAGIC, 40);
  bytes.writeUInt32BE(CHECKPOINT_VERSION, 44);
  writeInt64(bytes, checkpoint.consistentOffset, 48);
  bytes.writeUInt32BE(crc32(bytes.subarray(0, CRC_POSITION)), CRC_POSITION);
  return bytes;
}

/** The checkpoint in `bytes`, or null when it is missing, short or fails its checks. */
export function decodeCheckpoint(bytes: Buffer): Checkpoint | null {
  if (bytes.length < CRC_POSITION + 4) return null;
  if (bytes.readUInt32BE(40) !== CHECKPOINT_MAGIC || bytes.readUInt32BE(44) !== CHECKPOINT_VERSION) return null;
  if (bytes.readUInt32BE(CRC_POSITION) !== crc32(bytes.subarray(0, CRC_POSITION))) return null;
  const consistentOffset = readInt64(bytes, 48);
  if (!Number.isSafeInteger(consistentOffset) || consistentOffset < 0) return null;
  return {
    physicMsgTimestamp: readInt64(bytes, 0),
    logicsMsgTimestamp: readInt64(bytes, 8),
    indexMsgTimestamp: readInt64(bytes, 16),
    consistentOffset,
  };
}

export function readCheckpoint(path: string): Checkpoint | null {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  return decodeCheckpoint(bytes);
}

export function writeCheckpoint(path: string, checkpoint: Checkpoint): Promise<void> {
  return replaceFileDurably(path, encodeCheckpoint(checkpoint));
}

export function writeCheckpointSync(path: string, checkpoint: Checkpoint): void {
  replaceFileDurablySync(path, encodeCheckpoint(checkpoint));
}
