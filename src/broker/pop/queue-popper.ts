/**
 * One pop over one queue, synchronously (no `await` between reading the queue and recording the
 * checkpoint, so two pops can never hand out the same message):
 *
 * - normal: read from the queue's pop offset, record a checkpoint of what was handed out (and the new
 *   pop offset) in the pop log, answer each message with its receipt handle;
 * - FIFO: hand out the un-acked messages of the queue's batch again once their visible time has
 *   passed (delivery count raised; to the DLQ once past the group's retryMaxTimes), or read a new
 *   batch when the last one is done; nothing while a message of the batch is still invisible.
 *
 * A queue this group never popped starts at the group's committed consumer offset if it has one,
 * else at the oldest message (MIN, and always for retry topics) or the newest one (MAX: RocketMQ
 * hands out the last message and continues from there). The pop offset is mirrored into the
 * consumer-offset table so the admin tools show the group's progress.
 */
import { decodeRecord, RecordField, SysFlag } from '../../protocol/message-record.js';
import type { GetMessageResult, MessageFilter } from '../../store/types.js';
import type { BrokerDeps } from '../broker-deps.js';
import type { PopQueue } from './checkpoint-table.js';
import { MAX_CHECKPOINT_MESSAGES } from './pop-log-codec.js';
import type { PopState } from './pop-state.js';
import type { PopReviver } from './pop-reviver.js';
import { buildReceiptHandle, PopAnswerInfo, POP_ORDER_REVIVE_QUEUE_ID, POP_REVIVE_QUEUE_ID, retryFlagOfTopic } from './receipt-handle.js';
import { FifoQueueState } from './fifo-queue-state.js';
import type { PoppedMessage, PopRequest } from './pop-service.js';

/** What one pop request collects over the queues it looks at. */
export interface PopCollector {
  readonly request: PopRequest;
  readonly filter: MessageFilter | undefined;
  readonly popTimeMs: number;
  /** Most messages this pop may hand out (maxMessages, lowered by the in-flight cap). */
  readonly wanted: number;
  readonly messages: PoppedMessage[];
  readonly info: PopAnswerInfo;
  restNum: number;
  /** Queues freed or topics touched (long polling wakes these). */
  readonly touchedTopics: Set<string>;
}

/** RECONSUMETIMES of a stored record without decoding the rest. */
export function reconsumeTimesOf(record: Buffer): number {
  const sysFlag = record.readInt32BE(RecordField.SYS_FLAG);
  const bornHostBytes = (sysFlag & SysFlag.BORNHOST_V6 ? 16 : 4) + 4;
  const storeHostBytes = (sysFlag & SysFlag.STOREHOST_V6 ? 16 : 4) + 4;
  return record.readInt32BE(RecordField.BORN_HOST + bornHostBytes + 8 + storeHostBytes);
}

export class QueuePopper {
  constructor(
    private readonly deps: BrokerDeps,
    private readonly state: PopState,
    private readonly reviver: PopReviver,
  ) {}

  private get maxBytes(): number {
    return this.deps.config.maxTransferBytesOnMessageInMemory;
  }

  /** Where a queue this group never popped starts. */
  initialOffset(group: string, topic: string, queueId: number, initMode: 'MIN' | 'MAX', isRetryTopic: boolean): number {
    const { consumerOffsetManager, store } = this.deps;
    const committed = consumerOffsetManager.queryOffset(group, topic, queueId);
    if (committed >= 0) return committed;
    if (initMode === 'MIN' || isRetryTopic) return store.getMinOffsetInQueue(topic, queueId);
    return Math.max(0, store.getMaxOffsetInQueue(topic, queueId) - 1);
  }

  /** Reads at `offset`, re-reading once from the store's correction when the offset fell out of the queue. */
  private read(topic: string, queueId: number, offset: number, count: number, filter: MessageFilter | undefined, moveTo: (offset: number) => void): GetMessageResult {
    const { store } = this.deps;
    let result = store.getMessages(topic, queueId, offset, count, this.maxBytes, filter);
    if (result.records.length === 0 && (result.status === 'OFFSET_TOO_SMALL' || result.status === 'OFFSET_OVERFLOW_BADLY') && result.nextBeginOffset !== offset) {
      this.deps.logger.warn({ topic, queueId, from: offset, to: result.nextBeginOffset }, 'pop offset out of the queue; moved');
      moveTo(result.nextBeginOffset);
      result = store.getMessages(topic, queueId, result.nextBeginOffset, count, this.maxBytes, filter);
    }
    return result;
  }

  popQueue(collector: PopCollector, topic: string, queueId: number): void {
    const { request } = collector;
    const { state } = this;
    const queue = state.queue(request.group, topic, request.topic, queueId);
    const isRetry = topic !== request.topic;
    if (queue.popOffset < 0) state.setPopOffset(queue, this.initialOffset(request.group, topic, queueId, request.initMode, isRetry));
    const remaining = Math.min(collector.wanted - collector.messages.length, MAX_CHECKPOINT_MESSAGES);
    // No room for one more checkpoint (the broker-wide limit): this queue is left for a later pop.
    if (remaining <= 0 || !state.table.hasRoomFor(1) || state.table.has(queue, queue.popOffset, collector.popTimeMs)) {
      collector.restNum += Math.max(0, this.deps.store.getMaxOffsetInQueue(topic, queueId) - queue.popOffset);
      return;
    }
    const startOffset = queue.popOffset;
    const result = this.read(topic, queueId, startOffset, remaining, collector.filter, (offset) => state.setPopOffset(queue, offset));
    const begin = queue.popOffset;
    if (result.records.length > 0) {
      const offsets = result.queueOffsets;
      let contiguous = true;
      for (let index = 0; index < offsets.length; index++) {
        if (offsets[index] !== begin + index) {
          contiguous = false;
          break;
        }
      }
      let diffs: Uint32Array | null = null;
      if (!contiguous) {
        diffs = new Uint32Array(offsets.length);
        for (let index = 0; index < offsets.length; index++) diffs[index] = offsets[index]! - begin;
      }
      state.addCheckpoint(queue, begin, collector.popTimeMs, request.invisibleTimeMs, offsets.length, diffs, result.nextBeginOffset);
      collector.info.addQueue(topic, queueId, begin, offsets);
      const retryFlag = retryFlagOfTopic(topic);
      const brokerName = this.deps.config.brokerName;
      for (let index = 0; index < offsets.length; index++) {
        const record = result.records[index]!;
        collector.messages.push({
          record,
          topic: request.topic,
          queueId,
          queueOffset: offsets[index]!,
          reconsumeTimes: reconsumeTimesOf(record),
          receiptHandle: buildReceiptHandle({
            ckQueueOffset: begin,
            popTimeMs: collector.popTimeMs,
            invisibleTimeMs: request.invisibleTimeMs,
            reviveQueueId: POP_REVIVE_QUEUE_ID,
            retryFlag,
            brokerName,
            queueId,
            queueOffset: offsets[index]!,
          }),
          popTimeMs: collector.popTimeMs,
          invisibleTimeMs: request.invisibleTimeMs,
        });
      }
    } else if (result.nextBeginOffset > begin) {
      // Everything looked at was filtered out (or is gone): move past it.
      state.setPopOffset(queue, result.nextBeginOffset);
    }
    this.deps.consumerOffsetManager.commitOffset(request.group, topic, queueId, queue.popOffset);
    collector.restNum += Math.max(0, result.maxOffset - queue.popOffset);
  }

  popFifoQueue(collector: PopCollector, queueId: number): void {
    const { request } = collector;
    const { state } = this;
    const topic = request.topic;
    const queue = state.queue(request.group, topic, topic, queueId);
    let changed = false;
    if (!queue.fifo) {
      queue.fifo = new FifoQueueState(this.initialOffset(request.group, topic, queueId, request.initMode, false));
      changed = true;
    }
    const fifo = queue.fifo;
    const remaining = Math.min(collector.wanted - collector.messages.length, MAX_CHECKPOINT_MESSAGES);
    const nowMs = collector.popTimeMs;
    if (remaining <= 0 || fifo.isBlocked(nowMs, request.attemptId)) {
      if (changed) state.saveFifo(queue);
      return;
    }
    const startOffset = fifo.consumeOffset;
    const delivered: Array<{ record: Buffer; queueOffset: number; reconsumeTimes: number }> = [];
    if (fifo.inBatch) changed = this.redeliverFifo(collector, queue, fifo, remaining, delivered) || changed;
    if (!fifo.inBatch && delivered.length === 0) {
      const offsetBefore = fifo.consumeOffset;
      const result = this.read(topic, queueId, fifo.consumeOffset, remaining, collector.filter, (offset) => {
        fifo.consumeOffset = offset;
        fifo.endOffset = offset;
      });
      if (result.records.length > 0) {
        fifo.startBatch(result.queueOffsets, result.nextBeginOffset, collector.popTimeMs, request.invisibleTimeMs, request.attemptId);
        for (let index = 0; index < result.records.length; index++) {
          delivered.push({ record: result.records[index]!, queueOffset: result.queueOffsets[index]!, reconsumeTimes: 0 });
        }
      } else {
        fifo.skipTo(result.nextBeginOffset);
      }
      // An empty pop of an idle queue writes nothing.
      if (result.records.length > 0 || fifo.consumeOffset !== offsetBefore) changed = true;
    }
    if (changed) state.saveFifo(queue);
    this.deps.consumerOffsetManager.commitOffset(request.group, topic, queueId, fifo.consumeOffset);
    const maxOffset = this.deps.store.getMaxOffsetInQueue(topic, queueId);
    collector.restNum += Math.max(0, maxOffset - (fifo.inBatch ? fifo.endOffset : fifo.consumeOffset));
    if (delivered.length === 0) return;
    const offsets = delivered.map((message) => message.queueOffset);
    collector.info.addQueue(topic, queueId, startOffset, offsets);
    collector.info.addOrderCounts(topic, queueId, offsets, delivered.map((message) => message.reconsumeTimes));
    const brokerName = this.deps.config.brokerName;
    for (const message of delivered) {
      collector.messages.push({
        record: message.record,
        topic,
        queueId,
        queueOffset: message.queueOffset,
        reconsumeTimes: message.reconsumeTimes,
        receiptHandle: buildReceiptHandle({
          ckQueueOffset: startOffset,
          popTimeMs: collector.popTimeMs,
          invisibleTimeMs: request.invisibleTimeMs,
          reviveQueueId: POP_ORDER_REVIVE_QUEUE_ID,
          retryFlag: '0',
          brokerName,
          queueId,
          queueOffset: message.queueOffset,
        }),
        popTimeMs: collector.popTimeMs,
        invisibleTimeMs: request.invisibleTimeMs,
      });
    }
  }

  /** Hands out the batch's un-acked messages again; returns whether the state changed. */
  private redeliverFifo(
    collector: PopCollector,
    queue: PopQueue,
    fifo: FifoQueueState,
    remaining: number,
    delivered: Array<{ record: Buffer; queueOffset: number; reconsumeTimes: number }>,
  ): boolean {
    const { request } = collector;
    const sameAttempt = fifo.isSameAttempt(request.attemptId);
    const retryMaxTimes = this.reviver.retryMaxTimesOf(request.group);
    let changed = false;
    for (const entry of fifo.redeliverable(remaining)) {
      const reconsumeTimes = sameAttempt ? entry.deliveries - 1 : entry.deliveries;
      const bytes = this.reviver.readMessage(queue.topic, queue.queueId, entry.queueOffset);
      const record = bytes === null ? null : decodeRecord(bytes);
      if (bytes === null || record === null) {
        fifo.giveUp(entry);
        changed = true;
        continue;
      }
      if (reconsumeTimes > retryMaxTimes) {
        this.reviver.moveToDeadLetterQueue(request.group, request.topic, { ...record, reconsumeTimes: reconsumeTimes - 1 });
        fifo.giveUp(entry);
        changed = true;
        continue;
      }
      fifo.redeliver(entry, collector.popTimeMs, request.invisibleTimeMs, sameAttempt, request.attemptId);
      delivered.push({ record: bytes, queueOffset: entry.queueOffset, reconsumeTimes });
      changed = true;
    }
    return changed;
  }
}
