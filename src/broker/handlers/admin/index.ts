/**
 * Admin request handlers (topics, groups, offsets, stats, broker config), one file per request family,
 * registered here into the broker's request table. They get the same BrokerDeps as the data path;
 * handler-table.ts guards them (TideErrors become answers). One AdminState per broker holds what the
 * admin path remembers between requests (rates, settings version).
 */
import { assert } from '../../../common/assert.js';
import type { RequestHandler } from '../../../protocol/remoting-command.js';
import { RequestCode } from '../../../protocol/request-code.js';
import type { BrokerDeps } from '../../broker-deps.js';
import { AdminState } from './admin-state.js';
import { createGetBrokerConfigHandler, createUpdateBrokerConfigHandler } from './broker-config-admin.js';
import { createGetBrokerRuntimeInfoHandler } from './broker-runtime-info.js';
import { createGetConsumerConnectionListHandler, createGetProducerConnectionListHandler } from './client-connections.js';
import { createConsumeMessageDirectlyHandler, createGetConsumerRunningInfoHandler } from './client-relay.js';
import { createResendDlqMessageHandler, RESEND_DLQ_MESSAGE } from './dlq-resend.js';
import { createGetConsumeStatsHandler, createQueryConsumeTimeSpanHandler, createQueryTopicConsumeByWhoHandler } from './consume-stats.js';
import { createGetAllConsumerOffsetHandler, createGetAllDelayOffsetHandler } from './offset-tables.js';
import { createResetOffsetHandler } from './reset-offset.js';
import {
  createDeleteSubscriptionGroupHandler,
  createGetAllSubscriptionGroupHandler,
  createGetSubscriptionGroupHandler,
  createUpdateAndCreateSubscriptionGroupHandler,
} from './subscription-group-admin.js';
import {
  createDeleteTopicHandler,
  createGetAllTopicConfigHandler,
  createGetTopicConfigHandler,
  createGetTopicStatsInfoHandler,
  createUpdateAndCreateTopicHandler,
} from './topic-admin.js';

export { buildBrokerRuntimeInfo } from './broker-runtime-info.js';
export { runtimeUpdatableSettings } from './broker-config-admin.js';
export { AdminState } from './admin-state.js';
export { MAX_RESEND_COUNT, RESEND_DLQ_MESSAGE } from './dlq-resend.js';

export function registerAdminHandlers(table: Map<number, RequestHandler>, deps: BrokerDeps): void {
  const state = new AdminState(deps);
  const entries: Array<[number, RequestHandler]> = [
    [RequestCode.UPDATE_AND_CREATE_TOPIC, createUpdateAndCreateTopicHandler(deps)],
    [RequestCode.GET_ALL_TOPIC_CONFIG, createGetAllTopicConfigHandler(deps)],
    [RequestCode.GET_TOPIC_CONFIG, createGetTopicConfigHandler(deps)],
    [RequestCode.DELETE_TOPIC_IN_BROKER, createDeleteTopicHandler(deps)],
    [RequestCode.GET_TOPIC_STATS_INFO, createGetTopicStatsInfoHandler(deps, state)],
    [RequestCode.GET_CONSUME_STATS, createGetConsumeStatsHandler(deps, state)],
    [RequestCode.QUERY_CONSUME_TIME_SPAN, createQueryConsumeTimeSpanHandler(deps)],
    [RequestCode.QUERY_TOPIC_CONSUME_BY_WHO, createQueryTopicConsumeByWhoHandler(deps)],
    [RequestCode.GET_CONSUMER_CONNECTION_LIST, createGetConsumerConnectionListHandler(deps)],
    [RequestCode.GET_PRODUCER_CONNECTION_LIST, createGetProducerConnectionListHandler(deps)],
    [RequestCode.GET_BROKER_RUNTIME_INFO, createGetBrokerRuntimeInfoHandler(deps, state)],
    [RequestCode.GET_BROKER_CONFIG, createGetBrokerConfigHandler(deps, state)],
    [RequestCode.UPDATE_BROKER_CONFIG, createUpdateBrokerConfigHandler(deps, state)],
    [RequestCode.UPDATE_AND_CREATE_SUBSCRIPTIONGROUP, createUpdateAndCreateSubscriptionGroupHandler(deps)],
    [RequestCode.GET_ALL_SUBSCRIPTIONGROUP_CONFIG, createGetAllSubscriptionGroupHandler(deps)],
    [RequestCode.GET_SUBSCRIPTIONGROUP_CONFIG, createGetSubscriptionGroupHandler(deps)],
    [RequestCode.DELETE_SUBSCRIPTIONGROUP, createDeleteSubscriptionGroupHandler(deps)],
    [RequestCode.GET_ALL_CONSUMER_OFFSET, createGetAllConsumerOffsetHandler(deps)],
    [RequestCode.GET_ALL_DELAY_OFFSET, createGetAllDelayOffsetHandler(deps)],
    [RequestCode.INVOKE_BROKER_TO_RESET_OFFSET, createResetOffsetHandler(deps)],
    [RequestCode.GET_CONSUMER_RUNNING_INFO, createGetConsumerRunningInfoHandler(deps)],
    [RequestCode.CONSUME_MESSAGE_DIRECTLY, createConsumeMessageDirectlyHandler(deps)],
    [RESEND_DLQ_MESSAGE, createResendDlqMessageHandler(deps)],
  ];
  for (const [code, handler] of entries) {
    assert(!table.has(code), `admin request code ${code} registered twice`);
    table.set(code, handler);
  }
}
