/**
 * The checks the RocketMQ proxy applies to gRPC input before anything reaches the broker, each failing
 * with the Code the clients expect: topic and group names (system topics and groups are off limits),
 * tags, keys, message groups, invisible times.
 */
import { GROUP_NAME_MAX_LENGTH, isValidName } from '../../common/names.js';
import type { TopicConfigManager } from '../../broker/topic-config-manager.js';
import { isValidTopicName } from '../../broker/topic-config-manager.js';
import { isNotAllowedSendTopic, SystemTopic } from '../../broker/topic-names.js';
import { Code, StatusError } from './code.js';
import type { Resource } from './proto-types.js';

const SYSTEM_GROUP_PREFIX = 'CID_RMQ_SYS_';
const SYSTEM_TOPICS: ReadonlySet<string> = new Set(Object.values(SystemTopic));

/** Java's CharMatcher.javaIsoControl: U+0000–U+001F and U+007F–U+009F. */
export function hasControlCharacter(text: string): boolean {
  for (let index = 0; index < text.length; index++) {
    const char = text.charCodeAt(index);
    if (char <= 0x1f || (char >= 0x7f && char <= 0x9f)) return true;
  }
  return false;
}

export function validateTopic(resource: Resource | null | undefined, topics: TopicConfigManager): string {
  const name = resource?.name ?? '';
  if (name.trim().length === 0) throw new StatusError(Code.ILLEGAL_TOPIC, 'The specified topic is blank');
  if (!isValidTopicName(name)) {
    throw new StatusError(Code.ILLEGAL_TOPIC, `The specified topic ${JSON.stringify(String(name).slice(0, 200))} is invalid: use 1-127 characters of ^[%|a-zA-Z0-9_-]+$`);
  }
  if (SYSTEM_TOPICS.has(name) || topics.isSystemTopic(name) || isNotAllowedSendTopic(name)) {
    throw new StatusError(Code.ILLEGAL_TOPIC, `cannot access system topic ${name}`);
  }
  return name;
}

export function validateGroup(resource: Resource | null | undefined): string {
  const name = resource?.name ?? '';
  if (name.trim().length === 0) throw new StatusError(Code.ILLEGAL_CONSUMER_GROUP, 'the specified group is blank');
  if (!isValidName(name, GROUP_NAME_MAX_LENGTH)) {
    throw new StatusError(Code.ILLEGAL_CONSUMER_GROUP, `the specified group ${JSON.stringify(String(name).slice(0, 200))} is invalid: use 1-${GROUP_NAME_MAX_LENGTH} characters of ^[%|a-zA-Z0-9_-]+$`);
  }
  if (name.startsWith(SYSTEM_GROUP_PREFIX)) throw new StatusError(Code.ILLEGAL_CONSUMER_GROUP, 'cannot use system consumer group');
  return name;
}

export function validateTag(tag: string): void {
  if (tag.length === 0) return;
  if (tag.trim().length === 0) throw new StatusError(Code.ILLEGAL_MESSAGE_TAG, 'tag cannot be the char sequence of whitespace');
  if (tag.includes('|')) throw new StatusError(Code.ILLEGAL_MESSAGE_TAG, "tag cannot contain '|'");
  if (hasControlCharacter(tag)) throw new StatusError(Code.ILLEGAL_MESSAGE_TAG, 'tag cannot contain control character');
}

export function validateKey(key: string): void {
  if (key.length === 0) return;
  if (key.trim().length === 0) throw new StatusError(Code.ILLEGAL_MESSAGE_KEY, 'key cannot be the char sequence of whitespace');
  if (hasControlCharacter(key)) throw new StatusError(Code.ILLEGAL_MESSAGE_KEY, 'key cannot contain control character');
  // KEYS is stored as one space-separated property: a space inside a key would split it in two.
  if (key.includes(' ')) throw new StatusError(Code.ILLEGAL_MESSAGE_KEY, 'key cannot contain a space');
}

export function validateMessageGroup(group: string, maxBytes: number): void {
  if (group.length === 0) return;
  if (group.trim().length === 0) throw new StatusError(Code.ILLEGAL_MESSAGE_GROUP, 'message group cannot be the char sequence of whitespace');
  if (Buffer.byteLength(group, 'utf8') >= maxBytes) throw new StatusError(Code.ILLEGAL_MESSAGE_GROUP, `message group exceed the max size ${maxBytes}`);
  if (hasControlCharacter(group)) throw new StatusError(Code.ILLEGAL_MESSAGE_GROUP, 'message group cannot contain control character');
}

export function validateInvisibleTime(invisibleTimeMs: number, minMs: number, maxMs: number): void {
  if (!Number.isFinite(invisibleTimeMs) || invisibleTimeMs < minMs) {
    throw new StatusError(Code.ILLEGAL_INVISIBLE_TIME, `the invisibleTime is too small. min is ${minMs}`);
  }
  if (maxMs > 0 && invisibleTimeMs > maxMs) {
    throw new StatusError(Code.ILLEGAL_INVISIBLE_TIME, `the invisibleTime is too large. max is ${maxMs}`);
  }
}
