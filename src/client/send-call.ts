/**
 * The state of one producer send across its attempts (default 1 + 2 retries on other brokers, one for
 * ordered sends, all within one time budget). The producer runs the attempts as a chain of `then`
 * callbacks on the broker's answers rather than async functions, so a send costs no promise of its own
 * per layer; this object is what those callbacks share.
 */
import type { RemotingCommand } from '../protocol/remoting-command.js';
import type { MQClientError } from './client-errors.js';
import type { PreparedMessage } from './message-preparer.js';
import type { Message, SendResult } from './message.js';
import type { MessageQueue } from './message-queue.js';
import { parseSendResponse } from './send-request.js';
import type { TopicPublishInfo } from './topic-publish-info.js';

/** Turns a send answer into the caller's result; throws MQClientError for failure codes. */
export type ParseAnswer<R extends SendResult> = (response: RemotingCommand, queue: MessageQueue, address: string, prepared: PreparedMessage) => R;

/** The answer of a single-message send. */
export const parseSingleAnswer: ParseAnswer<SendResult> = (response, queue, address, prepared) => parseSendResponse(response, queue, prepared.uniqueKey, address);

export interface SendCall<R extends SendResult, O> {
  readonly message: Message;
  readonly prepared: PreparedMessage;
  readonly options: O;
  readonly batch: boolean;
  readonly parse: ParseAnswer<R>;
  readonly timeoutMs: number;
  readonly beganMs: number;
  /** Whether this is a `send()`, counted in flight and published on the send channel when it ends. */
  readonly tracked: boolean;
  info: TopicPublishInfo | undefined;
  attempts: number;
  /** Attempts started so far. */
  attempt: number;
  lastBroker: string | undefined;
  lastError: MQClientError | undefined;
  /** A stored-but-not-SEND_OK result kept while another broker is tried (retryAnotherBrokerWhenNotStoreOk). */
  lastResult: R | undefined;
  ended: boolean;
}

export function createSendCall<R extends SendResult, O>(message: Message, prepared: PreparedMessage, options: O, batch: boolean, parse: ParseAnswer<R>, timeoutMs: number, beganMs: number, tracked: boolean): SendCall<R, O> {
  return {
    message,
    prepared,
    options,
    batch,
    parse,
    timeoutMs,
    beganMs,
    tracked,
    info: undefined,
    attempts: 0,
    attempt: 0,
    lastBroker: undefined,
    lastError: undefined,
    lastResult: undefined,
    ended: false,
  };
}
