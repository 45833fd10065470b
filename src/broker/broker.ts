/**
 * The broker's composition root: opens the store (its arrival listener wakes long-polling pulls), the
 * metadata managers, the schedule service and the request table; listens on listenPort (and on
 * listenPort − 2, the old VIP port, when listenPort ≥ 2); registers with the name servers; and runs the
 * housekeeping (expired clients and locks every 10 s, consumer offsets every 5 s).
 *
 * close() answers held pulls, unregisters from the name servers, stops accepting requests, persists
 * offsets and delay progress, and closes the store (flush + checkpoint + abort marker removed).
 */
import { isIPv4, isIPv6 } from 'node:net';
import { TideError } from '../common/errors.js';
import { createLogger, type Logger } from '../common/logger.js';
import { parseHostAddress } from '../protocol/host-address.js';
import type { RemotingConnection } from '../protocol/remoting-command.js';
import { RemotingClient } from '../remoting/remoting-client.js';
import { RemotingServer } from '../remoting/remoting-server.js';
import { MessageStore, type MessageStoreOptions } from '../store/message-store.js';
import { parseNamesrvAddr, validateBrokerConfig, type BrokerConfig } from './broker-config.js';
import type { BrokerDeps, BrokerRuntime } from './broker-deps.js';
import { ConsumerManager } from './consumer-manager.js';
import { ConsumerOffsetManager } from './consumer-offset-manager.js';
import { createHandlerTable } from './handlers/handler-table.js';
import { PullRequestHoldService } from './long-polling/pull-request-hold-service.js';
import { MessageWriter, recoveredTagsCode } from './message-writer.js';
import { NamesrvRegistrar } from './namesrv-registrar.js';
import { ProducerManager } from './producer-manager.js';
import { QueueLockManager } from './queue-lock-manager.js';
import { parseDelayLevels } from './schedule/delay-levels.js';
import { ScheduleMessageService } from './schedule/schedule-message-service.js';
import { SubscriptionGroupManager } from './subscription-group-manager.js';
import { TopicConfigManager } from './topic-config-manager.js';
import { closeTransactionService, transactionServiceOf } from './transaction/transaction-registry.js';
import { closePopService, notifyPopMessageArriving, popServiceOf } from './pop/index.js';

/** How often expired clients and locks are swept (RocketMQ's ClientHousekeepingService period). */
const HOUSEKEEPING_INTERVAL_MS = 10_000;

export interface BrokerOptions {
  logger?: Logger;
  /** Passed to MessageStore.open (tests inject file I/O faults or a disk-usage source here). */
  storeOptions?: Omit<MessageStoreOptions, 'onMessageArrived' | 'logger' | 'tagsCodeOf'>;
}

export interface BrokerStarted {
  listenPorts: number[];
  brokerAddr: string;
}

export class Broker {
  private readonly logger: Logger;
  private deps: BrokerDeps | null = null;
  private server: RemotingServer | null = null;
  private client: RemotingClient | null = null;
  private registrar: NamesrvRegistrar | null = null;
  private housekeeping: NodeJS.Timeout | null = null;
  private registering: Promise<void> | null = null;
  private registerAgain = false;
  private state: 'new' | 'starting' | 'running' | 'closing' | 'closed' = 'new';

  constructor(readonly config: BrokerConfig, private readonly options: BrokerOptions = {}) {
    validateBrokerConfig(config);
    if (!isIPv4(config.brokerIP1) && !isIPv6(config.brokerIP1)) {
      throw new TideError('INVALID_PARAMETER', `brokerIP1=${JSON.stringify(config.brokerIP1)} must be an IP address: clients decode it from message ids`);
    }
    this.logger = options.logger ?? createLogger({ name: 'broker' });
  }

  /** The collaborators of the running broker (tests and embedding code). */
  get brokerDeps(): BrokerDeps {
    if (!this.deps) throw new Error('the broker is not started');
    return this.deps;
  }

  async start(): Promise<BrokerStarted> {
    if (this.state !== 'new') throw new Error(`cannot start a broker that is ${this.state}`);
    this.state = 'starting';
    const { config, logger } = this;
    const delayLevelsMs = parseDelayLevels(config.messageDelayLevel);
    const topicConfigManager = new TopicConfigManager({ ...config, logger });
    const subscriptionGroupManager = new SubscriptionGroupManager({ ...config, logger });
    const consumerOffsetManager = new ConsumerOffsetManager({ ...config, logger });
    const consumerManager = new ConsumerManager({
      channelExpiredTimeout: config.channelExpiredTimeout, maxConsumersPerGroup: config.maxConsumersPerGroup, maxGroups: config.maxSubscriptionGroupCount, logger,
    });
    const producerManager = new ProducerManager({
      channelExpiredTimeout: config.channelExpiredTimeout, maxProducersPerGroup: config.maxProducersPerGroup, maxGroups: config.maxProducerGroupCount, logger,
    });
    const queueLockManager = new QueueLockManager(config.rebalanceLockMaxLiveTime);
    let storeRef: MessageStore | null = null;
    const pullHoldService = new PullRequestHoldService({
      maxHeldRequests: config.maxHeldPullRequests,
      sweepIntervalMs: config.pullHoldSweepIntervalMs,
      maxOffsetOf: (topic, queueId) => storeRef?.getMaxOffsetInQueue(topic, queueId) ?? 0,
      logger,
    });
    const store = await MessageStore.open(config, {
      ...this.options.storeOptions,
      tagsCodeOf: (record) => recoveredTagsCode(record, delayLevelsMs),
      onMessageArrived: (topic: string, queueId: number, queueOffset: number, tagsCode: number) => {
        pullHoldService.notifyMessageArriving(topic, queueId, queueOffset, tagsCode);
        if (this.deps) notifyPopMessageArriving(this.deps, topic, queueId);
      },
      logger,
    });
    storeRef = store;
    topicConfigManager.restoreFromStore(store.listQueues(), config.defaultTopicQueueNums);
    try {
      const runtime: BrokerRuntime = {
        brokerAddr: `${config.brokerIP1}:${config.listenPort}`,
        storeHost: parseHostAddress(config.brokerIP1, config.listenPort),
        bootTimestampMs: Date.now(),
      };
      const writer = new MessageWriter(store, delayLevelsMs, () => runtime.storeHost);
      const scheduleService = new ScheduleMessageService({ store, writer, storePathRootDir: config.storePathRootDir, tickIntervalMs: config.scheduleTickIntervalMs, brokerConfig: config, logger });
      const deps: BrokerDeps = {
        config, runtime, logger, store, writer, topicConfigManager, subscriptionGroupManager, consumerOffsetManager,
        consumerManager, producerManager, queueLockManager, pullHoldService, scheduleService,
      };
      this.deps = deps;
      const server = new RemotingServer({ handlers: createHandlerTable(deps), logger, maxInFlightRequestsPerConnection: config.maxInFlightRequestsPerConnection });
      this.server = server;
      server.onConnectionClosed((connection: RemotingConnection) => {
        consumerManager.onConnectionClosed(connection);
        producerManager.onConnectionClosed(connection);
        pullHoldService.onConnectionClosed(connection);
      });
      const port = await server.listen(config.listenPort, config.listenHost);
      const listenPorts = [port];
      if (config.listenPort >= 2) {
        try {
          listenPorts.push(await server.listen(config.listenPort - 2, config.listenHost));
        } catch (error) {
          logger.warn({ err: error, port: config.listenPort - 2 }, 'could not listen on the VIP port (listenPort - 2); clients with vipChannelEnabled will fail');
        }
      }
      runtime.brokerAddr = `${config.brokerIP1.includes(':') ? `[${config.brokerIP1}]` : config.brokerIP1}:${port}`;
      runtime.storeHost = parseHostAddress(config.brokerIP1, port);

      pullHoldService.start();
      consumerOffsetManager.start();
      scheduleService.start();
      popServiceOf(deps).start();
      transactionServiceOf(deps).start();
      this.housekeeping = setInterval(() => {
        consumerManager.scanExpired();
        producerManager.scanExpired();
        queueLockManager.removeExpired();
      }, HOUSEKEEPING_INTERVAL_MS);
      this.housekeeping.unref();
      await this.startRegistrar(deps, port);
      this.state = 'running';
      logger.info({ brokerName: config.brokerName, brokerAddr: runtime.brokerAddr, listenPorts }, 'broker started');
      return { listenPorts, brokerAddr: runtime.brokerAddr };
    } catch (error) {
      await this.shutdown().catch((closeError: unknown) => logger.error({ err: closeError }, 'cleanup after a failed start failed'));
      this.state = 'closed';
      throw error;
    }
  }

  async close(): Promise<void> {
    if (this.state === 'closed' || this.state === 'closing' || this.state === 'new') return;
    this.state = 'closing';
    try {
      await this.shutdown();
    } finally {
      this.state = 'closed';
    }
  }

  private async startRegistrar(deps: BrokerDeps, port: number): Promise<void> {
    const { config } = this;
    if (parseNamesrvAddr(config.namesrvAddr).length === 0) return;
    this.client = new RemotingClient({ requestTimeoutMs: 3000 });
    this.registrar = new NamesrvRegistrar({
      client: this.client,
      namesrvAddresses: () => parseNamesrvAddr(config.namesrvAddr),
      brokerIdentity: {
        clusterName: config.brokerClusterName,
        brokerName: config.brokerName,
        brokerId: config.brokerId,
        brokerAddr: deps.runtime.brokerAddr,
        haServerAddr: `${config.brokerIP1}:${port + 1}`,
      },
      topicConfigs: () => deps.topicConfigManager.all(),
      intervalMs: config.registerNameServerPeriod,
      logger: this.logger,
    });
    // New topics are announced at once, not only at the next periodic registration.
    deps.topicConfigManager.onChange(() => this.registerSoon());
    try {
      await this.registrar.start();
    } catch (error) {
      this.logger.warn({ err: error }, 'first registration with the name servers failed; retrying every registerNameServerPeriod');
    }
  }

  /** Re-registers now; changes during a registration cause exactly one more. */
  private registerSoon(): void {
    const registrar = this.registrar;
    if (!registrar || this.state === 'closing' || this.state === 'closed') return;
    if (this.registering) {
      this.registerAgain = true;
      return;
    }
    this.registering = registrar.registerNow()
      .then(() => undefined, (error: unknown) => this.logger.warn({ err: error }, 'registration with the name servers failed'))
      .finally(() => {
        this.registering = null;
        if (this.registerAgain) {
          this.registerAgain = false;
          this.registerSoon();
        }
      });
  }

  private async shutdown(): Promise<void> {
    const deps = this.deps;
    if (this.housekeeping) clearInterval(this.housekeeping);
    this.housekeeping = null;
    deps?.pullHoldService.stop();
    if (this.registrar) {
      this.registrar.stop();
      await this.registering;
      await this.registrar.unregister().catch((error: unknown) => this.logger.warn({ err: error }, 'unregistering from the name servers failed'));
      this.registrar = null;
    }
    if (this.server) {
      await this.server.close();
      this.server = null;
    }
    if (this.client) {
      await this.client.close();
      this.client = null;
    }
    if (deps) {
      await deps.scheduleService.close();
      await closePopService(deps);
      await closeTransactionService(deps);
      await deps.consumerOffsetManager.close();
      await Promise.all([deps.topicConfigManager.persist(), deps.subscriptionGroupManager.persist()]);
      await deps.store.close();
    }
  }
}
