/**
 * Offset look-ups clients and tools use to position themselves: SEARCH_OFFSET_BY_TIMESTAMP (29), and
 * GET_MAX_OFFSET (30, the next offset to be written), GET_MIN_OFFSET (31), GET_EARLIEST_MSG_STORETIME (32).
 * `boundaryType` is sent as LOWER/UPPER; only a case-insensitive `upper` means upper, as in Java.
 */
import type { RequestHandler } from '../../protocol/remoting-command.js';
import type { BrokerDeps } from '../broker-deps.js';
import { fieldsOf, optionalString, requiredInteger, requiredString } from '../header-fields.js';
import { validateTopic } from '../topic-config-manager.js';
import { answer } from './handler-support.js';

function topicAndQueue(fields: Readonly<Record<string, string>>): { topic: string; queueId: number } {
  return { topic: validateTopic(requiredString(fields, 'topic')), queueId: requiredInteger(fields, 'queueId') };
}

export function createSearchOffsetByTimestampHandler(deps: BrokerDeps): RequestHandler {
  return (request) => {
    const fields = fieldsOf(request);
    const { topic, queueId } = topicAndQueue(fields);
    const timestamp = requiredInteger(fields, 'timestamp');
    const boundary = optionalString(fields, 'boundaryType')?.toLowerCase() === 'upper' ? 'upper' : 'lower';
    const offset = deps.store.getOffsetInQueueByTime(topic, queueId, timestamp, boundary);
    return answer(request, 0, undefined, { offset: String(offset) });
  };
}

export function createGetMaxOffsetHandler(deps: BrokerDeps): RequestHandler {
  return (request) => {
    const { topic, queueId } = topicAndQueue(fieldsOf(request));
    return answer(request, 0, undefined, { offset: String(deps.store.getMaxOffsetInQueue(topic, queueId)) });
  };
}

export function createGetMinOffsetHandler(deps: BrokerDeps): RequestHandler {
  return (request) => {
    const { topic, queueId } = topicAndQueue(fieldsOf(request));
    return answer(request, 0, undefined, { offset: String(deps.store.getMinOffsetInQueue(topic, queueId)) });
  };
}

export function createGetEarliestMessageStoreTimeHandler(deps: BrokerDeps): RequestHandler {
  return (request) => {
    const { topic, queueId } = topicAndQueue(fieldsOf(request));
    return answer(request, 0, undefined, { timestamp: String(deps.store.getEarliestMessageTime(topic, queueId)) });
  };
}
