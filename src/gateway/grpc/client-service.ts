/**
 * The client session RPCs: Telemetry (the bidirectional stream each client opens per endpoint; its
 * first command is the client's Settings, answered at once with the merged Settings), Heartbeat
 * (every 10 s; refused with UNRECOGNIZED_CLIENT_TYPE when the client never reported Settings) and
 * NotifyClientTermination. Producers are registered in the broker's producer manager under each topic
 * they publish to (gRPC producers have no group; the proxy uses the topic, and so does PGROUP), and
 * consumers in the consumer manager under their group, so admin tools list them and the broker's
 * transaction check-back can reach them. Their channel closes when they terminate or when the broker
 * expires them for silence; then their auto-renewed messages are released.
 */
import type { SubscriptionGroupConfig } from '../../broker/subscription-group-manager.js';
import { newSubscriptionGroupConfig } from '../../broker/subscription-group-manager.js';
import { buildSubscriptionData, ExpressionType, type SubscriptionData } from '../../broker/subscription-data.js';
import type { GrpcClientChannel, TelemetryWriter } from './client-channel.js';
import { isConsumerType, mergeConsumerSettings, mergeProducerSettings } from './client-settings.js';
import { Code, OK_STATUS, status, StatusError } from './code.js';
import type { GatewayContext } from './gateway-context.js';
import { ClientType, FilterType, type HeartbeatRequestPb, type NotifyClientTerminationRequestPb, type SettingsPb, type StatusPb, type TelemetryCommandPb } from './proto-types.js';
import { requireClientId, type CallContext } from './request-context.js';
import { validateGroup, validateTopic } from './validators.js';

/** MQVersion ordinal reported for gRPC clients (V5_0_0): their version strings do not map to one. */
const GRPC_CLIENT_VERSION_ORDINAL = 413;
/** Route queries this soon after a Settings answer count as the client's startup. */
const SETTINGS_ECHO_WINDOW_MS = 60_000;
/** How long after a startup route query the Settings answer is written again. */
const SETTINGS_ECHO_DELAY_MS = 100;

export class ClientService {
  /** clientId → the Settings it reported last; kept apart from channels so an expired channel can come back. */
  private readonly settingsByClient = new Map<string, SettingsPb>();

  constructor(private readonly context: GatewayContext, private readonly maxClients: number) {}

  settingsOf(clientId: string): SettingsPb | undefined {
    return this.settingsByClient.get(clientId);
  }

  /** Cleans up after a channel closed (termination, expiry, shutdown). */
  onChannelClosed(channel: GrpcClientChannel): void {
    const { consumerManager, producerManager } = this.context.deps;
    consumerManager.onConnectionClosed(channel);
    producerManager.onConnectionClosed(channel);
    this.context.renewer.releaseClient(channel.clientId);
    // Closing ended the client's Telemetry stream; the client opens a new one and reports its Settings again.
    if (this.context.channels.get(channel.clientId) === undefined) this.settingsByClient.delete(channel.clientId);
  }

  /**
   * The Node client (1.0.8) sends its Settings after the route of its first topic, goes on querying
   * the routes of its other topics, and only then starts waiting — without a timeout — for the Settings
   * answer; an answer that arrived before it started waiting is lost and the client never starts. So
   * a route query soon after a Settings answer makes the gateway write that answer once more, shortly
   * after the route answer: the last route query of the startup lands it inside the client's wait.
   * Settings answers are idempotent for every client.
   */
  onRouteQueried(call: CallContext): void {
    if (call.clientId === undefined) return;
    const channel = this.context.channels.get(call.clientId);
    if (!channel || !channel.hasStream || channel.lastSettingsReply === undefined) return;
    if (Date.now() - channel.lastSettingsReplyMs > SETTINGS_ECHO_WINDOW_MS) return;
    if (channel.echoTimer) clearTimeout(channel.echoTimer);
    channel.echoTimer = setTimeout(() => {
      channel.echoTimer = null;
      if (channel.lastSettingsReply !== undefined) channel.writeTelemetry(channel.lastSettingsReply);
    }, SETTINGS_ECHO_DELAY_MS);
    channel.echoTimer.unref();
  }

  /** Handles one command from a Telemetry stream; returns the command to answer with, if any. */
  onTelemetryCommand(call: CallContext, command: TelemetryCommandPb, stream: TelemetryWriter): TelemetryCommandPb | undefined {
    const reply = this.answerSettings(call, command, stream);
    if (reply !== undefined && call.clientId !== undefined) {
      const channel = this.context.channels.get(call.clientId);
      if (channel) {
        channel.lastSettingsReply = reply;
        channel.lastSettingsReplyMs = Date.now();
      }
    }
    return reply;
  }

  private answerSettings(call: CallContext, command: TelemetryCommandPb, stream: TelemetryWriter): TelemetryCommandPb | undefined {
    if (command.command !== 'settings' || !command.settings) return undefined;
    const clientId = requireClientId(call);
    const settings = command.settings;
    if (settings.pub_sub === 'publishing' && settings.publishing) {
      const topics = this.producerTopics(settings);
      const channel = this.channelFor(call, clientId, settings);
      channel.attach(stream);
      this.registerProducer(channel, topics);
      return { status: OK_STATUS, settings: mergeProducerSettings(settings, this.context.settings.settingsPolicy) };
    }
    if (settings.pub_sub === 'subscription' && settings.subscription) {
      const group = validateGroup(settings.subscription.group);
      const subscriptions = this.subscriptionsOf(settings);
      const channel = this.channelFor(call, clientId, settings);
      channel.attach(stream);
      this.registerConsumer(channel, group, settings.client_type, subscriptions);
      return { status: OK_STATUS, settings: mergeConsumerSettings(settings, this.groupConfigOf(group), this.context.settings.settingsPolicy) };
    }
    throw new StatusError(Code.BAD_REQUEST, 'there is no publishing or subscription data in settings');
  }

  heartbeat(call: CallContext, request: HeartbeatRequestPb): { status: StatusPb } {
    const clientId = requireClientId(call);
    const settings = this.settingsByClient.get(clientId);
    if (!settings) return { status: status(Code.UNRECOGNIZED_CLIENT_TYPE, 'cannot find client settings for this client') };
    const channel = this.channelFor(call, clientId, settings);
    if (settings.client_type === ClientType.PRODUCER) {
      this.registerProducer(channel, this.producerTopics(settings));
    } else if (isConsumerType(settings.client_type)) {
      const group = validateGroup(request.group);
      this.registerConsumer(channel, group, settings.client_type, undefined);
    } else {
      return { status: status(Code.UNRECOGNIZED_CLIENT_TYPE, `client type ${settings.client_type ?? 'unset'} is not served`) };
    }
    return { status: OK_STATUS };
  }

  notifyClientTermination(call: CallContext, request: NotifyClientTerminationRequestPb): { status: StatusPb } {
    const clientId = requireClientId(call);
    const settings = this.settingsByClient.get(clientId);
    if (!settings) return { status: status(Code.UNRECOGNIZED_CLIENT_TYPE, 'cannot find client settings for this client') };
    this.settingsByClient.delete(clientId);
    const channel = this.context.channels.get(clientId);
    const { consumerManager, producerManager, subscriptionGroupManager } = this.context.deps;
    if (channel) {
      if (settings.client_type === ClientType.PRODUCER) {
        for (const topic of this.producerTopics(settings)) producerManager.unregister(topic, channel, clientId);
      } else if (isConsumerType(settings.client_type) && request.group?.name) {
        const group = validateGroup(request.group);
        consumerManager.unregister(group, channel, clientId, subscriptionGroupManager.get(group)?.notifyConsumerIdsChangedEnable ?? true);
      }
      channel.close(false);
    }
    return { status: OK_STATUS };
  }

  private channelFor(call: CallContext, clientId: string, settings: SettingsPb): GrpcClientChannel {
    if (!this.settingsByClient.has(clientId) && this.settingsByClient.size >= this.maxClients) {
      throw new StatusError(Code.TOO_MANY_REQUESTS, `the gateway serves at most ${this.maxClients} gRPC clients`);
    }
    this.settingsByClient.set(clientId, settings);
    const channel = this.context.channels.getOrCreate(clientId, call.peer);
    channel.settings = settings;
    channel.language = call.language;
    channel.version = GRPC_CLIENT_VERSION_ORDINAL;
    channel.lastSeenMs = Date.now();
    return channel;
  }

  private producerTopics(settings: SettingsPb): string[] {
    return (settings.publishing?.topics ?? []).map((topic) => validateTopic(topic, this.context.deps.topicConfigManager));
  }

  private subscriptionsOf(settings: SettingsPb): SubscriptionData[] {
    return (settings.subscription?.subscriptions ?? []).map((entry) => {
      const topic = validateTopic(entry.topic, this.context.deps.topicConfigManager);
      const sql = entry.expression?.type === FilterType.SQL;
      return buildSubscriptionData(topic, entry.expression?.expression ?? '*', sql ? ExpressionType.SQL92 : ExpressionType.TAG);
    });
  }

  private groupConfigOf(group: string): SubscriptionGroupConfig {
    return this.context.deps.subscriptionGroupManager.get(group) ?? newSubscriptionGroupConfig(group);
  }

  private registerProducer(channel: GrpcClientChannel, topics: readonly string[]): void {
    const now = Date.now();
    for (const topic of topics) {
      this.context.deps.producerManager.register(topic, {
        clientId: channel.clientId, connection: channel, language: channel.language, version: channel.version, lastUpdateTimestamp: now,
      });
    }
  }

  private registerConsumer(channel: GrpcClientChannel, group: string, clientType: number | undefined, subscriptions: SubscriptionData[] | undefined): void {
    const notify = this.context.deps.subscriptionGroupManager.get(group)?.notifyConsumerIdsChangedEnable ?? true;
    this.context.deps.consumerManager.register(
      group,
      { clientId: channel.clientId, connection: channel, language: channel.language, version: channel.version, lastUpdateTimestamp: Date.now() },
      {
        consumeType: clientType === ClientType.SIMPLE_CONSUMER ? 'CONSUME_ACTIVELY' : 'CONSUME_PASSIVELY',
        messageModel: 'CLUSTERING',
        consumeFromWhere: 'CONSUME_FROM_LAST_OFFSET',
      },
      subscriptions,
      notify,
    );
  }
}
