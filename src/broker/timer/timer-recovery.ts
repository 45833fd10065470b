/**
 * Bringing the timer back at start, from `<root>/timer/`:
 *
 * 1. The checkpoint (timer-checkpoint.ts) gives deliveredUpToMs D, intentUpToMs I and the enqueue
 *    offset. Without one (first start, or the file was lost) the timer log is discarded and every
 *    message still in the timer topic's consume queue is taken in again, each checked against its
 *    real topic before delivery (recheckBelowQueueOffset), so nothing is delivered twice.
 * 2. The wheel comes from its snapshot (timer-wheel.ts) and the log records after the snapshot's
 *    position are replayed into it; without a usable snapshot the whole log is replayed. Records of
 *    slots already delivered (before D's slot) are not linked.
 * 3. The log is cut at the first bad record (a torn append) and before any record whose parked
 *    message is no longer in the consume queue (the commit log lost its unflushed tail); after a cut
 *    the replay runs again, because the wheel may point past the cut.
 * 4. The enqueue offset is the larger of the checkpoint's and one past the last record's, so
 *    nothing is taken into the log twice.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../../common/logger.js';
import { unlinkIfExists } from '../../store/durable-fs.js';
import type { MessageStoreApi } from '../../store/types.js';
import { readTimerCheckpoint, type TimerCheckpoint } from './timer-checkpoint.js';
import { TimerLog } from './timer-log.js';
import { TIMER_TOPIC } from './timer-properties.js';
import { wheelSlotCount, type TimerSettings } from './timer-settings.js';
import { TimerWheel, type WheelSnapshot } from './timer-wheel.js';

export const TimerFiles = {
  checkpoint: 'timercheck',
  wheel: 'timerwheel',
  log: 'timerlog',
  recalls: 'recalls',
} as const;

export interface RecoveredTimer {
  log: TimerLog;
  wheel: TimerWheel;
  /** The state to continue from; intentUpToMs is the old intent (entries below it get checked). */
  checkpoint: TimerCheckpoint;
  /** What recovery did, for the log line. */
  report: { checkpointFound: boolean; snapshotUsed: boolean; replayedRecords: number; cutAt: number | null };
}

export interface TimerRecoveryOptions {
  directory: string;
  settings: TimerSettings;
  store: MessageStoreApi;
  nowMs: number;
  logger: Logger;
}

function readSnapshot(path: string, slotMs: number, minimumSlots: number): WheelSnapshot | null {
  try {
    return TimerWheel.decodeSnapshot(readFileSync(path), slotMs, minimumSlots);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

/** Slots needed so every live record of the log fits in the ring (a full replay may meet a smaller setting). */
function requiredSlots(log: TimerLog, doneBeforeMs: number, slotMs: number): number {
  let latestMs = doneBeforeMs;
  log.scan(log.startPosition, (record) => {
    if (record.effectiveMs > latestMs) latestMs = record.effectiveMs;
  });
  return Math.ceil((latestMs - doneBeforeMs) / slotMs) + 2;
}

export function recoverTimer(options: TimerRecoveryOptions): RecoveredTimer {
  const { directory, settings, store, nowMs, logger } = options;
  mkdirSync(directory, { recursive: true });
  const log = TimerLog.open(join(directory, TimerFiles.log), settings.timerLogSegmentBytes);
  const queueMin = store.getMinOffsetInQueue(TIMER_TOPIC, 0);
  const queueMax = store.getMaxOffsetInQueue(TIMER_TOPIC, 0);
  const found = readTimerCheckpoint(join(directory, TimerFiles.checkpoint));
  let checkpoint: TimerCheckpoint;
  if (found === null) {
    if (log.endPosition > log.startPosition) {
      logger.warn({ directory }, 'timer checkpoint missing or damaged: rebuilding the timer from the timer topic, checking every message before delivery');
      log.truncate(log.startPosition);
    }
    unlinkIfExists(join(directory, TimerFiles.wheel));
    checkpoint = { deliveredUpToMs: nowMs, intentUpToMs: nowMs + 1, enqueueOffset: queueMin, recheckBelowQueueOffset: queueMax };
  } else {
    checkpoint = { ...found, enqueueOffset: Math.max(found.enqueueOffset, queueMin) };
  }

  const minimumSlots = wheelSlotCount(settings);
  let useSnapshot = found !== null;
  let cutAt: number | null = null;
  for (;;) {
    // Read afresh on every pass: a pass links records into the snapshot's wheel.
    let snapshot = useSnapshot ? readSnapshot(join(directory, TimerFiles.wheel), settings.timerSlotMs, minimumSlots) : null;
    if (snapshot !== null && snapshot.coveredPosition > log.endPosition) snapshot = null;
    const doneBeforeMs = Math.floor(checkpoint.deliveredUpToMs / settings.timerSlotMs) * settings.timerSlotMs;
    let wheel: TimerWheel;
    let from: number;
    if (snapshot !== null) {
      wheel = snapshot.wheel;
      from = Math.max(snapshot.coveredPosition, log.startPosition);
      for (const segment of snapshot.segments) log.setSegmentMaxEffectiveMs(segment.start, segment.maxEffectiveMs);
    } else {
      wheel = new TimerWheel(Math.max(minimumSlots, requiredSlots(log, doneBeforeMs, settings.timerSlotMs)), settings.timerSlotMs);
      from = log.startPosition;
    }
    let lastQueueOffset = -1;
    let badAt = -1;
    let replayedRecords = 0;
    const end = log.scan(from, (record, position) => {
      if (badAt >= 0) return;
      if (record.queueOffset >= queueMax || record.physicalOffset < 0 || record.size <= 0) {
        badAt = position;
        return;
      }
      if (record.effectiveMs >= doneBeforeMs) wheel.link(record.effectiveMs, position);
      if (record.queueOffset > lastQueueOffset) lastQueueOffset = record.queueOffset;
      replayedRecords++;
    });
    const cut = badAt >= 0 ? Math.min(badAt, end) : end;
    if (cut < log.endPosition) {
      logger.warn({ cutAt: cut, end: log.endPosition }, 'timer log cut at a torn or orphaned record; its messages are taken in again from the timer topic');
      log.truncate(cut);
      cutAt = cut;
      if (snapshot !== null && cut < snapshot.coveredPosition) useSnapshot = false;
      continue;
    }
    checkpoint.enqueueOffset = Math.max(checkpoint.enqueueOffset, lastQueueOffset + 1);
    return { log, wheel, checkpoint, report: { checkpointFound: found !== null, snapshotUsed: snapshot !== null, replayedRecords, cutAt } };
  }
}
