/**
 * Reading the records of a pull window from the commit log with as few reads as possible.
 *
 * The candidates of a window (in consume-queue order) are grouped into runs: records of one segment,
 * each starting at or after the end of the one before, and a run at most `MAX_SPAN_BYTES` long.
 * Records one queue wrote back to back form one run and cost one read. The gap allowed between two
 * records differs: the synchronous read allows a gap up to the record's own size (at least half of
 * what it reads is wanted; from a warm cache copying more costs more than the system call it
 * saves), the asynchronous read allows `MAX_GAP_BYTES`, so a queue interleaved with a few others (a
 * topic's queues written in turn) is read in one trip through the thread pool instead of one per
 * record; from a cold cache the kernel reads those pages anyway.
 * Each run is read with one positional read into a fresh buffer (synchronously, or on the libuv
 * thread pool in the asynchronous variant) and every record in it is verified (magic, size,
 * PHYSICALOFFSET, body CRC, torn tail) before it is handed out. The records are views into that
 * buffer, which nothing else uses, or copies when most of the span was other queues' bytes (so an
 * answer does not pin a mostly useless buffer). Records not yet written out are copied from the
 * write buffers.
 */
import { TideError, isTideError } from '../common/errors.js';
import type { CommitLog, Segment } from './commit-log.js';
import { verifyRecord } from './record-checks.js';

/** Longest span read at once (a limit on the memory one pull window holds). */
const MAX_SPAN_BYTES = 1024 * 1024;
/** Largest distance between two records read in one run by the asynchronous read. */
const MAX_GAP_BYTES = 16 * 1024;
/** Smallest valid record (commit-log.ts). */
const MIN_RECORD_BYTES = 80;

/** The candidates of one pull window, in consume-queue order (reused from window to window). */
export interface PullWindow {
  count: number;
  readonly physicalOffsets: number[];
  readonly sizes: number[];
  readonly queueOffsets: number[];
}

/** What reading one candidate gave: its record, null when it is gone, or why it is corrupt. */
export type WindowRecord = Buffer | null | TideError;

export function newWindow(): PullWindow {
  return { count: 0, physicalOffsets: [], sizes: [], queueOffsets: [] };
}

export function addToWindow(window: PullWindow, physicalOffset: number, size: number, queueOffset: number): void {
  const index = window.count++;
  window.physicalOffsets[index] = physicalOffset;
  window.sizes[index] = size;
  window.queueOffsets[index] = queueOffset;
}

interface Run {
  readonly segment: Segment;
  /** Candidates [first, last) of the window. */
  readonly first: number;
  last: number;
  /** Physical offsets [start, end) to read. */
  readonly start: number;
  end: number;
  /** Bytes of the run's own records (the rest of the span belongs to other queues). */
  usefulBytes: number;
}

export function readWindowSync(commitLog: CommitLog, window: PullWindow): WindowRecord[] {
  const records: WindowRecord[] = new Array(window.count).fill(null);
  for (const run of planRuns(commitLog, window, records, 0)) {
    const span = Buffer.allocUnsafe(run.end - run.start);
    takeRun(run, span, commitLog.readSpanSync(run.segment, run.start, span, span.length), window, records);
  }
  return records;
}

export async function readWindowAsync(commitLog: CommitLog, window: PullWindow): Promise<WindowRecord[]> {
  const records: WindowRecord[] = new Array(window.count).fill(null);
  const runs = planRuns(commitLog, window, records, MAX_GAP_BYTES);
  await Promise.all(
    runs.map(
      (run) =>
        new Promise<void>((resolve, reject) => {
          const span = Buffer.allocUnsafe(run.end - run.start);
          commitLog.readSpan(run.segment, run.start, span, span.length, (error, bytesRead) => {
            if (error !== null) {
              reject(error);
              return;
            }
            takeRun(run, span, bytesRead, window, records);
            resolve();
          });
        }),
    ),
  );
  return records;
}

/**
 * Groups the window's on-disk candidates into runs and settles the others in `records` at once:
 * gone (null), buffered (copied from the write buffers) or of an impossible size (corrupt). Two
 * records share a run when the gap between them is at most their size or `maxGapBytes`.
 */
function planRuns(commitLog: CommitLog, window: PullWindow, records: WindowRecord[], maxGapBytes: number): Run[] {
  const runs: Run[] = [];
  let current: Run | null = null;
  const minOffset = commitLog.minOffset;
  const maxOffset = commitLog.maxOffset;
  const writtenOffset = commitLog.writtenOffset;
  for (let index = 0; index < window.count; index++) {
    const physicalOffset = window.physicalOffsets[index]!;
    const size = window.sizes[index]!;
    if (physicalOffset < minOffset || physicalOffset + size > maxOffset) {
      current = null;
      continue; // gone (or not there yet): null
    }
    if (physicalOffset >= writtenOffset) {
      current = null;
      records[index] = readOne(commitLog, physicalOffset, size);
      continue;
    }
    const segment = commitLog.segmentContaining(physicalOffset);
    if (segment === null) {
      current = null;
      continue;
    }
    const relative = physicalOffset - segment.startOffset;
    if (size < MIN_RECORD_BYTES || relative + size > commitLog.segmentSizeBytes) {
      current = null;
      records[index] = new TideError('STORE_CORRUPT', `record at physical offset ${physicalOffset} has impossible size ${size}`);
      continue;
    }
    const end = physicalOffset + size;
    if (current !== null && current.segment === segment && physicalOffset >= current.end && physicalOffset - current.end <= Math.max(size, maxGapBytes) && end - current.start <= MAX_SPAN_BYTES) {
      current.last = index + 1;
      current.end = end;
      current.usefulBytes += size;
    } else {
      current = { segment, first: index, last: index + 1, start: physicalOffset, end, usefulBytes: size };
      runs.push(current);
    }
  }
  return runs;
}

function readOne(commitLog: CommitLog, physicalOffset: number, size: number): WindowRecord {
  try {
    return commitLog.readRecordOfSize(physicalOffset, size);
  } catch (error) {
    if (isTideError(error, 'STORE_CORRUPT')) return error;
    throw error;
  }
}

/** Cuts a run's records out of the span read for it, verifying each. */
function takeRun(run: Run, span: Buffer, bytesRead: number, window: PullWindow, records: WindowRecord[]): void {
  const copy = run.usefulBytes * 2 < span.length;
  for (let index = run.first; index < run.last; index++) {
    const physicalOffset = window.physicalOffsets[index]!;
    const size = window.sizes[index]!;
    const relative = physicalOffset - run.start;
    const view = relative === 0 && size === span.length ? span : span.subarray(relative, relative + size);
    const problem = relative + size > bytesRead ? 'short read' : verifyRecord(view, physicalOffset);
    if (problem !== null) records[index] = new TideError('STORE_CORRUPT', `record at physical offset ${physicalOffset} is corrupt: ${problem}`);
    else records[index] = copy ? Buffer.from(view) : view;
  }
}
