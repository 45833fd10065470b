/** POP consumption: the service the remoting handlers and the gRPC gateway call, and its handlers. */
export { createPopService, MAX_POP_CHECKPOINTS, MAX_POP_MESSAGES, PopService } from './pop-service.js';
export type {
  AckStatus,
  ChangeInvisibleTimeResult,
  PoppedMessage,
  PopFilter,
  PopRequest,
  PopResult,
  PopServiceOptions,
  PopStatus,
} from './pop-service.js';
export { registerPopHandlers } from './pop-handlers.js';
export { closePopService, notifyPopMessageArriving, popServiceOf } from './pop-registry.js';
export { buildReceiptHandle, parseReceiptHandle, popRetryTopicOf, POP_ORDER_REVIVE_QUEUE_ID, type ReceiptHandle } from './receipt-handle.js';
