/**
 * Online producers: group → connections, fed by HEART_BEAT. The broker needs them to ask a producer
 * of the group about an open transaction (CHECK_TRANSACTION_STATE goes to one of its connections) and
 * for GET_PRODUCER_CONNECTION_LIST. Clients leave like consumers do: unregister, close, or silence.
 * Producers per group (`maxProducersPerGroup`) and groups (`maxGroups`) are capped: a heartbeat that
 * would pass either is refused with SYSTEM_BUSY before anything changes.
 */
import { TideError } from '../common/errors.js';
import { silentLogger, type Logger } from '../common/logger.js';
import type { RemotingConnection } from '../protocol/remoting-command.js';
import type { ClientChannelInfo } from './client-channel-info.js';

export interface ProducerManagerOptions {
  channelExpiredTimeout: number;
  /** Most connections in one producer group. Default 1,000 (the broker's maxProducersPerGroup). */
  maxProducersPerGroup?: number;
  /** Most producer groups with an online producer. Default 10,000 (the broker's maxProducerGroupCount). */
  maxGroups?: number;
  logger?: Logger;
}

export const DEFAULT_MAX_PRODUCERS_PER_GROUP = 1_000;
export const DEFAULT_MAX_PRODUCER_GROUPS = 10_000;

export class ProducerManager {
  /** group → connection id → client. */
  private readonly groups = new Map<string, Map<number, ClientChannelInfo>>();
  private readonly logger: Logger;
  private nextPick = 0;
  readonly maxProducersPerGroup: number;
  readonly maxGroups: number;

  constructor(private readonly options: ProducerManagerOptions) {
    this.logger = options.logger ?? silentLogger;
    this.maxProducersPerGroup = options.maxProducersPerGroup ?? DEFAULT_MAX_PRODUCERS_PER_GROUP;
    this.maxGroups = options.maxGroups ?? DEFAULT_MAX_PRODUCER_GROUPS;
  }

  /** Registers a heartbeat's producer; throws SYSTEM_BUSY, changing nothing, past a cap. */
  register(group: string, client: ClientChannelInfo): void {
    let channels = this.groups.get(group);
    if (channels === undefined && this.groups.size >= this.maxGroups) {
      throw new TideError('SYSTEM_BUSY', `producer group [${group}] not registered: ${this.groups.size} producer groups are online already (maxProducerGroupCount=${this.maxGroups})`);
    }
    if (channels !== undefined && channels.size >= this.maxProducersPerGroup && !channels.has(client.connection.id)) {
      throw new TideError(
        'SYSTEM_BUSY',
        `producer ${client.clientId} not registered: group [${group}] already has ${channels.size} producers online (maxProducersPerGroup=${this.maxProducersPerGroup})`,
      );
    }
    if (!channels) {
      channels = new Map();
      this.groups.set(group, channels);
    }
    const existing = channels.get(client.connection.id);
    if (existing && existing.clientId === client.clientId) {
      existing.lastUpdateTimestamp = client.lastUpdateTimestamp;
      return;
    }
    channels.set(client.connection.id, client);
    this.logger.debug({ group, clientId: client.clientId }, 'producer registered');
  }

  unregister(group: string, connection: RemotingConnection, clientId: string): void {
    const channels = this.groups.get(group);
    if (!channels) return;
    if (!channels.delete(connection.id)) {
      for (const [id, channel] of channels) if (channel.clientId === clientId) channels.delete(id);
    }
    if (channels.size === 0) this.groups.delete(group);
  }

  onConnectionClosed(connection: RemotingConnection): void {
    for (const [group, channels] of [...this.groups]) {
      channels.delete(connection.id);
      if (channels.size === 0) this.groups.delete(group);
    }
  }

  scanExpired(nowMs: number = Date.now()): void {
    for (const [group, channels] of [...this.groups]) {
      for (const [id, channel] of [...channels]) {
        if (nowMs - channel.lastUpdateTimestamp > this.options.channelExpiredTimeout) {
          channels.delete(id);
          this.logger.warn({ group, clientId: channel.clientId }, 'producer expired: no heartbeat');
          channel.connection.close();
        }
      }
      if (channels.size === 0) this.groups.delete(group);
    }
  }

  connectionsOf(group: string): ClientChannelInfo[] {
    return [...(this.groups.get(group)?.values() ?? [])];
  }

  groupNames(): string[] {
    return [...this.groups.keys()];
  }

  /** One open connection of the group, rotating between them; undefined when none is online. */
  pickConnection(group: string): ClientChannelInfo | undefined {
    const open = this.connectionsOf(group).filter((channel) => !channel.connection.closed);
    if (open.length === 0) return undefined;
    this.nextPick = (this.nextPick + 1) % 1_000_000;
    return open[this.nextPick % open.length];
  }
}
