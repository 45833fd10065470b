/**
 * ReceiveMessage (server streaming): one `status` first, then one `message` each, then a
 * `delivery_timestamp`, then the end — the order the proxy writes and the clients read. Messages come
 * from the broker's PopService across all queues of the topic (queue −1, as the proxy pops whatever
 * queue the client names), long-polling inside the client's deadline:
 * - polling time = the request's long_polling_timeout (else the time left minus half the client's
 *   request timeout), clamped to [minLongPollingTimeoutMs, maxLongPollingTimeoutMs] and to the
 *   deadline; too little time left → ILLEGAL_POLLING_TIME;
 * - invisible time = the request's (within [minInvisibleTimeMsForReceive, maxInvisibleTimeMs], else
 *   ILLEGAL_INVISIBLE_TIME), or 60 s renewed by the gateway when the client asks for auto_renew;
 * - a message delivered `maxAttempts` (group retryMaxTimes + 1) times already goes to the DLQ instead.
 * Answers: OK with messages; MESSAGE_NOT_FOUND when nothing came (the clients treat it as empty);
 * TOO_MANY_REQUESTS when too many receives are waiting. Messages popped for a stream that went away
 * before they were written are made visible again after `nackInvisibleTimeMs`.
 */
import { isTideError } from '../../common/errors.js';
import { decodeRecord } from '../../protocol/message-record.js';
import { isReadable } from '../../protocol/route-data.js';
import type { PopFilter, PoppedMessage } from '../../broker/pop/pop-service.js';
import { buildSubscriptionData, SUBSCRIBE_ALL } from '../../broker/subscription-data.js';
import type { SubscriptionGroupConfig } from '../../broker/subscription-group-manager.js';
import { Code, OK_STATUS, status, StatusError } from './code.js';
import { forwardToDeadLetterQueue } from './dead-letter.js';
import type { GatewayContext } from './gateway-context.js';
import { toMessagePb } from './outbound-message.js';
import { FilterType, fromMillis, toMillis, type OutgoingMessagePb, type ReceiveMessageRequestPb, type StatusPb, type TimestampPb } from './proto-types.js';
import { encodeReceiptHandle } from './receipt-handle.js';
import type { CallContext } from './request-context.js';
import { requireTopic } from './route-service.js';
import { validateGroup, validateInvisibleTime, validateTopic } from './validators.js';
import { getProperty, MessageProperty } from '../../protocol/message-properties.js';

export type ReceiveMessageResponsePb = { status: StatusPb } | { message: OutgoingMessagePb } | { delivery_timestamp: TimestampPb };

/** The part of the server stream ReceiveMessage writes to. */
export interface ReceiveStream {
  write(response: ReceiveMessageResponsePb): boolean;
  end(): void;
  readonly cancelled: boolean;
}

/** The client's request timeout when it did not report one (the clients' default). */
const DEFAULT_REQUEST_TIMEOUT_MS = 3_000;

export class ReceiveLimiter {
  private active = 0;
  constructor(private readonly max: number) {}
  tryAcquire(): boolean {
    if (this.active >= this.max) return false;
    this.active++;
    return true;
  }
  release(): void {
    this.active--;
  }
}

function pollingTimeMs(context: GatewayContext, call: CallContext, request: ReceiveMessageRequestPb, nowMs: number): number {
  const { minLongPollingTimeoutMs: min, maxLongPollingTimeoutMs: max, longPollingReserveMs } = context.settings;
  const remaining = call.deadlineMs - nowMs - longPollingReserveMs;
  let polling: number;
  if (request.long_polling_timeout !== undefined && request.long_polling_timeout !== null) {
    polling = toMillis(request.long_polling_timeout);
  } else {
    const settings = call.clientId !== undefined ? context.channels.get(call.clientId)?.settings : undefined;
    const requestTimeout = settings?.request_timeout ? toMillis(settings.request_timeout) : DEFAULT_REQUEST_TIMEOUT_MS;
    polling = remaining - requestTimeout / 2;
  }
  polling = Math.min(Math.max(polling, min), max);
  if (polling > remaining) {
    if (remaining >= min) return Math.floor(remaining);
    throw new StatusError(Code.ILLEGAL_POLLING_TIME, 'The deadline time remaining is not enough for polling, please check network condition');
  }
  return Math.floor(polling);
}

function filterOf(context: GatewayContext, request: ReceiveMessageRequestPb, topic: string): { filter: PopFilter | undefined; tags: ReadonlySet<string> | undefined } {
  const expression = request.filter_expression;
  if (!expression) return { filter: undefined, tags: undefined };
  if (expression.type === FilterType.SQL) {
    if (!context.deps.config.enablePropertyFilter) {
      throw new StatusError(Code.ILLEGAL_FILTER_EXPRESSION, 'SQL92 filtering is not enabled on this broker (enablePropertyFilter=false)');
    }
    return { filter: { type: 'SQL92', expression: expression.expression }, tags: undefined };
  }
  const subscription = buildSubscriptionData(topic, expression.expression);
  if (subscription.subString === SUBSCRIBE_ALL) return { filter: undefined, tags: undefined };
  return { filter: { type: 'TAG', expression: subscription.subString }, tags: new Set(subscription.tagsSet) };
}

function groupConfigOf(context: GatewayContext, group: string): SubscriptionGroupConfig {
  try {
    return context.deps.subscriptionGroupManager.findOrCreate(group);
  } catch (error) {
    if (isTideError(error, 'SUBSCRIPTION_GROUP_NOT_EXIST')) throw new StatusError(Code.CONSUMER_GROUP_NOT_FOUND, error.message);
    throw error;
  }
}

interface PreparedReceive {
  group: string;
  topic: string;
  maxAttempts: number;
  autoRenew: boolean;
  invisibleTimeMs: number;
  pollTimeMs: number;
  batchSize: number;
  fifo: boolean;
  filter: PopFilter | undefined;
  tags: ReadonlySet<string> | undefined;
}

function prepare(context: GatewayContext, call: CallContext, request: ReceiveMessageRequestPb, nowMs: number): PreparedReceive {
  const topic = validateTopic(request.message_queue?.topic, context.deps.topicConfigManager);
  const group = validateGroup(request.group);
  const topicConfig = requireTopic(context, topic);
  if (!isReadable(topicConfig.perm & context.deps.config.brokerPermission)) throw new StatusError(Code.FORBIDDEN, 'no readable queue');
  const groupConfig = groupConfigOf(context, group);
  if (!groupConfig.consumeEnable) throw new StatusError(Code.FORBIDDEN, `the consumer group[${group}] is not allowed to consume`);
  const pollTimeMs = pollingTimeMs(context, call, request, nowMs);
  const autoRenew = request.auto_renew === true;
  const invisibleTimeMs = autoRenew ? context.settings.defaultInvisibleTimeMs : toMillis(request.invisible_duration);
  if (!autoRenew) validateInvisibleTime(invisibleTimeMs, context.settings.minInvisibleTimeMsForReceive, context.settings.maxInvisibleTimeMs);
  if (!Number.isInteger(request.batch_size) || request.batch_size <= 0) throw new StatusError(Code.BAD_REQUEST, 'batch size must be positive');
  const { filter, tags } = filterOf(context, request, topic);
  return {
    group,
    topic,
    maxAttempts: groupConfig.retryMaxTimes + 1,
    autoRenew,
    invisibleTimeMs,
    pollTimeMs,
    batchSize: Math.min(request.batch_size, context.settings.maxReceiveBatchSize),
    fifo: groupConfig.consumeMessageOrderly,
    filter,
    tags,
  };
}

/** Makes popped but undelivered messages visible again soon. */
function nack(context: GatewayContext, prepared: PreparedReceive, messages: readonly PoppedMessage[]): void {
  for (const message of messages) {
    try {
      context.pop.changeInvisibleTime(prepared.group, message.topic, message.receiptHandle, Math.max(context.settings.nackInvisibleTimeMs, context.settings.popMinInvisibleTimeMs));
    } catch (error) {
      context.logger.warn({ err: error, group: prepared.group }, 'could not release a popped message');
    }
  }
}

interface Delivery {
  message: OutgoingMessagePb;
  popped: PoppedMessage;
  receiptHandle: string;
}

async function toDeliveries(context: GatewayContext, call: CallContext, prepared: PreparedReceive, popped: readonly PoppedMessage[]): Promise<Delivery[]> {
  const deliveries: Delivery[] = [];
  const nowMs = Date.now();
  for (const message of popped) {
    const record = decodeRecord(message.record);
    if (record === null) {
      context.logger.error({ group: prepared.group, topic: message.topic, queueId: message.queueId, queueOffset: message.queueOffset }, 'popped a record that does not decode; skipping it');
      continue;
    }
    if (message.reconsumeTimes >= prepared.maxAttempts) {
      const messageId = getProperty(record.properties, MessageProperty.UNIQ_KEY) ?? '';
      const result = await forwardToDeadLetterQueue(context, {
        group: prepared.group, topic: message.topic, commitLogOffset: record.physicalOffset, popHandle: message.receiptHandle, messageId, clientId: call.clientId,
      });
      if (result.code !== Code.OK) context.logger.warn({ group: prepared.group, status: result }, 'forwarding an exhausted message to the DLQ failed');
      continue;
    }
    if (prepared.tags !== undefined && !prepared.tags.has(getProperty(record.properties, MessageProperty.TAGS) ?? '')) {
      // A tag-code collision the POP filter let through: not this consumer's message.
      context.pop.ack(prepared.group, message.topic, message.receiptHandle);
      continue;
    }
    const receiptHandle = encodeReceiptHandle({ commitLogOffset: record.physicalOffset, popHandle: message.receiptHandle });
    if (prepared.autoRenew && call.clientId !== undefined) {
      context.renewer.track(call.clientId, prepared.group, message.topic, receiptHandle, message.receiptHandle, nowMs);
    }
    const outgoing = toMessagePb({
      record,
      topic: message.topic,
      queueId: message.queueId,
      queueOffset: message.queueOffset,
      reconsumeTimes: message.reconsumeTimes,
      receiptHandle,
    }, { maxInflatedBodyBytes: context.settings.maxInflatedBodyBytes });
    deliveries.push({ message: outgoing, popped: message, receiptHandle });
  }
  return deliveries;
}

function finish(stream: ReceiveStream): void {
  if (!stream.cancelled) {
    stream.write({ delivery_timestamp: fromMillis(Date.now()) });
    stream.end();
  }
}

/** Serves one ReceiveMessage call; never throws (failures are written as the status). */
export async function receiveMessage(
  context: GatewayContext,
  limiter: ReceiveLimiter,
  call: CallContext,
  request: ReceiveMessageRequestPb,
  stream: ReceiveStream,
  signal: AbortSignal,
  statusOf: (error: unknown) => StatusPb,
): Promise<void> {
  let prepared: PreparedReceive;
  try {
    prepared = prepare(context, call, request, Date.now());
  } catch (error) {
    stream.write({ status: statusOf(error) });
    finish(stream);
    return;
  }
  if (!limiter.tryAcquire()) {
    stream.write({ status: status(Code.TOO_MANY_REQUESTS, 'too many receive requests are waiting') });
    finish(stream);
    return;
  }
  try {
    const result = await context.pop.pop({
      group: prepared.group,
      topic: prepared.topic,
      queueId: -1,
      maxMessages: prepared.batchSize,
      invisibleTimeMs: prepared.invisibleTimeMs,
      pollTimeMs: prepared.pollTimeMs,
      initMode: 'MAX',
      filter: prepared.filter,
      fifo: prepared.fifo,
      attemptId: request.attempt_id,
      signal,
    });
    if (stream.cancelled || signal.aborted) {
      nack(context, prepared, result.messages);
      return;
    }
    if (result.status === 'POLLING_FULL') {
      stream.write({ status: status(Code.TOO_MANY_REQUESTS, 'polling full') });
      return;
    }
    const deliveries = result.messages.length > 0 ? await toDeliveries(context, call, prepared, result.messages) : [];
    if (stream.cancelled) {
      for (const delivery of deliveries) context.renewer.untrack(prepared.group, delivery.receiptHandle);
      nack(context, prepared, deliveries.map((delivery) => delivery.popped));
      return;
    }
    if (deliveries.length === 0) {
      stream.write({ status: status(Code.MESSAGE_NOT_FOUND, result.messages.length > 0 ? 'no match message' : 'no new message') });
      return;
    }
    stream.write({ status: OK_STATUS });
    for (const delivery of deliveries) stream.write({ message: delivery.message });
  } catch (error) {
    if (!stream.cancelled) stream.write({ status: statusOf(error) });
  } finally {
    limiter.release();
    finish(stream);
  }
}
