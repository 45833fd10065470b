/**
 * Consumer groups' settings (RocketMQ's SubscriptionGroupConfig), persisted as
 * `<storePathRootDir>/config/subscriptionGroup.json` in Java's shape:
 * `{"subscriptionGroupTable":{group:config},"forbiddenTable":{},"dataVersion":{...}}`.
 * A group is created on first use (heartbeat, pull, send-back) when `autoCreateSubscriptionGroup` is on.
 *
 * The table is capped at `maxSubscriptionGroupCount` groups (the predefined ones not counted): any
 * client can create groups by naming them, so past the cap a new group is refused with SYSTEM_BUSY
 * while existing groups keep working. Groups already in the file are always kept.
 */
import { join } from 'node:path';
import { TideError } from '../common/errors.js';
import { isValidName, GROUP_NAME_MAX_LENGTH } from '../common/names.js';
import { silentLogger, type Logger } from '../common/logger.js';
import { newDataVersion, nextDataVersion, parseDataVersion, type DataVersion } from './data-version.js';
import { DurableJsonFile } from './durable-json-file.js';

export interface GroupRetryPolicy {
  type: string;
  [key: string]: unknown;
}

export interface SubscriptionGroupConfig {
  groupName: string;
  consumeEnable: boolean;
  consumeFromMinEnable: boolean;
  consumeBroadcastEnable: boolean;
  consumeMessageOrderly: boolean;
  /** 0 disables retries: failed messages are dropped instead of sent back. */
  retryQueueNums: number;
  /** Send-backs beyond this go to the DLQ. */
  retryMaxTimes: number;
  groupRetryPolicy: GroupRetryPolicy;
  brokerId: number;
  whichBrokerWhenConsumeSlowly: number;
  notifyConsumerIdsChangedEnable: boolean;
  groupSysFlag: number;
  consumeTimeoutMinute: number;
  attributes: Record<string, string>;
}

/** Groups Java brokers always have. */
const PREDEFINED_GROUPS = [
  'TOOLS_CONSUMER',
  'FILTERSRV_CONSUMER',
  'SELF_TEST_C_GROUP',
  'CID_ONS-HTTP-PROXY',
  'CID_ONSAPI_PULL',
  'CID_ONSAPI_PERMISSION',
  'CID_ONSAPI_OWNER',
  'CID_RMQ_SYS_TRANS',
] as const;

export function newSubscriptionGroupConfig(groupName: string, fields: Partial<SubscriptionGroupConfig> = {}): SubscriptionGroupConfig {
  return {
    groupName,
    consumeEnable: true,
    consumeFromMinEnable: true,
    consumeBroadcastEnable: true,
    consumeMessageOrderly: false,
    retryQueueNums: 1,
    retryMaxTimes: 16,
    groupRetryPolicy: { type: 'CUSTOMIZED' },
    brokerId: 0,
    whichBrokerWhenConsumeSlowly: 1,
    notifyConsumerIdsChangedEnable: true,
    groupSysFlag: 0,
    consumeTimeoutMinute: 15,
    attributes: {},
    ...fields,
  };
}

export interface SubscriptionGroupManagerOptions {
  storePathRootDir: string;
  autoCreateSubscriptionGroup: boolean;
  /** Most groups, the predefined ones not counted. Default 10,000. */
  maxSubscriptionGroupCount?: number;
  logger?: Logger;
}

/** Default of `maxSubscriptionGroupCount`. */
export const DEFAULT_MAX_SUBSCRIPTION_GROUP_COUNT = 10_000;
const PREDEFINED_GROUP_NAMES: ReadonlySet<string> = new Set(PREDEFINED_GROUPS);

export class SubscriptionGroupManager {
  private readonly table = new Map<string, SubscriptionGroupConfig>();
  /** group → topic → forbidden permission bits (kept for the admin tools; not enforced yet). */
  private readonly forbiddenTable: Record<string, Record<string, number>> = {};
  private readonly file: DurableJsonFile;
  private readonly logger: Logger;
  private readonly maxGroupCount: number;
  /** Groups in the table that count against maxSubscriptionGroupCount. */
  private countedGroups = 0;
  private capLogged = false;
  private version: DataVersion = newDataVersion();

  constructor(private readonly options: SubscriptionGroupManagerOptions) {
    this.logger = options.logger ?? silentLogger;
    this.maxGroupCount = options.maxSubscriptionGroupCount ?? DEFAULT_MAX_SUBSCRIPTION_GROUP_COUNT;
    this.file = new DurableJsonFile(join(options.storePathRootDir, 'config', 'subscriptionGroup.json'), () => this.encode());
    for (const group of PREDEFINED_GROUPS) this.table.set(group, newSubscriptionGroupConfig(group));
    this.load();
  }

  get dataVersion(): DataVersion {
    return this.version;
  }

  get(group: string): SubscriptionGroupConfig | undefined {
    return this.table.get(group);
  }

  all(): SubscriptionGroupConfig[] {
    return [...this.table.values()];
  }

  /** Groups that count against maxSubscriptionGroupCount. */
  get groupCount(): number {
    return this.countedGroups;
  }

  /**
   * The group's config, created with defaults when absent and auto-creation is on. Throws
   * SUBSCRIPTION_GROUP_NOT_EXIST otherwise, GROUP_NAME_INVALID for a bad name, and SYSTEM_BUSY when a
   * new group would pass maxSubscriptionGroupCount.
   */
  findOrCreate(group: string): SubscriptionGroupConfig {
    const existing = this.table.get(group);
    if (existing) return existing;
    if (!isValidName(group, GROUP_NAME_MAX_LENGTH)) {
      throw new TideError('GROUP_NAME_INVALID', `The specified group ${JSON.stringify(String(group).slice(0, 200))} is invalid: use 1-${GROUP_NAME_MAX_LENGTH} characters of ^[%|a-zA-Z0-9_-]+$`);
    }
    if (!this.options.autoCreateSubscriptionGroup) {
      throw new TideError(
        'SUBSCRIPTION_GROUP_NOT_EXIST',
        `subscription group [${group}] does not exist; create it with \`tidemq admin updateSubGroup -g ${group}\` (or mqadmin updateSubGroup), or set autoCreateSubscriptionGroup=true`,
      );
    }
    this.checkRoomFor(group);
    const config = newSubscriptionGroupConfig(group);
    this.logger.info({ group }, 'auto-created subscription group');
    this.put(config);
    return config;
  }

  /** Creates or replaces a group (admin UPDATE_AND_CREATE_SUBSCRIPTIONGROUP); a new one past the cap throws SYSTEM_BUSY. */
  update(config: SubscriptionGroupConfig): void {
    if (!isValidName(config.groupName, GROUP_NAME_MAX_LENGTH)) {
      throw new TideError('GROUP_NAME_INVALID', `The specified group ${JSON.stringify(config.groupName)} is invalid`);
    }
    if (!this.table.has(config.groupName)) this.checkRoomFor(config.groupName);
    this.put({ ...newSubscriptionGroupConfig(config.groupName), ...config });
  }

  delete(group: string): boolean {
    if (!this.table.delete(group)) return false;
    if (!PREDEFINED_GROUP_NAMES.has(group)) {
      this.countedGroups--;
      this.capLogged = false;
    }
    delete this.forbiddenTable[group];
    this.bump();
    return true;
  }

  persist(): Promise<void> {
    return this.file.save();
  }

  encode(): { subscriptionGroupTable: Record<string, SubscriptionGroupConfig>; forbiddenTable: Record<string, Record<string, number>>; dataVersion: DataVersion } {
    const subscriptionGroupTable: Record<string, SubscriptionGroupConfig> = {};
    for (const [name, config] of this.table) subscriptionGroupTable[name] = config;
    return { subscriptionGroupTable, forbiddenTable: this.forbiddenTable, dataVersion: this.version };
  }

  /** Throws SYSTEM_BUSY when creating `group` (not in the table yet) would pass maxSubscriptionGroupCount. */
  private checkRoomFor(group: string): void {
    if (PREDEFINED_GROUP_NAMES.has(group) || this.countedGroups < this.maxGroupCount) return;
    // Logged once per time the cap is reached: a client naming ever new groups must not flood the log.
    if (!this.capLogged) this.logger.warn({ group, groupCount: this.countedGroups, maxSubscriptionGroupCount: this.maxGroupCount }, 'subscription group not created: maxSubscriptionGroupCount reached');
    this.capLogged = true;
    throw new TideError(
      'SYSTEM_BUSY',
      `subscription group [${group}] was not created: the broker already has ${this.countedGroups} groups (maxSubscriptionGroupCount=${this.maxGroupCount}); delete unused groups or raise maxSubscriptionGroupCount`,
    );
  }

  private put(config: SubscriptionGroupConfig): void {
    if (!this.table.has(config.groupName) && !PREDEFINED_GROUP_NAMES.has(config.groupName)) this.countedGroups++;
    this.table.set(config.groupName, config);
    this.bump();
  }

  private bump(): void {
    this.version = nextDataVersion(this.version);
    this.persist().catch((error: unknown) => this.logger.error({ err: error }, 'persisting subscriptionGroup.json failed'));
  }

  private load(): void {
    const content = this.file.load();
    if (content === undefined) return;
    if (typeof content !== 'object' || content === null) throw new Error(`${this.file.path}: expected a JSON object`);
    const record = content as { subscriptionGroupTable?: unknown; forbiddenTable?: unknown; dataVersion?: unknown };
    if (typeof record.subscriptionGroupTable === 'object' && record.subscriptionGroupTable !== null) {
      for (const [name, value] of Object.entries(record.subscriptionGroupTable as Record<string, unknown>)) {
        const config = parseSubscriptionGroupConfig(value, name);
        if (config) {
          if (!this.table.has(name) && !PREDEFINED_GROUP_NAMES.has(name)) this.countedGroups++;
          this.table.set(name, config);
        }
        else this.logger.warn({ group: name, file: this.file.path }, 'skipping an invalid subscription group config');
      }
    }
    if (typeof record.forbiddenTable === 'object' && record.forbiddenTable !== null) {
      Object.assign(this.forbiddenTable, record.forbiddenTable);
    }
    this.version = parseDataVersion(record.dataVersion) ?? this.version;
  }
}

/** Validates a SubscriptionGroupConfig from disk or an admin request body; undefined when unusable. */
export function parseSubscriptionGroupConfig(value: unknown, name?: string): SubscriptionGroupConfig | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const record = value as Record<string, unknown>;
  const groupName = name ?? record.groupName;
  if (!isValidName(groupName, GROUP_NAME_MAX_LENGTH)) return undefined;
  const defaults = newSubscriptionGroupConfig(groupName);
  const bool = (key: keyof SubscriptionGroupConfig): boolean => {
    const field = record[key];
    return field === undefined ? (defaults[key] as boolean) : field === true || field === 'true';
  };
  const int = (key: keyof SubscriptionGroupConfig): number => {
    const field = record[key];
    const number = field === undefined ? (defaults[key] as number) : Number(field);
    return Number.isInteger(number) ? number : (defaults[key] as number);
  };
  const attributes: Record<string, string> = {};
  if (typeof record.attributes === 'object' && record.attributes !== null) {
    for (const [key, attribute] of Object.entries(record.attributes as Record<string, unknown>)) attributes[key] = String(attribute);
  }
  const retryPolicy = typeof record.groupRetryPolicy === 'object' && record.groupRetryPolicy !== null
    ? { type: 'CUSTOMIZED', ...(record.groupRetryPolicy as Record<string, unknown>) }
    : defaults.groupRetryPolicy;
  return {
    groupName,
    consumeEnable: bool('consumeEnable'),
    consumeFromMinEnable: bool('consumeFromMinEnable'),
    consumeBroadcastEnable: bool('consumeBroadcastEnable'),
    consumeMessageOrderly: bool('consumeMessageOrderly'),
    retryQueueNums: Math.max(0, int('retryQueueNums')),
    retryMaxTimes: int('retryMaxTimes'),
    groupRetryPolicy: retryPolicy as GroupRetryPolicy,
    brokerId: int('brokerId'),
    whichBrokerWhenConsumeSlowly: int('whichBrokerWhenConsumeSlowly'),
    notifyConsumerIdsChangedEnable: bool('notifyConsumerIdsChangedEnable'),
    groupSysFlag: int('groupSysFlag'),
    consumeTimeoutMinute: int('consumeTimeoutMinute'),
    attributes,
  };
}
