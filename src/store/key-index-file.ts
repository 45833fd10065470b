/**
 * One file of the key index, in Apache RocketMQ's IndexFile layout. `key-index.ts` explains why this
 * format and how the set of files behaves; this file owns the bytes of one file.
 *
 * Layout (every integer big-endian, as Java's ByteBuffer writes it; 64-bit values are written as two
 * 32-bit halves and must stay below 2^53):
 *
 *   offset 0, header, 40 bytes
 *     0  beginTimestamp  int64  store time in ms of the file's first entry (0 while empty)
 *     8  endTimestamp    int64  latest store time of any entry
 *    16  beginPhyOffset  int64  commit-log offset of the first entry
 *    24  endPhyOffset    int64  highest commit-log offset of any entry
 *    32  hashSlotCount   int32  number of slots in use
 *    36  indexCount      int32  next entry number; starts at 1 because entry number 0 means "none"
 *   offset 40, maxHashSlotNum slots of 4 bytes
 *     int32 number of the newest entry whose key hash lands in the slot, 0 = empty
 *   offset 40 + 4 * maxHashSlotNum, maxIndexNum entries of 20 bytes (entry 0 is never used)
 *     0  keyHash    int32  abs(Java String.hashCode of "topic#key"); 0 where Java's abs overflows
 *     4  phyOffset  int64  commit-log offset of the message
 *    12  timeDiff   int32  whole seconds from beginTimestamp to the message's store time (>= 0)
 *    16  prevIndex  int32  the previous (older) entry in the same slot, 0 = end of the chain
 *
 * A file is full when indexCount reaches maxIndexNum, so it holds maxIndexNum - 1 entries.
 * RocketMQ writes the last entry's values into endTimestamp and endPhyOffset; we keep the maximum.
 * The two differ only when re-put entries arrive out of order after a crash, and the maximum keeps
 * the time filter and retention sound.
 *
 * Writing. The active file lives in one Buffer; `put` only writes memory. `flush` writes the new
 * entries and the dirty slot range, fdatasyncs, then writes the 40-byte header and fdatasyncs again.
 * The header therefore never counts an entry that is not on disk: after any crash, entries
 * 1 .. indexCount-1 are intact and only slots can be ahead of the header (pointing at entries that
 * may be missing). Opening a file that is not full checks every slot against indexCount and, if one is
 * ahead, rebuilds all slots from the intact entries (each entry's prevIndex was written with it and is
 * still right). A file shorter than its geometry is treated the same way, with indexCount cut to the
 * entries present. A header that fails validation cannot be repaired (timeDiff is relative to it), so
 * the caller discards that file.
 */
import { closeSync, fdatasync, fdatasyncSync, fstatSync, ftruncateSync, openSync, readSync, unlinkSync, write, writeSync } from 'node:fs';
import { assert } from '../common/assert.js';
import { TideError } from '../common/errors.js';
import { javaStringHashCode } from '../common/java-hash.js';
import type { Logger } from '../common/logger.js';

export const INDEX_HEADER_BYTES = 40;
export const HASH_SLOT_BYTES = 4;
export const INDEX_ENTRY_BYTES = 20;

const TWO_TO_THE_32 = 2 ** 32;
/** A high word at or above this makes a 64-bit value unsafe as a JavaScript number. */
const UNSAFE_HIGH_WORD = 2 ** 21;
const INT32_MAX = 0x7fffffff;
const INT32_MIN = -0x80000000;
/** Entry times are whole seconds, so an entry's real store time is up to this much later than read. */
const TIME_PRECISION_MS = 999;

export interface KeyIndexGeometry {
  /** Hash slots per file (RocketMQ `maxHashSlotNum`). */
  readonly maxHashSlotNum: number;
  /** Entry places per file including the unused entry 0 (RocketMQ `maxIndexNum`). */
  readonly maxIndexNum: number;
}

export function indexFileSizeBytes(geometry: KeyIndexGeometry): number {
  return INDEX_HEADER_BYTES + geometry.maxHashSlotNum * HASH_SLOT_BYTES + geometry.maxIndexNum * INDEX_ENTRY_BYTES;
}

/**
 * The hash stored for a key, as RocketMQ computes it: abs(String.hashCode("topic#key")). Java's
 * Math.abs(Integer.MIN_VALUE) stays negative and RocketMQ then uses 0; JavaScript's Math.abs would
 * give 2^31, which does not fit the int32 field.
 */
export function indexKeyHash(topic: string, key: string): number {
  return indexKeyHashAfter(topicKeyPrefixHash(topic), key);
}

/** Java hashCode of `topic#`: what `indexKeyHashAfter` continues from (cache it per topic). */
export function topicKeyPrefixHash(topic: string): number {
  return (Math.imul(javaStringHashCode(topic), 31) + 0x23) | 0;
}

/**
 * `indexKeyHash(topic, key)` from the topic's prefix hash, without building the "topic#key" string:
 * Java's hash is a left-to-right polynomial, so hashing the key's characters on from the prefix's
 * hash gives the hash of the concatenation.
 */
export function indexKeyHashAfter(prefixHash: number, key: string): number {
  let hash = prefixHash;
  for (let index = 0; index < key.length; index++) hash = (Math.imul(hash, 31) + key.charCodeAt(index)) | 0;
  return hash === INT32_MIN ? 0 : Math.abs(hash);
}

export interface IndexFileHeader {
  beginTimestampMs: number;
  endTimestampMs: number;
  beginPhysicalOffset: number;
  endPhysicalOffset: number;
  usedSlotCount: number;
  indexCount: number;
}

function writeInt64(view: DataView, position: number, value: number): void {
  view.setUint32(position, Math.floor(value / TWO_TO_THE_32));
  view.setUint32(position + 4, value >>> 0);
}

/** A 64-bit field as a number, or -1 when it is negative or beyond 2^53 (garbage in our files). */
function readInt64(view: DataView, position: number): number {
  const high = view.getUint32(position);
  if (high >= UNSAFE_HIGH_WORD) return -1;
  return high * TWO_TO_THE_32 + view.getUint32(position + 4);
}

export function encodeIndexHeader(header: IndexFileHeader, target: Buffer): void {
  assert(target.length >= INDEX_HEADER_BYTES, 'header buffer too small');
  const view = new DataView(target.buffer, target.byteOffset, INDEX_HEADER_BYTES);
  writeInt64(view, 0, header.beginTimestampMs);
  writeInt64(view, 8, header.endTimestampMs);
  writeInt64(view, 16, header.beginPhysicalOffset);
  writeInt64(view, 24, header.endPhysicalOffset);
  view.setInt32(32, header.usedSlotCount);
  view.setInt32(36, header.indexCount);
}

export function decodeIndexHeader(source: Buffer): IndexFileHeader {
  assert(source.length >= INDEX_HEADER_BYTES, 'header buffer too small');
  const view = new DataView(source.buffer, source.byteOffset, INDEX_HEADER_BYTES);
  return {
    beginTimestampMs: readInt64(view, 0),
    endTimestampMs: readInt64(view, 8),
    beginPhysicalOffset: readInt64(view, 16),
    endPhysicalOffset: readInt64(view, 24),
    usedSlotCount: view.getInt32(32),
    indexCount: view.getInt32(36),
  };
}

/** Why a header cannot be trusted, or null when it can. */
function headerProblem(header: IndexFileHeader, maxIndexNum: number | null): string | null {
  if (header.indexCount < 1) return `indexCount ${header.indexCount} is below 1`;
  if (maxIndexNum !== null && header.indexCount > maxIndexNum) return `indexCount ${header.indexCount} is above maxIndexNum ${maxIndexNum}`;
  if (header.usedSlotCount < 0 || header.usedSlotCount >= header.indexCount) return `hashSlotCount ${header.usedSlotCount} does not fit indexCount ${header.indexCount}`;
  if (header.beginTimestampMs < 0 || header.endTimestampMs < 0) return 'a timestamp is negative or beyond 2^53';
  if (header.beginPhysicalOffset < 0 || header.endPhysicalOffset < 0) return 'a physical offset is negative or beyond 2^53';
  return null;
}

function readFully(fd: number, target: Buffer, position: number): number {
  let done = 0;
  while (done < target.length) {
    const count = readSync(fd, target, done, target.length - done, position + done);
    if (count === 0) break;
    done += count;
  }
  return done;
}

function writeFullySync(fd: number, source: Buffer, position: number): void {
  let done = 0;
  while (done < source.length) done += writeSync(fd, source, done, source.length - done, position + done);
}

function writeFully(fd: number, source: Buffer, position: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const step = (done: number): void => {
      if (done >= source.length) {
        resolve();
        return;
      }
      write(fd, source, done, source.length - done, position + done, (error, count) => {
        if (error) reject(error);
        else step(done + count);
      });
    };
    step(0);
  });
}

function fdatasyncAsync(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fdatasync(fd, (error) => (error ? reject(error) : resolve())));
}

function writeFailed(path: string, what: string, cause: unknown): TideError {
  return new TideError('STORE_WRITE_FAILED', `key index file ${path}: ${what} failed`, { cause });
}

export interface OpenIndexFileOptions {
  /** Load the file into memory so it can take more entries (only the newest file, if not full). */
  readonly loadIfWritable: boolean;
  readonly logger: Logger;
}

export class KeyIndexFile {
  readonly name: string;
  readonly path: string;
  private readonly geometry: KeyIndexGeometry;
  private readonly entriesStart: number;
  private fd: number;
  /** False for files of another geometry: kept on disk until retention, never read. */
  readonly queryable: boolean;

  private beginTimestampMsValue: number;
  private endTimestampMsValue: number;
  private beginPhysicalOffsetValue: number;
  private endPhysicalOffsetValue: number;
  private usedSlotCount: number;
  private indexCountValue: number;

  /** The whole file while it takes entries or still has entries to flush; null once sealed and durable. */
  private memory: Buffer | null = null;
  private view: DataView | null = null;
  /** Entries below this number are on disk and counted by the header on disk. */
  private durableIndexCount: number;
  /** Slot range (inclusive) written since the last flush snapshot; min > max when clean. */
  private dirtySlotMin = INT32_MAX;
  private dirtySlotMax = -1;
  private sealedValue = false;
  private flushing = false;
  private disposeWhenIdle = false;
  private disposed = false;
  /** Entry reads of files not in memory go through this. */
  private readonly scratch = Buffer.alloc(INDEX_ENTRY_BYTES);
  private readonly scratchView = new DataView(this.scratch.buffer, this.scratch.byteOffset, INDEX_ENTRY_BYTES);

  private constructor(path: string, name: string, fd: number, geometry: KeyIndexGeometry, header: IndexFileHeader, queryable: boolean) {
    this.path = path;
    this.name = name;
    this.fd = fd;
    this.geometry = geometry;
    this.entriesStart = INDEX_HEADER_BYTES + geometry.maxHashSlotNum * HASH_SLOT_BYTES;
    this.queryable = queryable;
    this.beginTimestampMsValue = header.beginTimestampMs;
    this.endTimestampMsValue = header.endTimestampMs;
    this.beginPhysicalOffsetValue = header.beginPhysicalOffset;
    this.endPhysicalOffsetValue = header.endPhysicalOffset;
    this.usedSlotCount = header.usedSlotCount;
    this.indexCountValue = header.indexCount;
    this.durableIndexCount = header.indexCount;
    this.sealedValue = !queryable || header.indexCount >= geometry.maxIndexNum;
  }

  /**
   * Creates an empty file at full size (sparse until written) and writes its header, so a crash right
   * after creation leaves a valid empty file. Throws STORE_WRITE_FAILED if `path` exists.
   */
  static create(path: string, name: string, geometry: KeyIndexGeometry): KeyIndexFile {
    const header: IndexFileHeader = { beginTimestampMs: 0, endTimestampMs: 0, beginPhysicalOffset: 0, endPhysicalOffset: 0, usedSlotCount: 0, indexCount: 1 };
    let fd: number;
    try {
      fd = openSync(path, 'wx+');
    } catch (error) {
      throw writeFailed(path, 'create', error);
    }
    const memory = Buffer.alloc(indexFileSizeBytes(geometry));
    encodeIndexHeader(header, memory);
    try {
      ftruncateSync(fd, memory.length);
      writeFullySync(fd, memory.subarray(0, INDEX_HEADER_BYTES), 0);
    } catch (error) {
      closeSync(fd);
      throw writeFailed(path, 'create', error);
    }
    const file = new KeyIndexFile(path, name, fd, geometry, header, true);
    file.attachMemory(memory);
    return file;
  }

  /**
   * Opens an existing file: validates the header, repairs slots left ahead of it by a torn flush,
   * and loads the file into memory if asked and not full. Returns null after deleting a file whose
   * header is unusable (logged).
   */
  static open(path: string, name: string, geometry: KeyIndexGeometry, options: OpenIndexFileOptions): KeyIndexFile | null {
    const { logger } = options;
    const fd = openSync(path, 'r+');
    let fdClosed = false;
    try {
      const sizeBytes = fstatSync(fd).size;
      const expectedBytes = indexFileSizeBytes(geometry);
      const headerBytes = Buffer.alloc(INDEX_HEADER_BYTES);
      const headerRead = readFully(fd, headerBytes, 0);
      const header = decodeIndexHeader(headerBytes);
      const foreign = sizeBytes > expectedBytes;
      const problem = headerRead < INDEX_HEADER_BYTES ? `file is ${sizeBytes} bytes, shorter than the header` : headerProblem(header, foreign ? null : geometry.maxIndexNum);
      if (problem !== null) {
        logger.warn({ path, sizeBytes, header }, `key index: discarding index file with an unusable header (${problem}); the store re-indexes what it re-puts`);
        fdClosed = true;
        closeSync(fd);
        try {
          unlinkSync(path);
        } catch (error) {
          logger.warn({ path, error }, 'key index: could not delete the unusable index file; ignoring it');
        }
        return null;
      }
      if (foreign) {
        // Another maxHashSlotNum/maxIndexNum wrote it: the slot of a key cannot be computed, so the
        // file is not read, but it stays until retention removes it by its header's endPhyOffset.
        logger.warn({ path, sizeBytes, expectedBytes }, 'key index: index file has another geometry than configured; queries skip it');
        fdClosed = true;
        closeSync(fd);
        const skipped = new KeyIndexFile(path, name, -1, geometry, header, false);
        skipped.disposed = true;
        return skipped;
      }
      const file = new KeyIndexFile(path, name, fd, geometry, header, true);
      if (options.loadIfWritable && header.indexCount < geometry.maxIndexNum) {
        const memory = Buffer.alloc(expectedBytes);
        readFully(fd, memory.subarray(0, Math.min(sizeBytes, expectedBytes)), 0);
        file.attachMemory(memory);
      }
      if (sizeBytes < expectedBytes || header.indexCount < geometry.maxIndexNum) file.repairIfTorn(sizeBytes, logger);
      return file;
    } catch (error) {
      if (!fdClosed) closeSync(fd);
      throw error;
    }
  }

  private attachMemory(memory: Buffer): void {
    this.memory = memory;
    this.view = new DataView(memory.buffer, memory.byteOffset, memory.length);
  }

  get beginTimestampMs(): number {
    return this.beginTimestampMsValue;
  }
  get endTimestampMs(): number {
    return this.endTimestampMsValue;
  }
  get endPhysicalOffset(): number {
    return this.endPhysicalOffsetValue;
  }
  get indexCount(): number {
    return this.indexCountValue;
  }
  /** Entries in the file (indexCount counts the unused entry 0). */
  get entryCount(): number {
    return this.indexCountValue - 1;
  }
  get isFull(): boolean {
    return this.indexCountValue >= this.geometry.maxIndexNum;
  }
  /** True once no more entries go into this file. */
  get sealed(): boolean {
    return this.sealedValue;
  }
  /** True while the file is held in memory (active, or sealed with entries not yet flushed). */
  get inMemory(): boolean {
    return this.memory !== null;
  }
  get hasUnflushedEntries(): boolean {
    return this.indexCountValue > this.durableIndexCount;
  }

  /** Brings slots in line with the entries counted by the header; see the comment at the top. */
  private repairIfTorn(sizeBytes: number, logger: Logger): void {
    const { maxHashSlotNum } = this.geometry;
    const slotsBytes = maxHashSlotNum * HASH_SLOT_BYTES;
    const expectedBytes = indexFileSizeBytes(this.geometry);
    const truncated = sizeBytes < expectedBytes;
    let indexCount = this.indexCountValue;
    if (truncated) {
      const entriesPresent = Math.max(0, Math.floor((sizeBytes - this.entriesStart) / INDEX_ENTRY_BYTES));
      indexCount = Math.max(1, Math.min(indexCount, entriesPresent));
    }
    const slots = this.memory !== null ? this.memory.subarray(INDEX_HEADER_BYTES, this.entriesStart) : Buffer.alloc(slotsBytes);
    if (this.memory === null) readFully(this.fd, slots, INDEX_HEADER_BYTES);
    const slotView = new DataView(slots.buffer, slots.byteOffset, slots.length);
    let torn = truncated;
    for (let slot = 0; slot < maxHashSlotNum && !torn; slot++) {
      const entryNumber = slotView.getInt32(slot * HASH_SLOT_BYTES);
      if (entryNumber < 0 || entryNumber >= indexCount) torn = true;
    }
    if (!torn) return;

    const entries = this.memory !== null ? this.memory.subarray(this.entriesStart, this.entriesStart + indexCount * INDEX_ENTRY_BYTES) : Buffer.alloc(indexCount * INDEX_ENTRY_BYTES);
    if (this.memory === null) readFully(this.fd, entries, this.entriesStart);
    const entryView = new DataView(entries.buffer, entries.byteOffset, entries.length);
    slots.fill(0);
    let usedSlotCount = 0;
    for (let entryNumber = 1; entryNumber < indexCount; entryNumber++) {
      const keyHash = entryView.getInt32(entryNumber * INDEX_ENTRY_BYTES);
      if (keyHash < 0) continue; // Never written by a put; leave it unreachable.
      const slotPosition = (keyHash % maxHashSlotNum) * HASH_SLOT_BYTES;
      if (slotView.getInt32(slotPosition) === 0) usedSlotCount++;
      slotView.setInt32(slotPosition, entryNumber);
    }
    logger.warn(
      { path: this.path, sizeBytes, headerIndexCount: this.indexCountValue, indexCount },
      'key index: index file was torn by a crash; rebuilt its hash slots from the entries on disk',
    );
    this.indexCountValue = indexCount;
    this.durableIndexCount = indexCount;
    this.usedSlotCount = usedSlotCount;
    const header = Buffer.alloc(INDEX_HEADER_BYTES);
    encodeIndexHeader(this.snapshotHeader(), header);
    if (this.memory !== null) header.copy(this.memory, 0);
    try {
      if (truncated) ftruncateSync(this.fd, expectedBytes);
      writeFullySync(this.fd, slots, INDEX_HEADER_BYTES);
      fdatasyncSync(this.fd);
      writeFullySync(this.fd, header, 0);
      fdatasyncSync(this.fd);
    } catch (error) {
      throw writeFailed(this.path, 'repair', error);
    }
  }

  private snapshotHeader(): IndexFileHeader {
    return {
      beginTimestampMs: this.beginTimestampMsValue,
      endTimestampMs: this.endTimestampMsValue,
      beginPhysicalOffset: this.beginPhysicalOffsetValue,
      endPhysicalOffset: this.endPhysicalOffsetValue,
      usedSlotCount: this.usedSlotCount,
      indexCount: this.indexCountValue,
    };
  }

  /** Adds one entry in memory. The caller rolls to a new file first when this one is full. */
  put(keyHash: number, physicalOffset: number, storeTimestampMs: number): void {
    const view = this.view;
    assert(view !== null && !this.sealedValue && !this.isFull, 'put into a sealed key index file');
    const indexCount = this.indexCountValue;
    if (indexCount === 1) {
      this.beginTimestampMsValue = storeTimestampMs;
      this.beginPhysicalOffsetValue = physicalOffset;
      this.endTimestampMsValue = storeTimestampMs;
      this.endPhysicalOffsetValue = physicalOffset;
    }
    const slot = keyHash % this.geometry.maxHashSlotNum;
    const slotPosition = INDEX_HEADER_BYTES + slot * HASH_SLOT_BYTES;
    let previous = view.getInt32(slotPosition);
    if (previous <= 0 || previous >= indexCount) {
      previous = 0;
      this.usedSlotCount++;
    }
    let timeDifferenceSeconds = Math.floor((storeTimestampMs - this.beginTimestampMsValue) / 1000);
    if (timeDifferenceSeconds < 0) timeDifferenceSeconds = 0;
    else if (timeDifferenceSeconds > INT32_MAX) timeDifferenceSeconds = INT32_MAX;
    const entryPosition = this.entriesStart + indexCount * INDEX_ENTRY_BYTES;
    view.setInt32(entryPosition, keyHash);
    view.setUint32(entryPosition + 4, Math.floor(physicalOffset / TWO_TO_THE_32));
    view.setUint32(entryPosition + 8, physicalOffset >>> 0);
    view.setInt32(entryPosition + 12, timeDifferenceSeconds);
    view.setInt32(entryPosition + 16, previous);
    view.setInt32(slotPosition, indexCount);
    this.indexCountValue = indexCount + 1;
    if (storeTimestampMs > this.endTimestampMsValue) this.endTimestampMsValue = storeTimestampMs;
    if (physicalOffset > this.endPhysicalOffsetValue) this.endPhysicalOffsetValue = physicalOffset;
    if (slot < this.dirtySlotMin) this.dirtySlotMin = slot;
    if (slot > this.dirtySlotMax) this.dirtySlotMax = slot;
  }

  /** No more puts go here; the file stays in memory until its entries are durable. */
  seal(): void {
    this.sealedValue = true;
  }

  /**
   * Appends to `out` (skipping offsets in `seen`) the offsets of entries with `keyHash` whose store
   * time may lie in [beginMs, endMs], newest first, until `out` holds maxNum. Entry times are whole
   * seconds past beginTimestamp, so an entry matches when its second overlaps the range; the caller
   * checks the record's exact store time if it needs millisecond precision.
   */
  collect(keyHash: number, maxNum: number, beginMs: number, endMs: number, out: number[], seen: Set<number>): void {
    const indexCount = this.indexCountValue;
    if (!this.queryable || this.disposed || indexCount <= 1) return;
    if (this.endTimestampMsValue < beginMs || this.beginTimestampMsValue > endMs) return;
    let entryNumber = this.readSlot(keyHash % this.geometry.maxHashSlotNum);
    if (entryNumber <= 0 || entryNumber >= indexCount) return;
    const beginTimestampMs = this.beginTimestampMsValue;
    while (out.length < maxNum) {
      const view = this.readEntry(entryNumber);
      const base = view === this.view ? this.entriesStart + entryNumber * INDEX_ENTRY_BYTES : 0;
      const timeDifferenceSeconds = view.getInt32(base + 12);
      if (timeDifferenceSeconds < 0) break;
      const entryTimeMs = beginTimestampMs + timeDifferenceSeconds * 1000;
      if (view.getInt32(base) === keyHash && entryTimeMs <= endMs && entryTimeMs + TIME_PRECISION_MS >= beginMs) {
        const physicalOffset = readInt64(view, base + 4);
        if (physicalOffset >= 0 && !seen.has(physicalOffset)) {
          seen.add(physicalOffset);
          out.push(physicalOffset);
        }
      }
      const previous = view.getInt32(base + 16);
      // Chains only point at older (smaller) entries; anything else is damage and ends the walk.
      // Older entries are not later in time, so once below the range nothing else can match.
      if (previous <= 0 || previous >= entryNumber || entryTimeMs + TIME_PRECISION_MS < beginMs) break;
      entryNumber = previous;
    }
  }

  private readSlot(slot: number): number {
    const position = INDEX_HEADER_BYTES + slot * HASH_SLOT_BYTES;
    if (this.view !== null) return this.view.getInt32(position);
    if (readFully(this.fd, this.scratch.subarray(0, HASH_SLOT_BYTES), position) < HASH_SLOT_BYTES) return 0;
    return this.scratchView.getInt32(0);
  }

  /** The view holding the entry: the file's own (entry at its position) or the scratch (entry at 0). */
  private readEntry(entryNumber: number): DataView {
    if (this.view !== null) return this.view;
    if (readFully(this.fd, this.scratch, this.entriesStart + entryNumber * INDEX_ENTRY_BYTES) < INDEX_ENTRY_BYTES) this.scratch.fill(0);
    return this.scratchView;
  }

  /**
   * Makes every entry put so far durable: new entries and dirty slots, fdatasync, header, fdatasync.
   * Slots and header are copied first because puts keep changing them while the writes run; entries
   * below the snapshot count never change. On failure the ranges stay dirty for the next flush.
   */
  async flush(): Promise<void> {
    const memory = this.memory;
    if (memory === null || this.disposed || !this.hasUnflushedEntries) return;
    assert(!this.flushing, 'concurrent flushes of one key index file');
    const fromCount = this.durableIndexCount;
    const toCount = this.indexCountValue;
    const slotMin = this.dirtySlotMin;
    const slotMax = this.dirtySlotMax;
    this.dirtySlotMin = INT32_MAX;
    this.dirtySlotMax = -1;
    const header = Buffer.alloc(INDEX_HEADER_BYTES);
    encodeIndexHeader(this.snapshotHeader(), header);
    const slotStart = INDEX_HEADER_BYTES + slotMin * HASH_SLOT_BYTES;
    const slotsView = slotMin <= slotMax ? memory.subarray(slotStart, INDEX_HEADER_BYTES + (slotMax + 1) * HASH_SLOT_BYTES) : null;
    const slots = slotsView === null ? null : this.sealedValue ? slotsView : Buffer.from(slotsView);
    const entries = memory.subarray(this.entriesStart + fromCount * INDEX_ENTRY_BYTES, this.entriesStart + toCount * INDEX_ENTRY_BYTES);
    this.flushing = true;
    try {
      await writeFully(this.fd, entries, this.entriesStart + fromCount * INDEX_ENTRY_BYTES);
      if (slots !== null) await writeFully(this.fd, slots, slotStart);
      await fdatasyncAsync(this.fd);
      await writeFully(this.fd, header, 0);
      await fdatasyncAsync(this.fd);
      this.durableIndexCount = toCount;
      header.copy(memory, 0);
    } catch (error) {
      if (slotMin < this.dirtySlotMin) this.dirtySlotMin = slotMin;
      if (slotMax > this.dirtySlotMax) this.dirtySlotMax = slotMax;
      throw writeFailed(this.path, 'flush', error);
    } finally {
      this.flushing = false;
      if (this.disposeWhenIdle) this.dispose();
    }
    if (this.sealedValue && !this.hasUnflushedEntries) {
      // Sealed and durable: later queries read it from disk, which bounds memory to the active file.
      this.memory = null;
      this.view = null;
    }
  }

  /** Closes the file descriptor now, or after the flush in progress. */
  dispose(): void {
    if (this.disposed) return;
    if (this.flushing) {
      this.disposeWhenIdle = true;
      return;
    }
    this.disposed = true;
    this.memory = null;
    this.view = null;
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}
