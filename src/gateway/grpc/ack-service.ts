/**
 * AckMessage, ChangeInvisibleDuration and ForwardMessageToDeadLetterQueue: what a consumer does with a
 * message it received. Each takes the receipt handle the gateway issued (receipt-handle.ts), swaps in
 * the newest POP handle when the gateway has been renewing it (receipt-renewer.ts), and hands it to
 * the PopService. A handle that is malformed, expired, already acked or from another life of the
 * broker is answered INVALID_RECEIPT_HANDLE — per entry for acks, with the response status saying OK,
 * that code, or MULTIPLE_RESULTS.
 */
import { Code, OK_STATUS, status } from './code.js';
import { forwardToDeadLetterQueue } from './dead-letter.js';
import type { GatewayContext } from './gateway-context.js';
import { toMillis, type AckMessageRequestPb, type ChangeInvisibleDurationRequestPb, type ForwardMessageToDeadLetterQueueRequestPb, type StatusPb } from './proto-types.js';
import { decodeReceiptHandle, encodeReceiptHandle, type GatewayReceipt } from './receipt-handle.js';
import type { CallContext } from './request-context.js';
import { combinedStatus } from './send-service.js';
import { validateGroup, validateInvisibleTime, validateTopic } from './validators.js';

/** Most entries in one AckMessage request. */
const MAX_ACK_ENTRIES = 1024;

/** The client's handle decoded, with the POP handle replaced by the newest renewal. */
function resolveReceipt(context: GatewayContext, group: string, clientHandle: string): GatewayReceipt {
  const receipt = decodeReceiptHandle(clientHandle);
  const renewed = context.renewer.untrack(group, clientHandle);
  return renewed === undefined ? receipt : { ...receipt, popHandle: renewed };
}

export interface AckResultEntryPb {
  message_id: string;
  receipt_handle: string;
  status: StatusPb;
}

export function ackMessage(context: GatewayContext, request: AckMessageRequestPb, statusOf: (error: unknown) => StatusPb): { status: StatusPb; entries: AckResultEntryPb[] } {
  const group = validateGroup(request.group);
  const topic = validateTopic(request.topic, context.deps.topicConfigManager);
  const requested = request.entries ?? [];
  if (requested.length === 0) return { status: status(Code.BAD_REQUEST, 'no entry to ack'), entries: [] };
  if (requested.length > MAX_ACK_ENTRIES) return { status: status(Code.BAD_REQUEST, `at most ${MAX_ACK_ENTRIES} entries per ack`), entries: [] };
  const entries = requested.map((entry) => {
    let entryStatus: StatusPb;
    try {
      const receipt = resolveReceipt(context, group, entry.receipt_handle);
      const result = context.pop.ack(group, topic, receipt.popHandle);
      entryStatus = result === 'OK' ? OK_STATUS : status(Code.INVALID_RECEIPT_HANDLE, 'the receipt handle is expired or was already used');
    } catch (error) {
      entryStatus = statusOf(error);
    }
    return { message_id: entry.message_id, receipt_handle: entry.receipt_handle, status: entryStatus };
  });
  return { status: combinedStatus(entries.map((entry) => entry.status)), entries };
}

export function changeInvisibleDuration(context: GatewayContext, request: ChangeInvisibleDurationRequestPb): { status: StatusPb; receipt_handle: string } {
  const group = validateGroup(request.group);
  const topic = validateTopic(request.topic, context.deps.topicConfigManager);
  const invisibleTimeMs = toMillis(request.invisible_duration);
  validateInvisibleTime(invisibleTimeMs, 0, context.settings.maxInvisibleTimeMs);
  const receipt = resolveReceipt(context, group, request.receipt_handle);
  const result = context.pop.changeInvisibleTime(group, topic, receipt.popHandle, Math.max(invisibleTimeMs, context.settings.popMinInvisibleTimeMs));
  if (result.status !== 'OK' || result.receiptHandle === undefined) {
    return { status: status(Code.INVALID_RECEIPT_HANDLE, 'the receipt handle is expired or was already used'), receipt_handle: '' };
  }
  return { status: OK_STATUS, receipt_handle: encodeReceiptHandle({ commitLogOffset: receipt.commitLogOffset, popHandle: result.receiptHandle }) };
}

export async function forwardMessageToDeadLetterQueue(context: GatewayContext, call: CallContext, request: ForwardMessageToDeadLetterQueueRequestPb): Promise<{ status: StatusPb }> {
  const group = validateGroup(request.group);
  const topic = validateTopic(request.topic, context.deps.topicConfigManager);
  const receipt = resolveReceipt(context, group, request.receipt_handle);
  const result = await forwardToDeadLetterQueue(context, {
    group,
    topic,
    commitLogOffset: receipt.commitLogOffset,
    popHandle: receipt.popHandle,
    messageId: request.message_id,
    clientId: call.clientId,
  });
  return { status: result };
}
