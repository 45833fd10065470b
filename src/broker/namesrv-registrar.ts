/**
 * Keeps a broker registered with every name server: once at start, then every `intervalMs` (30 s, as
 * Java brokers do), and at once when asked (`registerNow`, e.g. after a topic is created). Each name
 * server is asked in parallel and on its own: one that is down or slow only costs a logged warning.
 *
 * When the caller hands over a plain list of topic configs, the registrar keeps the DataVersion
 * itself: it stays the same while the table's content does and moves on when it changes, because
 * the name server rewrites a broker's queue data only when its DataVersion changes.
 */
import { crc32 } from 'node:zlib';
import { ResponseCode } from '../common/errors.js';
import { silentLogger, type Logger } from '../common/logger.js';
import { createRequest } from '../protocol/remoting-command.js';
import { RequestCode } from '../protocol/request-code.js';
import {
  createDataVersion,
  decodeKvTable,
  encodeRegisterBrokerBody,
  type DataVersion,
  type TopicConfig,
  type TopicConfigSerializeWrapper,
} from '../protocol/route-data.js';
import { toFastJson } from '../protocol/fastjson.js';
import type { RemotingClient } from '../remoting/remoting-client.js';

export interface NamesrvBrokerIdentity {
  clusterName: string;
  brokerName: string;
  brokerId: number;
  /** `ip:port` clients use to reach this broker. */
  brokerAddr: string;
  /** `ip:port` slaves replicate from. */
  haServerAddr: string;
}

export interface NamesrvRegistrarOptions {
  client: RemotingClient;
  /** Read before every round, so a changed `namesrvAddr` takes effect. */
  namesrvAddresses: () => string[];
  brokerIdentity: NamesrvBrokerIdentity;
  topicConfigs: () => TopicConfig[] | TopicConfigSerializeWrapper;
  /** Default 30 000 ms. */
  intervalMs?: number;
  /** How long a name server waits for our next registration before dropping us. Default 120 000 ms. */
  heartbeatTimeoutMillis?: number;
  /** Per name server. Default 6 000 ms. */
  requestTimeoutMs?: number;
  /** Send the body in Java's compressed form. Default false. */
  compressed?: boolean;
  enableActingMaster?: boolean;
  logger?: Logger;
  now?: () => number;
}

/** What one name server answered. */
export interface NamesrvRegistration {
  namesrvAddr: string;
  /** For a slave: its master's address and HA address, when the name server knows them. */
  masterAddr?: string;
  haServerAddr?: string;
  /** The name server's ORDER_TOPIC_CONFIG namespace (topic → "brokerName:queueNums;…"). */
  orderTopicConfig?: Record<string, string>;
}

export class NamesrvRegistrar {
  private readonly client: RemotingClient;
  private readonly identity: NamesrvBrokerIdentity;
  private readonly intervalMs: number;
  private readonly heartbeatTimeoutMillis: number;
  private readonly requestTimeoutMs: number;
  private readonly logger: Logger;
  private readonly now: () => number;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private started = false;
  /** Our own DataVersion for plain config lists, with the table content it describes. */
  private ownVersion: DataVersion | undefined;
  private ownVersionFingerprint = '';

  constructor(private readonly options: NamesrvRegistrarOptions) {
    this.client = options.client;
    this.identity = options.brokerIdentity;
    this.intervalMs = options.intervalMs ?? 30_000;
    this.heartbeatTimeoutMillis = options.heartbeatTimeoutMillis ?? 120_000;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 6_000;
    this.logger = options.logger ?? silentLogger;
    this.now = options.now ?? Date.now;
  }

  /** Registers once with every name server, then keeps doing so every intervalMs until stop(). */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    this.stopped = false;
    await this.registerNow();
    this.schedule();
  }

  /** Registers with every name server now; resolves with the answers of those that accepted. */
  async registerNow(): Promise<NamesrvRegistration[]> {
    const addresses = this.options.namesrvAddresses();
    if (addresses.length === 0) return [];
    const body = encodeRegisterBrokerBody(
      { topicConfigSerializeWrapper: this.currentWrapper(), filterServerList: [] },
      this.options.compressed === true,
    );
    const extFields: Record<string, string> = {
      brokerName: this.identity.brokerName,
      brokerAddr: this.identity.brokerAddr,
      clusterName: this.identity.clusterName,
      haServerAddr: this.identity.haServerAddr,
      brokerId: String(this.identity.brokerId),
      heartbeatTimeoutMillis: String(this.heartbeatTimeoutMillis),
      enableActingMaster: String(this.options.enableActingMaster === true),
      compressed: String(this.options.compressed === true),
      bodyCrc32: String(crc32(body) & 0x7fffffff),
    };
    const outcomes = await Promise.allSettled(addresses.map((address) => this.registerWith(address, extFields, body)));
    const registrations: NamesrvRegistration[] = [];
    outcomes.forEach((outcome, index) => {
      if (outcome.status === 'fulfilled') registrations.push(outcome.value);
      else this.logger.warn({ err: outcome.reason, namesrvAddr: addresses[index] }, 'registering with name server failed');
    });
    return registrations;
  }

  /** Tells every name server this broker is leaving (best effort, in parallel). */
  async unregister(): Promise<void> {
    const extFields: Record<string, string> = {
      brokerName: this.identity.brokerName,
      brokerAddr: this.identity.brokerAddr,
      clusterName: this.identity.clusterName,
      brokerId: String(this.identity.brokerId),
    };
    const addresses = this.options.namesrvAddresses();
    const outcomes = await Promise.allSettled(
      addresses.map(async (address) => {
        const response = await this.client.invoke(address, createRequest(RequestCode.UNREGISTER_BROKER, { ...extFields }), this.requestTimeoutMs);
        if (response.code !== ResponseCode.SUCCESS) throw new Error(`code ${response.code}: ${response.remark ?? ''}`);
      }),
    );
    outcomes.forEach((outcome, index) => {
      if (outcome.status === 'rejected') this.logger.warn({ err: outcome.reason, namesrvAddr: addresses[index] }, 'unregistering from name server failed');
    });
  }

  /** Stops the periodic registration (an in-flight round still finishes). */
  stop(): void {
    this.stopped = true;
    this.started = false;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(): void {
    if (this.stopped) return;
    // A chain of timeouts rather than an interval, so a slow round never overlaps the next one.
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.registerNow()
        .catch((error: unknown) => this.logger.error({ err: error }, 'registration round failed'))
        .finally(() => this.schedule());
    }, this.intervalMs);
    this.timer.unref();
  }

  private async registerWith(address: string, extFields: Record<string, string>, body: Buffer): Promise<NamesrvRegistration> {
    const request = createRequest(RequestCode.REGISTER_BROKER, { ...extFields }, body);
    const response = await this.client.invoke(address, request, this.requestTimeoutMs);
    if (response.code !== ResponseCode.SUCCESS) {
      throw new Error(`name server ${address} refused the registration: code ${response.code}, ${response.remark ?? 'no remark'}`);
    }
    const registration: NamesrvRegistration = { namesrvAddr: address };
    const fields = response.extFields ?? {};
    if (fields.masterAddr) registration.masterAddr = fields.masterAddr;
    if (fields.haServerAddr) registration.haServerAddr = fields.haServerAddr;
    if (response.body !== undefined && response.body.length > 0) {
      try {
        registration.orderTopicConfig = decodeKvTable(response.body);
      } catch (error) {
        this.logger.warn({ err: error, namesrvAddr: address }, 'name server answered an unreadable order topic config');
      }
    }
    return registration;
  }

  private currentWrapper(): TopicConfigSerializeWrapper {
    const configs = this.options.topicConfigs();
    if (!Array.isArray(configs)) return configs;
    const topicConfigTable: Record<string, TopicConfig> = {};
    for (const config of configs) {
      Object.defineProperty(topicConfigTable, config.topicName, { value: config, enumerable: true, writable: true, configurable: true });
    }
    const fingerprint = toFastJson(topicConfigTable);
    if (this.ownVersion === undefined || fingerprint !== this.ownVersionFingerprint) {
      this.ownVersion = createDataVersion(this.now(), (this.ownVersion?.counter ?? 0) + 1);
      this.ownVersionFingerprint = fingerprint;
    }
    return { topicConfigTable, dataVersion: this.ownVersion };
  }
}
