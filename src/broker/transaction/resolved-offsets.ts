/**
 * Which half messages are finished (committed, rolled back or discarded), by half-queue offset: one bit
 * per offset in a window that starts at `progress`, the first offset not known to be finished.
 * Everything below `progress` is finished. The window slides forward as the oldest open halves finish,
 * so memory is one bit per half stored since the oldest open one (the check service bounds that span by
 * giving up halves that stay open too long), never one object per message.
 *
 * Layout: `bits[i] >> j & 1` is the offset `startOffset + 8 i + j`; `startOffset ≤ progress` and
 * `startOffset` only moves in whole bytes when the window is compacted.
 */
import { assert } from '../../common/assert.js';

/** Compaction waits until this many bytes lie wholly below `progress`, so it is rare and cheap. */
const COMPACT_MIN_BYTES = 4096;
/** A programmer-error guard: the service keeps the window far below this. */
const MAX_WINDOW_BITS = 2 ** 31;

export class ResolvedOffsets {
  private startOffset: number;
  private firstOpen: number;
  private bits: Uint8Array;

  constructor(progress: number, initialBytes = 1024) {
    assert(Number.isSafeInteger(progress) && progress >= 0, 'progress must be a non-negative integer');
    this.firstOpen = progress;
    this.startOffset = progress - (progress % 8);
    this.bits = new Uint8Array(Math.max(8, initialBytes));
  }

  /** The first half offset not known to be finished; every offset below it is finished. */
  get progress(): number {
    return this.firstOpen;
  }

  /** Bytes of the bit window (for stats and tests). */
  get windowBytes(): number {
    return this.bits.length;
  }

  has(offset: number): boolean {
    if (offset < this.firstOpen) return true;
    const index = offset - this.startOffset;
    if (index >= this.bits.length * 8) return false;
    return (this.bits[index >> 3]! & (1 << (index & 7))) !== 0;
  }

  /** Marks one offset finished; offsets below `progress` are already finished and ignored. */
  add(offset: number): void {
    if (offset < this.firstOpen) return;
    this.ensureCapacity(offset);
    const index = offset - this.startOffset;
    this.bits[index >> 3]! |= 1 << (index & 7);
    if (offset === this.firstOpen) this.advance();
  }

  /** Declares every offset below `offset` finished (retention removed them, or they were given up). */
  skipTo(offset: number): void {
    if (offset <= this.firstOpen) return;
    this.firstOpen = offset;
    this.advance();
  }

  private advance(): void {
    let index = this.firstOpen - this.startOffset;
    const limit = this.bits.length * 8;
    while (index < limit) {
      const byte = this.bits[index >> 3]!;
      if ((index & 7) === 0 && byte === 0xff) {
        index += 8;
        continue;
      }
      if ((byte & (1 << (index & 7))) === 0) break;
      index++;
    }
    this.firstOpen = this.startOffset + index;
    this.compactIfWorthwhile();
  }

  private compactIfWorthwhile(): void {
    const droppable = Math.floor((this.firstOpen - this.startOffset) / 8);
    if (droppable < COMPACT_MIN_BYTES && droppable < this.bits.length) return;
    this.dropBytes(droppable);
  }

  private dropBytes(count: number): void {
    if (count <= 0) return;
    if (count >= this.bits.length) {
      this.bits.fill(0);
    } else {
      this.bits.copyWithin(0, count);
      this.bits.fill(0, this.bits.length - count);
    }
    this.startOffset += count * 8;
  }

  private ensureCapacity(offset: number): void {
    let index = offset - this.startOffset;
    if (index < this.bits.length * 8) return;
    this.dropBytes(Math.floor((this.firstOpen - this.startOffset) / 8));
    index = offset - this.startOffset;
    if (index < this.bits.length * 8) return;
    assert(index < MAX_WINDOW_BITS, `resolved-offset window of ${index} bits is past its limit`);
    let length = this.bits.length;
    while (length * 8 <= index) length *= 2;
    const grown = new Uint8Array(length);
    grown.set(this.bits);
    this.bits = grown;
  }
}
