/**
 * One consume queue: the positions of one topic-queue's records in the commit log, in
 * `<root>/consumequeue/<topic>/<queueId>/`.
 *
 * Each entry is 20 bytes, big-endian (64-bit values as two 32-bit halves):
 *   0   8  commit-log physical offset
 *   8   4  record size in bytes
 *   12  8  tags code (Java String.hashCode of the tag, may be negative; or a delivery time in ms)
 * A queue offset is an entry's index. Files hold `entriesPerFile` entries and are named by the byte
 * offset of their first entry (index × 20) in 20 zero-padded digits. Files grow as entries are
 * written (they are not pre-sized), so a file's length marks how far it was written. An all-zero
 * entry (size 0) is a hole: it is skipped by readers and dropped from the tail by recovery.
 *
 * Entries are added in the append path (synchronously) into a small pending buffer, written to the
 * files every `flushIntervalConsumeQueue` ms (or when the buffer is full) and then fdatasynced.
 * Readers see pending entries at once. After a crash, recovery drops tail entries at or past the
 * checkpoint offset and re-creates them from the commit log (`recoverTail` + `putAt`).
 */
import { closeSync, fstatSync, ftruncateSync, mkdirSync, openSync, readSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { readInt64, writeInt64 } from '../protocol/message-record.js';
import { fdatasyncAsync, type FileIo } from './file-io.js';
import { fsyncDirectory } from './durable-fs.js';
import { listOffsetFiles, offsetFileName } from './file-names.js';
import type { ConsumeQueueEntry } from './types.js';
import type { StoreLogger } from './store-logger.js';

export const CONSUME_QUEUE_ENTRY_BYTES = 20;
/** The pending buffer starts at this many entries and doubles up to the maximum. */
const PENDING_INITIAL_ENTRIES = 64;
/** Past this many pending entries the queue writes out at once (a limit on memory per queue). */
const PENDING_MAX_ENTRIES = 4096;
/** Entries read per step when recovery walks a queue backwards. */
const RECOVERY_READ_ENTRIES = 1024;

interface QueueFile {
  /** Queue offset (entry index) of the file's first entry. */
  readonly startOffset: number;
  readonly path: string;
  readonly fd: number;
}

export interface ConsumeQueueOptions {
  topic: string;
  queueId: number;
  /** `<root>/consumequeue/<topic>/<queueId>` (names already validated). */
  directory: string;
  entriesPerFile: number;
  fileIo: FileIo;
  logger: StoreLogger;
}

export class ConsumeQueue {
  readonly topic: string;
  readonly queueId: number;
  readonly directory: string;
  private readonly entriesPerFile: number;
  private readonly io: FileIo;
  private files: QueueFile[] = [];
  /** First entry still stored that points into the commit log. */
  minOffset = 0;
  /** Next queue offset to be written (RocketMQ's max offset). */
  maxOffset = 0;
  /** Bookkeeping of the table: listed for the next write-out; removed by deleteTopic. */
  listedForWriteOut = false;
  deleted = false;
  /** Entries below this offset are in the files; [writtenOffset, maxOffset) are pending. */
  private writtenOffset = 0;
  private pending: Buffer = Buffer.alloc(0);
  private readonly unsyncedFiles = new Set<QueueFile>();
  private directoryCreated = false;
  private readonly scratch = Buffer.alloc(CONSUME_QUEUE_ENTRY_BYTES);
  private readonly logger: StoreLogger;

  constructor(options: ConsumeQueueOptions) {
    this.topic = options.topic;
    this.queueId = options.queueId;
    this.directory = options.directory;
    this.entriesPerFile = options.entriesPerFile;
    this.io = options.fileIo;
    this.logger = options.logger;
  }

  /** Loads the files of an existing queue directory. */
  load(): void {
    const listed = listOffsetFiles(this.directory);
    const fileBytes = this.entriesPerFile * CONSUME_QUEUE_ENTRY_BYTES;
    for (const file of listed) {
      if (file.offset % fileBytes !== 0) {
        this.logger.error({ topic: this.topic, queueId: this.queueId, file: file.name }, 'consume-queue file is not aligned to its size; skipping it');
        continue;
      }
      const startOffset = file.offset / CONSUME_QUEUE_ENTRY_BYTES;
      const previous = this.files[this.files.length - 1];
      if (previous !== undefined && startOffset !== previous.startOffset + this.entriesPerFile) {
        this.logger.warn({ topic: this.topic, queueId: this.queueId, file: file.name }, 'consume-queue files are not contiguous; keeping the newer run');
        this.closeFiles();
      }
      const path = join(this.directory, file.name);
      this.files.push({ startOffset, path, fd: openSync(path, 'r+') });
    }
    const last = this.files[this.files.length - 1];
    if (last === undefined) return;
    const lastEntries = Math.min(this.entriesPerFile, Math.floor(fileLength(last.fd) / CONSUME_QUEUE_ENTRY_BYTES));
    this.minOffset = this.files[0]!.startOffset;
    this.maxOffset = last.startOffset + lastEntries;
    this.writtenOffset = this.maxOffset;
  }

  /** Adds an entry at `maxOffset`; returns its queue offset. Never does I/O (see `ensureRoom`). */
  put(physicalOffset: number, size: number, tagsCode: number): number {
    const pendingCount = this.maxOffset - this.writtenOffset;
    let at = pendingCount * CONSUME_QUEUE_ENTRY_BYTES;
    if (at + CONSUME_QUEUE_ENTRY_BYTES > this.pending.length) this.growPending();
    const pending = this.pending;
    writeInt64(pending, physicalOffset, at);
    pending.writeInt32BE(size, at + 8);
    writeInt64(pending, tagsCode, at + 12);
    at = this.maxOffset;
    this.maxOffset = at + 1;
    return at;
  }

  /**
   * Makes sure the next `put` fits without I/O, writing pending entries out if the buffer is at its
   * limit. Called before the commit-log append, so a write failure here leaves nothing half done.
   */
  ensureRoom(): void {
    if (this.maxOffset - this.writtenOffset >= PENDING_MAX_ENTRIES) this.writeOut();
  }

  get hasPending(): boolean {
    return this.maxOffset > this.writtenOffset;
  }

  private growPending(): void {
    const capacity = Math.max(PENDING_INITIAL_ENTRIES, (this.pending.length / CONSUME_QUEUE_ENTRY_BYTES) * 2);
    const grown = Buffer.alloc(Math.min(capacity, PENDING_MAX_ENTRIES) * CONSUME_QUEUE_ENTRY_BYTES);
    this.pending.copy(grown, 0, 0, (this.maxOffset - this.writtenOffset) * CONSUME_QUEUE_ENTRY_BYTES);
    this.pending = grown;
  }

  /** Writes the pending entries to their files (one write per file touched). */
  writeOut(): void {
    let offset = this.writtenOffset;
    let from = 0;
    while (offset < this.maxOffset) {
      const file = this.fileForWriting(offset);
      const count = Math.min(this.maxOffset - offset, file.startOffset + this.entriesPerFile - offset);
      const bytes = count * CONSUME_QUEUE_ENTRY_BYTES;
      this.io.write(file.fd, this.pending, from, bytes, (offset - file.startOffset) * CONSUME_QUEUE_ENTRY_BYTES);
      this.unsyncedFiles.add(file);
      from += bytes;
      offset += count;
    }
    this.writtenOffset = offset;
  }

  /** fdatasyncs the files written since the last sync, and the directories created since. */
  async sync(): Promise<void> {
    const files = [...this.unsyncedFiles];
    this.unsyncedFiles.clear();
    const directoryCreated = this.directoryCreated;
    this.directoryCreated = false;
    await Promise.all(files.map((file) => fdatasyncAsync(this.io, file.fd)));
    if (directoryCreated) {
      // The queue directory, the topic directory and consumequeue/ may all be new.
      await fsyncDirectory(this.directory);
      await fsyncDirectory(join(this.directory, '..'));
      await fsyncDirectory(join(this.directory, '..', '..'));
    }
  }

  get needsSync(): boolean {
    return this.unsyncedFiles.size > 0 || this.directoryCreated;
  }

  private fileForWriting(offset: number): QueueFile {
    const last = this.files[this.files.length - 1];
    if (last !== undefined && offset >= last.startOffset && offset < last.startOffset + this.entriesPerFile) return last;
    const startOffset = offset - (offset % this.entriesPerFile);
    if (this.files.length === 0) {
      mkdirSync(this.directory, { recursive: true });
    }
    // A new file's directory entry must reach the disk before the next checkpoint.
    this.directoryCreated = true;
    const path = join(this.directory, offsetFileName(startOffset * CONSUME_QUEUE_ENTRY_BYTES));
    const file = { startOffset, path, fd: openSync(path, 'w+') };
    this.files.push(file);
    return file;
  }

  /** The entry at `queueOffset`, or null outside [minOffset, maxOffset). */
  getEntry(queueOffset: number): ConsumeQueueEntry | null {
    if (!Number.isSafeInteger(queueOffset) || queueOffset < this.minOffset || queueOffset >= this.maxOffset) return null;
    this.readEntries(queueOffset, 1, this.scratch);
    return {
      physicalOffset: readInt64(this.scratch, 0),
      size: this.scratch.readInt32BE(8),
      tagsCode: readInt64(this.scratch, 12),
    };
  }

  /**
   * Copies entries [from, from + count) into `target` (20 bytes each). The range must lie within the
   * files and pending entries; bytes a file does not have (a hole) read as zeros.
   */
  readEntries(from: number, count: number, target: Buffer): void {
    let offset = from;
    let at = 0;
    const end = from + count;
    while (offset < end && offset < this.writtenOffset) {
      const file = this.fileHolding(offset);
      const inFile = Math.min(end, this.writtenOffset, file === null ? offset + 1 : file.startOffset + this.entriesPerFile) - offset;
      const bytes = inFile * CONSUME_QUEUE_ENTRY_BYTES;
      const got = file === null ? 0 : readSync(file.fd, target, at, bytes, (offset - file.startOffset) * CONSUME_QUEUE_ENTRY_BYTES);
      if (got < bytes) target.fill(0, at + got, at + bytes);
      at += bytes;
      offset += inFile;
    }
    if (offset < end) {
      const pendingFrom = (offset - this.writtenOffset) * CONSUME_QUEUE_ENTRY_BYTES;
      this.pending.copy(target, at, pendingFrom, pendingFrom + (end - offset) * CONSUME_QUEUE_ENTRY_BYTES);
    }
  }

  private fileHolding(offset: number): QueueFile | null {
    const first = this.files[0];
    if (first === undefined || offset < first.startOffset) return null;
    const file = this.files[Math.floor((offset - first.startOffset) / this.entriesPerFile)];
    return file ?? null;
  }

  /**
   * Recovery: drops entries from the tail that are holes or point at or past `keepBelowPhysical`
   * (the checkpoint), so re-dispatching the commit log from there re-creates them exactly. Reads
   * only the dropped tail and one entry more.
   */
  recoverTail(keepBelowPhysical: number): void {
    const firstOffset = this.files[0]?.startOffset ?? this.maxOffset;
    let newMax = this.maxOffset;
    const chunk = Buffer.alloc(RECOVERY_READ_ENTRIES * CONSUME_QUEUE_ENTRY_BYTES);
    scan: while (newMax > firstOffset) {
      const from = Math.max(firstOffset, newMax - RECOVERY_READ_ENTRIES);
      this.readEntries(from, newMax - from, chunk);
      for (let index = newMax - from - 1; index >= 0; index--) {
        const at = index * CONSUME_QUEUE_ENTRY_BYTES;
        const size = chunk.readInt32BE(at + 8);
        if (size > 0 && readInt64(chunk, at) < keepBelowPhysical) break scan;
        newMax = from + index;
      }
    }
    if (newMax !== this.maxOffset) this.truncateTo(newMax);
  }

  /** Drops every entry at or after `offset` from memory and disk. */
  private truncateTo(offset: number): void {
    this.writeOut();
    while (this.files.length > 1 && this.files[this.files.length - 1]!.startOffset >= offset) {
      const file = this.files.pop()!;
      this.unsyncedFiles.delete(file);
      closeSync(file.fd);
      unlinkSync(file.path);
    }
    const last = this.files[this.files.length - 1];
    if (last !== undefined) {
      ftruncateSync(last.fd, Math.max(0, offset - last.startOffset) * CONSUME_QUEUE_ENTRY_BYTES);
      this.unsyncedFiles.add(last);
    }
    this.maxOffset = offset;
    this.writtenOffset = offset;
    if (this.minOffset > offset) this.minOffset = offset;
  }

  /**
   * Recovery: puts the entry of a re-dispatched record at the queue offset stored in the record.
   * Returns false (and logs) when the queue already has a different entry there.
   */
  putAt(queueOffset: number, physicalOffset: number, size: number, tagsCode: number): boolean {
    if (queueOffset < this.maxOffset) {
      const existing = this.getEntry(queueOffset);
      if (existing !== null && existing.physicalOffset === physicalOffset) return true;
      this.logger.error({ topic: this.topic, queueId: this.queueId, queueOffset, physicalOffset }, 'record claims a queue offset already taken; not re-dispatched');
      return false;
    }
    if (queueOffset > this.maxOffset) {
      if (this.minOffset === this.maxOffset) {
        // An empty queue (new, or deleted and re-created): start it where the records say.
        this.restartAt(queueOffset);
      } else {
        this.logger.warn({ topic: this.topic, queueId: this.queueId, from: this.maxOffset, to: queueOffset }, 'gap in consume queue filled with holes');
        while (this.maxOffset < queueOffset) {
          this.ensureRoom();
          this.put(0, 0, 0);
        }
      }
    }
    this.ensureRoom();
    this.put(physicalOffset, size, tagsCode);
    return true;
  }

  private restartAt(queueOffset: number): void {
    this.writeOut();
    const fileStart = queueOffset - (queueOffset % this.entriesPerFile);
    while (this.files.length > 0 && this.files[0]!.startOffset < fileStart) {
      const file = this.files.shift()!;
      this.unsyncedFiles.delete(file);
      closeSync(file.fd);
      unlinkSync(file.path);
    }
    this.minOffset = queueOffset;
    this.maxOffset = queueOffset;
    this.writtenOffset = queueOffset;
  }

  /**
   * Moves `minOffset` to the first entry that points at or past `minPhysicalOffset` (the oldest
   * commit-log byte still stored). Binary search, so a few reads per queue.
   */
  correctMinOffset(minPhysicalOffset: number): void {
    let low = Math.max(this.minOffset, this.files[0]?.startOffset ?? this.minOffset);
    let high = this.maxOffset;
    const valid = (offset: number): boolean => {
      this.readEntries(offset, 1, this.scratch);
      return this.scratch.readInt32BE(8) > 0 && readInt64(this.scratch, 0) >= minPhysicalOffset;
    };
    if (low < high && valid(low)) {
      this.minOffset = low;
      return;
    }
    while (low < high) {
      const middle = Math.floor((low + high) / 2);
      if (valid(middle)) high = middle;
      else low = middle + 1;
    }
    this.minOffset = low;
  }

  /**
   * Retention: deletes files (never the last) whose entries all point below `minPhysicalOffset`,
   * then corrects `minOffset`. Returns the number of files deleted.
   */
  deleteFilesBelow(minPhysicalOffset: number): number {
    let deleted = 0;
    while (this.files.length > 1) {
      const file = this.files[0]!;
      this.readEntries(file.startOffset + this.entriesPerFile - 1, 1, this.scratch);
      if (this.scratch.readInt32BE(8) > 0 && readInt64(this.scratch, 0) >= minPhysicalOffset) break;
      this.files.shift();
      this.unsyncedFiles.delete(file);
      closeSync(file.fd);
      unlinkSync(file.path);
      deleted++;
    }
    this.correctMinOffset(minPhysicalOffset);
    return deleted;
  }

  get fileCount(): number {
    return this.files.length;
  }

  closeFiles(): void {
    for (const file of this.files) closeSync(file.fd);
    this.files = [];
    this.unsyncedFiles.clear();
  }
}

function fileLength(fd: number): number {
  return fstatSync(fd).size;
}
