/**
 * POP consumption (RocketMQ 5.x): the broker hands messages out, hides them for an invisible time and
 * hands them out again unless they are acked in time. This is the API the remoting handlers
 * (pop-handlers.ts) and the gRPC gateway call. (Types first; the implementation follows.)
 */
import type { BrokerDeps } from '../broker-deps.js';

export interface PopFilter {
  type: 'TAG' | 'SQL92';
  expression: string;
}

export interface PopRequest {
  group: string;
  /** The topic as the client names it (never a retry topic). */
  topic: string;
  /** -1 = all readable queues of the topic (gRPC pops this way). */
  queueId: number;
  /** 1-32 (RocketMQ's limit). */
  maxMessages: number;
  invisibleTimeMs: number;
  /** Long polling: wait up to this long for a message when none is there; 0 = answer at once. */
  pollTimeMs: number;
  /** Where a queue this group never popped starts: MIN = its oldest message, MAX = its newest one. */
  initMode: 'MIN' | 'MAX';
  filter?: PopFilter | undefined;
  /** FIFO: a queue's next message is not handed out before the previous one is acked or given up. */
  fifo?: boolean | undefined;
  /** FIFO: a retried request with the same attempt id gets the same messages again. */
  attemptId?: string | undefined;
  /** Aborts a long poll (the caller went away); the pop then resolves NO_NEW_MSG. */
  signal?: AbortSignal | undefined;
}

export interface PoppedMessage {
  /** The raw commit-log record as stored (for a re-delivery: the copy in the pop retry topic). */
  record: Buffer;
  /** The original topic (retry topics mapped back). */
  topic: string;
  queueId: number;
  queueOffset: number;
  /** Delivery attempt = reconsumeTimes + 1. */
  reconsumeTimes: number;
  /** The extraInfo string a Java remoting client builds; ack/changeInvisibleTime take it back. */
  receiptHandle: string;
  popTimeMs: number;
  invisibleTimeMs: number;
}

export type PopStatus = 'FOUND' | 'NO_NEW_MSG' | 'POLLING_FULL';

export interface PopResult {
  status: PopStatus;
  messages: PoppedMessage[];
  popTimeMs: number;
  invisibleTimeMs: number;
  /** 0 for normal pops, 999 for FIFO pops (RocketMQ's POP_ORDER_REVIVE_QUEUE). */
  reviveQueueId: number;
  /** Messages left behind in the queues looked at. */
  restNum: number;
}

export type AckStatus = 'OK' | 'INVALID_RECEIPT_HANDLE';

export interface ChangeInvisibleTimeResult {
  status: AckStatus;
  /** The new receipt handle (the old one stops working). */
  receiptHandle?: string;
  popTimeMs?: number;
  invisibleTimeMs?: number;
}

export interface PopServiceOptions {
  /** Directory of the pop log; default `<storePathRootDir>/pop`. */
  popDir?: string;
}

export declare class PopService {
  pop(request: PopRequest): Promise<PopResult>;
  /** Idempotent; a handle whose invisible time has passed (or that was never issued) is INVALID_RECEIPT_HANDLE. */
  ack(group: string, topic: string, receiptHandle: string): AckStatus;
  changeInvisibleTime(group: string, topic: string, receiptHandle: string, invisibleTimeMs: number): ChangeInvisibleTimeResult;
  /** The store's arrival listener should call this (wakes long-polling pops at once). */
  notifyMessageArriving(topic: string, queueId: number): void;
  start(): void;
  close(): Promise<void>;
}

export declare function createPopService(deps: BrokerDeps, options?: PopServiceOptions): PopService;
