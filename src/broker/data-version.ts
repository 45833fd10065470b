/**
 * RocketMQ's DataVersion: the name server and the admin tools compare it to see whether a broker's
 * topic or group table changed. `counter` goes up on every change; `timestamp` is the change time.
 */
import { createDataVersion, type DataVersion } from '../protocol/route-data.js';

export type { DataVersion } from '../protocol/route-data.js';

export function newDataVersion(nowMs: number = Date.now()): DataVersion {
  return createDataVersion(nowMs);
}

export function nextDataVersion(version: DataVersion, nowMs: number = Date.now()): DataVersion {
  return { stateVersion: version.stateVersion, timestamp: nowMs, counter: version.counter + 1 };
}

export function parseDataVersion(value: unknown): DataVersion | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const record = value as Record<string, unknown>;
  const counter = Number(record.counter);
  const timestamp = Number(record.timestamp);
  const stateVersion = Number(record.stateVersion ?? 0);
  if (!Number.isFinite(counter) || !Number.isFinite(timestamp) || !Number.isFinite(stateVersion)) return undefined;
  return { stateVersion, timestamp, counter };
}
