/**
 * The general decoder for JSON remoting headers (serializeType 0): JSON.parse, then field checks. It
 * alone decides what is malformed; json-header-scanner.ts is a faster path that hands anything unusual
 * over to it and must agree with it on everything it accepts.
 *
 * JSON header: an object with `code`, `language`, `version`, `opaque`, `flag`, `remark`, `extFields`
 * (string → string) and `serializeTypeCurrentRPC`. `code` and `opaque` are required int32s, `flag` and
 * `version` optional int32s (default 0), `language` defaults to OTHER. On input every scalar in
 * `extFields` becomes a string (ali-ons sends raw numbers and booleans), nulls are dropped, and nested
 * objects or arrays make the header malformed (TideError FRAME_MALFORMED).
 */
import type { RemotingCommand } from './remoting-command.js';
import { isInt32, malformedFrame } from './remoting-frame.js';

function optionalInt32(header: Record<string, unknown>, field: string, fallback: number): number {
  const value = header[field];
  if (value === undefined || value === null) return fallback;
  if (!isInt32(value)) throw malformedFrame(`header field ${field} is not a 32-bit integer`);
  return value;
}

/**
 * The general JSON header decoder: JSON.parse, then field checks. It alone decides what is malformed;
 * the scanner only ever hands over. Exported for the differential tests and the benchmark only.
 */
export function parseJsonHeader(frame: Buffer, start: number, end: number): RemotingCommand {
  let parsed: unknown;
  try {
    parsed = JSON.parse(frame.toString('utf8', start, end));
  } catch {
    throw malformedFrame('header is not valid JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw malformedFrame('header is not a JSON object');
  const header = parsed as Record<string, unknown>;
  const code = header.code;
  if (!isInt32(code)) throw malformedFrame('header field code is missing or not a 32-bit integer');
  const opaque = header.opaque;
  if (!isInt32(opaque)) throw malformedFrame('header field opaque is missing or not a 32-bit integer');
  const flag = optionalInt32(header, 'flag', 0);
  const version = optionalInt32(header, 'version', 0);
  let language = header.language;
  if (language === undefined || language === null) language = 'OTHER';
  else if (typeof language !== 'string') throw malformedFrame('header field language is not a string');
  const remark = header.remark;
  if (remark !== undefined && remark !== null && typeof remark !== 'string') throw malformedFrame('header field remark is not a string');
  const extFields = header.extFields;
  let fields: Record<string, string> | undefined;
  if (extFields !== undefined && extFields !== null) {
    if (typeof extFields !== 'object' || Array.isArray(extFields)) throw malformedFrame('header field extFields is not an object');
    fields = normalizeExtFields(extFields as Record<string, unknown>);
  }
  return {
    code,
    language: language as string,
    version,
    opaque,
    flag,
    remark: remark === null ? undefined : (remark as string | undefined),
    extFields: fields,
    body: undefined,
  };
}

/**
 * Turns numbers and booleans into strings and drops nulls, in place: the object came from JSON.parse
 * and is ours. Java senders only send strings, so usually nothing changes and nothing is copied.
 * Assigning to an own `__proto__` key written by JSON.parse sets that data property, not the prototype.
 */
function normalizeExtFields(fields: Record<string, unknown>): Record<string, string> {
  for (const key in fields) {
    const value = fields[key];
    if (typeof value === 'string') continue;
    if (value === null) delete fields[key];
    else if (typeof value === 'number' || typeof value === 'boolean') fields[key] = String(value);
    else throw malformedFrame(`extFields.${key.slice(0, 64)} is not a scalar`);
  }
  return fields as Record<string, string>;
}
