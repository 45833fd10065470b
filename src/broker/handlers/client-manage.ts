/**
 * Client membership: HEART_BEAT (34), UNREGISTER_CLIENT (35), GET_CONSUMER_LIST_BY_GROUP (38) and
 * CHECK_CLIENT_CONFIG (46, sent by Java consumers that subscribe with SQL92).
 *
 * A heartbeat registers each producer group and each consumer group of the client (creating the
 * subscription group and its `%RETRY%group` topic when allowed) and answers with extFields
 * IS_SUPPORT_HEART_BEAT_V2=true and IS_SUB_CHANGE. For a V1 heartbeat (no fingerprint) IS_SUB_CHANGE is
 * always true; for V2 it says whether the group's fingerprint changed since the last heartbeat (or
 * the broker lacks the group's subscriptions), and a `withoutSub` V2 heartbeat keeps the subscriptions
 * already known. While enablePropertyFilter is on, a SQL92 subscription that does not compile makes the
 * answer SUBSCRIPTION_PARSE_FAILED (23, remark: the reason with line, column and offset); the rest of
 * the heartbeat still registers.
 */
import { ResponseCode, isTideError } from '../../common/errors.js';
import type { RequestHandler } from '../../protocol/remoting-command.js';
import { RequestCode } from '../../protocol/request-code.js';
import type { BrokerDeps } from '../broker-deps.js';
import type { ClientChannelInfo } from '../client-channel-info.js';
import { fieldsOf, optionalString, requiredString } from '../header-fields.js';
import { Perm } from '../../protocol/route-data.js';
import { propertyFilterDisabledMessage, sql92CacheOf } from '../filter/index.js';
import { ExpressionType, isTagType, parseHeartbeatData, type ConsumerData } from '../subscription-data.js';
import { retryTopicOf } from '../topic-names.js';
import { answer, jsonBody, parseJsonBody } from './handler-support.js';

export const CHECK_CLIENT_CONFIG = RequestCode.CHECK_CLIENT_CONFIG;

export function createHeartbeatHandler(deps: BrokerDeps): RequestHandler {
  const { subscriptionGroupManager, topicConfigManager, consumerManager, producerManager, logger } = deps;
  /** group → fingerprint of the last V2 heartbeat. */
  const fingerprints = new Map<string, number>();
  const sql92Cache = sql92CacheOf(deps);

  /** The remark for the first SQL92 subscription that does not compile (only checked while SQL92 is on). */
  function firstMalformedSubscription(consumers: readonly ConsumerData[]): string | undefined {
    if (!deps.config.enablePropertyFilter) return undefined;
    for (const consumer of consumers) {
      for (const subscription of consumer.subscriptionDataSet) {
        if (subscription.expressionType !== ExpressionType.SQL92) continue;
        try {
          sql92Cache.compile(consumer.groupName, subscription);
        } catch (error) {
          if (!isTideError(error)) throw error;
          return error.message;
        }
      }
    }
    return undefined;
  }

  return (request, context) => {
    const heartbeat = parseHeartbeatData(request.body);
    const isV2 = heartbeat.heartbeatFingerprint !== 0;
    let subscriptionChanged = false;
    const now = Date.now();
    const client = (): ClientChannelInfo => ({
      clientId: heartbeat.clientID,
      connection: context.connection,
      language: request.language,
      version: request.version,
      lastUpdateTimestamp: now,
    });
    for (const consumer of heartbeat.consumerDataSet) {
      const previous = fingerprints.get(consumer.groupName);
      if (isV2 && previous !== undefined && previous !== heartbeat.heartbeatFingerprint) subscriptionChanged = true;
      // Unlike Java, a subscription-less V2 heartbeat for a group whose subscriptions this broker does
      // not know (e.g. after a restart) asks the client for a full heartbeat: otherwise its pulls would
      // fail with SUBSCRIPTION_NOT_EXIST until its fingerprint happens to change.
      if (isV2 && heartbeat.withoutSub && (previous === undefined || (consumerManager.getGroup(consumer.groupName)?.subscriptions.size ?? 0) === 0)) {
        subscriptionChanged = true;
      }
      fingerprints.set(consumer.groupName, heartbeat.heartbeatFingerprint);
      let groupConfig;
      try {
        groupConfig = subscriptionGroupManager.findOrCreate(consumer.groupName);
      } catch (error) {
        // As in Java: a group that does not exist is skipped, the rest of the heartbeat still counts.
        if (!isTideError(error)) throw error;
        logger.warn({ group: consumer.groupName, clientId: heartbeat.clientID, reason: error.message }, 'heartbeat for an unknown consumer group ignored');
        continue;
      }
      const hasOrderTopic = consumer.subscriptionDataSet.some((subscription) => topicConfigManager.isOrderTopic(subscription.topic));
      if (groupConfig.retryQueueNums > 0) {
        topicConfigManager.createTopicInSendMessageBackMethod(
          retryTopicOf(consumer.groupName),
          groupConfig.retryQueueNums,
          Perm.READ | Perm.WRITE,
          consumer.unitMode ? 2 : 0,
          hasOrderTopic,
        );
      }
      consumerManager.register(
        consumer.groupName,
        client(),
        { consumeType: consumer.consumeType, messageModel: consumer.messageModel, consumeFromWhere: consumer.consumeFromWhere },
        isV2 && heartbeat.withoutSub ? undefined : consumer.subscriptionDataSet,
        groupConfig.notifyConsumerIdsChangedEnable,
      );
    }
    for (const producer of heartbeat.producerDataSet) producerManager.register(producer.groupName, client());
    const extFields = {
      IS_SUPPORT_HEART_BEAT_V2: 'true',
      IS_SUB_CHANGE: String(isV2 ? subscriptionChanged : true),
    };
    // Everything above is registered even so (as Java does); the client learns at once that an
    // expression will not work, with where it is wrong, instead of only from failing pulls.
    const malformed = firstMalformedSubscription(heartbeat.consumerDataSet);
    if (malformed !== undefined) return answer(request, ResponseCode.SUBSCRIPTION_PARSE_FAILED, malformed, extFields);
    return answer(request, ResponseCode.SUCCESS, undefined, extFields);
  };
}

export function createUnregisterClientHandler(deps: BrokerDeps): RequestHandler {
  return (request, context) => {
    const fields = fieldsOf(request);
    const clientId = requiredString(fields, 'clientID');
    const producerGroup = optionalString(fields, 'producerGroup');
    const consumerGroup = optionalString(fields, 'consumerGroup');
    if (producerGroup) deps.producerManager.unregister(producerGroup, context.connection, clientId);
    if (consumerGroup) {
      const notify = deps.subscriptionGroupManager.get(consumerGroup)?.notifyConsumerIdsChangedEnable ?? true;
      deps.consumerManager.unregister(consumerGroup, context.connection, clientId, notify);
    }
    return answer(request);
  };
}

export function createGetConsumerListByGroupHandler(deps: BrokerDeps): RequestHandler {
  return (request) => {
    const group = requiredString(fieldsOf(request), 'consumerGroup');
    const clientIds = deps.consumerManager.getGroup(group)?.clientIds() ?? [];
    if (clientIds.length === 0) return answer(request, ResponseCode.SYSTEM_ERROR, `no consumer for this group, ${group}`);
    return answer(request, ResponseCode.SUCCESS, undefined, undefined, jsonBody({ consumerIdList: clientIds }));
  };
}

/**
 * CHECK_CLIENT_CONFIG: a Java consumer asks before subscribing with SQL92. As in Java: SQL92 while
 * enablePropertyFilter is off → SYSTEM_ERROR; an expression that does not compile (or an unknown
 * expression type) → SUBSCRIPTION_PARSE_FAILED with the reason and position in the remark.
 */
export function createCheckClientConfigHandler(deps: BrokerDeps): RequestHandler {
  const sql92Cache = sql92CacheOf(deps);
  return (request) => {
    const body = parseJsonBody(request.body);
    const subscription = body?.subscriptionData as { expressionType?: unknown; subString?: unknown; topic?: unknown; subVersion?: unknown } | undefined;
    if (!subscription || typeof subscription !== 'object') return answer(request);
    const expressionType = typeof subscription.expressionType === 'string' ? subscription.expressionType : undefined;
    if (isTagType(expressionType)) return answer(request);
    if (!deps.config.enablePropertyFilter) return answer(request, ResponseCode.SYSTEM_ERROR, propertyFilterDisabledMessage(String(expressionType)));
    if (expressionType !== ExpressionType.SQL92) {
      return answer(request, ResponseCode.SUBSCRIPTION_PARSE_FAILED, `unknown expression type ${JSON.stringify(String(expressionType).slice(0, 32))}: use TAG or SQL92`);
    }
    const group = typeof body?.group === 'string' ? body.group : '';
    const subVersion = Number(subscription.subVersion ?? 0);
    try {
      sql92Cache.compile(group, {
        topic: typeof subscription.topic === 'string' ? subscription.topic : '',
        subString: typeof subscription.subString === 'string' ? subscription.subString : '',
        subVersion: Number.isFinite(subVersion) ? subVersion : 0,
      });
    } catch (error) {
      if (!isTideError(error)) throw error;
      return answer(request, ResponseCode.SUBSCRIPTION_PARSE_FAILED, error.message);
    }
    return answer(request);
  };
}
