/**
 * The producer (Java's DefaultMQProducer / TransactionMQProducer).
 *
 * - `send` picks a queue round robin, skipping brokers the latency circuit breaker has paused, and
 *   retries on another broker (default 2 retries) after connection failures, timeouts and the
 *   retriable answers (SYSTEM_ERROR, SYSTEM_BUSY, SERVICE_NOT_AVAILABLE, TOPIC_NOT_EXIST,
 *   NO_PERMISSION), all within one `sendTimeoutMs` budget, as the Java client does.
 * - Ordered sends (a `shardingKey`, a `queueSelector` or an explicit `queue`) go to one queue, once.
 * - Many sends share one connection per broker; answers match by opaque, so none waits for another.
 * - `sendOneway` encodes and queues the frame synchronously when the route and connection are known.
 * - Bodies ≥ 4 KiB are deflated (COMPRESSED | ZLIB); batches are one SEND_BATCH_MESSAGE.
 * - Topics without a route use TBW102's route; the broker creates the topic on the first send.
 */
import { ResponseCode } from '../common/errors.js';
import { javaStringHashCode } from '../common/java-hash.js';
import { Limits } from '../common/limits.js';
import { checkTopic as validateTopicName } from './client-names.js';
import { decodeOffsetMessageId } from '../protocol/message-id.js';
import { MessageProperty } from '../protocol/message-properties.js';
import { SysFlag } from '../protocol/message-record.js';
import { isIPv4 } from 'node:net';
import type { RemotingCommand } from '../protocol/remoting-command.js';
import { RequestCode } from '../protocol/request-code.js';
import type { SocketConnection } from '../remoting/socket-connection.js';
import { sleep } from './async-tools.js';
import { abortError, brokerError, ClientStateError, MQClientError, toClientError } from './client-errors.js';
import { ClientInstance } from './client-instance.js';
import type { ClientOptions } from './client-options.js';
import { sendChannel } from './diagnostics.js';
import { LatencyFaultTolerance, type FaultToleranceOptions } from './latency-fault-tolerance.js';
import {
  bodyBytes,
  checkBodySize,
  DEFAULT_COMPRESS_LEVEL,
  DEFAULT_COMPRESS_OVER_BYTES,
  encodeBatchBody,
  encodeMessageProperties,
  type BatchEntry,
} from './message-codec.js';
import type { BatchSendResult, Message, SendResult } from './message.js';
import type { MessageQueue } from './message-queue.js';
import { createSendRequestTo, DEFAULT_TOPIC, parseBatchSendResponse } from './send-request.js';
import { isRetryTopic } from './subscription.js';
import { buildPublishInfo, TopicPublishInfo } from './topic-publish-info.js';
import { createCheckTransactionHandler, createEndTransactionRequest, type TransactionChecker, type TransactionState } from './transaction.js';
import { MessagePreparer, type PreparedMessage } from './message-preparer.js';
import { createSendCall, parseSingleAnswer, type ParseAnswer, type SendCall } from './send-call.js';
import { UniqueKeyGenerator } from './unique-key.js';

export interface ProducerOptions extends ClientOptions {
  /** Producer group. Default `DEFAULT_PRODUCER`; transactional producers need their own. */
  group?: string;
  /** Total time one send may take, retries included. Default 3000 ms. */
  sendTimeoutMs?: number;
  /** Extra attempts on other brokers after a failure. Default 2. */
  retryTimesWhenSendFailed?: number;
  /** Also retry when the broker stored the message but missed its flush/replication promise. Default false. */
  retryAnotherBrokerWhenNotStoreOk?: boolean;
  /** Bodies at least this long are deflated. Default 4096; 0 disables compression. */
  compressOverBytes?: number;
  /** zlib level 1-9. Default 5. */
  compressLevel?: number;
  /** Largest body (or batch body) accepted. Default 4 MiB. */
  maxMessageSizeBytes?: number;
  /** Queues a topic gets when the broker creates it on first send. Default 4. */
  defaultTopicQueueNums?: number;
  /** The latency circuit breaker: true (default), false, or its tables. */
  faultTolerance?: boolean | FaultToleranceOptions;
  /** Answers the broker's checks of open transactions (CHECK_TRANSACTION_STATE). */
  checkTransaction?: TransactionChecker;
}

export type QueueSelector = (queues: readonly MessageQueue[], message: Message) => MessageQueue;

export interface SendOptions {
  signal?: AbortSignal;
  /** Overrides sendTimeoutMs for this call. */
  timeoutMs?: number;
  /** Ordered send: the queue is chosen by Java String.hashCode of this key (overrides message.shardingKey). */
  shardingKey?: string;
  /** Ordered send: pick the queue yourself from the topic's writable queues. */
  queueSelector?: QueueSelector;
  /** Send to exactly this queue. */
  queue?: MessageQueue;
}

export interface TransactionSendResult extends SendResult {
  localTransactionState: TransactionState;
}

export type LocalTransaction = (message: Message, result: SendResult) => TransactionState | Promise<TransactionState>;

/** How long sendOneway waits between checks when the connection's outbound buffer is full. */
const ONEWAY_BACKPRESSURE_WAIT_MS = 2;

const NO_SEND_OPTIONS: SendOptions = Object.freeze({});

export class Producer {
  readonly group: string;
  private readonly instance: ClientInstance;
  private readonly sendTimeoutMs: number;
  private readonly retryTimes: number;
  private readonly retryNotStoreOk: boolean;
  private readonly maxMessageSizeBytes: number;
  private readonly defaultTopicQueueNums: number;
  private readonly faults: LatencyFaultTolerance | undefined;
  private readonly preparer: MessagePreparer;
  private readonly publishInfos = new Map<string, TopicPublishInfo>();
  /** Topics whose publish info came from TBW102 (replaced once the topic has its own route). */
  private readonly defaultRouted = new Set<string>();
  private readonly onewayConnections = new Map<string, SocketConnection>();
  private checker: TransactionChecker | undefined;
  private started = false;
  private closing = false;
  private inFlight = 0;
  private idleWaiters: (() => void)[] = [];
  private heartbeatBrokers = 0;

  constructor(options: ProducerOptions) {
    this.instance = new ClientInstance(options, 'producer');
    this.group = options.group ?? 'DEFAULT_PRODUCER';
    this.sendTimeoutMs = options.sendTimeoutMs ?? 3000;
    this.retryTimes = options.retryTimesWhenSendFailed ?? 2;
    this.retryNotStoreOk = options.retryAnotherBrokerWhenNotStoreOk ?? false;
    this.maxMessageSizeBytes = options.maxMessageSizeBytes ?? Limits.maxMessageSizeBytes;
    this.defaultTopicQueueNums = options.defaultTopicQueueNums ?? 4;
    const fault = options.faultTolerance ?? true;
    this.faults = fault === false ? undefined : new LatencyFaultTolerance(fault === true ? {} : fault);
    this.checker = options.checkTransaction;
    const ip = this.instance.options.clientIp;
    this.preparer = new MessagePreparer({
      uniqueKeys: new UniqueKeyGenerator(isIPv4(ip) ? Buffer.from(ip.split('.').map(Number)) : undefined),
      maxMessageSizeBytes: this.maxMessageSizeBytes,
      compressOverBytes: options.compressOverBytes ?? DEFAULT_COMPRESS_OVER_BYTES,
      compressLevel: options.compressLevel ?? DEFAULT_COMPRESS_LEVEL,
    });
    this.instance.setHandler(RequestCode.CHECK_TRANSACTION_STATE, createCheckTransactionHandler(this.group, () => this.checker, this.instance.logger));
  }

  get clientId(): string {
    return this.instance.clientId;
  }

  /** Starts the timers. Optional: the first send starts the producer too. */
  async start(): Promise<void> {
    this.ensureStarted();
  }

  /** Sets (or replaces) the transaction checker. */
  setTransactionChecker(checker: TransactionChecker | undefined): void {
    this.checker = checker;
  }

  /** Sends one message and resolves with where it was stored. */
  send(message: Message, options: SendOptions = NO_SEND_OPTIONS): Promise<SendResult> {
    try {
      this.ensureStarted();
    } catch (error) {
      return Promise.reject(error);
    }
    const startedMs = Date.now();
    this.inFlight++;
    let prepared: PreparedMessage;
    try {
      prepared = this.preparer.prepare(message, '', 0, startedMs);
    } catch (error) {
      if (sendChannel.hasSubscribers) sendChannel.publish({ clientId: this.clientId, topic: message.topic, messages: 1, durationMs: Date.now() - startedMs, error });
      this.sendFinished();
      return Promise.reject(error);
    }
    return this.startSend(message, prepared, options, false, parseSingleAnswer, true, startedMs);
  }

  /** Ordered send: every message with the same key lands in the same queue, in send order. */
  sendOrderly(message: Message, shardingKey: string, options: Omit<SendOptions, 'shardingKey'> = {}): Promise<SendResult> {
    return this.send(message, { ...options, shardingKey });
  }

  /**
   * Sends without waiting for an answer: no result, no retry. When the topic's route and the broker
   * connection are already known the frame is encoded and queued before this returns.
   */
  sendOneway(message: Message, options: Pick<SendOptions, 'shardingKey' | 'queueSelector' | 'queue' | 'signal'> = {}): Promise<void> {
    let prepared: PreparedMessage;
    try {
      this.ensureStarted();
      prepared = this.preparer.prepare(message, '', 0);
    } catch (error) {
      return Promise.reject(error);
    }
    const info = this.publishInfos.get(message.topic);
    if (info !== undefined && info.queues.length > 0) {
      const queue = this.pickQueue(info, message, options, undefined);
      const address = this.instance.masterAddress(queue.brokerName);
      const connection = address === undefined ? undefined : this.onewayConnections.get(address);
      if (connection !== undefined && !connection.closed) {
        const request = this.sendRequest(prepared, queue, false);
        if (connection.invokeOneway(request)) {
          if (sendChannel.hasSubscribers) sendChannel.publish({ clientId: this.clientId, topic: message.topic, queue, messages: 1, durationMs: 0 });
          return Promise.resolve();
        }
        if (connection.closed) this.onewayConnections.delete(address!);
        return this.onewaySlow(message, prepared, options, request, queue);
      }
    }
    return this.onewaySlow(message, prepared, options, undefined, undefined);
  }

  /** Sends messages of one topic as one SEND_BATCH_MESSAGE; they get consecutive queue offsets. */
  async sendBatch(messages: readonly Message[], options: Omit<SendOptions, 'shardingKey'> & { shardingKey?: string } = {}): Promise<BatchSendResult> {
    this.ensureStarted();
    if (messages.length === 0) throw new ClientStateError('ILLEGAL_ARGUMENT', 'a batch needs at least one message');
    const first = messages[0]!;
    const topic = validateTopicName(first.topic);
    if (isRetryTopic(topic)) throw new ClientStateError('ILLEGAL_ARGUMENT', 'retry topics cannot be sent to in a batch');
    const entries: BatchEntry[] = new Array(messages.length);
    const uniqueKeys: string[] = new Array(messages.length);
    let totalBytes = 0;
    for (let index = 0; index < messages.length; index++) {
      const message = messages[index]!;
      if (message.topic !== topic) throw new ClientStateError('ILLEGAL_ARGUMENT', `a batch must have one topic: ${message.topic} is not ${topic}`);
      if (message.delayLevel !== undefined && message.delayLevel > 0) throw new ClientStateError('ILLEGAL_ARGUMENT', 'delay levels are not supported in batches');
      if ((message.waitStoreMsgOk ?? true) !== (first.waitStoreMsgOk ?? true)) throw new ClientStateError('ILLEGAL_ARGUMENT', 'waitStoreMsgOk must be the same for a whole batch');
      const body = bodyBytes(message.body);
      if (body.length === 0) throw new ClientStateError('ILLEGAL_ARGUMENT', `message ${index} of the batch has an empty body`);
      const uniqueKey = this.preparer.nextUniqueKey();
      uniqueKeys[index] = uniqueKey;
      entries[index] = { body, flag: message.flag ?? 0, properties: encodeMessageProperties(message, uniqueKey) };
      totalBytes += body.length;
    }
    checkBodySize(totalBytes, this.maxMessageSizeBytes);
    const body = encodeBatchBody(entries);
    checkBodySize(body.length, this.maxMessageSizeBytes);
    const prepared: PreparedMessage = {
      topic,
      body,
      sysFlag: 0,
      flag: 0,
      properties: first.waitStoreMsgOk === false ? 'WAIT\u0001false\u0002' : 'WAIT\u0001true\u0002',
      uniqueKey: uniqueKeys.join(','),
      reconsumeTimes: undefined,
      maxReconsumeTimes: undefined,
    };
    const startedMs = Date.now();
    this.inFlight++;
    try {
      const result = await this.startSend(first, prepared, options, true, (response, queue, address) => parseBatchSendResponse(response, queue, uniqueKeys, address), false, startedMs);
      if (sendChannel.hasSubscribers) sendChannel.publish({ clientId: this.clientId, topic, queue: result.queue, messages: messages.length, durationMs: Date.now() - startedMs, result });
      return result;
    } catch (error) {
      if (sendChannel.hasSubscribers) sendChannel.publish({ clientId: this.clientId, topic, messages: messages.length, durationMs: Date.now() - startedMs, error });
      throw error;
    } finally {
      this.sendFinished();
    }
  }

  /**
   * Sends a half message, runs `executeLocal`, then commits or rolls back. A failed send rolls back
   * without running `executeLocal`; `executeLocal` throwing leaves the transaction UNKNOWN (the
   * broker will ask `checkTransaction`).
   */
  async sendInTransaction(message: Message, executeLocal: LocalTransaction, options: Omit<SendOptions, 'queue' | 'queueSelector' | 'shardingKey'> = {}): Promise<TransactionSendResult> {
    this.ensureStarted();
    const extra = `${MessageProperty.TRAN_MSG}\u0001true\u0002${MessageProperty.PGROUP}\u0001${this.group}\u0002`;
    // A transactional message cannot also be delayed (Java clears the level).
    const halfMessage: Message = message.delayLevel === undefined ? message : { ...message, delayLevel: undefined };
    this.inFlight++;
    try {
      const prepared = this.preparer.prepare(halfMessage, extra, SysFlag.TRANSACTION_PREPARED);
      let result: SendResult;
      try {
        result = await this.startSend(halfMessage, prepared, options, false, parseSingleAnswer, false, Date.now());
      } catch (error) {
        if (error instanceof MQClientError && error.responseCode === ResponseCode.NO_PERMISSION && /transaction/i.test(error.message)) {
          throw new MQClientError('TRANSACTION_NOT_SUPPORTED', error.message, { cause: error });
        }
        throw error;
      }
      let state: TransactionState = 'ROLLBACK';
      if (result.status === 'SEND_OK') {
        try {
          state = await executeLocal(message, result);
        } catch (error) {
          this.instance.logger.warn({ err: error, msgId: result.msgId }, 'local transaction failed; leaving it UNKNOWN for the broker to check');
          state = 'UNKNOWN';
        }
      }
      await this.endTransaction(result, state);
      return { ...result, localTransactionState: state };
    } finally {
      this.sendFinished();
    }
  }

  /** The writable queues of `topic` (fetching its route when needed). */
  async queues(topic: string, signal?: AbortSignal): Promise<readonly MessageQueue[]> {
    this.ensureStarted();
    return (await this.publishInfo(validateTopicName(topic), signal)).queues;
  }

  /** Waits until every send in flight has settled. */
  async drain(options: { signal?: AbortSignal } = {}): Promise<void> {
    this.closing = true;
    while (this.inFlight > 0) {
      if (options.signal?.aborted) throw abortError(options.signal, 'producer drain');
      await new Promise<void>((resolve) => {
        this.idleWaiters.push(resolve);
        options.signal?.addEventListener('abort', () => resolve(), { once: true });
      });
    }
    await this.shutdown();
  }

  /** Unregisters and closes the connections; sends in flight fail with CONNECTION_CLOSED. */
  async close(): Promise<void> {
    this.closing = true;
    await this.shutdown();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  // -------------------------------------------------------------------------------------------

  private async shutdown(): Promise<void> {
    if (this.instance.isClosed) return;
    if (this.started) await this.instance.unregister({ producerGroup: this.group });
    await this.instance.close();
  }

  private ensureStarted(): void {
    if (this.closing || this.instance.isClosed) throw new ClientStateError('CLIENT_CLOSED', 'the producer is closed');
    if (this.started) return;
    this.started = true;
    this.instance.start({
      topicsInUse: () => {
        const topics = [...this.publishInfos.keys()];
        if (this.defaultRouted.size > 0) topics.push(DEFAULT_TOPIC);
        return topics;
      },
      heartbeat: () => ({ clientID: this.clientId, producerDataSet: [{ groupName: this.group }, { groupName: 'CLIENT_INNER_PRODUCER' }], consumerDataSet: [] }),
      routeChanged: (topic, route) => this.routeChanged(topic, route),
      heartbeatToSlaves: false,
    });
  }

  private sendFinished(): void {
    this.inFlight--;
    if (this.inFlight === 0 && this.idleWaiters.length > 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const wake of waiters) wake();
    }
  }

  private routeChanged(topic: string, route: Parameters<typeof buildPublishInfo>[1] | undefined): void {
    if (route === undefined) return;
    if (topic === DEFAULT_TOPIC && !this.publishInfos.has(DEFAULT_TOPIC)) {
      for (const name of this.defaultRouted) this.publishInfos.set(name, buildPublishInfo(name, route, this.defaultTopicQueueNums));
      return;
    }
    this.defaultRouted.delete(topic);
    this.publishInfos.set(topic, buildPublishInfo(topic, route));
  }

  private sendRequest(prepared: PreparedMessage, queue: MessageQueue, batch: boolean, nowMs: number = Date.now()): RemotingCommand {
    return createSendRequestTo(this.group, this.defaultTopicQueueNums, prepared, queue, nowMs, batch);
  }

  /** Whether a send is ordered (one queue, one attempt). */
  private isOrdered(message: Message, options: SendOptions): boolean {
    return options.queue !== undefined || options.queueSelector !== undefined || options.shardingKey !== undefined || (message.shardingKey !== undefined && message.shardingKey !== '');
  }

  private pickQueue(info: TopicPublishInfo, message: Message, options: SendOptions, avoidBroker: string | undefined): MessageQueue {
    if (options.queue !== undefined) return options.queue;
    const queues = info.queues;
    if (options.queueSelector !== undefined) {
      const chosen = options.queueSelector(queues, message);
      if (chosen === undefined || chosen === null) throw new ClientStateError('ILLEGAL_ARGUMENT', 'the queue selector returned no queue');
      return chosen;
    }
    const key = options.shardingKey ?? message.shardingKey;
    if (key !== undefined && key !== '') return queues[Math.abs(javaStringHashCode(key)) % queues.length]!;
    const queue = this.faults !== undefined ? info.selectQueueAvoidingFaults(this.faults, avoidBroker) : info.selectQueue(avoidBroker);
    return queue!;
  }

  private async publishInfo(topic: string, signal?: AbortSignal): Promise<TopicPublishInfo> {
    const cached = this.publishInfos.get(topic);
    if (cached !== undefined && cached.queues.length > 0) return cached;
    const route = await this.instance.route(topic, true, signal);
    let info: TopicPublishInfo;
    if (route !== undefined) {
      info = buildPublishInfo(topic, route);
      this.defaultRouted.delete(topic);
    } else {
      const defaultRoute = await this.instance.route(DEFAULT_TOPIC, false, signal);
      if (defaultRoute === undefined) {
        throw new ClientStateError('TOPIC_ROUTE_NOT_FOUND', `no route for topic ${topic} (and no ${DEFAULT_TOPIC} route for auto-creation) at ${this.instance.options.namesrvAddrs.join(';')}`);
      }
      info = buildPublishInfo(topic, defaultRoute, this.defaultTopicQueueNums);
      this.defaultRouted.add(topic);
    }
    if (info.queues.length === 0) throw new ClientStateError('TOPIC_ROUTE_NOT_FOUND', `topic ${topic} has no writable queue on a broker with a master`);
    this.publishInfos.set(topic, info);
    this.heartbeatIfNewBrokers();
    return info;
  }

  /** Producers heartbeat to the brokers they use (transaction checks need a producer channel). */
  private heartbeatIfNewBrokers(): void {
    const count = this.instance.brokerAddresses(false).length;
    if (count === this.heartbeatBrokers) return;
    this.heartbeatBrokers = count;
    void this.instance.heartbeatAll();
  }

  /**
   * Runs the attempts of one send (default 1 + 2 retries on other brokers, one for ordered sends,
   * all within `timeoutMs`). `tracked`: a `send()`, which counted itself in flight and is published
   * on the send channel when it ends.
   */
  private startSend<R extends SendResult>(
    message: Message,
    prepared: PreparedMessage,
    options: SendOptions,
    batch: boolean,
    parse: ParseAnswer<R>,
    tracked: boolean,
    beganMs: number,
  ): Promise<R> {
    const call = createSendCall(message, prepared, options, batch, parse, options.timeoutMs ?? this.sendTimeoutMs, beganMs, tracked);
    try {
      const cached = this.publishInfos.get(prepared.topic);
      if (cached !== undefined && cached.queues.length > 0) {
        const outcome = this.firstAttempt(call, cached);
        return outcome instanceof Promise ? outcome : Promise.resolve(outcome);
      }
      return this.publishInfo(prepared.topic, options.signal).then(
        (info) => this.firstAttempt(call, info),
        (error: unknown) => {
          throw this.endCall(call, undefined, error);
        },
      );
    } catch (error) {
      return Promise.reject(this.endCall(call, undefined, error));
    }
  }

  private firstAttempt<R extends SendResult>(call: SendCall<R, SendOptions>, info: TopicPublishInfo): Promise<R> | R {
    call.info = info;
    call.attempts = this.isOrdered(call.message, call.options) ? 1 : 1 + Math.max(0, this.retryTimes);
    return this.nextAttempt(call);
  }

  /** Starts the next attempt; when none is left, ends the send with the last result or error. */
  private nextAttempt<R extends SendResult>(call: SendCall<R, SendOptions>): Promise<R> | R {
    try {
      const { prepared, options } = call;
      const signal = options.signal;
      while (call.attempt < call.attempts) {
        const attempt = call.attempt++;
        if (signal?.aborted) throw abortError(signal, `send to ${prepared.topic}`);
        // One clock reading serves the time budget, the latency start and bornTimestamp.
        const nowMs = Date.now();
        const remainingMs = call.timeoutMs - (nowMs - call.beganMs);
        if (remainingMs <= 0) break;
        const queue = this.pickQueue(call.info!, call.message, options, call.lastBroker);
        call.lastBroker = queue.brokerName;
        const address = this.instance.masterAddress(queue.brokerName);
        if (address === undefined) {
          call.lastError = new ClientStateError('BROKER_NOT_FOUND', `no master address for broker ${queue.brokerName} of topic ${prepared.topic}`);
          void this.instance.route(prepared.topic, true).catch(() => undefined);
          continue;
        }
        const startedMs = nowMs;
        let answer: Promise<RemotingCommand>;
        try {
          answer = this.instance.isClosed
            ? Promise.reject(new ClientStateError('CLIENT_CLOSED', `send to ${prepared.topic}: the client is closed`))
            : this.instance.invokeRaw(address, this.sendRequest(prepared, queue, call.batch, nowMs), remainingMs, signal);
        } catch (error) {
          answer = Promise.reject(error);
        }
        return answer.then(
          (response) => this.attemptAnswered(call, response, queue, address, startedMs),
          (error: unknown) => this.attemptFailed(call, error, queue, address, startedMs, attempt),
        );
      }
      const result = this.gaveUp(call);
      this.endCall(call, result, undefined);
      return result;
    } catch (error) {
      throw this.endCall(call, undefined, error);
    }
  }

  private attemptAnswered<R extends SendResult>(call: SendCall<R, SendOptions>, response: RemotingCommand, queue: MessageQueue, address: string, startedMs: number): Promise<R> | R {
    try {
      // Only the circuit breaker needs the latency.
      const latencyMs = this.faults === undefined ? 0 : Date.now() - startedMs;
      let result: R;
      try {
        result = call.parse(response, queue, address, call.prepared);
      } catch (error) {
        this.faults?.update(queue.brokerName, latencyMs, true);
        const clientError = error as MQClientError;
        if (!clientError.retriable) throw clientError;
        call.lastError = clientError;
        return this.nextAttempt(call);
      }
      this.faults?.update(queue.brokerName, latencyMs, false);
      if (result.status !== 'SEND_OK' && this.retryNotStoreOk && call.attempt < call.attempts) {
        call.lastResult = result;
        return this.nextAttempt(call);
      }
      this.endCall(call, result, undefined);
      return result;
    } catch (error) {
      throw this.endCall(call, undefined, error);
    }
  }

  private attemptFailed<R extends SendResult>(call: SendCall<R, SendOptions>, error: unknown, queue: MessageQueue, address: string, startedMs: number, attempt: number): Promise<R> | R {
    try {
      const clientError = toClientError(error, `send to ${call.prepared.topic} at ${address}`);
      this.faults?.update(queue.brokerName, Date.now() - startedMs, true);
      if (clientError.code === 'ABORTED' || clientError.code === 'CLIENT_CLOSED') throw clientError;
      call.lastError = clientError;
      this.instance.logger.debug({ err: clientError, attempt, broker: queue.brokerName }, 'send attempt failed');
      return this.nextAttempt(call);
    } catch (failure) {
      throw this.endCall(call, undefined, failure);
    }
  }

  /** What a send ends with when no attempt is left: a result not SEND_OK (retryAnotherBrokerWhenNotStoreOk), else the last error. */
  private gaveUp<R extends SendResult>(call: SendCall<R, SendOptions>): R {
    if (call.lastResult !== undefined) return call.lastResult;
    const lastError = call.lastError;
    if (lastError !== undefined) {
      if (call.attempts > 1) lastError.message = `${lastError.message} (after ${call.attempts} attempts)`;
      throw lastError;
    }
    throw new MQClientError('REQUEST_TIMEOUT', `send to ${call.prepared.topic} used up its ${call.timeoutMs} ms before an attempt`);
  }

  /** Marks the send ended (once); a tracked send leaves the in-flight count and is published. Returns `error`. */
  private endCall<R extends SendResult>(call: SendCall<R, SendOptions>, result: R | undefined, error: unknown): unknown {
    if (call.ended) return error;
    call.ended = true;
    if (!call.tracked) return error;
    if (sendChannel.hasSubscribers) {
      const durationMs = Date.now() - call.beganMs;
      if (result !== undefined) sendChannel.publish({ clientId: this.clientId, topic: call.message.topic, queue: result.queue, messages: 1, durationMs, result });
      else sendChannel.publish({ clientId: this.clientId, topic: call.message.topic, messages: 1, durationMs, error });
    }
    this.sendFinished();
    return error;
  }

  private async onewaySlow(message: Message, prepared: PreparedMessage, options: SendOptions, request: RemotingCommand | undefined, queue: MessageQueue | undefined): Promise<void> {
    this.inFlight++;
    try {
      const info = await this.publishInfo(prepared.topic, options.signal);
      const target = queue ?? this.pickQueue(info, message, options, undefined);
      const address = this.instance.masterAddress(target.brokerName);
      if (address === undefined) throw new ClientStateError('BROKER_NOT_FOUND', `no master address for broker ${target.brokerName}`);
      let connection: SocketConnection;
      try {
        connection = await this.instance.connection(address);
      } catch (error) {
        this.faults?.update(target.brokerName, 0, true);
        throw toClientError(error, `oneway send to ${prepared.topic} at ${address}`);
      }
      this.onewayConnections.set(address, connection);
      const frame = request ?? this.sendRequest(prepared, target, false);
      const deadlineMs = Date.now() + this.sendTimeoutMs;
      while (!connection.invokeOneway(frame)) {
        if (connection.closed) throw new MQClientError('CONNECTION_CLOSED', `oneway send to ${prepared.topic}: connection to ${address} closed`);
        if (options.signal?.aborted) throw abortError(options.signal, `oneway send to ${prepared.topic}`);
        if (Date.now() > deadlineMs) throw brokerError(ResponseCode.SYSTEM_BUSY, `outbound buffer to ${address} stayed full for ${this.sendTimeoutMs} ms`, address, `oneway send to ${prepared.topic}`);
        await sleep(ONEWAY_BACKPRESSURE_WAIT_MS, options.signal);
      }
      if (sendChannel.hasSubscribers) sendChannel.publish({ clientId: this.clientId, topic: message.topic, queue: target, messages: 1, durationMs: 0 });
    } finally {
      this.sendFinished();
    }
  }

  private async endTransaction(result: SendResult, state: TransactionState): Promise<void> {
    const address = this.instance.masterAddress(result.queue.brokerName);
    const decoded = decodeOffsetMessageId(result.offsetMsgId);
    if (address === undefined || decoded === null) {
      this.instance.logger.warn({ msgId: result.msgId, offsetMsgId: result.offsetMsgId }, 'cannot end transaction: unknown broker or offset id; the broker will check it');
      return;
    }
    const request = createEndTransactionRequest({
      producerGroup: this.group,
      topic: result.queue.topic,
      tranStateTableOffset: result.queueOffset,
      commitLogOffset: decoded.physicalOffset,
      state,
      fromTransactionCheck: false,
      msgId: result.msgId,
      transactionId: result.transactionId ?? result.msgId,
    });
    try {
      await this.instance.invokeOneway(address, request, 'end transaction');
    } catch (error) {
      // The broker checks open halves itself; a lost END_TRANSACTION only delays the outcome.
      this.instance.logger.warn({ err: error, msgId: result.msgId }, 'END_TRANSACTION not sent; the broker will check the transaction');
    }
  }
}
