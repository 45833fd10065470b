/**
 * The remoting TCP server of the name server and the broker. It may listen on several ports (the
 * broker listens on its port and on port − 2 for old Java clients' "VIP channel"), runs every request
 * through the handler table, and lets handlers call the client back on the same connection
 * (CHECK_TRANSACTION_STATE, NOTIFY_CONSUMER_IDS_CHANGED, GET_CONSUMER_RUNNING_INFO).
 * Per-connection limits and backpressure are described in socket-connection.ts.
 */
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { assert } from '../common/assert.js';
import type { HandlerTable, RemotingConnection } from '../protocol/remoting-command.js';
import { completeLogger, type RemotingLogger } from './remoting-logger.js';
import { SocketConnection, type ConnectionSettings } from './socket-connection.js';

export interface RemotingServerOptions {
  handlers: HandlerTable;
  logger?: RemotingLogger;
  /** Handlers running at once per connection; more requests are answered SYSTEM_BUSY. Default 256. */
  maxInFlightRequestsPerConnection?: number;
  /**
   * Bytes queued for one peer. Reading from it pauses above a quarter of this (at most 4 MiB) until
   * its socket drains; an answer that would go past the whole limit closes the connection. Default 64 MiB.
   */
  maxQueuedOutboundBytesPerConnection?: number;
  /** A connection with no traffic and nothing outstanding for this long is closed. Default 120 s; 0 = never. */
  idleTimeoutMs?: number;
  /** A handler promise unsettled for this long is answered SYSTEM_ERROR and its slot freed. Default 60 s; 0 = never. */
  requestTimeoutMs?: number;
  /** Requests the server itself may have outstanding per connection (server→client invoke). Default 1024. */
  maxPendingInvokesPerConnection?: number;
  /** Connections accepted at once over all ports. Default 10,000. */
  maxConnections?: number;
  /** How long close() waits for in-flight and held requests to be answered. Default 1000 ms. */
  closeGraceMs?: number;
}

const CLOSE_POLL_INTERVAL_MS = 10;

export class RemotingServer {
  private readonly settings: ConnectionSettings;
  private readonly maxConnections: number;
  private readonly closeGraceMs: number;
  private readonly servers: Server[] = [];
  private readonly live = new Set<SocketConnection>();
  private readonly closedListeners: ((connection: RemotingConnection) => void)[] = [];
  private closing: Promise<void> | undefined;

  constructor(options: RemotingServerOptions) {
    const maxQueuedOutboundBytes = options.maxQueuedOutboundBytesPerConnection ?? 64 * 1024 * 1024;
    this.settings = {
      handlers: options.handlers,
      logger: completeLogger(options.logger),
      maxRunningHandlers: options.maxInFlightRequestsPerConnection ?? 256,
      maxPendingInvokes: options.maxPendingInvokesPerConnection ?? 1024,
      maxQueuedOutboundBytes,
      pauseReadingAboveBytes: Math.min(Math.floor(maxQueuedOutboundBytes / 4), 4 * 1024 * 1024),
      handlerTimeoutMs: options.requestTimeoutMs ?? 60_000,
      idleTimeoutMs: options.idleTimeoutMs ?? 120_000,
    };
    assert(this.settings.maxRunningHandlers >= 1, 'maxInFlightRequestsPerConnection must be at least 1');
    assert(maxQueuedOutboundBytes >= 256 * 1024, 'maxQueuedOutboundBytesPerConnection must be at least 256 KiB');
    this.maxConnections = options.maxConnections ?? 10_000;
    this.closeGraceMs = options.closeGraceMs ?? 1000;
  }

  /** Starts accepting on `port` (0 = an ephemeral port) and resolves with the port bound. */
  listen(port: number, host?: string): Promise<number> {
    if (this.closing !== undefined) return Promise.reject(new Error('TideMQ assertion: listen() after close()'));
    const server = createServer({ noDelay: true }, this.onConnection);
    server.maxConnections = this.maxConnections;
    this.servers.push(server);
    return new Promise<number>((resolve, reject) => {
      const onListenError = (error: Error): void => {
        this.servers.splice(this.servers.indexOf(server), 1);
        reject(error);
      };
      server.once('error', onListenError);
      server.listen(port, host, () => {
        server.off('error', onListenError);
        server.on('error', (error) => this.settings.logger.error({ err: error }, 'remoting server error'));
        resolve((server.address() as AddressInfo).port);
      });
    });
  }

  connections(): Iterable<RemotingConnection> {
    return this.live.values();
  }

  /** Calls `listener` once for every connection that closes, for whatever reason. */
  onConnectionClosed(listener: (connection: RemotingConnection) => void): void {
    this.closedListeners.push(listener);
  }

  /**
   * Stops accepting, waits up to closeGraceMs for in-flight and held requests to be answered, then
   * closes every connection (queued answers are still flushed).
   */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    const stopped = this.servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve())));
    const deadline = Date.now() + this.closeGraceMs;
    while (Date.now() < deadline && this.hasOutstandingRequests()) {
      await new Promise((resolve) => setTimeout(resolve, CLOSE_POLL_INTERVAL_MS));
    }
    for (const connection of this.live) connection.close();
    await Promise.all(stopped);
  }

  private hasOutstandingRequests(): boolean {
    for (const connection of this.live) {
      if (connection.runningHandlerCount > 0 || connection.unansweredRequests > 0) return true;
    }
    return false;
  }

  private readonly onConnection = (socket: Socket): void => {
    if (this.closing !== undefined) {
      socket.destroy();
      return;
    }
    const connection = new SocketConnection(socket, this.settings);
    this.live.add(connection);
    this.settings.logger.debug({ remoteAddress: connection.remoteAddress, localAddress: connection.localAddress }, 'remoting connection opened');
    connection.onClose(() => {
      this.live.delete(connection);
      for (const listener of this.closedListeners) {
        try {
          listener(connection);
        } catch (error) {
          this.settings.logger.error({ err: error }, 'connection-closed listener failed');
        }
      }
    });
  };
}
