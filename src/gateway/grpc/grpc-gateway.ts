/**
 * The RocketMQ 5.x gRPC endpoint (`apache.rocketmq.v2.MessagingService`, port 8081 by default), so the
 * official 5.x clients work against TideMQ unchanged. It is an adapter onto the broker's internal API
 * (BrokerDeps: managers, the message writer, the store's read side) and the broker's PopService; it
 * never writes to the store on its own. Composition root of the gateway: it resolves the options, builds
 * the collaborators and maps each RPC to its implementation file:
 *
 *   QueryRoute, QueryAssignment            route-service.ts
 *   SendMessage                            send-service.ts
 *   ReceiveMessage                         receive-service.ts
 *   AckMessage, ChangeInvisibleDuration,
 *   ForwardMessageToDeadLetterQueue        ack-service.ts
 *   Heartbeat, Telemetry,
 *   NotifyClientTermination                client-service.ts
 *   EndTransaction (+ check-back)          transaction-service.ts
 *   PullMessage, UpdateOffset, GetOffset,
 *   QueryOffset                            offset-service.ts
 *   RecallMessage, SyncLiteSubscription    here (the broker has neither: NOT_IMPLEMENTED)
 *
 * Every failure is answered in the response's `status` with the RocketMQ code the clients expect; the
 * gRPC status stays OK. Requests that do not decode are answered by grpc-js itself (INTERNAL) and the
 * server carries on. Plain text by default; TLS when `tls` is given (RocketMQ's Java clients default to
 * TLS, the Node client to plain text; one port serves one of the two).
 */
import {
  Server,
  ServerCredentials,
  type sendUnaryData,
  type ServerDuplexStream,
  type ServerUnaryCall,
  type ServerWritableStream,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import type { Duplex } from 'node:stream';
import type { BrokerDeps } from '../../broker/broker-deps.js';
import { createHandlerTable } from '../../broker/handlers/handler-table.js';
import { parseDelayLevels } from '../../broker/schedule/delay-levels.js';
import { createLogger, type Logger } from '../../common/logger.js';
import type { HandlerTable } from '../../protocol/remoting-command.js';
import { RequestCode } from '../../protocol/request-code.js';
import { ResponseCode } from '../../common/errors.js';
import { ackMessage, changeInvisibleDuration, forwardMessageToDeadLetterQueue } from './ack-service.js';
import { BrokerCalls } from './broker-calls.js';
import { ChannelRegistry, GrpcClientChannel, type TelemetryWriter } from './client-channel.js';
import { ClientService } from './client-service.js';
import { DEFAULT_SETTINGS_POLICY } from './client-settings.js';
import { Code, codeOfResponse, OK_STATUS, status, statusOfError, StatusError } from './code.js';
import type { GatewayContext, GatewaySettings } from './gateway-context.js';
import { DEFAULT_INBOUND_LIMITS } from './inbound-message.js';
import { loadMessagingService } from './messaging-service.js';
import { getOffset, pullMessage, PullWaiters, queryOffset, updateOffset, type PullMessageResponsePb } from './offset-service.js';
import type { RecallMessageRequestPb, StatusPb, TelemetryCommandPb } from './proto-types.js';
import { ReceiptRenewer, DEFAULT_RENEWER_OPTIONS, type PopPort, type RenewerOptions } from './receipt-renewer.js';
import { ReceiveLimiter, receiveMessage, type ReceiveMessageResponsePb } from './receive-service.js';
import { callContext, type CallContext } from './request-context.js';
import { queryAssignment, queryRoute } from './route-service.js';
import { sendMessage } from './send-service.js';
import { createBrokerRequestTranslator, endTransaction } from './transaction-service.js';
import { validateTopic } from './validators.js';

export { DEFAULT_GRPC_PORT } from './grpc-port.js';

export interface GrpcGatewayOptions {
  /** Port to listen on (0 = ephemeral); RocketMQ's proxy uses 8081. */
  port: number;
  /** Address to bind (default 0.0.0.0). */
  host?: string;
  /** Host clients are told to connect to in routes; '' = the host of the access point they used. */
  advertisedHost: string;
  /** Port clients are told to connect to (default: the bound port; set it behind a port mapping). */
  advertisedPort?: number;
  tls?: { keyPem: string; certPem: string };
  logger?: Logger;
  /**
   * The broker's request table, for the operations the broker owns (transactional sends,
   * END_TRANSACTION, CONSUMER_SEND_MSG_BACK, RECALL_MESSAGE). Default: a table built from `deps` with
   * the broker's createHandlerTable — pass the broker's own table when handlers are registered outside it.
   */
  brokerHandlers?: HandlerTable;
  /** Where the .proto files are (default `<repo>/proto`). */
  protoDir?: string;
  /**
   * How delivery times are honoured: 'timer' (default: TIMER_DELIVER_MS, parked by the broker's timer
   * at the exact time) or 'level' (the proxy's useDelayLevel: the time becomes the next 4.x delay
   * level, never earlier; for brokers running with the timer off).
   */
  delayMode?: 'level' | 'timer';
  /** Longest wait a delivery time may ask for (default 1 day). */
  maxDelayTimeMs?: number;
  /** Shortest invisible time a receive may ask for (default 10 s). */
  minInvisibleTimeMsForReceive?: number;
  /** Longest invisible time (default 12 h). */
  maxInvisibleTimeMs?: number;
  /** Long-polling bounds of receives (default 5 s – 20 s). */
  minLongPollingTimeoutMs?: number;
  maxLongPollingTimeoutMs?: number;
  /** The PopService's shortest invisible time (its minInvisibleTimeMs option; default 1 s). */
  popMinInvisibleTimeMs?: number;
  /** Auto-renewal of push consumers' messages. */
  autoRenew?: Partial<RenewerOptions>;
  /** Most gRPC clients served at once (default 100,000). */
  maxClients?: number;
  /** Most ReceiveMessage calls waiting at once (default 10,000); past it TOO_MANY_REQUESTS. */
  maxConcurrentReceives?: number;
  /** Largest request accepted, in bytes (default 64 MiB). */
  maxInboundMessageBytes?: number;
}

function resolveSettings(deps: BrokerDeps, options: GrpcGatewayOptions): GatewaySettings {
  const delayMode = options.delayMode ?? 'timer';
  return {
    advertisedHost: options.advertisedHost,
    advertisedPort: options.advertisedPort ?? options.port,
    delay: delayMode === 'timer' ? { mode: 'timer' } : { mode: 'level', levelsMs: parseDelayLevels(deps.config.messageDelayLevel) },
    inboundLimits: {
      ...DEFAULT_INBOUND_LIMITS,
      maxBodyBytes: deps.config.maxMessageSize,
      maxDelayMs: options.maxDelayTimeMs ?? DEFAULT_INBOUND_LIMITS.maxDelayMs,
    },
    settingsPolicy: {
      ...DEFAULT_SETTINGS_POLICY,
      maxMessageSizeBytes: deps.config.maxMessageSize,
      consumerLongPollingTimeoutMs: options.maxLongPollingTimeoutMs ?? DEFAULT_SETTINGS_POLICY.consumerLongPollingTimeoutMs,
    },
    minInvisibleTimeMsForReceive: options.minInvisibleTimeMsForReceive ?? 10_000,
    maxInvisibleTimeMs: options.maxInvisibleTimeMs ?? 12 * 60 * 60 * 1000,
    defaultInvisibleTimeMs: options.autoRenew?.invisibleTimeMs ?? DEFAULT_RENEWER_OPTIONS.invisibleTimeMs,
    minLongPollingTimeoutMs: options.minLongPollingTimeoutMs ?? 5_000,
    maxLongPollingTimeoutMs: options.maxLongPollingTimeoutMs ?? 20_000,
    longPollingReserveMs: 100,
    maxReceiveBatchSize: 32,
    maxConcurrentReceives: options.maxConcurrentReceives ?? 10_000,
    nackInvisibleTimeMs: 1_000,
    popMinInvisibleTimeMs: options.popMinInvisibleTimeMs ?? 1_000,
    maxInflatedBodyBytes: 16 * 1024 * 1024,
    maxPullBatchSize: 32,
    maxHeldPulls: 1_000,
  };
}

/** Closing waits this long for calls to finish before it cuts the connections. */
const SHUTDOWN_GRACE_MS = 3_000;
/** How often channels of silent clients are looked for. */
const CHANNEL_SWEEP_INTERVAL_MS = 30_000;

export class GrpcGateway {
  private readonly logger: Logger;
  private server: Server | null = null;
  private context: GatewayContext | null = null;
  private clientService: ClientService | null = null;
  private receiveLimiter: ReceiveLimiter | null = null;
  private pullWaiters: PullWaiters | null = null;
  /** Aborts the long polls in progress when the gateway closes. */
  private readonly activeCalls = new Set<AbortController>();
  private sweeper: NodeJS.Timeout | null = null;
  private state: 'new' | 'starting' | 'running' | 'closing' | 'closed' = 'new';

  constructor(private readonly deps: BrokerDeps, private readonly pop: PopPort, private readonly options: GrpcGatewayOptions) {
    this.logger = options.logger ?? createLogger({ name: 'grpc-gateway' });
  }

  /** Listens; resolves with the bound port. */
  async start(): Promise<number> {
    if (this.state !== 'new') throw new Error(`cannot start a gRPC gateway that is ${this.state}`);
    this.state = 'starting';
    const { options } = this;
    const host = options.host ?? '0.0.0.0';
    const { server, credentials } = this.createServer();
    const bindAddress = host.includes(':') ? `[${host}]:${options.port}` : `${host}:${options.port}`;
    let port: number;
    try {
      port = await new Promise<number>((resolve, reject) => {
        server.bindAsync(bindAddress, credentials, (error, boundPort) => (error ? reject(error) : resolve(boundPort)));
      });
    } catch (error) {
      this.state = 'closed';
      server.forceShutdown();
      throw error;
    }
    this.serve(server, port);
    return port;
  }

  /**
   * Serves connections that someone else accepted (LazyGrpcGateway listens on the port and loads
   * this module only when the first client connects): returns the function that hands such a
   * connection (plain TCP; TLS is added here when `tls` is set) to the gateway. `port` is where the
   * listener is bound, advertised to clients unless `advertisedPort` says otherwise.
   */
  attach(port: number): (connection: Duplex) => void {
    if (this.state !== 'new') throw new Error(`cannot attach a gRPC gateway that is ${this.state}`);
    this.state = 'starting';
    const { server, credentials } = this.createServer();
    const injector = server.createConnectionInjector(credentials);
    this.serve(server, port);
    return (connection) => injector.injectConnection(connection);
  }

  private createServer(): { server: Server; credentials: ServerCredentials } {
    const { options } = this;
    const maxInbound = options.maxInboundMessageBytes ?? 64 * 1024 * 1024;
    const server = new Server({
      'grpc.max_receive_message_length': maxInbound,
      'grpc.max_send_message_length': maxInbound,
      // Clients keep Telemetry streams open for their whole life; let them ping to keep NATs open.
      'grpc.keepalive_permit_without_calls': 1,
      // One client connection needs a handful of streams (Telemetry, long polls, calls); bound it.
      'grpc.max_concurrent_streams': 1024,
    });
    server.addService(loadMessagingService(options.protoDir), this.implementation());
    const credentials = options.tls
      ? ServerCredentials.createSsl(null, [{ private_key: Buffer.from(options.tls.keyPem), cert_chain: Buffer.from(options.tls.certPem) }], false)
      : ServerCredentials.createInsecure();
    return { server, credentials };
  }

  /** Builds the collaborators once `server` can take connections on `port`. */
  private serve(server: Server, port: number): void {
    const { options, deps } = this;
    const host = options.host ?? '0.0.0.0';
    this.server = server;
    const settings = resolveSettings(deps, { ...options, advertisedPort: options.advertisedPort ?? port });
    const broker = new BrokerCalls(options.brokerHandlers ?? createHandlerTable(deps));
    const translate = createBrokerRequestTranslator(() => this.requireContext());
    const renewer = new ReceiptRenewer(this.pop, { ...DEFAULT_RENEWER_OPTIONS, ...options.autoRenew }, this.logger);
    const maxClients = options.maxClients ?? 100_000;
    const channels = new ChannelRegistry(maxClients, `${host}:${port}`, translate, (channel) => this.clientService?.onChannelClosed(channel));
    this.context = { deps, pop: this.pop, broker, channels, renewer, settings, logger: this.logger };
    this.clientService = new ClientService(this.context, maxClients);
    this.receiveLimiter = new ReceiveLimiter(settings.maxConcurrentReceives);
    this.pullWaiters = new PullWaiters(settings.maxHeldPulls, (topic, queueId) => deps.store.getMaxOffsetInQueue(topic, queueId));
    renewer.start();
    this.sweeper = setInterval(() => channels.sweepSilent(Date.now(), deps.config.channelExpiredTimeout), CHANNEL_SWEEP_INTERVAL_MS);
    this.sweeper.unref();
    this.state = 'running';
    this.logger.info({ port, tls: options.tls !== undefined, advertised: `${settings.advertisedHost}:${settings.advertisedPort}` }, 'gRPC gateway listening');
  }

  /** Stops serving: long polls answered, client channels closed, held messages released, connections cut after a grace. */
  async close(): Promise<void> {
    if (this.state === 'new') {
      this.state = 'closed';
      return;
    }
    if (this.state === 'closing' || this.state === 'closed') return;
    this.state = 'closing';
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = null;
    for (const controller of this.activeCalls) controller.abort();
    this.pullWaiters?.wakeAll();
    const context = this.context;
    if (context) {
      context.renewer.stop();
      context.renewer.releaseAll();
      context.channels.closeAll();
    }
    const server = this.server;
    if (server) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, SHUTDOWN_GRACE_MS);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    this.state = 'closed';
    this.logger.info('gRPC gateway closed');
  }

  private requireContext(): GatewayContext {
    if (!this.context) throw new Error('the gRPC gateway is not started');
    return this.context;
  }

  private statusOf(error: unknown): StatusPb {
    return statusOfError(error, (unexpected) => this.logger.error({ err: unexpected }, 'gRPC request failed'));
  }

  /** Wraps a unary RPC: any failure becomes the response's status. */
  private unary<Request, Response>(run: (call: CallContext, request: Request) => Response | Promise<Response>) {
    return (call: ServerUnaryCall<Request, Response>, callback: sendUnaryData<Response>): void => {
      let context: CallContext;
      Promise.resolve()
        .then(() => {
          if (this.state !== 'running') throw new StatusError(Code.INTERNAL_SERVER_ERROR, 'the gateway is not serving (starting or shutting down)');
          context = callContext(call);
          return run(context, call.request);
        })
        .then(
          (response) => callback(null, response),
          (error: unknown) => callback(null, { status: this.statusOf(error) } as Response),
        );
    };
  }

  private track(): AbortController {
    const controller = new AbortController();
    this.activeCalls.add(controller);
    return controller;
  }

  private implementation(): UntypedServiceImplementation {
    const context = (): GatewayContext => this.requireContext();
    return {
      QueryRoute: this.unary((call, request: Parameters<typeof queryRoute>[1]) => {
        const response = queryRoute(context(), request);
        this.clientService!.onRouteQueried(call);
        return response;
      }),
      QueryAssignment: this.unary((_call, request: Parameters<typeof queryAssignment>[1]) => queryAssignment(context(), request)),
      SendMessage: this.unary((call, request: Parameters<typeof sendMessage>[2]) => sendMessage(context(), call, request)),
      AckMessage: this.unary((_call, request: Parameters<typeof ackMessage>[1]) => ackMessage(context(), request, (error) => this.statusOf(error))),
      ChangeInvisibleDuration: this.unary((_call, request: Parameters<typeof changeInvisibleDuration>[1]) => changeInvisibleDuration(context(), request)),
      ForwardMessageToDeadLetterQueue: this.unary((call, request: Parameters<typeof forwardMessageToDeadLetterQueue>[2]) => forwardMessageToDeadLetterQueue(context(), call, request)),
      Heartbeat: this.unary((call, request: Parameters<ClientService['heartbeat']>[1]) => this.clientService!.heartbeat(call, request)),
      NotifyClientTermination: this.unary((call, request: Parameters<ClientService['notifyClientTermination']>[1]) => this.clientService!.notifyClientTermination(call, request)),
      EndTransaction: this.unary((call, request: Parameters<typeof endTransaction>[2]) => endTransaction(context(), call, request)),
      UpdateOffset: this.unary((_call, request: Parameters<typeof updateOffset>[1]) => updateOffset(context(), request)),
      GetOffset: this.unary((_call, request: Parameters<typeof getOffset>[1]) => getOffset(context(), request)),
      QueryOffset: this.unary((_call, request: Parameters<typeof queryOffset>[1]) => queryOffset(context(), request)),
      RecallMessage: this.unary((call, request: RecallMessageRequestPb) => this.recallMessage(call, request)),
      SyncLiteSubscription: this.unary(() => ({ status: status(Code.NOT_IMPLEMENTED, 'lite topics are not supported') })),
      ReceiveMessage: (call: ServerWritableStream<Parameters<typeof receiveMessage>[3], ReceiveMessageResponsePb>) => this.serveReceive(call),
      PullMessage: (call: ServerWritableStream<Parameters<typeof pullMessage>[3], PullMessageResponsePb>) => this.servePull(call),
      Telemetry: (call: ServerDuplexStream<TelemetryCommandPb, TelemetryCommandPb>) => this.serveTelemetry(call),
    };
  }

  private serveReceive(call: ServerWritableStream<Parameters<typeof receiveMessage>[3], ReceiveMessageResponsePb>): void {
    const controller = this.track();
    call.on('cancelled', () => controller.abort());
    const stream = {
      write: (response: ReceiveMessageResponsePb): boolean => {
        try {
          return call.write(response);
        } catch {
          return false;
        }
      },
      end: (): void => {
        try {
          call.end();
        } catch {
          // Already ended.
        }
      },
      get cancelled(): boolean {
        return call.cancelled || controller.signal.aborted;
      },
    };
    let run: Promise<void>;
    if (this.state !== 'running') {
      stream.write({ status: status(Code.INTERNAL_SERVER_ERROR, 'the gateway is not serving (starting or shutting down)') });
      stream.end();
      run = Promise.resolve();
    } else {
      run = receiveMessage(this.requireContext(), this.receiveLimiter!, callContext(call), call.request, stream, controller.signal, (error) => this.statusOf(error));
    }
    run.catch((error: unknown) => this.logger.error({ err: error }, 'ReceiveMessage failed')).finally(() => this.activeCalls.delete(controller));
  }

  private servePull(call: ServerWritableStream<Parameters<typeof pullMessage>[3], PullMessageResponsePb>): void {
    const controller = this.track();
    call.on('cancelled', () => controller.abort());
    const write = (response: PullMessageResponsePb): void => {
      try {
        if (!call.cancelled) call.write(response);
      } catch {
        // The client went away.
      }
    };
    Promise.resolve()
      .then(() => {
        if (this.state !== 'running') throw new StatusError(Code.INTERNAL_SERVER_ERROR, 'the gateway is not serving (starting or shutting down)');
        return pullMessage(this.requireContext(), this.pullWaiters!, callContext(call), call.request, controller.signal);
      })
      .then((responses) => responses.forEach(write), (error: unknown) => write({ status: this.statusOf(error) }))
      .finally(() => {
        this.activeCalls.delete(controller);
        try {
          call.end();
        } catch {
          // Already ended.
        }
      });
  }

  private serveTelemetry(call: ServerDuplexStream<TelemetryCommandPb, TelemetryCommandPb>): void {
    const context = callContext(call);
    let ended = false;
    const writer: TelemetryWriter = {
      write: (command) => {
        if (ended || call.cancelled) return false;
        return call.write(command);
      },
      end: () => {
        if (ended) return;
        ended = true;
        call.end();
      },
    };
    const detach = (): void => {
      if (context.clientId !== undefined) this.context?.channels.get(context.clientId)?.detach(writer);
    };
    call.on('data', (command: TelemetryCommandPb) => {
      try {
        if (this.state !== 'running') throw new StatusError(Code.INTERNAL_SERVER_ERROR, 'the gateway is not serving (starting or shutting down)');
        const reply = this.clientService!.onTelemetryCommand(context, command, writer);
        if (reply) writer.write(reply);
      } catch (error) {
        try {
          writer.write({ status: this.statusOf(error) });
        } catch {
          // The stream is gone.
        }
      }
    });
    call.on('end', () => {
      detach();
      try {
        writer.end();
      } catch {
        // Already closed.
      }
    });
    call.on('error', detach);
    call.on('cancelled', detach);
  }

  private async recallMessage(call: CallContext, request: RecallMessageRequestPb): Promise<{ status: StatusPb; message_id: string }> {
    const context = this.requireContext();
    const topic = validateTopic(request.topic, context.deps.topicConfigManager);
    if (!context.broker.has(RequestCode.RECALL_MESSAGE)) {
      return { status: status(Code.NOT_IMPLEMENTED, 'recalling messages is not supported by this broker'), message_id: '' };
    }
    const channel = (call.clientId !== undefined ? context.channels.get(call.clientId) : undefined)
      ?? new GrpcClientChannel(0, call.clientId ?? '', call.peer, '', () => false);
    const response = await context.broker.invoke(RequestCode.RECALL_MESSAGE, {
      topic, recallHandle: request.recall_handle, producerGroup: topic, brokerName: context.deps.config.brokerName,
    }, undefined, channel);
    if (response === null) return { status: OK_STATUS, message_id: '' };
    if (response.code !== ResponseCode.SUCCESS) return { status: status(codeOfResponse(response.code), response.remark ?? `recall failed with code ${response.code}`), message_id: '' };
    return { status: OK_STATUS, message_id: response.extFields?.msgId ?? '' };
  }
}
