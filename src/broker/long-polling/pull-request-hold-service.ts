/**
 * Long polling: a pull that finds nothing and carries the suspend flag is held here until a message
 * arrives on its queue or its suspend time runs out, then it is run again and answered.
 *
 * - Arrival: the store calls `notifyMessageArriving` synchronously after each append; held requests of
 *   that topic+queue whose offset the new message reaches, and whose TAG filter accepts its tags code,
 *   are woken. Wakes run on the next turn of the event loop (never inside the store's append call), and
 *   all wakes of a burst of appends run in one batch.
 * - Expiry: one shared sweep every `sweepIntervalMs` answers expired requests and drops those whose
 *   connection closed; every `recheckIntervalMs` it also wakes requests whose queue grew past their
 *   offset without a matching notification (messages filtered out), as Java's 5 s check does. There is
 *   no timer per held request.
 * - Limit: at most `maxHeldRequests`; past it (or once stopped) `hold` refuses and the caller answers
 *   SYSTEM_BUSY.
 */
import { silentLogger, type Logger } from '../../common/logger.js';
import type { RemotingConnection } from '../../protocol/remoting-command.js';
import type { MessageFilter } from '../../store/types.js';

export interface HeldPullRequest {
  readonly topic: string;
  readonly queueId: number;
  /** The offset the pull asked for: a message at or past it wakes the request. */
  readonly queueOffset: number;
  readonly connection: RemotingConnection;
  readonly deadlineMs: number;
  readonly filter?: MessageFilter | undefined;
  /** Runs the pull again and answers it. Called at most once. */
  readonly wake: () => void;
}

export interface PullRequestHoldServiceOptions {
  maxHeldRequests: number;
  sweepIntervalMs: number;
  recheckIntervalMs?: number;
  /** The queue's next offset, for the re-check of grown queues. */
  maxOffsetOf: (topic: string, queueId: number) => number;
  now?: () => number;
  logger?: Logger;
}

function keyOf(topic: string, queueId: number): string {
  return `${topic}\u0000${queueId}`;
}

export class PullRequestHoldService {
  private readonly buckets = new Map<string, HeldPullRequest[]>();
  private heldCount = 0;
  private readonly toWake: HeldPullRequest[] = [];
  private wakeScheduled = false;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private lastRecheckMs = 0;
  private readonly now: () => number;
  private readonly logger: Logger;
  private readonly recheckIntervalMs: number;

  constructor(private readonly options: PullRequestHoldServiceOptions) {
    this.now = options.now ?? Date.now;
    this.logger = options.logger ?? silentLogger;
    this.recheckIntervalMs = options.recheckIntervalMs ?? 5000;
  }

  get size(): number {
    return this.heldCount;
  }

  start(): void {
    if (this.timer) return;
    this.lastRecheckMs = this.now();
    this.timer = setInterval(() => this.sweep(), this.options.sweepIntervalMs);
    this.timer.unref();
  }

  /** Stops the sweep and answers every held request now. */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    const all: HeldPullRequest[] = [];
    for (const bucket of this.buckets.values()) all.push(...bucket);
    this.buckets.clear();
    this.heldCount = 0;
    for (const request of all) this.runWake(request);
  }

  /** Holds a request; false when the limit is reached or the service is stopped. */
  hold(request: HeldPullRequest): boolean {
    if (this.stopped || this.heldCount >= this.options.maxHeldRequests) return false;
    const key = keyOf(request.topic, request.queueId);
    let bucket = this.buckets.get(key);
    if (!bucket) {
      bucket = [];
      this.buckets.set(key, bucket);
    }
    bucket.push(request);
    this.heldCount++;
    return true;
  }

  /** Store listener: a message was appended at `queueOffset` of topic/queueId. */
  notifyMessageArriving(topic: string, queueId: number, queueOffset: number, tagsCode: number): void {
    const key = keyOf(topic, queueId);
    const bucket = this.buckets.get(key);
    if (!bucket) return;
    let kept = 0;
    for (let index = 0; index < bucket.length; index++) {
      const request = bucket[index]!;
      const matches = queueOffset >= request.queueOffset && (request.filter?.matchesTagsCode?.(tagsCode) ?? true);
      if (matches) this.toWake.push(request);
      else bucket[kept++] = request;
    }
    this.removeFromBucket(key, bucket, kept);
    this.scheduleWakes();
  }

  /** Drops the requests of a closed connection. */
  onConnectionClosed(connection: RemotingConnection): void {
    for (const [key, bucket] of [...this.buckets]) {
      let kept = 0;
      for (let index = 0; index < bucket.length; index++) {
        const request = bucket[index]!;
        if (request.connection !== connection) bucket[kept++] = request;
      }
      this.removeFromBucket(key, bucket, kept);
    }
  }

  /** One pass over every held request (the shared timer calls this; tests may too). */
  sweep(): void {
    const nowMs = this.now();
    const recheck = nowMs - this.lastRecheckMs >= this.recheckIntervalMs;
    if (recheck) this.lastRecheckMs = nowMs;
    for (const [key, bucket] of [...this.buckets]) {
      let maxOffset = -1;
      let kept = 0;
      for (let index = 0; index < bucket.length; index++) {
        const request = bucket[index]!;
        if (request.connection.closed) continue;
        let due = nowMs >= request.deadlineMs;
        if (!due && recheck) {
          if (maxOffset < 0) maxOffset = this.safeMaxOffset(request.topic, request.queueId);
          due = maxOffset > request.queueOffset;
        }
        if (due) this.toWake.push(request);
        else bucket[kept++] = request;
      }
      this.removeFromBucket(key, bucket, kept);
    }
    this.runPendingWakes();
  }

  private removeFromBucket(key: string, bucket: HeldPullRequest[], kept: number): void {
    this.heldCount -= bucket.length - kept;
    bucket.length = kept;
    if (kept === 0) this.buckets.delete(key);
  }

  private safeMaxOffset(topic: string, queueId: number): number {
    try {
      return this.options.maxOffsetOf(topic, queueId);
    } catch {
      return 0;
    }
  }

  private scheduleWakes(): void {
    if (this.wakeScheduled || this.toWake.length === 0) return;
    this.wakeScheduled = true;
    setImmediate(() => {
      this.wakeScheduled = false;
      this.runPendingWakes();
    });
  }

  private runPendingWakes(): void {
    if (this.toWake.length === 0) return;
    const batch = this.toWake.splice(0, this.toWake.length);
    for (const request of batch) this.runWake(request);
  }

  private runWake(request: HeldPullRequest): void {
    if (request.connection.closed) return;
    try {
      request.wake();
    } catch (error) {
      this.logger.error({ err: error, topic: request.topic, queueId: request.queueId }, 'answering a held pull failed');
    }
  }
}
