/**
 * Who is connected: GET_CONSUMER_CONNECTION_LIST (203, Java ConsumerConnection; no member online →
 * CONSUMER_NOT_ONLINE 206) and GET_PRODUCER_CONNECTION_LIST (204, Java ProducerConnection; none →
 * SYSTEM_ERROR, as Java answers).
 */
import { ResponseCode } from '../../../common/errors.js';
import type { RequestHandler } from '../../../protocol/remoting-command.js';
import type { BrokerDeps } from '../../broker-deps.js';
import type { ClientChannelInfo } from '../../client-channel-info.js';
import { fieldsOf } from '../../header-fields.js';
import { answer } from '../handler-support.js';
import { fastJsonBody, requiredGroup } from './admin-support.js';

/** Java's Connection. */
export interface Connection {
  clientId: string;
  clientAddr: string;
  language: string;
  version: number;
}

export function connectionOf(channel: ClientChannelInfo): Connection {
  return { clientId: channel.clientId, clientAddr: channel.connection.remoteAddress, language: channel.language, version: channel.version };
}

export function createGetConsumerConnectionListHandler(deps: BrokerDeps): RequestHandler {
  return (request) => {
    const group = requiredGroup(fieldsOf(request), 'consumerGroup');
    const info = deps.consumerManager.getGroup(group);
    if (!info || info.channels.size === 0) {
      return answer(request, ResponseCode.CONSUMER_NOT_ONLINE, `the consumer group[${group}] not online`);
    }
    const body = fastJsonBody({
      connectionSet: [...info.channels.values()].map(connectionOf),
      subscriptionTable: Object.fromEntries(info.subscriptions),
      consumeType: info.consumeType,
      messageModel: info.messageModel,
      consumeFromWhere: info.consumeFromWhere,
    });
    return answer(request, 0, undefined, undefined, body);
  };
}

export function createGetProducerConnectionListHandler(deps: BrokerDeps): RequestHandler {
  return (request) => {
    const group = requiredGroup(fieldsOf(request), 'producerGroup');
    const channels = deps.producerManager.connectionsOf(group);
    if (channels.length === 0) return answer(request, ResponseCode.SYSTEM_ERROR, `the producer group[${group}] not exist`);
    return answer(request, 0, undefined, undefined, fastJsonBody({ connectionSet: channels.map(connectionOf) }));
  };
}
