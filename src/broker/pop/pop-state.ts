/**
 * The durable POP state: the checkpoint table and the expiry wheel in memory, every change recorded in
 * the pop log first (pop-log.ts, records in pop-log-codec.ts). Recovery replays the log into the same
 * structures; compaction writes the live state (queues with their pop offsets, FIFO queues, live
 * checkpoints with their acked bits) as a snapshot. Checkpoints come back at their original
 * popTime + invisibleTime after a restart: a message is never released early, nor lost.
 */
import type { Logger } from '../../common/logger.js';
import { Checkpoint, CheckpointTable, type PopQueue } from './checkpoint-table.js';
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
  logger: Logger;
  now: () => number;
}

export class PopState {
  readonly table = new CheckpointTable();
  readonly wheel: ExpiryWheel<Checkpoint>;
  readonly log: PopLog;
  readonly recovery: PopLogRecovery;
  private flushScheduled = false;
  private readonly logger: Logger;

  constructor(options: PopStateOptions) {
    this.logger = options.logger;
    this.wheel = new ExpiryWheel<Checkpoint>(options.wheelBucketMs, options.now());
    const opened = PopLog.open({ directory: options.directory, logger: options.logger }, (record) => this.replay(record));
    this.log = opened.log;
    this.recovery = opened.recovery;
    for (const checkpoint of this.table.all()) this.wheel.add(checkpoint, checkpoint.reviveAtMs);
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
        if (existing) table.remove(existing);
        const checkpoint = new Checkpoint(queue, record.startOffset, record.popTimeMs, record.invisibleTimeMs, record.count, record.diffs);
        checkpoint.ackedBits = (record.ackedBits & checkpoint.fullMask) >>> 0;
        if (!checkpoint.allAcked) table.add(checkpoint);
        return;
      }
      case PopLogRecordType.ACK: {
        const checkpoint = this.find(record.queueRef, record.startOffset, record.popTimeMs);
        if (!checkpoint) return;
        table.ack(checkpoint, record.bits);
        if (checkpoint.allAcked) table.remove(checkpoint);
        return;
      }
      case PopLogRecordType.DONE: {
        const checkpoint = this.find(record.queueRef, record.startOffset, record.popTimeMs);
        if (checkpoint) table.remove(checkpoint);
        return;
      }
      case PopLogRecordType.FIFO: {
        const queue = table.queueByRef(record.queueRef);
        if (queue) queue.fifo = FifoQueueState.fromRecord(record);
        return;
      }
    }
  }

  private find(queueRef: number, startOffset: number, popTimeMs: number): Checkpoint | undefined {
    const queue = this.table.queueByRef(queueRef);
    return queue ? this.table.get(queue, startOffset, popTimeMs) : undefined;
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

  /** Records a new checkpoint (and the queue's new pop offset, -1 = unchanged) and schedules its revive. */
  addCheckpoint(checkpoint: Checkpoint, nextPopOffset: number): void {
    if (nextPopOffset >= 0) checkpoint.queue.popOffset = nextPopOffset;
    this.table.add(checkpoint);
    this.wheel.add(checkpoint, checkpoint.reviveAtMs);
    const { queue } = checkpoint;
    encodeCheckpoint(this.log.pending, queue.ref, checkpoint.startOffset, checkpoint.popTimeMs, checkpoint.invisibleTimeMs, nextPopOffset, checkpoint.ackedBits, checkpoint.count, checkpoint.diffs);
    this.log.afterAppend();
  }

  /** Acks bits of a live checkpoint; a checkpoint with every bit acked is gone. Returns the newly acked bits. */
  ack(checkpoint: Checkpoint, bits: number): number {
    const fresh = this.table.ack(checkpoint, bits);
    if (fresh === 0) return 0;
    encodeAck(this.log.pending, checkpoint.queue.ref, checkpoint.startOffset, checkpoint.popTimeMs, fresh);
    this.log.afterAppend();
    if (checkpoint.allAcked) {
      this.wheel.remove(checkpoint);
      this.table.remove(checkpoint);
    }
    return fresh;
  }

  /** A checkpoint's un-acked messages were stored again: it is gone. */
  done(checkpoint: Checkpoint): void {
    this.wheel.remove(checkpoint);
    this.table.remove(checkpoint);
    encodeDone(this.log.pending, checkpoint.queue.ref, checkpoint.startOffset, checkpoint.popTimeMs);
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
    for (const checkpoint of this.table.all()) {
      encodeCheckpoint(encoder, checkpoint.queue.ref, checkpoint.startOffset, checkpoint.popTimeMs, checkpoint.invisibleTimeMs, -1, checkpoint.ackedBits, checkpoint.count, checkpoint.diffs);
    }
  }

  close(): Promise<void> {
    return this.log.close();
  }
}
