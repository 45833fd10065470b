/**
 * Admin requests the broker passes on to one consumer client over that client's own connection, and
 * whose answer it passes back: GET_CONSUMER_RUNNING_INFO (307) and CONSUME_MESSAGE_DIRECTLY (309).
 * For 309 the broker adds what the client needs, as Java does: its brokerName, the topic's and the
 * group's sys flags, and the whole stored record of `msgId` (an offsetMsgId) as the body.
 *
 * Client not in the group → SYSTEM_ERROR "not online"; no answer within RELAY_TIMEOUT_MS →
 * CONSUME_MSG_TIMEOUT (207).
 */
import { isTideError, ResponseCode } from '../../../common/errors.js';
import { decodeOffsetMessageId } from '../../../protocol/message-id.js';
import { createRequest, createResponse, type RemotingCommand, type RequestHandler } from '../../../protocol/remoting-command.js';
import type { BrokerDeps } from '../../broker-deps.js';
import { fieldsOf, optionalString, requiredString } from '../../header-fields.js';
import { answer } from '../handler-support.js';
import { requiredGroup } from './admin-support.js';

/** Java's Broker2Client.callClient waits 10 s. */
export const RELAY_TIMEOUT_MS = 10_000;

async function callClient(deps: BrokerDeps, request: RemotingCommand, group: string, clientId: string, extFields: Record<string, string>, body: Buffer | undefined): Promise<RemotingCommand> {
  const info = deps.consumerManager.getGroup(group);
  const channel = info === undefined ? undefined : [...info.channels.values()].find((candidate) => candidate.clientId === clientId && !candidate.connection.closed);
  if (channel === undefined) return answer(request, ResponseCode.SYSTEM_ERROR, `The Consumer <${group}> <${clientId}> not online`);
  try {
    const reply = await channel.connection.invoke(createRequest(request.code, extFields, body), RELAY_TIMEOUT_MS);
    return createResponse(request, reply.code, reply.remark, reply.extFields, reply.body);
  } catch (error) {
    if (isTideError(error, 'REQUEST_TIMEOUT')) {
      return answer(request, ResponseCode.CONSUME_MSG_TIMEOUT, `consumer <${group}> <${clientId}> Timeout: ${error.message}`);
    }
    const message = error instanceof Error ? error.message : String(error);
    return answer(request, ResponseCode.SYSTEM_ERROR, `invoke consumer <${group}> <${clientId}> Exception: ${message.slice(0, 200)}`);
  }
}

export function createGetConsumerRunningInfoHandler(deps: BrokerDeps): RequestHandler {
  return (request) => {
    const fields = fieldsOf(request);
    const group = requiredGroup(fields, 'consumerGroup');
    const clientId = requiredString(fields, 'clientId');
    return callClient(deps, request, group, clientId, { ...fields }, request.body);
  };
}

export function createConsumeMessageDirectlyHandler(deps: BrokerDeps): RequestHandler {
  return (request) => {
    const fields = fieldsOf(request);
    const group = requiredGroup(fields, 'consumerGroup');
    const clientId = requiredString(fields, 'clientId');
    const msgId = requiredString(fields, 'msgId');
    const extFields: Record<string, string> = { ...fields, brokerName: deps.config.brokerName };
    const topic = optionalString(fields, 'topic');
    const topicConfig = topic ? deps.topicConfigManager.get(topic) : undefined;
    if (topicConfig) extFields.topicSysFlag = String(topicConfig.topicSysFlag);
    const groupConfig = deps.subscriptionGroupManager.get(group);
    if (groupConfig) extFields.groupSysFlag = String(groupConfig.groupSysFlag);
    const decoded = decodeOffsetMessageId(msgId);
    const record = decoded === null ? null : deps.store.readRecord(decoded.physicalOffset);
    return callClient(deps, request, group, clientId, extFields, record ?? request.body);
  };
}
