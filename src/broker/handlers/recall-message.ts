/**
 * RECALL_MESSAGE (370, RocketMQ 5.3): header `topic`, `recallHandle` (from the send answer of a timer
 * message, see timer/recall-handle.ts), `producerGroup`, `brokerName`. Before the message is due the
 * timer drops it instead of delivering it (the recall is durable before the answer); the answer
 * carries `msgId` = the message's UNIQ_KEY. Checks and answers follow the Java broker: a slave
 * answers SLAVE_NOT_AVAILABLE (11), a broker without write permission SERVICE_NOT_AVAILABLE (14), an
 * unknown topic TOPIC_NOT_EXIST (17); a handle that does not decode, names another topic or broker,
 * or whose time has passed (or is beyond the horizon) answers ILLEGAL_OPERATION (604). Like Java,
 * a recall of a handle whose message was never parked still succeeds: there is simply nothing to drop.
 */
import { ResponseCode } from '../../common/errors.js';
import type { RequestHandler } from '../../protocol/remoting-command.js';
import { isWriteable } from '../../protocol/route-data.js';
import type { BrokerDeps } from '../broker-deps.js';
import { fieldsOf, requiredString } from '../header-fields.js';
import { decodeRecallHandle } from '../timer/recall-handle.js';
import { answer } from './handler-support.js';

export function createRecallMessageHandler(deps: BrokerDeps): RequestHandler {
  const { config, topicConfigManager, scheduleService } = deps;
  // The broker builds the schedule service without its config; the timer reads its keys from it.
  scheduleService.useBrokerConfig(config);
  const timer = scheduleService.timer;

  return async (request) => {
    const fields = fieldsOf(request);
    const region = { MSG_REGION: config.regionId };
    const fail = (code: number, remark: string) => answer(request, code, remark, region);
    if (config.brokerRole === 'SLAVE') return fail(ResponseCode.SLAVE_NOT_AVAILABLE, 'recall failed, broker service not available');
    if (!isWriteable(config.brokerPermission)) return fail(ResponseCode.SERVICE_NOT_AVAILABLE, 'recall failed, broker service not available');
    const topic = requiredString(fields, 'topic');
    if (!topicConfigManager.get(topic)) return fail(ResponseCode.TOPIC_NOT_EXIST, `recall failed, the topic[${topic}] not exist`);
    const handle = decodeRecallHandle(fields.recallHandle);
    if (handle === null) return fail(ResponseCode.ILLEGAL_OPERATION, 'recall handle is invalid');
    if (handle.topic !== topic) return fail(ResponseCode.ILLEGAL_OPERATION, 'recall failed, topic not match');
    if (handle.brokerName !== config.brokerName) return fail(ResponseCode.ILLEGAL_OPERATION, 'recall failed, broker service not available');
    const timestamp = /^\d{1,16}$/.test(handle.timestamp) ? Number(handle.timestamp) : -1;
    const timeLeftMs = timestamp - Date.now();
    const maxDelayMs = timer.currentSettings.timerMaxDelaySec * 1000;
    const liveMaxDelaySec = Number((config as unknown as Record<string, unknown>).timerMaxDelaySec);
    const horizonMs = Number.isSafeInteger(liveMaxDelaySec) && liveMaxDelaySec > 0 ? liveMaxDelaySec * 1000 : maxDelayMs;
    // Java refuses timeLeft >= horizon; a handle of a message parked at the horizon is up to 1 ms further.
    if (timeLeftMs <= 0 || timeLeftMs > horizonMs + 1) return fail(ResponseCode.ILLEGAL_OPERATION, 'recall failed, timestamp invalid');
    // The handle carries the parked delivery time plus one (RocketMQ's encoding).
    const outcome = await timer.recall(handle.messageId, timestamp - 1);
    if (outcome === 'ALREADY_DELIVERED') return fail(ResponseCode.ILLEGAL_OPERATION, 'recall failed, timestamp invalid: the message was already delivered');
    return answer(request, ResponseCode.SUCCESS, undefined, { ...region, msgId: handle.messageId });
  };
}
