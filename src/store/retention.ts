/**
 * Retention: deletes whole commit-log segments, oldest first and never the active one, when their
 * last modification is older than `fileReservedTime` hours, or while disk usage is above
 * `diskMaxUsedSpaceRatio`. Then consume-queue files whose entries all point below the new minimum
 * physical offset are deleted, queue minimum offsets move up, and the key index drops files below.
 * Above `diskSpaceRefuseRatio` appends are refused (`diskFull`), until space is freed.
 */
import { fstatSync } from 'node:fs';
import type { CommitLog } from './commit-log.js';
import type { ConsumeQueueTable } from './consume-queue-table.js';
import type { DiskUsageSource } from './disk-usage.js';
import type { KeyIndex } from './key-index.js';
import type { StoreLogger } from './store-logger.js';

const MS_PER_HOUR = 3_600_000;

export interface RetentionOptions {
  commitLog: CommitLog;
  consumeQueues: ConsumeQueueTable;
  keyIndex: KeyIndex;
  diskUsage: DiskUsageSource;
  fileReservedTimeHours: number;
  diskMaxUsedSpaceRatio: number;
  diskSpaceRefuseRatio: number;
  /** Wall-clock milliseconds (segment ages are compared with file modification times). */
  wallClockMs(): number;
  logger: StoreLogger;
}

export interface RetentionReport {
  deletedSegments: number;
  deletedConsumeQueueFiles: number;
  diskUsedPercent: number;
  diskFull: boolean;
}

export class Retention {
  diskUsedPercent = 0;
  diskFull = false;

  constructor(private readonly options: RetentionOptions) {}

  /** Reads disk usage and updates `diskFull`. */
  measure(): number {
    let usage: number;
    try {
      usage = this.options.diskUsage();
    } catch (error) {
      this.options.logger.warn({ err: error }, 'could not read disk usage');
      return this.diskUsedPercent;
    }
    this.diskUsedPercent = usage;
    const full = usage > this.options.diskSpaceRefuseRatio;
    if (full !== this.diskFull) {
      if (full) this.options.logger.error({ diskUsedPercent: usage }, 'disk usage above diskSpaceRefuseRatio: refusing appends');
      else this.options.logger.info({ diskUsedPercent: usage }, 'disk usage back below diskSpaceRefuseRatio: accepting appends');
    }
    this.diskFull = full;
    return usage;
  }

  run(): RetentionReport {
    const { commitLog, logger } = this.options;
    let usage = this.measure();
    let deletedSegments = 0;
    const expiredBeforeMs = this.options.wallClockMs() - this.options.fileReservedTimeHours * MS_PER_HOUR;
    for (;;) {
      const oldest = commitLog.deletableSegments()[0];
      if (oldest === undefined || fstatSync(oldest.fd).mtimeMs >= expiredBeforeMs) break;
      commitLog.deleteOldestSegment();
      deletedSegments++;
    }
    while (usage > this.options.diskMaxUsedSpaceRatio && commitLog.deletableSegments().length > 0) {
      commitLog.deleteOldestSegment();
      deletedSegments++;
      usage = this.measure();
    }
    let deletedConsumeQueueFiles = 0;
    if (deletedSegments > 0) {
      const minPhysicalOffset = commitLog.minOffset;
      for (const queue of this.options.consumeQueues.queues()) deletedConsumeQueueFiles += queue.deleteFilesBelow(minPhysicalOffset);
      this.options.keyIndex.deleteFilesBefore(minPhysicalOffset);
      usage = this.measure();
      logger.info({ deletedSegments, deletedConsumeQueueFiles, minPhysicalOffset, diskUsedPercent: usage }, 'retention deleted old files');
    }
    return { deletedSegments, deletedConsumeQueueFiles, diskUsedPercent: usage, diskFull: this.diskFull };
  }
}
