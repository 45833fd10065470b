/**
 * Helpers the admin handlers share: the MessageQueue key of fastjson's object-keyed maps, fastjson
 * bodies, and look-ups that turn a missing topic or group into the answer Java gives.
 */
import { TideError } from '../../../common/errors.js';
import { GROUP_NAME_MAX_LENGTH, isValidName } from '../../../common/names.js';
import { toFastJsonBuffer } from '../../../protocol/fastjson.js';
import type { TopicConfig } from '../../../protocol/route-data.js';
import type { BrokerDeps } from '../../broker-deps.js';
import { requiredString, type HeaderFields } from '../../header-fields.js';
import { validateTopic } from '../../topic-config-manager.js';

/**
 * Java's MessageQueue as it appears as a map key in TopicStatsTable, ConsumeStats and ResetOffsetBody.
 * toFastJson writes its fields sorted (brokerName, queueId, topic), the order fastjson uses.
 */
export interface MessageQueueKey {
  brokerName: string;
  queueId: number;
  topic: string;
}

export function messageQueueKey(brokerName: string, topic: string, queueId: number): MessageQueueKey {
  return { brokerName, queueId, topic };
}

/** A body in fastjson's dialect (Maps become object-keyed or unquoted-number-keyed maps). */
export function fastJsonBody(value: unknown): Buffer {
  return toFastJsonBuffer(value);
}

/** The `topic` header field, validated, of a topic this broker has; TOPIC_NOT_EXIST otherwise. */
export function existingTopic(deps: BrokerDeps, fields: HeaderFields, name = 'topic'): TopicConfig {
  const topic = validateTopic(requiredString(fields, name));
  const config = deps.topicConfigManager.get(topic);
  if (!config) throw new TideError('TOPIC_NOT_EXIST', `topic[${topic}] not exist`);
  return config;
}

/** A required group-name header field; INVALID_PARAMETER naming the field when malformed. */
export function requiredGroup(fields: HeaderFields, name: string): string {
  const group = requiredString(fields, name);
  if (!isValidName(group, GROUP_NAME_MAX_LENGTH)) {
    throw new TideError('GROUP_NAME_INVALID', `the custom field <${name}> is not a valid group name: ${JSON.stringify(String(group).slice(0, 200))}`);
  }
  return group;
}

/** Store time of the message at a queue offset, or 0 when there is none (Java reports 0 then). */
export function storeTimeAt(deps: BrokerDeps, topic: string, queueId: number, queueOffset: number): number {
  if (queueOffset < 0) return 0;
  const time = deps.store.getMessageStoreTime(topic, queueId, queueOffset);
  return time > 0 ? time : 0;
}

/** Number of queues a topic has on this broker (Java iterates max(read, write) for stats). */
export function queueCountOf(config: TopicConfig): number {
  return Math.max(config.readQueueNums, config.writeQueueNums);
}
