/**
 * Long polling for POP: a pop that finds nothing waits here up to its poll time. It is tried again
 * when a message arrives on one of the topics it reads (the normal topic and its pop retry topic;
 * `notifyMessageArriving`, batched onto the next turn of the event loop), when an ack frees a FIFO
 * queue, and on a shared re-check every `recheckIntervalMs` (which also covers arrivals nobody
 * reported). The service's shared tick calls `tick`; there is no timer per held pop. At most
 * `maxHeldRequests` wait at once; past that `hold` refuses and the pop answers POLLING_FULL.
 */
import { silentLogger, type Logger } from '../../common/logger.js';

/** One try of a held pop: a result ends the wait, undefined keeps waiting. */
export type PopAttempt<T> = () => T | undefined;

interface HeldPop<T> {
  readonly topics: readonly string[];
  readonly deadlineMs: number;
  readonly attempt: PopAttempt<T>;
  readonly onTimeout: () => T;
  readonly resolve: (value: T) => void;
  readonly reject: (error: unknown) => void;
  readonly signal: AbortSignal | undefined;
  readonly onAbort: () => void;
  done: boolean;
}

export interface PopLongPollingOptions {
  maxHeldRequests: number;
  recheckIntervalMs: number;
  logger?: Logger;
  now?: () => number;
}

export class PopLongPolling<T> {
  private readonly byTopic = new Map<string, Set<HeldPop<T>>>();
  private readonly all = new Set<HeldPop<T>>();
  private readonly toWake = new Set<HeldPop<T>>();
  private wakeScheduled = false;
  private lastRecheckMs: number;
  private stopped = false;
  private readonly logger: Logger;
  private readonly now: () => number;

  constructor(private readonly options: PopLongPollingOptions) {
    this.logger = options.logger ?? silentLogger;
    this.now = options.now ?? Date.now;
    this.lastRecheckMs = this.now();
  }

  get size(): number {
    return this.all.size;
  }

  /** Waits for `attempt` to find something until `deadlineMs`; undefined when the limit is reached. */
  hold(topics: readonly string[], deadlineMs: number, attempt: PopAttempt<T>, onTimeout: () => T, signal?: AbortSignal): Promise<T> | undefined {
    if (this.stopped || this.all.size >= this.options.maxHeldRequests) return undefined;
    return new Promise<T>((resolve, reject) => {
      const held: HeldPop<T> = {
        topics,
        deadlineMs,
        attempt,
        onTimeout,
        resolve,
        reject,
        signal,
        onAbort: () => this.finish(held, onTimeout, undefined),
        done: false,
      };
      this.all.add(held);
      for (const topic of topics) {
        let set = this.byTopic.get(topic);
        if (!set) {
          set = new Set();
          this.byTopic.set(topic, set);
        }
        set.add(held);
      }
      signal?.addEventListener('abort', held.onAbort, { once: true });
      if (signal?.aborted) held.onAbort();
    });
  }

  /** A message arrived on `topic` (or a FIFO queue of it was freed): try its held pops soon. */
  notify(topic: string): void {
    const set = this.byTopic.get(topic);
    if (!set || set.size === 0) return;
    for (const held of set) this.toWake.add(held);
    if (this.wakeScheduled) return;
    this.wakeScheduled = true;
    setImmediate(() => {
      this.wakeScheduled = false;
      const batch = [...this.toWake];
      this.toWake.clear();
      for (const held of batch) this.tryOne(held);
    });
  }

  /** Expires held pops past their deadline and, every recheckIntervalMs, tries all of them again. */
  tick(): void {
    const nowMs = this.now();
    const recheck = nowMs - this.lastRecheckMs >= this.options.recheckIntervalMs;
    if (recheck) this.lastRecheckMs = nowMs;
    for (const held of [...this.all]) {
      if (nowMs >= held.deadlineMs) this.finish(held, held.onTimeout, undefined);
      else if (recheck) this.tryOne(held);
    }
  }

  /** Answers every held pop now (with nothing found) and refuses new ones. */
  stop(): void {
    this.stopped = true;
    for (const held of [...this.all]) this.finish(held, held.onTimeout, undefined);
  }

  private tryOne(held: HeldPop<T>): void {
    if (held.done) return;
    let result: T | undefined;
    try {
      result = held.attempt();
    } catch (error) {
      this.finish(held, undefined, error);
      return;
    }
    if (result !== undefined) this.finish(held, () => result as T, undefined);
  }

  private finish(held: HeldPop<T>, value: (() => T) | undefined, error: unknown): void {
    if (held.done) return;
    held.done = true;
    this.all.delete(held);
    this.toWake.delete(held);
    for (const topic of held.topics) {
      const set = this.byTopic.get(topic);
      if (!set) continue;
      set.delete(held);
      if (set.size === 0) this.byTopic.delete(topic);
    }
    held.signal?.removeEventListener('abort', held.onAbort);
    if (value === undefined) {
      held.reject(error);
      return;
    }
    try {
      held.resolve(value());
    } catch (failure) {
      this.logger.error({ err: failure }, 'answering a held pop failed');
      held.reject(failure);
    }
  }
}
