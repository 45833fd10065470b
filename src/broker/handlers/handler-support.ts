/**
 * What every broker handler shares: building answers, and the wrapper that turns thrown operating
 * errors into answers (TideError → its response code and message; anything else → SYSTEM_ERROR with a
 * short remark, logged with its stack here and never sent to the client). Oneway requests get nothing.
 */
import { ResponseCode, isTideError } from '../../common/errors.js';
import type { Logger } from '../../common/logger.js';
import { createResponse, isOneway, type RemotingCommand, type RequestHandler } from '../../protocol/remoting-command.js';

export function answer(
  request: RemotingCommand,
  code: number = ResponseCode.SUCCESS,
  remark?: string,
  extFields?: Record<string, string>,
  body?: Buffer,
): RemotingCommand {
  return createResponse(request, code, remark, extFields, body);
}

export function errorAnswer(request: RemotingCommand, error: unknown, logger: Logger): RemotingCommand {
  if (isTideError(error)) return createResponse(request, error.responseCode, error.message);
  logger.error({ err: error, code: request.code }, 'request handler failed');
  const message = error instanceof Error ? error.message : String(error);
  return createResponse(request, ResponseCode.SYSTEM_ERROR, `internal error: ${message.slice(0, 200)}`);
}

/** The answer to a request whose handler failed: none for a oneway request (logged unless a TideError). */
function failedAnswer(request: RemotingCommand, error: unknown, logger: Logger): RemotingCommand | null {
  if (isOneway(request)) {
    if (!isTideError(error)) logger.error({ err: error, code: request.code }, 'oneway request handler failed');
    return null;
  }
  return errorAnswer(request, error, logger);
}

/**
 * Wraps a handler so its errors become answers (or nothing, for oneway requests). The error callback
 * is made only for a handler that returned a promise: a closure per request showed in send profiles.
 */
export function guarded(handler: RequestHandler, logger: Logger): RequestHandler {
  return (request, context) => {
    try {
      const result = handler(request, context);
      if (result instanceof Promise) return result.catch((error: unknown) => failedAnswer(request, error, logger));
      return result;
    } catch (error) {
      return failedAnswer(request, error, logger);
    }
  };
}

/** JSON body of an answer. */
export function jsonBody(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value), 'utf8');
}

/** Parses a JSON request body into an object; INVALID_PARAMETER-style errors are the caller's. */
export function parseJsonBody(body: Buffer | undefined): Record<string, unknown> | undefined {
  if (!body || body.length === 0) return undefined;
  try {
    const parsed: unknown = JSON.parse(body.toString('utf8'));
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
