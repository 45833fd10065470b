/**
 * The RocketMQ remoting command as TideMQ handles it in memory, and the contract between the remoting
 * server and the request handlers of the name server and the broker. The frame codec lives in
 * `remoting-codec.ts`.
 */
import { ResponseCode } from '../common/errors.js';

export const RemotingFlag = {
  RESPONSE: 0x1,
  ONEWAY: 0x2,
} as const;

/** Language names as JSON headers carry them; index = the binary header's int8. */
export const LANGUAGE_CODES = ['JAVA', 'CPP', 'DOTNET', 'PYTHON', 'DELPHI', 'ERLANG', 'RUBY', 'OTHER', 'HTTP', 'GO', 'PHP', 'OMS', 'RUST', 'NODE_JS'] as const;

/** TideMQ's own MQVersion ordinal as sent on the wire (V5_3_3). */
export const TIDEMQ_VERSION_ORDINAL = 479;

export interface RemotingCommand {
  code: number;
  /** Language name (JSON form), e.g. `JAVA`. */
  language: string;
  version: number;
  opaque: number;
  flag: number;
  remark?: string | undefined;
  /** Header fields; every scalar turned into a string on decode. */
  extFields?: Record<string, string> | undefined;
  body?: Buffer | undefined;
  /**
   * Optional: writes `extFields` faster than the general loop for a request shape made in one place
   * (the producer's SEND_MESSAGE_V2), byte for byte what the loop writes. Only the direct JSON writer
   * uses it; the string path and the binary header read `extFields`.
   */
  extFieldsEncoder?: ExtFieldsEncoder | undefined;
}

/**
 * Writes the entries of `extFields` as JSON after the opening `{`, through the closing `}`, into `out`
 * from `position`, leaving `reserveBytes` free before the end of `out`; returns the position after
 * `}`, or -1 when it cannot (text outside ASCII, no room, a shape it does not know), and the general
 * writer then writes the fields itself.
 */
export interface ExtFieldsEncoder {
  write(extFields: Record<string, string>, out: Buffer, position: number, reserveBytes: number): number;
}

export function isResponse(command: RemotingCommand): boolean {
  return (command.flag & RemotingFlag.RESPONSE) !== 0;
}

export function isOneway(command: RemotingCommand): boolean {
  return (command.flag & RemotingFlag.ONEWAY) !== 0;
}

let nextOpaque = 1;
/** Opaque ids for requests this process originates. */
export function allocateOpaque(): number {
  const opaque = nextOpaque;
  nextOpaque = nextOpaque >= 0x7fffffff ? 1 : nextOpaque + 1;
  return opaque;
}

export function createRequest(code: number, extFields?: Record<string, string>, body?: Buffer): RemotingCommand {
  return { code, language: 'JAVA', version: TIDEMQ_VERSION_ORDINAL, opaque: allocateOpaque(), flag: 0, extFields, body };
}

export function createResponse(
  request: RemotingCommand,
  code: number = ResponseCode.SUCCESS,
  remark?: string,
  extFields?: Record<string, string>,
  body?: Buffer,
): RemotingCommand {
  return {
    code,
    language: 'JAVA',
    version: TIDEMQ_VERSION_ORDINAL,
    opaque: request.opaque,
    flag: RemotingFlag.RESPONSE,
    remark,
    extFields,
    body,
  };
}

/** What a handler knows about the connection a request came on. */
export interface RemotingConnection {
  /** Unique per connection within the process. */
  readonly id: number;
  /** `ip:port` of the peer. */
  readonly remoteAddress: string;
  /** Local `ip:port` the peer connected to. */
  readonly localAddress: string;
  /** Sends a request to the peer and resolves with its answer (rejects on timeout or close). */
  invoke(request: RemotingCommand, timeoutMs: number): Promise<RemotingCommand>;
  /** Sends a oneway request to the peer; false when the connection is closed or over its limit. */
  invokeOneway(request: RemotingCommand): boolean;
  readonly closed: boolean;
  close(): void;
  /** Subscribes to close; called at most once. */
  onClose(listener: () => void): void;
}

/**
 * A request handler. Returns the response, or null for oneway requests and requests answered later
 * (long polling keeps the request and answers through `ctx.reply`).
 */
export type RequestHandler = (
  request: RemotingCommand,
  context: RequestContext,
) => RemotingCommand | null | Promise<RemotingCommand | null>;

export interface RequestContext {
  readonly connection: RemotingConnection;
  /** Sends a (late) response for this request; ignored for oneway requests or closed connections. */
  reply(response: RemotingCommand): void;
}

/**
 * What the remoting server's contexts offer besides RequestContext (in-process callers such as the
 * gateways pass plain RequestContexts, so a handler checks with `isDeferrable` first):
 * - `defer()`: the handler will answer later (it then returns null) and keeps its running-handler slot
 *   until it does, so the connection's in-flight limit still holds; it must answer exactly once.
 * - `replyEncoded(bytes, start, end)`: the answer as a whole frame the handler encoded itself, with the
 *   request's opaque and the response flag; the bytes are copied, so they may be a scratch buffer.
 */
export interface DeferrableRequestContext extends RequestContext {
  defer(): void;
  replyEncoded(bytes: Buffer, start: number, end: number): void;
}

export function isDeferrable(context: RequestContext): context is DeferrableRequestContext {
  return typeof (context as Partial<DeferrableRequestContext>).replyEncoded === 'function';
}

/** Request code → handler; unknown codes answer REQUEST_CODE_NOT_SUPPORTED. */
export type HandlerTable = ReadonlyMap<number, RequestHandler>;
