/**
 * What the gateway reads from every call's metadata (the RocketMQ 5.x transport headers):
 * `x-mq-client-id` (required by the client-session RPCs), `x-mq-language` (the Node client sends
 * `HTTP`, Java sends `JAVA`), `x-mq-client-version`, `x-mq-namespace`, plus the peer address and the
 * time left before the client's deadline. Authentication headers are read by nobody yet: TideMQ has no
 * gRPC ACL.
 */
import type { Deadline, Metadata } from '@grpc/grpc-js';
import { LANGUAGE_CODES } from '../../protocol/remoting-command.js';
import { Code, StatusError } from './code.js';

/** What every kind of server call (unary, streaming) offers. */
export interface AnyServerCall {
  readonly metadata: Metadata;
  getPeer(): string;
  getDeadline(): Deadline;
}

export interface CallContext {
  clientId: string | undefined;
  /** A remoting language name (`JAVA`, `HTTP`, ...); OTHER for unknown ones. */
  language: string;
  clientVersion: string;
  namespace: string;
  /** `ip:port` of the peer. */
  peer: string;
  /** Absolute deadline in ms since the epoch; Infinity without one. */
  deadlineMs: number;
}

function header(metadata: Metadata, name: string): string {
  const values = metadata.get(name);
  const value = values[0];
  if (value === undefined) return '';
  return typeof value === 'string' ? value : value.toString('utf8');
}

/** grpc-js peers look like `127.0.0.1:5000`, `[::1]:5000` or `ipv4:127.0.0.1:5000`. */
export function peerAddress(peer: string): string {
  const stripped = peer.replace(/^(ipv4|ipv6|unix):/, '');
  return stripped.length > 0 ? stripped : '127.0.0.1:0';
}

export function callContext(call: AnyServerCall): CallContext {
  const metadata = call.metadata;
  const language = header(metadata, 'x-mq-language').toUpperCase();
  const clientId = header(metadata, 'x-mq-client-id');
  const deadline = call.getDeadline();
  const deadlineMs = deadline instanceof Date ? deadline.getTime() : Number(deadline);
  return {
    clientId: clientId.length > 0 ? clientId.slice(0, 512) : undefined,
    language: (LANGUAGE_CODES as readonly string[]).includes(language) ? language : 'OTHER',
    clientVersion: header(metadata, 'x-mq-client-version').slice(0, 64),
    namespace: header(metadata, 'x-mq-namespace'),
    peer: peerAddress(call.getPeer()),
    deadlineMs: Number.isFinite(deadlineMs) && deadlineMs > 0 ? deadlineMs : Infinity,
  };
}

export function requireClientId(context: CallContext): string {
  if (context.clientId === undefined) throw new StatusError(Code.CLIENT_ID_REQUIRED, 'the x-mq-client-id header is required');
  return context.clientId;
}
