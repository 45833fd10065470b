/**
 * Settings of the timer (RocketMQ 5.x timer messages). The keys are read from the broker config object
 * when it has them (broker.conf names; `timerMaxDelaySec` and `timerWheelEnable` are RocketMQ's own),
 * otherwise these defaults apply. TideMQ's horizon default is 40 days, longer than RocketMQ's 3 days.
 * The slot width and the log segment size shape the files on disk, so they are not broker settings
 * (a change would orphan the log's slot chains); only tests and benchmarks override them.
 */
import { TideError } from '../../common/errors.js';

export interface TimerSettings {
  /** Timer messages are accepted (false: refused with SYSTEM_ERROR, as RocketMQ does). */
  timerWheelEnable: boolean;
  /** The furthest delivery time accepted, in seconds from now (3,456,000 = 40 days). */
  timerMaxDelaySec: number;
  /** How often the timer looks for due messages, in ms. */
  timerTickIntervalMs: number;
  /** Width of one wheel slot, in ms. */
  timerSlotMs: number;
  /** Slots are read from the timer log into memory this many ms before they are due. */
  timerLookaheadMs: number;
  /**
   * A message due further out than this is copied forward in the timer topic when this much time has
   * passed, so its commit-log record never ages out under retention. Capped at a third of
   * fileReservedTime when the config has it.
   */
  timerRollWindowMs: number;
  /** Timer log, progress and intent are made durable this often, in ms. */
  timerFlushIntervalMs: number;
  /** The wheel's slot table is snapshotted this often, in ms (recovery replays the log after it). */
  timerWheelSnapshotIntervalMs: number;
  /** Most messages delivered per tick; a full tick is followed by another at once. */
  timerMaxDeliveriesPerTick: number;
  /** Most parked messages taken into the timer log per tick. */
  timerMaxEnqueuePerTick: number;
  /** Most entries held in memory; slot loading pauses past it. */
  timerMaxLoadedEntries: number;
  /** Bytes per timer-log segment file (a multiple of the 64-byte record). */
  timerLogSegmentBytes: number;
  /** Most recalled messages waiting for their delivery time; past it RECALL_MESSAGE answers SYSTEM_BUSY. */
  timerMaxPendingRecalls: number;
}

export const DEFAULT_TIMER_SETTINGS: TimerSettings = {
  timerWheelEnable: true,
  timerMaxDelaySec: 3_456_000,
  timerTickIntervalMs: 100,
  timerSlotMs: 1000,
  timerLookaheadMs: 2000,
  timerRollWindowMs: 24 * 3_600_000,
  timerFlushIntervalMs: 500,
  timerWheelSnapshotIntervalMs: 10_000,
  timerMaxDeliveriesPerTick: 2000,
  timerMaxEnqueuePerTick: 10_000,
  timerMaxLoadedEntries: 200_000,
  timerLogSegmentBytes: 64 * 1024 * 1024,
  timerMaxPendingRecalls: 100_000,
};

const KEYS = Object.keys(DEFAULT_TIMER_SETTINGS) as (keyof TimerSettings)[];
/** Settings that shape the files: from `overrides` only, never from the broker config. */
const FILE_LAYOUT_KEYS: ReadonlySet<keyof TimerSettings> = new Set(['timerSlotMs', 'timerLogSegmentBytes']);

function toNumber(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && /^\s*\d+\s*$/.test(value)) return Number(value);
  return undefined;
}

/**
 * Timer settings from a broker config object (any object with some of the keys; strings from a
 * properties file are accepted), then `overrides`. Throws INVALID_PARAMETER for a bad value.
 */
export function readTimerSettings(config: object | undefined, overrides: Partial<TimerSettings> = {}): TimerSettings {
  const source = (config ?? {}) as Record<string, unknown>;
  const settings: TimerSettings = { ...DEFAULT_TIMER_SETTINGS };
  for (const key of KEYS) {
    const raw = key in overrides ? overrides[key] : FILE_LAYOUT_KEYS.has(key) ? undefined : source[key];
    if (raw === undefined || raw === null) continue;
    if (key === 'timerWheelEnable') {
      settings.timerWheelEnable = raw === true || (typeof raw === 'string' && raw.trim().toLowerCase() === 'true');
      continue;
    }
    const value = toNumber(raw);
    if (value === undefined || !Number.isSafeInteger(value) || value <= 0) {
      throw new TideError('INVALID_PARAMETER', `timer setting ${key} must be a positive integer, got ${JSON.stringify(raw)}`);
    }
    settings[key] = value;
  }
  // Copies must happen well inside retention; fileReservedTime is in hours.
  const reservedHours = toNumber(source.fileReservedTime);
  if (!('timerRollWindowMs' in overrides) && reservedHours !== undefined && reservedHours > 0) {
    settings.timerRollWindowMs = Math.min(settings.timerRollWindowMs, Math.max(60_000, Math.floor((reservedHours * 3_600_000) / 3)));
  }
  if (settings.timerLogSegmentBytes % 64 !== 0) {
    throw new TideError('INVALID_PARAMETER', `timerLogSegmentBytes must be a multiple of 64, got ${settings.timerLogSegmentBytes}`);
  }
  if (settings.timerRollWindowMs < settings.timerSlotMs * 4) {
    throw new TideError('INVALID_PARAMETER', `timerRollWindowMs (${settings.timerRollWindowMs}) must span at least four slots of timerSlotMs (${settings.timerSlotMs})`);
  }
  return settings;
}

/** Slots in the wheel: the roll window plus an hour of slack for a delivery backlog. */
export function wheelSlotCount(settings: TimerSettings): number {
  return Math.ceil((settings.timerRollWindowMs + 3_600_000) / settings.timerSlotMs) + 2;
}
