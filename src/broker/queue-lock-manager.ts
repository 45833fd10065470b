/**
 * Queue locks for orderly consumption (LOCK_BATCH_MQ 41 / UNLOCK_BATCH_MQ 42, RocketMQ's
 * RebalanceLockManager): per group, a message queue (topic, brokerName, queueId) is owned by one
 * client id. A lock is a lease of `rebalanceLockMaxLiveTime` ms that its owner renews by locking again;
 * once expired anyone may take it. Only the owner's unlock releases it; anyone else's is ignored.
 * A closed connection does not release its client's locks (as in RocketMQ): a crashed consumer's queues
 * stay locked until the lease runs out, so the messages it was processing are never handed to another
 * consumer while it might still be working on them.
 *
 * Restarts. RocketMQ keeps locks in memory only, so right after a broker restart a second client can
 * lock a queue whose previous owner still believes (for up to 30 s, the Java client's own lease) that
 * it holds it — and both consume it. TideMQ closes that hole: with persistence attached, every change
 * of owner is written to `config/queueLocks.json` (crash-safe, see durable-json-file.ts) before the
 * lock answer goes out, and at start each recorded owner gets a fresh lease. Its renewals then keep it;
 * another client gets the queue only after that lease expires, as without the restart. Renewals by the
 * same owner are not written (the owner does not change), so the file is written only on rebalances.
 *
 * File layout (JSON): `{"version":1,"locks":{"<group>":[{"topic","brokerName","queueId","clientId"}]}}`.
 * An unreadable or malformed file is logged and ignored (locks start empty, RocketMQ's behaviour).
 */
import { DurableJsonFile } from './durable-json-file.js';
import { silentLogger, type Logger } from '../common/logger.js';

export interface MessageQueueRef {
  topic: string;
  brokerName: string;
  queueId: number;
}

interface LockEntry {
  queue: MessageQueueRef;
  clientId: string;
  lastUpdateTimestamp: number;
}

interface PersistedLock extends MessageQueueRef {
  clientId: string;
}

const FILE_VERSION = 1;

/** Most locks restored from the file: a bound on what a corrupt or hostile file can make us hold. */
const MAX_RESTORED_LOCKS = 1_000_000;

function queueKey(queue: MessageQueueRef): string {
  return `${queue.topic}\u0000${queue.brokerName}\u0000${queue.queueId}`;
}

function isPersistedLock(value: unknown): value is PersistedLock {
  if (typeof value !== 'object' || value === null) return false;
  const entry = value as Record<string, unknown>;
  return typeof entry.topic === 'string' && typeof entry.brokerName === 'string' && Number.isInteger(entry.queueId) && typeof entry.clientId === 'string' && entry.clientId.length > 0;
}

export class QueueLockManager {
  /** group → queue key → lock. */
  private readonly table = new Map<string, Map<string, LockEntry>>();
  private file: DurableJsonFile | null = null;
  private logger: Logger = silentLogger;
  /** An owner changed since the last write started. */
  private dirty = false;
  /** The newest write under way, if any. */
  private writing: Promise<void> | null = null;

  constructor(private readonly lockMaxLiveTimeMs: number, private readonly now: () => number = Date.now) {}

  /**
   * Makes owner changes durable in `path` and restores the owners recorded there, each with a fresh
   * lease. Call once, before serving requests; later calls with the same path do nothing.
   */
  attachPersistence(path: string, logger: Logger = silentLogger): void {
    if (this.file) {
      if (this.file.path !== path) throw new Error(`queue locks already persist to ${this.file.path}`);
      return;
    }
    this.logger = logger;
    this.file = new DurableJsonFile(path, () => this.snapshot());
    let loaded: unknown;
    try {
      loaded = this.file.load();
    } catch (error) {
      logger.warn({ err: error, path }, 'queue lock file unreadable; starting without locks');
      return;
    }
    this.restore(loaded, path);
  }

  /** Locks (or renews) what it can; returns the queues now held by `clientId`. */
  tryLockBatch(group: string, queues: readonly MessageQueueRef[], clientId: string): MessageQueueRef[] {
    const nowMs = this.now();
    let locks = this.table.get(group);
    if (!locks) {
      locks = new Map();
      this.table.set(group, locks);
    }
    const locked: MessageQueueRef[] = [];
    for (const queue of queues) {
      const key = queueKey(queue);
      const entry = locks.get(key);
      if (entry && entry.clientId === clientId) {
        entry.lastUpdateTimestamp = nowMs;
        locked.push(queue);
      } else if (!entry || this.isExpired(entry, nowMs)) {
        if (entry) this.logger.info({ group, queue, from: entry.clientId, to: clientId }, 'expired queue lock taken over');
        locks.set(key, { queue: { topic: queue.topic, brokerName: queue.brokerName, queueId: queue.queueId }, clientId, lastUpdateTimestamp: nowMs });
        this.dirty = true;
        locked.push(queue);
      }
    }
    if (locks.size === 0) this.table.delete(group);
    return locked;
  }

  /** Releases the queues held by `clientId`; others' locks are untouched. */
  unlockBatch(group: string, queues: readonly MessageQueueRef[], clientId: string): void {
    const locks = this.table.get(group);
    if (!locks) return;
    for (const queue of queues) {
      const key = queueKey(queue);
      if (locks.get(key)?.clientId === clientId) {
        locks.delete(key);
        this.dirty = true;
      }
    }
    if (locks.size === 0) this.table.delete(group);
  }

  isLocked(group: string, queue: MessageQueueRef, clientId: string): boolean {
    const entry = this.table.get(group)?.get(queueKey(queue));
    return entry !== undefined && entry.clientId === clientId && !this.isExpired(entry, this.now());
  }

  /** The client holding a live lock on the queue, if any. */
  ownerOf(group: string, queue: MessageQueueRef): string | undefined {
    const entry = this.table.get(group)?.get(queueKey(queue));
    return entry !== undefined && !this.isExpired(entry, this.now()) ? entry.clientId : undefined;
  }

  /** True when no lock of the group is alive (Java sends retries of locked groups straight to the DLQ). */
  isLockAllExpired(group: string): boolean {
    const locks = this.table.get(group);
    if (!locks) return true;
    const nowMs = this.now();
    for (const entry of locks.values()) if (!this.isExpired(entry, nowMs)) return false;
    return true;
  }

  /** Forgets expired locks so the table does not grow with dead clients (and records that). */
  removeExpired(): void {
    const nowMs = this.now();
    for (const [group, locks] of this.table) {
      for (const [key, entry] of locks) {
        if (this.isExpired(entry, nowMs)) {
          locks.delete(key);
          this.dirty = true;
        }
      }
      if (locks.size === 0) this.table.delete(group);
    }
    if (this.dirty) this.persist().catch((error: unknown) => this.logger.error({ err: error }, 'writing the queue lock file failed'));
  }

  /**
   * Resolves once every owner change made so far is on disk: writes if any changed since the last
   * write, else waits for a write still under way (a renewal must not be answered before the grant it
   * renews is durable). Resolves at once without persistence. The lock handler waits for it.
   */
  persist(): Promise<void> {
    if (!this.file) return Promise.resolve();
    if (!this.dirty) return this.writing ?? Promise.resolve();
    this.dirty = false;
    const write = this.file.save().catch((error: unknown) => {
      this.dirty = true;
      throw error;
    });
    this.writing = write;
    write.then(
      () => { if (this.writing === write) this.writing = null; },
      () => { if (this.writing === write) this.writing = null; },
    );
    return write;
  }

  private isExpired(entry: LockEntry, nowMs: number): boolean {
    return nowMs - entry.lastUpdateTimestamp > this.lockMaxLiveTimeMs;
  }

  private snapshot(): unknown {
    const locks: Record<string, PersistedLock[]> = {};
    for (const [group, entries] of this.table) {
      locks[group] = [...entries.values()].map((entry) => ({ ...entry.queue, clientId: entry.clientId }));
    }
    return { version: FILE_VERSION, locks };
  }

  private restore(loaded: unknown, path: string): void {
    if (loaded === undefined) return;
    const locks = (loaded as { locks?: unknown } | null)?.locks;
    if (typeof locks !== 'object' || locks === null || Array.isArray(locks)) {
      this.logger.warn({ path }, 'queue lock file malformed; starting without locks');
      return;
    }
    const nowMs = this.now();
    let restored = 0;
    for (const [group, entries] of Object.entries(locks as Record<string, unknown>)) {
      if (!Array.isArray(entries)) continue;
      for (const entry of entries) {
        if (!isPersistedLock(entry) || restored >= MAX_RESTORED_LOCKS) continue;
        let groupLocks = this.table.get(group);
        if (!groupLocks) {
          groupLocks = new Map();
          this.table.set(group, groupLocks);
        }
        const queue = { topic: entry.topic, brokerName: entry.brokerName, queueId: entry.queueId };
        groupLocks.set(queueKey(queue), { queue, clientId: entry.clientId, lastUpdateTimestamp: nowMs });
        restored++;
      }
    }
    if (restored > 0) this.logger.info({ path, restored }, 'queue locks restored; their owners keep them for one lease');
  }
}
