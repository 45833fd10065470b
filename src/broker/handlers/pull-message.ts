/**
 * PULL_MESSAGE (11) and LITE_PULL_MESSAGE (361). Checks the broker, group and topic permissions and the
 * queue id, finds the subscription (from the header when sysFlag has the subscription bit, else from
 * the group's heartbeats), commits the offset the client piggybacks (commit bit), reads up to
 * `maxMsgsNumBatch` messages / `maxTransferBytesOnMessageInMemory` bytes through the subscription's
 * filter and answers FOUND (0, body = raw records end to end), PULL_NOT_FOUND (19),
 * PULL_RETRY_IMMEDIATELY (20) or PULL_OFFSET_MOVED (21) with nextBeginOffset, minOffset, maxOffset
 * and suggestWhichBrokerId.
 *
 * Filters (filter/subscription-filter.ts): TAG by tags code, then exact tag; SQL92 on the message
 * properties when enablePropertyFilter is on, compiled once per group, topic and subVersion. SQL92
 * while it is off, an unknown expression type or a malformed expression answer
 * SUBSCRIPTION_PARSE_FAILED (23); for a malformed one the remark gives the line, column and offset.
 *
 * Long polling: a pull with the suspend bit that finds nothing is held (the handler returns null) and
 * answered later through `context.reply`, when a message arrives or the suspend time is up (see
 * long-polling/pull-request-hold-service.ts). The records are read on the thread pool; when that
 * read finds nothing, the queue is looked at once more synchronously and the request held in the same
 * turn, so no message can arrive between "found nothing" and "held".
 */
import { ResponseCode, TideError } from '../../common/errors.js';
import { createResponse, type RemotingCommand, type RemotingConnection, type RequestContext, type RequestHandler } from '../../protocol/remoting-command.js';
import type { GetMessageStatus } from '../../store/types.js';
import { getMessagesForPull } from '../../store/message-store.js';
import type { BrokerDeps } from '../broker-deps.js';
import { fieldsOf, optionalInteger, optionalString, requiredInteger, requiredString } from '../header-fields.js';
import { MessageModel } from '../consumer-manager.js';
import { isReadable } from '../../protocol/route-data.js';
import { createSubscriptionFilter, sql92CacheOf } from '../filter/index.js';
import { buildSubscriptionData, type SubscriptionData } from '../subscription-data.js';
import { validateTopic } from '../topic-config-manager.js';
import { errorAnswer } from './handler-support.js';

export const PullSysFlag = {
  COMMIT_OFFSET: 0x1,
  SUSPEND: 0x2,
  SUBSCRIPTION: 0x4,
  CLASS_FILTER: 0x8,
  LITE_PULL: 0x10,
} as const;

/** Longest a pull is held, whatever suspendTimeoutMillis asks (Java clients ask 15-20 s). */
const MAX_SUSPEND_MS = 300_000;

export interface PullMessageRequestHeader {
  consumerGroup: string;
  topic: string;
  queueId: number;
  queueOffset: number;
  maxMsgNums: number;
  sysFlag: number;
  commitOffset: number;
  suspendTimeoutMillis: number;
  subscription: string | undefined;
  subVersion: number;
  expressionType: string | undefined;
  maxMsgBytes: number | undefined;
}

export function parsePullMessageHeader(request: RemotingCommand): PullMessageRequestHeader {
  const fields = fieldsOf(request);
  return {
    consumerGroup: requiredString(fields, 'consumerGroup'),
    topic: requiredString(fields, 'topic'),
    queueId: requiredInteger(fields, 'queueId'),
    queueOffset: requiredInteger(fields, 'queueOffset'),
    maxMsgNums: requiredInteger(fields, 'maxMsgNums'),
    sysFlag: requiredInteger(fields, 'sysFlag'),
    commitOffset: requiredInteger(fields, 'commitOffset'),
    suspendTimeoutMillis: requiredInteger(fields, 'suspendTimeoutMillis'),
    subscription: optionalString(fields, 'subscription'),
    subVersion: optionalInteger(fields, 'subVersion') ?? 0,
    expressionType: optionalString(fields, 'expressionType'),
    maxMsgBytes: optionalInteger(fields, 'maxMsgBytes'),
  };
}

/** Store status → remoting code, as Java's PullMessageProcessor maps them. */
export function pullResponseCode(status: GetMessageStatus, requestedOffset: number): number {
  switch (status) {
    case 'FOUND':
      return ResponseCode.SUCCESS;
    case 'NO_MATCHED_MESSAGE':
      return ResponseCode.PULL_RETRY_IMMEDIATELY;
    case 'NO_MATCHED_LOGIC_QUEUE':
    case 'NO_MESSAGE_IN_QUEUE':
      return requestedOffset !== 0 ? ResponseCode.PULL_OFFSET_MOVED : ResponseCode.PULL_NOT_FOUND;
    case 'OFFSET_FOUND_NULL':
    case 'OFFSET_OVERFLOW_ONE':
      return ResponseCode.PULL_NOT_FOUND;
    case 'OFFSET_OVERFLOW_BADLY':
    case 'OFFSET_TOO_SMALL':
      return ResponseCode.PULL_OFFSET_MOVED;
  }
}

export function createPullMessageHandler(deps: BrokerDeps): RequestHandler {
  const { config, store, subscriptionGroupManager, topicConfigManager, consumerManager, consumerOffsetManager, pullHoldService } = deps;
  const sql92Cache = sql92CacheOf(deps);

  function resolveSubscription(header: PullMessageRequestHeader): SubscriptionData {
    if ((header.sysFlag & PullSysFlag.SUBSCRIPTION) !== 0) {
      return buildSubscriptionData(header.topic, header.subscription, header.expressionType, header.subVersion);
    }
    const group = consumerManager.getGroup(header.consumerGroup);
    if (!group) {
      throw new TideError('INVALID_PARAMETER', `the consumer's group info not exist: no heartbeat from group ${header.consumerGroup}`, { responseCode: ResponseCode.SUBSCRIPTION_NOT_EXIST });
    }
    const groupConfig = subscriptionGroupManager.get(header.consumerGroup);
    if (groupConfig && !groupConfig.consumeBroadcastEnable && group.messageModel === MessageModel.BROADCASTING) {
      throw new TideError('NO_PERMISSION', `the consumer group[${header.consumerGroup}] can not consume by broadcast way`);
    }
    const subscription = group.findSubscription(header.topic);
    if (!subscription) {
      throw new TideError('INVALID_PARAMETER', `the consumer's subscription not exist: group ${header.consumerGroup} has no subscription to ${header.topic}`, { responseCode: ResponseCode.SUBSCRIPTION_NOT_EXIST });
    }
    if (subscription.subVersion < header.subVersion) {
      throw new TideError('INVALID_PARAMETER', "the consumer's subscription not latest", { responseCode: ResponseCode.SUBSCRIPTION_NOT_LATEST });
    }
    return subscription;
  }

  /**
   * One pass of a pull. Returns null when the request was held for long polling. The records are
   * read on the thread pool (a backlog no longer in the page cache must not stall the event loop);
   * an empty answer is checked once more synchronously right before the request is held, so a
   * message stored while the read was under way cannot be missed by the hold.
   */
  async function processPull(
    request: RemotingCommand,
    header: PullMessageRequestHeader,
    connection: RemotingConnection,
    context: RequestContext,
    allowSuspend: boolean,
  ): Promise<RemotingCommand | null> {
    if (!isReadable(config.brokerPermission)) {
      throw new TideError('NO_PERMISSION', `the broker[${config.brokerIP1}] pulling message is forbidden`);
    }
    const groupConfig = subscriptionGroupManager.findOrCreate(header.consumerGroup);
    if (!groupConfig.consumeEnable) {
      throw new TideError('NO_PERMISSION', `subscription group no permission, ${header.consumerGroup}`);
    }
    validateTopic(header.topic);
    const topicConfig = topicConfigManager.get(header.topic);
    if (!topicConfig) {
      throw new TideError('TOPIC_NOT_EXIST', `topic[${header.topic}] not exist, apply first please! Create it with \`tidemq admin updateTopic -t ${header.topic}\``);
    }
    if (!isReadable(topicConfig.perm)) {
      throw new TideError('NO_PERMISSION', `the topic[${header.topic}] pulling message is forbidden`);
    }
    if (header.queueId < 0 || header.queueId >= topicConfig.readQueueNums) {
      throw new TideError('QUEUE_ID_INVALID', `queueId[${header.queueId}] is illegal, topic:[${header.topic}] topicConfig.readQueueNums:[${topicConfig.readQueueNums}] consumer:[${connection.remoteAddress}]`);
    }
    const subscription = resolveSubscription(header);
    // TAG or SQL92; SQL92 switched off, unknown types and malformed expressions answer 23 with why.
    const filter = createSubscriptionFilter(header.consumerGroup, subscription, config, sql92Cache);
    if (allowSuspend && (header.sysFlag & PullSysFlag.COMMIT_OFFSET) !== 0 && header.commitOffset >= 0) {
      consumerOffsetManager.commitOffset(header.consumerGroup, header.topic, header.queueId, header.commitOffset);
    }
    const maxCount = Math.max(1, Math.min(header.maxMsgNums, config.maxMsgsNumBatch));
    const maxBytes = Math.max(1, Math.min(header.maxMsgBytes ?? Number.MAX_SAFE_INTEGER, config.maxTransferBytesOnMessageInMemory));
    let result = await getMessagesForPull(store, header.topic, header.queueId, header.queueOffset, maxCount, maxBytes, filter);
    let code = pullResponseCode(result.status, header.queueOffset);
    const mayHold = code === ResponseCode.PULL_NOT_FOUND && allowSuspend && (header.sysFlag & PullSysFlag.SUSPEND) !== 0;
    if (mayHold) {
      result = store.getMessages(header.topic, header.queueId, header.queueOffset, maxCount, maxBytes, filter);
      code = pullResponseCode(result.status, header.queueOffset);
    }
    if (code === ResponseCode.PULL_NOT_FOUND && mayHold) {
      const holdMs = config.longPollingEnable ? Math.min(Math.max(0, header.suspendTimeoutMillis), MAX_SUSPEND_MS) : config.shortPollingTimeMills;
      const held = pullHoldService.hold({
        topic: header.topic,
        queueId: header.queueId,
        queueOffset: header.queueOffset,
        connection,
        deadlineMs: Date.now() + holdMs,
        filter,
        wake: () => {
          processPull(request, header, connection, context, false)
            .then(
              (response) => {
                if (response) context.reply(response);
              },
              (error: unknown) => context.reply(errorAnswer(request, error, deps.logger)),
            )
            .catch((error: unknown) => deps.logger.warn({ err: error }, 'answering a woken pull failed'));
        },
      });
      if (held) return null;
      throw new TideError('SYSTEM_BUSY', `the broker holds no more pull requests (maxHeldPullRequests=${config.maxHeldPullRequests}, or it is shutting down); retry later`);
    }
    const extFields: Record<string, string> = {
      suggestWhichBrokerId: '0',
      nextBeginOffset: String(result.nextBeginOffset),
      minOffset: String(result.minOffset),
      maxOffset: String(result.maxOffset),
      topicSysFlag: String(topicConfig.topicSysFlag),
      groupSysFlag: String(groupConfig.groupSysFlag),
    };
    const body = code === ResponseCode.SUCCESS && result.records.length > 0 ? Buffer.concat(result.records) : undefined;
    if (code === ResponseCode.PULL_OFFSET_MOVED) {
      deps.logger.info({ group: header.consumerGroup, topic: header.topic, queueId: header.queueId, requested: header.queueOffset, next: result.nextBeginOffset }, 'pull offset moved');
    }
    return createResponse(request, code, result.status, extFields, body);
  }

  return (request, context) => {
    const header = parsePullMessageHeader(request);
    return processPull(request, header, context.connection, context, true);
  };
}
