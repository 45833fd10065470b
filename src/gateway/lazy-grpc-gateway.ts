/**
 * The gRPC endpoint as `tidemq start` runs it: listening from the start, but loading grpc-js,
 * protobufjs, the .proto files and the gateway's own modules only when the first client connects.
 *
 * Why: most brokers never see a gRPC client, and loading all that costs every broker about 7 MiB of
 * anonymous memory and ~100-150 ms of start time (measured with bench/race/broker-memory.ts; the
 * numbers are in bench/race/broker-memory.md). The port is bound at start like before, so a port clash still
 * fails the start and clients can connect at any time: connections that arrive while the gateway
 * loads are held paused (at most MAX_CONNECTIONS_WAITING_FOR_LOAD; past it they are closed, and a
 * gRPC client reconnects) and handed to it once it is there. If loading fails (the .proto files are
 * missing, say), the error is logged, the waiting connections are closed and the next connection
 * tries again.
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { BrokerDeps } from '../broker/broker-deps.js';
import { createLogger, type Logger } from '../common/logger.js';
import type { GrpcGatewayOptions } from './grpc/grpc-gateway.js';
import type { PopPort } from './grpc/receipt-renewer.js';

/** Connections held while the gateway loads; a flood of them cannot grow memory without bound. */
const MAX_CONNECTIONS_WAITING_FOR_LOAD = 1024;

interface LoadedGateway {
  close(): Promise<void>;
}

export class LazyGrpcGateway {
  private readonly logger: Logger;
  private listener: Server | null = null;
  private port = 0;
  private gateway: LoadedGateway | null = null;
  private inject: ((connection: Socket) => void) | null = null;
  private loading: Promise<void> | null = null;
  private readonly waiting = new Set<Socket>();
  private state: 'new' | 'running' | 'closing' | 'closed' = 'new';

  /** `popOf` is called once, when the gateway loads (the broker's PopService is created on demand too). */
  constructor(private readonly deps: BrokerDeps, private readonly popOf: () => PopPort, private readonly options: GrpcGatewayOptions) {
    this.logger = options.logger ?? createLogger({ name: 'grpc-gateway' });
  }

  /** Whether a client has connected and the gRPC code is loaded (tests and benchmarks). */
  get loaded(): boolean {
    return this.inject !== null;
  }

  /** Listens; resolves with the bound port. */
  async start(): Promise<number> {
    if (this.state !== 'new') throw new Error(`cannot start a gRPC gateway that is ${this.state}`);
    const listener = createServer({ pauseOnConnect: true }, (socket) => this.onConnection(socket));
    this.port = await new Promise<number>((resolve, reject) => {
      listener.once('error', reject);
      listener.listen(this.options.port, this.options.host ?? '0.0.0.0', () => {
        listener.removeListener('error', reject);
        resolve((listener.address() as { port: number }).port);
      });
    });
    listener.on('error', (error) => this.logger.error({ err: error }, 'gRPC listener failed'));
    this.listener = listener;
    this.state = 'running';
    return this.port;
  }

  /** Stops accepting, closes connections still waiting, and closes the gateway if it was loaded. */
  async close(): Promise<void> {
    if (this.state === 'new') {
      this.state = 'closed';
      return;
    }
    if (this.state !== 'running') return;
    this.state = 'closing';
    const listener = this.listener;
    this.listener = null;
    const listenerClosed = listener === null ? Promise.resolve() : new Promise<void>((resolve) => listener.close(() => resolve()));
    for (const socket of this.waiting) socket.destroy();
    this.waiting.clear();
    await this.loading;
    await this.gateway?.close();
    await listenerClosed;
    this.state = 'closed';
  }

  private onConnection(socket: Socket): void {
    if (this.inject !== null) {
      this.inject(socket);
      return;
    }
    if (this.state !== 'running' || this.waiting.size >= MAX_CONNECTIONS_WAITING_FOR_LOAD) {
      socket.destroy();
      return;
    }
    this.waiting.add(socket);
    // Until the gateway owns it, a reset by the peer must not become an uncaught 'error'.
    socket.on('error', ignoreError);
    socket.once('close', () => this.waiting.delete(socket));
    this.loading ??= this.load();
  }

  private async load(): Promise<void> {
    const startedMs = performance.now();
    try {
      const { GrpcGateway } = await import('./grpc/grpc-gateway.js');
      if (this.state !== 'running') return;
      const gateway = new GrpcGateway(this.deps, this.popOf(), { ...this.options, logger: this.logger });
      this.gateway = gateway;
      const inject = gateway.attach(this.port);
      this.inject = (socket) => {
        socket.removeListener('error', ignoreError);
        inject(socket);
        // Accepted paused (pauseOnConnect); the HTTP/2 session reads from it from now on.
        socket.resume();
      };
      this.logger.info({ port: this.port, loadMs: Math.round(performance.now() - startedMs) }, 'gRPC gateway loaded on its first connection');
      for (const socket of this.waiting) {
        if (!socket.destroyed) this.inject(socket);
      }
      this.waiting.clear();
    } catch (error) {
      this.logger.error({ err: error }, 'loading the gRPC gateway failed; closing the connections that waited for it');
      for (const socket of this.waiting) socket.destroy();
      this.waiting.clear();
      this.loading = null;
    }
  }
}

function ignoreError(): void {
  // The connection is closed and removed from the waiting set by its 'close' event.
}
