/**
 * Broker settings. Names are RocketMQ's `broker.conf` property names (so an existing conf file keeps
 * working); the store's settings come along because a broker.conf carries both. Units are in the
 * comments where RocketMQ's names leave them out.
 */
import { networkInterfaces } from 'node:os';
import { TideError } from '../common/errors.js';
import { DEFAULT_STORE_CONFIG, type StoreConfig } from '../store/store-config.js';
import { parseDelayLevels } from './schedule/delay-levels.js';

export interface BrokerConfig extends StoreConfig {
  brokerClusterName: string;
  brokerName: string;
  /** 0 = master. */
  brokerId: number;
  /** Name servers as `host:port;host:port`; none = the broker runs without registering. */
  namesrvAddr?: string | undefined;
  /** Remoting port; the broker also listens on listenPort − 2 (the old "VIP" port). 0 = ephemeral (tests). */
  listenPort: number;
  /** IP advertised to clients and written into every record's store host. */
  brokerIP1: string;
  /** Address the remoting server binds to. */
  listenHost: string;
  autoCreateTopicEnable: boolean;
  autoCreateSubscriptionGroup: boolean;
  /** Queues of a topic auto-created by a send (capped by the client's defaultTopicQueueNums). */
  defaultTopicQueueNums: number;
  /** PermName bits of the whole broker: 2 write, 4 read. */
  brokerPermission: number;
  /** Delay levels of 4.x delayed messages, space-separated durations (s, m, h, d). */
  messageDelayLevel: string;
  longPollingEnable: boolean;
  /** How long a suspended pull is held when long polling is off, in ms. */
  shortPollingTimeMills: number;
  /** Most pull requests held at once (long polling); past it pulls answer SYSTEM_BUSY. */
  maxHeldPullRequests: number;
  /** How often held pulls are checked for expiry, in ms. */
  pullHoldSweepIntervalMs: number;
  /** Re-registration with the name servers every this many ms. */
  registerNameServerPeriod: number;
  /** A queue lock (orderly consumption) not renewed within this many ms is free again. */
  rebalanceLockMaxLiveTime: number;
  /** A client silent for this many ms is dropped (RocketMQ's channelExpiredTimeout). */
  channelExpiredTimeout: number;
  /** Consumer offsets are written to disk every this many ms (RocketMQ `flushConsumerOffsetInterval`). */
  flushConsumerOffsetInterval: number;
  /** Most messages one pull returns (RocketMQ `maxMsgsNumBatch`). */
  maxMsgsNumBatch: number;
  /** Most bytes one pull returns (RocketMQ `maxTransferBytesOnMessageInMemory`). */
  maxTransferBytesOnMessageInMemory: number;
  /** Most messages a query by key returns (RocketMQ `defaultQueryMaxNum`). */
  defaultQueryMaxNum: number;
  /**
   * SQL92 filtering of pulls on message properties. On by default (RocketMQ: off): it costs nothing for
   * TAG subscribers, and SQL92 subscribers compile once per subscription.
   */
  enablePropertyFilter: boolean;
  /** How often the delay-level service looks for due messages, in ms. */
  scheduleTickIntervalMs: number;
  /** Region and trace switch reported in send answers (`MSG_REGION`, `TRACE_ON`). */
  regionId: string;
  traceOn: boolean;
  /** A half (transactional) message is first checked back this many ms after it is stored. */
  transactionTimeOut: number;
  /** Time between two transaction check passes, in ms. */
  transactionCheckInterval: number;
  /** Checks sent for one half message before it is given up. */
  transactionCheckMax: number;
  /** After transactionCheckMax checks: true discards the half (logged), false keeps checking it. */
  transactionDiscardAfterCheckMax: boolean;
  /** Requests one connection may have being handled at once; past it the broker answers SYSTEM_BUSY. */
  maxInFlightRequestsPerConnection: number;
  /** 5.x timer messages (TIMER_DELIVER_MS, TIMER_DELAY_SEC, TIMER_DELAY_MS) are accepted; false refuses them. */
  timerWheelEnable: boolean;
  /** furthest delivery time accepted, in seconds from now (40 days; RocketMQ defaults to 3 days); later or malformed times answer MESSAGE_ILLEGAL. */
  timerMaxDelaySec: number;
  /** how often the timer looks for due messages (ms). */
  timerTickIntervalMs: number;
  /** timer slots are loaded into memory this long before they are due (ms). */
  timerLookaheadMs: number;
  /** messages due later than this are copied forward so retention never deletes them before they are due (ms; at most a third of fileReservedTime). */
  timerRollWindowMs: number;
  /** timer log and delivery progress are made durable this often (ms). */
  timerFlushIntervalMs: number;
  /** the timer slot table is snapshotted this often (ms). */
  timerWheelSnapshotIntervalMs: number;
  /** most timer messages delivered per tick. */
  timerMaxDeliveriesPerTick: number;
  /** most parked timer messages indexed per tick. */
  timerMaxEnqueuePerTick: number;
  /** most timer entries held in memory. */
  timerMaxLoadedEntries: number;
  /** most recalled messages waiting for their time; past it RECALL_MESSAGE answers SYSTEM_BUSY. */
  timerMaxPendingRecalls: number;
  /**
   * Replication role (RocketMQ `brokerRole`). Only ASYNC_MASTER is accepted: TideMQ has no replication
   * yet, so SYNC_MASTER (an ack means a slave has the message) and SLAVE could not keep their promise
   * and the broker refuses to start with them instead of silently acting as a lone master.
   */
  brokerRole: BrokerRole;
  /**
   * Most topics the broker keeps (user, retry and DLQ topics; its own fixed system topics are not
   * counted). Past it a send to a new topic answers SYSTEM_BUSY and an admin create is refused.
   */
  maxTopicCount: number;
  /** Most subscription groups (the predefined ones not counted); past it new groups are refused with SYSTEM_BUSY. */
  maxSubscriptionGroupCount: number;
  /** Most online consumers (connections) in one group; past it a heartbeat answers SYSTEM_BUSY. */
  maxConsumersPerGroup: number;
  /** Most online producers (connections) in one producer group; past it a heartbeat answers SYSTEM_BUSY. */
  maxProducersPerGroup: number;
  /** Most producer groups with an online producer; past it a heartbeat naming a new one answers SYSTEM_BUSY. */
  maxProducerGroupCount: number;
  /**
   * Consume-queue files kept open at once over all queues (least recently used ones are closed and
   * reopened on demand), so thousands of queues cannot use up the process's file descriptors.
   */
  maxOpenConsumeQueueFiles: number;
}

/** RocketMQ's BrokerRole names. */
export const BrokerRole = {
  ASYNC_MASTER: 'ASYNC_MASTER',
  SYNC_MASTER: 'SYNC_MASTER',
  SLAVE: 'SLAVE',
} as const;
export type BrokerRole = (typeof BrokerRole)[keyof typeof BrokerRole];

/** The limits a broker.conf can set, each a positive integer (also checked for configs built in code). */
const LIMIT_KEYS = [
  'maxTopicCount', 'maxSubscriptionGroupCount', 'maxConsumersPerGroup', 'maxProducersPerGroup', 'maxProducerGroupCount', 'maxOpenConsumeQueueFiles',
] as const;

export const DEFAULT_BROKER_CONFIG: Omit<BrokerConfig, 'storePathRootDir' | 'brokerIP1'> = {
  ...DEFAULT_STORE_CONFIG,
  brokerClusterName: 'DefaultCluster',
  brokerName: 'broker-a',
  brokerId: 0,
  namesrvAddr: undefined,
  listenPort: 10911,
  listenHost: '0.0.0.0',
  autoCreateTopicEnable: true,
  autoCreateSubscriptionGroup: true,
  defaultTopicQueueNums: 8,
  brokerPermission: 6,
  messageDelayLevel: '1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h',
  longPollingEnable: true,
  shortPollingTimeMills: 1000,
  maxHeldPullRequests: 10_000,
  pullHoldSweepIntervalMs: 200,
  registerNameServerPeriod: 30_000,
  rebalanceLockMaxLiveTime: 60_000,
  channelExpiredTimeout: 120_000,
  flushConsumerOffsetInterval: 5000,
  maxMsgsNumBatch: 64,
  maxTransferBytesOnMessageInMemory: 256 * 1024,
  defaultQueryMaxNum: 32,
  enablePropertyFilter: true,
  scheduleTickIntervalMs: 100,
  regionId: 'DefaultRegion',
  traceOn: true,
  transactionTimeOut: 6000,
  transactionCheckInterval: 30_000,
  transactionCheckMax: 15,
  transactionDiscardAfterCheckMax: true,
  maxInFlightRequestsPerConnection: 4096,
  timerWheelEnable: true,
  timerMaxDelaySec: 3_456_000,
  timerTickIntervalMs: 100,
  timerLookaheadMs: 2_000,
  timerRollWindowMs: 86_400_000,
  timerFlushIntervalMs: 500,
  timerWheelSnapshotIntervalMs: 10_000,
  timerMaxDeliveriesPerTick: 2_000,
  timerMaxEnqueuePerTick: 10_000,
  timerMaxLoadedEntries: 200_000,
  timerMaxPendingRecalls: 100_000,
  brokerRole: BrokerRole.ASYNC_MASTER,
  maxTopicCount: 10_000,
  maxSubscriptionGroupCount: 10_000,
  maxConsumersPerGroup: 1_000,
  maxProducersPerGroup: 1_000,
  maxProducerGroupCount: 10_000,
  maxOpenConsumeQueueFiles: 1_000,
};

/** The first non-internal IPv4 address of this machine, or 127.0.0.1. */
export function defaultBrokerIp(): string {
  for (const addresses of Object.values(networkInterfaces())) {
    for (const address of addresses ?? []) {
      if (address.family === 'IPv4' && !address.internal) return address.address;
    }
  }
  return '127.0.0.1';
}

export function createBrokerConfig(overrides: Partial<BrokerConfig> & { storePathRootDir: string }): BrokerConfig {
  return { ...DEFAULT_BROKER_CONFIG, brokerIP1: overrides.brokerIP1 ?? defaultBrokerIp(), ...overrides };
}

type ValueKind = 'string' | 'integer' | 'boolean' | 'flushDiskType' | 'brokerRole';

/** How each known property is parsed. Keys missing here are reported as unknown. */
const PROPERTY_KINDS: Record<keyof BrokerConfig, ValueKind> = {
  storePathRootDir: 'string',
  mappedFileSizeCommitLog: 'integer',
  consumeQueueEntriesPerFile: 'integer',
  flushDiskType: 'flushDiskType',
  flushIntervalCommitLog: 'integer',
  syncFlushTimeout: 'integer',
  flushIntervalConsumeQueue: 'integer',
  fileReservedTime: 'integer',
  diskMaxUsedSpaceRatio: 'integer',
  diskSpaceRefuseRatio: 'integer',
  cleanResourceInterval: 'integer',
  maxMessageSize: 'integer',
  maxHashSlotNum: 'integer',
  maxIndexNum: 'integer',
  warmMappedFileEnable: 'boolean',
  maxPendingSyncAppends: 'integer',
  brokerClusterName: 'string',
  brokerName: 'string',
  brokerId: 'integer',
  namesrvAddr: 'string',
  listenPort: 'integer',
  brokerIP1: 'string',
  listenHost: 'string',
  autoCreateTopicEnable: 'boolean',
  autoCreateSubscriptionGroup: 'boolean',
  defaultTopicQueueNums: 'integer',
  brokerPermission: 'integer',
  messageDelayLevel: 'string',
  longPollingEnable: 'boolean',
  shortPollingTimeMills: 'integer',
  maxHeldPullRequests: 'integer',
  pullHoldSweepIntervalMs: 'integer',
  registerNameServerPeriod: 'integer',
  rebalanceLockMaxLiveTime: 'integer',
  channelExpiredTimeout: 'integer',
  flushConsumerOffsetInterval: 'integer',
  maxMsgsNumBatch: 'integer',
  maxTransferBytesOnMessageInMemory: 'integer',
  defaultQueryMaxNum: 'integer',
  enablePropertyFilter: 'boolean',
  scheduleTickIntervalMs: 'integer',
  regionId: 'string',
  traceOn: 'boolean',
  transactionTimeOut: 'integer',
  transactionCheckInterval: 'integer',
  transactionCheckMax: 'integer',
  transactionDiscardAfterCheckMax: 'boolean',
  maxInFlightRequestsPerConnection: 'integer',
  timerWheelEnable: 'boolean',
  timerMaxDelaySec: 'integer',
  timerTickIntervalMs: 'integer',
  timerLookaheadMs: 'integer',
  timerRollWindowMs: 'integer',
  timerFlushIntervalMs: 'integer',
  timerWheelSnapshotIntervalMs: 'integer',
  timerMaxDeliveriesPerTick: 'integer',
  timerMaxEnqueuePerTick: 'integer',
  timerMaxLoadedEntries: 'integer',
  timerMaxPendingRecalls: 'integer',
  brokerRole: 'brokerRole',
  maxTopicCount: 'integer',
  maxSubscriptionGroupCount: 'integer',
  maxConsumersPerGroup: 'integer',
  maxProducersPerGroup: 'integer',
  maxProducerGroupCount: 'integer',
  maxOpenConsumeQueueFiles: 'integer',
};

/** Settings that must be positive for the broker to work at all. */
const POSITIVE_INTEGERS: ReadonlySet<string> = new Set([
  'mappedFileSizeCommitLog', 'consumeQueueEntriesPerFile', 'flushIntervalCommitLog', 'syncFlushTimeout',
  'flushIntervalConsumeQueue', 'maxMessageSize', 'maxHashSlotNum', 'maxIndexNum', 'defaultTopicQueueNums',
  'maxHeldPullRequests', 'pullHoldSweepIntervalMs', 'registerNameServerPeriod', 'rebalanceLockMaxLiveTime',
  'channelExpiredTimeout', 'flushConsumerOffsetInterval', 'maxMsgsNumBatch', 'maxTransferBytesOnMessageInMemory',
  'defaultQueryMaxNum', 'scheduleTickIntervalMs', 'maxInFlightRequestsPerConnection', 'transactionTimeOut', 'transactionCheckInterval', 'transactionCheckMax',
  'timerMaxDelaySec', 'timerTickIntervalMs', 'timerLookaheadMs', 'timerRollWindowMs', 'timerFlushIntervalMs', 'timerWheelSnapshotIntervalMs', 'timerMaxDeliveriesPerTick', 'timerMaxEnqueuePerTick', 'timerMaxLoadedEntries', 'timerMaxPendingRecalls', 'maxPendingSyncAppends', 'cleanResourceInterval',
  ...LIMIT_KEYS,
]);

export function isBrokerConfigKey(key: string): key is keyof BrokerConfig {
  return Object.prototype.hasOwnProperty.call(PROPERTY_KINDS, key);
}

/** Parses one property value; throws TideError INVALID_PARAMETER naming the key. */
export function parseBrokerConfigValue(key: keyof BrokerConfig, raw: string): string | number | boolean {
  const text = raw.trim();
  const kind = PROPERTY_KINDS[key];
  switch (kind) {
    case 'string':
      return text;
    case 'integer': {
      if (!/^-?\d+$/.test(text) || !Number.isSafeInteger(Number(text))) {
        throw new TideError('INVALID_PARAMETER', `broker setting ${key}=${JSON.stringify(raw)} is not an integer`);
      }
      const value = Number(text);
      if (POSITIVE_INTEGERS.has(key) && value <= 0) {
        throw new TideError('INVALID_PARAMETER', `broker setting ${key}=${value} must be greater than 0`);
      }
      if (key === 'listenPort' && (value < 0 || value > 65535)) {
        throw new TideError('INVALID_PARAMETER', `broker setting listenPort=${value} is not a port (0-65535)`);
      }
      return value;
    }
    case 'boolean': {
      const lower = text.toLowerCase();
      if (lower === 'true') return true;
      if (lower === 'false') return false;
      throw new TideError('INVALID_PARAMETER', `broker setting ${key}=${JSON.stringify(raw)} is not true or false`);
    }
    case 'flushDiskType': {
      if (text === 'ASYNC_FLUSH' || text === 'SYNC_FLUSH') return text;
      throw new TideError('INVALID_PARAMETER', `broker setting flushDiskType=${JSON.stringify(raw)} must be ASYNC_FLUSH or SYNC_FLUSH`);
    }
    case 'brokerRole': {
      if (isBrokerRole(text)) return text;
      throw new TideError('INVALID_PARAMETER', `broker setting brokerRole=${JSON.stringify(raw)} must be ASYNC_MASTER, SYNC_MASTER or SLAVE`);
    }
  }
}

/**
 * Builds a config from broker.conf-style string properties. Unknown keys are returned (the caller
 * warns) rather than refused, because real broker.conf files carry many settings TideMQ ignores.
 * `storePathRootDir` must come from the properties or the overrides.
 */
export function brokerConfigFromProperties(
  properties: Record<string, string>,
  overrides: Partial<BrokerConfig> = {},
): { config: BrokerConfig; unknownKeys: string[] } {
  const parsed: Record<string, unknown> = {};
  const unknownKeys: string[] = [];
  for (const [key, raw] of Object.entries(properties)) {
    if (!isBrokerConfigKey(key)) {
      unknownKeys.push(key);
      continue;
    }
    parsed[key] = parseBrokerConfigValue(key, raw);
  }
  const merged = { ...parsed, ...overrides } as Partial<BrokerConfig>;
  if (typeof merged.storePathRootDir !== 'string' || merged.storePathRootDir.length === 0) {
    throw new TideError('INVALID_PARAMETER', 'broker setting storePathRootDir is required (pass --home or set it in broker.conf)');
  }
  if (merged.namesrvAddr === '') merged.namesrvAddr = undefined;
  const config = createBrokerConfig(merged as Partial<BrokerConfig> & { storePathRootDir: string });
  validateBrokerConfig(config);
  return { config, unknownKeys };
}

/** Cross-field checks that a single value cannot show. */
export function validateBrokerConfig(config: BrokerConfig): void {
  if (config.diskSpaceRefuseRatio < config.diskMaxUsedSpaceRatio) {
    throw new TideError('INVALID_PARAMETER', `diskSpaceRefuseRatio (${config.diskSpaceRefuseRatio}) must not be below diskMaxUsedSpaceRatio (${config.diskMaxUsedSpaceRatio})`);
  }
  parseDelayLevels(config.messageDelayLevel);
  if ((config.brokerPermission & ~7) !== 0) {
    throw new TideError('INVALID_PARAMETER', `brokerPermission ${config.brokerPermission} has bits other than 1, 2 and 4`);
  }
  for (const key of LIMIT_KEYS) {
    const value = config[key];
    if (!Number.isSafeInteger(value) || value <= 0) {
      throw new TideError('INVALID_PARAMETER', `broker setting ${key}=${String(value)} must be a positive integer`);
    }
  }
  validateBrokerRole(config.brokerRole);
}

function isBrokerRole(value: unknown): value is BrokerRole {
  return value === BrokerRole.ASYNC_MASTER || value === BrokerRole.SYNC_MASTER || value === BrokerRole.SLAVE;
}

/** Until replication exists only ASYNC_MASTER can keep its promise; the others refuse to start. */
function validateBrokerRole(role: unknown): void {
  if (role === BrokerRole.ASYNC_MASTER) return;
  if (role === BrokerRole.SYNC_MASTER) {
    throw new TideError(
      'INVALID_PARAMETER',
      'broker setting brokerRole=SYNC_MASTER is not supported: TideMQ has no master-slave replication yet, so it could not wait for a slave before answering SEND_OK. Remove brokerRole or set brokerRole=ASYNC_MASTER (use flushDiskType=SYNC_FLUSH for durability on this machine)',
    );
  }
  if (role === BrokerRole.SLAVE) {
    throw new TideError(
      'INVALID_PARAMETER',
      'broker setting brokerRole=SLAVE is not supported: TideMQ has no master-slave replication yet, so a slave would never receive its master\'s messages. Run this broker as brokerRole=ASYNC_MASTER (the default) under its own brokerName',
    );
  }
  throw new TideError('INVALID_PARAMETER', `broker setting brokerRole=${JSON.stringify(String(role))} must be ASYNC_MASTER, SYNC_MASTER or SLAVE`);
}

/** `host:port;host:port` → list, empty entries dropped. */
export function parseNamesrvAddr(value: string | undefined): string[] {
  if (!value) return [];
  return value.split(/[;,]/).map((entry) => entry.trim()).filter((entry) => entry.length > 0);
}
