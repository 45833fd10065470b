/**
 * The push consumer (Java's DefaultMQPushConsumer): subscribe, then either `run(handler)` or
 * `for await (const message of consumer)`.
 *
 * Life of a queue: a rebalance (at start, every `rebalanceIntervalMs`, and at once when the broker
 * sends NOTIFY_CONSUMER_IDS_CHANGED) allocates it → orderly clustering consumers lock it on the broker
 * first → the start offset is the stored one, or consumeFromWhere's answer for a new group → a pull
 * loop long-polls it (the broker holds a pull up to `pullSuspendMs`), pausing while the queue holds
 * more than `pullThresholdForQueue` messages or `pullThresholdSizeForQueueBytes` bytes → the consume
 * service runs the handler (concurrent: shared pool; orderly: one at a time per queue) → offsets move
 * as messages finish and are committed every `persistOffsetIntervalMs`, when a queue is handed over
 * and at shutdown. A handler that throws asks for a retry: clustering consumers send the message back
 * (it returns with reconsumeTimes + 1 after the broker's back-off), orderly ones retry it in place.
 *
 * Clustering consumers also subscribe `%RETRY%<group>` so retries come back to them; broadcasting
 * consumers read every queue and keep offsets in a local file.
 *
 * Before starting, every non-TAG (SQL92) subscription is checked with CHECK_CLIENT_CONFIG at each
 * broker of its topic, as Java's consumer does; a refusal rejects `run()` and the iterator with the
 * broker's error (SUBSCRIPTION_PARSE_FAILED, responseCode 23, for an expression that does not compile).
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ResponseCode } from '../common/errors.js';
import { checkGroup as validateGroupName, checkTopic as validateTopicName } from './client-names.js';
import { createResponse, type RemotingCommand, type RequestHandler } from '../protocol/remoting-command.js';
import { RequestCode } from '../protocol/request-code.js';
import { strategyByName } from './allocate-strategies.js';
import { resolvePushSettings, type PushConsumerOptions, type PushSettings } from './push-consumer-options.js';
import { every, raceSignal, sleep, waitAtMost, whenAborted } from './async-tools.js';
import { lockQueues, sendMessageBack, unlockQueues } from './broker-calls.js';
import { checkSubscriptionInBrokers } from './check-client-config.js';
import { computeStartOffset } from './start-offset.js';
import { ClientStateError } from './client-errors.js';
import { ClientInstance } from './client-instance.js';
import { ConcurrentConsumeService, OrderlyConsumeService, type ConsumeHost } from './consume-services.js';
import { consumeChannel, pullChannel, rebalanceChannel } from './diagnostics.js';
import { ConsumeOutcome, MessageChannel } from './message-channel.js';
import type { ReceivedMessage } from './message.js';
import { queueKey, type MessageQueue } from './message-queue.js';
import { LocalFileOffsetStore, RemoteOffsetStore, type OffsetStore } from './offset-store.js';
import type { QueueEntry } from './process-queue.js';
import { pullMessages, PullStatus } from './pull-request.js';
import { QueueState } from './queue-state.js';
import { Rebalancer } from './rebalancer.js';
import { createRetryCopyRequest, encodeRunningInfo, parseResetOffsetBody } from './consumer-wire.js';
import {
  buildSubscription,
  retryTopicOf,
  tagMatches,
  type ExpressionType,
  type HeartbeatData,
  type MessageModel,
  type SubscriptionData,
} from './subscription.js';

export type { PushConsumerOptions } from './push-consumer-options.js';

export type MessageHandler = (message: ReceivedMessage) => void | Promise<void>;

/** How often a flow-controlled queue checks whether it may pull again. */
const FLOW_CONTROL_WAIT_MS = 50;

export class PushConsumer implements ConsumeHost {
  readonly group: string;
  readonly messageModel: MessageModel;
  readonly orderly: boolean;
  readonly clustering: boolean;
  readonly logger;
  private readonly instance: ClientInstance;
  private readonly offsetStore: OffsetStore;
  private readonly rebalancer: Rebalancer;
  private readonly subscriptions = new Map<string, SubscriptionData>();
  private readonly states = new Map<string, QueueState>();
  private readonly concurrent: ConcurrentConsumeService;
  private readonly orderlyService: OrderlyConsumeService;
  private readonly settings: PushSettings;
  private readonly brokerZones: Readonly<Record<string, string>>;
  private handler: MessageHandler | undefined;
  private channel: MessageChannel | undefined;
  private startPromise: Promise<void> | undefined;
  private shutdownPromise: Promise<void> | undefined;
  private isStopping = false;
  private stopTimers: (() => void)[] = [];
  private rebalancing: Promise<void> | undefined;
  private rebalanceAgain = false;
  private retryRebalanceTimer: NodeJS.Timeout | undefined;
  private runningHandlers = 0;
  /** The start failed (a subscription was refused): nothing was registered, so shutdown has nothing to undo. */
  private startFailed = false;

  constructor(options: PushConsumerOptions) {
    this.group = validateGroupName(options.group);
    this.messageModel = options.messageModel ?? 'CLUSTERING';
    this.orderly = options.orderly ?? false;
    this.clustering = this.messageModel === 'CLUSTERING';
    this.instance = new ClientInstance(options, 'consumer');
    this.logger = this.instance.logger;
    this.settings = resolvePushSettings(options, this.orderly);
    if (this.settings.concurrency < 1 || this.settings.pullBatchSize < 1) throw new ClientStateError('ILLEGAL_ARGUMENT', 'concurrency and pullBatchSize must be at least 1');
    this.brokerZones = options.brokerZones ?? {};
    this.offsetStore = this.clustering
      ? new RemoteOffsetStore(this.instance, this.group, options.setZeroIfNotFound ?? true)
      : new LocalFileOffsetStore(options.offsetStoreDir ?? join(homedir(), '.tidemq_offsets'), this.instance.clientId, this.group);
    this.rebalancer = new Rebalancer(this.instance, this.group, this.messageModel, strategyByName(options.allocateStrategy ?? 'AVERAGE'), (brokerName) =>
      this.brokerZones[brokerName] ?? this.instance.zoneOfBroker(brokerName),
    );
    this.concurrent = new ConcurrentConsumeService(this, this.settings.concurrency, this.settings.retryLocallyDelayMs);
    this.orderlyService = new OrderlyConsumeService(this, this.settings.suspendCurrentQueueTimeMs, this.settings.maxReconsumeTimes, Math.min(1000, this.settings.lockRenewIntervalMs));
    this.instance.setHandler(RequestCode.NOTIFY_CONSUMER_IDS_CHANGED, () => {
      this.rebalanceSoon();
      return null;
    });
    this.instance.setHandler(RequestCode.RESET_CONSUMER_CLIENT_OFFSET, this.onResetOffset);
    this.instance.setHandler(RequestCode.GET_CONSUMER_RUNNING_INFO, this.onRunningInfo);
  }

  get clientId(): string {
    return this.instance.clientId;
  }

  get stopping(): boolean {
    return this.isStopping;
  }

  /** Broadcasting: the file offsets are kept in. */
  get offsetFile(): string | undefined {
    return this.offsetStore instanceof LocalFileOffsetStore ? this.offsetStore.filePath : undefined;
  }

  /**
   * Subscribes to `topic`: `expression` is a tag expression (`*`, `A || B`) or, with type SQL92, a
   * SQL92 filter. May be called again (also while running) to change the expression.
   */
  subscribe(topic: string, expression = '*', type: ExpressionType = 'TAG'): this {
    if (this.isStopping) throw new ClientStateError('CLIENT_CLOSED', 'the consumer is closed');
    validateTopicName(topic);
    const subscription = buildSubscription(topic, expression, type);
    this.subscriptions.set(topic, subscription);
    for (const state of this.states.values()) if (state.queue.topic === topic) state.subscription = subscription;
    if (this.startPromise !== undefined) {
      void this.instance.heartbeatAll().then(() => this.rebalanceSoon());
      // Running already, so there is no promise to reject: a refusal is reported like other background failures.
      void this.checkSubscription(subscription).catch((error: unknown) => this.instance.reportBackgroundError(`subscription to ${topic}`, error));
    }
    return this;
  }

  unsubscribe(topic: string): this {
    this.subscriptions.delete(topic);
    if (this.startPromise !== undefined) {
      void this.instance.heartbeatAll().then(() => this.rebalanceSoon());
    }
    return this;
  }

  /** Starts consuming with `handler`; a handler that throws asks for a retry. Resolves once started. */
  run(handler: MessageHandler, options: { signal?: AbortSignal } = {}): Promise<void> {
    if (this.channel !== undefined || this.handler !== undefined) return Promise.reject(new ClientStateError('ILLEGAL_ARGUMENT', 'a consumer runs one handler or one iterator'));
    this.handler = handler;
    const signal = options.signal;
    if (signal !== undefined) {
      if (signal.aborted) return this.drain();
      signal.addEventListener('abort', () => void this.drain().catch(() => undefined), { once: true });
    }
    return raceSignal(this.start(), signal, 'consumer start');
  }

  /**
   * `for await (const message of consumer)`: a message counts as consumed once the loop asks for the
   * next one or is left; leaving the loop closes the consumer.
   */
  [Symbol.asyncIterator](): AsyncIterableIterator<ReceivedMessage> {
    if (this.channel !== undefined || this.handler !== undefined) throw new ClientStateError('ILLEGAL_ARGUMENT', 'a consumer runs one handler or one iterator');
    const channel = (this.channel = new MessageChannel());
    const started = this.start();
    // The first next() rethrows a failed start; this only keeps it from counting as unhandled meanwhile.
    started.catch(() => undefined);
    const iterator: AsyncIterableIterator<ReceivedMessage> = {
      next: async () => {
        await started;
        return channel.next();
      },
      return: async () => {
        channel.finishCurrent();
        await this.close();
        return { value: undefined, done: true };
      },
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  }

  /** The queues this consumer currently owns. */
  assignment(): MessageQueue[] {
    return [...this.states.values()].map((state) => state.queue);
  }

  /** Stops fetching, waits for running handlers, commits offsets, unlocks and unregisters. */
  drain(options: { signal?: AbortSignal } = {}): Promise<void> {
    return this.shutdown(true, options.signal);
  }

  /** Like drain, but does not wait for running handlers (their messages will be delivered again). */
  close(): Promise<void> {
    return this.shutdown(false, undefined);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** Starts without a handler (the iterator does this itself). */
  start(): Promise<void> {
    if (this.isStopping) return Promise.reject(new ClientStateError('CLIENT_CLOSED', 'the consumer is closed'));
    this.startPromise ??= this.doStart();
    return this.startPromise;
  }

  // -------------------------------------------------------------------------------------------
  // Start, rebalance

  private async doStart(): Promise<void> {
    if (this.subscriptions.size === 0) throw new ClientStateError('ILLEGAL_ARGUMENT', 'subscribe to at least one topic before starting');
    if (this.clustering) this.subscriptions.set(retryTopicOf(this.group), buildSubscription(retryTopicOf(this.group), '*'));
    await this.offsetStore.load();
    await Promise.all(
      [...this.subscriptions.keys()].map((topic) =>
        this.instance.route(topic).catch((error: unknown) => this.instance.reportBackgroundError(`route of ${topic}`, error)),
      ),
    );
    try {
      await Promise.all([...this.subscriptions.values()].map((subscription) => this.checkSubscription(subscription)));
    } catch (error) {
      this.startFailed = true;
      this.isStopping = true;
      await this.instance.close();
      throw error;
    }
    this.instance.start({
      topicsInUse: () => this.subscriptions.keys(),
      heartbeat: () => this.heartbeatData(),
      routeChanged: () => {
        void this.instance.heartbeatAll().then(() => this.rebalanceSoon());
      },
      heartbeatToSlaves: true,
    });
    await this.instance.heartbeatAll();
    await this.rebalance();
    this.stopTimers.push(every(this.settings.rebalanceIntervalMs, () => this.rebalanceSoon()));
    this.stopTimers.push(every(this.settings.persistOffsetIntervalMs, () => void this.persistOffsets()));
    if (this.orderly && this.clustering) this.stopTimers.push(every(this.settings.lockRenewIntervalMs, () => void this.lockAll()));
  }

  /** CHECK_CLIENT_CONFIG for a non-TAG subscription; rejects when a broker of its topic refuses it. */
  private checkSubscription(subscription: SubscriptionData): Promise<void> {
    return checkSubscriptionInBrokers(this.instance, this.group, subscription, (address, error) =>
      this.instance.reportBackgroundError(`subscription check of ${subscription.topic} at ${address}`, error),
    );
  }

  private heartbeatData(): HeartbeatData {
    return {
      clientID: this.clientId,
      producerDataSet: [{ groupName: 'CLIENT_INNER_PRODUCER' }],
      consumerDataSet: [
        {
          groupName: this.group,
          consumeType: 'CONSUME_PASSIVELY',
          messageModel: this.messageModel,
          consumeFromWhere: this.settings.consumeFromWhere,
          unitMode: false,
          subscriptionDataSet: [...this.subscriptions.values()],
        },
      ],
    };
  }

  /** Runs a rebalance now, or once more after the running one. */
  private rebalanceSoon(): void {
    if (this.isStopping || this.startPromise === undefined) return;
    if (this.rebalancing !== undefined) {
      this.rebalanceAgain = true;
      return;
    }
    void this.rebalance();
  }

  private rebalance(): Promise<void> {
    if (this.rebalancing !== undefined) {
      this.rebalanceAgain = true;
      return this.rebalancing;
    }
    this.rebalancing = (async () => {
      do {
        this.rebalanceAgain = false;
        let lockMissed = false;
        for (const topic of [...this.subscriptions.keys()]) {
          if (this.isStopping) return;
          try {
            const desired = await this.rebalancer.allocate(topic);
            if (desired !== undefined && !(await this.applyAllocation(topic, desired))) lockMissed = true;
          } catch (error) {
            this.instance.reportBackgroundError(`rebalance of ${topic}`, error);
          }
        }
        // Drop queues of topics no longer subscribed.
        for (const state of [...this.states.values()]) if (!this.subscriptions.has(state.queue.topic)) await this.releaseQueue(state);
        // A queue whose previous owner still holds its lock is retried soon rather than in 20 s.
        if (lockMissed && !this.isStopping && this.retryRebalanceTimer === undefined) {
          this.retryRebalanceTimer = setTimeout(() => {
            this.retryRebalanceTimer = undefined;
            this.rebalanceSoon();
          }, Math.min(1000, this.settings.rebalanceIntervalMs));
          this.retryRebalanceTimer.unref();
        }
      } while (this.rebalanceAgain && !this.isStopping);
    })().finally(() => {
      this.rebalancing = undefined;
    });
    return this.rebalancing;
  }

  /** Applies one topic's allocation; false when a queue could not be locked yet. */
  private async applyAllocation(topic: string, desired: readonly MessageQueue[]): Promise<boolean> {
    const desiredKeys = new Set(desired.map(queueKey));
    const removed = [...this.states.values()].filter((state) => state.queue.topic === topic && !desiredKeys.has(state.key));
    await Promise.all(removed.map((state) => this.releaseQueue(state)));
    const added: MessageQueue[] = [];
    let allLocked = true;
    for (const queue of desired) {
      if (this.isStopping) break;
      if (this.states.has(queueKey(queue))) continue;
      const outcome = await this.acquireQueue(queue);
      if (outcome === 'acquired') added.push(queue);
      else if (outcome === 'locked-elsewhere') allLocked = false;
    }
    if ((added.length > 0 || removed.length > 0) && rebalanceChannel.hasSubscribers) {
      rebalanceChannel.publish({ clientId: this.clientId, group: this.group, topic, added, removed: removed.map((state) => state.queue), owned: this.assignment().filter((queue) => queue.topic === topic) });
    }
    if (added.length > 0 || removed.length > 0) this.logger.info({ topic, added: added.length, removed: removed.length, owned: this.states.size }, 'rebalanced');
    return allLocked;
  }

  private async acquireQueue(queue: MessageQueue): Promise<'acquired' | 'locked-elsewhere' | 'failed'> {
    const subscription = this.subscriptions.get(queue.topic);
    if (subscription === undefined) return 'failed';
    let locked = false;
    if (this.orderly && this.clustering) {
      const address = this.instance.masterAddress(queue.brokerName);
      if (address === undefined) return 'failed';
      try {
        locked = (await lockQueues(this.instance, address, this.group, [queue])).length > 0;
      } catch (error) {
        this.instance.reportBackgroundError(`lock of ${queue.topic}#${queue.queueId}`, error);
        return 'failed';
      }
      if (!locked) return 'locked-elsewhere';
    }
    let offset: number;
    try {
      offset = await computeStartOffset(this.instance, this.offsetStore, queue, this.settings.consumeFromWhere, this.settings.consumeTimestampMs);
    } catch (error) {
      this.instance.reportBackgroundError(`start offset of ${queue.topic}#${queue.queueId}`, error);
      return 'failed';
    }
    if (this.isStopping) return 'failed';
    const state = new QueueState(queue, subscription, offset);
    if (locked) {
      state.locked = true;
      state.lastLockMs = Date.now();
    }
    this.states.set(state.key, state);
    state.pullLoop = this.pullLoop(state);
    return 'acquired';
  }

  /** Stops a queue, lets its handlers finish, commits its offset and (orderly) unlocks it. */
  private async releaseQueue(state: QueueState, unlock = true): Promise<void> {
    if (this.states.get(state.key) === state) this.states.delete(state.key);
    state.drop();
    await state.pullLoop;
    await waitAtMost(Promise.all([state.idle(), state.orderlyLoop]), this.settings.handoverTimeoutMs);
    try {
      await this.offsetStore.persist([state.queue]);
    } catch (error) {
      this.instance.reportBackgroundError(`offset commit of ${state.queue.topic}#${state.queue.queueId}`, error);
    }
    state.released = true;
    if (this.clustering) this.offsetStore.remove(state.queue);
    if (unlock && this.orderly && this.clustering) {
      const address = this.instance.masterAddress(state.queue.brokerName);
      if (address !== undefined) {
        await unlockQueues(this.instance, address, this.group, [state.queue]).catch((error: unknown) => this.instance.reportBackgroundError('unlock', error));
      }
    }
  }

  private async lockAll(): Promise<void> {
    const byBroker = new Map<string, QueueState[]>();
    for (const state of this.states.values()) {
      const list = byBroker.get(state.queue.brokerName);
      if (list === undefined) byBroker.set(state.queue.brokerName, [state]);
      else list.push(state);
    }
    await Promise.all(
      [...byBroker].map(async ([brokerName, states]) => {
        const address = this.instance.masterAddress(brokerName);
        if (address === undefined) return;
        try {
          const locked = new Set((await lockQueues(this.instance, address, this.group, states.map((state) => state.queue))).map(queueKey));
          const nowMs = Date.now();
          for (const state of states) {
            state.locked = locked.has(state.key);
            if (state.locked) state.lastLockMs = nowMs;
            else this.logger.warn({ queue: state.queue }, 'queue lock lost; consumption of the queue pauses');
          }
        } catch (error) {
          this.instance.reportBackgroundError(`lock renewal at ${brokerName}`, error);
        }
      }),
    );
  }

  // -------------------------------------------------------------------------------------------
  // Pulling

  private flowControlled(state: QueueState): boolean {
    const pq = state.pq;
    if (pq.count > this.settings.pullThresholdForQueue || pq.bytes > this.settings.pullThresholdSizeForQueueBytes) return true;
    return !this.orderly && pq.span > this.settings.consumeConcurrentlyMaxSpan;
  }

  private async pullLoop(state: QueueState): Promise<void> {
    const queue = state.queue;
    const signal = state.signal;
    while (!state.dropped && !this.isStopping) {
      if (this.flowControlled(state)) {
        await sleep(FLOW_CONTROL_WAIT_MS, signal);
        continue;
      }
      if (this.orderly && this.clustering && !this.lockValid(state)) {
        await sleep(Math.min(1000, this.settings.lockRenewIntervalMs), signal);
        continue;
      }
      const address = this.instance.readAddress(queue.brokerName);
      if (address === undefined) {
        await sleep(this.settings.pullRetryDelayMs, signal);
        continue;
      }
      const startedMs = Date.now();
      const offset = state.nextOffset;
      let result;
      try {
        result = await pullMessages(this.instance, address, {
          group: this.group,
          queue,
          offset,
          maxMessages: this.settings.pullBatchSize,
          subscription: state.subscription,
          commitOffset: this.clustering ? this.offsetStore.readFromMemory(queue) : 0,
          suspendMs: this.settings.pullSuspendMs,
          timeoutMs: this.settings.pullTimeoutMs,
          signal,
        });
      } catch (error) {
        if (state.dropped || this.isStopping) return;
        if (pullChannel.hasSubscribers) pullChannel.publish({ clientId: this.clientId, group: this.group, queue, offset, found: 0, durationMs: Date.now() - startedMs, error });
        this.instance.reportBackgroundError(`pull of ${queue.topic}#${queue.queueId}@${queue.brokerName}`, error);
        await sleep(this.settings.pullRetryDelayMs, signal);
        continue;
      }
      if (state.dropped) return;
      if (pullChannel.hasSubscribers) {
        pullChannel.publish({ clientId: this.clientId, group: this.group, queue, offset, found: result.messages.length, nextOffset: result.nextBeginOffset, durationMs: Date.now() - startedMs });
      }
      switch (result.status) {
        case PullStatus.FOUND: {
          state.nextOffset = result.nextBeginOffset;
          const subscription = state.subscription;
          const messages = subscription.tagsSet.length === 0 ? result.messages : result.messages.filter((message) => tagMatches(subscription, message.tags));
          const entries = state.pq.put(messages);
          if (entries.length === 0) this.correctTagsOffset(state);
          else if (this.orderly) this.orderlyService.submit(state);
          else this.concurrent.submit(state, entries);
          break;
        }
        case PullStatus.NO_NEW_MSG:
        case PullStatus.NO_MATCHED_MSG:
          state.nextOffset = result.nextBeginOffset;
          this.correctTagsOffset(state);
          break;
        case PullStatus.OFFSET_ILLEGAL:
          this.logger.warn({ queue, offset, nextBeginOffset: result.nextBeginOffset }, 'pull offset out of range; moving to the broker’s offset');
          state.nextOffset = result.nextBeginOffset;
          state.pq.clear();
          this.offsetStore.update(queue, result.nextBeginOffset, false);
          void this.offsetStore.persist([queue]).catch((error: unknown) => this.instance.reportBackgroundError('offset commit', error));
          break;
      }
    }
  }

  /** Nothing cached: the committed offset may follow the pull offset past filtered-out messages. */
  private correctTagsOffset(state: QueueState): void {
    if (state.pq.count === 0 && !state.dropped) this.offsetStore.update(state.queue, state.nextOffset, true);
  }

  // -------------------------------------------------------------------------------------------
  // ConsumeHost

  async invoke(message: ReceivedMessage, state: QueueState): Promise<ConsumeOutcome> {
    state.handlerStarted();
    this.runningHandlers++;
    const startedMs = Date.now();
    let outcome: ConsumeOutcome;
    let failure: unknown;
    try {
      if (this.channel !== undefined) outcome = await this.channel.offer(message);
      else if (this.handler !== undefined) {
        await this.handler(message);
        outcome = ConsumeOutcome.SUCCESS;
      } else outcome = ConsumeOutcome.ABANDONED;
    } catch (error) {
      failure = error;
      outcome = ConsumeOutcome.RETRY;
      this.logger.warn({ err: error, msgId: message.msgId, topic: message.topic, reconsumeTimes: message.reconsumeTimes }, 'message handler failed; the message will be retried');
    } finally {
      this.runningHandlers--;
      state.handlerFinished();
    }
    if (consumeChannel.hasSubscribers && outcome !== ConsumeOutcome.ABANDONED) {
      consumeChannel.publish({
        clientId: this.clientId,
        group: this.group,
        topic: message.topic,
        queue: state.queue,
        msgId: message.msgId,
        reconsumeTimes: message.reconsumeTimes,
        durationMs: Date.now() - startedMs,
        ok: outcome === ConsumeOutcome.SUCCESS,
        error: failure,
      });
    }
    return outcome;
  }

  consumed(state: QueueState, entries: readonly QueueEntry[]): void {
    const offset = state.pq.finish(entries);
    // A queue handed over (or reset) has had its final commit; later progress must not move it.
    if (offset >= 0 && !state.released) this.offsetStore.update(state.queue, offset, true);
  }

  async sendBack(message: ReceivedMessage, state: QueueState, delayLevel: number): Promise<boolean> {
    const address = this.instance.masterAddress(state.queue.brokerName);
    if (address === undefined) return false;
    try {
      await sendMessageBack(this.instance, address, this.group, message, delayLevel, this.settings.maxReconsumeTimes);
      return true;
    } catch (error) {
      this.logger.warn({ err: error, msgId: message.msgId }, 'CONSUMER_SEND_MSG_BACK failed; re-sending to the retry topic');
    }
    try {
      // Java's fallback: the client stores the retry copy itself.
      await this.instance.invokeOk(address, createRetryCopyRequest(message, this.group, this.settings.maxReconsumeTimes, delayLevel), `retry send of ${message.msgId}`);
      return true;
    } catch (error) {
      this.logger.warn({ err: error, msgId: message.msgId }, 'sending to the retry topic failed; retrying locally');
      return false;
    }
  }

  lockValid(state: QueueState): boolean {
    return state.locked && Date.now() - state.lastLockMs < this.settings.lockMaxLiveTimeMs;
  }

  async lockQueue(state: QueueState): Promise<boolean> {
    const address = this.instance.masterAddress(state.queue.brokerName);
    if (address === undefined || state.dropped) return false;
    try {
      const locked = (await lockQueues(this.instance, address, this.group, [state.queue])).length > 0;
      state.locked = locked;
      if (locked) state.lastLockMs = Date.now();
      return locked;
    } catch (error) {
      this.instance.reportBackgroundError('queue lock', error);
      return false;
    }
  }

  // -------------------------------------------------------------------------------------------
  // Offsets and shutdown

  private async persistOffsets(): Promise<void> {
    const queues = [...this.states.values()].map((state) => state.queue);
    if (queues.length === 0) return;
    try {
      await this.offsetStore.persist(queues);
    } catch (error) {
      this.instance.reportBackgroundError('offset commit', error);
    }
  }

  private shutdown(waitForHandlers: boolean, signal: AbortSignal | undefined): Promise<void> {
    this.shutdownPromise ??= this.doShutdown(waitForHandlers, signal);
    return this.shutdownPromise;
  }

  private async doShutdown(waitForHandlers: boolean, signal: AbortSignal | undefined): Promise<void> {
    this.isStopping = true;
    for (const stop of this.stopTimers) stop();
    this.stopTimers = [];
    if (this.retryRebalanceTimer !== undefined) clearTimeout(this.retryRebalanceTimer);
    await this.startPromise?.catch(() => undefined);
    await this.rebalancing?.catch(() => undefined);
    const states = [...this.states.values()];
    for (const state of states) state.drop();
    this.concurrent.stop();
    this.channel?.close();
    await Promise.all(states.map((state) => state.pullLoop));
    if (waitForHandlers) {
      const idle = Promise.all(states.map((state) => Promise.all([state.idle(), state.orderlyLoop])));
      await (signal === undefined ? idle : Promise.race([idle, whenAborted(signal)]));
    }
    if (this.startPromise !== undefined && !this.startFailed) {
      try {
        await this.offsetStore.persist(states.map((state) => state.queue));
      } catch (error) {
        this.logger.warn({ err: error }, 'final offset commit failed');
      }
      for (const state of states) state.released = true;
      if (this.orderly && this.clustering) await this.unlockAll(states);
      await this.instance.unregister({ consumerGroup: this.group });
    }
    this.states.clear();
    await this.instance.close();
  }

  private async unlockAll(states: readonly QueueState[]): Promise<void> {
    const byBroker = new Map<string, MessageQueue[]>();
    for (const state of states) {
      const list = byBroker.get(state.queue.brokerName) ?? [];
      list.push(state.queue);
      byBroker.set(state.queue.brokerName, list);
    }
    await Promise.all(
      [...byBroker].map(async ([brokerName, queues]) => {
        const address = this.instance.masterAddress(brokerName);
        if (address !== undefined) await unlockQueues(this.instance, address, this.group, queues).catch(() => undefined);
      }),
    );
  }

  // -------------------------------------------------------------------------------------------
  // Requests from brokers

  /** RESET_CONSUMER_CLIENT_OFFSET (220): body ResetOffsetBody `{offsetTable:{MessageQueue: offset}}`. */
  private readonly onResetOffset: RequestHandler = async (request) => {
    let targets: { queue: MessageQueue; offset: number }[];
    try {
      targets = parseResetOffsetBody(request.body, request.extFields?.topic);
    } catch (error) {
      this.logger.warn({ err: error }, 'undecodable RESET_CONSUMER_CLIENT_OFFSET body');
      return createResponse(request, ResponseCode.SYSTEM_ERROR, 'undecodable offset table');
    }
    await this.resetOffsets(targets);
    return createResponse(request, ResponseCode.SUCCESS);
  };

  /** Moves owned queues (and the stored offsets of the others) to new offsets. */
  private async resetOffsets(targets: readonly { queue: MessageQueue; offset: number }[]): Promise<void> {
    this.logger.info({ queues: targets.length }, 'offsets reset by the broker');
    for (const { queue, offset } of targets) {
      const state = this.states.get(queueKey(queue));
      this.offsetStore.update(queue, offset, false);
      if (state === undefined) continue;
      this.states.delete(state.key);
      state.drop();
      state.released = true;
      await state.pullLoop;
      await waitAtMost(Promise.all([state.idle(), state.orderlyLoop]), this.settings.handoverTimeoutMs);
      this.offsetStore.update(queue, offset, false);
      if (this.isStopping) return;
      const fresh = new QueueState(queue, state.subscription, offset);
      fresh.locked = state.locked;
      fresh.lastLockMs = state.lastLockMs;
      this.states.set(fresh.key, fresh);
      fresh.pullLoop = this.pullLoop(fresh);
    }
    await this.offsetStore.persist(targets.map((target) => target.queue)).catch((error: unknown) => this.instance.reportBackgroundError('offset commit after reset', error));
  }

  /** GET_CONSUMER_RUNNING_INFO (307): what the dashboard shows about this client. */
  private readonly onRunningInfo: RequestHandler = (request: RemotingCommand) => {
    const properties = {
      consumerGroup: this.group,
      messageModel: this.messageModel,
      consumeType: 'CONSUME_PASSIVELY',
      consumeOrderly: String(this.orderly),
      clientId: this.clientId,
      PROP_CONSUME_TYPE: 'CONSUME_PASSIVELY',
      PROP_CONSUMEORDERLY: String(this.orderly),
      PROP_CLIENT_VERSION: 'TideMQ',
      PROP_THREADPOOL_CORE_SIZE: String(this.settings.concurrency),
    };
    const queues = [...this.states.values()].map((state) => ({
      queue: state.queue,
      commitOffset: this.offsetStore.readFromMemory(state.queue),
      cachedMsgCount: state.pq.count,
      cachedMsgBytes: state.pq.bytes,
      locked: state.locked,
      dropped: state.dropped,
    }));
    return createResponse(request, ResponseCode.SUCCESS, undefined, undefined, encodeRunningInfo(properties, [...this.subscriptions.values()], queues));
  };
}
