/**
 * The broker's request table: request code → handler, one entry per code, each handler guarded so its
 * operating errors become answers. Admin handlers (admin/index.ts) add theirs to the same table.
 * Codes not in the table are answered REQUEST_CODE_NOT_SUPPORTED by the remoting server.
 */
import type { RequestHandler } from '../../protocol/remoting-command.js';
import { RequestCode } from '../../protocol/request-code.js';
import type { BrokerDeps } from '../broker-deps.js';
import { registerAdminHandlers } from './admin/index.js';
import {
  CHECK_CLIENT_CONFIG,
  createCheckClientConfigHandler,
  createGetConsumerListByGroupHandler,
  createHeartbeatHandler,
  createUnregisterClientHandler,
} from './client-manage.js';
import { createQueryConsumerOffsetHandler, createUpdateConsumerOffsetHandler } from './consumer-offset.js';
import { createEndTransactionHandler } from './end-transaction.js';
import { guarded } from './handler-support.js';
import { popServiceOf, registerPopHandlers } from '../pop/index.js';
import {
  createGetEarliestMessageStoreTimeHandler,
  createGetMaxOffsetHandler,
  createGetMinOffsetHandler,
  createSearchOffsetByTimestampHandler,
} from './offset-queries.js';
import { createPullMessageHandler } from './pull-message.js';
import { createQueryMessageHandler, createViewMessageByIdHandler } from './query-message.js';
import { createRecallMessageHandler } from './recall-message.js';
import { createLockBatchHandler, createUnlockBatchHandler } from './queue-lock.js';
import { createConsumerSendMsgBackHandler } from './send-back.js';
import { createSendMessageHandler } from './send-message.js';

export function createHandlerTable(deps: BrokerDeps): Map<number, RequestHandler> {
  const table = new Map<number, RequestHandler>();
  const send = createSendMessageHandler(deps);
  const pull = createPullMessageHandler(deps);
  const entries: Array<[number, RequestHandler]> = [
    [RequestCode.SEND_MESSAGE, send],
    [RequestCode.SEND_MESSAGE_V2, send],
    [RequestCode.SEND_BATCH_MESSAGE, send],
    [RequestCode.PULL_MESSAGE, pull],
    [RequestCode.LITE_PULL_MESSAGE, pull],
    [RequestCode.QUERY_CONSUMER_OFFSET, createQueryConsumerOffsetHandler(deps)],
    [RequestCode.UPDATE_CONSUMER_OFFSET, createUpdateConsumerOffsetHandler(deps)],
    [RequestCode.SEARCH_OFFSET_BY_TIMESTAMP, createSearchOffsetByTimestampHandler(deps)],
    [RequestCode.GET_MAX_OFFSET, createGetMaxOffsetHandler(deps)],
    [RequestCode.GET_MIN_OFFSET, createGetMinOffsetHandler(deps)],
    [RequestCode.GET_EARLIEST_MSG_STORETIME, createGetEarliestMessageStoreTimeHandler(deps)],
    [RequestCode.HEART_BEAT, createHeartbeatHandler(deps)],
    [RequestCode.UNREGISTER_CLIENT, createUnregisterClientHandler(deps)],
    [RequestCode.GET_CONSUMER_LIST_BY_GROUP, createGetConsumerListByGroupHandler(deps)],
    [CHECK_CLIENT_CONFIG, createCheckClientConfigHandler(deps)],
    [RequestCode.LOCK_BATCH_MQ, createLockBatchHandler(deps)],
    [RequestCode.UNLOCK_BATCH_MQ, createUnlockBatchHandler(deps)],
    [RequestCode.QUERY_MESSAGE, createQueryMessageHandler(deps)],
    [RequestCode.VIEW_MESSAGE_BY_ID, createViewMessageByIdHandler(deps)],
    [RequestCode.CONSUMER_SEND_MSG_BACK, createConsumerSendMsgBackHandler(deps)],
    [RequestCode.RECALL_MESSAGE, createRecallMessageHandler(deps)],
    [RequestCode.END_TRANSACTION, createEndTransactionHandler(deps)],
  ];
  for (const [code, handler] of entries) table.set(code, guarded(handler, deps.logger));
  // Admin handlers come last and may not replace a data-path handler by accident.
  const admin = new Map<number, RequestHandler>();
  registerAdminHandlers(admin, deps);
  for (const [code, handler] of admin) {
    if (!table.has(code)) table.set(code, guarded(handler, deps.logger));
    else deps.logger.warn({ code }, 'admin handler ignored: the code already has a data-path handler');
  }
  registerPopHandlers(table, deps, popServiceOf(deps));
  return table;
}
