/**
 * RocketMQ 4.x delay levels: `messageDelayLevel` lists durations separated by spaces (`1s 5s 10s 30s 1m
 * ... 2h`); level N (1-based) waits the N-th duration. Units: ms, s, m, h, d.
 */
import { TideError } from '../../common/errors.js';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Returns the delay of each level in ms (index 0 = level 1). */
export function parseDelayLevels(text: string): number[] {
  const levels: number[] = [];
  for (const part of text.trim().split(/\s+/)) {
    if (part === '') continue;
    const match = /^(\d+)(ms|s|m|h|d)$/.exec(part);
    if (!match) throw new TideError('INVALID_PARAMETER', `messageDelayLevel entry ${JSON.stringify(part)} is not a duration like 10s, 5m or 2h`);
    levels.push(Number(match[1]) * UNIT_MS[match[2]!]!);
  }
  if (levels.length === 0) throw new TideError('INVALID_PARAMETER', 'messageDelayLevel lists no delay level');
  return levels;
}
