/**
 * Committed consumer offsets of CLUSTERING groups: `topic@group` → queueId → next offset to consume,
 * the key form and file (`<storePathRootDir>/config/consumerOffset.json`, `{"offsetTable":{...}}`) of a
 * Java broker. Commits only touch memory (clients commit every 5 s, and on every pull); the table is
 * written every `flushConsumerOffsetInterval` ms when it changed, and on close, durably.
 */
import { join } from 'node:path';
import { silentLogger, type Logger } from '../common/logger.js';
import { newDataVersion, nextDataVersion, parseDataVersion, type DataVersion } from './data-version.js';
import { DurableJsonFile } from './durable-json-file.js';

const KEY_SEPARATOR = '@';

export interface ConsumerOffsetManagerOptions {
  storePathRootDir: string;
  flushConsumerOffsetInterval: number;
  logger?: Logger;
}

export class ConsumerOffsetManager {
  private readonly table = new Map<string, Map<number, number>>();
  private readonly file: DurableJsonFile;
  private readonly logger: Logger;
  private version: DataVersion = newDataVersion();
  private dirty = false;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly options: ConsumerOffsetManagerOptions) {
    this.logger = options.logger ?? silentLogger;
    this.file = new DurableJsonFile(join(options.storePathRootDir, 'config', 'consumerOffset.json'), () => this.encode());
    this.load();
  }

  get dataVersion(): DataVersion {
    return this.version;
  }

  /** Starts the periodic flush. */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      if (!this.dirty) return;
      this.persist().catch((error: unknown) => this.logger.error({ err: error }, 'persisting consumerOffset.json failed'));
    }, this.options.flushConsumerOffsetInterval);
    this.timer.unref();
  }

  commitOffset(group: string, topic: string, queueId: number, offset: number): void {
    const key = topic + KEY_SEPARATOR + group;
    let queues = this.table.get(key);
    if (!queues) {
      queues = new Map();
      this.table.set(key, queues);
    }
    if (queues.get(queueId) === offset) return;
    queues.set(queueId, offset);
    this.dirty = true;
  }

  /** The committed offset, or -1 when none is stored. */
  queryOffset(group: string, topic: string, queueId: number): number {
    return this.table.get(topic + KEY_SEPARATOR + group)?.get(queueId) ?? -1;
  }

  /** queueId → offset of one group on one topic (a copy), empty when none. */
  offsetsOf(group: string, topic: string): Map<number, number> {
    return new Map(this.table.get(topic + KEY_SEPARATOR + group) ?? []);
  }

  /** Every (topic, group) pair with stored offsets. */
  *entries(): IterableIterator<{ topic: string; group: string; offsets: ReadonlyMap<number, number> }> {
    for (const [key, offsets] of this.table) {
      const at = key.lastIndexOf(KEY_SEPARATOR);
      yield { topic: key.slice(0, at), group: key.slice(at + 1), offsets };
    }
  }

  groupsOfTopic(topic: string): string[] {
    const groups: string[] = [];
    for (const entry of this.entries()) if (entry.topic === topic) groups.push(entry.group);
    return groups;
  }

  topicsOfGroup(group: string): string[] {
    const topics: string[] = [];
    for (const entry of this.entries()) if (entry.group === group) topics.push(entry.topic);
    return topics;
  }

  /** Drops a group's offsets (all topics, or one). */
  removeOffsets(group: string, topic?: string): void {
    for (const key of [...this.table.keys()]) {
      const at = key.lastIndexOf(KEY_SEPARATOR);
      if (key.slice(at + 1) === group && (topic === undefined || key.slice(0, at) === topic)) {
        this.table.delete(key);
        this.dirty = true;
      }
    }
  }

  /** Drops every group's offsets of a topic (topic deleted). */
  removeTopic(topic: string): void {
    for (const key of [...this.table.keys()]) {
      if (key.slice(0, key.lastIndexOf(KEY_SEPARATOR)) === topic) {
        this.table.delete(key);
        this.dirty = true;
      }
    }
  }

  persist(): Promise<void> {
    this.dirty = false;
    this.version = nextDataVersion(this.version);
    return this.file.save().catch((error: unknown) => {
      this.dirty = true;
      throw error;
    });
  }

  /** Stops the timer and writes the table (always, so a clean close leaves a current file). */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.persist();
  }

  encode(): { offsetTable: Record<string, Record<string, number>>; dataVersion: DataVersion } {
    const offsetTable: Record<string, Record<string, number>> = {};
    for (const [key, queues] of this.table) {
      const entry: Record<string, number> = {};
      for (const [queueId, offset] of queues) entry[String(queueId)] = offset;
      offsetTable[key] = entry;
    }
    return { offsetTable, dataVersion: this.version };
  }

  private load(): void {
    const content = this.file.load();
    if (content === undefined) return;
    if (typeof content !== 'object' || content === null) throw new Error(`${this.file.path}: expected a JSON object`);
    const record = content as { offsetTable?: unknown; dataVersion?: unknown };
    if (typeof record.offsetTable === 'object' && record.offsetTable !== null) {
      for (const [key, value] of Object.entries(record.offsetTable as Record<string, unknown>)) {
        if (!key.includes(KEY_SEPARATOR) || typeof value !== 'object' || value === null) continue;
        const queues = new Map<number, number>();
        for (const [queueId, offset] of Object.entries(value as Record<string, unknown>)) {
          const id = Number(queueId);
          const number = Number(offset);
          if (Number.isInteger(id) && id >= 0 && Number.isSafeInteger(number)) queues.set(id, number);
        }
        this.table.set(key, queues);
      }
    }
    this.version = parseDataVersion(record.dataVersion) ?? this.version;
  }
}
