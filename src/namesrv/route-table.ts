/**
 * The name server's state: which brokers are alive, which clusters they form, and which queues each
 * broker serves for each topic. It is a pure state machine: no timers, no sockets, no clock. Callers
 * pass `nowMs`, and the name server ticks `scanNotActiveBrokers` on its own interval.
 *
 * Semantics follow RocketMQ's RouteInfoManager (facts, not code):
 *  - A broker is keyed by (clusterName, brokerAddr) for liveness and by brokerName for its replica set
 *    (brokerId 0 = master). Only the master, or with acting-master mode the lowest-id slave, decides
 *    a broker name's queue data; other slaves only keep themselves alive.
 *  - A registration rewrites a topic's queue data only when the broker's DataVersion changed, the
 *    broker registered for the first time, or the topic has no queue data for that broker yet.
 *  - A broker silent for longer than its heartbeatTimeoutMillis (default 120 s) is dropped; when the
 *    last address of a broker name goes, its queue data goes too, and topics left without any queue
 *    data disappear.
 * Departure from Java: Java refuses a broker's first registration if it carries exactly one topic
 * (its incremental single-topic path); TideMQ accepts it, since the next full registration (30 s)
 * completes the picture either way.
 */
import { TideError } from '../common/errors.js';
import {
  MASTER_BROKER_ID,
  Perm,
  dataVersionEquals,
  isWriteable,
  type BrokerData,
  type ClusterInfo,
  type DataVersion,
  type QueueData,
  type TopicConfig,
  type TopicConfigSerializeWrapper,
  type TopicList,
  type TopicRouteData,
} from '../protocol/route-data.js';

export const DEFAULT_BROKER_HEARTBEAT_TIMEOUT_MS = 120_000;

export interface RouteTableOptions {
  /** Most topics the table holds; registrations that would exceed it are refused (SYSTEM_BUSY). */
  maxTopicCount?: number;
  /** Most live broker addresses; new brokers past it are refused (SYSTEM_BUSY). */
  maxBrokerCount?: number;
  /** Drop a broker's topics that are missing from its full registration (Java default: off). */
  deleteTopicWithBrokerRegistration?: boolean;
  /** Present the lowest-id slave as master in routes when a broker name has lost its master. */
  supportActingMaster?: boolean;
}

export interface BrokerRegistration {
  clusterName: string;
  brokerAddr: string;
  brokerName: string;
  brokerId: number;
  haServerAddr: string;
  zoneName?: string | undefined;
  heartbeatTimeoutMs?: number | undefined;
  /** undefined = an old broker that does not know acting-master mode. */
  enableActingMaster?: boolean | undefined;
  topicConfigWrapper: TopicConfigSerializeWrapper;
  filterServerList?: string[] | undefined;
  /** The remoting connection the registration came on; closing it unregisters the broker. */
  connectionId?: number | undefined;
}

export interface RegisterBrokerResult {
  /** For a slave: the HA address of its live master. */
  haServerAddr?: string;
  /** For a slave: the address of its live master. */
  masterAddr?: string;
}

export interface BrokerIdentity {
  clusterName: string;
  brokerAddr: string;
  brokerName: string;
  brokerId: number;
}

interface BrokerEntry {
  cluster: string;
  brokerName: string;
  brokerAddrs: Map<number, string>;
  enableActingMaster: boolean;
  zoneName: string | undefined;
}

export interface LiveBroker {
  readonly clusterName: string;
  readonly brokerAddr: string;
  lastUpdateTimestampMs: number;
  heartbeatTimeoutMs: number;
  dataVersion: DataVersion;
  haServerAddr: string;
  connectionId: number | undefined;
}

const liveKey = (clusterName: string, brokerAddr: string): string => `${clusterName}\u0000${brokerAddr}`;
const minKey = (keys: Iterable<number>): number => Math.min(...keys);
/** Own-property assignment that is safe for any key, `__proto__` included (names come off the wire). */
function setOwn<T>(record: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(record, key, { value, enumerable: true, writable: true, configurable: true });
}

export class RouteTable {
  private readonly topicQueueTable = new Map<string, Map<string, QueueData>>();
  private readonly brokerAddrTable = new Map<string, BrokerEntry>();
  private readonly clusterAddrTable = new Map<string, Set<string>>();
  private readonly brokerLiveTable = new Map<string, LiveBroker>();
  private readonly filterServerTable = new Map<string, string[]>();
  private readonly maxTopicCount: number;
  private readonly maxBrokerCount: number;
  private readonly deleteTopicWithBrokerRegistration: boolean;
  private readonly supportActingMaster: boolean;

  constructor(options: RouteTableOptions = {}) {
    this.maxTopicCount = options.maxTopicCount ?? 1_000_000;
    this.maxBrokerCount = options.maxBrokerCount ?? 4_096;
    this.deleteTopicWithBrokerRegistration = options.deleteTopicWithBrokerRegistration ?? false;
    this.supportActingMaster = options.supportActingMaster ?? false;
  }

  get topicCount(): number {
    return this.topicQueueTable.size;
  }

  /** Live brokers, for diagnostics and tests. */
  liveBrokers(): readonly LiveBroker[] {
    return [...this.brokerLiveTable.values()];
  }

  /** Registers or refreshes a broker. Returns null when the registration is ignored as stale. */
  registerBroker(registration: BrokerRegistration, nowMs: number): RegisterBrokerResult | null {
    const { clusterName, brokerAddr, brokerName, brokerId, topicConfigWrapper } = registration;
    const key = liveKey(clusterName, brokerAddr);
    this.checkLimits(key, topicConfigWrapper);

    let brokerNames = this.clusterAddrTable.get(clusterName);
    if (brokerNames === undefined) this.clusterAddrTable.set(clusterName, (brokerNames = new Set()));
    brokerNames.add(brokerName);

    let registerFirst = false;
    let broker = this.brokerAddrTable.get(brokerName);
    if (broker === undefined) {
      registerFirst = true;
      broker = { cluster: clusterName, brokerName, brokerAddrs: new Map(), enableActingMaster: false, zoneName: undefined };
      this.brokerAddrTable.set(brokerName, broker);
    }
    const isOldVersionBroker = registration.enableActingMaster === undefined;
    broker.enableActingMaster = registration.enableActingMaster === true;
    broker.zoneName = registration.zoneName;

    // A slave promoted to master re-registers the same address under id 0: one address, one id.
    for (const [existingId, existingAddr] of broker.brokerAddrs) {
      if (existingAddr === brokerAddr && existingId !== brokerId) broker.brokerAddrs.delete(existingId);
    }

    const oldAddr = broker.brokerAddrs.get(brokerId);
    if (oldAddr !== undefined && oldAddr !== brokerAddr) {
      const oldLive = this.brokerLiveTable.get(liveKey(clusterName, oldAddr));
      if (oldLive !== undefined && oldLive.dataVersion.stateVersion > topicConfigWrapper.dataVersion.stateVersion) {
        // Another address holds this id with a newer state: the registering one is stale.
        this.brokerLiveTable.delete(key);
        return null;
      }
    }

    broker.brokerAddrs.set(brokerId, brokerAddr);
    registerFirst ||= oldAddr === undefined;

    const isMaster = brokerId === MASTER_BROKER_ID;
    const isPrimeSlave = !isOldVersionBroker && !isMaster && brokerId === minKey(broker.brokerAddrs.keys());
    if (isMaster || isPrimeSlave) {
      const configs = Object.values(topicConfigWrapper.topicConfigTable);
      if (this.deleteTopicWithBrokerRegistration) this.dropTopicsMissingFrom(brokerName, configs);
      const previousVersion = this.brokerLiveTable.get(key)?.dataVersion;
      const versionChanged = previousVersion === undefined || !dataVersionEquals(previousVersion, topicConfigWrapper.dataVersion);
      for (const config of configs) {
        if (registerFirst || versionChanged || !this.topicQueueTable.get(config.topicName)?.has(brokerName)) {
          const wipeWrite = isPrimeSlave && broker.enableActingMaster;
          this.putQueueData(brokerName, config, wipeWrite);
        }
      }
    }

    this.brokerLiveTable.set(key, {
      clusterName,
      brokerAddr,
      lastUpdateTimestampMs: nowMs,
      heartbeatTimeoutMs: registration.heartbeatTimeoutMs ?? DEFAULT_BROKER_HEARTBEAT_TIMEOUT_MS,
      dataVersion: { ...topicConfigWrapper.dataVersion },
      haServerAddr: registration.haServerAddr,
      connectionId: registration.connectionId,
    });
    const filterServers = registration.filterServerList;
    if (filterServers !== undefined) {
      if (filterServers.length === 0) this.filterServerTable.delete(key);
      else this.filterServerTable.set(key, [...filterServers]);
    }

    const result: RegisterBrokerResult = {};
    if (!isMaster) {
      const masterAddr = broker.brokerAddrs.get(MASTER_BROKER_ID);
      const masterLive = masterAddr === undefined ? undefined : this.brokerLiveTable.get(liveKey(clusterName, masterAddr));
      if (masterAddr !== undefined && masterLive !== undefined) {
        result.haServerAddr = masterLive.haServerAddr;
        result.masterAddr = masterAddr;
      }
    }
    return result;
  }

  private checkLimits(key: string, wrapper: TopicConfigSerializeWrapper): void {
    if (!this.brokerLiveTable.has(key) && this.brokerLiveTable.size >= this.maxBrokerCount) {
      throw new TideError('SYSTEM_BUSY', `the name server already tracks ${this.maxBrokerCount} brokers`);
    }
    let newTopics = 0;
    for (const name of Object.keys(wrapper.topicConfigTable)) if (!this.topicQueueTable.has(name)) newTopics++;
    if (this.topicQueueTable.size + newTopics > this.maxTopicCount) {
      throw new TideError('SYSTEM_BUSY', `the name server would exceed ${this.maxTopicCount} topics`);
    }
  }

  private putQueueData(brokerName: string, config: TopicConfig, wipeWrite: boolean): void {
    const queueData: QueueData = {
      brokerName,
      readQueueNums: config.readQueueNums,
      writeQueueNums: config.writeQueueNums,
      perm: wipeWrite ? config.perm & ~Perm.WRITE : config.perm,
      topicSysFlag: config.topicSysFlag,
    };
    let byBroker = this.topicQueueTable.get(config.topicName);
    if (byBroker === undefined) this.topicQueueTable.set(config.topicName, (byBroker = new Map()));
    byBroker.set(brokerName, queueData);
  }

  private dropTopicsMissingFrom(brokerName: string, configs: TopicConfig[]): void {
    const kept = new Set(configs.map((config) => config.topicName));
    for (const [topic, byBroker] of this.topicQueueTable) {
      if (kept.has(topic) || !byBroker.delete(brokerName)) continue;
      if (byBroker.size === 0) this.topicQueueTable.delete(topic);
    }
  }

  /** Removes one broker address (UNREGISTER_BROKER, expiry, connection close). */
  unregisterBroker(identity: BrokerIdentity): void {
    const { clusterName, brokerAddr, brokerName } = identity;
    const key = liveKey(clusterName, brokerAddr);
    this.brokerLiveTable.delete(key);
    this.filterServerTable.delete(key);

    const broker = this.brokerAddrTable.get(brokerName);
    if (broker === undefined) return;
    for (const [id, address] of broker.brokerAddrs) if (address === brokerAddr) broker.brokerAddrs.delete(id);
    if (broker.brokerAddrs.size > 0) {
      // The name lives on. With acting-master mode and no master left, its queues turn read-only.
      if (broker.enableActingMaster && !broker.brokerAddrs.has(MASTER_BROKER_ID)) {
        for (const byBroker of this.topicQueueTable.values()) {
          const queueData = byBroker.get(brokerName);
          if (queueData !== undefined) queueData.perm &= ~Perm.WRITE;
        }
      }
      return;
    }
    this.brokerAddrTable.delete(brokerName);
    const names = this.clusterAddrTable.get(clusterName);
    if (names !== undefined && names.delete(brokerName) && names.size === 0) this.clusterAddrTable.delete(clusterName);
    for (const [topic, byBroker] of this.topicQueueTable) {
      if (byBroker.delete(brokerName) && byBroker.size === 0) this.topicQueueTable.delete(topic);
    }
  }

  /** Unregisters the brokers whose latest registration came over a connection that closed. */
  unregisterConnection(connectionId: number): string[] {
    const removed: string[] = [];
    for (const live of [...this.brokerLiveTable.values()]) {
      if (live.connectionId === connectionId) {
        this.dropLiveBroker(live);
        removed.push(live.brokerAddr);
      }
    }
    return removed;
  }

  /** Drops brokers silent for longer than their heartbeat timeout; returns their addresses. */
  scanNotActiveBrokers(nowMs: number): string[] {
    const expired: string[] = [];
    for (const live of [...this.brokerLiveTable.values()]) {
      if (live.lastUpdateTimestampMs + live.heartbeatTimeoutMs < nowMs) {
        this.dropLiveBroker(live);
        expired.push(live.brokerAddr);
      }
    }
    return expired;
  }

  private dropLiveBroker(live: LiveBroker): void {
    for (const broker of this.brokerAddrTable.values()) {
      if (broker.cluster !== live.clusterName) continue;
      for (const [brokerId, address] of broker.brokerAddrs) {
        if (address === live.brokerAddr) {
          this.unregisterBroker({ clusterName: live.clusterName, brokerAddr: live.brokerAddr, brokerName: broker.brokerName, brokerId });
          return;
        }
      }
    }
    // Known to the live table only (its address was taken over by another id): forget it there.
    const key = liveKey(live.clusterName, live.brokerAddr);
    this.brokerLiveTable.delete(key);
    this.filterServerTable.delete(key);
  }

  queryBrokerDataVersion(clusterName: string, brokerAddr: string): DataVersion | undefined {
    return this.brokerLiveTable.get(liveKey(clusterName, brokerAddr))?.dataVersion;
  }

  isBrokerTopicConfigChanged(clusterName: string, brokerAddr: string, dataVersion: DataVersion): boolean {
    const previous = this.queryBrokerDataVersion(clusterName, brokerAddr);
    return previous === undefined || !dataVersionEquals(previous, dataVersion);
  }

  /** Keeps a broker alive without a full registration (QUERY_DATA_VERSION). */
  touchBroker(clusterName: string, brokerAddr: string, nowMs: number): void {
    const live = this.brokerLiveTable.get(liveKey(clusterName, brokerAddr));
    if (live !== undefined) live.lastUpdateTimestampMs = nowMs;
  }

  /** The route of a topic, or undefined when no live broker serves it. */
  pickupTopicRouteData(topic: string): TopicRouteData | undefined {
    const byBroker = this.topicQueueTable.get(topic);
    if (byBroker === undefined) return undefined;
    const brokerDatas: BrokerData[] = [];
    const filterServerTable: Record<string, string[]> = {};
    for (const brokerName of byBroker.keys()) {
      const broker = this.brokerAddrTable.get(brokerName);
      if (broker === undefined) continue;
      const brokerData = toBrokerData(broker);
      brokerDatas.push(brokerData);
      for (const address of broker.brokerAddrs.values()) {
        const servers = this.filterServerTable.get(liveKey(broker.cluster, address));
        if (servers !== undefined) setOwn(filterServerTable, address, [...servers]);
      }
    }
    if (brokerDatas.length === 0) return undefined;
    const queueDatas = [...byBroker.values()].map((queueData) => ({ ...queueData }));
    if (this.supportActingMaster) applyActingMaster(brokerDatas, queueDatas);
    return { brokerDatas, queueDatas, filterServerTable };
  }

  getClusterInfo(): ClusterInfo {
    const brokerAddrTable: Record<string, BrokerData> = {};
    for (const [name, broker] of this.brokerAddrTable) setOwn(brokerAddrTable, name, toBrokerData(broker));
    const clusterAddrTable: Record<string, string[]> = {};
    for (const [cluster, names] of this.clusterAddrTable) setOwn(clusterAddrTable, cluster, [...names].sort());
    return { brokerAddrTable, clusterAddrTable };
  }

  getAllTopicList(): TopicList {
    return { topicList: [...this.topicQueueTable.keys()].sort() };
  }

  getTopicsByCluster(clusterName: string): TopicList {
    const names = this.clusterAddrTable.get(clusterName) ?? new Set<string>();
    const topics: string[] = [];
    for (const [topic, byBroker] of this.topicQueueTable) {
      for (const name of names) {
        if (byBroker.has(name)) {
          topics.push(topic);
          break;
        }
      }
    }
    return { topicList: topics.sort() };
  }

  /**
   * Java brokers create a topic named after their cluster and one after their broker name; the
   * admin tool lists those as system topics, with some broker address to ask about them.
   */
  getSystemTopicList(): TopicList {
    const topics = new Set<string>();
    for (const [cluster, names] of this.clusterAddrTable) {
      topics.add(cluster);
      for (const name of names) topics.add(name);
    }
    const list: TopicList = { topicList: [...topics].sort() };
    for (const broker of this.brokerAddrTable.values()) {
      const first = broker.brokerAddrs.values().next();
      if (!first.done) {
        list.brokerAddr = first.value;
        break;
      }
    }
    return list;
  }

  /** Deletes a topic everywhere, or only from the brokers of one cluster. */
  deleteTopic(topic: string, clusterName?: string): void {
    if (clusterName === undefined || clusterName.length === 0) {
      this.topicQueueTable.delete(topic);
      return;
    }
    const names = this.clusterAddrTable.get(clusterName);
    const byBroker = this.topicQueueTable.get(topic);
    if (names === undefined || byBroker === undefined) return;
    for (const name of names) byBroker.delete(name);
    if (byBroker.size === 0) this.topicQueueTable.delete(topic);
  }

  /** Removes write permission from every queue of a broker name; returns how many topics changed. */
  wipeWritePermOfBroker(brokerName: string): number {
    let count = 0;
    for (const byBroker of this.topicQueueTable.values()) {
      const queueData = byBroker.get(brokerName);
      if (queueData === undefined) continue;
      queueData.perm &= ~Perm.WRITE;
      count++;
    }
    return count;
  }

  /** Restores read+write on every queue of a broker name; returns how many topics changed. */
  addWritePermOfBroker(brokerName: string): number {
    let count = 0;
    for (const byBroker of this.topicQueueTable.values()) {
      const queueData = byBroker.get(brokerName);
      if (queueData === undefined) continue;
      queueData.perm = Perm.READ | Perm.WRITE;
      count++;
    }
    return count;
  }
}

function toBrokerData(broker: BrokerEntry): BrokerData {
  const brokerAddrs: Record<string, string> = {};
  for (const id of [...broker.brokerAddrs.keys()].sort((left, right) => left - right)) brokerAddrs[String(id)] = broker.brokerAddrs.get(id)!;
  const data: BrokerData = { cluster: broker.cluster, brokerName: broker.brokerName, brokerAddrs, enableActingMaster: broker.enableActingMaster };
  if (broker.zoneName !== undefined) data.zoneName = broker.zoneName;
  return data;
}

/** Where a broker name lost its master and its queues are read-only, show its lowest slave as id 0. */
function applyActingMaster(brokerDatas: BrokerData[], queueDatas: QueueData[]): void {
  for (const brokerData of brokerDatas) {
    const ids = Object.keys(brokerData.brokerAddrs).map(Number);
    if (ids.length === 0 || ids.includes(MASTER_BROKER_ID) || !brokerData.enableActingMaster) continue;
    const queueData = queueDatas.find((candidate) => candidate.brokerName === brokerData.brokerName);
    if (queueData === undefined || isWriteable(queueData.perm)) continue;
    const actingId = String(Math.min(...ids));
    const actingAddr = brokerData.brokerAddrs[actingId]!;
    delete brokerData.brokerAddrs[actingId];
    brokerData.brokerAddrs[String(MASTER_BROKER_ID)] = actingAddr;
  }
}
