/**
 * Parsers for `tidemq admin` option values, in mqadmin's formats. Each throws commander's
 * InvalidArgumentError, so a bad value is reported as `error: option '…' argument '…' is invalid. <why>`
 * with exit code 1 before anything is sent.
 */
import { InvalidArgumentError } from 'commander';

export function nonNegativeInteger(value: string): number {
  const parsed = Number(value.trim());
  if (value.trim() === '' || !Number.isSafeInteger(parsed) || parsed < 0) throw new InvalidArgumentError('must be an integer ≥ 0');
  return parsed;
}

export function positiveInteger(value: string): number {
  const parsed = nonNegativeInteger(value);
  if (parsed === 0) throw new InvalidArgumentError('must be an integer ≥ 1');
  return parsed;
}

/** `true` or `false`, as mqadmin's boolean options take them. */
export function booleanText(value: string): boolean {
  const text = value.trim().toLowerCase();
  if (text === 'true') return true;
  if (text === 'false') return false;
  throw new InvalidArgumentError('must be true or false');
}

/** Topic permission: PermName bits, 2 = write, 4 = read, 6 = both (1 inherit, 8 priority may be added). */
export function permission(value: string): number {
  const parsed = nonNegativeInteger(value);
  if (parsed > 15) throw new InvalidArgumentError('must be PermName bits 0-15 (2 write, 4 read, 6 read+write)');
  return parsed;
}

/**
 * Topic attributes as mqadmin's `-a` takes them: `+key=value` items joined by commas
 * (`+message.type=FIFO`). Removal (`-key`) is not supported by updateTopic here.
 */
export function topicAttributes(value: string): Record<string, string> {
  const attributes: Record<string, string> = {};
  for (const raw of value.split(',')) {
    const item = raw.trim();
    if (item === '') continue;
    if (item.startsWith('-')) throw new InvalidArgumentError(`removing an attribute (${item}) is not supported; give +key=value items`);
    const body = item.startsWith('+') ? item.slice(1) : item;
    const separator = body.indexOf('=');
    if (separator <= 0 || separator === body.length - 1) throw new InvalidArgumentError(`${item} is not +key=value`);
    attributes[body.slice(0, separator).trim()] = body.slice(separator + 1).trim();
  }
  if (Object.keys(attributes).length === 0) throw new InvalidArgumentError('give at least one +key=value item');
  return attributes;
}

/** mqadmin's date format, local time: `yyyy-MM-dd#HH:mm:ss:SSS`. */
const DATE_PATTERN = /^(\d{4})-(\d{2})-(\d{2})#(\d{2}):(\d{2}):(\d{2}):(\d{3})$/;

/**
 * A point in time: milliseconds since the epoch, `yyyy-MM-dd#HH:mm:ss:SSS` (local time, as
 * mqadmin's resetOffsetByTime reads it), or `now`. `nowMs` is injectable for tests.
 */
export function parseTimestamp(value: string, nowMs: number = Date.now()): number {
  const text = value.trim();
  if (text === 'now') return nowMs;
  if (/^\d+$/.test(text)) {
    const parsed = Number(text);
    if (!Number.isSafeInteger(parsed)) throw new InvalidArgumentError('is too large for a millisecond timestamp');
    return parsed;
  }
  const match = DATE_PATTERN.exec(text);
  if (match === null) throw new InvalidArgumentError('must be a timestamp in ms, yyyy-MM-dd#HH:mm:ss:SSS or now');
  const [year, month, day, hours, minutes, seconds, millis] = match.slice(1).map(Number) as [number, number, number, number, number, number, number];
  const date = new Date(year, month - 1, day, hours, minutes, seconds, millis);
  // Date rolls 2024-02-30 over to March; a date that does not exist is a typo, not a wish.
  if (date.getFullYear() !== year || date.getMonth() !== month - 1 || date.getDate() !== day || hours > 23 || minutes > 59 || seconds > 59) {
    throw new InvalidArgumentError(`${text} is not a valid date and time`);
  }
  return date.getTime();
}

/** `parseTimestamp` with the current time, in the shape commander's option parsers have. */
export function timestampOption(value: string): number {
  return parseTimestamp(value);
}
