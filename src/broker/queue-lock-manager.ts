/**
 * Queue locks for orderly consumption (LOCK_BATCH_MQ 41 / UNLOCK_BATCH_MQ 42, RocketMQ's
 * RebalanceLockManager): per group, a message queue (topic, brokerName, queueId) is owned by one
 * client id. A lock is a lease of `rebalanceLockMaxLiveTime` ms that its owner renews by locking again;
 * once expired anyone may take it. Nothing is persisted: after a restart clients simply lock again.
 */

export interface MessageQueueRef {
  topic: string;
  brokerName: string;
  queueId: number;
}

interface LockEntry {
  clientId: string;
  lastUpdateTimestamp: number;
}

function queueKey(queue: MessageQueueRef): string {
  return `${queue.topic}\u0000${queue.brokerName}\u0000${queue.queueId}`;
}

export class QueueLockManager {
  /** group → queue key → lock. */
  private readonly table = new Map<string, Map<string, LockEntry>>();

  constructor(private readonly lockMaxLiveTimeMs: number, private readonly now: () => number = Date.now) {}

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
      if (!entry || entry.clientId === clientId || this.isExpired(entry, nowMs)) {
        locks.set(key, { clientId, lastUpdateTimestamp: nowMs });
        locked.push(queue);
      }
    }
    return locked;
  }

  /** Releases the queues held by `clientId`; others' locks are untouched. */
  unlockBatch(group: string, queues: readonly MessageQueueRef[], clientId: string): void {
    const locks = this.table.get(group);
    if (!locks) return;
    for (const queue of queues) {
      const key = queueKey(queue);
      if (locks.get(key)?.clientId === clientId) locks.delete(key);
    }
    if (locks.size === 0) this.table.delete(group);
  }

  isLocked(group: string, queue: MessageQueueRef, clientId: string): boolean {
    const entry = this.table.get(group)?.get(queueKey(queue));
    return entry !== undefined && entry.clientId === clientId && !this.isExpired(entry, this.now());
  }

  /** True when no lock of the group is alive (Java sends retries of locked groups straight to the DLQ). */
  isLockAllExpired(group: string): boolean {
    const locks = this.table.get(group);
    if (!locks) return true;
    const nowMs = this.now();
    for (const entry of locks.values()) if (!this.isExpired(entry, nowMs)) return false;
    return true;
  }

  /** Forgets expired locks so the table does not grow with dead clients. */
  removeExpired(): void {
    const nowMs = this.now();
    for (const [group, locks] of this.table) {
      for (const [key, entry] of locks) if (this.isExpired(entry, nowMs)) locks.delete(key);
      if (locks.size === 0) this.table.delete(group);
    }
  }

  private isExpired(entry: LockEntry, nowMs: number): boolean {
    return nowMs - entry.lastUpdateTimestamp > this.lockMaxLiveTimeMs;
  }
}
