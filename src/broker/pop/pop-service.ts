/**
 * POP consumption (RocketMQ 5.x): the broker hands messages out, hides them for an invisible time and
 * hands them out again unless they are acked in time. This is the API the remoting handlers
 * (pop-handlers.ts) and the gRPC gateway call.
 *
 * - pop: reads the queues (queue-popper.ts), records a checkpoint per queue in the pop log before
 *   answering, and long-polls (pop-long-polling.ts) when nothing is there.
 * - ack / changeInvisibleTime: find the checkpoint by the receipt handle (one hash lookup in the
 *   checkpoint table, checkpoint-table.ts) and set a bit, or replace the message's checkpoint by a
 *   new one of one message.
 * - One shared tick (tickIntervalMs) takes due checkpoints out of the expiry wheel and re-stores their
 *   un-acked messages (pop-reviver.ts: pop retry topic with reconsumeTimes + 1, or the DLQ), expires
 *   held pops, fdatasyncs the pop log every syncIntervalMs and compacts it past compactLogBytes. A
 *   revived checkpoint is dropped only once its copies are durable by the flush mode (store.waitDurable).
 *   The pop log is synced on its own schedule, so dropping it earlier could lose a message to a power cut.
 * - In-flight messages are capped per group (maxInflightMessagesPerGroup) and in total; past the cap
 *   a pop answers POLLING_FULL. The memory of the POP state has a hard limit (maxCheckpoints, about
 *   60 B each): past it pops and changes of invisible time fail with SYSTEM_BUSY.
 */
import { isTideError, ResponseCode, TideError } from '../../common/errors.js';
import type { Logger } from '../../common/logger.js';
import { isReadable, type TopicConfig } from '../../protocol/route-data.js';
import { decodeRecord } from '../../protocol/message-record.js';
import type { FlushStatus, MessageFilter } from '../../store/types.js';
import type { BrokerDeps } from '../broker-deps.js';
import { buildSubscriptionData, createTagFilter } from '../subscription-data.js';
import { validateTopic } from '../topic-config-manager.js';
import { NO_CHECKPOINT, type CheckpointSlot } from './checkpoint-table.js';
import { PopLongPolling } from './pop-long-polling.js';
import { PopReviver } from './pop-reviver.js';
import { PopState } from './pop-state.js';
import { QueuePopper, type PopCollector } from './queue-popper.js';
import {
  buildReceiptHandle,
  originalTopicOf,
  parseReceiptHandle,
  PopAnswerInfo,
  popRetryTopicOf,
  POP_ORDER_REVIVE_QUEUE_ID,
  POP_REVIVE_QUEUE_ID,
  realTopicOf,
  type ReceiptHandle,
} from './receipt-handle.js';
import { join } from 'node:path';

export interface PopFilter {
  type: 'TAG' | 'SQL92';
  expression: string;
}

export interface PopRequest {
  group: string;
  /** The topic as the client names it (never a retry topic). */
  topic: string;
  /** -1 = all readable queues of the topic (gRPC pops this way). */
  queueId: number;
  /** 1-32 (RocketMQ's limit). */
  maxMessages: number;
  invisibleTimeMs: number;
  /** Long polling: wait up to this long for a message when none is there; 0 = answer at once. */
  pollTimeMs: number;
  /** Where a queue this group never popped starts: MIN = its oldest message, MAX = its newest one. */
  initMode: 'MIN' | 'MAX';
  filter?: PopFilter | undefined;
  /** FIFO: a queue's next message is not handed out before the previous one is acked or given up. */
  fifo?: boolean | undefined;
  /** FIFO: a retried request with the same attempt id gets the same messages again. */
  attemptId?: string | undefined;
  /** Aborts a long poll (the caller went away); the pop then resolves NO_NEW_MSG. */
  signal?: AbortSignal | undefined;
}

export interface PoppedMessage {
  /** The raw commit-log record as stored (for a re-delivery: the copy in the pop retry topic). */
  record: Buffer;
  /** The original topic (retry topics mapped back). */
  topic: string;
  queueId: number;
  queueOffset: number;
  /** Delivery attempt = reconsumeTimes + 1. */
  reconsumeTimes: number;
  /** The extraInfo string a Java remoting client builds; ack/changeInvisibleTime take it back. */
  receiptHandle: string;
  popTimeMs: number;
  invisibleTimeMs: number;
}

export type PopStatus = 'FOUND' | 'NO_NEW_MSG' | 'POLLING_FULL';

export interface PopResult {
  status: PopStatus;
  messages: PoppedMessage[];
  popTimeMs: number;
  invisibleTimeMs: number;
  /** 0 for normal pops, 999 for FIFO pops (RocketMQ's POP_ORDER_REVIVE_QUEUE). */
  reviveQueueId: number;
  /** Messages left behind in the queues looked at. */
  restNum: number;
  /** The POP_MESSAGE answer-header strings (remoting clients build receipt handles from them). */
  startOffsetInfo: string;
  msgOffsetInfo: string;
  orderCountInfo: string;
}

export type AckStatus = 'OK' | 'INVALID_RECEIPT_HANDLE';

export interface ChangeInvisibleTimeResult {
  status: AckStatus;
  /** The new receipt handle (the old one stops working). */
  receiptHandle?: string;
  popTimeMs?: number;
  invisibleTimeMs?: number;
}

export interface PopServiceOptions {
  /** Directory of the pop log; default `<storePathRootDir>/pop`. */
  popDir?: string;
  /** Un-acked messages one group may have out; past it pops answer POLLING_FULL. Default 200,000. */
  maxInflightMessagesPerGroup?: number;
  /** Un-acked messages over all groups; past it pops answer POLLING_FULL. Default 2,000,000. */
  maxInflightMessages?: number;
  /**
   * The hard limit on the POP state this broker holds in memory: live checkpoints (one per pop of one
   * queue, 1-32 messages each, about 56 B each in checkpoint-table.ts and the expiry wheel). Past it
   * pops and changes of invisible time answer SYSTEM_BUSY instead of growing. Default MAX_POP_CHECKPOINTS.
   */
  maxCheckpoints?: number;
  /** Pops waiting (long polling) at once; past it POLLING_FULL. Default 10,000. */
  maxHeldPopRequests?: number;
  /** The shared tick, and the granularity of re-delivery times. Default 100 ms. */
  tickIntervalMs?: number;
  /** Held pops are tried again this often even without an arrival notification. Default 500 ms. */
  pollRecheckIntervalMs?: number;
  /** The pop log is fdatasynced this often. Default: the broker's flushIntervalCommitLog. */
  syncIntervalMs?: number;
  /** The pop log is compacted when its current file passes this size. Default 64 MiB. */
  compactLogBytes?: number;
  /** Allowed invisible times. Defaults 1 s and 12 h (the gRPC proxy's maximum). */
  minInvisibleTimeMs?: number;
  maxInvisibleTimeMs?: number;
  /** Longest long poll. Default 300 s. */
  maxPollTimeMs?: number;
  /** Checkpoints re-delivered per tick at most (the rest wait for the next tick). Default 2,000. */
  maxRevivesPerTick?: number;
  /** Percent of pops that read the pop retry topic before the topic itself (RocketMQ: 20). */
  popFromRetryPercent?: number;
  /** Back-off before a checkpoint whose re-delivery failed (disk full, ...) is tried again. Default 5 s. */
  reviveRetryDelayMs?: number;
  now?: () => number;
}

type ResolvedOptions = Required<Omit<PopServiceOptions, 'popDir' | 'now'>>;

/** The validated target of a pop. */
interface PopTarget {
  topicConfig: TopicConfig;
  filter: MessageFilter | undefined;
}

/** RocketMQ's limit on messages per pop. */
export const MAX_POP_MESSAGES = 32;
/**
 * Default hard limit on live checkpoints per broker: at most about 56 MiB of checkpoint table and
 * expiry wheel (1,000,000 invisible messages popped one at a time, up to 32 times that in batches).
 * The broker config has no POP limit property, so it is this constant (PopServiceOptions overrides it).
 */
export const MAX_POP_CHECKPOINTS = 1_000_000;
/** Pop-log bytes that could not be written past which pops are refused (a failing disk). */
const MAX_PENDING_LOG_BYTES = 16 * 1024 * 1024;

export class PopService {
  private readonly state: PopState;
  private readonly polling: PopLongPolling<PopResult>;
  private readonly reviver: PopReviver;
  private readonly popper: QueuePopper;
  private readonly options: ResolvedOptions;
  private readonly logger: Logger;
  private readonly now: () => number;
  private timer: NodeJS.Timeout | null = null;
  private lastSyncMs: number;
  private syncing: Promise<void> | null = null;
  private reviving: Promise<void> | null = null;
  private rotation = 0;
  private closed = false;

  constructor(private readonly deps: BrokerDeps, options: PopServiceOptions = {}) {
    this.logger = deps.logger;
    this.now = options.now ?? Date.now;
    this.options = {
      maxInflightMessagesPerGroup: options.maxInflightMessagesPerGroup ?? 200_000,
      maxInflightMessages: options.maxInflightMessages ?? 2_000_000,
      maxCheckpoints: options.maxCheckpoints ?? MAX_POP_CHECKPOINTS,
      maxHeldPopRequests: options.maxHeldPopRequests ?? 10_000,
      tickIntervalMs: options.tickIntervalMs ?? 100,
      pollRecheckIntervalMs: options.pollRecheckIntervalMs ?? 500,
      syncIntervalMs: options.syncIntervalMs ?? deps.config.flushIntervalCommitLog,
      compactLogBytes: options.compactLogBytes ?? 64 * 1024 * 1024,
      minInvisibleTimeMs: options.minInvisibleTimeMs ?? 1000,
      maxInvisibleTimeMs: options.maxInvisibleTimeMs ?? 12 * 3600 * 1000,
      maxPollTimeMs: options.maxPollTimeMs ?? 300_000,
      maxRevivesPerTick: options.maxRevivesPerTick ?? 2000,
      popFromRetryPercent: options.popFromRetryPercent ?? 20,
      reviveRetryDelayMs: options.reviveRetryDelayMs ?? 5000,
    };
    this.state = new PopState({
      directory: options.popDir ?? join(deps.config.storePathRootDir, 'pop'),
      wheelBucketMs: this.options.tickIntervalMs,
      maxCheckpoints: this.options.maxCheckpoints,
      logger: this.logger,
      now: this.now,
    });
    const { recovery } = this.state;
    if (recovery.records > 0) {
      this.logger.info({ ...recovery, inflightMessages: this.state.table.inflightMessages }, 'recovered the pop state');
    }
    this.polling = new PopLongPolling<PopResult>({ maxHeldRequests: this.options.maxHeldPopRequests, recheckIntervalMs: this.options.pollRecheckIntervalMs, logger: this.logger, now: this.now });
    this.reviver = new PopReviver(deps);
    this.popper = new QueuePopper(deps, this.state, this.reviver);
    this.lastSyncMs = this.now();
  }

  /** Un-acked (non-FIFO) messages in flight, over all groups or for one. */
  inflightMessages(group?: string): number {
    return group === undefined ? this.state.table.inflightMessages : this.state.table.inflightOf(group);
  }

  /** Live checkpoints, the slots the table has room for and the bytes its arrays and the expiry wheel's hold. */
  stateStats(): { checkpoints: number; capacity: number; maxCheckpoints: number; bytes: number } {
    const { table, wheel } = this.state;
    return { checkpoints: table.size, capacity: table.capacity, maxCheckpoints: table.maxCheckpoints, bytes: table.capacityBytes + wheel.capacityBytes };
  }

  start(): void {
    if (this.timer || this.closed) return;
    this.timer = setInterval(() => this.tick(), this.options.tickIntervalMs);
    this.timer.unref();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.polling.stop();
    await this.reviving;
    await this.syncing;
    await this.state.close();
  }

  /** The store's arrival listener should call this: held pops reading `topic` are tried at once. */
  notifyMessageArriving(topic: string, _queueId?: number): void {
    this.polling.notify(topic);
  }

  async pop(request: PopRequest): Promise<PopResult> {
    if (this.closed) throw new TideError('STORE_CLOSED', 'the broker is shutting down: pop refused');
    const target = this.validate(request);
    const first = this.attempt(request, target);
    if (first.status !== 'NO_NEW_MSG' || request.pollTimeMs <= 0 || request.signal?.aborted) return first;
    const deadlineMs = this.now() + Math.min(request.pollTimeMs, this.options.maxPollTimeMs);
    const topics = [request.topic, popRetryTopicOf(request.group, request.topic)];
    // A normal pop can only find something once a queue it reads has grown, so re-checks compare
    // the queues' ends first (cheap) and pop only then. FIFO queues also free up by time.
    let lastEnds = request.fifo === true ? -1 : this.queueEnds(request, target);
    const held = this.polling.hold(
      topics,
      deadlineMs,
      () => {
        if (this.closed) return undefined;
        if (lastEnds >= 0) {
          const ends = this.queueEnds(request, target);
          if (ends === lastEnds) return undefined;
          lastEnds = ends;
        }
        const result = this.attempt(request, target);
        return result.status === 'NO_NEW_MSG' ? undefined : result;
      },
      () => ({ ...first, popTimeMs: this.now(), restNum: 0 }),
      request.signal,
    );
    if (!held) return { ...first, status: 'POLLING_FULL' };
    return held;
  }

  /** Sum of the next offsets of the queues a pop reads (its topic's and its pop retry topic's). */
  private queueEnds(request: PopRequest, target: PopTarget): number {
    const { store, topicConfigManager } = this.deps;
    let sum = 0;
    if (request.queueId >= 0) sum += store.getMaxOffsetInQueue(request.topic, request.queueId);
    else for (let queueId = 0; queueId < target.topicConfig.readQueueNums; queueId++) sum += store.getMaxOffsetInQueue(request.topic, queueId);
    const retryTopic = popRetryTopicOf(request.group, request.topic);
    const retryQueues = topicConfigManager.get(retryTopic)?.readQueueNums ?? 0;
    for (let queueId = 0; queueId < retryQueues; queueId++) sum += store.getMaxOffsetInQueue(retryTopic, queueId);
    return sum;
  }

  /** Checks a pop request the way RocketMQ's PopMessageProcessor does; throws TideErrors. */
  private validate(request: PopRequest): PopTarget {
    const { config, topicConfigManager, subscriptionGroupManager } = this.deps;
    if (!isReadable(config.brokerPermission)) throw new TideError('NO_PERMISSION', `the broker[${config.brokerIP1}] pop message is forbidden`);
    if (!Number.isInteger(request.maxMessages) || request.maxMessages < 1 || request.maxMessages > MAX_POP_MESSAGES) {
      throw new TideError('INVALID_PARAMETER', `the broker[${config.brokerIP1}] pop message's num must be 1-${MAX_POP_MESSAGES}, got ${request.maxMessages}`);
    }
    this.validateInvisibleTime(request.invisibleTimeMs);
    if (!Number.isFinite(request.pollTimeMs) || request.pollTimeMs < 0) throw new TideError('INVALID_PARAMETER', `pollTime ${request.pollTimeMs} must not be negative`);
    validateTopic(request.topic);
    const topicConfig = topicConfigManager.get(request.topic);
    if (!topicConfig) throw new TideError('TOPIC_NOT_EXIST', `topic[${request.topic}] not exist, apply first please!`);
    if (!isReadable(topicConfig.perm)) throw new TideError('NO_PERMISSION', `the topic[${request.topic}] peeking message is forbidden`);
    if (!Number.isInteger(request.queueId) || request.queueId < -1 || request.queueId >= topicConfig.readQueueNums) {
      throw new TideError('QUEUE_ID_INVALID', `queueId[${request.queueId}] is illegal, topic:[${request.topic}] topicConfig.readQueueNums:[${topicConfig.readQueueNums}]`);
    }
    const groupConfig = subscriptionGroupManager.findOrCreate(request.group);
    if (!groupConfig.consumeEnable) throw new TideError('NO_PERMISSION', `subscription group no permission, ${request.group}`);
    let filter: MessageFilter | undefined;
    const expression = request.filter?.expression?.trim() ?? '';
    if (request.filter && expression !== '') {
      if (request.filter.type === 'SQL92') {
        if (!config.enablePropertyFilter) {
          throw new TideError('INVALID_PARAMETER', 'The broker does not support consumer to filter message by SQL92 (enablePropertyFilter=false)', { responseCode: ResponseCode.SUBSCRIPTION_PARSE_FAILED });
        }
      } else {
        filter = createTagFilter(buildSubscriptionData(request.topic, expression, 'TAG'));
      }
    }
    return { topicConfig, filter };
  }

  private validateInvisibleTime(invisibleTimeMs: number): void {
    const { minInvisibleTimeMs, maxInvisibleTimeMs } = this.options;
    if (!Number.isInteger(invisibleTimeMs) || invisibleTimeMs < minInvisibleTimeMs || invisibleTimeMs > maxInvisibleTimeMs) {
      throw new TideError('INVALID_PARAMETER', `invisibleTime ${invisibleTimeMs} ms is out of range [${minInvisibleTimeMs}, ${maxInvisibleTimeMs}]`);
    }
  }

  /** One synchronous try over the request's queues. */
  private attempt(request: PopRequest, target: PopTarget): PopResult {
    if (this.state.log.pendingBytes > MAX_PENDING_LOG_BYTES) {
      throw new TideError('SYSTEM_BUSY', 'the pop log cannot be written (see the broker log); pops are refused until it can');
    }
    const fifo = request.fifo === true;
    const { table } = this.state;
    // The hard limit on POP state: a normal pop adds one checkpoint per queue it reads, and the popper
    // reads no queue without room for one. FIFO pops keep bounded per-queue state instead.
    if (!fifo && !table.hasRoomFor(1)) throw inflightStateFull(table.maxCheckpoints);
    const popTimeMs = this.now();
    const room = Math.min(
      this.options.maxInflightMessagesPerGroup - table.inflightOf(request.group),
      this.options.maxInflightMessages - table.inflightMessages,
    );
    const info = new PopAnswerInfo();
    const result = (status: PopResult['status'], collector?: PopCollector): PopResult => ({
      status,
      messages: collector?.messages ?? [],
      popTimeMs,
      invisibleTimeMs: request.invisibleTimeMs,
      reviveQueueId: fifo ? POP_ORDER_REVIVE_QUEUE_ID : POP_REVIVE_QUEUE_ID,
      restNum: collector?.restNum ?? 0,
      startOffsetInfo: info.startOffsetInfo,
      msgOffsetInfo: info.msgOffsetInfo,
      orderCountInfo: fifo ? info.orderCountInfo : '',
    });
    if (!fifo && room <= 0) return result('POLLING_FULL');
    const collector: PopCollector = {
      request,
      filter: target.filter,
      popTimeMs,
      wanted: fifo ? request.maxMessages : Math.min(request.maxMessages, room),
      messages: [],
      info,
      restNum: 0,
      touchedTopics: new Set(),
    };
    const queueCount = target.topicConfig.readQueueNums;
    const firstQueue = request.queueId >= 0 ? request.queueId : this.rotation++ % Math.max(1, queueCount);
    const queueIds = request.queueId >= 0 ? [request.queueId] : Array.from({ length: queueCount }, (_, index) => (firstQueue + index) % queueCount);
    if (fifo) {
      for (const queueId of queueIds) this.popper.popFifoQueue(collector, queueId);
    } else {
      const retryTopic = popRetryTopicOf(request.group, request.topic);
      const retryConfig = this.deps.topicConfigManager.get(retryTopic);
      const retryFirst = retryConfig !== undefined && Math.random() * 100 < this.options.popFromRetryPercent;
      const popRetry = (): void => {
        if (retryConfig) for (let queueId = 0; queueId < retryConfig.readQueueNums; queueId++) this.popper.popQueue(collector, retryTopic, queueId);
      };
      if (retryFirst) popRetry();
      for (const queueId of queueIds) this.popper.popQueue(collector, request.topic, queueId);
      if (!retryFirst) popRetry();
    }
    // The checkpoints reach the OS before the answer: a crash after it cannot hand them out again.
    this.state.flush();
    this.maybeCompact();
    return result(collector.messages.length > 0 ? 'FOUND' : 'NO_NEW_MSG', collector);
  }

  /** Acks the message of a receipt handle. `topic` is the client's topic (a retry topic is accepted too). */
  ack(group: string, topic: string, receiptHandle: string): AckStatus {
    const handle = parseReceiptHandle(receiptHandle);
    if (!handle || handle.queueOffset < 0) return 'INVALID_RECEIPT_HANDLE';
    const realTopic = realTopicOf(originalTopicOf(topic, group), group, handle.retryFlag);
    if (realTopic === undefined) return 'INVALID_RECEIPT_HANDLE';
    return this.ackMessage(group, realTopic, handle.queueId, handle.queueOffset, handle);
  }

  /**
   * Acks the message at (realTopic, queueId, queueOffset) popped with `handle` (remoting acks name the
   * topic the message sits in and the offset in the header). Idempotent while the handle is valid.
   */
  ackMessage(group: string, realTopic: string, queueId: number, queueOffset: number, handle: ReceiptHandle): AckStatus {
    const queue = this.state.table.findQueue(group, realTopic, queueId);
    if (handle.reviveQueueId === POP_ORDER_REVIVE_QUEUE_ID) {
      const fifo = queue?.fifo;
      if (!queue || !fifo) return 'INVALID_RECEIPT_HANDLE';
      const outcome = fifo.ack(queueOffset, handle.popTimeMs);
      if (outcome === 'STALE') return 'INVALID_RECEIPT_HANDLE';
      if (outcome === 'ACKED') {
        this.state.saveFifo(queue);
        this.state.flushSoon();
        this.deps.consumerOffsetManager.commitOffset(group, realTopic, queueId, fifo.consumeOffset);
        if (!fifo.inBatch) this.polling.notify(queue.originalTopic);
      }
      return 'OK';
    }
    if (queue) {
      const { table } = this.state;
      const slot = table.get(queue, handle.ckQueueOffset, handle.popTimeMs);
      if (slot !== NO_CHECKPOINT) {
        const index = table.indexOf(slot, queueOffset);
        if (index < 0) return 'INVALID_RECEIPT_HANDLE';
        if (table.isChanged(slot, index)) return 'INVALID_RECEIPT_HANDLE';
        if (table.isReviving(slot)) return table.isAcked(slot, index) ? 'OK' : 'INVALID_RECEIPT_HANDLE';
        this.state.ack(slot, (1 << index) >>> 0);
        this.state.flushSoon();
        return 'OK';
      }
    }
    return this.isLiveHandle(queue?.popOffset ?? -1, queueOffset, handle) ? 'OK' : 'INVALID_RECEIPT_HANDLE';
  }

  /**
   * No live checkpoint matches: the message was acked already (all of its checkpoint, so it is gone),
   * which is fine while the handle is within its invisible time; past it the handle is stale.
   */
  private isLiveHandle(popOffset: number, queueOffset: number, handle: ReceiptHandle): boolean {
    const nowMs = this.now();
    return queueOffset < popOffset && handle.popTimeMs <= nowMs && nowMs < handle.popTimeMs + handle.invisibleTimeMs;
  }

  /**
   * Moves the message of a receipt handle to `%DLQ%{group}` now and acks it (gRPC's
   * ForwardMessageToDeadLetterQueue). INVALID_RECEIPT_HANDLE when the handle is stale or the store no
   * longer has the message.
   */
  forwardToDeadLetterQueue(group: string, topic: string, receiptHandle: string): AckStatus {
    const handle = parseReceiptHandle(receiptHandle);
    if (!handle || handle.queueOffset < 0) return 'INVALID_RECEIPT_HANDLE';
    const originalTopic = originalTopicOf(topic, group);
    const realTopic = realTopicOf(originalTopic, group, handle.retryFlag);
    if (realTopic === undefined) return 'INVALID_RECEIPT_HANDLE';
    const queue = this.state.table.findQueue(group, realTopic, handle.queueId);
    if (!queue) return 'INVALID_RECEIPT_HANDLE';
    let live: boolean;
    if (handle.reviveQueueId === POP_ORDER_REVIVE_QUEUE_ID) {
      const entry = queue.fifo?.find(handle.queueOffset);
      live = entry !== undefined && !entry.acked && entry.popTimeMs === handle.popTimeMs;
    } else {
      const { table } = this.state;
      const slot = table.get(queue, handle.ckQueueOffset, handle.popTimeMs);
      const index = slot !== NO_CHECKPOINT ? table.indexOf(slot, handle.queueOffset) : -1;
      live = index >= 0 && !table.isReviving(slot) && !table.isAcked(slot, index);
    }
    if (!live) return 'INVALID_RECEIPT_HANDLE';
    const bytes = this.reviver.readMessage(realTopic, handle.queueId, handle.queueOffset);
    const record = bytes === null ? null : decodeRecord(bytes);
    if (record !== null) this.reviver.moveToDeadLetterQueue(group, originalTopic, record);
    return this.ackMessage(group, realTopic, handle.queueId, handle.queueOffset, handle);
  }

  /** Hides the message of a receipt handle for `invisibleTimeMs` from now; returns its new handle. */
  changeInvisibleTime(group: string, topic: string, receiptHandle: string, invisibleTimeMs: number): ChangeInvisibleTimeResult {
    this.validateInvisibleTime(invisibleTimeMs);
    const handle = parseReceiptHandle(receiptHandle);
    if (!handle || handle.queueOffset < 0) return { status: 'INVALID_RECEIPT_HANDLE' };
    const realTopic = realTopicOf(originalTopicOf(topic, group), group, handle.retryFlag);
    if (realTopic === undefined) return { status: 'INVALID_RECEIPT_HANDLE' };
    return this.changeMessageInvisibleTime(group, realTopic, handle.queueId, handle.queueOffset, handle, invisibleTimeMs);
  }

  changeMessageInvisibleTime(group: string, realTopic: string, queueId: number, queueOffset: number, handle: ReceiptHandle, invisibleTimeMs: number): ChangeInvisibleTimeResult {
    this.validateInvisibleTime(invisibleTimeMs);
    const { state } = this;
    const queue = state.table.findQueue(group, realTopic, queueId);
    if (!queue) return { status: 'INVALID_RECEIPT_HANDLE' };
    const nowMs = this.now();
    if (handle.reviveQueueId === POP_ORDER_REVIVE_QUEUE_ID) {
      const visibleAtMs = nowMs + invisibleTimeMs;
      if (!queue.fifo?.changeVisibleTime(queueOffset, handle.popTimeMs, visibleAtMs)) return { status: 'INVALID_RECEIPT_HANDLE' };
      state.saveFifo(queue);
      state.flush();
      const newInvisibleTimeMs = visibleAtMs - handle.popTimeMs;
      return {
        status: 'OK',
        receiptHandle: buildReceiptHandle({ ...handle, invisibleTimeMs: newInvisibleTimeMs, queueId, queueOffset }),
        popTimeMs: handle.popTimeMs,
        invisibleTimeMs: newInvisibleTimeMs,
      };
    }
    const { table } = state;
    const slot = table.get(queue, handle.ckQueueOffset, handle.popTimeMs);
    const index = slot !== NO_CHECKPOINT ? table.indexOf(slot, queueOffset) : -1;
    if (index < 0 || table.isReviving(slot) || table.isAcked(slot, index)) return { status: 'INVALID_RECEIPT_HANDLE' };
    if (!table.hasRoomFor(1)) throw inflightStateFull(table.maxCheckpoints);
    // RocketMQ's order: the new checkpoint first, then the ack of the old one; a crash in between
    // re-delivers (at least once), never loses.
    let popTimeMs = nowMs;
    while (state.table.has(queue, queueOffset, popTimeMs)) popTimeMs++;
    state.addCheckpoint(queue, queueOffset, popTimeMs, invisibleTimeMs, 1, null, -1);
    table.markChanged(slot, index);
    state.ack(slot, (1 << index) >>> 0);
    state.flush();
    return {
      status: 'OK',
      receiptHandle: buildReceiptHandle({
        ckQueueOffset: queueOffset,
        popTimeMs,
        invisibleTimeMs,
        reviveQueueId: POP_REVIVE_QUEUE_ID,
        retryFlag: handle.retryFlag,
        brokerName: this.deps.config.brokerName,
        queueId,
        queueOffset,
      }),
      popTimeMs,
      invisibleTimeMs,
    };
  }

  /** The shared tick (tests may call it). */
  tick(): void {
    if (this.closed) return;
    this.revive();
    this.polling.tick();
    const nowMs = this.now();
    if (!this.syncing && nowMs - this.lastSyncMs >= this.options.syncIntervalMs) {
      this.lastSyncMs = nowMs;
      this.syncing = this.state.log
        .sync()
        .catch((error: unknown) => this.logger.error({ err: error }, 'fdatasync of the pop log failed'))
        .finally(() => {
          this.syncing = null;
        });
    }
    this.maybeCompact();
  }

  private maybeCompact(): void {
    if (this.state.log.sizeBytes >= this.options.compactLogBytes && !this.state.log.isCompacting) this.state.compact();
  }

  /**
   * Re-stores the un-acked messages of due checkpoints. A checkpoint stays in the table (and in the
   * pop log), marked `reviving`, until its copies are durable by the flush mode; only then is it
   * dropped (or, for one re-stored in part before a failure, are the re-stored messages acked), so
   * the pop log never says a message was handled while its copy could still vanish with a power cut.
   */
  private revive(): void {
    if (this.reviving) return;
    const due: CheckpointSlot[] = [];
    const nowMs = this.now();
    this.state.wheel.takeDue(nowMs, this.options.maxRevivesPerTick, due);
    if (due.length === 0) return;
    const finished: CheckpointSlot[] = [];
    let partial = NO_CHECKPOINT;
    let partialBits = 0;
    const topics = new Set<string>();
    let endOffset = -1;
    const { table } = this.state;
    for (let index = 0; index < due.length; index++) {
      const slot = due[index]!;
      const queue = table.queueOf(slot);
      table.setReviving(slot, true);
      let restoredBits = 0;
      try {
        const popTimeMs = table.popTimeOf(slot);
        for (let bit = 0; bit < table.countOf(slot); bit++) {
          if (table.isAcked(slot, bit)) continue;
          const outcome = this.reviver.restore(queue.group, queue.originalTopic, queue.topic, queue.queueId, table.offsetAt(slot, bit), popTimeMs);
          endOffset = Math.max(endOffset, outcome.endOffset);
          restoredBits = (restoredBits | (1 << bit)) >>> 0;
        }
        topics.add(queue.originalTopic);
        finished.push(slot);
      } catch (error) {
        this.logger.error({ err: error, group: queue.group, topic: queue.topic }, 'storing un-acked popped messages again failed; retrying later');
        // What was stored already is acked once durable (below), so a retry does not store it twice.
        if (restoredBits !== 0) {
          partial = slot;
          partialBits = restoredBits;
          topics.add(queue.originalTopic);
        } else {
          this.retryRevive(slot, nowMs);
        }
        for (const rest of due.slice(index + 1)) this.retryRevive(rest, nowMs);
        break;
      }
    }
    for (const topic of topics) this.polling.notify(topic);
    if (finished.length === 0 && partial === NO_CHECKPOINT) return;
    this.reviving = this.settleRevive(finished, partial, partialBits, endOffset).finally(() => {
      this.reviving = null;
    });
  }

  /** A checkpoint whose revive did not happen goes back into the wheel, due again after the back-off. */
  private retryRevive(slot: CheckpointSlot, nowMs: number): void {
    const { table, wheel } = this.state;
    if (!table.isLive(slot)) return;
    table.setReviving(slot, false);
    if (!wheel.has(slot)) wheel.add(slot, nowMs + this.options.reviveRetryDelayMs);
  }

  /**
   * Waits until the re-stored copies (everything before `endOffset`) are durable, then drops the
   * checkpoints. FLUSH_DISK_TIMEOUT means the copies are written but the disk has not confirmed them
   * yet: the group commit keeps syncing, so this waits again (the copies are not stored twice). A
   * failed store (STORE_WRITE_FAILED, ...) can never make them durable: the checkpoints go back to
   * the wheel and are re-stored later (at least once, never lost). On close the wait stops and the
   * checkpoints stay in the pop log, so the next start re-delivers them.
   */
  private async settleRevive(finished: CheckpointSlot[], partial: CheckpointSlot, partialBits: number, endOffset: number): Promise<void> {
    let warned = false;
    for (;;) {
      let status: FlushStatus;
      try {
        status = endOffset >= 0 ? await this.deps.store.waitDurable(endOffset) : 'PUT_OK';
      } catch (error) {
        if (isTideError(error, 'SYSTEM_BUSY') && !this.closed) {
          // Too many appends wait for the disk; the copies are written, so wait again a little later.
          await new Promise<void>((resolve) => setTimeout(resolve, this.options.tickIntervalMs).unref());
          continue;
        }
        this.logger.error({ err: error }, 're-stored popped messages could not be made durable; their checkpoints stay and are retried');
        const nowMs = this.now();
        for (const slot of finished) this.retryRevive(slot, nowMs);
        if (partial !== NO_CHECKPOINT) this.retryRevive(partial, nowMs);
        return;
      }
      if (status === 'PUT_OK') break;
      if (this.closed) {
        this.logger.warn({ checkpoints: finished.length }, 're-stored popped messages were not durable at close; their checkpoints stay and are re-delivered after the restart');
        return;
      }
      if (!warned) this.logger.warn({ status, checkpoints: finished.length }, 're-stored popped messages are not durable yet; their checkpoints stay until they are');
      warned = true;
    }
    for (const slot of finished) this.state.done(slot);
    if (partial !== NO_CHECKPOINT) {
      this.state.ack(partial, partialBits);
      this.retryRevive(partial, this.now());
    }
    this.state.flushSoon();
  }
}

function inflightStateFull(maxCheckpoints: number): TideError {
  return new TideError('SYSTEM_BUSY', `the broker holds its limit of ${maxCheckpoints} pop checkpoints (invisible messages); ack some or retry later`);
}

export function createPopService(deps: BrokerDeps, options?: PopServiceOptions): PopService {
  return new PopService(deps, options);
}
