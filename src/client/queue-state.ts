/**
 * What a push consumer keeps per owned queue: the process queue, the next offset to pull, the abort
 * controller of its pull loop, its broker lock (orderly), and how many handler calls are running for
 * it, so a rebalance can wait for them before committing and handing the queue over.
 */
import type { MessageQueue } from './message-queue.js';
import { queueKey } from './message-queue.js';
import { ProcessQueue } from './process-queue.js';
import type { SubscriptionData } from './subscription.js';

export class QueueState {
  readonly queue: MessageQueue;
  readonly key: string;
  readonly pq = new ProcessQueue();
  readonly controller = new AbortController();
  subscription: SubscriptionData;
  /** Next offset to pull. */
  nextOffset: number;
  dropped = false;
  /** The queue's final offset commit is done; later progress is not recorded. */
  released = false;
  /** Orderly: whether the broker lock is held, and when it was last confirmed. */
  locked = false;
  lastLockMs = 0;
  /** Orderly: a consume loop is running for this queue. */
  orderlyRunning = false;
  /** Orderly: the running consume loop, awaited before the queue is handed over. */
  orderlyLoop: Promise<void> | undefined;
  /** The pull loop (resolves when it stops). */
  pullLoop: Promise<void> | undefined;
  private running = 0;
  private idleWaiters: (() => void)[] = [];

  constructor(queue: MessageQueue, subscription: SubscriptionData, nextOffset: number) {
    this.queue = queue;
    this.key = queueKey(queue);
    this.subscription = subscription;
    this.nextOffset = nextOffset;
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  handlerStarted(): void {
    this.running++;
  }

  handlerFinished(): void {
    this.running--;
    if (this.running === 0 && this.idleWaiters.length > 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const wake of waiters) wake();
    }
  }

  get runningHandlers(): number {
    return this.running;
  }

  /** Resolves when no handler call runs for this queue (at once if none does). */
  idle(): Promise<void> {
    if (this.running === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  drop(): void {
    this.dropped = true;
    this.controller.abort();
  }
}
