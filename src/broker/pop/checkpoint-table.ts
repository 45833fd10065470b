/**
 * The in-memory table of POP state: one PopQueue per (group, topic the messages sit in, queue id) with
 * its pop offset, and one checkpoint per pop of one queue (up to 32 messages, their acks in one u32
 * bitmap).
 *
 * Checkpoints are not objects: a checkpoint is a slot number in one ArrayBuffer of fixed 40-byte
 * records, so 100,000 invisible messages popped one at a time are one buffer, not 100,000 objects and
 * map entries for the garbage collector to trace, and an ack touches one or two cache lines of its
 * record instead of one per field. Record layout (native byte order, memory only; the durable form is
 * the pop log's CHECKPOINT record in pop-log-codec.ts):
 *
 * | bytes | type    | field |
 * |-------|---------|-------|
 * | 0-7   | float64 | startOffset: queue offset the pop started at (a receipt handle's ckQueueOffset) |
 * | 8-15  | float64 | popTimeMs |
 * | 16-19 | int32   | queueRef of the PopQueue |
 * | 20-23 | uint32  | invisibleTimeMs (≤ 12 h by validation; 49 days fit) |
 * | 24-27 | uint32  | ackedBits: bit i = i-th message acked |
 * | 28-31 | int32   | chain: next slot in the same hash bucket, or in the free list |
 * | 32-35 | int32   | count (1-32; 0 = free slot) in the low byte, flags (REVIVING) in the next |
 * | 36-39 |         | padding (float64 alignment) |
 *
 * Plus one int32 hash head per bucket (buckets = the power of two ≥ capacity, so 4-8 B per slot) and
 * 12 B per slot in the expiry wheel: about 56-60 B per checkpoint. The buffer grows by half when
 * full, never past `maxCheckpoints` (the caller refuses pops before that). Rare extras sit in side
 * maps: the offsets of a checkpoint whose messages are not contiguous (a filtered pop), and the bits
 * whose receipt handle a change of invisible time made stale.
 *
 * A checkpoint is named by (queueRef, startOffset, popTimeMs), what a receipt handle carries; the
 * lookup hashes those three numbers, so an ack never scans the in-flight messages.
 */
import { assert } from '../../common/assert.js';
import type { FifoQueueState } from './fifo-queue-state.js';

export class PopQueue {
  /** Next queue offset to hand out (-1 until initialised). */
  popOffset = -1;
  /** FIFO pops of this queue (created on the first one). */
  fifo: FifoQueueState | null = null;

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

/** A checkpoint's slot in the table; NO_CHECKPOINT when there is none. */
export type CheckpointSlot = number;
export const NO_CHECKPOINT = -1;

const FLAG_REVIVING = 1;
const INITIAL_CAPACITY = 1024;
const GROWTH = 1.5;
const RECORD_BYTES = 40;
/** Record fields as indexes into the float64 view (F_*) and the 32-bit views (I_*), plus slot × stride. */
const F64_STRIDE = RECORD_BYTES / 8;
const I32_STRIDE = RECORD_BYTES / 4;
const F_START_OFFSET = 0;
const F_POP_TIME = 1;
const I_QUEUE_REF = 4;
const I_INVISIBLE_TIME = 5;
const I_ACKED_BITS = 6;
const I_CHAIN = 7;
const I_COUNT_FLAGS = 8;

export function bitCount(bits: number): number {
  let value = bits >>> 0;
  let count = 0;
  while (value !== 0) {
    value = (value & (value - 1)) >>> 0;
    count++;
  }
  return count;
}

function fullMaskOf(count: number): number {
  return count === 32 ? 0xffffffff : 2 ** count - 1;
}

/** Mixes the three numbers that name a checkpoint (offsets and times modulo 2^32 are enough). */
function hashOf(queueRef: number, startOffset: number, popTimeMs: number): number {
  let hash = Math.imul(queueRef, 0x9e3779b1) ^ Math.imul(startOffset >>> 0, 0x85ebca77) ^ Math.imul(popTimeMs >>> 0, 0xc2b2ae3d);
  hash ^= hash >>> 15;
  hash = Math.imul(hash, 0x2c1b3c6d);
  return hash ^ (hash >>> 12);
}


export class CheckpointTable {
  /**
   * Group → topic → queue id → queue. Nested maps rather than one map keyed by a joined string: every
   * ack looks its queue up, and joining the strings allocated and hashed a new one each time.
   */
  private readonly queuesByName = new Map<string, Map<string, Map<number, PopQueue>>>();
  private readonly queuesByRef = new Map<number, PopQueue>();
  /** Un-acked messages in flight per group. */
  private readonly inflightByGroup = new Map<string, number>();
  private nextRef = 1;
  private inflightTotal = 0;

  /** Three views of the same record buffer. */
  private f64 = new Float64Array(0);
  private i32 = new Int32Array(0);
  private u32 = new Uint32Array(0);
  private slotCapacity = 0;
  private heads = new Int32Array(0);
  private headMask = 0;
  /** Slots ever handed out; slots at and above are untouched. */
  private highWater = 0;
  private freeHead = NO_CHECKPOINT;
  private live = 0;
  /** offset - startOffset per message, for checkpoints whose offsets are not contiguous. */
  private readonly diffsBySlot = new Map<CheckpointSlot, Uint32Array>();
  /** Bits whose handle a change of invisible time made stale (memory only, like RocketMQ). */
  private readonly changedBySlot = new Map<CheckpointSlot, number>();

  /** @param maxCheckpoints slots the table may hold (replay of the pop log may pass it; see add). */
  constructor(readonly maxCheckpoints: number) {
    assert(Number.isInteger(maxCheckpoints) && maxCheckpoints > 0, 'maxCheckpoints must be a positive integer');
  }

  /** Live checkpoints. */
  get size(): number {
    return this.live;
  }

  /** Slots the buffer has room for now. */
  get capacity(): number {
    return this.slotCapacity;
  }

  /** Bytes held by the records and the hash heads (what `capacity` costs). */
  get capacityBytes(): number {
    return this.f64.byteLength + this.heads.byteLength;
  }

  get inflightMessages(): number {
    return this.inflightTotal;
  }

  inflightOf(group: string): number {
    return this.inflightByGroup.get(group) ?? 0;
  }

  findQueue(group: string, topic: string, queueId: number): PopQueue | undefined {
    return this.queuesByName.get(group)?.get(topic)?.get(queueId);
  }

  queueByRef(ref: number): PopQueue | undefined {
    return this.queuesByRef.get(ref);
  }

  queues(): IterableIterator<PopQueue> {
    return this.queuesByRef.values();
  }

  /** Returns the queue and whether it was created now (the caller then logs its QUEUE record). */
  getOrCreateQueue(group: string, topic: string, originalTopic: string, queueId: number, ref?: number): { queue: PopQueue; created: boolean } {
    const existing = this.findQueue(group, topic, queueId);
    if (existing) return { queue: existing, created: false };
    const queueRef = ref ?? this.nextRef;
    assert(queueRef > 0 && !this.queuesByRef.has(queueRef), `pop queue ref ${queueRef} reused`);
    this.nextRef = Math.max(this.nextRef, queueRef + 1);
    const queue = new PopQueue(queueRef, group, topic, originalTopic, queueId);
    let byTopic = this.queuesByName.get(group);
    if (byTopic === undefined) {
      byTopic = new Map();
      this.queuesByName.set(group, byTopic);
    }
    let byQueueId = byTopic.get(topic);
    if (byQueueId === undefined) {
      byQueueId = new Map();
      byTopic.set(topic, byQueueId);
    }
    byQueueId.set(queueId, queue);
    this.queuesByRef.set(queueRef, queue);
    return { queue, created: true };
  }

  /** The slot of checkpoint (queue, startOffset, popTimeMs), or NO_CHECKPOINT. */
  find(queueRef: number, startOffset: number, popTimeMs: number): CheckpointSlot {
    if (this.live === 0) return NO_CHECKPOINT;
    const { f64, i32 } = this;
    let slot = this.heads[hashOf(queueRef, startOffset, popTimeMs) & this.headMask]!;
    while (slot !== NO_CHECKPOINT) {
      const f = slot * F64_STRIDE;
      const i = slot * I32_STRIDE;
      if (f64[f + F_START_OFFSET] === startOffset && f64[f + F_POP_TIME] === popTimeMs && i32[i + I_QUEUE_REF] === queueRef) return slot;
      slot = i32[i + I_CHAIN]!;
    }
    return NO_CHECKPOINT;
  }

  get(queue: PopQueue, startOffset: number, popTimeMs: number): CheckpointSlot {
    return this.find(queue.ref, startOffset, popTimeMs);
  }

  has(queue: PopQueue, startOffset: number, popTimeMs: number): boolean {
    return this.find(queue.ref, startOffset, popTimeMs) !== NO_CHECKPOINT;
  }

  /** Room for `checkpoints` more within maxCheckpoints. */
  hasRoomFor(checkpoints: number): boolean {
    return this.live + checkpoints <= this.maxCheckpoints;
  }

  /**
   * Adds a checkpoint and returns its slot. Past maxCheckpoints only with `overLimit` (replaying the
   * pop log after the limit was lowered: state already promised to clients is never dropped).
   */
  add(queue: PopQueue, startOffset: number, popTimeMs: number, invisibleTimeMs: number, count: number, diffs: Uint32Array | null, ackedBits = 0, overLimit = false): CheckpointSlot {
    assert(Number.isInteger(count) && count >= 1 && count <= 32, `checkpoint of ${count} messages`);
    assert(Number.isInteger(invisibleTimeMs) && invisibleTimeMs >= 0 && invisibleTimeMs <= 0xffffffff, `invisible time ${invisibleTimeMs}`);
    assert(diffs === null || diffs.length === count, 'one diff per message');
    assert(this.find(queue.ref, startOffset, popTimeMs) === NO_CHECKPOINT, 'checkpoint exists');
    assert(overLimit || this.live < this.maxCheckpoints, `more than ${this.maxCheckpoints} pop checkpoints`);
    const slot = this.allocate(overLimit);
    const f = slot * F64_STRIDE;
    const i = slot * I32_STRIDE;
    this.f64[f + F_START_OFFSET] = startOffset;
    this.f64[f + F_POP_TIME] = popTimeMs;
    this.i32[i + I_QUEUE_REF] = queue.ref;
    this.u32[i + I_INVISIBLE_TIME] = invisibleTimeMs;
    this.u32[i + I_ACKED_BITS] = (ackedBits & fullMaskOf(count)) >>> 0;
    this.i32[i + I_COUNT_FLAGS] = count;
    if (diffs !== null) this.diffsBySlot.set(slot, diffs);
    const bucket = hashOf(queue.ref, startOffset, popTimeMs) & this.headMask;
    this.i32[i + I_CHAIN] = this.heads[bucket]!;
    this.heads[bucket] = slot;
    this.live++;
    this.addInflight(queue.group, this.unackedCount(slot));
    return slot;
  }

  /** Removes a checkpoint; its un-acked messages stop counting as in flight. */
  remove(slot: CheckpointSlot): void {
    assert(this.isLive(slot), 'removing a free checkpoint slot');
    const { i32 } = this;
    const i = slot * I32_STRIDE;
    const queueRef = i32[i + I_QUEUE_REF]!;
    const bucket = hashOf(queueRef, this.startOffsetOf(slot), this.popTimeOf(slot)) & this.headMask;
    let previous = NO_CHECKPOINT;
    let cursor = this.heads[bucket]!;
    while (cursor !== slot) {
      assert(cursor !== NO_CHECKPOINT, 'checkpoint missing from its hash chain');
      previous = cursor;
      cursor = i32[cursor * I32_STRIDE + I_CHAIN]!;
    }
    if (previous === NO_CHECKPOINT) this.heads[bucket] = i32[i + I_CHAIN]!;
    else i32[previous * I32_STRIDE + I_CHAIN] = i32[i + I_CHAIN]!;
    this.addInflight(this.queuesByRef.get(queueRef)!.group, -this.unackedCount(slot));
    if (this.diffsBySlot.size > 0) this.diffsBySlot.delete(slot);
    if (this.changedBySlot.size > 0) this.changedBySlot.delete(slot);
    i32[i + I_COUNT_FLAGS] = 0;
    i32[i + I_CHAIN] = this.freeHead;
    this.freeHead = slot;
    this.live--;
    // Empty again (a drained backlog): give the memory back; no slot number is held anywhere now.
    if (this.live === 0 && this.slotCapacity > INITIAL_CAPACITY) this.release();
  }

  private release(): void {
    this.f64 = new Float64Array(0);
    this.i32 = new Int32Array(0);
    this.u32 = new Uint32Array(0);
    this.heads = new Int32Array(0);
    this.headMask = 0;
    this.slotCapacity = 0;
    this.highWater = 0;
    this.freeHead = NO_CHECKPOINT;
  }

  /** Acks bits of a live checkpoint; returns the newly acked bits. */
  ack(slot: CheckpointSlot, bits: number): number {
    const index = slot * I32_STRIDE + I_ACKED_BITS;
    const acked = this.u32[index]!;
    const fresh = (bits & ~acked & fullMaskOf(this.countOf(slot))) >>> 0;
    if (fresh === 0) return 0;
    this.u32[index] = (acked | fresh) >>> 0;
    this.addInflight(this.queueOf(slot).group, -bitCount(fresh));
    return fresh;
  }

  isLive(slot: CheckpointSlot): boolean {
    return slot >= 0 && slot < this.highWater && this.countOf(slot) !== 0;
  }

  queueOf(slot: CheckpointSlot): PopQueue {
    return this.queuesByRef.get(this.i32[slot * I32_STRIDE + I_QUEUE_REF]!)!;
  }

  queueRefOf(slot: CheckpointSlot): number {
    return this.i32[slot * I32_STRIDE + I_QUEUE_REF]!;
  }

  startOffsetOf(slot: CheckpointSlot): number {
    return this.f64[slot * F64_STRIDE + F_START_OFFSET]!;
  }

  popTimeOf(slot: CheckpointSlot): number {
    return this.f64[slot * F64_STRIDE + F_POP_TIME]!;
  }

  invisibleTimeOf(slot: CheckpointSlot): number {
    return this.u32[slot * I32_STRIDE + I_INVISIBLE_TIME]!;
  }

  reviveAtOf(slot: CheckpointSlot): number {
    return this.popTimeOf(slot) + this.invisibleTimeOf(slot);
  }

  countOf(slot: CheckpointSlot): number {
    return this.i32[slot * I32_STRIDE + I_COUNT_FLAGS]! & 0xff;
  }

  ackedBitsOf(slot: CheckpointSlot): number {
    return this.u32[slot * I32_STRIDE + I_ACKED_BITS]!;
  }

  diffsOf(slot: CheckpointSlot): Uint32Array | null {
    return this.diffsBySlot.get(slot) ?? null;
  }

  isAcked(slot: CheckpointSlot, index: number): boolean {
    return ((this.ackedBitsOf(slot) >>> index) & 1) === 1;
  }

  allAcked(slot: CheckpointSlot): boolean {
    return this.ackedBitsOf(slot) === fullMaskOf(this.countOf(slot));
  }

  unackedCount(slot: CheckpointSlot): number {
    return bitCount(~this.ackedBitsOf(slot) & fullMaskOf(this.countOf(slot)));
  }

  offsetAt(slot: CheckpointSlot, index: number): number {
    const diffs = this.diffsBySlot.size > 0 ? this.diffsBySlot.get(slot) : undefined;
    return diffs === undefined ? this.startOffsetOf(slot) + index : this.startOffsetOf(slot) + diffs[index]!;
  }

  /** Index of the message at `queueOffset` in the checkpoint, or -1. */
  indexOf(slot: CheckpointSlot, queueOffset: number): number {
    const diff = queueOffset - this.startOffsetOf(slot);
    const count = this.countOf(slot);
    const diffs = this.diffsBySlot.size > 0 ? this.diffsBySlot.get(slot) : undefined;
    if (diffs === undefined) return diff >= 0 && diff < count ? diff : -1;
    for (let index = 0; index < count; index++) if (diffs[index] === diff) return index;
    return -1;
  }

  isReviving(slot: CheckpointSlot): boolean {
    return ((this.i32[slot * I32_STRIDE + I_COUNT_FLAGS]! >>> 8) & FLAG_REVIVING) !== 0;
  }

  setReviving(slot: CheckpointSlot, reviving: boolean): void {
    const index = slot * I32_STRIDE + I_COUNT_FLAGS;
    const flag = FLAG_REVIVING << 8;
    this.i32[index] = reviving ? this.i32[index]! | flag : this.i32[index]! & ~flag;
  }

  /** Whether the handle of message `index` was made stale by a change of invisible time. */
  isChanged(slot: CheckpointSlot, index: number): boolean {
    if (this.changedBySlot.size === 0) return false;
    return (((this.changedBySlot.get(slot) ?? 0) >>> index) & 1) === 1;
  }

  markChanged(slot: CheckpointSlot, index: number): void {
    this.changedBySlot.set(slot, ((this.changedBySlot.get(slot) ?? 0) | (1 << index)) >>> 0);
  }

  /** Calls `visit` with every live slot (snapshot, recovery). */
  forEach(visit: (slot: CheckpointSlot) => void): void {
    for (let slot = 0; slot < this.highWater; slot++) if (this.countOf(slot) !== 0) visit(slot);
  }

  private allocate(overLimit: boolean): CheckpointSlot {
    if (this.freeHead !== NO_CHECKPOINT) {
      const slot = this.freeHead;
      this.freeHead = this.i32[slot * I32_STRIDE + I_CHAIN]!;
      return slot;
    }
    if (this.highWater === this.slotCapacity) {
      const limit = overLimit ? Number.MAX_SAFE_INTEGER : this.maxCheckpoints;
      this.resize(Math.min(limit, Math.max(INITIAL_CAPACITY, Math.ceil(this.slotCapacity * GROWTH))));
    }
    return this.highWater++;
  }

  private resize(capacity: number): void {
    assert(capacity > this.slotCapacity, 'the checkpoint table only grows');
    const buffer = new ArrayBuffer(capacity * RECORD_BYTES);
    new Uint8Array(buffer).set(new Uint8Array(this.f64.buffer, 0, this.f64.byteLength));
    this.f64 = new Float64Array(buffer);
    this.i32 = new Int32Array(buffer);
    this.u32 = new Uint32Array(buffer);
    this.slotCapacity = capacity;
    let buckets = 1;
    while (buckets < capacity) buckets *= 2;
    if (buckets !== this.heads.length) this.rehash(buckets);
  }

  private rehash(buckets: number): void {
    this.heads = new Int32Array(buckets).fill(NO_CHECKPOINT);
    this.headMask = buckets - 1;
    for (let slot = 0; slot < this.highWater; slot++) {
      if (this.countOf(slot) === 0) continue;
      const bucket = hashOf(this.i32[slot * I32_STRIDE + I_QUEUE_REF]!, this.startOffsetOf(slot), this.popTimeOf(slot)) & this.headMask;
      this.i32[slot * I32_STRIDE + I_CHAIN] = this.heads[bucket]!;
      this.heads[bucket] = slot;
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
