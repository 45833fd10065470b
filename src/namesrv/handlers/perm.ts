/** Broker write permission: WIPE_WRITE_PERM_OF_BROKER (205) and ADD_WRITE_PERM_OF_BROKER (327). */
import type { RemotingCommand, RequestContext, RequestHandler } from '../../protocol/remoting-command.js';
import type { NamesrvContext } from '../namesrv-context.js';
import { requireField, success } from './request-fields.js';

/** Makes every queue of a broker name read-only in routes (used to drain a broker before maintenance). */
export function wipeWritePermOfBroker(context: NamesrvContext): RequestHandler {
  return (request: RemotingCommand, requestContext: RequestContext) => {
    const brokerName = requireField(request, 'brokerName');
    const count = context.routeTable.wipeWritePermOfBroker(brokerName);
    context.logger.info({ brokerName, topicCount: count, client: requestContext.connection.remoteAddress }, 'wiped write permission of broker');
    return success(request, { wipeTopicCount: String(count) });
  };
}

export function addWritePermOfBroker(context: NamesrvContext): RequestHandler {
  return (request: RemotingCommand, requestContext: RequestContext) => {
    const brokerName = requireField(request, 'brokerName');
    const count = context.routeTable.addWritePermOfBroker(brokerName);
    context.logger.info({ brokerName, topicCount: count, client: requestContext.connection.remoteAddress }, 'restored write permission of broker');
    return success(request, { addTopicCount: String(count) });
  };
}

