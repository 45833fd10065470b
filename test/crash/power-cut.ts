/**
 * Simulates a power cut on a store directory after its writer was SIGKILLed, from the sidecar log of
 * fs-sync-recorder.ts: every write that no completed sync covers is undone (the bytes it overwrote are
 * put back, zeros where the file was sparse or pre-written), and every file goes back to its length
 * at its last completed sync. A torn record can then be appended to the commit log's tail, as a
 * half-finished write would leave it.
 *
 * The model, file by file (files are matched by inode, so renames need no special case):
 *  - synced during the run: unsynced writes undone, cut to the length captured when its last
 *    completed sync was called;
 *  - present before the run (same inode) and never synced during it: unsynced writes undone, cut
 *    back to its length before the run (what the previous power-on left, durable by definition);
 *  - created during the run and never synced (including a temp file renamed into place unsynced):
 *    removed.
 * It never grows a file. Unsynced ftruncate calls are not undone (the log does not see them).
 */
import { closeSync, openSync, readdirSync, readFileSync, readSync, rmSync, statSync, truncateSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { RecordField, checkRecord, encodeRecord, readInt64 } from '../../src/protocol/message-record.js';
import { buildAppendInput, randomInt } from './crash-workload.js';

export interface FileState {
  ino: number;
  size: number;
}

/** Regular files under `root` with their inodes and sizes. */
export function snapshotFiles(root: string): Map<string, FileState> {
  const files = new Map<string, FileState>();
  const walk = (directory: string): void => {
    for (const entry of readdirSync(directory, { withFileTypes: true })) {
      const path = join(directory, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile()) {
        const stats = statSync(path);
        files.set(path, { ino: stats.ino, size: stats.size });
      }
    }
  };
  walk(root);
  return files;
}

interface TrackedWrite {
  n: number;
  position: number;
  oldLength: number;
  /** Offset of the old bytes in the undo file, or -1 for zeros. */
  undoOffset: number;
  completedAt: number | null;
}

interface InodeLog {
  writes: TrackedWrite[];
  /** Counter value at the call of the latest completed sync (-1: none). */
  lastSyncCall: number;
  syncedSize: number;
}

export interface SyncLog {
  inodes: Map<number, InodeLog>;
  syncCount: number;
  undoPath: string;
}

export function readSyncLog(logPath: string): SyncLog {
  const log: SyncLog = { inodes: new Map(), syncCount: 0, undoPath: `${logPath}.undo` };
  let text = '';
  try {
    text = readFileSync(logPath, 'utf8');
  } catch {
    return log;
  }
  const inode = (ino: number): InodeLog => {
    let entry = log.inodes.get(ino);
    if (entry === undefined) {
      entry = { writes: [], lastSyncCall: -1, syncedSize: 0 };
      log.inodes.set(ino, entry);
    }
    return entry;
  };
  const writesByNumber = new Map<number, TrackedWrite>();
  // The last line may be cut by the kill: it is ignored (no '\n', or too few fields).
  for (const line of text.split('\n')) {
    const parts = line.split('\t');
    const numbers = parts.slice(1).map(Number);
    if (parts[0] === 'P' && parts.length === 6) {
      const write: TrackedWrite = { n: numbers[0]!, position: numbers[2]!, oldLength: numbers[3]!, undoOffset: numbers[4]!, completedAt: null };
      inode(numbers[1]!).writes.push(write);
      writesByNumber.set(write.n, write);
    } else if (parts[0] === 'C' && parts.length === 3) {
      const write = writesByNumber.get(numbers[1]!);
      if (write !== undefined) write.completedAt = numbers[0]!;
    } else if (parts[0] === 'S' && parts.length === 5) {
      const entry = inode(numbers[1]!);
      if (numbers[3]! > entry.lastSyncCall) {
        entry.lastSyncCall = numbers[3]!;
        entry.syncedSize = numbers[2]!;
      }
      log.syncCount++;
    }
  }
  return log;
}

export interface CutReport {
  truncatedFiles: number;
  removedFiles: number;
  undoneWrites: number;
  bytesDropped: number;
}

/** Applies the model above to every file under `root`. */
export function applyPowerCut(root: string, before: ReadonlyMap<string, FileState>, log: SyncLog): CutReport {
  const report: CutReport = { truncatedFiles: 0, removedFiles: 0, undoneWrites: 0, bytesDropped: 0 };
  let undoFd: number | null = null;
  try {
    for (const [path, file] of snapshotFiles(root)) {
      const inodeLog = log.inodes.get(file.ino);
      const synced = inodeLog !== undefined && inodeLog.lastSyncCall >= 0;
      const previous = before.get(path);
      let keepBytes: number;
      if (synced) keepBytes = inodeLog.syncedSize;
      else if (previous !== undefined && previous.ino === file.ino) keepBytes = previous.size;
      else {
        rmSync(path);
        report.removedFiles++;
        report.bytesDropped += file.size;
        continue;
      }
      const lastSyncCall = inodeLog?.lastSyncCall ?? -1;
      const undone = (inodeLog?.writes ?? []).filter((write) => write.completedAt === null || write.completedAt > lastSyncCall);
      if (undone.length > 0) {
        undoFd ??= openSync(log.undoPath, 'r');
        undoWrites(path, undone, undoFd);
        report.undoneWrites += undone.length;
      }
      // Undoing never grows a file, and neither does the cut.
      const finalBytes = Math.min(keepBytes, file.size);
      if (statSync(path).size > finalBytes) {
        truncateSync(path, finalBytes);
        report.truncatedFiles++;
        report.bytesDropped += file.size - finalBytes;
      }
    }
  } finally {
    if (undoFd !== null) closeSync(undoFd);
  }
  return report;
}

/** Puts back, newest first, the bytes each write overwrote. */
function undoWrites(path: string, writes: TrackedWrite[], undoFd: number): void {
  const fd = openSync(path, 'r+');
  try {
    for (const write of [...writes].sort((a, b) => b.n - a.n)) {
      if (write.oldLength === 0) continue;
      const old = Buffer.alloc(write.oldLength);
      if (write.undoOffset >= 0) readSync(undoFd, old, 0, old.length, write.undoOffset);
      writeSync(fd, old, 0, old.length, write.position);
    }
  } finally {
    closeSync(fd);
  }
}

interface Segment {
  path: string;
  baseOffset: number;
  size: number;
}

export function listCommitLogSegments(root: string): Segment[] {
  const directory = join(root, 'commitlog');
  let names: string[];
  try {
    names = readdirSync(directory);
  } catch {
    return [];
  }
  return names
    .filter((name) => /^\d{20}$/.test(name))
    .sort()
    .map((name) => ({ path: join(directory, name), baseOffset: Number(name), size: statSync(join(directory, name)).size }));
}

/**
 * The end of the valid commit log after a cut, found by this test's own scan (not the store's): from
 * the oldest segment, records are checked for magic, size, PHYSICALOFFSET and body CRC, a BLANK
 * marker moves to the next segment, and the first zeros or bad bytes end the log. A message whose
 * record ends at or before this offset is durable and must survive recovery.
 */
export function durableCommitLogEnd(root: string, segmentBytes: number): number {
  const segments = listCommitLogSegments(root);
  if (segments.length === 0) return 0;
  let expected = segments[0]!.baseOffset;
  for (const segment of segments) {
    if (segment.baseOffset !== expected) return expected;
    const data = readFileSync(segment.path);
    let position = 0;
    for (;;) {
      const check = checkRecord(data, position, data.length - position, true);
      if (check.kind === 'record' && readInt64(data, position + RecordField.PHYSICAL_OFFSET) === segment.baseOffset + position) {
        position += check.size;
        continue;
      }
      if (check.kind === 'blank' && position + check.size === segmentBytes) break;
      return segment.baseOffset + position;
    }
    expected = segment.baseOffset + segmentBytes;
  }
  return expected;
}

/**
 * Writes a torn record right after the durable end of the log: either random bytes or the first
 * part of a valid record (its header promises more bytes than follow), as a write cut short by the
 * power would leave it. Returns a description, or null when that segment has no room for it.
 */
export function appendTornTail(root: string, segmentBytes: number, durableEnd: number, random: () => number): string | null {
  const segment = listCommitLogSegments(root).find((candidate) => candidate.baseOffset <= durableEnd && durableEnd < candidate.baseOffset + segmentBytes);
  if (segment === undefined) return null;
  let torn: Buffer;
  let kind: string;
  if (random() < 0.5) {
    torn = Buffer.alloc(randomInt(random, 1, 300));
    for (let index = 0; index < torn.length; index++) torn[index] = Math.floor(random() * 256);
    kind = 'random bytes';
  } else {
    const record = encodeRecord(buildAppendInput(999_999, randomInt(random, 0, 1_000_000)), 0, durableEnd, Date.now());
    torn = record.subarray(0, randomInt(random, 1, record.length - 1));
    kind = `first ${torn.length} of ${record.length} bytes of a record`;
  }
  const position = durableEnd - segment.baseOffset;
  if (position + torn.length > segmentBytes) return null;
  const fd = openSync(segment.path, 'r+');
  try {
    writeSync(fd, torn, 0, torn.length, position);
  } finally {
    closeSync(fd);
  }
  return `${kind} at ${durableEnd}`;
}
