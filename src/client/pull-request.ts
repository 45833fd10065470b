/**
 * PULL_MESSAGE (11) and its answer (reference §2.2). Header: consumerGroup, topic, queueId,
 * queueOffset, maxMsgNums, sysFlag (1 commit offset, 2 suspend = long poll, 4 subscription in the
 * header, 8 class filter, 16 lite pull), commitOffset, suspendTimeoutMillis, subscription, subVersion,
 * expressionType, maxMsgBytes. Answer: nextBeginOffset, minOffset, maxOffset, suggestWhichBrokerId and,
 * when found (0), records end to end; 19 nothing new, 20 nothing matched the filter, 21 offset out of
 * range. Any other code is an error.
 */
import { ResponseCode } from '../common/errors.js';
import { createRequest } from '../protocol/remoting-command.js';
import { RequestCode } from '../protocol/request-code.js';
import { brokerError } from './client-errors.js';
import type { ClientInstance } from './client-instance.js';
import { decodeMessages } from './message-codec.js';
import type { ReceivedMessage } from './message.js';
import type { MessageQueue } from './message-queue.js';
import type { SubscriptionData } from './subscription.js';

export const PullSysFlag = {
  COMMIT_OFFSET: 0x1,
  SUSPEND: 0x2,
  SUBSCRIPTION: 0x4,
  CLASS_FILTER: 0x8,
  LITE_PULL: 0x10,
} as const;

export const PullStatus = {
  FOUND: 'FOUND',
  NO_NEW_MSG: 'NO_NEW_MSG',
  NO_MATCHED_MSG: 'NO_MATCHED_MSG',
  OFFSET_ILLEGAL: 'OFFSET_ILLEGAL',
} as const;
export type PullStatus = (typeof PullStatus)[keyof typeof PullStatus];

export interface PullResult {
  status: PullStatus;
  nextBeginOffset: number;
  minOffset: number;
  maxOffset: number;
  messages: ReceivedMessage[];
}

export interface PullParameters {
  group: string;
  queue: MessageQueue;
  offset: number;
  maxMessages: number;
  subscription: SubscriptionData;
  /** Piggybacked commit (clustering); ≤ 0 sends none. */
  commitOffset: number;
  /** 0 = answer at once; otherwise the broker may hold the pull this long. */
  suspendMs: number;
  timeoutMs: number;
  signal?: AbortSignal | undefined;
  lite?: boolean;
}

function statusOf(code: number): PullStatus | undefined {
  switch (code) {
    case ResponseCode.SUCCESS:
      return PullStatus.FOUND;
    case ResponseCode.PULL_NOT_FOUND:
      return PullStatus.NO_NEW_MSG;
    case ResponseCode.PULL_RETRY_IMMEDIATELY:
      return PullStatus.NO_MATCHED_MSG;
    case ResponseCode.PULL_OFFSET_MOVED:
      return PullStatus.OFFSET_ILLEGAL;
    default:
      return undefined;
  }
}

export async function pullMessages(instance: ClientInstance, address: string, parameters: PullParameters): Promise<PullResult> {
  const { queue, subscription } = parameters;
  let sysFlag = PullSysFlag.SUBSCRIPTION;
  if (parameters.commitOffset > 0) sysFlag |= PullSysFlag.COMMIT_OFFSET;
  if (parameters.suspendMs > 0) sysFlag |= PullSysFlag.SUSPEND;
  if (parameters.lite === true) sysFlag |= PullSysFlag.LITE_PULL;
  const request = createRequest(RequestCode.PULL_MESSAGE, {
    consumerGroup: parameters.group,
    topic: queue.topic,
    queueId: String(queue.queueId),
    queueOffset: String(parameters.offset),
    maxMsgNums: String(parameters.maxMessages),
    sysFlag: String(sysFlag),
    commitOffset: String(Math.max(0, parameters.commitOffset)),
    suspendTimeoutMillis: String(parameters.suspendMs),
    subscription: subscription.subString,
    subVersion: String(subscription.subVersion),
    expressionType: subscription.expressionType,
  });
  const what = `pull ${queue.topic}#${queue.queueId}@${queue.brokerName} from offset ${parameters.offset}`;
  const response = await instance.invoke(address, request, what, parameters.timeoutMs, parameters.signal);
  const status = statusOf(response.code);
  if (status === undefined) throw brokerError(response.code, response.remark, address, what);
  const fields = response.extFields ?? {};
  const nextBeginOffset = Number(fields.nextBeginOffset ?? parameters.offset);
  return {
    status,
    nextBeginOffset: Number.isSafeInteger(nextBeginOffset) ? nextBeginOffset : parameters.offset,
    minOffset: Number(fields.minOffset ?? 0),
    maxOffset: Number(fields.maxOffset ?? 0),
    messages: status === PullStatus.FOUND && response.body !== undefined ? decodeMessages(response.body, queue, instance.logger) : [],
  };
}
