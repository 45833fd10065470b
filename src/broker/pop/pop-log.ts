/**
 * The pop log's files: an append-only log of the records in pop-log-codec.ts, compacted now and then
 * into a snapshot of the live state.
 *
 * Files in `<storePathRootDir>/pop/`:
 * - `log-<generation>` (generation = 20-digit decimal): records appended since that generation began.
 * - `snapshot-<generation>`: the whole live state at the instant generation `<generation>` began (written
 *   as `snapshot-<generation>.tmp`, fsynced, then renamed; a snapshot file that exists is complete).
 *
 * Compaction starts generation G+1 in one synchronous step (new appends go to `log-<G+1>` and the live
 * state is encoded into memory at that instant), then writes `snapshot-<G+1>` in the background and
 * finally deletes the files of older generations. Recovery takes the newest snapshot S (none = the
 * empty state), replays it and then every `log-<g>` with g >= S in order, and deletes older files. So
 * a crash anywhere in a compaction leaves either (snapshot G, log G, log G+1) or (snapshot G+1,
 * log G+1), and both replay to the same state. A torn tail ends a log file's replay; the newest log is
 * truncated there before appends resume.
 *
 * Durability follows the store's ASYNC_FLUSH promise: writes reach the OS before a pop is answered
 * (they survive a process crash) and are fdatasynced every `syncIntervalMs`.
 */
import { closeSync, constants, fdatasyncSync, fstatSync, ftruncateSync, mkdirSync, openSync, readdirSync, readFileSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { TideError } from '../../common/errors.js';
import { silentLogger, type Logger } from '../../common/logger.js';
import { fsyncDirectorySync, replaceFileDurably } from '../../store/durable-fs.js';
import { fdatasyncAsync, nodeFileIo, type FileIo } from '../../store/file-io.js';
import { decodeFrames, FrameEncoder, type PopLogRecord } from './pop-log-codec.js';

/** Pending bytes past which an append writes at once instead of waiting for the next flush. */
const MAX_PENDING_BYTES = 1024 * 1024;
const GENERATION_DIGITS = 20;

export interface PopLogOptions {
  directory: string;
  logger?: Logger;
  io?: FileIo;
}

export interface PopLogRecovery {
  generation: number;
  records: number;
  /** Bytes dropped from the end of the newest log (a torn tail). */
  truncatedBytes: number;
}

function generationName(prefix: string, generation: number): string {
  return `${prefix}-${String(generation).padStart(GENERATION_DIGITS, '0')}`;
}

function listGenerations(directory: string, prefix: string): number[] {
  const pattern = new RegExp(`^${prefix}-(\\d{${GENERATION_DIGITS}})$`);
  const generations: number[] = [];
  for (const name of readdirSync(directory)) {
    const match = pattern.exec(name);
    if (match) generations.push(Number(match[1]));
  }
  return generations.sort((a, b) => a - b);
}

/**
 * Opens (creating) a log file for positional writes. Not O_APPEND: a write that failed half-way is
 * rewritten at the same position by the next flush, instead of leaving torn bytes mid-file.
 */
function openLogFile(path: string): number {
  return openSync(path, constants.O_RDWR | constants.O_CREAT, 0o644);
}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}

export class PopLog {
  /** Records are encoded here and written to the file by flush(). */
  readonly pending = new FrameEncoder(256 * 1024);
  private fd: number;
  private fileBytes: number;
  private generation: number;
  private unsyncedBytes = 0;
  private compacting: Promise<void> | null = null;
  private closed = false;
  private readonly logger: Logger;
  private readonly io: FileIo;

  private constructor(private readonly directory: string, fd: number, fileBytes: number, generation: number, logger: Logger, io: FileIo) {
    this.fd = fd;
    this.fileBytes = fileBytes;
    this.generation = generation;
    this.logger = logger;
    this.io = io;
  }

  /** Opens (creating) the log directory, replays every record to `onRecord` in order, and returns the log ready to append. */
  static open(options: PopLogOptions, onRecord: (record: PopLogRecord) => void): { log: PopLog; recovery: PopLogRecovery } {
    const { directory } = options;
    const logger = options.logger ?? silentLogger;
    mkdirSync(directory, { recursive: true });
    for (const name of readdirSync(directory)) if (name.endsWith('.tmp')) unlinkQuietly(join(directory, name));
    const snapshots = listGenerations(directory, 'snapshot');
    const snapshotGeneration = snapshots.length > 0 ? snapshots[snapshots.length - 1]! : 0;
    let records = 0;
    const count = (record: PopLogRecord): void => {
      records++;
      onRecord(record);
    };
    if (snapshotGeneration > 0) {
      const path = join(directory, generationName('snapshot', snapshotGeneration));
      const bytes = readFileSync(path);
      const valid = decodeFrames(bytes, count);
      // A renamed snapshot was fsynced whole; anything short of that is damage, not a torn write.
      if (valid !== bytes.length) logger.error({ path, valid, size: bytes.length }, 'the pop snapshot is damaged past this byte; the rest is ignored');
    }
    const logs = listGenerations(directory, 'log');
    for (const generation of logs) {
      if (generation < snapshotGeneration) unlinkQuietly(join(directory, generationName('log', generation)));
    }
    for (const generation of snapshots) {
      if (generation < snapshotGeneration) unlinkQuietly(join(directory, generationName('snapshot', generation)));
    }
    const live = logs.filter((generation) => generation >= snapshotGeneration);
    let truncatedBytes = 0;
    let fileBytes = 0;
    let generation = Math.max(snapshotGeneration, 1);
    for (let index = 0; index < live.length; index++) {
      const path = join(directory, generationName('log', live[index]!));
      const bytes = readFileSync(path);
      const valid = decodeFrames(bytes, count);
      if (index === live.length - 1) {
        generation = live[index]!;
        fileBytes = valid;
        truncatedBytes = bytes.length - valid;
      } else if (valid !== bytes.length) {
        logger.warn({ path, valid, size: bytes.length }, 'an older pop log ends in a torn record; the rest is ignored');
      }
    }
    const path = join(directory, generationName('log', generation));
    const fd = openLogFile(path);
    if (truncatedBytes > 0 || fstatSync(fd).size !== fileBytes) {
      logger.warn({ path, truncatedBytes }, 'truncating a torn tail of the pop log');
      ftruncateSync(fd, fileBytes);
      fdatasyncSync(fd);
    }
    if (live.length === 0) fsyncDirectorySync(directory);
    const log = new PopLog(directory, fd, fileBytes, generation, logger, options.io ?? nodeFileIo);
    return { log, recovery: { generation, records, truncatedBytes } };
  }

  /** Bytes in the current generation's file (written or pending). */
  get sizeBytes(): number {
    return this.fileBytes + this.pending.length;
  }

  /** Encoded records not yet written to the file. */
  get pendingBytes(): number {
    return this.pending.length;
  }

  get isCompacting(): boolean {
    return this.compacting !== null;
  }

  /** Writes an oversized pending buffer at once; the caller encodes into `pending` first. */
  afterAppend(): void {
    if (this.pending.length < MAX_PENDING_BYTES) return;
    try {
      this.flush();
    } catch (error) {
      // The records stay pending and are written by the next flush; the caller's change stands.
      this.logger.error({ err: error }, 'writing the pop log failed');
    }
  }

  /** Writes the pending records to the file (to the OS, not yet to the disk). Throws STORE_WRITE_FAILED. */
  flush(): void {
    if (this.closed || this.pending.length === 0) return;
    const bytes = this.pending.bytes();
    try {
      this.io.write(this.fd, bytes, 0, bytes.length, this.fileBytes);
    } catch (error) {
      throw new TideError('STORE_WRITE_FAILED', `writing the pop log failed: ${(error as Error).message}`, { cause: error });
    }
    this.fileBytes += bytes.length;
    this.unsyncedBytes += bytes.length;
    this.pending.reset();
  }

  /** Flushes, then fdatasyncs if anything was written since the last sync. */
  async sync(): Promise<void> {
    this.flush();
    if (this.closed || this.unsyncedBytes === 0) return;
    this.unsyncedBytes = 0;
    await fdatasyncAsync(this.io, this.fd);
  }

  /**
   * Starts a new generation whose snapshot is what `writeState` encodes (synchronously, now); the
   * snapshot is written and older files deleted in the background. Returns the background work, or
   * null when a compaction is already running.
   */
  compact(writeState: (encoder: FrameEncoder) => void): Promise<void> | null {
    if (this.compacting || this.closed) return null;
    this.flush();
    const snapshot = new FrameEncoder(Math.max(64 * 1024, this.fileBytes >> 2));
    writeState(snapshot);
    const oldFd = this.fd;
    const oldGeneration = this.generation;
    const newGeneration = oldGeneration + 1;
    this.fd = openLogFile(join(this.directory, generationName('log', newGeneration)));
    this.generation = newGeneration;
    this.fileBytes = 0;
    this.unsyncedBytes = 0;
    const work = (async () => {
      try {
        await fdatasyncAsync(this.io, oldFd);
      } finally {
        closeSync(oldFd);
      }
      await replaceFileDurably(join(this.directory, generationName('snapshot', newGeneration)), snapshot.bytes());
      for (const generation of listGenerations(this.directory, 'log')) {
        if (generation < newGeneration) unlinkQuietly(join(this.directory, generationName('log', generation)));
      }
      for (const generation of listGenerations(this.directory, 'snapshot')) {
        if (generation < newGeneration) unlinkQuietly(join(this.directory, generationName('snapshot', generation)));
      }
      this.logger.info({ generation: newGeneration, snapshotBytes: snapshot.length }, 'compacted the pop log');
    })();
    this.compacting = work
      .catch((error: unknown) => this.logger.error({ err: error }, 'compacting the pop log failed; the old generation stays and recovery replays both'))
      .finally(() => {
        this.compacting = null;
      });
    return this.compacting;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.compacting;
    await this.sync();
    this.closed = true;
    closeSync(this.fd);
  }
}
