/**
 * Moving a popped message to `%DLQ%{group}`, as the proxy does: the broker's CONSUMER_SEND_MSG_BACK
 * with delay level −1 copies the record at the message's commit-log offset into the DLQ (reconsume
 * count raised, origin kept), then the pop is acked so the message does not come back.
 */
import { ResponseCode } from '../../common/errors.js';
import { RequestCode } from '../../protocol/request-code.js';
import { GrpcClientChannel } from './client-channel.js';
import { Code, codeOfResponse, OK_STATUS, status } from './code.js';
import type { GatewayContext } from './gateway-context.js';
import type { StatusPb } from './proto-types.js';

export interface DeadLetterRequest {
  group: string;
  topic: string;
  commitLogOffset: number;
  popHandle: string;
  messageId: string;
  /** The client asking (its channel is the handler's connection); undefined for the gateway itself. */
  clientId?: string | undefined;
}

export async function forwardToDeadLetterQueue(context: GatewayContext, request: DeadLetterRequest): Promise<StatusPb> {
  const connection = (request.clientId !== undefined ? context.channels.get(request.clientId) : undefined)
    ?? new GrpcClientChannel(0, request.clientId ?? '', '127.0.0.1:0', '', () => false);
  const response = await context.broker.invoke(RequestCode.CONSUMER_SEND_MSG_BACK, {
    offset: String(request.commitLogOffset),
    group: request.group,
    delayLevel: '-1',
    originMsgId: request.messageId,
    originTopic: request.topic,
    maxReconsumeTimes: '0',
  }, undefined, connection);
  if (response !== null && response.code !== ResponseCode.SUCCESS) {
    return status(codeOfResponse(response.code), response.remark ?? `forwarding to the DLQ failed with code ${response.code}`);
  }
  const acked = context.pop.ack(request.group, request.topic, request.popHandle);
  if (acked !== 'OK') {
    // The copy is in the DLQ; the original comes back once more and is forwarded again (at-least-once).
    return status(Code.INVALID_RECEIPT_HANDLE, 'the message is in the DLQ, but its receipt handle had expired');
  }
  return OK_STATUS;
}
