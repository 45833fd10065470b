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
 *
 * This file owns the public API, start and shutdown, the handler side (ConsumeHost) and the broker's
 * requests; the owned-queue table and rebalancing are in owned-queues.ts, the pull loop in pull-loop.ts.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ResponseCode } from '../common/errors.js';
import { checkGroup as validateGroupName, checkTopic as validateTopicName } from './client-names.js';
import { createResponse, type RemotingCommand, type RequestHandler } from '../protocol/remoting-command.js';
import { RequestCode } from '../protocol/request-code.js';
import { strategyByName } from './allocate-strategies.js';
import { resolvePushSettings, type PushConsumerOptions, type PushSettings } from './push-consumer-options.js';
import { every, raceSignal, whenAborted } from './async-tools.js';
import { lockQueues, sendMessageBack } from './broker-calls.js';
import { checkSubscriptionInBrokers } from './check-client-config.js';
import { ClientStateError } from './client-errors.js';
import { ClientInstance } from './client-instance.js';
import { ConcurrentConsumeService, OrderlyConsumeService, type ConsumeHost } from './consume-services.js';
import { consumeChannel } from './diagnostics.js';
import { ConsumeOutcome, MessageChannel } from './message-channel.js';
import type { ReceivedMessage } from './message.js';
import type { MessageQueue } from './message-queue.js';
import { LocalFileOffsetStore, RemoteOffsetStore, type OffsetStore } from './offset-store.js';
import type { QueueEntry } from './process-queue.js';
import { OwnedQueues } from './owned-queues.js';
import type { QueueState } from './queue-state.js';
import { Rebalancer } from './rebalancer.js';
import { createRetryCopyRequest, encodeRunningInfo, parseResetOffsetBody } from './consumer-wire.js';
import {
  buildSubscription,
  retryTopicOf,
  type ExpressionType,
  type HeartbeatData,
  type MessageModel,
  type SubscriptionData,
} from './subscription.js';

export type { PushConsumerOptions } from './push-consumer-options.js';

export type MessageHandler = (message: ReceivedMessage) => void | Promise<void>;

export class PushConsumer implements ConsumeHost {
  readonly group: string;
  readonly messageModel: MessageModel;
  readonly orderly: boolean;
  readonly clustering: boolean;
  readonly logger;
  private readonly instance: ClientInstance;
  private readonly offsetStore: OffsetStore;
  private readonly subscriptions = new Map<string, SubscriptionData>();
  /** The owned queues, and rebalancing, locking and committing them. */
  private readonly queues: OwnedQueues;
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
    this.queues = new OwnedQueues({
      instance: this.instance,
      group: this.group,
      orderly: this.orderly,
      clustering: this.clustering,
      settings: this.settings,
      offsetStore: this.offsetStore,
      rebalancer: new Rebalancer(this.instance, this.group, this.messageModel, strategyByName(options.allocateStrategy ?? 'AVERAGE'), (brokerName) =>
        this.brokerZones[brokerName] ?? this.instance.zoneOfBroker(brokerName),
      ),
      subscriptions: this.subscriptions,
      stopping: () => this.isStopping,
      started: () => this.startPromise !== undefined,
      lockValid: (state) => this.lockValid(state),
      deliver: (state, entries) => (this.orderly ? this.orderlyService.submit(state) : this.concurrent.submit(state, entries)),
    });
    this.concurrent = new ConcurrentConsumeService(this, this.settings.concurrency, this.settings.retryLocallyDelayMs);
    this.orderlyService = new OrderlyConsumeService(this, this.settings.suspendCurrentQueueTimeMs, this.settings.maxReconsumeTimes, Math.min(1000, this.settings.lockRenewIntervalMs));
    this.instance.setHandler(RequestCode.NOTIFY_CONSUMER_IDS_CHANGED, () => {
      this.queues.rebalanceSoon();
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
    for (const state of this.queues.states.values()) if (state.queue.topic === topic) state.subscription = subscription;
    if (this.startPromise !== undefined) {
      void this.instance.heartbeatAll().then(() => this.queues.rebalanceSoon());
      // Running already, so there is no promise to reject: a refusal is reported like other background failures.
      void this.checkSubscription(subscription).catch((error: unknown) => this.instance.reportBackgroundError(`subscription to ${topic}`, error));
    }
    return this;
  }

  unsubscribe(topic: string): this {
    this.subscriptions.delete(topic);
    if (this.startPromise !== undefined) {
      void this.instance.heartbeatAll().then(() => this.queues.rebalanceSoon());
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
    return this.queues.assignment();
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
  // Start

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
        void this.instance.heartbeatAll().then(() => this.queues.rebalanceSoon());
      },
      heartbeatToSlaves: true,
    });
    await this.instance.heartbeatAll();
    await this.queues.rebalance();
    this.stopTimers.push(every(this.settings.rebalanceIntervalMs, () => this.queues.rebalanceSoon()));
    this.stopTimers.push(every(this.settings.persistOffsetIntervalMs, () => void this.queues.persistOffsets()));
    if (this.orderly && this.clustering) this.stopTimers.push(every(this.settings.lockRenewIntervalMs, () => void this.queues.lockAll()));
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
  // Shutdown


  private shutdown(waitForHandlers: boolean, signal: AbortSignal | undefined): Promise<void> {
    this.shutdownPromise ??= this.doShutdown(waitForHandlers, signal);
    return this.shutdownPromise;
  }

  private async doShutdown(waitForHandlers: boolean, signal: AbortSignal | undefined): Promise<void> {
    this.isStopping = true;
    for (const stop of this.stopTimers) stop();
    this.stopTimers = [];
    this.queues.cancelRebalanceRetry();
    await this.startPromise?.catch(() => undefined);
    await this.queues.rebalanceSettled();
    const states = [...this.queues.states.values()];
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
      if (this.orderly && this.clustering) await this.queues.unlockAll(states);
      await this.instance.unregister({ consumerGroup: this.group });
    }
    this.queues.states.clear();
    await this.instance.close();
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
    await this.queues.resetOffsets(targets);
    return createResponse(request, ResponseCode.SUCCESS);
  };


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
    const queues = [...this.queues.states.values()].map((state) => ({
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