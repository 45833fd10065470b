/**
 * The transaction id gRPC producers get for a half message and hand back in EndTransaction (or get in
 * a RecoverOrphanedTransactionCommand). The broker's END_TRANSACTION needs the half message's
 * commit-log offset and queue offset besides its own transaction id; the Java proxy keeps them in a
 * memory table that expires, the gateway puts them in the id instead, so a commit that arrives after a
 * restart or much later still finds its half message.
 *
 * Layout (ASCII): `TX1.<commitLogOffset base 36>.<queueOffset base 36>.<broker transaction id, base64url>`.
 */
import { Code, StatusError } from './code.js';

const PREFIX = 'TX1';
const MAX_ID_LENGTH = 1024;

export interface GatewayTransaction {
  commitLogOffset: number;
  /** Queue offset of the half message (END_TRANSACTION's tranStateTableOffset). */
  queueOffset: number;
  brokerTransactionId: string;
}

export function encodeTransactionId(transaction: GatewayTransaction): string {
  const broker = Buffer.from(transaction.brokerTransactionId, 'utf8').toString('base64url');
  return `${PREFIX}.${transaction.commitLogOffset.toString(36)}.${transaction.queueOffset.toString(36)}.${broker}`;
}

export function decodeTransactionId(id: string): GatewayTransaction {
  const invalid = (): StatusError => new StatusError(Code.INVALID_TRANSACTION_ID, 'the transaction id is malformed');
  if (typeof id !== 'string' || id.length === 0 || id.length > MAX_ID_LENGTH) throw invalid();
  const parts = id.split('.');
  if (parts.length !== 4 || parts[0] !== PREFIX) throw invalid();
  const [, commitText, queueText, broker] = parts as [string, string, string, string];
  if (!/^[0-9a-z]{1,11}$/.test(commitText) || !/^[0-9a-z]{1,11}$/.test(queueText) || !/^[A-Za-z0-9_-]*$/.test(broker)) throw invalid();
  const commitLogOffset = parseInt(commitText, 36);
  const queueOffset = parseInt(queueText, 36);
  if (!Number.isSafeInteger(commitLogOffset) || !Number.isSafeInteger(queueOffset)) throw invalid();
  return { commitLogOffset, queueOffset, brokerTransactionId: Buffer.from(broker, 'base64url').toString('utf8') };
}
