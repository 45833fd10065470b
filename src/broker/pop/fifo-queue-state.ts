/**
 * FIFO (orderly) POP of one queue for one group, as a pure state machine (no I/O, time passed in).
 *
 * A queue hands out a batch; until every message of the batch is acked, nothing after it is handed
 * out. A message not acked by its visible time is handed out again (first the earliest un-acked one,
 * in queue order), with its delivery count raised; acked messages are never handed out again. When
 * the batch is all acked, the consume offset moves past it (and past messages a filter skipped) and
 * the next pop reads new messages. State is bounded by one batch (at most 32 messages).
 *
 * A retried request carrying the attempt id of the batch's last delivery gets the same un-acked
 * messages again without counting a new attempt (RocketMQ's attemptId rule).
 */
import type { FifoEntryRecord, FifoRecord } from './pop-log-codec.js';

export interface FifoEntry {
  queueOffset: number;
  /** Pop time of the latest delivery: an ack must carry it. */
  popTimeMs: number;
  /** The entry blocks the queue until this time unless acked. */
  visibleAtMs: number;
  /** Times handed out so far. */
  deliveries: number;
  acked: boolean;
}

export type FifoAckOutcome = 'ACKED' | 'ALREADY_DONE' | 'STALE';

export class FifoQueueState {
  /** Every offset below this is done (acked, given up or filtered out). */
  consumeOffset: number;
  /** The batch in flight (queue order); empty = none. */
  entries: FifoEntry[] = [];
  /** Where reading continues once the batch is done. */
  endOffset: number;
  attemptId = '';

  constructor(consumeOffset: number) {
    this.consumeOffset = consumeOffset;
    this.endOffset = consumeOffset;
  }

  get inBatch(): boolean {
    return this.entries.length > 0;
  }

  get unackedCount(): number {
    let count = 0;
    for (const entry of this.entries) if (!entry.acked) count++;
    return count;
  }

  /** True while an un-acked message is still invisible (and the request is not a retry of that delivery). */
  isBlocked(nowMs: number, attemptId: string | undefined): boolean {
    if (!this.inBatch) return false;
    if (attemptId !== undefined && attemptId !== '' && attemptId === this.attemptId) return false;
    for (const entry of this.entries) if (!entry.acked && entry.visibleAtMs > nowMs) return true;
    return false;
  }

  /** Whether a request with this attempt id repeats the batch's latest delivery. */
  isSameAttempt(attemptId: string | undefined): boolean {
    return attemptId !== undefined && attemptId !== '' && attemptId === this.attemptId;
  }

  /** The un-acked entries to hand out again, earliest first, at most `max`. */
  redeliverable(max: number): FifoEntry[] {
    const out: FifoEntry[] = [];
    for (const entry of this.entries) {
      if (out.length >= max) break;
      if (!entry.acked) out.push(entry);
    }
    return out;
  }

  /** Starts a batch of freshly read messages (each delivered once now). */
  startBatch(queueOffsets: readonly number[], endOffset: number, popTimeMs: number, invisibleTimeMs: number, attemptId: string | undefined): void {
    this.entries = queueOffsets.map((queueOffset) => ({ queueOffset, popTimeMs, visibleAtMs: popTimeMs + invisibleTimeMs, deliveries: 1, acked: false }));
    this.endOffset = endOffset;
    this.attemptId = attemptId ?? '';
    this.advance();
  }

  /** Records a re-delivery; a repeat of the same attempt does not count as a new one. */
  redeliver(entry: FifoEntry, popTimeMs: number, invisibleTimeMs: number, sameAttempt: boolean, attemptId: string | undefined): void {
    if (!sameAttempt) entry.deliveries++;
    entry.popTimeMs = popTimeMs;
    entry.visibleAtMs = popTimeMs + invisibleTimeMs;
    this.attemptId = attemptId ?? '';
  }

  /** Skips messages a filter passed over when no batch is in flight. */
  skipTo(offset: number): void {
    if (this.inBatch || offset <= this.consumeOffset) return;
    this.consumeOffset = offset;
    this.endOffset = offset;
  }

  find(queueOffset: number): FifoEntry | undefined {
    for (const entry of this.entries) if (entry.queueOffset === queueOffset) return entry;
    return undefined;
  }

  /** Acks the message at `queueOffset` delivered at `popTimeMs`. */
  ack(queueOffset: number, popTimeMs: number): FifoAckOutcome {
    if (queueOffset < this.consumeOffset) return 'ALREADY_DONE';
    const entry = this.find(queueOffset);
    if (!entry) return 'STALE';
    if (entry.acked) return 'ALREADY_DONE';
    if (entry.popTimeMs !== popTimeMs) return 'STALE';
    entry.acked = true;
    this.advance();
    return 'ACKED';
  }

  /** Marks a message done without a client ack (moved to the DLQ, or gone from the store). */
  giveUp(entry: FifoEntry): void {
    entry.acked = true;
    this.advance();
  }

  /** Moves the visible time of a delivered, un-acked message; false when the handle is stale. */
  changeVisibleTime(queueOffset: number, popTimeMs: number, visibleAtMs: number): boolean {
    const entry = this.find(queueOffset);
    if (!entry || entry.acked || entry.popTimeMs !== popTimeMs) return false;
    entry.visibleAtMs = visibleAtMs;
    return true;
  }

  private advance(): void {
    let index = 0;
    while (index < this.entries.length && this.entries[index]!.acked) index++;
    if (index === this.entries.length) {
      this.entries = [];
      this.consumeOffset = Math.max(this.consumeOffset, this.endOffset);
      this.attemptId = '';
      return;
    }
    this.consumeOffset = Math.max(this.consumeOffset, this.entries[index]!.queueOffset);
  }

  toRecord(queueRef: number): FifoRecord {
    const entries: FifoEntryRecord[] = this.entries.map((entry) => ({ ...entry }));
    return { type: 6, queueRef, consumeOffset: this.consumeOffset, endOffset: this.endOffset, attemptId: this.attemptId, entries };
  }

  static fromRecord(record: FifoRecord): FifoQueueState {
    const state = new FifoQueueState(record.consumeOffset);
    state.entries = record.entries.map((entry) => ({ ...entry }));
    state.endOffset = record.entries.length > 0 ? record.endOffset : record.consumeOffset;
    state.attemptId = record.attemptId;
    return state;
  }
}
