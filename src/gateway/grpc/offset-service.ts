/**
 * The offset-based RPCs the Java 5.x PullConsumer uses: PullMessage (server streaming: status, then
 * the messages, then next_offset), UpdateOffset / GetOffset (the group's committed offsets, shared
 * with remoting consumers) and QueryOffset (BEGINNING = min offset, END = max offset, TIMESTAMP = the
 * first message stored at or after the time).
 *
 * A pull that finds nothing waits up to its long_polling_timeout (clamped to the gateway's polling
 * bounds and the deadline) for the queue to grow: waiting pulls are kept in one list checked by one
 * shared timer, bounded by `maxHeldPulls` (past it the pull answers at once).
 */
import { buildSubscriptionData, createTagFilter } from '../../broker/subscription-data.js';
import { decodeRecord } from '../../protocol/message-record.js';
import { Code, OK_STATUS, status, StatusError } from './code.js';
import type { GatewayContext } from './gateway-context.js';
import { toMessagePb } from './outbound-message.js';
import {
  FilterType, QueryOffsetPolicy, toMillis,
  type GetOffsetRequestPb, type MessageQueuePb, type OutgoingMessagePb, type PullMessageRequestPb, type QueryOffsetRequestPb, type StatusPb, type UpdateOffsetRequestPb,
} from './proto-types.js';
import type { CallContext } from './request-context.js';
import { requireTopic } from './route-service.js';
import { validateGroup, validateTopic } from './validators.js';

/** Most bytes one PullMessage returns. */
const MAX_PULL_BYTES = 4 * 1024 * 1024;
const PULL_CHECK_INTERVAL_MS = 50;

export type PullMessageResponsePb = { status: StatusPb } | { message: OutgoingMessagePb } | { next_offset: number };

interface HeldPull {
  topic: string;
  queueId: number;
  offset: number;
  deadlineMs: number;
  wake: () => void;
}

/** Pulls waiting for their queue to grow, checked by one timer. */
export class PullWaiters {
  private readonly held: HeldPull[] = [];
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly maxHeld: number, private readonly maxOffsetOf: (topic: string, queueId: number) => number) {}

  /** Resolves when the queue has a message at or past `offset`, the deadline passes, or the signal aborts. */
  wait(topic: string, queueId: number, offset: number, deadlineMs: number, signal: AbortSignal): Promise<void> {
    if (this.held.length >= this.maxHeld || signal.aborted) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const entry: HeldPull = {
        topic, queueId, offset, deadlineMs,
        wake: () => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      const onAbort = (): void => this.remove(entry);
      signal.addEventListener('abort', onAbort, { once: true });
      this.held.push(entry);
      if (!this.timer) {
        this.timer = setInterval(() => this.check(Date.now()), PULL_CHECK_INTERVAL_MS);
        this.timer.unref();
      }
    });
  }

  wakeAll(): void {
    for (const entry of this.held.splice(0)) entry.wake();
    this.stopIfIdle();
  }

  private remove(entry: HeldPull): void {
    const index = this.held.indexOf(entry);
    if (index >= 0) this.held.splice(index, 1);
    entry.wake();
    this.stopIfIdle();
  }

  private check(nowMs: number): void {
    let kept = 0;
    for (const entry of this.held) {
      if (nowMs >= entry.deadlineMs || this.maxOffsetOf(entry.topic, entry.queueId) > entry.offset) entry.wake();
      else this.held[kept++] = entry;
    }
    this.held.length = kept;
    this.stopIfIdle();
  }

  private stopIfIdle(): void {
    if (this.held.length === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = null;
    }
  }
}

function queueOf(context: GatewayContext, messageQueue: MessageQueuePb | null): { topic: string; queueId: number } {
  const topic = validateTopic(messageQueue?.topic, context.deps.topicConfigManager);
  const config = requireTopic(context, topic);
  const queueId = messageQueue?.id ?? -1;
  if (!Number.isInteger(queueId) || queueId < 0 || queueId >= Math.max(config.readQueueNums, config.writeQueueNums)) {
    throw new StatusError(Code.BAD_REQUEST, `queue ${queueId} does not exist in topic ${topic}`);
  }
  return { topic, queueId };
}

export async function pullMessage(
  context: GatewayContext,
  waiters: PullWaiters,
  call: CallContext,
  request: PullMessageRequestPb,
  signal: AbortSignal,
): Promise<PullMessageResponsePb[]> {
  validateGroup(request.group);
  const { topic, queueId } = queueOf(context, request.message_queue);
  const offset = request.offset;
  if (!Number.isSafeInteger(offset) || offset < 0) throw new StatusError(Code.ILLEGAL_OFFSET, `offset ${offset} is illegal`);
  if (!Number.isInteger(request.batch_size) || request.batch_size <= 0) throw new StatusError(Code.BAD_REQUEST, 'batch size must be positive');
  const expression = request.filter_expression;
  if (expression?.type === FilterType.SQL) throw new StatusError(Code.ILLEGAL_FILTER_EXPRESSION, 'SQL92 filtering is not enabled on this broker');
  const filter = createTagFilter(buildSubscriptionData(topic, expression?.expression ?? '*'));
  const batch = Math.min(request.batch_size, context.settings.maxPullBatchSize);
  const { store } = context.deps;
  const { minLongPollingTimeoutMs: min, maxLongPollingTimeoutMs: max, longPollingReserveMs } = context.settings;
  const polling = request.long_polling_timeout ? Math.min(Math.max(toMillis(request.long_polling_timeout), min), max) : 0;
  const deadlineMs = Math.min(Date.now() + polling, call.deadlineMs - longPollingReserveMs);

  let result = store.getMessages(topic, queueId, offset, batch, MAX_PULL_BYTES, filter);
  while (result.status !== 'FOUND' && result.nextBeginOffset === offset && Date.now() < deadlineMs && !signal.aborted) {
    await waiters.wait(topic, queueId, offset, deadlineMs, signal);
    result = store.getMessages(topic, queueId, offset, batch, MAX_PULL_BYTES, filter);
  }
  const responses: PullMessageResponsePb[] = [];
  if (result.status === 'FOUND') {
    responses.push({ status: OK_STATUS });
    result.records.forEach((bytes, index) => {
      const record = decodeRecord(bytes);
      if (record === null) return;
      responses.push({
        message: toMessagePb({ record, topic, queueId, queueOffset: result.queueOffsets[index] ?? record.queueOffset, reconsumeTimes: record.reconsumeTimes }, { maxInflatedBodyBytes: context.settings.maxInflatedBodyBytes }),
      });
    });
  } else if (result.status === 'OFFSET_TOO_SMALL' || result.status === 'OFFSET_OVERFLOW_BADLY') {
    responses.push({ status: status(Code.ILLEGAL_OFFSET, `offset ${offset} is outside [${result.minOffset}, ${result.maxOffset}]`) });
  } else {
    responses.push({ status: status(Code.MESSAGE_NOT_FOUND, 'no new message') });
  }
  responses.push({ next_offset: result.nextBeginOffset });
  return responses;
}

export function updateOffset(context: GatewayContext, request: UpdateOffsetRequestPb): { status: StatusPb } {
  const group = validateGroup(request.group);
  const { topic, queueId } = queueOf(context, request.message_queue);
  if (!Number.isSafeInteger(request.offset) || request.offset < 0) throw new StatusError(Code.ILLEGAL_OFFSET, `offset ${request.offset} is illegal`);
  context.deps.consumerOffsetManager.commitOffset(group, topic, queueId, request.offset);
  return { status: OK_STATUS };
}

export function getOffset(context: GatewayContext, request: GetOffsetRequestPb): { status: StatusPb; offset: number } {
  const group = validateGroup(request.group);
  const { topic, queueId } = queueOf(context, request.message_queue);
  const offset = context.deps.consumerOffsetManager.queryOffset(group, topic, queueId);
  if (offset < 0) return { status: status(Code.OFFSET_NOT_FOUND, `group ${group} has no offset for ${topic}:${queueId}`), offset: 0 };
  return { status: OK_STATUS, offset };
}

export function queryOffset(context: GatewayContext, request: QueryOffsetRequestPb): { status: StatusPb; offset: number } {
  const { topic, queueId } = queueOf(context, request.message_queue);
  const { store } = context.deps;
  switch (request.query_offset_policy) {
    case QueryOffsetPolicy.BEGINNING:
      return { status: OK_STATUS, offset: store.getMinOffsetInQueue(topic, queueId) };
    case QueryOffsetPolicy.END:
      return { status: OK_STATUS, offset: store.getMaxOffsetInQueue(topic, queueId) };
    case QueryOffsetPolicy.TIMESTAMP: {
      if (!request.timestamp) throw new StatusError(Code.BAD_REQUEST, 'a TIMESTAMP query needs a timestamp');
      return { status: OK_STATUS, offset: store.getOffsetInQueueByTime(topic, queueId, toMillis(request.timestamp), 'lower') };
    }
    default:
      throw new StatusError(Code.BAD_REQUEST, `unknown query offset policy ${request.query_offset_policy}`);
  }
}
