/**
 * END_TRANSACTION (37), normally oneway: the producer (or its answer to CHECK_TRANSACTION_STATE, with
 * fromTransactionCheck=true) ends a transaction. Header: producerGroup, tranStateTableOffset (the half's
 * queue offset), commitLogOffset (the half's commit-log offset), commitOrRollback (8 commit, 12
 * rollback, 0 = still unknown: nothing happens and the broker checks again later), fromTransactionCheck,
 * msgId, transactionId. Commit and rollback go to the TransactionalMessageService, which makes a
 * repeated end a no-op.
 *
 * Oneway requests get no answer. A request sent with an answer expected (tests, tools) is answered as
 * RocketMQ does: SUCCESS, or SYSTEM_ERROR with RocketMQ's remark when the offsets or the producer group
 * do not match the half message; a slave answers SLAVE_NOT_AVAILABLE.
 */
import { ResponseCode, isTideError } from '../../common/errors.js';
import { SysFlag } from '../../protocol/message-record.js';
import { isOneway, type RemotingCommand, type RequestHandler } from '../../protocol/remoting-command.js';
import type { BrokerDeps } from '../broker-deps.js';
import { fieldsOf, optionalBoolean, optionalString, requiredInteger, requiredString } from '../header-fields.js';
import { transactionServiceOf } from '../transaction/transaction-registry.js';
import { answer } from './handler-support.js';

export function createEndTransactionHandler(deps: BrokerDeps): RequestHandler {
  const { config, store, logger } = deps;
  const service = transactionServiceOf(deps);
  const reply = (request: RemotingCommand, code: number = ResponseCode.SUCCESS, remark?: string): RemotingCommand | null =>
    isOneway(request) ? null : answer(request, code, remark);

  return async (request, context) => {
    const fields = fieldsOf(request);
    const header = {
      producerGroup: requiredString(fields, 'producerGroup'),
      tranStateTableOffset: requiredInteger(fields, 'tranStateTableOffset'),
      commitLogOffset: requiredInteger(fields, 'commitLogOffset'),
      commitOrRollback: requiredInteger(fields, 'commitOrRollback'),
      fromTransactionCheck: optionalBoolean(fields, 'fromTransactionCheck') ?? false,
    };
    const logFields = {
      producer: context.connection.remoteAddress,
      producerGroup: header.producerGroup,
      halfOffset: header.tranStateTableOffset,
      msgId: optionalString(fields, 'msgId'),
      transactionId: optionalString(fields, 'transactionId'),
      fromTransactionCheck: header.fromTransactionCheck,
    };
    if (config.brokerId !== 0) {
      logger.warn(logFields, 'END_TRANSACTION refused: this broker is a slave');
      return reply(request, ResponseCode.SLAVE_NOT_AVAILABLE, 'Message store is slave mode, so end transaction is forbidden.');
    }
    if (header.commitOrRollback === SysFlag.TRANSACTION_NOT_TYPE) {
      logger.info(logFields, 'producer reports the transaction as still unknown; it will be checked again');
      return reply(request, ResponseCode.SUCCESS, 'the transaction stays open');
    }
    if (header.commitOrRollback !== SysFlag.TRANSACTION_COMMIT && header.commitOrRollback !== SysFlag.TRANSACTION_ROLLBACK) {
      logger.warn({ ...logFields, commitOrRollback: header.commitOrRollback }, 'END_TRANSACTION with an unknown commitOrRollback ignored');
      return reply(request, ResponseCode.INVALID_PARAMETER, `commitOrRollback ${header.commitOrRollback} is not 0, 8 (commit) or 12 (rollback)`);
    }
    let outcome;
    try {
      outcome = service.endTransaction(header);
    } catch (error) {
      // Oneway failures would otherwise vanish: the half stays open and is checked later.
      if (isTideError(error)) logger.warn({ ...logFields, err: error }, 'END_TRANSACTION failed; the transaction stays open');
      throw error;
    }
    switch (outcome.status) {
      case 'REFUSED':
        logger.warn({ ...logFields, remark: outcome.remark }, 'END_TRANSACTION refused');
        return reply(request, ResponseCode.SYSTEM_ERROR, outcome.remark);
      case 'ALREADY_ENDED':
        logger.info(logFields, 'END_TRANSACTION for a transaction already ended; nothing to do');
        return reply(request);
      case 'COMMITTED':
      case 'ROLLED_BACK': {
        if (header.fromTransactionCheck) logger.info({ ...logFields, outcome: outcome.status }, 'transaction ended by the answer to a check');
        if (isOneway(request)) return null;
        // ASYNC_FLUSH: waitDurable resolves once the bytes are written to the kernel; SYNC_FLUSH: after fdatasync.
        if ((await store.waitDurable(outcome.endOffset)) !== 'PUT_OK') {
          return answer(request, ResponseCode.FLUSH_DISK_TIMEOUT, 'the transaction is ended but not yet flushed to disk within syncFlushTimeout');
        }
        return answer(request);
      }
    }
  };
}
