/**
 * A time-bucketed expiry wheel: entries fall into buckets of `bucketMs` by due time; one shared tick
 * takes out the buckets that are due. Adding and removing are O(1) (an entry remembers its bucket and
 * its index there; removal swaps the last entry into its place), so acking one of 100,000 invisible
 * messages costs the same as acking one of ten, and there is never a timer per entry.
 *
 * Entries due in the past (recovered after a restart) go into the first bucket not yet taken out.
 * An entry comes out once its whole bucket is due: never early, at most one bucket late.
 */
import { assert } from '../../common/assert.js';

export interface WheelEntry {
  /** Bucket number while in the wheel, -1 otherwise (owned by the wheel). */
  wheelBucket: number;
  /** Index inside the bucket (owned by the wheel). */
  wheelIndex: number;
}

export class ExpiryWheel<T extends WheelEntry> {
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
