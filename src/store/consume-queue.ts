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
 *
 * File descriptors come from one ConsumeQueueFilePool per store: at most `maxOpenFiles` consume-queue
 * files are open at once, the least recently used are closed and reopened on demand, so a broker with
 * thousands of queues does not run out of descriptors. A file that cannot be opened (EMFILE, ENFILE,
 * ...) fails only the read or write that needed it, with a retriable SYSTEM_BUSY; pending entries stay
 * pending and the next write-out tries again.
 */
import { closeSync, ftruncateSync, mkdirSync, openSync, readSync, statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { assert } from '../common/assert.js';
import { TideError } from '../common/errors.js';
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

/** Descriptors closed before another is opened. Any value ≥ 1 works; this is RocketMQ-sized. */
export const DEFAULT_MAX_OPEN_CONSUME_QUEUE_FILES = 1000;

interface QueueFile {
  /** Queue offset (entry index) of the file's first entry. */
  readonly startOffset: number;
  readonly path: string;
  /** The open descriptor, or -1 while the pool has it closed (reopened on demand). */
  fd: number;
  /** 'w+' until the first open creates the file; 'r+' for every reopen, which must not truncate. */
  openFlags: 'w+' | 'r+';
  /** fdatasyncs running on `fd`: the pool never closes a descriptor under a running fdatasync. */
  pins: number;
  /** Dropped from its queue while pinned: closed when the last fdatasync ends. */
  retired: boolean;
}

function newQueueFile(startOffset: number, path: string, openFlags: 'w+' | 'r+'): QueueFile {
  return { startOffset, path, fd: -1, openFlags, pins: 0, retired: false };
}

function isOutOfDescriptors(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  return code === 'EMFILE' || code === 'ENFILE';
}

/**
 * The open consume-queue files of one store, least recently used first (a Set keeps insertion order;
 * a use moves the file to the end). Not thread-safe because nothing here is: every call is on the
 * event loop. Files pinned by a running fdatasync are never closed, so the open count can pass the
 * limit by the fdatasyncs in flight; the table runs those in small chunks.
 */
export class ConsumeQueueFilePool {
  private readonly open = new Set<QueueFile>();
  private newest: QueueFile | null = null;

  constructor(readonly maxOpenFiles: number) {
    assert(Number.isSafeInteger(maxOpenFiles) && maxOpenFiles >= 1, `maxOpenConsumeQueueFiles must be a positive integer, got ${maxOpenFiles}`);
  }

  /** Descriptors open now. */
  get openCount(): number {
    return this.open.size;
  }

  /** The file's descriptor, opened (after closing the least recently used) when it is closed. */
  fdOf(file: QueueFile): number {
    if (file.fd >= 0) {
      if (this.newest !== file) {
        this.open.delete(file);
        this.open.add(file);
        this.newest = file;
      }
      return file.fd;
    }
    assert(!file.retired, `consume-queue file ${file.path} used after it was dropped`);
    this.closeOldest(this.maxOpenFiles - 1);
    file.fd = this.openFile(file);
    file.openFlags = 'r+';
    this.open.add(file);
    this.newest = file;
    return file.fd;
  }

  /**
   * Opens the file; when the process is out of descriptors, closes every idle one of the pool and
   * tries once more. Failure is a retriable TideError for the one request that needed the file.
   */
  private openFile(file: QueueFile): number {
    let failure: unknown;
    try {
      return openSync(file.path, file.openFlags);
    } catch (error) {
      failure = error;
    }
    if (isOutOfDescriptors(failure) && this.closeOldest(0) > 0) {
      try {
        return openSync(file.path, file.openFlags);
      } catch (error) {
        failure = error;
      }
    }
    const reason = failure instanceof Error ? failure.message : String(failure);
    throw new TideError('SYSTEM_BUSY', `consume-queue file ${file.path} could not be opened (${reason}); retry later`, { cause: failure });
  }

  /** Closes idle descriptors, oldest first, until at most `target` are open; returns how many it closed. */
  private closeOldest(target: number): number {
    let closed = 0;
    for (const file of this.open) {
      if (this.open.size <= target) break;
      if (file.pins > 0) continue;
      this.closeNow(file);
      closed++;
    }
    return closed;
  }

  private closeNow(file: QueueFile): void {
    this.open.delete(file);
    if (this.newest === file) this.newest = null;
    const fd = file.fd;
    file.fd = -1;
    if (fd >= 0) closeSync(fd);
  }

  /** Holds the descriptor open (an fdatasync runs on it). */
  pin(file: QueueFile): number {
    const fd = this.fdOf(file);
    file.pins++;
    return fd;
  }

  unpin(file: QueueFile): void {
    assert(file.pins > 0, 'unpin without pin');
    file.pins--;
    if (file.pins > 0) return;
    if (file.retired) this.closeNow(file);
    else if (this.open.size > this.maxOpenFiles) this.closeOldest(this.maxOpenFiles);
  }

  /** The file leaves its queue (deleted or closed): its descriptor is closed now, or after its fdatasyncs. */
  release(file: QueueFile): void {
    file.retired = true;
    if (file.pins === 0) this.closeNow(file);
  }
}

export interface ConsumeQueueOptions {
  topic: string;
  queueId: number;
  /** `<root>/consumequeue/<topic>/<queueId>` (names already validated). */
  directory: string;
  entriesPerFile: number;
  fileIo: FileIo;
  /** The store's shared pool of open consume-queue files. */
  filePool: ConsumeQueueFilePool;
  logger: StoreLogger;
}

export class ConsumeQueue {
  readonly topic: string;
  readonly queueId: number;
  readonly directory: string;
  private readonly entriesPerFile: number;
  private readonly io: FileIo;
  private readonly pool: ConsumeQueueFilePool;
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
    this.pool = options.filePool;
    this.logger = options.logger;
  }

  /** Loads the files of an existing queue directory (without opening them: the pool opens on use). */
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
      this.files.push(newQueueFile(startOffset, join(this.directory, file.name), 'r+'));
    }
    const last = this.files[this.files.length - 1];
    if (last === undefined) return;
    const lastEntries = Math.min(this.entriesPerFile, Math.floor(statSync(last.path).size / CONSUME_QUEUE_ENTRY_BYTES));
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
   * limit. Called before the commit-log append, so a write failure here leaves nothing half done; a
   * file that cannot be opened throws SYSTEM_BUSY (retriable) and the entries stay pending.
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

  /**
   * Writes the pending entries to their files (one write per file touched). When a file cannot be
   * opened this throws SYSTEM_BUSY with everything not yet written still pending (rewriting a part
   * written before the failure puts the same bytes at the same place).
   */
  writeOut(): void {
    let offset = this.writtenOffset;
    let from = 0;
    while (offset < this.maxOffset) {
      const file = this.fileForWriting(offset);
      const count = Math.min(this.maxOffset - offset, file.startOffset + this.entriesPerFile - offset);
      const bytes = count * CONSUME_QUEUE_ENTRY_BYTES;
      this.io.write(this.pool.fdOf(file), this.pending, from, bytes, (offset - file.startOffset) * CONSUME_QUEUE_ENTRY_BYTES);
      this.unsyncedFiles.add(file);
      from += bytes;
      offset += count;
    }
    this.writtenOffset = offset;
  }

  /**
   * fdatasyncs the files written since the last sync, and the directories created since. A file
   * that cannot be opened for it stays listed (SYSTEM_BUSY; the next sync tries again); a failed
   * fdatasync is not retried here, because after one the kernel may have dropped the dirty pages.
   */
  async sync(): Promise<void> {
    const files = [...this.unsyncedFiles];
    this.unsyncedFiles.clear();
    const directoryCreated = this.directoryCreated;
    this.directoryCreated = false;
    const pinned: QueueFile[] = [];
    try {
      for (const file of files) {
        this.pool.pin(file);
        pinned.push(file);
      }
    } catch (error) {
      for (const file of pinned) this.pool.unpin(file);
      for (const file of files) if (!file.retired) this.unsyncedFiles.add(file);
      this.directoryCreated ||= directoryCreated;
      throw error;
    }
    try {
      await Promise.all(pinned.map((file) => fdatasyncAsync(this.io, file.fd)));
    } finally {
      for (const file of pinned) this.pool.unpin(file);
    }
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
      try {
        mkdirSync(this.directory, { recursive: true });
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        throw new TideError('SYSTEM_BUSY', `consume-queue directory ${this.directory} could not be created (${reason}); retry later`, { cause: error });
      }
    }
    const file = newQueueFile(startOffset, join(this.directory, offsetFileName(startOffset * CONSUME_QUEUE_ENTRY_BYTES)), 'w+');
    // Created (opened) before it is listed, so a failed open leaves no file readers would trip on.
    this.pool.fdOf(file);
    // A new file's directory entry must reach the disk before the next checkpoint.
    this.directoryCreated = true;
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
      const got = file === null ? 0 : readSync(this.pool.fdOf(file), target, at, bytes, (offset - file.startOffset) * CONSUME_QUEUE_ENTRY_BYTES);
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
      this.pool.release(file);
      unlinkSync(file.path);
    }
    const last = this.files[this.files.length - 1];
    if (last !== undefined) {
      ftruncateSync(this.pool.fdOf(last), Math.max(0, offset - last.startOffset) * CONSUME_QUEUE_ENTRY_BYTES);
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
      this.pool.release(file);
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
      this.pool.release(file);
      unlinkSync(file.path);
      deleted++;
    }
    this.correctMinOffset(minPhysicalOffset);
    return deleted;
  }

  get fileCount(): number {
    return this.files.length;
  }

  /** Descriptors of this queue open now (tests). */
  get openFileCount(): number {
    let open = 0;
    for (const file of this.files) if (file.fd >= 0) open++;
    return open;
  }

  closeFiles(): void {
    for (const file of this.files) this.pool.release(file);
    this.files = [];
    this.unsyncedFiles.clear();
  }
}
