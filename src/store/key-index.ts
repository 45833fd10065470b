/**
 * The key index of the store: finds the commit-log offsets of messages by `topic#key` (every KEYS
 * entry and the UNIQ_KEY), for QUERY_MESSAGE and message-id lookups.
 *
 * Format. The files are Apache RocketMQ's IndexFile, byte for byte (layout at the top of
 * `key-index-file.ts`), in `index/`, each named by its creation time as yyyyMMddHHmmssSSS (local
 * time, like RocketMQ; a name that would not sort after the newest is bumped by 1 ms). We chose it
 * because people who run RocketMQ already know how it behaves and how to size it (maxHashSlotNum,
 * maxIndexNum), because its tools and notes about it apply unchanged, because a fixed binary layout
 * needs no dependency and no parsing on the hot path, and because a hash table of fixed-size slots
 * with chained fixed-size entries lets a put touch memory only. When a file is full a new one starts.
 * A query walks the files newest to oldest, skipping those whose [beginTimestamp, endTimestamp] does
 * not overlap the requested range, and follows the key's slot chain in each.
 *
 * Memory and I/O. Only the active file is held in memory (a Buffer the size of the file, ~42 MB
 * with the store's defaults); a put writes that buffer and nothing else. A full file is sealed and
 * stays in memory until a flush has made it durable (a flush is started in the background when it
 * is sealed), then queries read it with positioned reads. `flush` writes the dirty ranges of each file
 * and fdatasyncs them, in the order described in `key-index-file.ts`, and fsyncs the directory when
 * files were created.
 *
 * Crash consistency. The index is derived data: after a crash the store re-puts every record past
 * its checkpoint, so nothing the index lost past its last flush is lost for good. That has three
 * consequences. First, an entry can be put twice (once before the crash, once by the re-put), so
 * `query` deduplicates offsets. Second, a flushed entry can point past the commit log's recovered
 * end (the index reached disk, the log tail did not), so the caller reads each candidate record and
 * drops those that are missing or do not carry the key; it must do that anyway because different
 * keys can share a hash. Third, a file torn by a crash must not stop the store: on open, a header
 * that fails validation makes us delete that file (logged; its keys come back only as far as the
 * store re-puts), and a file whose slots got ahead of its header, or that is shorter than it should be,
 * has its slots rebuilt from the entries its header vouches for (logged).
 */
import { mkdirSync, readdirSync, unlinkSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { assert } from '../common/assert.js';
import { TideError } from '../common/errors.js';
import { createLogger, type Logger } from '../common/logger.js';
import { indexFileSizeBytes, indexKeyHash, indexKeyHashAfter, KeyIndexFile, topicKeyPrefixHash, type KeyIndexGeometry } from './key-index-file.js';

export interface KeyIndexOptions {
  /** Hash slots per file (RocketMQ `maxHashSlotNum`; the store's default is 500,000). */
  maxHashSlotNum: number;
  /** Entries per file (RocketMQ `maxIndexNum`; the store's default is 2,000,000). */
  maxIndexNum: number;
  /** Where repairs and discarded files are reported; a pino logger on stderr when omitted. */
  logger?: Logger;
}

/** Index files are loaded into memory whole, so keep one well inside a Buffer's limits. */
const MAX_INDEX_FILE_BYTES = 1024 * 1024 * 1024;
const FILE_NAME_PATTERN = /^\d{17}$/;
/** How many later milliseconds to try when a file name is taken (it never is unless files are copied in). */
const MAX_FILE_NAME_ATTEMPTS = 1000;

function twoDigits(value: number): string {
  return String(value).padStart(2, '0');
}

/** yyyyMMddHHmmssSSS in local time, as RocketMQ names index files. */
export function formatIndexFileName(timeMs: number): string {
  const date = new Date(timeMs);
  return (
    String(date.getFullYear()).padStart(4, '0') +
    twoDigits(date.getMonth() + 1) +
    twoDigits(date.getDate()) +
    twoDigits(date.getHours()) +
    twoDigits(date.getMinutes()) +
    twoDigits(date.getSeconds()) +
    String(date.getMilliseconds()).padStart(3, '0')
  );
}

function parseIndexFileName(name: string): number {
  const part = (start: number, length: number): number => Number(name.slice(start, start + length));
  return new Date(part(0, 4), part(4, 2) - 1, part(6, 2), part(8, 2), part(10, 2), part(12, 2), part(14, 3)).getTime();
}

export class KeyIndex {
  private readonly directory: string;
  private readonly geometry: KeyIndexGeometry;
  private readonly logger: Logger;
  /** Oldest first; the active file, if any, is last. */
  private files: KeyIndexFile[];
  private active: KeyIndexFile | null;
  /** Newest file name ever seen here, so new names keep sorting after it. */
  private newestName: string | null;
  private lastTimestampMs: number;
  private lastPhysicalOffset: number;
  /** Flushes run one after another; this is the tail of that chain. */
  private flushChain: Promise<void> = Promise.resolve();
  private directoryDirty = false;
  private closing = false;
  private closePromise: Promise<void> | null = null;
  /** Prefix hash of `topic#` for the topic of the last put (a broker's appends mostly repeat topics). */
  private lastPutTopic = '';
  private lastPutTopicHash = 0;

  private constructor(directory: string, geometry: KeyIndexGeometry, logger: Logger) {
    this.directory = directory;
    this.geometry = geometry;
    this.logger = logger;
    this.files = [];
    this.active = null;
    this.newestName = null;
    this.lastTimestampMs = 0;
    this.lastPhysicalOffset = 0;
  }

  /** Opens (creating the directory if needed) and repairs the index files in `directory`. */
  static open(directory: string, options: KeyIndexOptions): KeyIndex {
    const { maxHashSlotNum, maxIndexNum } = options;
    assert(Number.isInteger(maxHashSlotNum) && maxHashSlotNum >= 1, 'maxHashSlotNum must be a positive integer');
    assert(Number.isInteger(maxIndexNum) && maxIndexNum >= 2, 'maxIndexNum must be an integer of at least 2');
    const geometry: KeyIndexGeometry = { maxHashSlotNum, maxIndexNum };
    assert(indexFileSizeBytes(geometry) <= MAX_INDEX_FILE_BYTES, 'key index files must stay below 1 GiB');
    const index = new KeyIndex(directory, geometry, options.logger ?? createLogger({ name: 'tidemq-key-index' }));
    index.load();
    return index;
  }

  private load(): void {
    mkdirSync(this.directory, { recursive: true });
    const names = readdirSync(this.directory)
      .filter((name) => FILE_NAME_PATTERN.test(name))
      .sort();
    try {
      for (let position = 0; position < names.length; position++) {
        const name = names[position]!;
        const loadIfWritable = position === names.length - 1;
        const file = KeyIndexFile.open(join(this.directory, name), name, this.geometry, { loadIfWritable, logger: this.logger });
        if (file !== null) this.files.push(file);
      }
    } catch (error) {
      for (const file of this.files) file.dispose();
      throw error;
    }
    this.newestName = names.at(-1) ?? null;
    const newest = this.files.at(-1);
    if (newest !== undefined && newest.inMemory && !newest.sealed) this.active = newest;
    for (let position = this.files.length - 1; position >= 0; position--) {
      const file = this.files[position]!;
      if (file.entryCount > 0) {
        this.lastTimestampMs = file.endTimestampMs;
        this.lastPhysicalOffset = file.endPhysicalOffset;
        break;
      }
    }
  }

  /** Store time of the newest entry (0 if none); after a restart, the newest file's end time. */
  get lastUpdateTimestampMs(): number {
    return this.lastTimestampMs;
  }

  /** Commit-log offset of the newest entry (0 if none); after a restart, the newest file's end offset. */
  get lastUpdatePhysicalOffset(): number {
    return this.lastPhysicalOffset;
  }

  /** Indexes `topic#key` at a commit-log offset. Memory only, except when a file rolls. */
  put(topic: string, key: string, physicalOffset: number, storeTimestampMs: number): void {
    if (this.closing) throw new TideError('STORE_CLOSED', 'the key index is closed');
    assert(physicalOffset >= 0 && physicalOffset <= Number.MAX_SAFE_INTEGER, 'physical offset out of range');
    assert(storeTimestampMs >= 0 && storeTimestampMs <= Number.MAX_SAFE_INTEGER, 'store timestamp out of range');
    let file = this.active;
    if (file === null || file.isFull) file = this.roll();
    if (topic !== this.lastPutTopic) {
      this.lastPutTopic = topic;
      this.lastPutTopicHash = topicKeyPrefixHash(topic);
    }
    file.put(indexKeyHashAfter(this.lastPutTopicHash, key), physicalOffset, storeTimestampMs);
    this.lastTimestampMs = storeTimestampMs;
    this.lastPhysicalOffset = physicalOffset;
  }

  /** Seals the active file (flushing it in the background) and starts a new one. */
  private roll(): KeyIndexFile {
    const previous = this.active;
    const name = this.nextFileName();
    const file = KeyIndexFile.create(join(this.directory, name), name, this.geometry);
    this.files.push(file);
    this.active = file;
    this.newestName = name;
    this.directoryDirty = true;
    if (previous !== null) {
      previous.seal();
      // The sealed file holds a whole file of memory until it is durable; do not wait for the
      // store's next flush to release it. A failure is logged and retried by that next flush.
      this.flush().catch((error: unknown) => this.logger.warn({ error }, 'key index: background flush of a full index file failed'));
    }
    return file;
  }

  private nextFileName(): string {
    let timeMs = Date.now();
    const newest = this.newestName;
    if (newest !== null && formatIndexFileName(timeMs) <= newest) timeMs = parseIndexFileName(newest) + 1;
    const taken = new Set(this.files.map((file) => file.name));
    for (let attempt = 0; attempt < MAX_FILE_NAME_ATTEMPTS; attempt++, timeMs++) {
      const name = formatIndexFileName(timeMs);
      if ((newest === null || name > newest) && !taken.has(name)) return name;
    }
    throw new TideError('STORE_WRITE_FAILED', `key index: no free file name after ${newest ?? 'none'} in ${this.directory}`);
  }

  /**
   * Candidate commit-log offsets of entries for `topic#key` stored within [beginMs, endMs], newest
   * first, at most maxNum, without duplicates. Hash collisions and entries past the recovered commit
   * log can be among them, and entry times are whole seconds; the caller checks each record.
   */
  query(topic: string, key: string, maxNum: number, beginMs: number, endMs: number): number[] {
    if (this.closing) throw new TideError('STORE_CLOSED', 'the key index is closed');
    const offsets: number[] = [];
    if (maxNum <= 0 || endMs < beginMs) return offsets;
    const keyHash = indexKeyHash(topic, key);
    const seen = new Set<number>();
    for (let position = this.files.length - 1; position >= 0 && offsets.length < maxNum; position--) {
      this.files[position]!.collect(keyHash, maxNum, beginMs, endMs, offsets, seen);
    }
    return offsets;
  }

  /** Makes every put so far durable. Flushes are serialized; a failure rejects with STORE_WRITE_FAILED. */
  flush(): Promise<void> {
    if (this.closePromise !== null) return this.closePromise;
    return this.enqueueFlush();
  }

  private enqueueFlush(): Promise<void> {
    const run = this.flushChain.then(() => this.flushFiles());
    this.flushChain = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  private async flushFiles(): Promise<void> {
    for (const file of [...this.files]) {
      if (file.hasUnflushedEntries) await file.flush();
    }
    if (this.directoryDirty) {
      // New files must survive a power loss together with their contents.
      this.directoryDirty = false;
      try {
        const handle = await open(this.directory, 'r');
        try {
          await handle.sync();
        } finally {
          await handle.close();
        }
      } catch (error) {
        this.directoryDirty = true;
        throw new TideError('STORE_WRITE_FAILED', `key index: fsync of ${this.directory} failed`, { cause: error });
      }
    }
  }

  /**
   * Deletes the files whose entries all point below `physicalOffset` (by their header's
   * endPhyOffset, the highest offset in the file). The active file is never deleted.
   */
  deleteFilesBefore(physicalOffset: number): void {
    const kept: KeyIndexFile[] = [];
    for (const file of this.files) {
      if (file === this.active || file.endPhysicalOffset >= physicalOffset) {
        kept.push(file);
        continue;
      }
      try {
        unlinkSync(file.path);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
          this.logger.warn({ path: file.path, error }, 'key index: could not delete an old index file; keeping it');
          kept.push(file);
          continue;
        }
      }
      file.dispose();
    }
    this.files = kept;
  }

  /** Flushes everything and closes the files. Later puts and queries throw STORE_CLOSED. */
  close(): Promise<void> {
    if (this.closePromise !== null) return this.closePromise;
    this.closing = true;
    this.closePromise = this.enqueueFlush().finally(() => {
      for (const file of this.files) file.dispose();
      this.active = null;
    });
    return this.closePromise;
  }
}
