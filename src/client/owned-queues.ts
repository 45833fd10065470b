/**
 * The push consumer's table of owned queues and everything that moves a queue in or out of it:
 * rebalancing (allocate each subscribed topic, take on new queues, hand over the others, retry soon
 * when an orderly queue's previous owner still holds its lock), taking a queue on (broker lock when
 * orderly, start offset, pull loop), handing it over (stop, let handlers finish, commit, unlock),
 * lock renewal, offset commits, and offset resets asked for by the broker.
 */
import { lockQueues, unlockQueues } from './broker-calls.js';
import { waitAtMost } from './async-tools.js';
import { rebalanceChannel } from './diagnostics.js';
import { queueKey, type MessageQueue } from './message-queue.js';
import { runPullLoop, type PullLoopHost } from './pull-loop.js';
import { QueueState } from './queue-state.js';
import type { Rebalancer } from './rebalancer.js';
import { computeStartOffset } from './start-offset.js';
import type { SubscriptionData } from './subscription.js';

export interface OwnedQueuesDeps extends PullLoopHost {
  readonly rebalancer: Rebalancer;
  /** The consumer's subscriptions by topic (the consumer changes them; this reads them live). */
  readonly subscriptions: ReadonlyMap<string, SubscriptionData>;
  /** Whether the consumer has been started (rebalances before that are ignored). */
  started(): boolean;
}

export class OwnedQueues {
  /** Owned queues by queueKey. */
  readonly states = new Map<string, QueueState>();
  private rebalancing: Promise<void> | undefined;
  private rebalanceAgain = false;
  private retryRebalanceTimer: NodeJS.Timeout | undefined;

  constructor(private readonly deps: OwnedQueuesDeps) {}

  /** The queues currently owned. */
  assignment(): MessageQueue[] {
    return [...this.states.values()].map((state) => state.queue);
  }

  /** Runs a rebalance now, or once more after the running one. */
  rebalanceSoon(): void {
    if (this.deps.stopping() || !this.deps.started()) return;
    if (this.rebalancing !== undefined) {
      this.rebalanceAgain = true;
      return;
    }
    void this.rebalance();
  }

  rebalance(): Promise<void> {
    if (this.rebalancing !== undefined) {
      this.rebalanceAgain = true;
      return this.rebalancing;
    }
    const { deps } = this;
    this.rebalancing = (async () => {
      do {
        this.rebalanceAgain = false;
        let lockMissed = false;
        for (const topic of [...deps.subscriptions.keys()]) {
          if (deps.stopping()) return;
          try {
            const desired = await deps.rebalancer.allocate(topic);
            if (desired !== undefined && !(await this.applyAllocation(topic, desired))) lockMissed = true;
          } catch (error) {
            deps.instance.reportBackgroundError(`rebalance of ${topic}`, error);
          }
        }
        // Drop queues of topics no longer subscribed.
        for (const state of [...this.states.values()]) if (!deps.subscriptions.has(state.queue.topic)) await this.releaseQueue(state);
        // A queue whose previous owner still holds its lock is retried soon rather than in 20 s.
        if (lockMissed && !deps.stopping() && this.retryRebalanceTimer === undefined) {
          this.retryRebalanceTimer = setTimeout(() => {
            this.retryRebalanceTimer = undefined;
            this.rebalanceSoon();
          }, Math.min(1000, deps.settings.rebalanceIntervalMs));
          this.retryRebalanceTimer.unref();
        }
      } while (this.rebalanceAgain && !deps.stopping());
    })().finally(() => {
      this.rebalancing = undefined;
    });
    return this.rebalancing;
  }

  /** Shutdown, first step: no rebalance retry fires any more. */
  cancelRebalanceRetry(): void {
    if (this.retryRebalanceTimer !== undefined) clearTimeout(this.retryRebalanceTimer);
  }

  /** The running rebalance, settled either way (undefined when none runs). */
  rebalanceSettled(): Promise<void> | undefined {
    return this.rebalancing?.catch(() => undefined);
  }

  /** Applies one topic's allocation; false when a queue could not be locked yet. */
  private async applyAllocation(topic: string, desired: readonly MessageQueue[]): Promise<boolean> {
    const { deps } = this;
    const desiredKeys = new Set(desired.map(queueKey));
    const removed = [...this.states.values()].filter((state) => state.queue.topic === topic && !desiredKeys.has(state.key));
    await Promise.all(removed.map((state) => this.releaseQueue(state)));
    const added: MessageQueue[] = [];
    let allLocked = true;
    for (const queue of desired) {
      if (deps.stopping()) break;
      if (this.states.has(queueKey(queue))) continue;
      const outcome = await this.acquireQueue(queue);
      if (outcome === 'acquired') added.push(queue);
      else if (outcome === 'locked-elsewhere') allLocked = false;
    }
    if ((added.length > 0 || removed.length > 0) && rebalanceChannel.hasSubscribers) {
      rebalanceChannel.publish({ clientId: deps.instance.clientId, group: deps.group, topic, added, removed: removed.map((state) => state.queue), owned: this.assignment().filter((queue) => queue.topic === topic) });
    }
    if (added.length > 0 || removed.length > 0) deps.instance.logger.info({ topic, added: added.length, removed: removed.length, owned: this.states.size }, 'rebalanced');
    return allLocked;
  }

  private async acquireQueue(queue: MessageQueue): Promise<'acquired' | 'locked-elsewhere' | 'failed'> {
    const { deps } = this;
    const subscription = deps.subscriptions.get(queue.topic);
    if (subscription === undefined) return 'failed';
    let locked = false;
    if (deps.orderly && deps.clustering) {
      const address = deps.instance.masterAddress(queue.brokerName);
      if (address === undefined) return 'failed';
      try {
        locked = (await lockQueues(deps.instance, address, deps.group, [queue])).length > 0;
      } catch (error) {
        deps.instance.reportBackgroundError(`lock of ${queue.topic}#${queue.queueId}`, error);
        return 'failed';
      }
      if (!locked) return 'locked-elsewhere';
    }
    let offset: number;
    try {
      offset = await computeStartOffset(deps.instance, deps.offsetStore, queue, deps.settings.consumeFromWhere, deps.settings.consumeTimestampMs);
    } catch (error) {
      deps.instance.reportBackgroundError(`start offset of ${queue.topic}#${queue.queueId}`, error);
      return 'failed';
    }
    if (deps.stopping()) return 'failed';
    const state = new QueueState(queue, subscription, offset);
    if (locked) {
      state.locked = true;
      state.lastLockMs = Date.now();
    }
    this.states.set(state.key, state);
    state.pullLoop = runPullLoop(deps, state);
    return 'acquired';
  }

  /** Stops a queue, lets its handlers finish, commits its offset and (orderly) unlocks it. */
  private async releaseQueue(state: QueueState, unlock = true): Promise<void> {
    const { deps } = this;
    if (this.states.get(state.key) === state) this.states.delete(state.key);
    state.drop();
    await state.pullLoop;
    await waitAtMost(Promise.all([state.idle(), state.orderlyLoop]), deps.settings.handoverTimeoutMs);
    try {
      await deps.offsetStore.persist([state.queue]);
    } catch (error) {
      deps.instance.reportBackgroundError(`offset commit of ${state.queue.topic}#${state.queue.queueId}`, error);
    }
    state.released = true;
    if (deps.clustering) deps.offsetStore.remove(state.queue);
    if (unlock && deps.orderly && deps.clustering) {
      const address = deps.instance.masterAddress(state.queue.brokerName);
      if (address !== undefined) {
        await unlockQueues(deps.instance, address, deps.group, [state.queue]).catch((error: unknown) => deps.instance.reportBackgroundError('unlock', error));
      }
    }
  }

  /** Orderly, clustering: renews the broker locks of all owned queues, one request per broker. */
  async lockAll(): Promise<void> {
    const { deps } = this;
    const byBroker = new Map<string, QueueState[]>();
    for (const state of this.states.values()) {
      const list = byBroker.get(state.queue.brokerName);
      if (list === undefined) byBroker.set(state.queue.brokerName, [state]);
      else list.push(state);
    }
    await Promise.all(
      [...byBroker].map(async ([brokerName, states]) => {
        const address = deps.instance.masterAddress(brokerName);
        if (address === undefined) return;
        try {
          const locked = new Set((await lockQueues(deps.instance, address, deps.group, states.map((state) => state.queue))).map(queueKey));
          const nowMs = Date.now();
          for (const state of states) {
            state.locked = locked.has(state.key);
            if (state.locked) state.lastLockMs = nowMs;
            else deps.instance.logger.warn({ queue: state.queue }, 'queue lock lost; consumption of the queue pauses');
          }
        } catch (error) {
          deps.instance.reportBackgroundError(`lock renewal at ${brokerName}`, error);
        }
      }),
    );
  }

  /** Shutdown: unlocks `states`' queues, one request per broker, ignoring failures. */
  async unlockAll(states: readonly QueueState[]): Promise<void> {
    const { deps } = this;
    const byBroker = new Map<string, MessageQueue[]>();
    for (const state of states) {
      const list = byBroker.get(state.queue.brokerName) ?? [];
      list.push(state.queue);
      byBroker.set(state.queue.brokerName, list);
    }
    await Promise.all(
      [...byBroker].map(async ([brokerName, queues]) => {
        const address = deps.instance.masterAddress(brokerName);
        if (address !== undefined) await unlockQueues(deps.instance, address, deps.group, queues).catch(() => undefined);
      }),
    );
  }

  /** Commits the offsets of all owned queues (the periodic commit); failures are reported, not thrown. */
  async persistOffsets(): Promise<void> {
    const queues = [...this.states.values()].map((state) => state.queue);
    if (queues.length === 0) return;
    try {
      await this.deps.offsetStore.persist(queues);
    } catch (error) {
      this.deps.instance.reportBackgroundError('offset commit', error);
    }
  }

  /** Moves owned queues (and the stored offsets of the others) to new offsets. */
  async resetOffsets(targets: readonly { queue: MessageQueue; offset: number }[]): Promise<void> {
    const { deps } = this;
    deps.instance.logger.info({ queues: targets.length }, 'offsets reset by the broker');
    for (const { queue, offset } of targets) {
      const state = this.states.get(queueKey(queue));
      deps.offsetStore.update(queue, offset, false);
      if (state === undefined) continue;
      this.states.delete(state.key);
      state.drop();
      state.released = true;
      await state.pullLoop;
      await waitAtMost(Promise.all([state.idle(), state.orderlyLoop]), deps.settings.handoverTimeoutMs);
      deps.offsetStore.update(queue, offset, false);
      if (deps.stopping()) return;
      const fresh = new QueueState(queue, state.subscription, offset);
      fresh.locked = state.locked;
      fresh.lastLockMs = state.lastLockMs;
      this.states.set(fresh.key, fresh);
      fresh.pullLoop = runPullLoop(deps, fresh);
    }
    await deps.offsetStore.persist(targets.map((target) => target.queue)).catch((error: unknown) => deps.instance.reportBackgroundError('offset commit after reset', error));
  }
}
