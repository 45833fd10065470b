/**
 * The `apache.rocketmq.v2.Code` table and how the gateway turns failures into the `status` of a
 * response. gRPC clients read errors from that field (the gRPC status stays OK), so every failure of
 * an RPC ends up here: a StatusError (raised by the gateway's own checks, carrying the exact code the
 * clients expect), a TideError from the broker or the store (mapped by its catalogue code), a remoting
 * response code from a broker handler, or anything else (INTERNAL_SERVER_ERROR, logged by the caller).
 */
import { isTideError, ResponseCode, type ErrorCode } from '../../common/errors.js';
import type { StatusPb } from './proto-types.js';

export const Code = {
  OK: 20000,
  MULTIPLE_RESULTS: 30000,
  BAD_REQUEST: 40000,
  ILLEGAL_ACCESS_POINT: 40001,
  ILLEGAL_TOPIC: 40002,
  ILLEGAL_CONSUMER_GROUP: 40003,
  ILLEGAL_MESSAGE_TAG: 40004,
  ILLEGAL_MESSAGE_KEY: 40005,
  ILLEGAL_MESSAGE_GROUP: 40006,
  ILLEGAL_MESSAGE_PROPERTY_KEY: 40007,
  INVALID_TRANSACTION_ID: 40008,
  ILLEGAL_MESSAGE_ID: 40009,
  ILLEGAL_FILTER_EXPRESSION: 40010,
  ILLEGAL_INVISIBLE_TIME: 40011,
  ILLEGAL_DELIVERY_TIME: 40012,
  INVALID_RECEIPT_HANDLE: 40013,
  MESSAGE_PROPERTY_CONFLICT_WITH_TYPE: 40014,
  UNRECOGNIZED_CLIENT_TYPE: 40015,
  MESSAGE_CORRUPTED: 40016,
  CLIENT_ID_REQUIRED: 40017,
  ILLEGAL_POLLING_TIME: 40018,
  ILLEGAL_OFFSET: 40019,
  UNAUTHORIZED: 40100,
  FORBIDDEN: 40300,
  NOT_FOUND: 40400,
  MESSAGE_NOT_FOUND: 40401,
  TOPIC_NOT_FOUND: 40402,
  CONSUMER_GROUP_NOT_FOUND: 40403,
  OFFSET_NOT_FOUND: 40404,
  REQUEST_TIMEOUT: 40800,
  PAYLOAD_TOO_LARGE: 41300,
  MESSAGE_BODY_TOO_LARGE: 41301,
  MESSAGE_BODY_EMPTY: 41302,
  PRECONDITION_FAILED: 42800,
  TOO_MANY_REQUESTS: 42900,
  MESSAGE_PROPERTIES_TOO_LARGE: 43101,
  INTERNAL_ERROR: 50000,
  INTERNAL_SERVER_ERROR: 50001,
  HA_NOT_AVAILABLE: 50002,
  NOT_IMPLEMENTED: 50100,
  PROXY_TIMEOUT: 50400,
  MASTER_PERSISTENCE_TIMEOUT: 50401,
  SLAVE_PERSISTENCE_TIMEOUT: 50402,
  UNSUPPORTED: 50500,
  VERSION_UNSUPPORTED: 50501,
  FAILED_TO_CONSUME_MESSAGE: 60000,
} as const;
export type Code = (typeof Code)[keyof typeof Code];

const CODE_NAMES = new Map<number, string>(Object.entries(Code).map(([name, value]) => [value, name]));

export function codeName(code: number): string {
  return CODE_NAMES.get(code) ?? String(code);
}

/** A request the gateway refuses with a specific code; it never leaves the gateway as an exception. */
export class StatusError extends Error {
  constructor(readonly code: Code, message: string) {
    super(message);
    this.name = 'StatusError';
  }
}

export function status(code: number, message?: string): StatusPb {
  return { code, message: message ?? codeName(code) };
}

export const OK_STATUS: StatusPb = status(Code.OK);

/** TideError catalogue code → the Code a gRPC client expects for the same failure. */
const TIDE_ERROR_CODES: Partial<Record<ErrorCode, Code>> = {
  TOPIC_NAME_INVALID: Code.ILLEGAL_TOPIC,
  GROUP_NAME_INVALID: Code.ILLEGAL_CONSUMER_GROUP,
  MESSAGE_BODY_TOO_LARGE: Code.MESSAGE_BODY_TOO_LARGE,
  MESSAGE_PROPERTIES_TOO_LARGE: Code.MESSAGE_PROPERTIES_TOO_LARGE,
  MESSAGE_ILLEGAL: Code.BAD_REQUEST,
  INVALID_PARAMETER: Code.BAD_REQUEST,
  QUEUE_ID_INVALID: Code.BAD_REQUEST,
  SYSTEM_BUSY: Code.TOO_MANY_REQUESTS,
  FLUSH_DISK_TIMEOUT: Code.MASTER_PERSISTENCE_TIMEOUT,
  TOPIC_NOT_EXIST: Code.TOPIC_NOT_FOUND,
  SUBSCRIPTION_GROUP_NOT_EXIST: Code.CONSUMER_GROUP_NOT_FOUND,
  NO_PERMISSION: Code.FORBIDDEN,
  REQUEST_CODE_NOT_SUPPORTED: Code.NOT_IMPLEMENTED,
  REQUEST_TIMEOUT: Code.PROXY_TIMEOUT,
};

/** Remoting response code of a broker handler's answer → Code. */
export function codeOfResponse(responseCode: number): Code {
  switch (responseCode) {
    case ResponseCode.SUCCESS: return Code.OK;
    case ResponseCode.SYSTEM_BUSY: return Code.TOO_MANY_REQUESTS;
    case ResponseCode.REQUEST_CODE_NOT_SUPPORTED: return Code.NOT_IMPLEMENTED;
    case ResponseCode.FLUSH_DISK_TIMEOUT: return Code.MASTER_PERSISTENCE_TIMEOUT;
    case ResponseCode.FLUSH_SLAVE_TIMEOUT: return Code.SLAVE_PERSISTENCE_TIMEOUT;
    case ResponseCode.SLAVE_NOT_AVAILABLE: return Code.HA_NOT_AVAILABLE;
    case ResponseCode.MESSAGE_ILLEGAL: return Code.BAD_REQUEST;
    case ResponseCode.INVALID_PARAMETER: return Code.BAD_REQUEST;
    case ResponseCode.NO_PERMISSION: return Code.FORBIDDEN;
    case ResponseCode.TOPIC_NOT_EXIST: return Code.TOPIC_NOT_FOUND;
    case ResponseCode.SUBSCRIPTION_GROUP_NOT_EXIST: return Code.CONSUMER_GROUP_NOT_FOUND;
    case ResponseCode.TRANSACTION_FAILED: return Code.INVALID_TRANSACTION_ID;
    // RECALL_MESSAGE's answer to a handle that is malformed, foreign or past its time.
    case ResponseCode.ILLEGAL_OPERATION: return Code.BAD_REQUEST;
    default: return Code.INTERNAL_SERVER_ERROR;
  }
}

/** The status for a failure; `unexpected` is told about errors that are not operating errors. */
export function statusOfError(error: unknown, unexpected?: (error: unknown) => void): StatusPb {
  if (error instanceof StatusError) return status(error.code, error.message);
  if (isTideError(error)) {
    return status(TIDE_ERROR_CODES[error.code] ?? codeOfResponse(error.responseCode), error.message);
  }
  unexpected?.(error);
  const message = error instanceof Error ? error.message : String(error);
  return status(Code.INTERNAL_SERVER_ERROR, `internal error: ${message.slice(0, 200)}`);
}
