/**
 * `tidemq/client`: the TypeScript SDK for TideMQ and any RocketMQ 4.x/5.x broker speaking the
 * remoting protocol. Producer, PushConsumer, PullConsumer and Admin; errors as one class tree;
 * `node:diagnostics_channel` events under `tidemq:client:*`. See docs/client.md.
 */
export { Producer, type ProducerOptions, type SendOptions, type QueueSelector, type TransactionSendResult, type LocalTransaction } from './producer.js';
export { PushConsumer, type PushConsumerOptions, type MessageHandler } from './push-consumer.js';
export { PullConsumer, type PullConsumerOptions, type PollOptions } from './pull-consumer.js';
export {
  Admin,
  type AdminOptions,
  type TopicOptions,
  type GroupConfig,
  type QueueStats,
  type QueueConsumeStats,
  type ConsumeStats,
  type ConsumerConnection,
  type DlqResent,
  type DlqSelection,
} from './admin.js';
export { ReceivedMessage, SendStatus, type Message, type SendResult, type BatchSendResult } from './message.js';
export type { MessageQueue } from './message-queue.js';
export { TransactionState, type TransactionChecker } from './transaction.js';
export type { ClientOptions, ClientLogger } from './client-options.js';
export type { ConsumeFromWhere, MessageModel, ExpressionType } from './subscription.js';
export {
  allocateAveragely,
  allocateSticky,
  allocateNearbyZone,
  AllocateStrategyName,
  type AllocateStrategy,
  type AllocateContext,
} from './allocate-strategies.js';
export type { FaultToleranceOptions } from './latency-fault-tolerance.js';
export {
  MQClientError,
  BrokerError,
  RequestTimeoutError,
  ConnectionError,
  AbortError,
  ClientStateError,
  CLIENT_ERROR_SPECS,
  type ClientErrorCode,
} from './client-errors.js';
export { DiagnosticsChannelName } from './diagnostics.js';
export type { ClusterInfo, TopicRouteData, BrokerData, QueueData } from '../protocol/route-data.js';
