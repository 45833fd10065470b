/** KV config: PUT_KV_CONFIG (100), GET_KV_CONFIG (101), DELETE_KV_CONFIG (102), GET_KVLIST_BY_NAMESPACE (219). */
import { ResponseCode } from '../../common/errors.js';
import { createResponse, type RemotingCommand, type RequestHandler } from '../../protocol/remoting-command.js';
import { encodeKvTable } from '../../protocol/route-data.js';
import type { NamesrvContext } from '../namesrv-context.js';
import { requireField, success } from './request-fields.js';

/** Keys may be topic names or arbitrary admin keys; values may be long (order configs list every broker). */
const KEY_MAX_LENGTH = 1_024;
const VALUE_MAX_LENGTH = 64 * 1024;

export function putKvConfig(context: NamesrvContext): RequestHandler {
  return async (request: RemotingCommand) => {
    const namespace = requireField(request, 'namespace');
    const key = requireField(request, 'key', { maxLength: KEY_MAX_LENGTH });
    const value = requireField(request, 'value', { allowEmpty: true, maxLength: VALUE_MAX_LENGTH });
    await context.kvConfig.put(namespace, key, value);
    return success(request);
  };
}

export function getKvConfig(context: NamesrvContext): RequestHandler {
  return (request: RemotingCommand) => {
    const namespace = requireField(request, 'namespace');
    const key = requireField(request, 'key', { maxLength: KEY_MAX_LENGTH });
    const value = context.kvConfig.get(namespace, key);
    if (value === undefined) return createResponse(request, ResponseCode.QUERY_NOT_FOUND, `No config item, Namespace: ${namespace} Key: ${key}`);
    return success(request, { value });
  };
}

export function deleteKvConfig(context: NamesrvContext): RequestHandler {
  return async (request: RemotingCommand) => {
    const namespace = requireField(request, 'namespace');
    const key = requireField(request, 'key', { maxLength: KEY_MAX_LENGTH });
    await context.kvConfig.delete(namespace, key);
    return success(request);
  };
}

export function getKvListByNamespace(context: NamesrvContext): RequestHandler {
  return (request: RemotingCommand) => {
    const namespace = requireField(request, 'namespace');
    const table = context.kvConfig.listNamespace(namespace);
    if (table === undefined) return createResponse(request, ResponseCode.QUERY_NOT_FOUND, `No config item, Namespace: ${namespace}`);
    return success(request, undefined, encodeKvTable(table));
  };
}
