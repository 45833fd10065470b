/**
 * Online consumers: group → connections (client id, language, version, last heartbeat) plus the
 * group's subscriptions and consume settings, fed by HEART_BEAT. A client leaves on UNREGISTER_CLIENT,
 * when its connection closes, or after `channelExpiredTimeout` ms without a heartbeat. Whenever a
 * CLUSTERING group's membership or subscriptions change, every member gets NOTIFY_CONSUMER_IDS_CHANGED
 * (40, oneway) so it rebalances at once instead of within 20 s.
 *
 * Both the members of a group (`maxConsumersPerGroup`) and the groups (`maxGroups`) are capped: a
 * heartbeat that would pass either is refused with SYSTEM_BUSY before anything changes, and members
 * already registered keep their place.
 */
import { TideError } from '../common/errors.js';
import { silentLogger, type Logger } from '../common/logger.js';
import { createRequest, type RemotingConnection } from '../protocol/remoting-command.js';
import { RequestCode } from '../protocol/request-code.js';
import type { ClientChannelInfo } from './client-channel-info.js';
import type { SubscriptionData } from './subscription-data.js';

export const MessageModel = {
  CLUSTERING: 'CLUSTERING',
  BROADCASTING: 'BROADCASTING',
} as const;

export class ConsumerGroupInfo {
  /** connection id → client. */
  readonly channels = new Map<number, ClientChannelInfo>();
  /** topic → subscription (the newest heartbeat of any member wins, as in Java). */
  readonly subscriptions = new Map<string, SubscriptionData>();
  lastUpdateTimestamp = Date.now();

  constructor(
    readonly groupName: string,
    public consumeType: string,
    public messageModel: string,
    public consumeFromWhere: string,
  ) {}

  clientIds(): string[] {
    return [...this.channels.values()].map((channel) => channel.clientId);
  }

  findSubscription(topic: string): SubscriptionData | undefined {
    return this.subscriptions.get(topic);
  }

  /** True when the connection is new to the group. */
  updateChannel(client: ClientChannelInfo, consumeType: string, messageModel: string, consumeFromWhere: string): boolean {
    this.consumeType = consumeType;
    this.messageModel = messageModel;
    this.consumeFromWhere = consumeFromWhere;
    this.lastUpdateTimestamp = client.lastUpdateTimestamp;
    const existing = this.channels.get(client.connection.id);
    if (existing && existing.clientId === client.clientId) {
      existing.lastUpdateTimestamp = client.lastUpdateTimestamp;
      return false;
    }
    this.channels.set(client.connection.id, client);
    return existing === undefined;
  }

  /** True when a topic was added or removed. */
  updateSubscriptions(subscriptions: readonly SubscriptionData[]): boolean {
    let changed = false;
    const topics = new Set<string>();
    for (const subscription of subscriptions) {
      topics.add(subscription.topic);
      const old = this.subscriptions.get(subscription.topic);
      if (!old) {
        this.subscriptions.set(subscription.topic, subscription);
        changed = true;
      } else if (subscription.subVersion > old.subVersion) {
        this.subscriptions.set(subscription.topic, subscription);
      }
    }
    for (const topic of [...this.subscriptions.keys()]) {
      if (!topics.has(topic)) {
        this.subscriptions.delete(topic);
        changed = true;
      }
    }
    return changed;
  }
}

export interface ConsumerManagerOptions {
  channelExpiredTimeout: number;
  /** Most connections in one group. Default 1,000 (the broker's maxConsumersPerGroup). */
  maxConsumersPerGroup?: number;
  /** Most groups with an online member. Default 10,000 (the broker's maxSubscriptionGroupCount). */
  maxGroups?: number;
  logger?: Logger;
}

export const DEFAULT_MAX_CONSUMERS_PER_GROUP = 1_000;
export const DEFAULT_MAX_CONSUMER_GROUPS = 10_000;

export class ConsumerManager {
  private readonly groups = new Map<string, ConsumerGroupInfo>();
  private readonly logger: Logger;
  readonly maxConsumersPerGroup: number;
  readonly maxGroups: number;

  constructor(private readonly options: ConsumerManagerOptions) {
    this.logger = options.logger ?? silentLogger;
    this.maxConsumersPerGroup = options.maxConsumersPerGroup ?? DEFAULT_MAX_CONSUMERS_PER_GROUP;
    this.maxGroups = options.maxGroups ?? DEFAULT_MAX_CONSUMER_GROUPS;
  }

  getGroup(group: string): ConsumerGroupInfo | undefined {
    return this.groups.get(group);
  }

  allGroups(): IterableIterator<ConsumerGroupInfo> {
    return this.groups.values();
  }

  /** Groups with an online member subscribed to `topic`. */
  groupsOfTopic(topic: string): string[] {
    const names: string[] = [];
    for (const info of this.groups.values()) if (info.subscriptions.has(topic)) names.push(info.groupName);
    return names;
  }

  findSubscription(group: string, topic: string): SubscriptionData | undefined {
    return this.groups.get(group)?.findSubscription(topic);
  }

  /**
   * Registers a heartbeat. Returns whether the group changed (new member or subscription topics).
   * Throws SYSTEM_BUSY, changing nothing, when a new member or group would pass its cap.
   */
  register(
    group: string,
    client: ClientChannelInfo,
    settings: { consumeType: string; messageModel: string; consumeFromWhere: string },
    subscriptions: readonly SubscriptionData[] | undefined,
    notifyEnabled: boolean,
  ): boolean {
    let info = this.groups.get(group);
    if (info === undefined && this.groups.size >= this.maxGroups) {
      throw new TideError('SYSTEM_BUSY', `consumer group [${group}] not registered: ${this.groups.size} groups are online already (maxSubscriptionGroupCount=${this.maxGroups})`);
    }
    if (info !== undefined && info.channels.size >= this.maxConsumersPerGroup && !info.channels.has(client.connection.id)) {
      throw new TideError(
        'SYSTEM_BUSY',
        `consumer ${client.clientId} not registered: group [${group}] already has ${info.channels.size} consumers online (maxConsumersPerGroup=${this.maxConsumersPerGroup})`,
      );
    }
    if (!info) {
      info = new ConsumerGroupInfo(group, settings.consumeType, settings.messageModel, settings.consumeFromWhere);
      this.groups.set(group, info);
    }
    const newMember = info.updateChannel(client, settings.consumeType, settings.messageModel, settings.consumeFromWhere);
    if (newMember) this.logger.info({ group, clientId: client.clientId, remoteAddress: client.connection.remoteAddress }, 'consumer registered');
    const subscriptionsChanged = subscriptions ? info.updateSubscriptions(subscriptions) : false;
    const changed = newMember || subscriptionsChanged;
    if (changed && notifyEnabled) this.notifyIdsChanged(info);
    return changed;
  }

  /** UNREGISTER_CLIENT: removes the client on that connection (or with that client id). */
  unregister(group: string, connection: RemotingConnection, clientId: string, notifyEnabled: boolean): boolean {
    const info = this.groups.get(group);
    if (!info) return false;
    let removed = info.channels.delete(connection.id);
    if (!removed) {
      for (const [id, channel] of info.channels) {
        if (channel.clientId === clientId) {
          info.channels.delete(id);
          removed = true;
        }
      }
    }
    if (!removed) return false;
    this.logger.info({ group, clientId }, 'consumer unregistered');
    this.afterRemoval(info, notifyEnabled);
    return true;
  }

  /** A connection closed: it leaves every group it was in. */
  onConnectionClosed(connection: RemotingConnection): void {
    for (const info of [...this.groups.values()]) {
      if (info.channels.delete(connection.id)) {
        this.logger.info({ group: info.groupName, remoteAddress: connection.remoteAddress }, 'consumer connection closed');
        this.afterRemoval(info, true);
      }
    }
  }

  /** Drops clients silent for longer than channelExpiredTimeout and closes their connections. */
  scanExpired(nowMs: number = Date.now()): void {
    for (const info of [...this.groups.values()]) {
      let removed = false;
      for (const [id, channel] of [...info.channels]) {
        if (nowMs - channel.lastUpdateTimestamp > this.options.channelExpiredTimeout) {
          info.channels.delete(id);
          removed = true;
          this.logger.warn({ group: info.groupName, clientId: channel.clientId }, 'consumer expired: no heartbeat');
          channel.connection.close();
        }
      }
      if (removed) this.afterRemoval(info, true);
    }
  }

  private afterRemoval(info: ConsumerGroupInfo, notifyEnabled: boolean): void {
    if (info.channels.size === 0) {
      this.groups.delete(info.groupName);
      return;
    }
    if (notifyEnabled) this.notifyIdsChanged(info);
  }

  private notifyIdsChanged(info: ConsumerGroupInfo): void {
    if (info.messageModel === MessageModel.BROADCASTING) return;
    for (const channel of info.channels.values()) {
      if (channel.connection.closed) continue;
      const sent = channel.connection.invokeOneway(createRequest(RequestCode.NOTIFY_CONSUMER_IDS_CHANGED, { consumerGroup: info.groupName }));
      if (!sent) this.logger.debug({ group: info.groupName, clientId: channel.clientId }, 'could not notify consumer of membership change');
    }
  }
}
