/**
 * How pulled messages reach the handler.
 *
 * Concurrent (ConsumeMessageConcurrentlyService): one task per message in a shared FIFO, at most
 * `concurrency` handler calls at once across all queues. A failure in clustering mode goes back to
 * the broker (CONSUMER_SEND_MSG_BACK, falling back to a send to `%RETRY%group`) and counts as done;
 * if both fail the message is retried locally after `retryLocallyDelayMs`. Broadcasting drops
 * failures, as Java does.
 *
 * Orderly (ConsumeMessageOrderlyService): per queue, one message at a time from the front, and in
 * clustering mode only while the broker lock is held. A failure suspends the queue for
 * `suspendMs` and retries the same message locally (reconsumeTimes + 1), until `maxReconsumeTimes`,
 * after which it goes to the dead-letter queue so the queue can move on.
 */
import type { Logger } from '../common/logger.js';
import { sleep } from './async-tools.js';
import { ConsumeOutcome } from './message-channel.js';
import type { ReceivedMessage } from './message.js';
import type { QueueEntry } from './process-queue.js';
import type { QueueState } from './queue-state.js';

export interface ConsumeHost {
  readonly clustering: boolean;
  readonly logger: Logger;
  readonly stopping: boolean;
  /** Runs the handler for one message (diagnostics, in-flight accounting included). */
  invoke(message: ReceivedMessage, state: QueueState): Promise<ConsumeOutcome>;
  /** Marks entries done and moves the queue's offset. */
  consumed(state: QueueState, entries: readonly QueueEntry[]): void;
  /** Hands a failed message back to the broker; delayLevel −1 = straight to the DLQ. */
  sendBack(message: ReceivedMessage, state: QueueState, delayLevel: number): Promise<boolean>;
  /** Orderly, clustering: whether the queue's broker lock is held and fresh. */
  lockValid(state: QueueState): boolean;
  /** Orderly, clustering: tries to lock the queue now. */
  lockQueue(state: QueueState): Promise<boolean>;
}

interface Task {
  state: QueueState;
  entry: QueueEntry;
}

export class ConcurrentConsumeService {
  private tasks: (Task | undefined)[] = [];
  private head = 0;
  private running = 0;
  private readonly retryTimers = new Set<NodeJS.Timeout>();

  constructor(
    private readonly host: ConsumeHost,
    private readonly concurrency: number,
    private readonly retryLocallyDelayMs: number,
  ) {}

  submit(state: QueueState, entries: readonly QueueEntry[]): void {
    for (const entry of entries) this.tasks.push({ state, entry });
    this.pump();
  }

  /** Forgets waiting tasks and local retries (shutdown). */
  stop(): void {
    this.tasks = [];
    this.head = 0;
    for (const timer of this.retryTimers) clearTimeout(timer);
    this.retryTimers.clear();
  }

  private pump(): void {
    while (this.running < this.concurrency && this.head < this.tasks.length) {
      const task = this.tasks[this.head]!;
      this.tasks[this.head] = undefined;
      this.head++;
      if (task.state.dropped || task.entry.done) continue;
      this.running++;
      void this.run(task).finally(() => {
        this.running--;
        this.pump();
      });
    }
    if (this.head === this.tasks.length) {
      this.tasks = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.tasks.length) {
      this.tasks = this.tasks.slice(this.head);
      this.head = 0;
    }
  }

  private async run(task: Task): Promise<void> {
    const { state, entry } = task;
    const host = this.host;
    const outcome = await host.invoke(entry.message, state);
    if (outcome === ConsumeOutcome.SUCCESS) {
      host.consumed(state, [entry]);
      return;
    }
    if (outcome === ConsumeOutcome.ABANDONED) return;
    if (!host.clustering) {
      host.logger.warn({ msgId: entry.message.msgId, queue: state.queue }, 'broadcast consumption failed; the message is dropped');
      host.consumed(state, [entry]);
      return;
    }
    if (state.dropped || host.stopping) return;
    if (await host.sendBack(entry.message, state, 0)) {
      host.consumed(state, [entry]);
      return;
    }
    if (state.dropped || host.stopping) return;
    const timer = setTimeout(() => {
      this.retryTimers.delete(timer);
      if (!state.dropped && !host.stopping) this.submit(state, [entry]);
    }, this.retryLocallyDelayMs);
    timer.unref();
    this.retryTimers.add(timer);
  }
}

export class OrderlyConsumeService {
  constructor(
    private readonly host: ConsumeHost,
    private readonly suspendMs: number,
    private readonly maxReconsumeTimes: number,
    private readonly lockRetryMs: number,
  ) {}

  /** Makes sure a consume loop runs for the queue. */
  submit(state: QueueState): void {
    if (state.orderlyRunning || state.dropped) return;
    state.orderlyRunning = true;
    state.orderlyLoop = this.consumeQueue(state).finally(() => {
      state.orderlyRunning = false;
      // Messages that arrived while the loop was finishing need a new loop.
      if (!state.dropped && !this.host.stopping && state.pq.count > 0 && this.canRun(state)) this.submit(state);
    });
  }

  private canRun(state: QueueState): boolean {
    return !this.host.clustering || this.host.lockValid(state);
  }

  private async consumeQueue(state: QueueState): Promise<void> {
    const host = this.host;
    while (!state.dropped && !host.stopping) {
      if (host.clustering && !host.lockValid(state)) {
        if (await host.lockQueue(state)) continue;
        await sleep(this.lockRetryMs, state.signal);
        continue;
      }
      const [entry] = state.pq.front(1);
      if (entry === undefined) return;
      const outcome = await host.invoke(entry.message, state);
      if (outcome === ConsumeOutcome.ABANDONED) return;
      if (outcome === ConsumeOutcome.SUCCESS) {
        // Also when the queue was dropped meanwhile: its hand-over waits for this loop and then commits.
        host.consumed(state, [entry]);
        continue;
      }
      if (state.dropped) return;
      const message = entry.message;
      if (message.reconsumeTimes >= this.maxReconsumeTimes) {
        if (await host.sendBack(message, state, -1)) {
          host.logger.warn({ msgId: message.msgId, reconsumeTimes: message.reconsumeTimes }, 'orderly message sent to the DLQ after too many retries');
          host.consumed(state, [entry]);
          continue;
        }
      }
      message.reconsumeTimes++;
      await sleep(this.suspendMs, state.signal);
    }
  }
}
