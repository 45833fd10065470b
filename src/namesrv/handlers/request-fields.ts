/**
 * Reading request header fields (extFields, every value a string) with the checks RocketMQ's
 * `@CFNotNull` annotations imply. A missing or malformed field is a TideError('INVALID_PARAMETER')
 * whose message names the field; the handler table turns it into a response code 29.
 */
import { ResponseCode, TideError } from '../../common/errors.js';
import { SYSTEM_TOPIC_NAME_MAX_LENGTH, validateTopicName } from '../../common/names.js';
import { createResponse, type RemotingCommand } from '../../protocol/remoting-command.js';

/** Longest cluster, broker or namespace name accepted in a header. */
export const MAX_NAME_LENGTH = 255;

function missing(name: string): never {
  throw new TideError('INVALID_PARAMETER', `the request header field ${name} is missing`);
}

export function optionalField(request: RemotingCommand, name: string): string | undefined {
  const fields = request.extFields;
  if (fields === undefined || !Object.prototype.hasOwnProperty.call(fields, name)) return undefined;
  const value = fields[name];
  return typeof value === 'string' ? value : undefined;
}

/** A required field; empty counts as missing unless `allowEmpty`. */
export function requireField(request: RemotingCommand, name: string, options: { allowEmpty?: boolean; maxLength?: number } = {}): string {
  const value = optionalField(request, name);
  if (value === undefined || (value.length === 0 && options.allowEmpty !== true)) missing(name);
  const maxLength = options.maxLength ?? MAX_NAME_LENGTH;
  if (value.length > maxLength) throw new TideError('INVALID_PARAMETER', `the request header field ${name} is longer than ${maxLength} characters`);
  return value;
}

function parseInteger(name: string, text: string): number {
  const value = /^-?\d{1,19}$/.test(text.trim()) ? Number(text.trim()) : Number.NaN;
  if (!Number.isSafeInteger(value)) throw new TideError('INVALID_PARAMETER', `the request header field ${name} must be an integer, got ${JSON.stringify(text.slice(0, 40))}`);
  return value;
}

export function requireInteger(request: RemotingCommand, name: string): number {
  return parseInteger(name, requireField(request, name));
}

export function optionalInteger(request: RemotingCommand, name: string): number | undefined {
  const text = optionalField(request, name);
  return text === undefined || text.length === 0 ? undefined : parseInteger(name, text);
}

/** Java parses booleans leniently: only a case-insensitive `true` is true. */
export function optionalBoolean(request: RemotingCommand, name: string): boolean | undefined {
  const text = optionalField(request, name);
  if (text === undefined || text.length === 0) return undefined;
  return text.trim().toLowerCase() === 'true';
}

/** A topic name checked against the file-system-safe pattern (system topics may be longer). */
export function requireTopic(request: RemotingCommand, name = 'topic'): string {
  return validateTopicName(requireField(request, name, { maxLength: SYSTEM_TOPIC_NAME_MAX_LENGTH }), SYSTEM_TOPIC_NAME_MAX_LENGTH);
}

/** `host:port` with a port in range; brokers register themselves under this form. */
export function requireAddress(request: RemotingCommand, name: string): string {
  const address = requireField(request, name);
  const colon = address.lastIndexOf(':');
  const port = colon > 0 ? Number(address.slice(colon + 1)) : Number.NaN;
  if (!Number.isInteger(port) || port < 0 || port > 65_535 || /\s/.test(address)) {
    throw new TideError('INVALID_PARAMETER', `the request header field ${name} must be host:port, got ${JSON.stringify(address.slice(0, 80))}`);
  }
  return address;
}

export function success(request: RemotingCommand, extFields?: Record<string, string>, body?: Buffer): RemotingCommand {
  return createResponse(request, ResponseCode.SUCCESS, undefined, extFields, body);
}
