/**
 * QUERY_CONSUMER_OFFSET (14) and UPDATE_CONSUMER_OFFSET (15, oneway from Java clients).
 *
 * A query without a stored offset answers QUERY_NOT_FOUND (22), which makes the client start from its
 * consumeFromWhere, except (Java's rule) when the queue still starts at offset 0 and its first message
 * is "in memory" (its distance to the commit-log end is under 40 % of physical RAM): then 0, so a new
 * group on a young topic reads it from the start. `setZeroIfNotFound=false` turns that rule off.
 */
import { totalmem } from 'node:os';
import { ResponseCode } from '../../common/errors.js';
import { isOneway, type RequestHandler } from '../../protocol/remoting-command.js';
import type { BrokerDeps } from '../broker-deps.js';
import { fieldsOf, optionalBoolean, requiredInteger, requiredString } from '../header-fields.js';
import { validateTopic } from '../topic-config-manager.js';
import { answer } from './handler-support.js';

/** Java's accessMessageInMemoryMaxRatio. */
const IN_MEMORY_RATIO = 0.4;

export function createQueryConsumerOffsetHandler(deps: BrokerDeps): RequestHandler {
  const { store, consumerOffsetManager } = deps;
  return (request) => {
    const fields = fieldsOf(request);
    const group = requiredString(fields, 'consumerGroup');
    const topic = validateTopic(requiredString(fields, 'topic'));
    const queueId = requiredInteger(fields, 'queueId');
    const setZeroIfNotFound = optionalBoolean(fields, 'setZeroIfNotFound');
    const offset = consumerOffsetManager.queryOffset(group, topic, queueId);
    if (offset >= 0) return answer(request, ResponseCode.SUCCESS, undefined, { offset: String(offset) });
    if (setZeroIfNotFound === false) {
      return answer(request, ResponseCode.QUERY_NOT_FOUND, 'Not found, do not set to zero, maybe this group boot first');
    }
    if (store.getMinOffsetInQueue(topic, queueId) <= 0) {
      const first = store.getConsumeQueueEntry(topic, queueId, 0);
      if (first !== null && store.stats().commitLogMaxOffset - first.physicalOffset < totalmem() * IN_MEMORY_RATIO) {
        return answer(request, ResponseCode.SUCCESS, undefined, { offset: '0' });
      }
    }
    return answer(request, ResponseCode.QUERY_NOT_FOUND, 'Not found, maybe this group consumer boot first');
  };
}

export function createUpdateConsumerOffsetHandler(deps: BrokerDeps): RequestHandler {
  return (request) => {
    const fields = fieldsOf(request);
    const group = requiredString(fields, 'consumerGroup');
    const topic = validateTopic(requiredString(fields, 'topic'));
    const queueId = requiredInteger(fields, 'queueId');
    const commitOffset = requiredInteger(fields, 'commitOffset');
    deps.consumerOffsetManager.commitOffset(group, topic, queueId, commitOffset);
    return isOneway(request) ? null : answer(request);
  };
}
