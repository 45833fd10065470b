/**
 * Transactional messages, client side (Java's TransactionMQProducer): the half message goes out with
 * TRAN_MSG=true, PGROUP and the PREPARED sysFlag; the local transaction runs; END_TRANSACTION (37,
 * oneway) commits (8), rolls back (12) or leaves it open (0). When the broker finds a half message
 * still open it asks a producer of the group with CHECK_TRANSACTION_STATE (39, oneway; header
 * tranStateTableOffset, commitLogOffset, msgId, transactionId, offsetMsgId; body = the half message)
 * and the answer is another END_TRANSACTION with fromTransactionCheck=true, on the same connection.
 */
import type { Logger } from '../common/logger.js';
import { MessageProperty } from '../protocol/message-properties.js';
import { createRequest, type RemotingCommand, type RequestHandler } from '../protocol/remoting-command.js';
import { RequestCode } from '../protocol/request-code.js';
import { decodeOneMessage } from './message-codec.js';
import type { ReceivedMessage } from './message.js';

export const TransactionState = {
  COMMIT: 'COMMIT',
  ROLLBACK: 'ROLLBACK',
  UNKNOWN: 'UNKNOWN',
} as const;
export type TransactionState = (typeof TransactionState)[keyof typeof TransactionState];

/** sysFlag transaction types, as END_TRANSACTION's commitOrRollback carries them. */
const TRANSACTION_TYPE: Record<TransactionState, string> = { COMMIT: '8', ROLLBACK: '12', UNKNOWN: '0' };

/** Answers a broker's check of an open half message. Throwing counts as UNKNOWN (asked again later). */
export type TransactionChecker = (message: ReceivedMessage) => TransactionState | Promise<TransactionState>;

export interface EndTransactionFields {
  producerGroup: string;
  topic: string;
  tranStateTableOffset: number | string;
  commitLogOffset: number | string;
  state: TransactionState;
  fromTransactionCheck: boolean;
  msgId: string;
  transactionId: string | undefined;
}

export function createEndTransactionRequest(fields: EndTransactionFields): RemotingCommand {
  const extFields: Record<string, string> = {
    topic: fields.topic,
    producerGroup: fields.producerGroup,
    tranStateTableOffset: String(fields.tranStateTableOffset),
    commitLogOffset: String(fields.commitLogOffset),
    commitOrRollback: TRANSACTION_TYPE[fields.state],
    fromTransactionCheck: String(fields.fromTransactionCheck),
    msgId: fields.msgId,
  };
  if (fields.transactionId !== undefined) extFields.transactionId = fields.transactionId;
  return createRequest(RequestCode.END_TRANSACTION, extFields);
}

/** The handler for CHECK_TRANSACTION_STATE (39) of one producer group. */
export function createCheckTransactionHandler(producerGroup: string, checker: () => TransactionChecker | undefined, logger: Logger): RequestHandler {
  return (request, context) => {
    const fields = request.extFields ?? {};
    const message = request.body === undefined ? undefined : decodeOneMessage(request.body, '', logger);
    const check = checker();
    if (message === undefined || check === undefined) {
      logger.warn({ fields, hasChecker: check !== undefined }, 'transaction check ignored: no checker configured or undecodable half message');
      return null;
    }
    void (async () => {
      let state: TransactionState;
      try {
        state = await check(message);
        if (state !== 'COMMIT' && state !== 'ROLLBACK' && state !== 'UNKNOWN') state = 'UNKNOWN';
      } catch (error) {
        logger.warn({ err: error, msgId: message.msgId }, 'transaction checker failed; answering UNKNOWN');
        state = 'UNKNOWN';
      }
      const uniqueKey = message.getProperty(MessageProperty.UNIQ_KEY) ?? fields.msgId ?? '';
      const end = createEndTransactionRequest({
        producerGroup,
        topic: message.topic,
        tranStateTableOffset: fields.tranStateTableOffset ?? message.queueOffset,
        commitLogOffset: fields.commitLogOffset ?? message.commitLogOffset,
        state,
        fromTransactionCheck: true,
        msgId: uniqueKey,
        transactionId: fields.transactionId ?? message.transactionId,
      });
      if (!context.connection.invokeOneway(end)) logger.warn({ msgId: uniqueKey }, 'transaction check answer not sent: connection closed or busy');
    })();
    return null;
  };
}
