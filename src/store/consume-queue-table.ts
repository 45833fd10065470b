/**
 * All consume queues of the store, `<root>/consumequeue/<topic>/<queueId>/`, by topic and queue id.
 * Topic names and queue ids become directory names, so they are validated (src/common/names.ts;
 * queue ids are integers 0..65535) before anything touches the file system. A deleted topic's
 * directory is first renamed to `.deleted-<n>-<ms>` (a name no topic can have) and removed later,
 * when no flush can still be using its files.
 *
 * All queues share one pool of open files (`maxOpenFiles`, see consume-queue.ts), and fdatasyncs run
 * in chunks of at most SYNC_CHUNK_QUEUES queues, so the descriptors pinned by running fdatasyncs stay
 * few whatever the number of queues.
 */
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { TideError } from '../common/errors.js';
import { SYSTEM_TOPIC_NAME_MAX_LENGTH, isValidName, validateTopicName } from '../common/names.js';
import { ConsumeQueue, ConsumeQueueFilePool, DEFAULT_MAX_OPEN_CONSUME_QUEUE_FILES } from './consume-queue.js';
import { fsyncDirectory } from './durable-fs.js';
import type { FileIo } from './file-io.js';
import type { StoreLogger } from './store-logger.js';

export const MAX_QUEUE_ID = 65_535;
const DELETED_PREFIX = '.deleted-';
/** Queues fdatasynced at once at most (each pins its written files' descriptors meanwhile). */
const SYNC_CHUNK_QUEUES = 32;

export interface ConsumeQueueTableOptions {
  /** `<root>/consumequeue`. */
  directory: string;
  entriesPerFile: number;
  fileIo: FileIo;
  logger: StoreLogger;
  /** Consume-queue files open at once over all queues (broker `maxOpenConsumeQueueFiles`). Default 1,000. */
  maxOpenFiles?: number | undefined;
}

export function validateQueueId(queueId: unknown): number {
  if (typeof queueId !== 'number' || !Number.isInteger(queueId) || queueId < 0 || queueId > MAX_QUEUE_ID) {
    throw new TideError('QUEUE_ID_INVALID', `queue id ${String(queueId)} is not an integer in 0..${MAX_QUEUE_ID}`);
  }
  return queueId;
}

export class ConsumeQueueTable {
  private readonly topics = new Map<string, Map<number, ConsumeQueue>>();
  /** Queues with entries not yet written out; each listed once. */
  private pendingQueues: ConsumeQueue[] = [];
  /** Queues written out but not yet fdatasynced. */
  private readonly unsynced = new Set<ConsumeQueue>();
  private deletedCounter = 0;
  private readonly filePool: ConsumeQueueFilePool;

  constructor(private readonly options: ConsumeQueueTableOptions) {
    this.filePool = new ConsumeQueueFilePool(options.maxOpenFiles ?? DEFAULT_MAX_OPEN_CONSUME_QUEUE_FILES);
  }

  /** Consume-queue file descriptors open now. */
  get openFileCount(): number {
    return this.filePool.openCount;
  }

  /** Loads every queue directory; strays (bad names, leftovers of deleted topics) are skipped or removed. */
  loadAll(): void {
    mkdirSync(this.options.directory, { recursive: true });
    for (const topic of readdirSync(this.options.directory)) {
      const topicDirectory = join(this.options.directory, topic);
      if (topic.startsWith(DELETED_PREFIX)) {
        rmSync(topicDirectory, { recursive: true, force: true });
        continue;
      }
      if (!isValidName(topic, SYSTEM_TOPIC_NAME_MAX_LENGTH)) {
        this.options.logger.warn({ directory: topicDirectory }, 'ignoring a consume-queue directory that is not a valid topic name');
        continue;
      }
      if (!statSync(topicDirectory).isDirectory()) {
        this.options.logger.warn({ path: topicDirectory }, 'ignoring a stray file among the consume-queue topics');
        continue;
      }
      for (const name of readdirSync(topicDirectory)) {
        const queueId = /^[0-9]{1,5}$/.test(name) ? Number(name) : -1;
        if (queueId < 0 || queueId > MAX_QUEUE_ID || !statSync(join(topicDirectory, name)).isDirectory()) {
          this.options.logger.warn({ directory: join(topicDirectory, name) }, 'ignoring a consume-queue directory that is not a queue id');
          continue;
        }
        this.track(topic, queueId).load();
      }
    }
  }

  get(topic: string, queueId: number): ConsumeQueue | undefined {
    return this.topics.get(topic)?.get(queueId);
  }

  /** The queue, created (after validating the names) if it does not exist yet. */
  getOrCreate(topic: string, queueId: number): ConsumeQueue {
    const existing = this.topics.get(topic)?.get(queueId);
    if (existing !== undefined) return existing;
    validateTopicName(topic, SYSTEM_TOPIC_NAME_MAX_LENGTH);
    validateQueueId(queueId);
    return this.track(topic, queueId);
  }

  private track(topic: string, queueId: number): ConsumeQueue {
    let queues = this.topics.get(topic);
    if (queues === undefined) {
      queues = new Map();
      this.topics.set(topic, queues);
    }
    const queue = new ConsumeQueue({
      topic,
      queueId,
      directory: join(this.options.directory, topic, String(queueId)),
      entriesPerFile: this.options.entriesPerFile,
      fileIo: this.options.fileIo,
      filePool: this.filePool,
      logger: this.options.logger,
    });
    queues.set(queueId, queue);
    return queue;
  }

  /** Adds an entry (append path); the queue is listed once for the next write-out. */
  put(queue: ConsumeQueue, physicalOffset: number, size: number, tagsCode: number): number {
    if (!queue.listedForWriteOut) {
      queue.listedForWriteOut = true;
      this.pendingQueues.push(queue);
    }
    return queue.put(physicalOffset, size, tagsCode);
  }

  /** Recovery: puts a re-dispatched entry at its recorded queue offset. */
  putAt(topic: string, queueId: number, queueOffset: number, physicalOffset: number, size: number, tagsCode: number): void {
    const queue = this.getOrCreate(topic, queueId);
    if (!queue.listedForWriteOut) {
      queue.listedForWriteOut = true;
      this.pendingQueues.push(queue);
    }
    queue.putAt(queueOffset, physicalOffset, size, tagsCode);
  }

  /**
   * Writes every queue's pending entries to its files. A queue that fails stays listed with its
   * entries pending, the other queues are still written, and the first error is thrown at the end
   * (so the caller does not write a checkpoint past entries that are not in their files yet).
   */
  writeOutPending(): void {
    const queues = this.pendingQueues;
    this.pendingQueues = [];
    let firstError: unknown = null;
    for (let index = 0; index < queues.length; index++) {
      const queue = queues[index]!;
      queue.listedForWriteOut = false;
      if (queue.deleted) continue;
      try {
        queue.writeOut();
      } catch (error) {
        firstError ??= error;
        queue.listedForWriteOut = true;
        this.pendingQueues.push(queue);
      }
      if (queue.needsSync) this.unsynced.add(queue);
    }
    if (firstError !== null) throw firstError;
  }

  /**
   * fdatasyncs every queue written out since the last sync, a chunk of queues at a time. On a failure
   * the queues still needing a sync stay listed and the first error is thrown once the chunk settled.
   */
  async syncWritten(): Promise<void> {
    const queues = [...this.unsynced];
    this.unsynced.clear();
    const chunkSize = Math.max(1, Math.min(SYNC_CHUNK_QUEUES, Math.floor(this.filePool.maxOpenFiles / 2)));
    for (let start = 0; start < queues.length; start += chunkSize) {
      const chunk = queues.slice(start, start + chunkSize);
      const outcomes = await Promise.allSettled(chunk.map((queue) => (queue.deleted ? undefined : queue.sync())));
      const failed = outcomes.find((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
      if (failed !== undefined) {
        for (const queue of queues.slice(start)) if (!queue.deleted && queue.needsSync) this.unsynced.add(queue);
        throw failed.reason;
      }
    }
  }

  /** Every queue, for recovery and retention. */
  *queues(): IterableIterator<ConsumeQueue> {
    for (const queues of this.topics.values()) yield* queues.values();
  }

  listQueues(): Map<string, number[]> {
    const result = new Map<string, number[]>();
    for (const [topic, queues] of this.topics) result.set(topic, [...queues.keys()].sort((a, b) => a - b));
    return result;
  }

  /**
   * Removes a topic's queues from the table at once (readers see no queue, appends start a new one)
   * and renames its directory aside. Returns the cleanup that closes and deletes the files; the
   * caller runs it when no flush can be using them. Null when the topic has no queues.
   */
  deleteTopic(topic: string): (() => Promise<void>) | null {
    const queues = this.topics.get(topic);
    if (queues === undefined) return null;
    this.topics.delete(topic);
    for (const queue of queues.values()) {
      queue.deleted = true;
      this.unsynced.delete(queue);
    }
    const topicDirectory = join(this.options.directory, topic);
    let removable: string | null = null;
    if (existsSync(topicDirectory)) {
      removable = join(this.options.directory, `${DELETED_PREFIX}${++this.deletedCounter}-${Date.now()}`);
      renameSync(topicDirectory, removable);
    }
    return async () => {
      for (const queue of queues.values()) queue.closeFiles();
      if (removable !== null) {
        rmSync(removable, { recursive: true, force: true });
        await fsyncDirectory(this.options.directory);
      }
    };
  }

  closeAll(): void {
    for (const queue of this.queues()) queue.closeFiles();
    this.topics.clear();
    this.pendingQueues = [];
    this.unsynced.clear();
  }
}
