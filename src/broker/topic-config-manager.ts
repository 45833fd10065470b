/**
 * The broker's topic table, persisted as `<storePathRootDir>/config/topics.json` in RocketMQ's shape
 * (`{"topicConfigTable":{name:TopicConfig},"dataVersion":{...}}`), so the file reads the same as a Java
 * broker's. System topics are put in at start and then overridden by what the file holds, as Java does.
 * Every change bumps the data version and notifies listeners (the broker re-registers with the name
 * servers at once, so routes of new topics appear without waiting for the 30 s cycle).
 *
 * The table is capped at `maxTopicCount` topics (the broker's fixed system topics not counted): any
 * client can create topics by sending to them, and each costs memory, a route entry and open files,
 * so past the cap a new topic is refused with SYSTEM_BUSY while existing ones keep working. Topics
 * already on disk (topics.json, or restored from the store) are always kept, even past the cap.
 */
import { join } from 'node:path';
import { TideError } from '../common/errors.js';
import { isValidName, SYSTEM_TOPIC_NAME_MAX_LENGTH, TOPIC_NAME_MAX_LENGTH } from '../common/names.js';
import { silentLogger, type Logger } from '../common/logger.js';
import { isInherited, Perm, type TopicConfig } from '../protocol/route-data.js';
import { newDataVersion, nextDataVersion, parseDataVersion, type DataVersion } from './data-version.js';
import { DurableJsonFile } from './durable-json-file.js';
import { isDlqTopic, isRetryTopic, SystemTopic, SYSTEM_TOPIC_PREFIX } from './topic-names.js';

export interface TopicConfigManagerOptions {
  storePathRootDir: string;
  brokerClusterName: string;
  brokerName: string;
  autoCreateTopicEnable: boolean;
  /** Queues of TBW102, i.e. the most an auto-created topic gets. */
  defaultTopicQueueNums: number;
  /** Most topics, the fixed system topics not counted. Default 10,000. */
  maxTopicCount?: number;
  logger?: Logger;
}

/** Default of `maxTopicCount`. */
export const DEFAULT_MAX_TOPIC_COUNT = 10_000;
/** Topics the broker itself creates, which never count against `maxTopicCount`. */
const FIXED_SYSTEM_TOPICS: ReadonlySet<string> = new Set(Object.values(SystemTopic));

/** Queues of SCHEDULE_TOPIC_XXXX: one per 4.x delay level. */
export const SCHEDULE_TOPIC_QUEUE_NUMS = 18;
/** RocketMQ's TopicConfig defaults. */
const DEFAULT_QUEUE_NUMS = 16;
const DEFAULT_PERM = Perm.READ | Perm.WRITE;

export type TopicChangeListener = (topic: string, config: TopicConfig | undefined) => void;

export function newTopicConfig(topicName: string, fields: Partial<Omit<TopicConfig, 'topicName'>> = {}): TopicConfig {
  return {
    topicName,
    readQueueNums: fields.readQueueNums ?? DEFAULT_QUEUE_NUMS,
    writeQueueNums: fields.writeQueueNums ?? DEFAULT_QUEUE_NUMS,
    perm: fields.perm ?? DEFAULT_PERM,
    topicFilterType: fields.topicFilterType ?? 'SINGLE_TAG',
    topicSysFlag: fields.topicSysFlag ?? 0,
    order: fields.order ?? false,
    attributes: fields.attributes ?? {},
  };
}

/** Checks a topic name for the broker: retry and DLQ topics may be longer than user topics. */
export function isValidTopicName(topic: unknown): topic is string {
  if (typeof topic !== 'string') return false;
  const maxLength = isRetryTopic(topic) || isDlqTopic(topic) ? SYSTEM_TOPIC_NAME_MAX_LENGTH : TOPIC_NAME_MAX_LENGTH;
  return isValidName(topic, maxLength);
}

export function validateTopic(topic: unknown): string {
  if (!isValidTopicName(topic)) {
    const shown = typeof topic === 'string' ? JSON.stringify(topic.slice(0, 200)) : String(topic);
    throw new TideError('TOPIC_NAME_INVALID', `The specified topic ${shown} is invalid: use 1-${TOPIC_NAME_MAX_LENGTH} characters of ^[%|a-zA-Z0-9_-]+$`);
  }
  return topic;
}

export class TopicConfigManager {
  private readonly table = new Map<string, TopicConfig>();
  private readonly systemTopics = new Set<string>();
  private readonly listeners: TopicChangeListener[] = [];
  private readonly file: DurableJsonFile;
  private readonly logger: Logger;
  private readonly maxTopicCount: number;
  /** Topics in the table that count against maxTopicCount. */
  private countedTopics = 0;
  private capLogged = false;
  private version: DataVersion = newDataVersion();

  constructor(private readonly options: TopicConfigManagerOptions) {
    this.logger = options.logger ?? silentLogger;
    this.maxTopicCount = options.maxTopicCount ?? DEFAULT_MAX_TOPIC_COUNT;
    this.file = new DurableJsonFile(join(options.storePathRootDir, 'config', 'topics.json'), () => this.encode());
    this.putSystemTopics();
    this.load();
  }

  get dataVersion(): DataVersion {
    return this.version;
  }

  get(topic: string): TopicConfig | undefined {
    return this.table.get(topic);
  }

  all(): TopicConfig[] {
    return [...this.table.values()];
  }

  isSystemTopic(topic: string): boolean {
    return this.systemTopics.has(topic) || topic.startsWith(SYSTEM_TOPIC_PREFIX);
  }

  /** Topics that count against maxTopicCount. */
  get topicCount(): number {
    return this.countedTopics;
  }

  isOrderTopic(topic: string): boolean {
    return this.table.get(topic)?.order === true;
  }

  onChange(listener: TopicChangeListener): void {
    this.listeners.push(listener);
  }

  /**
   * Creates `topic` from the template `defaultTopic` (TBW102) the way a send to an unknown topic does.
   * Returns undefined when the template is missing or not inheritable (auto-creation off).
   */
  createTopicInSendMessageMethod(topic: string, defaultTopic: string, clientDefaultTopicQueueNums: number, topicSysFlag: number): TopicConfig | undefined {
    const existing = this.table.get(topic);
    if (existing) return existing;
    const template = this.table.get(defaultTopic);
    if (!template || !isInherited(template.perm)) return undefined;
    if (defaultTopic === SystemTopic.AUTO_CREATE && !this.options.autoCreateTopicEnable) return undefined;
    const queueNums = Math.max(0, Math.min(clientDefaultTopicQueueNums, template.writeQueueNums));
    if (queueNums === 0) return undefined;
    this.checkRoomFor(topic);
    const config = newTopicConfig(topic, {
      readQueueNums: queueNums,
      writeQueueNums: queueNums,
      perm: template.perm & ~Perm.INHERIT,
      topicSysFlag,
      topicFilterType: template.topicFilterType,
    });
    this.logger.info({ topic, defaultTopic, queueNums }, 'auto-created topic');
    this.put(config);
    return config;
  }

  /**
   * Creates a retry or DLQ topic if absent (send-back, heartbeat, retry-topic sends). `order` (from a
   * heartbeat: does the group consume an order topic) updates an existing topic; undefined leaves it.
   * Throws SYSTEM_BUSY when a new topic would pass maxTopicCount.
   */
  createTopicInSendMessageBackMethod(topic: string, queueNums: number, perm: number, topicSysFlag: number, order?: boolean): TopicConfig {
    const existing = this.table.get(topic);
    if (existing) {
      if (order !== undefined && existing.order !== order) this.put({ ...existing, order });
      return this.table.get(topic)!;
    }
    this.checkRoomFor(topic);
    const config = newTopicConfig(topic, { readQueueNums: queueNums, writeQueueNums: queueNums, perm, topicSysFlag, order: order ?? false });
    this.put(config);
    return config;
  }

  /**
   * Recreates configs for topics that have consume queues in the store but no entry in topics.json.
   * topics.json is written in the background after an auto-create, so a crash right after the first
   * send to a new topic can leave durable messages with no topic config; without this their pulls
   * would answer TOPIC_NOT_EXIST. Returns the names restored.
   */
  restoreFromStore(queues: ReadonlyMap<string, readonly number[]>, defaultQueueNums: number): string[] {
    const restored: string[] = [];
    for (const [topic, queueIds] of queues) {
      if (this.table.has(topic) || queueIds.length === 0) continue;
      // Retry and DLQ topics have one queue; user topics get at least the auto-create default.
      const queueNums = Math.max(topic.startsWith('%') ? 1 : defaultQueueNums, Math.max(...queueIds) + 1);
      this.put(newTopicConfig(topic, { readQueueNums: queueNums, writeQueueNums: queueNums }));
      restored.push(topic);
    }
    if (restored.length > 0) this.logger.warn({ topics: restored }, 'restored topic configs missing from topics.json from the store');
    return restored;
  }

  /** Creates or replaces a topic (admin UPDATE_AND_CREATE_TOPIC); a new one past maxTopicCount throws SYSTEM_BUSY. */
  updateTopicConfig(config: TopicConfig): void {
    validateTopic(config.topicName);
    if (!this.table.has(config.topicName)) this.checkRoomFor(config.topicName);
    this.put({ ...config, attributes: { ...(config.attributes ?? {}) } });
  }

  /** Removes a topic's config; its messages age out with the commit log. */
  deleteTopicConfig(topic: string): boolean {
    if (!this.table.delete(topic)) return false;
    if (this.isCounted(topic)) {
      this.countedTopics--;
      this.capLogged = false;
    }
    this.changed(topic, undefined);
    return true;
  }

  /** Writes topics.json now; resolves when it is durable. */
  persist(): Promise<void> {
    return this.file.save();
  }

  encode(): { topicConfigTable: Record<string, TopicConfig>; dataVersion: DataVersion } {
    const topicConfigTable: Record<string, TopicConfig> = {};
    for (const [name, config] of this.table) topicConfigTable[name] = config;
    return { topicConfigTable, dataVersion: this.version };
  }

  /** Whether a topic counts against maxTopicCount (everything but the broker's own system topics). */
  private isCounted(topic: string): boolean {
    return !FIXED_SYSTEM_TOPICS.has(topic) && !this.systemTopics.has(topic);
  }

  /** Throws SYSTEM_BUSY when creating `topic` (not in the table yet) would pass maxTopicCount. */
  private checkRoomFor(topic: string): void {
    if (!this.isCounted(topic) || this.countedTopics < this.maxTopicCount) return;
    // Logged once per time the cap is reached: a client hammering new topics must not flood the log.
    if (!this.capLogged) this.logger.warn({ topic, topicCount: this.countedTopics, maxTopicCount: this.maxTopicCount }, 'topic not created: maxTopicCount reached');
    this.capLogged = true;
    throw new TideError(
      'SYSTEM_BUSY',
      `topic[${topic}] was not created: the broker already has ${this.countedTopics} topics (maxTopicCount=${this.maxTopicCount}); delete unused topics or raise maxTopicCount`,
    );
  }

  private put(config: TopicConfig): void {
    if (!this.table.has(config.topicName) && this.isCounted(config.topicName)) this.countedTopics++;
    this.table.set(config.topicName, config);
    this.changed(config.topicName, config);
  }

  private changed(topic: string, config: TopicConfig | undefined): void {
    this.version = nextDataVersion(this.version);
    this.persist().catch((error: unknown) => this.logger.error({ err: error }, 'persisting topics.json failed'));
    for (const listener of this.listeners) {
      try {
        listener(topic, config);
      } catch (error) {
        this.logger.error({ err: error, topic }, 'topic change listener failed');
      }
    }
  }

  private putSystemTopic(config: TopicConfig): void {
    this.systemTopics.add(config.topicName);
    this.table.set(config.topicName, config);
  }

  private putSystemTopics(): void {
    const { brokerClusterName, brokerName, defaultTopicQueueNums, autoCreateTopicEnable } = this.options;
    this.putSystemTopic(newTopicConfig(SystemTopic.SELF_TEST, { readQueueNums: 1, writeQueueNums: 1 }));
    if (autoCreateTopicEnable) {
      this.putSystemTopic(newTopicConfig(SystemTopic.AUTO_CREATE, {
        readQueueNums: defaultTopicQueueNums,
        writeQueueNums: defaultTopicQueueNums,
        perm: Perm.INHERIT | Perm.READ | Perm.WRITE,
      }));
    }
    // Java names two topics after the cluster and the broker (used by tools to find brokers); they
    // only inherit, so nobody produces to them.
    if (isValidTopicName(brokerClusterName)) this.putSystemTopic(newTopicConfig(brokerClusterName, { perm: Perm.INHERIT }));
    if (isValidTopicName(brokerName)) this.putSystemTopic(newTopicConfig(brokerName, { readQueueNums: 1, writeQueueNums: 1, perm: Perm.INHERIT }));
    this.putSystemTopic(newTopicConfig(SystemTopic.OFFSET_MOVED_EVENT, { readQueueNums: 1, writeQueueNums: 1 }));
    this.putSystemTopic(newTopicConfig(SystemTopic.SCHEDULE, { readQueueNums: SCHEDULE_TOPIC_QUEUE_NUMS, writeQueueNums: SCHEDULE_TOPIC_QUEUE_NUMS }));
    this.putSystemTopic(newTopicConfig(SystemTopic.TRANS_HALF, { readQueueNums: 1, writeQueueNums: 1 }));
    this.putSystemTopic(newTopicConfig(SystemTopic.TRANS_OP_HALF, { readQueueNums: 1, writeQueueNums: 1 }));
  }

  private load(): void {
    const content = this.file.load();
    if (content === undefined) return;
    if (typeof content !== 'object' || content === null) throw new Error(`${this.file.path}: expected a JSON object`);
    const record = content as { topicConfigTable?: unknown; dataVersion?: unknown };
    const table = record.topicConfigTable;
    if (typeof table === 'object' && table !== null) {
      for (const [name, value] of Object.entries(table as Record<string, unknown>)) {
        const config = parseTopicConfig(name, value);
        if (config) {
          if (!this.table.has(name) && this.isCounted(name)) this.countedTopics++;
          this.table.set(name, config);
        }
        else this.logger.warn({ topic: name, file: this.file.path }, 'skipping an invalid topic config');
      }
    }
    this.version = parseDataVersion(record.dataVersion) ?? this.version;
  }
}

/** Validates a TopicConfig read from disk or from an admin request; undefined when unusable. */
export function parseTopicConfig(name: string, value: unknown): TopicConfig | undefined {
  if (!isValidTopicName(name) || typeof value !== 'object' || value === null) return undefined;
  const record = value as Record<string, unknown>;
  const readQueueNums = Number(record.readQueueNums ?? DEFAULT_QUEUE_NUMS);
  const writeQueueNums = Number(record.writeQueueNums ?? DEFAULT_QUEUE_NUMS);
  const perm = Number(record.perm ?? DEFAULT_PERM);
  const topicSysFlag = Number(record.topicSysFlag ?? 0);
  if (![readQueueNums, writeQueueNums, perm, topicSysFlag].every((number) => Number.isInteger(number) && number >= 0)) return undefined;
  if (readQueueNums > 65_536 || writeQueueNums > 65_536) return undefined;
  const attributes: Record<string, string> = {};
  if (typeof record.attributes === 'object' && record.attributes !== null) {
    for (const [key, attribute] of Object.entries(record.attributes as Record<string, unknown>)) attributes[key] = String(attribute);
  }
  return {
    topicName: name,
    readQueueNums,
    writeQueueNums,
    perm,
    topicFilterType: record.topicFilterType === 'MULTI_TAG' ? 'MULTI_TAG' : 'SINGLE_TAG',
    topicSysFlag,
    order: record.order === true || record.order === 'true',
    attributes,
  };
}
