/**
 * Calls into the broker's own request handlers, in process, for the operations whose semantics the
 * broker owns and the gateway must not re-implement: parking a transactional half message (send with
 * TRAN_MSG), END_TRANSACTION, CONSUMER_SEND_MSG_BACK to the DLQ and RECALL_MESSAGE. This is what the
 * RocketMQ proxy does in its local mode: it builds the remoting command and hands it to the broker's
 * processor. The handler sees the gRPC client's channel as its connection.
 */
import { TideError } from '../../common/errors.js';
import { createRequest, type HandlerTable, type RemotingCommand, type RemotingConnection } from '../../protocol/remoting-command.js';

export class BrokerCalls {
  constructor(private readonly handlers: HandlerTable) {}

  has(code: number): boolean {
    return this.handlers.has(code);
  }

  /**
   * Runs the handler of `code` with the given header fields and body. Resolves with its answer, or with
   * null when the handler answers nothing (oneway semantics, e.g. END_TRANSACTION in Java). The codes
   * called here never answer late through `reply`, so null is final. Throws REQUEST_CODE_NOT_SUPPORTED
   * when the broker has no such handler.
   */
  async invoke(code: number, extFields: Record<string, string>, body: Buffer | undefined, connection: RemotingConnection): Promise<RemotingCommand | null> {
    const handler = this.handlers.get(code);
    if (handler === undefined) throw new TideError('REQUEST_CODE_NOT_SUPPORTED', ` request type ${code} not supported`);
    const request = createRequest(code, extFields, body);
    let late: RemotingCommand | null = null;
    const result = await handler(request, { connection, reply: (response) => { late = response; } });
    return result ?? late;
  }
}
