/**
 * QueryRoute and QueryAssignment. This broker is the only one behind the gateway and the gateway is its
 * only gRPC address, so routes list this broker's queues with the gateway's endpoints, split by
 * permission the way the proxy does (read-only queues first, then write-only, then read-write), each
 * with the message types the topic accepts (attribute `message.type`: NORMAL by default, MIXED = all
 * four). Assignments give consumers the whole broker as one queue (id −1: the server pops across all
 * queues), or each readable queue when the group consumes in FIFO order.
 */
import type { TopicConfig } from '../../protocol/route-data.js';
import { isReadable, isWriteable } from '../../protocol/route-data.js';
import { Code, OK_STATUS, status, StatusError } from './code.js';
import { gatewayEndpoints, type GatewayContext } from './gateway-context.js';
import { MessageType, Permission, type BrokerPb, type MessageQueuePb, type QueryAssignmentRequestPb, type QueryRouteRequestPb, type Resource, type StatusPb } from './proto-types.js';
import { topicMessageTypeOf, TopicMessageType } from './reserved-properties.js';
import { validateGroup, validateTopic } from './validators.js';

export function acceptedMessageTypes(config: TopicConfig): number[] {
  switch (topicMessageTypeOf(config.attributes)) {
    case TopicMessageType.NORMAL: return [MessageType.NORMAL];
    case TopicMessageType.FIFO: return [MessageType.FIFO];
    case TopicMessageType.DELAY: return [MessageType.DELAY];
    case TopicMessageType.TRANSACTION: return [MessageType.TRANSACTION];
    case TopicMessageType.MIXED: return [MessageType.NORMAL, MessageType.FIFO, MessageType.DELAY, MessageType.TRANSACTION];
    default: return [MessageType.UNSPECIFIED];
  }
}

export function permissionOf(perm: number): number {
  const read = isReadable(perm);
  const write = isWriteable(perm);
  if (read && write) return Permission.READ_WRITE;
  if (read) return Permission.READ;
  if (write) return Permission.WRITE;
  return Permission.NONE;
}

/** The topic's config; TOPIC_NOT_FOUND when the broker does not have it. */
export function requireTopic(context: GatewayContext, topic: string): TopicConfig {
  const config = context.deps.topicConfigManager.get(topic);
  if (!config) throw new StatusError(Code.TOPIC_NOT_FOUND, `topic ${topic} does not exist`);
  return config;
}

/** The topic's effective permission: the broker's permission bits limit the topic's. */
function effectivePerm(context: GatewayContext, config: TopicConfig): number {
  return config.perm & context.deps.config.brokerPermission;
}

export function queryRoute(context: GatewayContext, request: QueryRouteRequestPb): { status: StatusPb; message_queues: MessageQueuePb[] } {
  const topic = validateTopic(request.topic, context.deps.topicConfigManager);
  const config = requireTopic(context, topic);
  const broker: BrokerPb = { name: context.deps.config.brokerName, id: 0, endpoints: gatewayEndpoints(context.settings, request.endpoints) };
  const perm = effectivePerm(context, config);
  const read = isReadable(perm);
  const write = isWriteable(perm);
  let readOnly = 0;
  let writeOnly = 0;
  let readWrite = 0;
  let none = 0;
  if (read && write) {
    readWrite = Math.min(config.writeQueueNums, config.readQueueNums);
    readOnly = config.readQueueNums - readWrite;
    writeOnly = config.writeQueueNums - readWrite;
  } else if (write) {
    writeOnly = config.writeQueueNums;
  } else if (read) {
    readOnly = config.readQueueNums;
  } else {
    none = Math.max(1, config.writeQueueNums, config.readQueueNums);
  }
  const resource: Resource = { resource_namespace: request.topic?.resource_namespace ?? '', name: topic };
  const accept = acceptedMessageTypes(config);
  const queues: MessageQueuePb[] = [];
  let queueId = 0;
  const add = (count: number, permission: number): void => {
    for (let index = 0; index < count; index++) {
      queues.push({ topic: resource, id: queueId++, permission, broker, accept_message_types: accept });
    }
  };
  add(readOnly, Permission.READ);
  add(writeOnly, Permission.WRITE);
  add(readWrite, Permission.READ_WRITE);
  add(none, Permission.NONE);
  return { status: OK_STATUS, message_queues: queues };
}

export function queryAssignment(context: GatewayContext, request: QueryAssignmentRequestPb): { status: StatusPb; assignments: Array<{ message_queue: MessageQueuePb }> } {
  const topic = validateTopic(request.topic, context.deps.topicConfigManager);
  const group = validateGroup(request.group);
  const config = requireTopic(context, topic);
  const perm = effectivePerm(context, config);
  if (!isReadable(perm) || config.readQueueNums <= 0) return { status: status(Code.FORBIDDEN, 'no readable queue'), assignments: [] };
  const fifo = context.deps.subscriptionGroupManager.get(group)?.consumeMessageOrderly === true;
  const broker: BrokerPb = { name: context.deps.config.brokerName, id: 0, endpoints: gatewayEndpoints(context.settings, request.endpoints) };
  const resource: Resource = { resource_namespace: request.topic?.resource_namespace ?? '', name: topic };
  const permission = permissionOf(perm);
  const ids = fifo ? Array.from({ length: config.readQueueNums }, (_, index) => index) : [-1];
  return {
    status: OK_STATUS,
    assignments: ids.map((id) => ({ message_queue: { topic: resource, id, permission, broker, accept_message_types: [] } })),
  };
}
