/**
 * The runtime one producer, consumer or admin client stands on (Java's MQClientInstance): one
 * RemotingClient (a connection per address, many requests in flight on each), the name servers,
 * cached topic routes and the broker address table they yield, the heartbeat and route-refresh
 * timers, and the table of handlers for requests brokers send us (transaction checks, rebalance
 * notices, offset resets).
 *
 * Requests are answered with whatever code the peer chose; callers turn failure codes into
 * BrokerErrors. What the remoting layer throws (timeouts, closed connections, broken frames, aborts)
 * comes out as the client's error tree.
 */
import type { Logger } from '../common/logger.js';
import { ResponseCode } from '../common/errors.js';
import { createRequest, type RemotingCommand, type RequestHandler } from '../protocol/remoting-command.js';
import { RequestCode } from '../protocol/request-code.js';
import { decodeTopicRouteData, MASTER_BROKER_ID, type TopicRouteData } from '../protocol/route-data.js';
import { RemotingClient } from '../remoting/remoting-client.js';
import { every, raceSignal } from './async-tools.js';
import { brokerError, ClientStateError, toClientError, type MQClientError } from './client-errors.js';
import { resolveClientOptions, type ClientOptions, type ResolvedClientOptions } from './client-options.js';
import { errorChannel } from './diagnostics.js';
import { encodeHeartbeat, type HeartbeatData } from './subscription.js';

interface BrokerEntry {
  /** brokerId → address. */
  addresses: Map<number, string>;
  zone: string | undefined;
}

export interface ClientInstanceHooks {
  /** Topics whose routes the refresh timer keeps fresh. */
  topicsInUse(): Iterable<string>;
  /** The heartbeat body, or undefined when there is nothing to announce. */
  heartbeat(): HeartbeatData | undefined;
  /** Called after a refresh changed a route. */
  routeChanged?(topic: string, route: TopicRouteData | undefined): void;
  /** Whether heartbeats go to slaves too (consumers read from them). */
  heartbeatToSlaves: boolean;
}

export class ClientInstance {
  readonly options: ResolvedClientOptions;
  readonly logger: Logger;
  readonly clientId: string;
  private readonly handlers = new Map<number, RequestHandler>();
  private readonly remoting: RemotingClient;
  private readonly routes = new Map<string, TopicRouteData>();
  private readonly routeFetches = new Map<string, Promise<TopicRouteData | undefined>>();
  private readonly brokers = new Map<string, BrokerEntry>();
  private namesrvIndex = 0;
  private hooks: ClientInstanceHooks | undefined;
  private stopTimers: (() => void)[] = [];
  private closed = false;

  constructor(options: ClientOptions, role: string) {
    this.options = resolveClientOptions(options, role);
    this.logger = this.options.logger;
    this.clientId = this.options.clientId;
    this.namesrvIndex = Math.floor(Math.random() * this.options.namesrvAddrs.length);
    // The handler map is read at dispatch time, so handlers set after construction still count.
    this.remoting = new RemotingClient({
      connectTimeoutMs: this.options.connectTimeoutMs,
      requestTimeoutMs: this.options.requestTimeoutMs,
      logger: this.logger,
      handlers: this.handlers,
    });
  }

  get isClosed(): boolean {
    return this.closed;
  }

  setHandler(code: number, handler: RequestHandler): void {
    this.handlers.set(code, handler);
  }

  /** Starts the heartbeat and route timers (the owner sends its first heartbeat itself). */
  start(hooks: ClientInstanceHooks): void {
    this.hooks = hooks;
    this.stopTimers.push(every(this.options.routeRefreshIntervalMs, () => void this.refreshRoutes()));
    this.stopTimers.push(every(this.options.heartbeatIntervalMs, () => void this.heartbeatAll().catch(() => undefined)));
  }

  /** Sends `request` to `address`; resolves with the answer whatever its code. */
  async invoke(address: string, request: RemotingCommand, what: string, timeoutMs = this.options.requestTimeoutMs, signal?: AbortSignal): Promise<RemotingCommand> {
    if (this.closed) throw new ClientStateError('CLIENT_CLOSED', `${what}: the client is closed`);
    try {
      return await this.remoting.invoke(address, request, timeoutMs, signal);
    } catch (error) {
      throw toClientError(error, `${what} at ${address}`);
    }
  }

  /**
   * The remoting layer's own invoke, for the producer's send path: no async wrapper (one promise less
   * per send) and errors as the remoting layer's TideErrors, which the caller converts with
   * toClientError. The caller checks `isClosed` first.
   */
  invokeRaw(address: string, request: RemotingCommand, timeoutMs: number, signal: AbortSignal | undefined): Promise<RemotingCommand> {
    return this.remoting.invoke(address, request, timeoutMs, signal);
  }

  /** Like invoke, but failure codes reject with BrokerError. */
  async invokeOk(address: string, request: RemotingCommand, what: string, timeoutMs = this.options.requestTimeoutMs, signal?: AbortSignal): Promise<RemotingCommand> {
    const response = await this.invoke(address, request, what, timeoutMs, signal);
    if (response.code !== ResponseCode.SUCCESS) throw brokerError(response.code, response.remark, address, what);
    return response;
  }

  async invokeOneway(address: string, request: RemotingCommand, what: string): Promise<void> {
    if (this.closed) throw new ClientStateError('CLIENT_CLOSED', `${what}: the client is closed`);
    try {
      await this.remoting.invokeOneway(address, request);
    } catch (error) {
      throw toClientError(error, `${what} at ${address}`);
    }
  }

  /** The remoting connection to `address` (for the producer's synchronous oneway path). */
  connection(address: string): ReturnType<RemotingClient['connection']> {
    return this.remoting.connection(address);
  }

  /**
   * Sends to the name servers in turn, starting with the last one that answered, until one answers
   * (with any code). Rejects with the last error when none does.
   */
  async invokeNamesrv(request: RemotingCommand, what: string, signal?: AbortSignal): Promise<RemotingCommand> {
    const addresses = this.options.namesrvAddrs;
    let lastError: MQClientError | undefined;
    for (let attempt = 0; attempt < addresses.length; attempt++) {
      const index = (this.namesrvIndex + attempt) % addresses.length;
      const address = addresses[index]!;
      try {
        // Each attempt needs its own opaque: the first may still be answered late on its connection.
        const response = await this.invoke(address, attempt === 0 ? request : { ...request, opaque: createRequest(request.code).opaque }, what, undefined, signal);
        this.namesrvIndex = index;
        return response;
      } catch (error) {
        lastError = error as MQClientError;
        if (lastError.code === 'ABORTED' || lastError.code === 'CLIENT_CLOSED') throw lastError;
      }
    }
    throw lastError!;
  }

  /** Fetches a route from the name servers; undefined when the topic has none (TOPIC_NOT_EXIST). */
  async fetchRoute(topic: string, signal?: AbortSignal): Promise<TopicRouteData | undefined> {
    const what = `route of ${topic}`;
    const response = await this.invokeNamesrv(createRequest(RequestCode.GET_ROUTEINFO_BY_TOPIC, { topic }), what, signal);
    if (response.code === ResponseCode.TOPIC_NOT_EXIST) return undefined;
    if (response.code !== ResponseCode.SUCCESS) throw brokerError(response.code, response.remark, this.options.namesrvAddrs[this.namesrvIndex]!, what);
    let route: TopicRouteData;
    try {
      route = decodeTopicRouteData(response.body);
    } catch (error) {
      throw toClientError(error, `${what}: the name server answered an undecodable route`);
    }
    return route;
  }

  /**
   * The cached route of `topic`, fetched when missing or when `refresh` is set. Concurrent callers
   * share one fetch. Undefined when no name server knows the topic.
   */
  async route(topic: string, refresh = false, signal?: AbortSignal): Promise<TopicRouteData | undefined> {
    if (!refresh) {
      const cached = this.routes.get(topic);
      if (cached !== undefined) return cached;
    }
    let fetch = this.routeFetches.get(topic);
    if (fetch === undefined) {
      fetch = this.fetchRoute(topic).then(
        (route) => {
          this.routeFetches.delete(topic);
          this.storeRoute(topic, route);
          return route;
        },
        (error: unknown) => {
          this.routeFetches.delete(topic);
          throw error;
        },
      );
      this.routeFetches.set(topic, fetch);
    }
    return raceSignal(fetch, signal, `route of ${topic}`);
  }

  cachedRoute(topic: string): TopicRouteData | undefined {
    return this.routes.get(topic);
  }

  /** Records a route and the broker addresses it names; returns whether it differs from the cached one. */
  storeRoute(topic: string, route: TopicRouteData | undefined): boolean {
    const previous = this.routes.get(topic);
    if (route === undefined) {
      this.routes.delete(topic);
      return previous !== undefined;
    }
    this.routes.set(topic, route);
    for (const brokerData of route.brokerDatas) {
      const addresses = new Map<number, string>();
      for (const [id, address] of Object.entries(brokerData.brokerAddrs)) addresses.set(Number(id), address);
      this.brokers.set(brokerData.brokerName, { addresses, zone: brokerData.zoneName });
    }
    return previous === undefined || JSON.stringify(previous) !== JSON.stringify(route);
  }

  /** The master address of `brokerName`, if known. */
  masterAddress(brokerName: string): string | undefined {
    return this.brokers.get(brokerName)?.addresses.get(MASTER_BROKER_ID);
  }

  /** The master, else any replica (reads survive a dead master). */
  readAddress(brokerName: string): string | undefined {
    const entry = this.brokers.get(brokerName);
    if (entry === undefined) return undefined;
    const master = entry.addresses.get(MASTER_BROKER_ID);
    if (master !== undefined) return master;
    for (const address of entry.addresses.values()) return address;
    return undefined;
  }

  /** The broker name whose replica set has `address`. */
  brokerNameOf(address: string): string | undefined {
    for (const [name, entry] of this.brokers) {
      for (const candidate of entry.addresses.values()) if (candidate === address) return name;
    }
    return undefined;
  }

  zoneOfBroker(brokerName: string): string | undefined {
    return this.brokers.get(brokerName)?.zone;
  }

  /** Every broker address this client knows (masters, and slaves when `withSlaves`). */
  brokerAddresses(withSlaves: boolean): string[] {
    const addresses = new Set<string>();
    for (const entry of this.brokers.values()) {
      for (const [id, address] of entry.addresses) if (withSlaves || id === MASTER_BROKER_ID) addresses.add(address);
    }
    return [...addresses];
  }

  /** Sends the owner's heartbeat to every broker in use; resolves when all answered or failed. */
  async heartbeatAll(): Promise<void> {
    const hooks = this.hooks;
    if (hooks === undefined || this.closed) return;
    const data = hooks.heartbeat();
    if (data === undefined) return;
    const body = encodeHeartbeat(data);
    const addresses = this.brokerAddresses(hooks.heartbeatToSlaves);
    await Promise.all(
      addresses.map(async (address) => {
        try {
          await this.invokeOk(address, createRequest(RequestCode.HEART_BEAT, undefined, body), 'heartbeat');
        } catch (error) {
          this.reportBackgroundError('heartbeat', error);
        }
      }),
    );
  }

  /** Refreshes the routes of every topic in use (the route timer; also callable at once). */
  async refreshRoutes(): Promise<void> {
    const hooks = this.hooks;
    if (hooks === undefined || this.closed) return;
    for (const topic of new Set(hooks.topicsInUse())) {
      try {
        const route = await this.fetchRoute(topic);
        if (this.storeRoute(topic, route)) hooks.routeChanged?.(topic, route);
      } catch (error) {
        this.reportBackgroundError(`route refresh of ${topic}`, error);
      }
    }
  }

  /** Logs a failure of background work and publishes it on `tidemq:client:error`. */
  reportBackgroundError(what: string, error: unknown): void {
    if (this.closed) return;
    this.logger.warn({ err: error }, `${what} failed`);
    if (errorChannel.hasSubscribers) errorChannel.publish({ clientId: this.clientId, what, error });
  }

  /** UNREGISTER_CLIENT (35) at every broker, for the given groups. Failures are logged. */
  async unregister(groups: { producerGroup?: string; consumerGroup?: string }): Promise<void> {
    const fields: Record<string, string> = { clientID: this.clientId };
    if (groups.producerGroup !== undefined) fields.producerGroup = groups.producerGroup;
    if (groups.consumerGroup !== undefined) fields.consumerGroup = groups.consumerGroup;
    await Promise.all(
      this.brokerAddresses(true).map(async (address) => {
        try {
          await this.invokeOk(address, createRequest(RequestCode.UNREGISTER_CLIENT, { ...fields }), 'unregister client', 1000);
        } catch (error) {
          this.logger.debug({ err: error, address }, 'unregister failed');
        }
      }),
    );
  }

  /** Stops the timers and closes every connection; in-flight requests fail with CONNECTION_CLOSED. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const stop of this.stopTimers) stop();
    this.stopTimers = [];
    await this.remoting.close();
  }
}
