/**
 * INVOKE_BROKER_TO_RESET_OFFSET (222): moves a group's committed offsets on one topic to a point in
 * time (header `group`, `topic`, `timestamp` in ms, `isForce`; optionally `queueId` and `offset`).
 *
 * For each queue (or just `queueId`) the target is the first message stored at or after `timestamp`
 * (`timestamp` < 0 = the queue's end), or `offset` itself when given with a queueId (it must lie within
 * the queue). Without isForce an offset only moves back, never forward (Java's rule). The new offsets
 * are stored here, so they hold even when no consumer is online (Java 5.x's server-side reset), and
 * each online member of the group also gets RESET_CONSUMER_CLIENT_OFFSET (220, oneway, body
 * ResetOffsetBody), so clients drop what they have pulled and their next commit cannot undo the reset.
 * The answer is the ResetOffsetBody: `{"offsetTable":{{MessageQueue}:offset}}`.
 */
import { TideError } from '../../../common/errors.js';
import { createRequest, type RequestHandler } from '../../../protocol/remoting-command.js';
import { RequestCode } from '../../../protocol/request-code.js';
import type { BrokerDeps } from '../../broker-deps.js';
import { fieldsOf, optionalBoolean, optionalInteger, requiredInteger } from '../../header-fields.js';
import { answer } from '../handler-support.js';
import { existingTopic, fastJsonBody, messageQueueKey, requiredGroup, type MessageQueueKey } from './admin-support.js';

function targetOffset(deps: BrokerDeps, topic: string, queueId: number, timestampMs: number): number {
  if (timestampMs < 0) return Math.max(0, deps.store.getMaxOffsetInQueue(topic, queueId));
  return Math.max(0, deps.store.getOffsetInQueueByTime(topic, queueId, timestampMs, 'lower'));
}

export function createResetOffsetHandler(deps: BrokerDeps): RequestHandler {
  return (request) => {
    const fields = fieldsOf(request);
    const group = requiredGroup(fields, 'group');
    const config = existingTopic(deps, fields);
    const topic = config.topicName;
    const timestampMs = requiredInteger(fields, 'timestamp');
    const isForce = optionalBoolean(fields, 'isForce') ?? false;
    const queueId = optionalInteger(fields, 'queueId') ?? -1;
    const requestedOffset = optionalInteger(fields, 'offset');
    const online = deps.consumerManager.getGroup(group);
    const known = deps.subscriptionGroupManager.get(group) !== undefined || online !== undefined || deps.consumerOffsetManager.topicsOfGroup(group).length > 0;
    if (!known) throw new TideError('SUBSCRIPTION_GROUP_NOT_EXIST', `Group ${group} does not exist`);
    if (queueId >= Math.max(config.readQueueNums, config.writeQueueNums)) {
      throw new TideError('INVALID_PARAMETER', `the custom field <queueId> is ${queueId}, but topic ${topic} has ${config.readQueueNums} read queues`);
    }

    const offsets = new Map<number, number>();
    if (queueId >= 0) {
      if (requestedOffset !== undefined && requestedOffset !== -1) {
        const min = deps.store.getMinOffsetInQueue(topic, queueId);
        const max = deps.store.getMaxOffsetInQueue(topic, queueId);
        if (requestedOffset < min || requestedOffset > max) {
          throw new TideError('INVALID_PARAMETER', `Target offset ${requestedOffset} not in consume queue range [${min}-${max}]`);
        }
        offsets.set(queueId, requestedOffset);
      } else {
        offsets.set(queueId, targetOffset(deps, topic, queueId, timestampMs));
      }
    } else {
      for (let id = 0; id < config.readQueueNums; id++) offsets.set(id, targetOffset(deps, topic, id, timestampMs));
    }
    if (offsets.size === 0) throw new TideError('INVALID_PARAMETER', `topic ${topic} has no read queues to reset`);

    const offsetTable = new Map<MessageQueueKey, number>();
    for (const [id, target] of offsets) {
      const current = deps.consumerOffsetManager.queryOffset(group, topic, id);
      const offset = isForce || current < 0 || target < current ? target : current;
      deps.consumerOffsetManager.commitOffset(group, topic, id, offset);
      offsetTable.set(messageQueueKey(deps.config.brokerName, topic, id), offset);
    }
    const body = fastJsonBody({ offsetTable });

    let notified = 0;
    for (const channel of online?.channels.values() ?? []) {
      // invokeOneway marks the frame oneway itself.
      const push = createRequest(
        RequestCode.RESET_CONSUMER_CLIENT_OFFSET,
        { topic, group, timestamp: String(timestampMs), isForce: String(isForce) },
        body,
      );
      if (channel.connection.invokeOneway(push)) notified++;
      else deps.logger.warn({ group, clientId: channel.clientId }, 'could not push RESET_CONSUMER_CLIENT_OFFSET to a consumer');
    }
    deps.logger.info({ topic, group, timestampMs, isForce, queues: offsets.size, notified }, 'consumer offsets reset by admin request');
    return answer(request, 0, undefined, undefined, body);
  };
}
