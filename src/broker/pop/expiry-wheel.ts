/**
 * A time-bucketed expiry wheel over small integer ids (the checkpoint table's slots): entries fall
 * into buckets of `bucketMs` by due time; one shared tick takes out the buckets that are due. There is
 * never a timer per entry.
 *
 * Each bucket is a doubly linked list threaded through one Int32Array of three fields per id (next,
 * prev, and the bucket the id is in; side by side, so one cache line holds an id's links), with one
 * map entry per non-empty bucket for its head. Adding and removing are O(1) and allocate nothing per
 * entry, so acking one of 100,000 invisible messages costs the same as acking one of ten, and an
 * entry costs 12 bytes here.
 *
 * Entries due in the past (recovered after a restart) go into the first bucket not yet taken out.
 * An entry comes out once its whole bucket is due: never early, at most one bucket late. Buckets are
 * stored relative to the bucket of the construction time, as int32 (6.8 years at 100 ms buckets).
 */
import { assert } from '../../common/assert.js';

const NONE = -1;
const INITIAL_CAPACITY = 1024;
/** Fields per id in `links`. */
const STRIDE = 3;
const NEXT = 0;
const PREV = 1;
/** Relative bucket of the id, NONE when the id is not in the wheel. */
const BUCKET = 2;

export class ExpiryWheel {
  /** Relative bucket → first id in it. */
  private readonly heads = new Map<number, number>();
  private links = new Int32Array(0);
  private capacity = 0;
  private readonly originBucket: number;
  /** The first relative bucket not yet taken out. */
  private cursor = 0;
  private count = 0;

  constructor(private readonly bucketMs: number, nowMs: number) {
    assert(Number.isInteger(bucketMs) && bucketMs > 0, 'bucketMs must be a positive integer');
    this.originBucket = Math.floor(nowMs / bucketMs);
  }

  get size(): number {
    return this.count;
  }

  /** Bytes held by the per-id arrays. */
  get capacityBytes(): number {
    return this.links.byteLength;
  }

  has(id: number): boolean {
    return id < this.capacity && this.links[id * STRIDE + BUCKET] !== NONE;
  }

  add(id: number, dueAtMs: number): void {
    if (id >= this.capacity) this.grow(id + 1);
    const { links } = this;
    const at = id * STRIDE;
    assert(links[at + BUCKET] === NONE, 'entry is already in the wheel');
    const relative = Math.floor(dueAtMs / this.bucketMs) - this.originBucket;
    assert(relative < 0x7fffffff, `due time ${dueAtMs} is too far ahead`);
    const bucket = Math.max(this.cursor, relative);
    const head = this.heads.get(bucket);
    links[at + BUCKET] = bucket;
    links[at + PREV] = NONE;
    if (head === undefined) {
      links[at + NEXT] = NONE;
    } else {
      links[at + NEXT] = head;
      links[head * STRIDE + PREV] = id;
    }
    this.heads.set(bucket, id);
    this.count++;
  }

  remove(id: number): void {
    if (!this.has(id)) return;
    this.unlink(id, this.links[id * STRIDE + BUCKET]!);
    this.count--;
    this.releaseIfEmpty();
  }

  /** An empty wheel gives its arrays back (the checkpoint table does the same when it empties). */
  private releaseIfEmpty(): void {
    if (this.count !== 0 || this.capacity <= INITIAL_CAPACITY) return;
    this.links = new Int32Array(0);
    this.capacity = 0;
  }

  /**
   * Takes out up to `limit` entries of the buckets that lie wholly at or before `nowMs` (so an entry
   * is never taken before its due time, and at most one bucket late), appends them to `out` and
   * returns how many were taken. What does not fit in `limit` stays for the next call.
   */
  takeDue(nowMs: number, limit: number, out: number[]): number {
    const last = Math.floor((nowMs + 1) / this.bucketMs) - 1 - this.originBucket;
    let taken = 0;
    if (this.count === 0) {
      this.cursor = Math.max(this.cursor, last + 1);
      return 0;
    }
    while (this.cursor <= last && taken < limit) {
      let head = this.heads.get(this.cursor);
      while (head !== undefined && taken < limit) {
        const id = head;
        this.unlink(id, this.cursor);
        this.count--;
        out.push(id);
        taken++;
        head = this.heads.get(this.cursor);
      }
      if (head !== undefined) break;
      this.cursor++;
    }
    this.releaseIfEmpty();
    return taken;
  }

  private unlink(id: number, bucket: number): void {
    const { links } = this;
    const at = id * STRIDE;
    const before = links[at + PREV]!;
    const after = links[at + NEXT]!;
    if (before === NONE) {
      if (after === NONE) this.heads.delete(bucket);
      else this.heads.set(bucket, after);
    } else {
      links[before * STRIDE + NEXT] = after;
    }
    if (after !== NONE) links[after * STRIDE + PREV] = before;
    links[at + BUCKET] = NONE;
  }

  /** Makes room for ids below `capacity` (the checkpoint table calls it as it grows, so both stay the same size). */
  reserve(capacity: number): void {
    if (capacity > this.capacity) this.resize(capacity);
  }

  private grow(minimum: number): void {
    this.resize(Math.max(minimum, INITIAL_CAPACITY, Math.ceil(this.capacity * 1.5)));
  }

  private resize(capacity: number): void {
    const links = new Int32Array(capacity * STRIDE).fill(NONE);
    links.set(this.links);
    this.links = links;
    this.capacity = capacity;
  }
}
