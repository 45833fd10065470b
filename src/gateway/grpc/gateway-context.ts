/**
 * The gateway's settings (defaults = the RocketMQ proxy's ProxyConfig) and the collaborators every RPC
 * implementation gets. Built once by GrpcGateway; the RPC files receive it instead of the gateway.
 */
import { isIPv4, isIPv6 } from 'node:net';
import type { BrokerDeps } from '../../broker/broker-deps.js';
import type { Logger } from '../../common/logger.js';
import type { BrokerCalls } from './broker-calls.js';
import type { ChannelRegistry } from './client-channel.js';
import type { DelayPolicy, InboundLimits } from './inbound-message.js';
import { AddressScheme, type EndpointsPb } from './proto-types.js';
import type { PopPort, ReceiptRenewer } from './receipt-renewer.js';
import type { SettingsPolicy } from './client-settings.js';

export interface GatewaySettings {
  /** Host clients are told to connect to ('' = echo the host of the access point they used). */
  advertisedHost: string;
  /** Port clients are told to connect to (default: the bound port). */
  advertisedPort: number;
  delay: DelayPolicy;
  inboundLimits: InboundLimits;
  settingsPolicy: SettingsPolicy;
  minInvisibleTimeMsForReceive: number;
  maxInvisibleTimeMs: number;
  defaultInvisibleTimeMs: number;
  minLongPollingTimeoutMs: number;
  maxLongPollingTimeoutMs: number;
  /** Kept free at the end of a receive's deadline for the answer to travel back. */
  longPollingReserveMs: number;
  maxReceiveBatchSize: number;
  maxConcurrentReceives: number;
  /** Invisible time of messages a vanished receive stream had popped but not written out. */
  nackInvisibleTimeMs: number;
  /**
   * Shortest invisible time the PopService takes. ChangeInvisibleDuration accepts anything from 0 (the
   * proxy's rule; the Node push consumer nacks with ~0 ms) and raises shorter times to this.
   */
  popMinInvisibleTimeMs: number;
  maxInflatedBodyBytes: number;
  maxPullBatchSize: number;
  maxHeldPulls: number;
}

export interface GatewayContext {
  readonly deps: BrokerDeps;
  readonly pop: PopPort;
  readonly broker: BrokerCalls;
  readonly channels: ChannelRegistry;
  readonly renewer: ReceiptRenewer;
  readonly settings: GatewaySettings;
  readonly logger: Logger;
}

function schemeOf(host: string): number {
  if (isIPv4(host)) return AddressScheme.IPV4;
  if (isIPv6(host)) return AddressScheme.IPV6;
  return AddressScheme.DOMAIN_NAME;
}

/**
 * The endpoints put in routes and assignments: the gateway's own advertised address (clients send
 * everything for this broker to it), or, without one, the hosts of the access point the client used.
 */
export function gatewayEndpoints(settings: GatewaySettings, requestEndpoints: EndpointsPb | null | undefined): EndpointsPb {
  if (settings.advertisedHost.length > 0) {
    return { scheme: schemeOf(settings.advertisedHost), addresses: [{ host: settings.advertisedHost, port: settings.advertisedPort }] };
  }
  const addresses = (requestEndpoints?.addresses ?? []).slice(0, 8).map((address) => ({ host: address.host, port: settings.advertisedPort }));
  if (addresses.length === 0) addresses.push({ host: '127.0.0.1', port: settings.advertisedPort });
  return { scheme: schemeOf(addresses[0]!.host), addresses };
}
