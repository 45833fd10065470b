/**
 * How far consumer groups are: GET_CONSUME_STATS (208, Java ConsumeStats: per MessageQueue
 * brokerOffset / consumerOffset / pullOffset / lastTimestamp, plus consumeTps), QUERY_CONSUME_TIME_SPAN
 * (303) and QUERY_TOPIC_CONSUME_BY_WHO (300, `{groupList:[...]}`).
 *
 * Topics of a group are those it has committed offsets on (or the `topic` / `topicList` the request
 * names); while the group is online, topics it no longer subscribes to are left out, as Java does. The
 * broker keeps no separate pull offset, so pullOffset = consumerOffset. consumeTps is measured from
 * how fast the group's committed offsets grow (see rate-sampler.ts).
 */
import type { RequestHandler } from '../../../protocol/remoting-command.js';
import type { BrokerDeps } from '../../broker-deps.js';
import { fieldsOf, optionalString, requiredString, type HeaderFields } from '../../header-fields.js';
import { isValidTopicName } from '../../topic-config-manager.js';
import { answer } from '../handler-support.js';
import { existingTopic, fastJsonBody, messageQueueKey, requiredGroup, storeTimeAt, type MessageQueueKey } from './admin-support.js';
import { RateKey, type AdminState } from './admin-state.js';
import { formatDouble } from './rate-sampler.js';

/** Java's GetConsumeStatsRequestHeader.TOPIC_NAME_SEPARATOR. */
const TOPIC_LIST_SEPARATOR = ';';

export interface OffsetWrapper {
  brokerOffset: number;
  consumerOffset: number;
  pullOffset: number;
  lastTimestamp: number;
}

function topicsForStats(deps: BrokerDeps, group: string, fields: HeaderFields): string[] {
  const listed = (optionalString(fields, 'topicList') ?? '').split(TOPIC_LIST_SEPARATOR).map((topic) => topic.trim()).filter(isValidTopicName);
  if (listed.length > 0) return [...new Set(listed)];
  const topic = optionalString(fields, 'topic')?.trim();
  const topics = topic ? [topic] : deps.consumerOffsetManager.topicsOfGroup(group);
  const online = deps.consumerManager.getGroup(group);
  if (online === undefined || online.subscriptions.size === 0) return topics;
  return topics.filter((name) => online.subscriptions.has(name));
}

/** The ConsumeStats of one group on this broker. */
export function buildConsumeStats(deps: BrokerDeps, state: AdminState, group: string, fields: HeaderFields, nowMs: number = Date.now()): {
  offsetTable: Map<MessageQueueKey, OffsetWrapper>; consumeTps: number;
} {
  const offsetTable = new Map<MessageQueueKey, OffsetWrapper>();
  let consumedTotal = 0;
  for (const topic of topicsForStats(deps, group, fields)) {
    const config = deps.topicConfigManager.get(topic);
    if (!config) continue;
    for (let queueId = 0; queueId < config.readQueueNums; queueId++) {
      const brokerOffset = Math.max(0, deps.store.getMaxOffsetInQueue(topic, queueId));
      const consumerOffset = Math.max(0, deps.consumerOffsetManager.queryOffset(group, topic, queueId));
      consumedTotal += consumerOffset;
      offsetTable.set(messageQueueKey(deps.config.brokerName, topic, queueId), {
        brokerOffset,
        consumerOffset,
        pullOffset: consumerOffset,
        lastTimestamp: consumerOffset > 0 ? storeTimeAt(deps, topic, queueId, consumerOffset - 1) : 0,
      });
    }
  }
  state.rates.record(RateKey.groupConsume(group), consumedTotal, nowMs);
  return { offsetTable, consumeTps: Number(formatDouble(state.rates.perSecond(RateKey.groupConsume(group), 60_000))) };
}

export function createGetConsumeStatsHandler(deps: BrokerDeps, state: AdminState): RequestHandler {
  return (request) => {
    const fields = fieldsOf(request);
    const group = requiredGroup(fields, 'consumerGroup');
    return answer(request, 0, undefined, undefined, fastJsonBody(buildConsumeStats(deps, state, group, fields)));
  };
}

/** Java's QueueTimeSpan per write queue: oldest and newest store time, and the group's position in time. */
export function createQueryConsumeTimeSpanHandler(deps: BrokerDeps): RequestHandler {
  return (request) => {
    const fields = fieldsOf(request);
    const config = existingTopic(deps, fields);
    const group = requiredGroup(fields, 'group');
    const topic = config.topicName;
    const nowMs = Date.now();
    const consumeTimeSpanSet = [];
    for (let queueId = 0; queueId < config.writeQueueNums; queueId++) {
      const minTimeStamp = deps.store.getEarliestMessageTime(topic, queueId);
      const maxOffset = Math.max(0, deps.store.getMaxOffsetInQueue(topic, queueId));
      const maxTimeStamp = maxOffset > 0 ? storeTimeAt(deps, topic, queueId, maxOffset - 1) : 0;
      const consumerOffset = deps.consumerOffsetManager.queryOffset(group, topic, queueId);
      const consumeTimeStamp = consumerOffset > 0 ? storeTimeAt(deps, topic, queueId, consumerOffset - 1) : minTimeStamp;
      let delayTime = 0;
      if (consumerOffset < maxOffset) {
        const nextTime = storeTimeAt(deps, topic, queueId, Math.max(0, consumerOffset));
        if (nextTime > 0) delayTime = Math.max(0, nowMs - nextTime);
      }
      consumeTimeSpanSet.push({
        messageQueue: messageQueueKey(deps.config.brokerName, topic, queueId),
        minTimeStamp,
        maxTimeStamp,
        consumeTimeStamp,
        delayTime,
      });
    }
    return answer(request, 0, undefined, undefined, fastJsonBody({ consumeTimeSpanSet }));
  };
}

/** Groups that consume a topic: online subscribers and groups with committed offsets on it. */
export function createQueryTopicConsumeByWhoHandler(deps: BrokerDeps): RequestHandler {
  return (request) => {
    const topic = requiredString(fieldsOf(request), 'topic');
    const groups = new Set<string>([...deps.consumerManager.groupsOfTopic(topic), ...deps.consumerOffsetManager.groupsOfTopic(topic)]);
    return answer(request, 0, undefined, undefined, fastJsonBody({ groupList: [...groups].sort() }));
  };
}
