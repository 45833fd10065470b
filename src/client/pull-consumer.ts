/**
 * The pull consumer (Java's DefaultLitePullConsumer): the application asks for messages with
 * `poll()` and decides when offsets are committed.
 *
 * Queues come from `assign(queues)` (fixed, no group coordination) or `subscribe(topic, expr)`
 * (rebalanced among the group's members like a push consumer, CONSUME_ACTIVELY). Each queue has a
 * background pull loop that fills one bounded buffer (`pullThresholdForAll` messages; a loop waits
 * while it is full or while its queue holds `pullThresholdForQueue`). `poll` takes from the buffer,
 * and each message it returns moves its queue's consumed offset. `commit` writes consumed offsets
 * (with `autoCommit`, every `autoCommitIntervalMs` during polls and at close). `seek` drops what was
 * buffered for the queue and restarts its loop at the new offset.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { checkGroup as validateGroupName, checkTopic as validateTopicName } from './client-names.js';
import { RequestCode } from '../protocol/request-code.js';
import { strategyByName, type AllocateStrategy, type AllocateStrategyName } from './allocate-strategies.js';
import { deferred, every, sleep, type Deferred } from './async-tools.js';
import { queryMaxOffset, queryMinOffset } from './broker-calls.js';
import { abortError, ClientStateError } from './client-errors.js';
import { ClientInstance } from './client-instance.js';
import type { ClientOptions } from './client-options.js';
import { pullChannel } from './diagnostics.js';
import type { ReceivedMessage } from './message.js';
import { compareQueues, queueKey, queueToString, type MessageQueue } from './message-queue.js';
import { LocalFileOffsetStore, RemoteOffsetStore, type OffsetStore } from './offset-store.js';
import { pullMessages, PullStatus } from './pull-request.js';
import { Rebalancer } from './rebalancer.js';
import { computeStartOffset } from './start-offset.js';
import { buildSubscription, tagMatches, type ConsumeFromWhere, type ExpressionType, type HeartbeatData, type MessageModel, type SubscriptionData } from './subscription.js';
import { subscribeQueues } from './topic-publish-info.js';

export interface PullConsumerOptions extends ClientOptions {
  group: string;
  /** Default CLUSTERING (offsets on the broker); BROADCASTING keeps them in a local file. */
  messageModel?: MessageModel;
  /** Where a group without a stored offset starts. Default CONSUME_FROM_LAST_OFFSET. */
  consumeFromWhere?: ConsumeFromWhere;
  consumeTimestamp?: number | Date;
  /**
   * Default true, as Java: a broker answers offset 0 to a new group whose queue still has its first
   * message in memory, so a new group reads a young topic from its start. false makes
   * consumeFromWhere decide for every new group.
   */
  setZeroIfNotFound?: boolean;
  /** For subscribe(). Default AVERAGE. */
  allocateStrategy?: AllocateStrategyName | AllocateStrategy;
  /** Commit consumed offsets every autoCommitIntervalMs while polling, and at close. Default true. */
  autoCommit?: boolean;
  autoCommitIntervalMs?: number;
  /** Messages per pull, and the default most one poll returns. Default 32. */
  pullBatchSize?: number;
  /** Most messages buffered over all queues. Default 10 000. */
  pullThresholdForAll?: number;
  /** Most messages buffered for one queue. Default 1000. */
  pullThresholdForQueue?: number;
  /** How long the broker may hold a pull with nothing to return. Default 5000 ms. */
  pullSuspendMs?: number;
  /** Default pullSuspendMs + 5000 ms. */
  pullTimeoutMs?: number;
  /** Pause after a failed pull. Default 1000 ms. */
  pullRetryDelayMs?: number;
  /** Default 20 000 ms. */
  rebalanceIntervalMs?: number;
  /** Broadcasting: where offsets are kept. Default ~/.tidemq_offsets. */
  offsetStoreDir?: string;
}

export interface PollOptions {
  /** How long to wait when nothing is buffered. Default 5000 ms. */
  timeoutMs?: number;
  /** Default pullBatchSize. */
  maxMessages?: number;
  signal?: AbortSignal;
}

interface PullQueueState {
  queue: MessageQueue;
  key: string;
  subscription: SubscriptionData;
  nextPullOffset: number;
  /** One past the last polled message (what commit writes); −1 before anything was polled or sought. */
  consumedOffset: number;
  buffered: number;
  paused: boolean;
  dropped: boolean;
  /** Bumped by seek: batches of older epochs are stale. */
  epoch: number;
  controller: AbortController;
  loop: Promise<void> | undefined;
}

interface Batch {
  state: PullQueueState;
  epoch: number;
  messages: ReceivedMessage[];
  next: number;
}

export class PullConsumer {
  readonly group: string;
  readonly messageModel: MessageModel;
  private readonly instance: ClientInstance;
  private readonly offsetStore: OffsetStore;
  private readonly rebalancer: Rebalancer;
  private readonly settings: {
    consumeFromWhere: ConsumeFromWhere;
    consumeTimestampMs: number;
    autoCommit: boolean;
    autoCommitIntervalMs: number;
    pullBatchSize: number;
    pullThresholdForAll: number;
    pullThresholdForQueue: number;
    pullSuspendMs: number;
    pullTimeoutMs: number;
    pullRetryDelayMs: number;
    rebalanceIntervalMs: number;
  };
  private readonly subscriptions = new Map<string, SubscriptionData>();
  private readonly states = new Map<string, PullQueueState>();
  private assigned: MessageQueue[] | undefined;
  private batches: Batch[] = [];
  private bufferedTotal = 0;
  private dataWaiters: Deferred<void>[] = [];
  private spaceWaiters: (() => void)[] = [];
  private startPromise: Promise<void> | undefined;
  private closePromise: Promise<void> | undefined;
  private closing = false;
  private stopTimers: (() => void)[] = [];
  private lastCommitMs = Date.now();
  private rebalancing: Promise<void> | undefined;

  constructor(options: PullConsumerOptions) {
    this.group = validateGroupName(options.group);
    this.messageModel = options.messageModel ?? 'CLUSTERING';
    this.instance = new ClientInstance(options, 'pull-consumer');
    const timestamp = options.consumeTimestamp ?? Date.now() - 30 * 60_000;
    const pullSuspendMs = options.pullSuspendMs ?? 5000;
    this.settings = {
      consumeFromWhere: options.consumeFromWhere ?? 'CONSUME_FROM_LAST_OFFSET',
      consumeTimestampMs: typeof timestamp === 'number' ? timestamp : timestamp.getTime(),
      autoCommit: options.autoCommit ?? true,
      autoCommitIntervalMs: options.autoCommitIntervalMs ?? 5000,
      pullBatchSize: options.pullBatchSize ?? 32,
      pullThresholdForAll: options.pullThresholdForAll ?? 10_000,
      pullThresholdForQueue: options.pullThresholdForQueue ?? 1000,
      pullSuspendMs,
      pullTimeoutMs: options.pullTimeoutMs ?? pullSuspendMs + 5000,
      pullRetryDelayMs: options.pullRetryDelayMs ?? 1000,
      rebalanceIntervalMs: options.rebalanceIntervalMs ?? 20_000,
    };
    this.offsetStore =
      this.messageModel === 'CLUSTERING'
        ? new RemoteOffsetStore(this.instance, this.group, options.setZeroIfNotFound ?? true)
        : new LocalFileOffsetStore(options.offsetStoreDir ?? join(homedir(), '.tidemq_offsets'), this.instance.clientId, this.group);
    this.rebalancer = new Rebalancer(this.instance, this.group, this.messageModel, strategyByName(options.allocateStrategy ?? 'AVERAGE'), (brokerName) =>
      this.instance.zoneOfBroker(brokerName),
    );
    this.instance.setHandler(RequestCode.NOTIFY_CONSUMER_IDS_CHANGED, () => {
      if (this.assigned === undefined && this.startPromise !== undefined) void this.rebalance();
      return null;
    });
  }

  get clientId(): string {
    return this.instance.clientId;
  }

  /** Group-coordinated consumption of `topic` (not with assign). */
  subscribe(topic: string, expression = '*', type: ExpressionType = 'TAG'): this {
    if (this.assigned !== undefined) throw new ClientStateError('ILLEGAL_ARGUMENT', 'subscribe and assign cannot be mixed');
    validateTopicName(topic);
    this.subscriptions.set(topic, buildSubscription(topic, expression, type));
    if (this.startPromise !== undefined) void this.instance.heartbeatAll().then(() => this.rebalance());
    return this;
  }

  /** Consumes exactly these queues (replacing an earlier assignment); `expression` filters by tag. */
  async assign(queues: readonly MessageQueue[], expression = '*'): Promise<void> {
    if (this.subscriptions.size > 0 && this.assigned === undefined) throw new ClientStateError('ILLEGAL_ARGUMENT', 'subscribe and assign cannot be mixed');
    this.ensureOpen();
    this.assigned = [...queues].sort(compareQueues);
    for (const queue of queues) {
      if (!this.subscriptions.has(queue.topic)) this.subscriptions.set(queue.topic, buildSubscription(queue.topic, expression));
    }
    if (this.startPromise !== undefined) await this.applyAssignment();
  }

  /** The readable queues of `topic`. */
  async fetchQueues(topic: string, signal?: AbortSignal): Promise<MessageQueue[]> {
    this.ensureOpen();
    const route = await this.instance.route(validateTopicName(topic), true, signal);
    if (route === undefined) throw new ClientStateError('TOPIC_ROUTE_NOT_FOUND', `no route for topic ${topic}`);
    return subscribeQueues(topic, route);
  }

  start(): Promise<void> {
    if (this.closing) return Promise.reject(new ClientStateError('CLIENT_CLOSED', 'the consumer is closed'));
    this.startPromise ??= this.doStart();
    return this.startPromise;
  }

  /** Up to `maxMessages` buffered messages, waiting up to `timeoutMs` when none is buffered. */
  async poll(options: PollOptions = {}): Promise<ReceivedMessage[]> {
    await this.start();
    const maxMessages = options.maxMessages ?? this.settings.pullBatchSize;
    const deadlineMs = Date.now() + (options.timeoutMs ?? 5000);
    for (;;) {
      this.ensureOpen();
      const taken = this.take(maxMessages);
      if (taken.length > 0) {
        this.maybeAutoCommit();
        return taken;
      }
      const remainingMs = deadlineMs - Date.now();
      if (remainingMs <= 0) return [];
      if (options.signal?.aborted) throw abortError(options.signal, 'poll');
      const waiter = deferred<void>();
      this.dataWaiters.push(waiter);
      const timer = setTimeout(() => waiter.resolve(), remainingMs);
      const onAbort = (): void => waiter.resolve();
      options.signal?.addEventListener('abort', onAbort, { once: true });
      await waiter.promise;
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
    }
  }

  /** Continues `queue` from `offset` (bounded by the queue's min and max offsets). */
  async seek(queue: MessageQueue, offset: number): Promise<void> {
    await this.start();
    const state = this.states.get(queueKey(queue));
    if (state === undefined) throw new ClientStateError('ILLEGAL_ARGUMENT', `queue ${queueToString(queue)} is not assigned to this consumer`);
    const address = this.instance.readAddress(queue.brokerName);
    if (address === undefined) throw new ClientStateError('BROKER_NOT_FOUND', `no address for broker ${queue.brokerName}`);
    const [min, max] = await Promise.all([queryMinOffset(this.instance, address, queue), queryMaxOffset(this.instance, address, queue)]);
    if (offset < min || offset > max) throw new ClientStateError('ILLEGAL_ARGUMENT', `offset ${offset} of ${queueToString(queue)} is outside [${min}, ${max}]`);
    this.restartAt(state, offset);
  }

  async seekToBeginning(queue: MessageQueue): Promise<void> {
    const address = this.instance.readAddress(queue.brokerName);
    if (address === undefined) throw new ClientStateError('BROKER_NOT_FOUND', `no address for broker ${queue.brokerName}`);
    await this.seek(queue, await queryMinOffset(this.instance, address, queue));
  }

  async seekToEnd(queue: MessageQueue): Promise<void> {
    const address = this.instance.readAddress(queue.brokerName);
    if (address === undefined) throw new ClientStateError('BROKER_NOT_FOUND', `no address for broker ${queue.brokerName}`);
    await this.seek(queue, await queryMaxOffset(this.instance, address, queue));
  }

  /** Commits consumed offsets: of every queue, or the given queue → offset pairs. */
  async commit(offsets?: ReadonlyMap<MessageQueue, number>): Promise<void> {
    await this.start();
    if (offsets !== undefined) {
      for (const [queue, offset] of offsets) this.offsetStore.update(queue, offset, false);
      await this.offsetStore.persist([...offsets.keys()]);
      return;
    }
    const queues: MessageQueue[] = [];
    for (const state of this.states.values()) {
      if (state.consumedOffset < 0) continue;
      this.offsetStore.update(state.queue, state.consumedOffset, false);
      queues.push(state.queue);
    }
    this.lastCommitMs = Date.now();
    await this.offsetStore.persist(queues);
  }

  /** The committed offset of `queue` as the broker (or file) has it; −1 when none. */
  async committed(queue: MessageQueue, signal?: AbortSignal): Promise<number> {
    await this.start();
    return this.offsetStore.fetchStored(queue, signal);
  }

  pause(queues: readonly MessageQueue[]): void {
    for (const queue of queues) {
      const state = this.states.get(queueKey(queue));
      if (state !== undefined) state.paused = true;
    }
  }

  resume(queues: readonly MessageQueue[]): void {
    for (const queue of queues) {
      const state = this.states.get(queueKey(queue));
      if (state !== undefined) state.paused = false;
    }
    this.wakeSpace();
  }

  assignment(): MessageQueue[] {
    return [...this.states.values()].map((state) => state.queue);
  }

  /** `for await (const message of consumer)`: polls until the loop is left (which closes the consumer). */
  [Symbol.asyncIterator](): AsyncIterableIterator<ReceivedMessage> {
    let pending: ReceivedMessage[] = [];
    let index = 0;
    const iterator: AsyncIterableIterator<ReceivedMessage> = {
      next: async () => {
        while (index >= pending.length) {
          if (this.closing) return { value: undefined, done: true };
          pending = await this.poll({ timeoutMs: 1000 });
          index = 0;
        }
        return { value: pending[index++]!, done: false };
      },
      return: async () => {
        await this.close();
        return { value: undefined, done: true };
      },
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  }

  /** Stops pulling, commits (with autoCommit), unregisters and disconnects. */
  close(): Promise<void> {
    this.closePromise ??= this.doClose();
    return this.closePromise;
  }

  /** Same as close: a pull consumer has no handlers running on its own. */
  drain(): Promise<void> {
    return this.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  // -------------------------------------------------------------------------------------------

  private ensureOpen(): void {
    if (this.closing) throw new ClientStateError('CLIENT_CLOSED', 'the consumer is closed');
  }

  private async doStart(): Promise<void> {
    if (this.subscriptions.size === 0 && this.assigned === undefined) throw new ClientStateError('ILLEGAL_ARGUMENT', 'subscribe or assign before starting');
    await this.offsetStore.load();
    this.instance.start({
      topicsInUse: () => this.subscriptions.keys(),
      heartbeat: () => this.heartbeatData(),
      routeChanged: () => {
        void this.instance.heartbeatAll().then(() => (this.assigned === undefined ? this.rebalance() : undefined));
      },
      heartbeatToSlaves: true,
    });
    await Promise.all([...this.subscriptions.keys()].map((topic) => this.instance.route(topic).catch(() => undefined)));
    await this.instance.heartbeatAll();
    if (this.assigned !== undefined) await this.applyAssignment();
    else {
      await this.rebalance();
      this.stopTimers.push(every(this.settings.rebalanceIntervalMs, () => void this.rebalance()));
    }
  }

  private heartbeatData(): HeartbeatData {
    return {
      clientID: this.clientId,
      producerDataSet: [],
      consumerDataSet: [
        {
          groupName: this.group,
          consumeType: 'CONSUME_ACTIVELY',
          messageModel: this.messageModel,
          consumeFromWhere: this.settings.consumeFromWhere,
          unitMode: false,
          subscriptionDataSet: [...this.subscriptions.values()],
        },
      ],
    };
  }

  private async applyAssignment(): Promise<void> {
    const desired = this.assigned ?? [];
    const keys = new Set(desired.map(queueKey));
    for (const state of [...this.states.values()]) if (!keys.has(state.key)) await this.release(state);
    for (const queue of desired) if (!this.states.has(queueKey(queue))) await this.acquire(queue);
  }

  private rebalance(): Promise<void> {
    if (this.rebalancing !== undefined || this.closing) return this.rebalancing ?? Promise.resolve();
    this.rebalancing = (async () => {
      for (const topic of this.subscriptions.keys()) {
        try {
          const desired = await this.rebalancer.allocate(topic);
          if (desired === undefined) continue;
          const keys = new Set(desired.map(queueKey));
          for (const state of [...this.states.values()]) if (state.queue.topic === topic && !keys.has(state.key)) await this.release(state);
          for (const queue of desired) if (!this.states.has(queueKey(queue)) && !this.closing) await this.acquire(queue);
        } catch (error) {
          this.instance.reportBackgroundError(`rebalance of ${topic}`, error);
        }
      }
    })().finally(() => {
      this.rebalancing = undefined;
    });
    return this.rebalancing;
  }

  private async acquire(queue: MessageQueue): Promise<void> {
    const subscription = this.subscriptions.get(queue.topic) ?? buildSubscription(queue.topic, '*');
    let offset: number;
    try {
      offset = await computeStartOffset(this.instance, this.offsetStore, queue, this.settings.consumeFromWhere, this.settings.consumeTimestampMs);
    } catch (error) {
      this.instance.reportBackgroundError(`start offset of ${queueToString(queue)}`, error);
      return;
    }
    const state: PullQueueState = {
      queue,
      key: queueKey(queue),
      subscription,
      nextPullOffset: offset,
      consumedOffset: -1,
      buffered: 0,
      paused: false,
      dropped: false,
      epoch: 0,
      controller: new AbortController(),
      loop: undefined,
    };
    this.states.set(state.key, state);
    state.loop = this.pullLoop(state, state.epoch);
  }

  private async release(state: PullQueueState): Promise<void> {
    this.states.delete(state.key);
    state.dropped = true;
    state.controller.abort();
    this.dropBuffered(state);
    await state.loop;
    if (this.settings.autoCommit && state.consumedOffset >= 0) {
      this.offsetStore.update(state.queue, state.consumedOffset, false);
      await this.offsetStore.persist([state.queue]).catch((error: unknown) => this.instance.reportBackgroundError('offset commit', error));
    }
    if (this.messageModel === 'CLUSTERING') this.offsetStore.remove(state.queue);
  }

  private restartAt(state: PullQueueState, offset: number): void {
    state.controller.abort();
    state.controller = new AbortController();
    state.epoch++;
    this.dropBuffered(state);
    state.nextPullOffset = offset;
    state.consumedOffset = offset;
    const previous = state.loop;
    const epoch = state.epoch;
    state.loop = (async () => {
      await previous;
      await this.pullLoop(state, epoch);
    })();
  }

  private dropBuffered(state: PullQueueState): void {
    let removed = 0;
    this.batches = this.batches.filter((batch) => {
      if (batch.state !== state) return true;
      removed += batch.messages.length - batch.next;
      return false;
    });
    this.bufferedTotal -= removed;
    state.buffered = 0;
    this.wakeSpace();
  }

  private async pullLoop(state: PullQueueState, epoch: number): Promise<void> {
    const queue = state.queue;
    const signal = state.controller.signal;
    const current = (): boolean => !state.dropped && !this.closing && state.epoch === epoch;
    while (current()) {
      if (state.paused || state.buffered >= this.settings.pullThresholdForQueue || this.bufferedTotal >= this.settings.pullThresholdForAll) {
        await new Promise<void>((resolve) => {
          this.spaceWaiters.push(resolve);
          signal.addEventListener('abort', () => resolve(), { once: true });
        });
        continue;
      }
      const address = this.instance.readAddress(queue.brokerName);
      if (address === undefined) {
        await sleep(this.settings.pullRetryDelayMs, signal);
        continue;
      }
      const startedMs = Date.now();
      let result;
      try {
        result = await pullMessages(this.instance, address, {
          group: this.group,
          queue,
          offset: state.nextPullOffset,
          maxMessages: this.settings.pullBatchSize,
          subscription: state.subscription,
          commitOffset: 0,
          suspendMs: this.settings.pullSuspendMs,
          timeoutMs: this.settings.pullTimeoutMs,
          signal,
          lite: true,
        });
      } catch (error) {
        if (!current()) return;
        this.instance.reportBackgroundError(`pull of ${queueToString(queue)}`, error);
        await sleep(this.settings.pullRetryDelayMs, signal);
        continue;
      }
      if (!current()) return;
      if (pullChannel.hasSubscribers) {
        pullChannel.publish({ clientId: this.clientId, group: this.group, queue, offset: state.nextPullOffset, found: result.messages.length, nextOffset: result.nextBeginOffset, durationMs: Date.now() - startedMs });
      }
      if (result.status === PullStatus.OFFSET_ILLEGAL) this.instance.logger.warn({ queue, offset: state.nextPullOffset, next: result.nextBeginOffset }, 'pull offset out of range; moving on');
      state.nextPullOffset = result.nextBeginOffset;
      if (result.status !== PullStatus.FOUND) continue;
      const subscription = state.subscription;
      const messages = subscription.tagsSet.length === 0 ? result.messages : result.messages.filter((message) => tagMatches(subscription, message.tags));
      if (messages.length === 0) continue;
      this.batches.push({ state, epoch, messages, next: 0 });
      state.buffered += messages.length;
      this.bufferedTotal += messages.length;
      this.wakeData();
    }
  }

  private take(maxMessages: number): ReceivedMessage[] {
    const taken: ReceivedMessage[] = [];
    while (taken.length < maxMessages && this.batches.length > 0) {
      const batch = this.batches[0]!;
      const state = batch.state;
      const stale = state.dropped || batch.epoch !== state.epoch;
      const count = stale ? batch.messages.length - batch.next : Math.min(maxMessages - taken.length, batch.messages.length - batch.next);
      if (!stale) {
        for (let index = 0; index < count; index++) taken.push(batch.messages[batch.next + index]!);
        state.consumedOffset = batch.messages[batch.next + count - 1]!.queueOffset + 1;
        state.buffered -= count;
      }
      batch.next += count;
      this.bufferedTotal -= count;
      if (batch.next >= batch.messages.length) this.batches.shift();
    }
    if (taken.length > 0) this.wakeSpace();
    return taken;
  }

  private maybeAutoCommit(): void {
    if (!this.settings.autoCommit || Date.now() - this.lastCommitMs < this.settings.autoCommitIntervalMs) return;
    this.lastCommitMs = Date.now();
    void this.commit().catch((error: unknown) => this.instance.reportBackgroundError('auto commit', error));
  }

  private wakeData(): void {
    const waiters = this.dataWaiters;
    this.dataWaiters = [];
    for (const waiter of waiters) waiter.resolve();
  }

  private wakeSpace(): void {
    const waiters = this.spaceWaiters;
    this.spaceWaiters = [];
    for (const wake of waiters) wake();
  }

  private async doClose(): Promise<void> {
    const started = this.startPromise;
    this.closing = true;
    for (const stop of this.stopTimers) stop();
    this.wakeData();
    this.wakeSpace();
    await started?.catch(() => undefined);
    await this.rebalancing?.catch(() => undefined);
    const states = [...this.states.values()];
    for (const state of states) {
      state.dropped = true;
      state.controller.abort();
    }
    await Promise.all(states.map((state) => state.loop));
    if (started !== undefined) {
      if (this.settings.autoCommit) {
        for (const state of states) if (state.consumedOffset >= 0) this.offsetStore.update(state.queue, state.consumedOffset, false);
        await this.offsetStore.persist(states.map((state) => state.queue)).catch((error: unknown) => this.instance.logger.warn({ err: error }, 'final offset commit failed'));
      }
      await this.instance.unregister({ consumerGroup: this.group });
    }
    this.states.clear();
    this.batches = [];
    await this.instance.close();
  }
}
