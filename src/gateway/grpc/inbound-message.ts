/**
 * A message a gRPC producer sends, turned into what the broker stores, the way the RocketMQ proxy maps
 * it: user properties as they are (reserved keys refused), tag → TAGS, keys → KEYS (space-separated),
 * message_id → UNIQ_KEY, message_group → __SHARDINGKEY, TRANSACTION → TRAN_MSG (+ the orphan recovery
 * time as CHECK_IMMUNITY_TIME_IN_SECONDS), delivery_timestamp → TIMER_DELIVER_MS, trace_context →
 * TRACE_CONTEXT, born host/time → __BORNHOST/BORN_TIMESTAMP, PGROUP = the topic (gRPC producers have
 * no group; the proxy uses the topic), GZIP → the COMPRESSED sysFlag.
 *
 * Delivery times: while the broker has no timer for arbitrary times (`delayMode: 'level'`, the proxy's
 * `useDelayLevel`), the time is also turned into the smallest 4.x delay level that is not shorter than
 * the wait, so the message is never delivered early; a time beyond the longest level or beyond
 * `maxDelayMs` is refused with ILLEGAL_DELIVERY_TIME, a time already past is delivered at once.
 */
import { SysFlag } from '../../protocol/message-record.js';
import { MessageProperty, type MessageProperties } from '../../protocol/message-properties.js';
import { Code, StatusError } from './code.js';
import { Encoding, MessageType, toMillis, type MessagePb } from './proto-types.js';
import { GatewayProperty, RESERVED_PROPERTY_KEYS } from './reserved-properties.js';
import { hasControlCharacter, validateKey, validateMessageGroup, validateTag } from './validators.js';

export type DelayPolicy =
  | { mode: 'level'; /** Delay of each level in ms (index 0 = level 1). */ levelsMs: readonly number[] }
  | { mode: 'timer' };

export interface InboundLimits {
  maxBodyBytes: number;
  /** Total UTF-8 bytes of user property keys and values, tag and keys (proxy maxUserPropertySize). */
  maxUserPropertyBytes: number;
  maxUserProperties: number;
  maxMessageGroupBytes: number;
  /** Longest wait a delivery time may ask for. */
  maxDelayMs: number;
  maxTransactionRecoverySeconds: number;
}

export const DEFAULT_INBOUND_LIMITS: InboundLimits = {
  maxBodyBytes: 4 * 1024 * 1024,
  maxUserPropertyBytes: 16 * 1024,
  maxUserProperties: 128,
  maxMessageGroupBytes: 64,
  maxDelayMs: 24 * 60 * 60 * 1000,
  maxTransactionRecoverySeconds: 60 * 60,
};

export interface InboundMessage {
  messageId: string;
  /** The type the client declared (proto MessageType). */
  declaredType: number;
  messageGroup: string | undefined;
  properties: MessageProperties;
  body: Buffer;
  sysFlag: number;
  bornTimestamp: number;
  reconsumeTimes: number;
}

export interface InboundContext {
  topic: string;
  /** `ip:port` of the producer, used when the message carries no born host. */
  peer: string;
  nowMs: number;
  delay: DelayPolicy;
  limits: InboundLimits;
}

function putUserProperties(message: MessagePb, properties: MessageProperties, limits: InboundLimits): number {
  const entries = Object.entries(message.user_properties ?? {});
  if (entries.length > limits.maxUserProperties) {
    throw new StatusError(Code.MESSAGE_PROPERTIES_TOO_LARGE, `too many user properties, max is ${limits.maxUserProperties}`);
  }
  let bytes = 0;
  for (const [key, value] of entries) {
    if (RESERVED_PROPERTY_KEYS.has(key)) throw new StatusError(Code.ILLEGAL_MESSAGE_PROPERTY_KEY, `property is used by system: ${key}`);
    if (key.length === 0) throw new StatusError(Code.ILLEGAL_MESSAGE_PROPERTY_KEY, 'the key of property cannot be empty');
    if (hasControlCharacter(key)) throw new StatusError(Code.ILLEGAL_MESSAGE_PROPERTY_KEY, 'the key of property cannot contain control character');
    if (hasControlCharacter(value)) throw new StatusError(Code.ILLEGAL_MESSAGE_PROPERTY_KEY, 'the value of property cannot contain control character');
    bytes += Buffer.byteLength(key, 'utf8') + Buffer.byteLength(value, 'utf8');
    properties.set(key, value);
  }
  return bytes;
}

/** The smallest level whose delay is at least `waitMs`; undefined when no level is long enough. */
export function delayLevelFor(waitMs: number, levelsMs: readonly number[]): number | undefined {
  let best: number | undefined;
  for (let index = 0; index < levelsMs.length; index++) {
    const delay = levelsMs[index]!;
    if (delay >= waitMs && (best === undefined || delay < levelsMs[best - 1]!)) best = index + 1;
  }
  return best;
}

function putDeliveryTime(message: MessagePb, properties: MessageProperties, context: InboundContext): void {
  const timestamp = message.system_properties?.delivery_timestamp;
  if (timestamp === undefined || timestamp === null) return;
  const deliverAtMs = toMillis(timestamp);
  const waitMs = deliverAtMs - context.nowMs;
  if (!Number.isFinite(deliverAtMs) || waitMs > context.limits.maxDelayMs) {
    throw new StatusError(Code.ILLEGAL_DELIVERY_TIME, `the max delay time of message is too large, max is ${context.limits.maxDelayMs}`);
  }
  properties.set(MessageProperty.TIMER_DELIVER_MS, String(deliverAtMs));
  if (context.delay.mode !== 'level' || waitMs <= 0) return;
  const level = delayLevelFor(waitMs, context.delay.levelsMs);
  if (level === undefined) {
    const longest = Math.max(...context.delay.levelsMs);
    throw new StatusError(Code.ILLEGAL_DELIVERY_TIME, `the delivery time is ${waitMs} ms away; this broker delays messages by its delay levels only, up to ${longest} ms`);
  }
  properties.set(MessageProperty.DELAY, String(level));
}

function putTransaction(message: MessagePb, properties: MessageProperties, limits: InboundLimits): void {
  properties.set(MessageProperty.TRAN_MSG, 'true');
  const recovery = message.system_properties?.orphaned_transaction_recovery_duration;
  if (recovery === undefined || recovery === null) return;
  const seconds = Math.floor(toMillis(recovery) / 1000);
  if (seconds > limits.maxTransactionRecoverySeconds) {
    throw new StatusError(Code.BAD_REQUEST, `the max transaction recovery time of message is too large, max is ${limits.maxTransactionRecoverySeconds}`);
  }
  properties.set(MessageProperty.CHECK_IMMUNITY_TIME_IN_SECONDS, String(seconds));
}

/** Checks and converts one message; throws StatusError with the code the clients expect. */
export function convertInboundMessage(message: MessagePb, context: InboundContext): InboundMessage {
  const { limits } = context;
  const system = message.system_properties;
  if (system === null || system === undefined) throw new StatusError(Code.BAD_REQUEST, 'message has no system properties');
  const body = message.body ?? Buffer.alloc(0);
  if (body.length === 0) throw new StatusError(Code.MESSAGE_BODY_EMPTY, 'message body cannot be empty');
  if (body.length > limits.maxBodyBytes) throw new StatusError(Code.MESSAGE_BODY_TOO_LARGE, `message body cannot exceed the max ${limits.maxBodyBytes}`);

  const properties: MessageProperties = new Map();
  let userBytes = putUserProperties(message, properties, limits);
  const tag = system.tag ?? '';
  validateTag(tag);
  if (tag.length > 0) properties.set(MessageProperty.TAGS, tag);
  userBytes += Buffer.byteLength(tag, 'utf8');
  const keys = (system.keys ?? []).filter((key) => key.length > 0);
  for (const key of keys) {
    validateKey(key);
    userBytes += Buffer.byteLength(key, 'utf8');
  }
  if (keys.length > 0) properties.set(MessageProperty.KEYS, keys.join(' '));
  if (userBytes > limits.maxUserPropertyBytes) {
    throw new StatusError(Code.MESSAGE_PROPERTIES_TOO_LARGE, `the total size of user property is too large, max is ${limits.maxUserPropertyBytes}`);
  }

  const messageId = system.message_id ?? '';
  if (messageId.trim().length === 0) throw new StatusError(Code.ILLEGAL_MESSAGE_ID, 'message id cannot be empty');
  if (hasControlCharacter(messageId) || messageId.length > 128) throw new StatusError(Code.ILLEGAL_MESSAGE_ID, 'message id is malformed');
  properties.set(MessageProperty.UNIQ_KEY, messageId);

  let sysFlag = 0;
  if (system.message_type === MessageType.TRANSACTION) {
    putTransaction(message, properties, limits);
    sysFlag |= SysFlag.TRANSACTION_PREPARED;
  }
  putDeliveryTime(message, properties, context);

  const reconsumeTimes = system.delivery_attempt !== undefined && system.delivery_attempt > 0 ? system.delivery_attempt : 0;
  if (reconsumeTimes > 0) properties.set(MessageProperty.RECONSUME_TIME, String(reconsumeTimes));
  properties.set(GatewayProperty.PRODUCER_GROUP, context.topic);
  const messageGroup = system.message_group !== undefined && system.message_group.length > 0 ? system.message_group : undefined;
  if (messageGroup !== undefined) {
    validateMessageGroup(messageGroup, limits.maxMessageGroupBytes);
    properties.set(MessageProperty.SHARDING_KEY, messageGroup);
  }
  if (system.trace_context !== undefined && system.trace_context.length > 0 && !hasControlCharacter(system.trace_context)) {
    properties.set(GatewayProperty.TRACE_CONTEXT, system.trace_context);
  }
  const bornHost = system.born_host && system.born_host.trim().length > 0 && !hasControlCharacter(system.born_host) ? system.born_host : context.peer;
  properties.set(GatewayProperty.BORN_HOST, bornHost);
  const bornTimestamp = system.born_timestamp ? toMillis(system.born_timestamp) : 0;
  const validBornTimestamp = Number.isSafeInteger(bornTimestamp) && bornTimestamp > 0 ? bornTimestamp : context.nowMs;
  if (validBornTimestamp === bornTimestamp) properties.set(GatewayProperty.BORN_TIMESTAMP, String(bornTimestamp));
  if (system.body_encoding === Encoding.GZIP) sysFlag |= SysFlag.COMPRESSED;

  return {
    messageId,
    declaredType: system.message_type,
    messageGroup,
    properties,
    body,
    sysFlag,
    bornTimestamp: validBornTimestamp,
    reconsumeTimes,
  };
}
