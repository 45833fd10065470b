/**
 * A stored message turned into the `Message` a gRPC consumer gets (the proxy's GrpcConverter): user
 * properties = every property that is not reserved; tag, keys, message_id (UNIQ_KEY, else the
 * offsetMsgId), message type from the properties, born/store time and host, delivery_timestamp from
 * TIMER_DELIVER_MS, message_group from __SHARDINGKEY, queue id/offset, delivery_attempt =
 * reconsumeTimes + 1, the DLQ origin, and the body with an MD5 digest in uppercase hex (the Node client
 * marks a message whose digest does not match as corrupted).
 *
 * Compressed bodies: a gzip body (what a gRPC producer sent with GZIP) goes out as is with encoding
 * GZIP. A zlib body (what Java remoting producers store with the COMPRESSED flag) would break gRPC
 * clients, which only know gzip, so it is inflated here (bounded) and sent with encoding IDENTITY.
 * Bodies in other formats (LZ4, ZSTD) go out untouched.
 */
import { createHash } from 'node:crypto';
import { inflateSync } from 'node:zlib';
import { hostAddressToString } from '../../protocol/host-address.js';
import { createOffsetMessageId } from '../../protocol/message-id.js';
import { decodeProperties, MessageProperty } from '../../protocol/message-properties.js';
import { SysFlag, type DecodedRecord } from '../../protocol/message-record.js';
import { DigestType, Encoding, fromMillis, MessageType, type OutgoingMessagePb, type SystemPropertiesPb } from './proto-types.js';
import { GatewayProperty, messageTypeOfProperties, RESERVED_PROPERTY_KEYS, TopicMessageType } from './reserved-properties.js';

/** Compression-type bits of sysFlag (5.x): 0 with COMPRESSED = zlib (4.x), 0x100 LZ4, 0x200 ZSTD, 0x300 ZLIB. */
const COMPRESSION_TYPE_MASK = 0x700;
const COMPRESSION_ZLIB = 0x300;

export interface DeliveryInput {
  record: DecodedRecord;
  /** The topic the consumer asked for (retry copies are mapped back to it). */
  topic: string;
  queueId: number;
  queueOffset: number;
  reconsumeTimes: number;
  receiptHandle?: string | undefined;
}

export interface OutboundOptions {
  /** Most bytes a zlib body may inflate to; larger ones are delivered compressed. */
  maxInflatedBodyBytes: number;
}

const TYPE_TO_PROTO: Record<string, number> = {
  [TopicMessageType.TRANSACTION]: MessageType.TRANSACTION,
  [TopicMessageType.DELAY]: MessageType.DELAY,
  [TopicMessageType.FIFO]: MessageType.FIFO,
  [TopicMessageType.NORMAL]: MessageType.NORMAL,
};

export function md5Hex(body: Uint8Array): string {
  return createHash('md5').update(body).digest('hex').toUpperCase();
}

function isGzip(body: Buffer): boolean {
  return body.length >= 2 && body[0] === 0x1f && body[1] === 0x8b;
}

function deliveredBody(record: DecodedRecord, options: OutboundOptions): { body: Buffer; encoding: number } {
  const body = Buffer.from(record.body);
  if ((record.sysFlag & SysFlag.COMPRESSED) === 0) return { body, encoding: Encoding.IDENTITY };
  if (isGzip(body)) return { body, encoding: Encoding.GZIP };
  const type = record.sysFlag & COMPRESSION_TYPE_MASK;
  if (type === 0 || type === COMPRESSION_ZLIB) {
    try {
      return { body: inflateSync(body, { maxOutputLength: options.maxInflatedBodyBytes }), encoding: Encoding.IDENTITY };
    } catch {
      return { body, encoding: Encoding.IDENTITY };
    }
  }
  return { body, encoding: Encoding.IDENTITY };
}

export function toMessagePb(input: DeliveryInput, options: OutboundOptions): OutgoingMessagePb {
  const { record } = input;
  const properties = decodeProperties(record.properties);
  const userProperties: Record<string, string> = {};
  for (const [key, value] of properties) {
    if (!RESERVED_PROPERTY_KEYS.has(key)) userProperties[key] = value;
  }
  const { body, encoding } = deliveredBody(record, options);
  const storeHost = { ip: Buffer.from(record.storeHost.ip), port: record.storeHost.port };
  const system: Partial<SystemPropertiesPb> = {
    keys: (properties.get(MessageProperty.KEYS) ?? '').split(' ').filter((key) => key.length > 0),
    message_id: properties.get(MessageProperty.UNIQ_KEY) || createOffsetMessageId(storeHost, record.physicalOffset),
    body_digest: { type: DigestType.MD5, checksum: md5Hex(body) },
    body_encoding: encoding,
    message_type: TYPE_TO_PROTO[messageTypeOfProperties(properties)] ?? MessageType.NORMAL,
    born_timestamp: fromMillis(record.bornTimestamp),
    born_host: properties.get(GatewayProperty.BORN_HOST) || hostAddressToString({ ip: Buffer.from(record.bornHost.ip), port: record.bornHost.port }),
    store_timestamp: fromMillis(record.storeTimestamp),
    store_host: hostAddressToString(storeHost),
    queue_id: input.queueId,
    queue_offset: input.queueOffset,
    delivery_attempt: input.reconsumeTimes + 1,
  };
  const tag = properties.get(MessageProperty.TAGS);
  if (tag !== undefined) system.tag = tag;
  const deliverAt = Number(properties.get(MessageProperty.TIMER_DELIVER_MS));
  if (properties.has(MessageProperty.TIMER_DELIVER_MS) && Number.isSafeInteger(deliverAt)) system.delivery_timestamp = fromMillis(deliverAt);
  const group = properties.get(MessageProperty.SHARDING_KEY);
  if (group !== undefined) system.message_group = group;
  const traceContext = properties.get(GatewayProperty.TRACE_CONTEXT);
  if (traceContext !== undefined) system.trace_context = traceContext;
  if (input.receiptHandle !== undefined) system.receipt_handle = input.receiptHandle;
  const dlqTopic = properties.get(MessageProperty.DLQ_ORIGIN_TOPIC);
  const dlqMessageId = properties.get(MessageProperty.DLQ_ORIGIN_MESSAGE_ID);
  if (dlqTopic !== undefined && dlqMessageId !== undefined) system.dead_letter_queue = { topic: dlqTopic, message_id: dlqMessageId };
  return { topic: { name: input.topic }, user_properties: userProperties, system_properties: system, body };
}
