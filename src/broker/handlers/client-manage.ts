/**
 * Client membership: HEART_BEAT (34), UNREGISTER_CLIENT (35), GET_CONSUMER_LIST_BY_GROUP (38) and
 * CHECK_CLIENT_CONFIG (46, sent by Java consumers that subscribe with SQL92).
 *
 * A heartbeat registers each producer group and each consumer group of the client (creating the
 * subscription group and its `%RETRY%group` topic when allowed) and answers with extFields
 * IS_SUPPORT_HEART_BEAT_V2=true and IS_SUB_CHANGE. For a V1 heartbeat (no fingerprint) IS_SUB_CHANGE is
 * always true; for V2 it says whether the group's fingerprint changed since the last heartbeat (or
 * the broker lacks the group's subscriptions), and a `withoutSub` V2 heartbeat keeps the subscriptions
 * already known.
 */
import { ResponseCode, isTideError } from '../../common/errors.js';
import type { RequestHandler } from '../../protocol/remoting-command.js';
import type { BrokerDeps } from '../broker-deps.js';
import type { ClientChannelInfo } from '../client-channel-info.js';
import { fieldsOf, optionalString, requiredString } from '../header-fields.js';
import { Perm } from '../../protocol/route-data.js';
import { isTagType, parseHeartbeatData } from '../subscription-data.js';
import { retryTopicOf } from '../topic-names.js';
import { answer, jsonBody, parseJsonBody } from './handler-support.js';

/** CHECK_CLIENT_CONFIG: not in the shared RequestCode table because only this handler uses it. */
export const CHECK_CLIENT_CONFIG = 46;

export function createHeartbeatHandler(deps: BrokerDeps): RequestHandler {
  const { subscriptionGroupManager, topicConfigManager, consumerManager, producerManager, logger } = deps;
  /** group → fingerprint of the last V2 heartbeat. */
  const fingerprints = new Map<string, number>();
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
    return answer(request, ResponseCode.SUCCESS, undefined, {
      IS_SUPPORT_HEART_BEAT_V2: 'true',
      IS_SUB_CHANGE: String(isV2 ? subscriptionChanged : true),
    });
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

export function createCheckClientConfigHandler(deps: BrokerDeps): RequestHandler {
  return (request) => {
    const body = parseJsonBody(request.body);
    const subscription = body?.subscriptionData as { expressionType?: unknown } | undefined;
    if (!subscription || typeof subscription !== 'object') return answer(request);
    const expressionType = typeof subscription.expressionType === 'string' ? subscription.expressionType : undefined;
    if (isTagType(expressionType)) return answer(request);
    if (!deps.config.enablePropertyFilter) {
      return answer(request, ResponseCode.SYSTEM_ERROR, `The broker does not support consumer to filter message by ${expressionType} (enablePropertyFilter=false)`);
    }
    return answer(request);
  };
}
