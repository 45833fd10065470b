/**
 * The messages pulled from one queue and not yet consumed (Java's ProcessQueue), in queue-offset
 * order. Concurrent consumption finishes them in any order; the offset that may be committed is that
 * of the oldest unfinished message (or one past the newest when all are done), so a crash never skips
 * an unfinished one. Orderly consumption takes them from the front one batch at a time.
 *
 * One array with a head index: finishing marks an entry, the head skips finished entries, and the
 * array is compacted once the dead prefix is large. Counts and bytes feed the pull flow control.
 */
import type { ReceivedMessage } from './message.js';

export interface QueueEntry {
  readonly message: ReceivedMessage;
  done: boolean;
}

const COMPACT_AFTER_ENTRIES = 1024;

export class ProcessQueue {
  private entries: QueueEntry[] = [];
  private head = 0;
  private pending = 0;
  private pendingBytes = 0;
  /** Highest queue offset ever put, −1 before the first. */
  private maxOffset = -1;

  /** Unfinished messages. */
  get count(): number {
    return this.pending;
  }

  /** Body bytes of unfinished messages. */
  get bytes(): number {
    return this.pendingBytes;
  }

  /** Offset distance between the oldest unfinished and the newest message (0 when empty). */
  get span(): number {
    if (this.pending === 0) return 0;
    return this.maxOffset - this.entries[this.head]!.message.queueOffset;
  }

  /** Appends messages (in offset order, after everything already here); returns their entries. */
  put(messages: readonly ReceivedMessage[]): QueueEntry[] {
    const added: QueueEntry[] = [];
    for (const message of messages) {
      if (message.queueOffset <= this.maxOffset) continue;
      const entry: QueueEntry = { message, done: false };
      this.entries.push(entry);
      added.push(entry);
      this.pending++;
      this.pendingBytes += message.body.length;
      this.maxOffset = message.queueOffset;
    }
    return added;
  }

  /** Marks entries finished; returns the offset that may now be committed. */
  finish(entries: readonly QueueEntry[]): number {
    for (const entry of entries) {
      if (entry.done) continue;
      entry.done = true;
      this.pending--;
      this.pendingBytes -= entry.message.body.length;
    }
    while (this.head < this.entries.length && this.entries[this.head]!.done) this.head++;
    if (this.head >= COMPACT_AFTER_ENTRIES && this.head * 2 >= this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
    return this.committableOffset();
  }

  /** The oldest unfinished offset, or one past the newest message; −1 before anything was put. */
  committableOffset(): number {
    if (this.head < this.entries.length) return this.entries[this.head]!.message.queueOffset;
    return this.maxOffset < 0 ? -1 : this.maxOffset + 1;
  }

  /** Up to `count` unfinished entries from the front (orderly consumption). */
  front(count: number): QueueEntry[] {
    const taken: QueueEntry[] = [];
    for (let index = this.head; index < this.entries.length && taken.length < count; index++) {
      const entry = this.entries[index]!;
      if (!entry.done) taken.push(entry);
    }
    return taken;
  }

  /** Drops everything (the queue was reset or rebalanced away). */
  clear(): void {
    // Handlers still running for these entries must find them finished, not count them twice.
    for (let index = this.head; index < this.entries.length; index++) this.entries[index]!.done = true;
    this.entries = [];
    this.head = 0;
    this.pending = 0;
    this.pendingBytes = 0;
    this.maxOffset = -1;
  }
}
