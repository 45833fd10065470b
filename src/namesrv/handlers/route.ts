/** Route queries: GET_ROUTEINFO_BY_TOPIC (105) and GET_BROKER_CLUSTER_INFO (106). */
import { ResponseCode } from '../../common/errors.js';
import { createResponse, type RemotingCommand, type RequestHandler } from '../../protocol/remoting-command.js';
import { encodeClusterInfo, encodeTopicRouteData, ORDER_TOPIC_CONFIG_NAMESPACE } from '../../protocol/route-data.js';
import type { NamesrvContext } from '../namesrv-context.js';
import { requireTopic, success } from './request-fields.js';

/**
 * Answers with the topic's route, always as standard JSON (quoted broker ids): every RocketMQ client
 * version reads that form, so the old unquoted form Java sends to clients < 4.9.4 is never needed.
 */
export function getRouteInfoByTopic(context: NamesrvContext): RequestHandler {
  return (request: RemotingCommand) => {
    const topic = requireTopic(request);
    const route = context.routeTable.pickupTopicRouteData(topic);
    if (route === undefined) {
      return createResponse(request, ResponseCode.TOPIC_NOT_EXIST, `No topic route info in name server for the topic: ${topic}`);
    }
    if (context.settings.values.orderMessageEnable) {
      const orderTopicConf = context.kvConfig.get(ORDER_TOPIC_CONFIG_NAMESPACE, topic);
      if (orderTopicConf !== undefined) route.orderTopicConf = orderTopicConf;
    }
    return success(request, undefined, encodeTopicRouteData(route));
  };
}

export function getBrokerClusterInfo(context: NamesrvContext): RequestHandler {
  return (request: RemotingCommand) => success(request, undefined, encodeClusterInfo(context.routeTable.getClusterInfo()));
}
