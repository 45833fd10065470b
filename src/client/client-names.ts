/**
 * Topic and group name checks (common/names.ts) with failures reported as the client's errors, so a
 * caller sees one error tree whatever went wrong.
 */
import { TideError } from '../common/errors.js';
import { SYSTEM_TOPIC_NAME_MAX_LENGTH, validateGroupName, validateTopicName } from '../common/names.js';
import { MQClientError } from './client-errors.js';

function rethrow(error: unknown): never {
  if (error instanceof TideError) throw new MQClientError(error.code, error.message, { cause: error });
  throw error;
}

/** A user topic, or (starting with `%`) a retry / DLQ topic, which may be longer. */
export function checkTopic(topic: string): string {
  try {
    return validateTopicName(topic, typeof topic === 'string' && topic.startsWith('%') ? SYSTEM_TOPIC_NAME_MAX_LENGTH : undefined);
  } catch (error) {
    return rethrow(error);
  }
}

export function checkGroup(group: string): string {
  try {
    return validateGroupName(group);
  } catch (error) {
    return rethrow(error);
  }
}
