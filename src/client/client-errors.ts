/**
 * The client's error tree. Every error the SDK rejects with is an MQClientError carrying a stable
 * string `code`, the RocketMQ `responseCode` (the broker's answer, or one of RocketMQ's client-local
 * codes −1000…−1006), whether the same call may succeed when retried (`retriable`) and the
 * underlying `cause`:
 *
 *   MQClientError
 *   ├── BrokerError          the broker or name server answered with a failure code
 *   ├── RequestTimeoutError  no answer within the call's timeout
 *   ├── ConnectionError      connecting failed, or the connection closed (or broke its framing)
 *   ├── AbortError           the caller's AbortSignal fired
 *   └── ClientStateError     the client is closed / not started, or a call cannot be served
 *                            (no route for a topic, no broker address)
 *
 * Codes shared with the broker come from the common ErrorCatalogue; the few that only a client
 * reports are listed in CLIENT_ERROR_SPECS below with the same shape.
 *
 * Why not `extends TideError`: TideError's `code` is typed as the catalogue's keys, and a client must
 * also report codes the catalogue does not have yet (SYSTEM_ERROR, SERVICE_NOT_AVAILABLE,
 * TOPIC_ROUTE_NOT_FOUND, …). Until those are added there, the tree has its own root with the same
 * fields, and `toClientError` wraps any TideError (kept as `cause`).
 */
import { ErrorCatalogue, ResponseCode, TideError, type ErrorCode, type ErrorSpec } from '../common/errors.js';

/** Codes only a client reports, in the catalogue's shape. */
export const CLIENT_ERROR_SPECS = {
  SYSTEM_ERROR: { responseCode: ResponseCode.SYSTEM_ERROR, retriable: true, description: 'The broker failed while serving the request.' },
  SERVICE_NOT_AVAILABLE: { responseCode: ResponseCode.SERVICE_NOT_AVAILABLE, retriable: true, description: 'The broker is shutting down, starting or refuses writes.' },
  BROKER_ERROR: { responseCode: ResponseCode.SYSTEM_ERROR, retriable: false, description: 'The broker answered with a failure code this client has no name for.' },
  QUERY_NOT_FOUND: { responseCode: ResponseCode.QUERY_NOT_FOUND, retriable: false, description: 'The broker holds nothing that matches the query (offset, message, key).' },
  SUBSCRIPTION_NOT_EXIST: { responseCode: ResponseCode.SUBSCRIPTION_NOT_EXIST, retriable: true, description: 'The broker does not know the subscription yet (no heartbeat arrived).' },
  SUBSCRIPTION_PARSE_FAILED: { responseCode: ResponseCode.SUBSCRIPTION_PARSE_FAILED, retriable: false, description: 'The broker cannot parse or does not support the subscription expression.' },
  CONSUMER_NOT_ONLINE: { responseCode: ResponseCode.CONSUMER_NOT_ONLINE, retriable: false, description: 'No consumer of the group is connected.' },
  TOPIC_ROUTE_NOT_FOUND: { responseCode: ResponseCode.TOPIC_NOT_EXIST, retriable: true, description: 'No name server knows a route for the topic.' },
  BROKER_NOT_FOUND: { responseCode: -1000, retriable: true, description: 'No address is known for the broker the call must go to.' },
  CLIENT_CLOSED: { responseCode: -1002, retriable: false, description: 'The client is closed (or closing) and takes no more calls.' },
  CLIENT_NOT_STARTED: { responseCode: -1002, retriable: false, description: 'The call needs a started client.' },
  ILLEGAL_ARGUMENT: { responseCode: ResponseCode.INVALID_PARAMETER, retriable: false, description: 'An argument is invalid (empty body, mixed topics in a batch, bad queue).' },
  TRANSACTION_NOT_SUPPORTED: { responseCode: ResponseCode.NO_PERMISSION, retriable: false, description: 'The broker refuses transactional (half) messages.' },
} as const satisfies Record<string, ErrorSpec>;

export type ClientErrorCode = ErrorCode | keyof typeof CLIENT_ERROR_SPECS;

function specOf(code: ClientErrorCode): ErrorSpec {
  return (CLIENT_ERROR_SPECS as Record<string, ErrorSpec>)[code] ?? (ErrorCatalogue as Record<string, ErrorSpec>)[code]!;
}

export interface ClientErrorOptions {
  cause?: unknown;
  responseCode?: number;
  retriable?: boolean;
}

export class MQClientError extends Error {
  readonly code: ClientErrorCode;
  readonly responseCode: number;
  readonly retriable: boolean;

  constructor(code: ClientErrorCode, message: string, options: ClientErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    const spec = specOf(code);
    this.name = 'MQClientError';
    this.code = code;
    this.responseCode = options.responseCode ?? spec.responseCode;
    this.retriable = options.retriable ?? spec.retriable;
  }
}

/** The broker (or a name server) answered with a failure code; `remark` is its text. */
export class BrokerError extends MQClientError {
  /** `host:port` that answered. */
  readonly address: string;
  readonly remark: string | undefined;

  constructor(code: ClientErrorCode, message: string, responseCode: number, address: string, remark?: string, options: ClientErrorOptions = {}) {
    super(code, message, { ...options, responseCode });
    this.name = 'BrokerError';
    this.address = address;
    this.remark = remark;
  }
}

export class RequestTimeoutError extends MQClientError {
  constructor(message: string, options: ClientErrorOptions = {}) {
    super('REQUEST_TIMEOUT', message, options);
    this.name = 'RequestTimeoutError';
  }
}

export class ConnectionError extends MQClientError {
  constructor(code: 'CONNECT_FAILED' | 'CONNECTION_CLOSED' | 'FRAME_MALFORMED' | 'FRAME_TOO_LARGE', message: string, options: ClientErrorOptions = {}) {
    // A broken frame closes the connection: the call may well succeed on a fresh one.
    super(code, message, { retriable: true, ...options });
    this.name = 'ConnectionError';
  }
}

export class AbortError extends MQClientError {
  constructor(message = 'the operation was aborted', options: ClientErrorOptions = {}) {
    super('ABORTED', message, options);
    this.name = 'AbortError';
  }
}

export class ClientStateError extends MQClientError {
  constructor(code: 'CLIENT_CLOSED' | 'CLIENT_NOT_STARTED' | 'TOPIC_ROUTE_NOT_FOUND' | 'BROKER_NOT_FOUND' | 'ILLEGAL_ARGUMENT', message: string, options: ClientErrorOptions = {}) {
    super(code, message, options);
    this.name = 'ClientStateError';
  }
}

/** Response code → the stable code a BrokerError carries. */
const CODE_BY_RESPONSE = new Map<number, ClientErrorCode>([
  [ResponseCode.SYSTEM_ERROR, 'SYSTEM_ERROR'],
  [ResponseCode.SYSTEM_BUSY, 'SYSTEM_BUSY'],
  [ResponseCode.REQUEST_CODE_NOT_SUPPORTED, 'REQUEST_CODE_NOT_SUPPORTED'],
  [ResponseCode.FLUSH_DISK_TIMEOUT, 'FLUSH_DISK_TIMEOUT'],
  [ResponseCode.MESSAGE_ILLEGAL, 'MESSAGE_ILLEGAL'],
  [ResponseCode.SERVICE_NOT_AVAILABLE, 'SERVICE_NOT_AVAILABLE'],
  [ResponseCode.NO_PERMISSION, 'NO_PERMISSION'],
  [ResponseCode.TOPIC_NOT_EXIST, 'TOPIC_NOT_EXIST'],
  [ResponseCode.QUERY_NOT_FOUND, 'QUERY_NOT_FOUND'],
  [ResponseCode.SUBSCRIPTION_PARSE_FAILED, 'SUBSCRIPTION_PARSE_FAILED'],
  [ResponseCode.SUBSCRIPTION_NOT_EXIST, 'SUBSCRIPTION_NOT_EXIST'],
  [ResponseCode.SUBSCRIPTION_NOT_LATEST, 'SUBSCRIPTION_NOT_EXIST'],
  [ResponseCode.SUBSCRIPTION_GROUP_NOT_EXIST, 'SUBSCRIPTION_GROUP_NOT_EXIST'],
  [ResponseCode.INVALID_PARAMETER, 'INVALID_PARAMETER'],
  [ResponseCode.CONSUMER_NOT_ONLINE, 'CONSUMER_NOT_ONLINE'],
]);

/**
 * Response codes after which the Java producer tries another broker (DefaultMQProducer's
 * retryResponseCodes, plus SYSTEM_BUSY which every RocketMQ broker uses for "try later").
 */
const RETRIABLE_RESPONSE_CODES: ReadonlySet<number> = new Set([
  ResponseCode.TOPIC_NOT_EXIST,
  ResponseCode.SERVICE_NOT_AVAILABLE,
  ResponseCode.SYSTEM_ERROR,
  ResponseCode.SYSTEM_BUSY,
  ResponseCode.NO_PERMISSION,
  ResponseCode.NO_BUYER_ID,
  ResponseCode.NOT_IN_CURRENT_UNIT,
]);

export function isRetriableResponseCode(responseCode: number): boolean {
  return RETRIABLE_RESPONSE_CODES.has(responseCode);
}

export function brokerError(responseCode: number, remark: string | undefined, address: string, what: string): BrokerError {
  const code = CODE_BY_RESPONSE.get(responseCode) ?? 'BROKER_ERROR';
  const text = remark === undefined || remark === '' ? '' : `: ${remark.length > 500 ? remark.slice(0, 500) + '…' : remark}`;
  return new BrokerError(code, `${what} failed at ${address} with response code ${responseCode}${text}`, responseCode, address, remark, {
    // Retriable when the code says "try later", or when Java's producer would try another broker.
    retriable: specOf(code).retriable || RETRIABLE_RESPONSE_CODES.has(responseCode),
  });
}

/** Turns what the remoting layer throws into the client's tree; MQClientErrors pass unchanged. */
export function toClientError(error: unknown, what: string): MQClientError {
  if (error instanceof MQClientError) return error;
  if (error instanceof TideError) {
    const message = `${what}: ${error.message}`;
    switch (error.code) {
      case 'REQUEST_TIMEOUT':
        return new RequestTimeoutError(message, { cause: error });
      case 'CONNECT_FAILED':
      case 'CONNECTION_CLOSED':
      case 'FRAME_MALFORMED':
      case 'FRAME_TOO_LARGE':
        return new ConnectionError(error.code, message, { cause: error });
      case 'ABORTED':
        return new AbortError(message, { cause: error });
      default:
        return new MQClientError(error.code, message, { cause: error, responseCode: error.responseCode, retriable: error.retriable });
    }
  }
  if (error instanceof Error && error.name === 'AbortError') return new AbortError(`${what}: aborted`, { cause: error });
  return new MQClientError('BROKER_ERROR', `${what}: ${error instanceof Error ? error.message : String(error)}`, { cause: error, retriable: false });
}

export function abortError(signal: AbortSignal | undefined, what: string): AbortError {
  const reason: unknown = signal?.reason;
  return new AbortError(`${what} aborted`, reason === undefined ? {} : { cause: reason });
}
