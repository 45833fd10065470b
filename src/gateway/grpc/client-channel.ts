/**
 * A gRPC client as the broker's managers see it. The consumer and producer managers keep clients by
 * their RemotingConnection; a gRPC client has none, so each client id gets a GrpcClientChannel that
 * implements that interface: the broker's own code (consumer lists, transaction check-back, expiry of
 * silent clients) then works for gRPC clients unchanged. Requests the broker sends to the client are
 * translated to Telemetry commands on the client's current stream (CHECK_TRANSACTION_STATE →
 * RecoverOrphanedTransactionCommand); membership notifications are dropped, since gRPC consumers get
 * their queues from the server.
 *
 * ChannelRegistry holds one channel per client id (bounded), as the proxy's GrpcChannelManager does.
 */
import { TideError } from '../../common/errors.js';
import type { RemotingCommand, RemotingConnection } from '../../protocol/remoting-command.js';
import type { SettingsPb, TelemetryCommandPb } from './proto-types.js';

/** Channel ids start far above the remoting server's connection ids so the two never collide. */
const FIRST_CHANNEL_ID = 2 ** 40;

/** The part of a bidi stream the channel writes to. */
export interface TelemetryWriter {
  write(command: TelemetryCommandPb): boolean;
  end(): void;
}

/** Turns a broker → client request into a Telemetry command; false when it cannot be delivered. */
export type BrokerRequestTranslator = (channel: GrpcClientChannel, request: RemotingCommand) => boolean;

export class GrpcClientChannel implements RemotingConnection {
  private stream: TelemetryWriter | null = null;
  private readonly closeListeners: Array<() => void> = [];
  private isClosed = false;
  /** The Settings the client reported last (raw). */
  settings: SettingsPb | undefined;
  language = 'OTHER';
  version = 0;
  /** The Settings answer last written, and when (for the startup echo, see ClientService). */
  lastSettingsReply: TelemetryCommandPb | undefined;
  lastSettingsReplyMs = 0;
  echoTimer: NodeJS.Timeout | null = null;
  /** Last Settings or Heartbeat from the client (ms); silent channels are swept. */
  lastSeenMs = Date.now();

  constructor(
    readonly id: number,
    readonly clientId: string,
    public remoteAddress: string,
    readonly localAddress: string,
    private readonly translate: BrokerRequestTranslator,
  ) {}

  get closed(): boolean {
    return this.isClosed;
  }

  get hasStream(): boolean {
    return this.stream !== null;
  }

  /** The client's newest Telemetry stream becomes the way to reach it. */
  attach(stream: TelemetryWriter): void {
    this.stream = stream;
  }

  /** A stream ended; the channel stays (the client reconnects its stream) until it expires or terminates. */
  detach(stream: TelemetryWriter): void {
    if (this.stream === stream) this.stream = null;
  }

  writeTelemetry(command: TelemetryCommandPb): boolean {
    if (this.isClosed || this.stream === null) return false;
    try {
      this.stream.write(command);
      return true;
    } catch {
      return false;
    }
  }

  invoke(request: RemotingCommand): Promise<RemotingCommand> {
    return Promise.reject(new TideError('REQUEST_CODE_NOT_SUPPORTED', `request code ${request.code} cannot be relayed to a gRPC client`));
  }

  invokeOneway(request: RemotingCommand): boolean {
    if (this.isClosed) return false;
    return this.translate(this, request);
  }

  /**
   * Closes the channel. `endStream` (default, used when the broker expires a silent client) also ends
   * the client's Telemetry stream, so a client that is still alive reconnects and reports its Settings
   * again; a terminating client keeps its stream until it closes it (ending it first would make the
   * official clients reconnect right while they shut down).
   */
  close(endStream = true): void {
    if (this.isClosed) return;
    this.isClosed = true;
    const stream = this.stream;
    this.stream = null;
    if (this.echoTimer) clearTimeout(this.echoTimer);
    this.echoTimer = null;
    try {
      if (endStream) stream?.end();
    } catch {
      // The stream may already be gone with its HTTP/2 session.
    }
    for (const listener of this.closeListeners.splice(0)) listener();
  }

  onClose(listener: () => void): void {
    if (this.isClosed) listener();
    else this.closeListeners.push(listener);
  }
}

export class ChannelRegistry {
  private readonly channels = new Map<string, GrpcClientChannel>();
  private nextId = FIRST_CHANNEL_ID;

  constructor(
    private readonly maxClients: number,
    private readonly localAddress: string,
    private readonly translate: BrokerRequestTranslator,
    private readonly onChannelClosed: (channel: GrpcClientChannel) => void,
  ) {}

  get size(): number {
    return this.channels.size;
  }

  get(clientId: string): GrpcClientChannel | undefined {
    return this.channels.get(clientId);
  }

  /** The client's channel, created on first use; SYSTEM_BUSY past maxClients. */
  getOrCreate(clientId: string, remoteAddress: string): GrpcClientChannel {
    const existing = this.channels.get(clientId);
    if (existing && !existing.closed) {
      existing.remoteAddress = remoteAddress;
      return existing;
    }
    if (this.channels.size >= this.maxClients) {
      throw new TideError('SYSTEM_BUSY', `the gateway serves at most ${this.maxClients} gRPC clients`);
    }
    const channel = new GrpcClientChannel(this.nextId++, clientId, remoteAddress, this.localAddress, this.translate);
    this.channels.set(clientId, channel);
    channel.onClose(() => {
      if (this.channels.get(clientId) === channel) this.channels.delete(clientId);
      this.onChannelClosed(channel);
    });
    return channel;
  }

  all(): IterableIterator<GrpcClientChannel> {
    return this.channels.values();
  }

  /**
   * Closes channels not heard from for `silenceMs`. The broker expires the clients it knows the same
   * way; this also catches clients that never got into its managers (no topic, no group).
   */
  sweepSilent(nowMs: number, silenceMs: number): void {
    for (const channel of [...this.channels.values()]) {
      if (nowMs - channel.lastSeenMs > silenceMs) channel.close();
    }
  }

  closeAll(): void {
    for (const channel of [...this.channels.values()]) channel.close();
  }
}
