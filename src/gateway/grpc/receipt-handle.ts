/**
 * The receipt handle gRPC consumers get. It is opaque to them, so the gateway wraps the POP service's
 * handle with the one fact it needs later without a lookup: the commit-log offset of the delivered
 * record (forwarding to the DLQ copies the record found there).
 *
 * Layout (ASCII): `T1.<commitLogOffset base 36>.<POP handle, base64url>` — dots cannot occur in the two
 * encoded parts, so splitting on the first two dots is unambiguous. Anything else is not a handle this
 * gateway issued and is answered INVALID_RECEIPT_HANDLE.
 */
import { Code, StatusError } from './code.js';

const PREFIX = 'T1';
/** Longest handle accepted (the POP handle is a short text). */
const MAX_HANDLE_LENGTH = 4096;

export interface GatewayReceipt {
  commitLogOffset: number;
  /** The POP service's receipt handle. */
  popHandle: string;
}

export function encodeReceiptHandle(receipt: GatewayReceipt): string {
  return `${PREFIX}.${receipt.commitLogOffset.toString(36)}.${Buffer.from(receipt.popHandle, 'utf8').toString('base64url')}`;
}

export function decodeReceiptHandle(handle: string): GatewayReceipt {
  const invalid = (): StatusError => new StatusError(Code.INVALID_RECEIPT_HANDLE, 'the receipt handle is malformed');
  if (typeof handle !== 'string' || handle.length === 0 || handle.length > MAX_HANDLE_LENGTH) throw invalid();
  const first = handle.indexOf('.');
  const second = handle.indexOf('.', first + 1);
  if (first < 0 || second < 0 || handle.slice(0, first) !== PREFIX) throw invalid();
  const offsetText = handle.slice(first + 1, second);
  const encoded = handle.slice(second + 1);
  if (!/^[0-9a-z]{1,11}$/.test(offsetText) || !/^[A-Za-z0-9_-]+$/.test(encoded)) throw invalid();
  const commitLogOffset = parseInt(offsetText, 36);
  const popHandle = Buffer.from(encoded, 'base64url').toString('utf8');
  if (!Number.isSafeInteger(commitLogOffset) || popHandle.length === 0) throw invalid();
  return { commitLogOffset, popHandle };
}
