/**
 * Topic administration: UPDATE_AND_CREATE_TOPIC (17), GET_ALL_TOPIC_CONFIG (21), GET_TOPIC_CONFIG
 * (351), DELETE_TOPIC_IN_BROKER (215) and GET_TOPIC_STATS_INFO (202).
 *
 * Creating or changing a topic goes through TopicConfigManager, whose change listeners re-register
 * the broker with the name servers at once, so the new route is visible without waiting for the 30 s
 * cycle. System topics (TBW102, SCHEDULE_TOPIC_XXXX, the cluster- and broker-named topics, rmq_sys_*)
 * can be neither created nor deleted here, as with Java's default validateSystemTopicWhenUpdateTopic.
 */
import { TideError } from '../../../common/errors.js';
import type { RequestHandler } from '../../../protocol/remoting-command.js';
import { DEFAULT_TOPIC_FILTER_TYPE, type TopicConfig } from '../../../protocol/route-data.js';
import type { BrokerDeps } from '../../broker-deps.js';
import { fieldsOf, optionalBoolean, optionalInteger, optionalString, requiredInteger, requiredString, type HeaderFields } from '../../header-fields.js';
import { validateTopic } from '../../topic-config-manager.js';
import { answer } from '../handler-support.js';
import { existingTopic, fastJsonBody, messageQueueKey, queueCountOf, storeTimeAt, type MessageQueueKey } from './admin-support.js';
import { RateKey, type AdminState } from './admin-state.js';
import { formatDouble } from './rate-sampler.js';
import { applyAttributeChanges, parseAttributeChanges } from './topic-attributes.js';

/**
 * Most queues a topic may have on one broker. RocketMQ sets no limit, but every queue is a directory
 * of consume-queue files and a row in every stats answer; 1024 is far above what anyone configures.
 */
export const MAX_QUEUE_NUMS = 1024;
const TOPIC_FILTER_TYPES: ReadonlySet<string> = new Set(['SINGLE_TAG', 'MULTI_TAG']);
/** PermName bits: PRIORITY 8, READ 4, WRITE 2, INHERIT 1. */
const MAX_PERM = 15;

function boundedInteger(fields: HeaderFields, name: string, min: number, max: number, fallback?: number): number {
  const value = fallback === undefined ? requiredInteger(fields, name) : optionalInteger(fields, name) ?? fallback;
  if (value < min || value > max) throw new TideError('INVALID_PARAMETER', `the custom field <${name}> must be ${min}-${max}, got ${value}`);
  return value;
}

function refuseSystemTopic(deps: BrokerDeps, topic: string): void {
  if (deps.topicConfigManager.isSystemTopic(topic)) {
    throw new TideError('INVALID_PARAMETER', `The topic[${topic}] is conflict with system topic.`);
  }
}

function sameTopicConfig(left: TopicConfig, right: TopicConfig): boolean {
  if (left.readQueueNums !== right.readQueueNums || left.writeQueueNums !== right.writeQueueNums || left.perm !== right.perm) return false;
  if (left.topicFilterType !== right.topicFilterType || left.topicSysFlag !== right.topicSysFlag || left.order !== right.order) return false;
  const leftKeys = Object.keys(left.attributes ?? {});
  const rightAttributes = right.attributes ?? {};
  return leftKeys.length === Object.keys(rightAttributes).length && leftKeys.every((key) => left.attributes[key] === rightAttributes[key]);
}

/** Reads the CreateTopicRequestHeader into the topic's new config (attributes applied to the old ones). */
export function topicConfigFromHeader(fields: HeaderFields, existing: TopicConfig | undefined): TopicConfig {
  const topicName = validateTopic(requiredString(fields, 'topic'));
  const topicFilterType = optionalString(fields, 'topicFilterType') ?? DEFAULT_TOPIC_FILTER_TYPE;
  if (!TOPIC_FILTER_TYPES.has(topicFilterType)) {
    throw new TideError('INVALID_PARAMETER', `the custom field <topicFilterType> must be SINGLE_TAG or MULTI_TAG, got ${JSON.stringify(topicFilterType.slice(0, 64))}`);
  }
  return {
    topicName,
    readQueueNums: boundedInteger(fields, 'readQueueNums', 0, MAX_QUEUE_NUMS),
    writeQueueNums: boundedInteger(fields, 'writeQueueNums', 0, MAX_QUEUE_NUMS),
    perm: boundedInteger(fields, 'perm', 0, MAX_PERM),
    topicFilterType,
    topicSysFlag: boundedInteger(fields, 'topicSysFlag', 0, 0x7fffffff, 0),
    order: optionalBoolean(fields, 'order') ?? false,
    attributes: applyAttributeChanges(existing?.attributes, parseAttributeChanges(optionalString(fields, 'attributes'))),
  };
}

export function createUpdateAndCreateTopicHandler(deps: BrokerDeps): RequestHandler {
  return (request) => {
    const fields = fieldsOf(request);
    const topic = validateTopic(requiredString(fields, 'topic'));
    refuseSystemTopic(deps, topic);
    const existing = deps.topicConfigManager.get(topic);
    const config = topicConfigFromHeader(fields, existing);
    if (existing !== undefined && sameTopicConfig(existing, config)) return answer(request);
    deps.topicConfigManager.updateTopicConfig(config);
    deps.logger.info({ topic, readQueueNums: config.readQueueNums, writeQueueNums: config.writeQueueNums, perm: config.perm, created: existing === undefined }, 'topic created or updated by admin request');
    return answer(request);
  };
}

/** Java's TopicConfigAndMappingSerializeWrapper; TideMQ has no static topics, so the mapping parts are empty. */
export function createGetAllTopicConfigHandler(deps: BrokerDeps): RequestHandler {
  return (request) => {
    const { topicConfigTable, dataVersion } = deps.topicConfigManager.encode();
    const body = fastJsonBody({
      topicConfigTable,
      dataVersion,
      topicQueueMappingInfoMap: {},
      topicQueueMappingDetailMap: {},
      mappingDataVersion: { stateVersion: 0, timestamp: deps.runtime.bootTimestampMs, counter: 0 },
    });
    return answer(request, 0, undefined, { totalTopicNum: String(Object.keys(topicConfigTable).length) }, body);
  };
}

/** Java's TopicConfigAndQueueMapping: the TopicConfig fields, plus `mappingDetail` (never set here). */
export function createGetTopicConfigHandler(deps: BrokerDeps): RequestHandler {
  return (request) => {
    const fields = fieldsOf(request);
    const topic = validateTopic(requiredString(fields, 'topic'));
    const config = deps.topicConfigManager.get(topic);
    if (!config) throw new TideError('TOPIC_NOT_EXIST', `No topic in this broker. topic: ${topic}`);
    return answer(request, 0, undefined, undefined, fastJsonBody(config));
  };
}

/** Removes the topic's config, every group's offsets on it, and its consume queues. */
export function createDeleteTopicHandler(deps: BrokerDeps): RequestHandler {
  return (request) => {
    const fields = fieldsOf(request);
    const raw = requiredString(fields, 'topic');
    if (raw.trim() === '') throw new TideError('INVALID_PARAMETER', 'The specified topic is blank.');
    const topic = validateTopic(raw);
    refuseSystemTopic(deps, topic);
    const existed = deps.topicConfigManager.deleteTopicConfig(topic);
    deps.consumerOffsetManager.removeTopic(topic);
    deps.store.deleteTopic(topic);
    deps.logger.info({ topic, existed }, 'topic deleted by admin request');
    return answer(request);
  };
}

export function createGetTopicStatsInfoHandler(deps: BrokerDeps, state: AdminState): RequestHandler {
  return (request) => {
    const config = existingTopic(deps, fieldsOf(request));
    const topic = config.topicName;
    const offsetTable = new Map<MessageQueueKey, { minOffset: number; maxOffset: number; lastUpdateTimestamp: number }>();
    let putTotal = 0;
    for (let queueId = 0; queueId < queueCountOf(config); queueId++) {
      const minOffset = Math.max(0, deps.store.getMinOffsetInQueue(topic, queueId));
      const maxOffset = Math.max(0, deps.store.getMaxOffsetInQueue(topic, queueId));
      const lastUpdateTimestamp = maxOffset > 0 ? storeTimeAt(deps, topic, queueId, maxOffset - 1) : 0;
      putTotal += maxOffset;
      offsetTable.set(messageQueueKey(deps.config.brokerName, topic, queueId), { minOffset, maxOffset, lastUpdateTimestamp });
    }
    state.rates.record(RateKey.topicPut(topic), putTotal, Date.now());
    const topicPutTps = Number(formatDouble(state.rates.perSecond(RateKey.topicPut(topic), 60_000)));
    return answer(request, 0, undefined, undefined, fastJsonBody({ offsetTable, topicPutTps }));
  };
}
