/**
 * The one error catalogue of TideMQ. Every operating error the broker, the store or the client can
 * report has an entry here with a stable string code, the RocketMQ response code it is answered
 * with on the wire, and whether a client may retry it. Programmer errors are assertions instead.
 */

/** RocketMQ remoting response codes (reference §2.5). */
export const ResponseCode = {
  SUCCESS: 0,
  SYSTEM_ERROR: 1,
  SYSTEM_BUSY: 2,
  REQUEST_CODE_NOT_SUPPORTED: 3,
  TRANSACTION_FAILED: 4,
  FLUSH_DISK_TIMEOUT: 10,
  SLAVE_NOT_AVAILABLE: 11,
  FLUSH_SLAVE_TIMEOUT: 12,
  MESSAGE_ILLEGAL: 13,
  SERVICE_NOT_AVAILABLE: 14,
  VERSION_NOT_SUPPORTED: 15,
  NO_PERMISSION: 16,
  TOPIC_NOT_EXIST: 17,
  TOPIC_EXIST_ALREADY: 18,
  PULL_NOT_FOUND: 19,
  PULL_RETRY_IMMEDIATELY: 20,
  PULL_OFFSET_MOVED: 21,
  QUERY_NOT_FOUND: 22,
  SUBSCRIPTION_PARSE_FAILED: 23,
  SUBSCRIPTION_NOT_EXIST: 24,
  SUBSCRIPTION_NOT_LATEST: 25,
  SUBSCRIPTION_GROUP_NOT_EXIST: 26,
  FILTER_DATA_NOT_EXIST: 27,
  FILTER_DATA_NOT_LATEST: 28,
  INVALID_PARAMETER: 29,
  TRANSACTION_SHOULD_COMMIT: 200,
  TRANSACTION_SHOULD_ROLLBACK: 201,
  TRANSACTION_STATE_UNKNOW: 202,
  TRANSACTION_STATE_GROUP_WRONG: 203,
  NO_BUYER_ID: 204,
  NOT_IN_CURRENT_UNIT: 205,
  CONSUMER_NOT_ONLINE: 206,
  CONSUME_MSG_TIMEOUT: 207,
  NO_MESSAGE: 208,
  POLLING_FULL: 209,
  POLLING_TIMEOUT: 210,
  BROKER_NOT_EXIST: 211,
  BROKER_DISPATCH_NOT_COMPLETE: 212,
  BROADCAST_CONSUMPTION: 213,
  FLOW_CONTROL: 215,
  NOT_LEADER_FOR_QUEUE: 501,
  ILLEGAL_OPERATION: 604,
} as const;
export type ResponseCode = (typeof ResponseCode)[keyof typeof ResponseCode];

export interface ErrorSpec {
  /** RocketMQ response code used on the wire. */
  readonly responseCode: number;
  /** Whether a client may retry the same request (possibly elsewhere). */
  readonly retriable: boolean;
  /** One sentence for the docs. */
  readonly description: string;
}

/** The catalogue. Codes are stable: add entries, never rename them. */
export const ErrorCatalogue = {
  // Input validation.
  TOPIC_NAME_INVALID: { responseCode: ResponseCode.INVALID_PARAMETER, retriable: false, description: 'The topic name is empty, too long or has characters outside [A-Za-z0-9%|_-].' },
  GROUP_NAME_INVALID: { responseCode: ResponseCode.INVALID_PARAMETER, retriable: false, description: 'The group name is empty, too long or has characters outside [A-Za-z0-9%|_-].' },
  MESSAGE_BODY_TOO_LARGE: { responseCode: ResponseCode.MESSAGE_ILLEGAL, retriable: false, description: 'The message body is larger than maxMessageSize (4 MiB by default).' },
  MESSAGE_PROPERTIES_TOO_LARGE: { responseCode: ResponseCode.MESSAGE_ILLEGAL, retriable: false, description: 'The encoded message properties are longer than 32,767 bytes.' },
  MESSAGE_ILLEGAL: { responseCode: ResponseCode.MESSAGE_ILLEGAL, retriable: false, description: 'The message is malformed (bad batch body, bad property, bad delivery time).' },
  INVALID_PARAMETER: { responseCode: ResponseCode.INVALID_PARAMETER, retriable: false, description: 'A request header field is missing or malformed.' },
  QUEUE_ID_INVALID: { responseCode: ResponseCode.INVALID_PARAMETER, retriable: false, description: 'The queue id is outside the queues of the topic.' },
  // Store state.
  DISK_FULL: { responseCode: ResponseCode.SERVICE_NOT_AVAILABLE, retriable: true, description: 'Disk usage is above the hard watermark (90 %); appends are refused until space is freed.' },
  STORE_CLOSED: { responseCode: ResponseCode.SERVICE_NOT_AVAILABLE, retriable: true, description: 'The store is shut down or shutting down.' },
  STORE_WRITE_FAILED: { responseCode: ResponseCode.SYSTEM_ERROR, retriable: true, description: 'A write or fdatasync of the commit log failed; nothing after it is reported durable.' },
  STORE_LOCKED: { responseCode: ResponseCode.SYSTEM_ERROR, retriable: false, description: 'Another live process holds the store lock of this directory.' },
  STORE_CORRUPT: { responseCode: ResponseCode.SYSTEM_ERROR, retriable: false, description: 'A stored record failed its magic or CRC check and is not handed out.' },
  FLUSH_DISK_TIMEOUT: { responseCode: ResponseCode.FLUSH_DISK_TIMEOUT, retriable: true, description: 'The message was written but not made durable within syncFlushTimeout.' },
  SYSTEM_BUSY: { responseCode: ResponseCode.SYSTEM_BUSY, retriable: true, description: 'A queue or buffer of the broker is at its limit; retry later.' },
  // Protocol.
  FRAME_TOO_LARGE: { responseCode: ResponseCode.SYSTEM_ERROR, retriable: false, description: 'A remoting frame declared more than 16 MiB; the connection is closed.' },
  FRAME_MALFORMED: { responseCode: ResponseCode.SYSTEM_ERROR, retriable: false, description: 'A remoting frame could not be decoded; the connection is closed.' },
  REQUEST_CODE_NOT_SUPPORTED: { responseCode: ResponseCode.REQUEST_CODE_NOT_SUPPORTED, retriable: false, description: 'The request code is unknown to this server.' },
  TOPIC_NOT_EXIST: { responseCode: ResponseCode.TOPIC_NOT_EXIST, retriable: false, description: 'The topic does not exist and auto-creation is off.' },
  SUBSCRIPTION_GROUP_NOT_EXIST: { responseCode: ResponseCode.SUBSCRIPTION_GROUP_NOT_EXIST, retriable: false, description: 'The subscription group does not exist and auto-creation is off.' },
  NO_PERMISSION: { responseCode: ResponseCode.NO_PERMISSION, retriable: false, description: 'The topic or broker does not allow this operation.' },
  // Client side.
  REQUEST_TIMEOUT: { responseCode: -1006, retriable: true, description: 'No answer arrived within the request timeout.' },
  CONNECTION_CLOSED: { responseCode: -1002, retriable: true, description: 'The connection closed before the answer arrived.' },
  CONNECT_FAILED: { responseCode: -1000, retriable: true, description: 'The connection could not be opened.' },
  ABORTED: { responseCode: -1004, retriable: false, description: 'The operation was aborted by its signal.' },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ErrorCatalogue;

/** Base of every operating error TideMQ raises. */
export class TideError extends Error {
  readonly code: ErrorCode;
  readonly responseCode: number;
  readonly retriable: boolean;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; responseCode?: number }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    const spec: ErrorSpec = ErrorCatalogue[code];
    this.name = 'TideError';
    this.code = code;
    this.responseCode = options?.responseCode ?? spec.responseCode;
    this.retriable = spec.retriable;
  }
}

export function isTideError(error: unknown, code?: ErrorCode): error is TideError {
  return error instanceof TideError && (code === undefined || error.code === code);
}
