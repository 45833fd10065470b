/**
 * The previous in-memory POP checkpoint table (before the struct-of-arrays rewrite), kept only so
 * bench/pop-table-bench.ts can compare the old and the new code in the same run: one object per
 * checkpoint, a Map entry per checkpoint in its queue, and an array-of-objects expiry wheel.
 * Not used by the broker.
 */
import { assert } from '../src/common/assert.js';

export interface WheelEntry {
  /** Bucket number while in the wheel, -1 otherwise (owned by the wheel). */
  wheelBucket: number;
  /** Index inside the bucket (owned by the wheel). */
  wheelIndex: number;
}

export class OldExpiryWheel<T extends WheelEntry> {
  private readonly buckets = new Map<number, T[]>();
  /** The first bucket not yet taken out. */
  private cursor: number;
  private count = 0;

  constructor(private readonly bucketMs: number, nowMs: number) {
    assert(Number.isInteger(bucketMs) && bucketMs > 0, 'bucketMs must be a positive integer');
    this.cursor = Math.floor(nowMs / bucketMs);
  }

  get size(): number {
    return this.count;
  }

  add(entry: T, dueAtMs: number): void {
    assert(entry.wheelBucket < 0, 'entry is already in the wheel');
    const bucketNumber = Math.max(this.cursor, Math.floor(dueAtMs / this.bucketMs));
    let bucket = this.buckets.get(bucketNumber);
    if (!bucket) {
      bucket = [];
      this.buckets.set(bucketNumber, bucket);
    }
    entry.wheelBucket = bucketNumber;
    entry.wheelIndex = bucket.length;
    bucket.push(entry);
    this.count++;
  }

  remove(entry: T): void {
    if (entry.wheelBucket < 0) return;
    const bucket = this.buckets.get(entry.wheelBucket);
    assert(bucket !== undefined && bucket[entry.wheelIndex] === entry, 'wheel entry out of place');
    const last = bucket.pop()!;
    if (last !== entry) {
      bucket[entry.wheelIndex] = last;
      last.wheelIndex = entry.wheelIndex;
    }
    if (bucket.length === 0) this.buckets.delete(entry.wheelBucket);
    entry.wheelBucket = -1;
    entry.wheelIndex = -1;
    this.count--;
  }

  /**
   * Takes out up to `limit` entries of the buckets that lie wholly at or before `nowMs` (so an entry
   * is never taken before its due time, and at most one bucket late), appends them to `out` and
   * returns how many were taken. What does not fit in `limit` stays for the next call.
   */
  takeDue(nowMs: number, limit: number, out: T[]): number {
    const last = Math.floor((nowMs + 1) / this.bucketMs) - 1;
    let taken = 0;
    if (this.count === 0) {
      this.cursor = Math.max(this.cursor, last + 1);
      return 0;
    }
    while (this.cursor <= last && taken < limit) {
      const bucket = this.buckets.get(this.cursor);
      if (bucket) {
        while (bucket.length > 0 && taken < limit) {
          const entry = bucket.pop()!;
          entry.wheelBucket = -1;
          entry.wheelIndex = -1;
          out.push(entry);
          taken++;
          this.count--;
        }
        if (bucket.length > 0) break;
        this.buckets.delete(this.cursor);
      }
      this.cursor++;
    }
    return taken;
  }
}
export class OldPopQueue {
  /** Next queue offset to hand out (-1 until initialised). */
  popOffset = -1;
  /** FIFO pops of this queue (created on the first one). */
  fifo: unknown = null;
  /**
   * Live checkpoints by start offset (a number key: no string built per lookup). Two checkpoints
   * share a start offset only when a change of invisible time re-hides a message whose offset
   * started a pop; they are chained through `nextSameStart`.
   */
  readonly checkpoints = new Map<number, OldCheckpoint>();

  constructor(
    /** Small number naming this queue in the pop log. */
    readonly ref: number,
    readonly group: string,
    /** The topic the messages sit in (a pop retry topic for re-deliveries). */
    readonly topic: string,
    /** The topic clients name. */
    readonly originalTopic: string,
    readonly queueId: number,
  ) {}
}

export class OldCheckpoint implements WheelEntry {
  wheelBucket = -1;
  wheelIndex = -1;
  ackedBits = 0;
  /** Messages whose bit was set by a change of invisible time (their old handle is stale), in memory only. */
  changedBits = 0;
  /** True while its un-acked messages are being re-stored; acks are refused then. */
  reviving = false;
  /** The next checkpoint of the same queue with the same start offset (rare; see OldPopQueue). */
  nextSameStart: OldCheckpoint | undefined = undefined;

  constructor(
    readonly queue: OldPopQueue,
    readonly startOffset: number,
    readonly popTimeMs: number,
    readonly invisibleTimeMs: number,
    readonly count: number,
    /** offset - startOffset per message; null = contiguous from startOffset. */
    readonly diffs: Uint32Array | null,
  ) {
    assert(count >= 1 && count <= 32, `checkpoint of ${count} messages`);
  }

  get reviveAtMs(): number {
    return this.popTimeMs + this.invisibleTimeMs;
  }

  get fullMask(): number {
    return this.count === 32 ? 0xffffffff : 2 ** this.count - 1;
  }

  get allAcked(): boolean {
    return this.ackedBits === this.fullMask;
  }

  get unackedCount(): number {
    return bitCount(~this.ackedBits & this.fullMask);
  }

  offsetAt(index: number): number {
    return this.diffs === null ? this.startOffset + index : this.startOffset + this.diffs[index]!;
  }

  /** Index of the message at `queueOffset`, or -1. */
  indexOf(queueOffset: number): number {
    const diff = queueOffset - this.startOffset;
    if (this.diffs === null) return diff >= 0 && diff < this.count ? diff : -1;
    for (let index = 0; index < this.count; index++) if (this.diffs[index] === diff) return index;
    return -1;
  }

  isAcked(index: number): boolean {
    return ((this.ackedBits >>> index) & 1) === 1;
  }

  /** Sets bits; returns the bits that were newly set. */
  ack(bits: number): number {
    const fresh = (bits & ~this.ackedBits & this.fullMask) >>> 0;
    this.ackedBits = (this.ackedBits | fresh) >>> 0;
    return fresh;
  }
}

function bitCount(bits: number): number {
  let value = bits >>> 0;
  let count = 0;
  while (value !== 0) {
    value = (value & (value - 1)) >>> 0;
    count++;
  }
  return count;
}

function queueKey(group: string, topic: string, queueId: number): string {
  return `${group}\u0000${topic}\u0000${queueId}`;
}

export class OldCheckpointTable {
  private readonly queuesByKey = new Map<string, OldPopQueue>();
  private readonly queuesByRef = new Map<number, OldPopQueue>();
  private checkpointTotal = 0;
  /** Un-acked messages in flight per group. */
  private readonly inflightByGroup = new Map<string, number>();
  private nextRef = 1;
  private inflightTotal = 0;

  get checkpointCount(): number {
    return this.checkpointTotal;
  }

  get inflightMessages(): number {
    return this.inflightTotal;
  }

  inflightOf(group: string): number {
    return this.inflightByGroup.get(group) ?? 0;
  }

  findQueue(group: string, topic: string, queueId: number): OldPopQueue | undefined {
    return this.queuesByKey.get(queueKey(group, topic, queueId));
  }

  queueByRef(ref: number): OldPopQueue | undefined {
    return this.queuesByRef.get(ref);
  }

  queues(): IterableIterator<OldPopQueue> {
    return this.queuesByRef.values();
  }

  /** Returns the queue and whether it was created now (the caller then logs its QUEUE record). */
  getOrCreateQueue(group: string, topic: string, originalTopic: string, queueId: number, ref?: number): { queue: OldPopQueue; created: boolean } {
    const key = queueKey(group, topic, queueId);
    const existing = this.queuesByKey.get(key);
    if (existing) return { queue: existing, created: false };
    const queueRef = ref ?? this.nextRef;
    assert(!this.queuesByRef.has(queueRef), `pop queue ref ${queueRef} reused`);
    this.nextRef = Math.max(this.nextRef, queueRef + 1);
    const queue = new OldPopQueue(queueRef, group, topic, originalTopic, queueId);
    this.queuesByKey.set(key, queue);
    this.queuesByRef.set(queueRef, queue);
    return { queue, created: true };
  }

  get(queue: OldPopQueue, startOffset: number, popTimeMs: number): OldCheckpoint | undefined {
    let checkpoint = queue.checkpoints.get(startOffset);
    while (checkpoint !== undefined && checkpoint.popTimeMs !== popTimeMs) checkpoint = checkpoint.nextSameStart;
    return checkpoint;
  }

  has(queue: OldPopQueue, startOffset: number, popTimeMs: number): boolean {
    return this.get(queue, startOffset, popTimeMs) !== undefined;
  }

  add(checkpoint: OldCheckpoint): void {
    const { queue } = checkpoint;
    assert(!this.has(queue, checkpoint.startOffset, checkpoint.popTimeMs), 'checkpoint exists');
    checkpoint.nextSameStart = queue.checkpoints.get(checkpoint.startOffset);
    queue.checkpoints.set(checkpoint.startOffset, checkpoint);
    this.checkpointTotal++;
    this.addInflight(queue.group, checkpoint.unackedCount);
  }

  /** Removes a checkpoint; its un-acked messages stop counting as in flight. */
  remove(checkpoint: OldCheckpoint): void {
    const { queue } = checkpoint;
    const head = queue.checkpoints.get(checkpoint.startOffset);
    if (head === checkpoint) {
      if (checkpoint.nextSameStart === undefined) queue.checkpoints.delete(checkpoint.startOffset);
      else queue.checkpoints.set(checkpoint.startOffset, checkpoint.nextSameStart);
    } else {
      let previous = head;
      while (previous !== undefined && previous.nextSameStart !== checkpoint) previous = previous.nextSameStart;
      if (previous === undefined) return;
      previous.nextSameStart = checkpoint.nextSameStart;
    }
    checkpoint.nextSameStart = undefined;
    this.checkpointTotal--;
    this.addInflight(queue.group, -checkpoint.unackedCount);
  }

  /** Acks bits of a checkpoint in the table; returns the newly acked bits. */
  ack(checkpoint: OldCheckpoint, bits: number): number {
    const fresh = checkpoint.ack(bits);
    if (fresh !== 0) this.addInflight(checkpoint.queue.group, -bitCount(fresh));
    return fresh;
  }

  *all(): IterableIterator<OldCheckpoint> {
    for (const queue of this.queuesByRef.values()) {
      for (const head of queue.checkpoints.values()) {
        for (let checkpoint: OldCheckpoint | undefined = head; checkpoint !== undefined; checkpoint = checkpoint.nextSameStart) yield checkpoint;
      }
    }
  }

  private addInflight(group: string, delta: number): void {
    if (delta === 0) return;
    const next = (this.inflightByGroup.get(group) ?? 0) + delta;
    assert(next >= 0, 'in-flight count below zero');
    if (next === 0) this.inflightByGroup.delete(group);
    else this.inflightByGroup.set(group, next);
    this.inflightTotal += delta;
  }
}
