/**
 * Reading RocketMQ custom-header fields from a request's extFields. Every value arrives as a string (the
 * codec turns ali-ons' raw JSON numbers and booleans into strings); a missing required field or a value
 * that is not what Java would parse is an INVALID_PARAMETER answer naming the field, never a crash.
 */
import { TideError } from '../common/errors.js';
import type { RemotingCommand } from '../protocol/remoting-command.js';

export type HeaderFields = Readonly<Record<string, string>>;

const EMPTY: HeaderFields = Object.freeze({});

export function fieldsOf(request: RemotingCommand): HeaderFields {
  return request.extFields ?? EMPTY;
}

function missing(name: string): TideError {
  return new TideError('INVALID_PARAMETER', `the custom field <${name}> is null`);
}

export function requiredString(fields: HeaderFields, name: string): string {
  const value = fields[name];
  if (value === undefined || value === null) throw missing(name);
  return value;
}

export function optionalString(fields: HeaderFields, name: string): string | undefined {
  const value = fields[name];
  return value === undefined || value === null ? undefined : value;
}

function parseInteger(name: string, value: string): number {
  const text = value.trim();
  if (!/^[-+]?\d+$/.test(text)) throw new TideError('INVALID_PARAMETER', `the custom field <${name}> is not an integer: ${JSON.stringify(value.slice(0, 64))}`);
  const number = Number(text);
  if (!Number.isSafeInteger(number)) throw new TideError('INVALID_PARAMETER', `the custom field <${name}> is out of range: ${text}`);
  return number;
}

export function requiredInteger(fields: HeaderFields, name: string): number {
  return parseInteger(name, requiredString(fields, name));
}

/**
 * A time bound in ms. Java tools send Long.MAX_VALUE (and Long.MIN_VALUE) as "no bound", which is past
 * 2^53, so such values are clamped to the safe-integer range instead of refused.
 */
export function requiredTimestamp(fields: HeaderFields, name: string): number {
  const text = requiredString(fields, name).trim();
  if (!/^[-+]?\d+$/.test(text)) throw new TideError('INVALID_PARAMETER', `the custom field <${name}> is not an integer: ${JSON.stringify(text.slice(0, 64))}`);
  const number = Number(text);
  if (number > Number.MAX_SAFE_INTEGER) return Number.MAX_SAFE_INTEGER;
  if (number < Number.MIN_SAFE_INTEGER) return Number.MIN_SAFE_INTEGER;
  return number;
}

export function optionalInteger(fields: HeaderFields, name: string): number | undefined {
  const value = optionalString(fields, name);
  return value === undefined || value.trim() === '' ? undefined : parseInteger(name, value);
}

/** Java's Boolean.parseBoolean: only `true` (any case) is true. */
export function optionalBoolean(fields: HeaderFields, name: string): boolean | undefined {
  const value = optionalString(fields, name);
  return value === undefined ? undefined : value.trim().toLowerCase() === 'true';
}

export function requiredBoolean(fields: HeaderFields, name: string): boolean {
  const value = optionalBoolean(fields, name);
  if (value === undefined) throw missing(name);
  return value;
}
