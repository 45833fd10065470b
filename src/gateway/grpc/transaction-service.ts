/**
 * Transactions over gRPC, mapped onto the broker's own transaction handling:
 * - EndTransaction → the broker's END_TRANSACTION (commit 8 / rollback 12, fromTransactionCheck for
 *   answers to a check-back), with the half message's offsets taken from the transaction id
 *   (transaction-id.ts). Without an END_TRANSACTION handler in the broker the answer is NOT_IMPLEMENTED.
 * - Check-back: the broker asks a producer of the group (PGROUP = the topic for gRPC producers) with
 *   CHECK_TRANSACTION_STATE on the producer's connection; for a gRPC producer that connection is its
 *   GrpcClientChannel, which pushes a RecoverOrphanedTransactionCommand{message, transaction_id} on the
 *   producer's Telemetry stream. The producer's checker answers with EndTransaction(SERVER_CHECK).
 */
import { ResponseCode } from '../../common/errors.js';
import { getProperty, MessageProperty } from '../../protocol/message-properties.js';
import { decodeRecord, SysFlag } from '../../protocol/message-record.js';
import type { RemotingCommand } from '../../protocol/remoting-command.js';
import { RequestCode } from '../../protocol/request-code.js';
import { GrpcClientChannel, type BrokerRequestTranslator } from './client-channel.js';
import { Code, codeOfResponse, OK_STATUS, status, StatusError } from './code.js';
import type { GatewayContext } from './gateway-context.js';
import { toMessagePb } from './outbound-message.js';
import { TransactionResolution, TransactionSource, type EndTransactionRequestPb, type StatusPb } from './proto-types.js';
import type { CallContext } from './request-context.js';
import { decodeTransactionId, encodeTransactionId } from './transaction-id.js';
import { validateTopic } from './validators.js';

export async function endTransaction(context: GatewayContext, call: CallContext, request: EndTransactionRequestPb): Promise<{ status: StatusPb }> {
  const topic = validateTopic(request.topic, context.deps.topicConfigManager);
  if (!context.broker.has(RequestCode.END_TRANSACTION)) {
    throw new StatusError(Code.NOT_IMPLEMENTED, 'transactions are not supported by this broker yet (it has no END_TRANSACTION handler)');
  }
  const transaction = decodeTransactionId(request.transaction_id);
  let commitOrRollback: number;
  if (request.resolution === TransactionResolution.COMMIT) commitOrRollback = SysFlag.TRANSACTION_COMMIT;
  else if (request.resolution === TransactionResolution.ROLLBACK) commitOrRollback = SysFlag.TRANSACTION_ROLLBACK;
  else throw new StatusError(Code.BAD_REQUEST, 'the transaction resolution must be COMMIT or ROLLBACK');
  const channel = (call.clientId !== undefined ? context.channels.get(call.clientId) : undefined)
    ?? new GrpcClientChannel(0, call.clientId ?? '', call.peer, '', () => false);
  const response = await context.broker.invoke(RequestCode.END_TRANSACTION, {
    topic,
    producerGroup: topic,
    tranStateTableOffset: String(transaction.queueOffset),
    commitLogOffset: String(transaction.commitLogOffset),
    commitOrRollback: String(commitOrRollback),
    fromTransactionCheck: String(request.source === TransactionSource.SERVER_CHECK),
    msgId: request.message_id,
    transactionId: transaction.brokerTransactionId,
  }, undefined, channel);
  if (response === null || response.code === ResponseCode.SUCCESS) return { status: OK_STATUS };
  return { status: status(codeOfResponse(response.code), response.remark ?? `END_TRANSACTION failed with code ${response.code}`) };
}

/** A CHECK_TRANSACTION_STATE for a gRPC producer, as a Telemetry command on its stream. */
function relayTransactionCheck(context: GatewayContext, channel: GrpcClientChannel, request: RemotingCommand): boolean {
  const record = request.body ? decodeRecord(request.body) : null;
  if (record === null) return false;
  const fields = request.extFields ?? {};
  const commitLogOffset = Number(fields.commitLogOffset ?? record.physicalOffset);
  const queueOffset = Number(fields.tranStateTableOffset ?? record.queueOffset);
  if (!Number.isSafeInteger(commitLogOffset) || !Number.isSafeInteger(queueOffset)) return false;
  const brokerTransactionId = fields.transactionId
    || getProperty(record.properties, MessageProperty.TRANSACTION_ID)
    || getProperty(record.properties, MessageProperty.UNIQ_KEY)
    || '';
  const realQueueId = Number(getProperty(record.properties, MessageProperty.REAL_QID));
  const message = toMessagePb({
    record,
    topic: getProperty(record.properties, MessageProperty.REAL_TOPIC) ?? record.topic,
    queueId: Number.isInteger(realQueueId) ? realQueueId : record.queueId,
    queueOffset: record.queueOffset,
    reconsumeTimes: record.reconsumeTimes,
  }, { maxInflatedBodyBytes: context.settings.maxInflatedBodyBytes });
  return channel.writeTelemetry({
    recover_orphaned_transaction_command: {
      message,
      transaction_id: encodeTransactionId({ commitLogOffset, queueOffset, brokerTransactionId }),
    },
  });
}

/** What a GrpcClientChannel does with requests the broker sends to its client. */
export function createBrokerRequestTranslator(context: () => GatewayContext): BrokerRequestTranslator {
  return (channel, request) => {
    switch (request.code) {
      case RequestCode.CHECK_TRANSACTION_STATE:
        return relayTransactionCheck(context(), channel, request);
      case RequestCode.NOTIFY_CONSUMER_IDS_CHANGED:
        // gRPC consumers get their queues from the server; nothing to tell them.
        return true;
      default:
        return false;
    }
  };
}
