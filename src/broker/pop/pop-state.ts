/**
 * The durable POP state: the checkpoint table and the expiry wheel in memory, every change recorded in
 * the pop log first (pop-log.ts, records in pop-log-codec.ts). Recovery replays the log into the same
 * structures; compaction writes the live state (queues with their pop offsets, FIFO queues, live
 * checkpoints with their acked bits) as a snapshot. Checkpoints come back at their original
 * popTime + invisibleTime after a restart: a message is never released early, nor lost.
 */
import { assert } from '../../common/assert.js';
import type { Logger } from '../../common/logger.js';
import { CheckpointTable, NO_CHECKPOINT, type CheckpointSlot, type PopQueue } from './checkpoint-table.js';
import { ExpiryWheel } from './expiry-wheel.js';
import { FifoQueueState } from './fifo-queue-state.js';
import {
  encodeAck,
  encodeCheckpoint,
  encodeDone,
  encodeFifo,
  encodeOffset,
  encodeQueue,
  PopLogRecordType,
  type FrameEncoder,
  type PopLogRecord,
} from './pop-log-codec.js';
import { PopLog, type PopLogRecovery } from './pop-log.js';
import { originalTopicOf } from './receipt-handle.js';

export interface PopStateOptions {
  directory: string;
  /** Granularity of the expiry wheel in ms. */
  wheelBucketMs: number;
  /** Live checkpoints at most (the table's hard limit; the pop log's replay may pass it). */
  maxCheckpoints: number;
  logger: Logger;
  now: () => number;
}

export class PopState {
  readonly table: CheckpointTable;
  readonly wheel: ExpiryWheel;
  readonly log: PopLog;
  readonly recovery: PopLogRecovery;
  private flushScheduled = false;
  private readonly logger: Logger;

  constructor(options: PopStateOptions) {
    this.logger = options.logger;
    this.table = new CheckpointTable(options.maxCheckpoints);
    this.wheel = new ExpiryWheel(options.wheelBucketMs, options.now());
    const opened = PopLog.open({ directory: options.directory, logger: options.logger }, (record) => this.replay(record));
    this.log = opened.log;
    this.recovery = opened.recovery;
    this.wheel.reserve(this.table.capacity);
    this.table.forEach((slot) => this.wheel.add(slot, this.table.reviveAtOf(slot)));
    if (this.table.size > options.maxCheckpoints) {
      this.logger.warn({ checkpoints: this.table.size, maxCheckpoints: options.maxCheckpoints }, 'the pop log holds more checkpoints than the limit; pops are refused until acks and re-deliveries bring them under it');
    }
  }

  private replay(record: PopLogRecord): void {
    const { table } = this;
    switch (record.type) {
      case PopLogRecordType.QUEUE:
        table.getOrCreateQueue(record.group, record.topic, originalTopicOf(record.topic, record.group), record.queueId, record.queueRef);
        return;
      case PopLogRecordType.OFFSET: {
        const queue = table.queueByRef(record.queueRef);
        if (queue) queue.popOffset = record.popOffset;
        return;
      }
      case PopLogRecordType.CHECKPOINT: {
        const queue = table.queueByRef(record.queueRef);
        if (!queue) return;
        if (record.nextPopOffset >= 0) queue.popOffset = record.nextPopOffset;
        const existing = table.get(queue, record.startOffset, record.popTimeMs);
        if (existing !== NO_CHECKPOINT) table.remove(existing);
        const slot = table.add(queue, record.startOffset, record.popTimeMs, record.invisibleTimeMs, record.count, record.diffs, record.ackedBits, true);
        if (table.allAcked(slot)) table.remove(slot);
        return;
      }
      case PopLogRecordType.ACK: {
        const slot = table.find(record.queueRef, record.startOffset, record.popTimeMs);
        if (slot === NO_CHECKPOINT) return;
        table.ack(slot, record.bits);
        if (table.allAcked(slot)) table.remove(slot);
        return;
      }
      case PopLogRecordType.DONE: {
        const slot = table.find(record.queueRef, record.startOffset, record.popTimeMs);
        if (slot !== NO_CHECKPOINT) table.remove(slot);
        return;
      }
      case PopLogRecordType.FIFO: {
        const queue = table.queueByRef(record.queueRef);
        if (queue) queue.fifo = FifoQueueState.fromRecord(record);
        return;
      }
    }
  }

  /** The queue of (group, topic, queueId), logged when new. */
  queue(group: string, topic: string, originalTopic: string, queueId: number): PopQueue {
    const { queue, created } = this.table.getOrCreateQueue(group, topic, originalTopic, queueId);
    if (created) {
      encodeQueue(this.log.pending, queue.ref, queue.queueId, queue.group, queue.topic);
      this.log.afterAppend();
    }
    return queue;
  }

  setPopOffset(queue: PopQueue, popOffset: number): void {
    if (queue.popOffset === popOffset) return;
    queue.popOffset = popOffset;
    encodeOffset(this.log.pending, queue.ref, popOffset);
    this.log.afterAppend();
  }

  /**
   * Records a new checkpoint (and the queue's new pop offset, -1 = unchanged), schedules its revive
   * and returns its slot. The caller checked table.hasRoomFor first.
   */
  addCheckpoint(queue: PopQueue, startOffset: number, popTimeMs: number, invisibleTimeMs: number, count: number, diffs: Uint32Array | null, nextPopOffset: number): CheckpointSlot {
    if (nextPopOffset >= 0) queue.popOffset = nextPopOffset;
    const { table } = this;
    const slot = table.add(queue, startOffset, popTimeMs, invisibleTimeMs, count, diffs);
    this.wheel.reserve(table.capacity);
    this.wheel.add(slot, table.reviveAtOf(slot));
    encodeCheckpoint(this.log.pending, queue.ref, startOffset, popTimeMs, invisibleTimeMs, nextPopOffset, 0, count, diffs);
    this.log.afterAppend();
    return slot;
  }

  /** Acks bits of a live checkpoint; a checkpoint with every bit acked is gone. Returns the newly acked bits. */
  ack(slot: CheckpointSlot, bits: number): number {
    const { table } = this;
    const fresh = table.ack(slot, bits);
    if (fresh === 0) return 0;
    encodeAck(this.log.pending, table.queueRefOf(slot), table.startOffsetOf(slot), table.popTimeOf(slot), fresh);
    this.log.afterAppend();
    if (table.allAcked(slot)) {
      this.wheel.remove(slot);
      table.remove(slot);
    }
    return fresh;
  }

  /** A checkpoint's un-acked messages were stored again: it is gone. */
  done(slot: CheckpointSlot): void {
    const { table } = this;
    assert(table.isLive(slot) && table.isReviving(slot), 'only a reviving checkpoint is done');
    encodeDone(this.log.pending, table.queueRefOf(slot), table.startOffsetOf(slot), table.popTimeOf(slot));
    this.wheel.remove(slot);
    table.remove(slot);
    this.log.afterAppend();
  }

  saveFifo(queue: PopQueue): void {
    const fifo = queue.fifo;
    if (!fifo) return;
    encodeFifo(this.log.pending, queue.ref, fifo.consumeOffset, fifo.endOffset, fifo.attemptId, fifo.entries);
    this.log.afterAppend();
  }

  /** Writes pending records to the OS now (before a pop is answered). */
  flush(): void {
    this.log.flush();
  }

  /** Writes pending records on the next turn of the event loop (acks batch up). */
  flushSoon(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      try {
        this.log.flush();
      } catch (error) {
        this.logger.error({ err: error }, 'writing acks to the pop log failed; retried with the next write');
      }
    });
  }

  /** Starts a compaction: the live state becomes the new generation's snapshot. */
  compact(): Promise<void> | null {
    return this.log.compact((encoder) => this.writeSnapshot(encoder));
  }

  private writeSnapshot(encoder: FrameEncoder): void {
    for (const queue of this.table.queues()) {
      encodeQueue(encoder, queue.ref, queue.queueId, queue.group, queue.topic);
      if (queue.popOffset >= 0) encodeOffset(encoder, queue.ref, queue.popOffset);
      const fifo = queue.fifo;
      if (fifo) encodeFifo(encoder, queue.ref, fifo.consumeOffset, fifo.endOffset, fifo.attemptId, fifo.entries);
    }
    const { table } = this;
    table.forEach((slot) => {
      encodeCheckpoint(encoder, table.queueRefOf(slot), table.startOffsetOf(slot), table.popTimeOf(slot), table.invisibleTimeOf(slot), -1, table.ackedBitsOf(slot), table.countOf(slot), table.diffsOf(slot));
    });
  }

  close(): Promise<void> {
    return this.log.close();
  }
}
