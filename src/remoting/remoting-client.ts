/**
 * The remoting TCP client used by the TypeScript SDK, by the broker (registering with name servers)
 * and by tests. One connection per `host:port`, opened on first use and shared by every request to
 * that address: many requests are in flight at once and answers are matched by opaque, so a slow
 * request never holds up the others. A connection that dies is dropped; the next request reconnects.
 * Requests from the server on our connections (CHECK_TRANSACTION_STATE, NOTIFY_CONSUMER_IDS_CHANGED,
 * GET_CONSUMER_RUNNING_INFO) go to `handlers`.
 */
import { connect, type Socket } from 'node:net';
import { TideError } from '../common/errors.js';
import type { HandlerTable, RemotingCommand } from '../protocol/remoting-command.js';
import { completeLogger, type RemotingLogger } from './remoting-logger.js';
import { SocketConnection, type ConnectionSettings } from './socket-connection.js';
import { monotonicNowMs } from './timeout-sweeper.js';

export interface RemotingClientOptions {
  /** Default 3000 ms. */
  connectTimeoutMs?: number;
  /** Default timeout of invoke(), connecting included. Default 3000 ms. */
  requestTimeoutMs?: number;
  logger?: RemotingLogger;
  /** Handlers for requests the server sends us. Unknown codes answer REQUEST_CODE_NOT_SUPPORTED. */
  handlers?: HandlerTable;
  /** Requests waiting for answers per connection; past it invoke rejects with SYSTEM_BUSY. Default 65,536. */
  maxInFlightPerConnection?: number;
  /** Bytes queued per connection before invoke rejects with SYSTEM_BUSY. Default 64 MiB. */
  maxQueuedOutboundBytesPerConnection?: number;
  /** Close connections idle this long (the server has its own idle timeout). Default 0 = never. */
  idleTimeoutMs?: number;
}

/** Server→client requests handled at once per connection; they are rare and small. */
const MAX_RUNNING_HANDLERS = 64;

interface Endpoint {
  connection: SocketConnection | undefined;
  connecting: Promise<SocketConnection> | undefined;
}

export class RemotingClient {
  private readonly connectTimeoutMs: number;
  private readonly requestTimeoutMs: number;
  private readonly settings: ConnectionSettings;
  private readonly endpoints = new Map<string, Endpoint>();
  private isClosed = false;

  constructor(options: RemotingClientOptions = {}) {
    this.connectTimeoutMs = options.connectTimeoutMs ?? 3000;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 3000;
    const maxQueuedOutboundBytes = options.maxQueuedOutboundBytesPerConnection ?? 64 * 1024 * 1024;
    this.settings = {
      handlers: options.handlers ?? new Map(),
      logger: completeLogger(options.logger),
      maxRunningHandlers: MAX_RUNNING_HANDLERS,
      maxPendingInvokes: options.maxInFlightPerConnection ?? 65_536,
      maxQueuedOutboundBytes,
      // The client never stops reading: answers must keep flowing even while our sends queue up.
      pauseReadingAboveBytes: Number.POSITIVE_INFINITY,
      handlerTimeoutMs: 60_000,
      idleTimeoutMs: options.idleTimeoutMs ?? 0,
    };
  }

  /**
   * Sends `request` to `address` (`host:port`) and resolves with the answer, whatever its code.
   * Rejects with TideError CONNECT_FAILED, REQUEST_TIMEOUT (connecting counts against `timeoutMs`),
   * CONNECTION_CLOSED, ABORTED or SYSTEM_BUSY (too much outstanding on the connection).
   */
  invoke(address: string, request: RemotingCommand, timeoutMs: number = this.requestTimeoutMs, signal?: AbortSignal): Promise<RemotingCommand> {
    const connection = this.endpoints.get(address)?.connection;
    if (connection !== undefined && !connection.closed) return connection.invokeWithSignal(request, timeoutMs, signal);
    return this.connectThenInvoke(address, request, timeoutMs, signal);
  }

  /** Sends a oneway request; resolves once it is queued on the connection. */
  async invokeOneway(address: string, request: RemotingCommand): Promise<void> {
    const connection = await this.connection(address);
    if (!connection.invokeOneway(request)) {
      throw connection.closed
        ? new TideError('CONNECTION_CLOSED', `connection to ${address} closed before oneway request code ${request.code} was sent`)
        : new TideError('SYSTEM_BUSY', `too many bytes queued for ${address}`);
    }
  }

  /** The open connection to `address`, connecting when there is none. */
  connection(address: string, signal?: AbortSignal): Promise<SocketConnection> {
    if (this.isClosed) return Promise.reject(new TideError('CONNECTION_CLOSED', 'the remoting client is closed'));
    if (signal?.aborted) return Promise.reject(new TideError('ABORTED', `connecting to ${address} aborted`));
    let endpoint = this.endpoints.get(address);
    if (endpoint === undefined) {
      endpoint = { connection: undefined, connecting: undefined };
      this.endpoints.set(address, endpoint);
    }
    if (endpoint.connection !== undefined && !endpoint.connection.closed) return Promise.resolve(endpoint.connection);
    if (endpoint.connecting === undefined) {
      const attempt = this.open(address, endpoint);
      endpoint.connecting = attempt;
      // Whoever started the attempt may have gone; the next caller must be able to try again.
      attempt.then(
        () => {
          if (endpoint.connecting === attempt) endpoint.connecting = undefined;
        },
        () => {
          if (endpoint.connecting === attempt) endpoint.connecting = undefined;
          if (endpoint.connection === undefined && this.endpoints.get(address) === endpoint) this.endpoints.delete(address);
        },
      );
    }
    return signal === undefined ? endpoint.connecting : raceAbort(endpoint.connecting, signal, address);
  }

  /** Closes every connection; pending requests fail with CONNECTION_CLOSED and later calls are refused. */
  async close(): Promise<void> {
    this.isClosed = true;
    const closing: Promise<void>[] = [];
    for (const endpoint of this.endpoints.values()) {
      const connection = endpoint.connection;
      if (connection === undefined) continue;
      if (!connection.closed) closing.push(new Promise((resolve) => connection.onClose(resolve)));
      connection.close();
    }
    this.endpoints.clear();
    await Promise.all(closing);
  }

  private async connectThenInvoke(address: string, request: RemotingCommand, timeoutMs: number, signal: AbortSignal | undefined): Promise<RemotingCommand> {
    const startedMs = monotonicNowMs();
    const connection = await this.connection(address, signal);
    const remainingMs = timeoutMs - (monotonicNowMs() - startedMs);
    if (remainingMs <= 0) throw new TideError('REQUEST_TIMEOUT', `connecting to ${address} used up the ${timeoutMs} ms of request code ${request.code}`);
    return connection.invokeWithSignal(request, remainingMs, signal);
  }

  private open(address: string, endpoint: Endpoint): Promise<SocketConnection> {
    const target = parseAddress(address);
    if (target === undefined) return Promise.reject(new TideError('CONNECT_FAILED', `'${address}' is not a host:port address`));
    return new Promise<SocketConnection>((resolve, reject) => {
      const socket: Socket = connect({ host: target.host, port: target.port, noDelay: true });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new TideError('CONNECT_FAILED', `connecting to ${address} timed out after ${this.connectTimeoutMs} ms`));
      }, this.connectTimeoutMs);
      const onError = (error: Error): void => {
        clearTimeout(timer);
        reject(new TideError('CONNECT_FAILED', `cannot connect to ${address}: ${error.message}`, { cause: error }));
      };
      socket.once('error', onError);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.off('error', onError);
        if (this.isClosed) {
          socket.destroy();
          reject(new TideError('CONNECTION_CLOSED', 'the remoting client is closed'));
          return;
        }
        const connection = new SocketConnection(socket, this.settings);
        endpoint.connection = connection;
        connection.onClose(() => {
          if (endpoint.connection === connection) endpoint.connection = undefined;
          if (this.endpoints.get(address) === endpoint && endpoint.connecting === undefined) this.endpoints.delete(address);
        });
        resolve(connection);
      });
    });
  }
}

/** `host:port`, `[v6]:port` or `v6:port` (the last colon splits). */
export function parseAddress(address: string): { host: string; port: number } | undefined {
  const colon = address.lastIndexOf(':');
  if (colon <= 0) return undefined;
  let host = address.slice(0, colon);
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  const portText = address.slice(colon + 1);
  if (!/^\d{1,5}$/.test(portText)) return undefined;
  const port = Number(portText);
  if (port < 1 || port > 65535 || host.length === 0) return undefined;
  return { host, port };
}

function raceAbort<T>(promise: Promise<T>, signal: AbortSignal, address: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(new TideError('ABORTED', `connecting to ${address} aborted`));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
