/**
 * Options every client (producer, consumers, admin) takes, their defaults, and the client id
 * (`ip@instanceName[@zone]`, as Java's `ip@instanceName[@unitName]`) brokers know a client by.
 */
import { networkInterfaces } from 'node:os';
import { silentLogger, type Logger } from '../common/logger.js';
import { ClientStateError } from './client-errors.js';

/** A pino-compatible logger: `logger.info(obj?, msg)`; `child` is used when present. */
export type ClientLogger = Logger;

export interface ClientOptions {
  /** Name servers: `host:port`, `host:port;host:port` or an array. */
  namesrvAddr: string | readonly string[];
  /** Part of the client id; distinct instances in one process get distinct names by default. */
  instanceName?: string;
  /** The IP reported in the client id and message ids; default: the first non-internal IPv4. */
  clientIp?: string;
  /** The zone (machine room) this client runs in; used by the nearby-zone allocation. */
  zone?: string;
  logger?: ClientLogger;
  /** Timeout of one request to a name server or broker. Default 3000 ms. */
  requestTimeoutMs?: number;
  /** Default 3000 ms. */
  connectTimeoutMs?: number;
  /** How often routes of the topics in use are refreshed. Default 30 000 ms. */
  routeRefreshIntervalMs?: number;
  /** How often the client heartbeats to every broker it uses. Default 30 000 ms. */
  heartbeatIntervalMs?: number;
}

export interface ResolvedClientOptions {
  namesrvAddrs: string[];
  clientId: string;
  clientIp: string;
  zone: string | undefined;
  logger: Logger;
  requestTimeoutMs: number;
  connectTimeoutMs: number;
  routeRefreshIntervalMs: number;
  heartbeatIntervalMs: number;
}

let instanceCounter = 0;

export function parseNamesrvAddr(value: string | readonly string[]): string[] {
  const list = typeof value === 'string' ? value.split(/[;,]/) : [...value];
  const addresses = list.map((item) => item.trim()).filter((item) => item.length > 0);
  if (addresses.length === 0) throw new ClientStateError('ILLEGAL_ARGUMENT', 'namesrvAddr names no name server');
  for (const address of addresses) {
    if (!/^.+:\d{1,5}$/.test(address)) throw new ClientStateError('ILLEGAL_ARGUMENT', `name server address '${address}' is not host:port`);
  }
  return addresses;
}

/** The first non-internal IPv4 address, else 127.0.0.1. */
export function localIpv4(): string {
  for (const addresses of Object.values(networkInterfaces())) {
    for (const address of addresses ?? []) {
      if (address.family === 'IPv4' && !address.internal) return address.address;
    }
  }
  return '127.0.0.1';
}

function positive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value <= 0) throw new ClientStateError('ILLEGAL_ARGUMENT', `${name} must be a positive number of milliseconds`);
  return value;
}

export function resolveClientOptions(options: ClientOptions, role: string): ResolvedClientOptions {
  const clientIp = options.clientIp ?? localIpv4();
  instanceCounter++;
  const instanceName = options.instanceName ?? `${process.pid}#${instanceCounter}#${Date.now().toString(36)}`;
  if (/[@\s]/.test(instanceName)) throw new ClientStateError('ILLEGAL_ARGUMENT', 'instanceName must not contain @ or spaces');
  const zone = options.zone;
  if (zone !== undefined && /[@\s]/.test(zone)) throw new ClientStateError('ILLEGAL_ARGUMENT', 'zone must not contain @ or spaces');
  const clientId = zone === undefined || zone === '' ? `${clientIp}@${instanceName}` : `${clientIp}@${instanceName}@${zone}`;
  const base = options.logger ?? silentLogger;
  const logger = typeof base.child === 'function' ? base.child({ component: `tidemq-${role}`, clientId }) : base;
  return {
    namesrvAddrs: parseNamesrvAddr(options.namesrvAddr),
    clientId,
    clientIp,
    zone: zone === '' ? undefined : zone,
    logger,
    requestTimeoutMs: positive('requestTimeoutMs', options.requestTimeoutMs, 3000),
    connectTimeoutMs: positive('connectTimeoutMs', options.connectTimeoutMs, 3000),
    routeRefreshIntervalMs: positive('routeRefreshIntervalMs', options.routeRefreshIntervalMs, 30_000),
    heartbeatIntervalMs: positive('heartbeatIntervalMs', options.heartbeatIntervalMs, 30_000),
  };
}

/** The zone a client id carries (its third `@` part), if any. */
export function zoneOfClientId(clientId: string): string | undefined {
  const parts = clientId.split('@');
  return parts.length >= 3 && parts[2] !== '' ? parts[2] : undefined;
}
