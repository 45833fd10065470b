/**
 * Topic listings and deletion: GET_ALL_TOPIC_LIST_FROM_NAMESERVER (206), GET_TOPICS_BY_CLUSTER (224),
 * GET_SYSTEM_TOPIC_LIST_FROM_NS (304) and DELETE_TOPIC_IN_NAMESRV (216).
 */
import { ResponseCode } from '../../common/errors.js';
import { createResponse, type RemotingCommand, type RequestHandler } from '../../protocol/remoting-command.js';
import { encodeTopicList } from '../../protocol/route-data.js';
import type { NamesrvContext } from '../namesrv-context.js';
import { optionalField, requireField, requireTopic, success } from './request-fields.js';

export function getAllTopicList(context: NamesrvContext): RequestHandler {
  return (request: RemotingCommand) => {
    if (!context.settings.values.enableAllTopicList) return createResponse(request, ResponseCode.SYSTEM_ERROR, 'disable');
    return success(request, undefined, encodeTopicList(context.routeTable.getAllTopicList()));
  };
}

export function getTopicsByCluster(context: NamesrvContext): RequestHandler {
  return (request: RemotingCommand) => {
    if (!context.settings.values.enableTopicList) return createResponse(request, ResponseCode.SYSTEM_ERROR, 'disable');
    const cluster = requireField(request, 'cluster');
    return success(request, undefined, encodeTopicList(context.routeTable.getTopicsByCluster(cluster)));
  };
}

export function getSystemTopicList(context: NamesrvContext): RequestHandler {
  return (request: RemotingCommand) => success(request, undefined, encodeTopicList(context.routeTable.getSystemTopicList()));
}

/** Removes a topic's route (everywhere, or only from one cluster's brokers); the admin tool sends this after deleting the topic on the brokers. */
export function deleteTopicInNamesrv(context: NamesrvContext): RequestHandler {
  return (request: RemotingCommand) => {
    const topic = requireTopic(request);
    const clusterName = optionalField(request, 'clusterName');
    context.routeTable.deleteTopic(topic, clusterName === '' ? undefined : clusterName);
    context.logger.info({ topic, clusterName }, 'topic route deleted');
    return success(request);
  };
}
