/**
 * The collaborators request handlers get (admin handlers included): managers, the store, the settings
 * and the broker's runtime identity. Handlers receive this bag, never the Broker itself.
 */
import type { Logger } from '../common/logger.js';
import type { HostAddress } from '../protocol/host-address.js';
import type { MessageStoreApi } from '../store/types.js';
import type { BrokerConfig } from './broker-config.js';
import type { ConsumerManager } from './consumer-manager.js';
import type { ConsumerOffsetManager } from './consumer-offset-manager.js';
import type { PullRequestHoldService } from './long-polling/pull-request-hold-service.js';
import type { MessageWriter } from './message-writer.js';
import type { ProducerManager } from './producer-manager.js';
import type { QueueLockManager } from './queue-lock-manager.js';
import type { ScheduleMessageService } from './schedule/schedule-message-service.js';
import type { SubscriptionGroupManager } from './subscription-group-manager.js';
import type { TopicConfigManager } from './topic-config-manager.js';

/** Facts about the running broker that are known only once it listens. */
export interface BrokerRuntime {
  /** `brokerIP1:port` advertised to clients and name servers. */
  brokerAddr: string;
  /** The same address as record bytes (STOREHOST and offsetMsgId). */
  storeHost: HostAddress;
  bootTimestampMs: number;
}

export interface BrokerDeps {
  /** Live settings; UPDATE_BROKER_CONFIG may change fields that are safe to change at run time. */
  readonly config: BrokerConfig;
  readonly runtime: BrokerRuntime;
  readonly logger: Logger;
  readonly store: MessageStoreApi;
  readonly writer: MessageWriter;
  readonly topicConfigManager: TopicConfigManager;
  readonly subscriptionGroupManager: SubscriptionGroupManager;
  readonly consumerOffsetManager: ConsumerOffsetManager;
  readonly consumerManager: ConsumerManager;
  readonly producerManager: ProducerManager;
  readonly queueLockManager: QueueLockManager;
  readonly pullHoldService: PullRequestHoldService;
  readonly scheduleService: ScheduleMessageService;
}
