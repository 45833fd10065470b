/**
 * The name server's request code → handler table. Every handler is wrapped so that an operating
 * error (TideError) becomes an answer with its response code and message as the remark, and any
 * other error becomes SYSTEM_ERROR with a one-line remark, logged here; no stack trace ever goes on
 * the wire. Oneway requests get no answer, errors included. Codes not in the table are answered
 * REQUEST_CODE_NOT_SUPPORTED by the remoting server.
 */
import { ResponseCode, isTideError } from '../../common/errors.js';
import { RequestCode } from '../../protocol/request-code.js';
import {
  createResponse,
  isOneway,
  type HandlerTable,
  type RemotingCommand,
  type RequestContext,
  type RequestHandler,
} from '../../protocol/remoting-command.js';
import type { NamesrvContext } from '../namesrv-context.js';
import { queryDataVersion, registerBroker, unregisterBroker } from './broker-registration.js';
import { deleteKvConfig, getKvConfig, getKvListByNamespace, putKvConfig } from './kv-config.js';
import { getNamesrvConfig, updateNamesrvConfig } from './namesrv-config.js';
import { addWritePermOfBroker, wipeWritePermOfBroker } from './perm.js';
import { getBrokerClusterInfo, getRouteInfoByTopic } from './route.js';
import { deleteTopicInNamesrv, getAllTopicList, getSystemTopicList, getTopicsByCluster } from './topic-admin.js';

export function createNamesrvHandlerTable(context: NamesrvContext): HandlerTable {
  const factories: Array<[number, (context: NamesrvContext) => RequestHandler]> = [
    [RequestCode.PUT_KV_CONFIG, putKvConfig],
    [RequestCode.GET_KV_CONFIG, getKvConfig],
    [RequestCode.DELETE_KV_CONFIG, deleteKvConfig],
    [RequestCode.GET_KVLIST_BY_NAMESPACE, getKvListByNamespace],
    [RequestCode.REGISTER_BROKER, registerBroker],
    [RequestCode.UNREGISTER_BROKER, unregisterBroker],
    [RequestCode.QUERY_DATA_VERSION, queryDataVersion],
    [RequestCode.GET_ROUTEINFO_BY_TOPIC, getRouteInfoByTopic],
    [RequestCode.GET_BROKER_CLUSTER_INFO, getBrokerClusterInfo],
    [RequestCode.WIPE_WRITE_PERM_OF_BROKER, wipeWritePermOfBroker],
    [RequestCode.ADD_WRITE_PERM_OF_BROKER, addWritePermOfBroker],
    [RequestCode.GET_ALL_TOPIC_LIST_FROM_NAMESERVER, getAllTopicList],
    [RequestCode.GET_TOPICS_BY_CLUSTER, getTopicsByCluster],
    [RequestCode.GET_SYSTEM_TOPIC_LIST_FROM_NS, getSystemTopicList],
    [RequestCode.DELETE_TOPIC_IN_NAMESRV, deleteTopicInNamesrv],
    [RequestCode.UPDATE_NAMESRV_CONFIG, updateNamesrvConfig],
    [RequestCode.GET_NAMESRV_CONFIG, getNamesrvConfig],
  ];
  const table = new Map<number, RequestHandler>();
  for (const [code, factory] of factories) table.set(code, guard(code, factory(context), context));
  return table;
}

function guard(code: number, handler: RequestHandler, context: NamesrvContext): RequestHandler {
  const answerError = (request: RemotingCommand, error: unknown): RemotingCommand | null => {
    if (isOneway(request)) return null;
    if (isTideError(error)) return createResponse(request, error.responseCode, error.message);
    context.logger.error({ err: error, code }, 'name server handler failed');
    const reason = error instanceof Error ? error.message.split('\n', 1)[0] : String(error);
    return createResponse(request, ResponseCode.SYSTEM_ERROR, `internal error: ${reason}`);
  };
  return async (request: RemotingCommand, requestContext: RequestContext) => {
    try {
      const response = await handler(request, requestContext);
      return isOneway(request) ? null : response;
    } catch (error) {
      return answerError(request, error);
    }
  };
}
