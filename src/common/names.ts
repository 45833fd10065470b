/**
 * Validation of topic and group names before they reach the file system. A name that passes has only
 * [A-Za-z0-9%|_-], so it can never be `.`, `..`, contain a separator, or leave the store directory
 * (RocketMQ's CVE-2019-17572 was a topic named `../x`).
 */
import { TideError } from './errors.js';

const NAME_PATTERN = /^[A-Za-z0-9%|_-]+$/;
/** User topics are limited to 127 characters (the V1 record's one-byte topic length). */
export const TOPIC_NAME_MAX_LENGTH = 127;
/** Internal topics (`%RETRY%group`, `%DLQ%group`) may be longer: groups allow 255 characters. */
export const SYSTEM_TOPIC_NAME_MAX_LENGTH = 263;
export const GROUP_NAME_MAX_LENGTH = 255;

export function isValidName(name: unknown, maxLength: number): name is string {
  return typeof name === 'string' && name.length > 0 && name.length <= maxLength && NAME_PATTERN.test(name);
}

export function validateTopicName(topic: unknown, maxLength = TOPIC_NAME_MAX_LENGTH): string {
  if (!isValidName(topic, maxLength)) {
    const shown = typeof topic === 'string' ? JSON.stringify(topic.slice(0, 200)) : String(topic);
    throw new TideError(
      'TOPIC_NAME_INVALID',
      `topic ${shown} is invalid: use 1-${maxLength} characters of letters, digits, %, -, _ and |`,
    );
  }
  return topic;
}

export function validateGroupName(group: unknown): string {
  if (!isValidName(group, GROUP_NAME_MAX_LENGTH)) {
    const shown = typeof group === 'string' ? JSON.stringify(group.slice(0, 200)) : String(group);
    throw new TideError(
      'GROUP_NAME_INVALID',
      `group ${shown} is invalid: use 1-${GROUP_NAME_MAX_LENGTH} characters of letters, digits, %, -, _ and |`,
    );
  }
  return group;
}
