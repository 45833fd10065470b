/**
 * Consume offsets: where a group resumes each queue. Clustering groups keep them on the broker
 * (QUERY_CONSUMER_OFFSET 14 / UPDATE_CONSUMER_OFFSET 15), broadcasting consumers in a local file,
 * because every consumer reads every queue and the broker keeps one offset per group.
 *
 * The offset is the next message to consume. Updates land in memory; `persist` writes the ones that
 * changed since they were last written (the consumers do it every 5 s and at shutdown).
 *
 * Local file (`<dir>/<clientId-safe>/<group>/offsets.json`), written to a temp file, fsynced and renamed:
 *   {"group":"G","offsets":[{"topic":"T","brokerName":"b","queueId":0,"offset":42}, …]}
 */
import { mkdir, open, readFile, rename } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ResponseCode } from '../common/errors.js';
import { createRequest } from '../protocol/remoting-command.js';
import { RequestCode } from '../protocol/request-code.js';
import { brokerError, ClientStateError, toClientError } from './client-errors.js';
import type { ClientInstance } from './client-instance.js';
import { queueFromJson, queueKey, type MessageQueue } from './message-queue.js';

export interface OffsetStore {
  load(): Promise<void>;
  /** Sets the in-memory offset; with `increaseOnly` a smaller value is ignored. */
  update(queue: MessageQueue, offset: number, increaseOnly: boolean): void;
  /** The in-memory offset, −1 when none. */
  readFromMemory(queue: MessageQueue): number;
  /** The stored offset (broker or file), −1 when none is stored; also becomes the in-memory offset. */
  readFromStore(queue: MessageQueue, signal?: AbortSignal): Promise<number>;
  /** The stored offset exactly as stored (−1 when none), leaving memory alone. */
  fetchStored(queue: MessageQueue, signal?: AbortSignal): Promise<number>;
  /** Writes the changed offsets of `queues` (all known queues when omitted). */
  persist(queues?: readonly MessageQueue[]): Promise<void>;
  /** Forgets the queue (it was rebalanced away). */
  remove(queue: MessageQueue): void;
}

interface OffsetEntry {
  queue: MessageQueue;
  offset: number;
  /** The value last written, to skip unchanged entries. */
  persisted: number;
}

abstract class MemoryOffsets {
  protected readonly entries = new Map<string, OffsetEntry>();

  update(queue: MessageQueue, offset: number, increaseOnly: boolean): void {
    const key = queueKey(queue);
    const entry = this.entries.get(key);
    if (entry === undefined) this.entries.set(key, { queue, offset, persisted: -1 });
    else if (!increaseOnly || offset > entry.offset) entry.offset = offset;
  }

  readFromMemory(queue: MessageQueue): number {
    return this.entries.get(queueKey(queue))?.offset ?? -1;
  }

  remove(queue: MessageQueue): void {
    this.entries.delete(queueKey(queue));
  }

  protected dirty(queues: readonly MessageQueue[] | undefined): OffsetEntry[] {
    const candidates = queues === undefined ? [...this.entries.values()] : queues.map((queue) => this.entries.get(queueKey(queue))).filter((entry) => entry !== undefined);
    return candidates.filter((entry) => entry.offset >= 0 && entry.offset !== entry.persisted);
  }
}

/** Offsets kept by the brokers (clustering). */
export class RemoteOffsetStore extends MemoryOffsets implements OffsetStore {
  /**
   * @param setZeroIfNotFound false asks the broker to answer "not found" for a new group even when
   *   the queue's first message is still in memory (Java brokers then answer 0, so a new group reads
   *   a young topic from its start whatever its consumeFromWhere).
   */
  constructor(
    private readonly instance: ClientInstance,
    private readonly group: string,
    private readonly setZeroIfNotFound = true,
  ) {
    super();
  }

  async load(): Promise<void> {}

  async readFromStore(queue: MessageQueue, signal?: AbortSignal): Promise<number> {
    const offset = await this.query(queue, this.setZeroIfNotFound, signal);
    if (offset < 0) return -1;
    this.update(queue, offset, false);
    this.entries.get(queueKey(queue))!.persisted = offset;
    return offset;
  }

  fetchStored(queue: MessageQueue, signal?: AbortSignal): Promise<number> {
    return this.query(queue, false, signal);
  }

  private async query(queue: MessageQueue, setZeroIfNotFound: boolean, signal: AbortSignal | undefined): Promise<number> {
    const address = this.instance.masterAddress(queue.brokerName) ?? this.instance.readAddress(queue.brokerName);
    if (address === undefined) throw new ClientStateError('BROKER_NOT_FOUND', `no address for broker ${queue.brokerName}`);
    const what = `query offset of ${this.group} on ${queue.topic}#${queue.queueId}`;
    const fields: Record<string, string> = { consumerGroup: this.group, topic: queue.topic, queueId: String(queue.queueId) };
    if (!setZeroIfNotFound) fields.setZeroIfNotFound = 'false';
    const response = await this.instance.invoke(address, createRequest(RequestCode.QUERY_CONSUMER_OFFSET, fields), what, undefined, signal);
    if (response.code === ResponseCode.QUERY_NOT_FOUND) return -1;
    if (response.code !== ResponseCode.SUCCESS) throw brokerError(response.code, response.remark, address, what);
    const offset = Number(response.extFields?.offset);
    if (!Number.isSafeInteger(offset)) throw brokerError(ResponseCode.SYSTEM_ERROR, 'offset missing in the answer', address, what);
    return offset;
  }

  async persist(queues?: readonly MessageQueue[]): Promise<void> {
    const failures: unknown[] = [];
    await Promise.all(
      this.dirty(queues).map(async (entry) => {
        const offset = entry.offset;
        const address = this.instance.masterAddress(entry.queue.brokerName);
        if (address === undefined) {
          failures.push(new ClientStateError('BROKER_NOT_FOUND', `no master address for broker ${entry.queue.brokerName}`));
          return;
        }
        const request = createRequest(RequestCode.UPDATE_CONSUMER_OFFSET, {
          consumerGroup: this.group,
          topic: entry.queue.topic,
          queueId: String(entry.queue.queueId),
          commitOffset: String(offset),
        });
        try {
          await this.instance.invokeOk(address, request, `commit offset ${offset} of ${this.group} on ${entry.queue.topic}#${entry.queue.queueId}`);
          entry.persisted = Math.max(entry.persisted, offset);
        } catch (error) {
          failures.push(toClientError(error, 'offset commit'));
        }
      }),
    );
    if (failures.length > 0) throw failures[0];
  }
}

/** Offsets kept in a local file (broadcasting). */
export class LocalFileOffsetStore extends MemoryOffsets implements OffsetStore {
  private readonly path: string;
  private stored = new Map<string, number>();
  private writing: Promise<void> = Promise.resolve();

  constructor(directory: string, clientId: string, private readonly group: string) {
    super();
    this.path = join(directory, clientId.replace(/[^A-Za-z0-9._-]/g, '_'), group, 'offsets.json');
  }

  get filePath(): string {
    return this.path;
  }

  async load(): Promise<void> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    const parsed = JSON.parse(text) as { offsets?: unknown };
    if (!Array.isArray(parsed.offsets)) return;
    for (const item of parsed.offsets as unknown[]) {
      const queue = queueFromJson(item);
      const offset = (item as { offset?: unknown }).offset;
      if (queue !== undefined && typeof offset === 'number' && Number.isSafeInteger(offset)) this.stored.set(queueKey(queue), offset);
    }
  }

  async fetchStored(queue: MessageQueue): Promise<number> {
    return this.stored.get(queueKey(queue)) ?? -1;
  }

  async readFromStore(queue: MessageQueue): Promise<number> {
    const offset = this.stored.get(queueKey(queue));
    if (offset === undefined) return -1;
    this.update(queue, offset, false);
    this.entries.get(queueKey(queue))!.persisted = offset;
    return offset;
  }

  async persist(): Promise<void> {
    const changed = this.dirty(undefined);
    if (changed.length === 0) return;
    for (const entry of this.entries.values()) if (entry.offset >= 0) this.stored.set(queueKey(entry.queue), entry.offset);
    const snapshot = [...this.entries.values()].filter((entry) => entry.offset >= 0).map((entry) => ({ ...entry, written: entry.offset }));
    // Writes are serialised: two overlapping renames could otherwise leave the older one last.
    const write = this.writing.then(() => this.writeFile());
    this.writing = write.catch(() => undefined);
    await write;
    for (const entry of snapshot) {
      const current = this.entries.get(queueKey(entry.queue));
      if (current !== undefined) current.persisted = Math.max(current.persisted, entry.written);
    }
  }

  private async writeFile(): Promise<void> {
    const offsets = [...this.stored.entries()].map(([key, offset]) => {
      const [topic, brokerName, queueId] = key.split('\u0000') as [string, string, string];
      return { topic, brokerName, queueId: Number(queueId), offset };
    });
    const text = JSON.stringify({ group: this.group, offsets }, null, 1);
    await mkdir(dirname(this.path), { recursive: true });
    const temp = `${this.path}.tmp`;
    const handle = await open(temp, 'w');
    try {
      await handle.writeFile(text, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, this.path);
  }
}
