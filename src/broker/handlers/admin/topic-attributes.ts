/**
 * Topic attributes as UPDATE_AND_CREATE_TOPIC carries them: a comma-separated modification list,
 * `+key=value` to add or change and `-key` to delete (`+message.type=FIFO,+k=v,-old`). A new topic may
 * only add; deleting a key the topic does not have is an error, as in Java. Values of the attributes
 * RocketMQ defines are checked against their allowed values; other keys pass through unchanged, so
 * tools can keep their own metadata on a topic.
 */
import { TideError } from '../../../common/errors.js';

/** Attributes RocketMQ 5.x defines on topics, with their allowed values. */
const KNOWN_ATTRIBUTE_VALUES: ReadonlyMap<string, readonly string[]> = new Map([
  ['message.type', ['UNSPECIFIED', 'NORMAL', 'FIFO', 'DELAY', 'TRANSACTION', 'MIXED']],
  ['queue.type', ['BatchCQ', 'SimpleCQ']],
  ['cleanup.policy', ['DELETE', 'COMPACTION']],
]);

/** Starts with a letter, which also keeps `__proto__` out of the attribute object. */
const KEY_PATTERN = /^[A-Za-z][A-Za-z0-9._]*$/;
/** Keeps a header from turning into an unbounded topic record. */
const MAX_ATTRIBUTES = 64;
const MAX_VALUE_LENGTH = 1024;

export interface AttributeChange {
  key: string;
  /** undefined = delete. */
  value: string | undefined;
}

function invalid(reason: string): TideError {
  return new TideError('INVALID_PARAMETER', `the custom field <attributes> is invalid: ${reason}`);
}

/** Parses `+k=v,-k` into changes; blank → none. */
export function parseAttributeChanges(text: string | undefined): AttributeChange[] {
  if (text === undefined || text.trim() === '') return [];
  const changes: AttributeChange[] = [];
  const seen = new Set<string>();
  for (const rawItem of text.split(',')) {
    const item = rawItem.trim();
    const sign = item[0];
    let key: string;
    let value: string | undefined;
    if (sign === '+') {
      const equals = item.indexOf('=');
      if (equals < 0) throw invalid(`${JSON.stringify(item)} must be +key=value`);
      key = item.slice(1, equals);
      value = item.slice(equals + 1);
      if (value.includes('=')) throw invalid(`${JSON.stringify(item)} has more than one '='`);
      if (value.length > MAX_VALUE_LENGTH) throw invalid(`the value of ${key} is longer than ${MAX_VALUE_LENGTH} characters`);
      const allowed = KNOWN_ATTRIBUTE_VALUES.get(key);
      if (allowed !== undefined && !allowed.includes(value)) {
        throw invalid(`${key}=${JSON.stringify(value)} is not one of ${allowed.join(', ')}`);
      }
    } else if (sign === '-') {
      if (item.includes('=')) throw invalid(`${JSON.stringify(item)} must be -key (no value)`);
      key = item.slice(1);
      value = undefined;
    } else {
      throw invalid(`${JSON.stringify(item)} must start with + (add or change) or - (delete)`);
    }
    if (!KEY_PATTERN.test(key)) throw invalid(`key ${JSON.stringify(key)} must start with a letter and have only letters, digits, '.' and '_'`);
    if (seen.has(key)) throw invalid(`key ${key} appears twice`);
    seen.add(key);
    changes.push({ key, value });
  }
  if (changes.length > MAX_ATTRIBUTES) throw invalid(`more than ${MAX_ATTRIBUTES} attributes`);
  return changes;
}

/**
 * The attributes after applying `changes` to `current` (undefined = the topic is being created).
 * Throws INVALID_PARAMETER on a delete while creating or a delete of a missing key.
 */
export function applyAttributeChanges(current: Readonly<Record<string, string>> | undefined, changes: readonly AttributeChange[]): Record<string, string> {
  const result: Record<string, string> = { ...(current ?? {}) };
  for (const change of changes) {
    if (change.value === undefined) {
      if (current === undefined) throw invalid(`only additions are allowed while creating a topic (got -${change.key})`);
      if (!Object.prototype.hasOwnProperty.call(result, change.key)) throw invalid(`cannot delete ${change.key}: the topic has no such attribute`);
      delete result[change.key];
    } else {
      result[change.key] = change.value;
    }
  }
  if (Object.keys(result).length > MAX_ATTRIBUTES) throw invalid(`a topic may have at most ${MAX_ATTRIBUTES} attributes`);
  return result;
}
